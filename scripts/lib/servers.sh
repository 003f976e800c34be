# The servers and load tools of the comparison scripts (compare.sh, compare-cpair.sh,
# compare-tables.sh, ramp-pairload.sh, hold-rss.sh, alloc-per-pairing.sh); sourced, not run.
# The caller sets `set -euo pipefail`, cds to the repository root and calls `reference_tools DIR`.
#
# Servers, by name; a tstun variant's name may end in :N for --io-threads N (tstun:8):
#   tstun-ref       our own minimal C epoll T-STUN server, bench/reference/tstun-ref.c: always
#                   built, so every comparison runs from a clone (TSTUN_REF: a prebuilt one)
#   cpair           the shared C reference server, when SHARED_TOOLS has cpair.c (CPAIR: prebuilt)
#   tstun           TSTUN (default artifacts/tstun/tstun, from scripts/publish.sh)
#   tstun-base      TSTUN_BASE, a baseline tstun (say, built from main): prices a change in the same run
#   tstun-spinlock  TSTUN_SPINLOCK (default artifacts/tstun-spinlock/tstun, from scripts/publish-spinlock.sh):
#                   tstun with the previous per-bucket spin-lock pairing table
#   The tstun variants get --stats-interval 0, TSTUN_ARGS, and the caller's options.
#   References: tstun-ref, cpair and tstun-base; the scripts give the others' ratios against each.
# Load tools:
#   pairload        the shared independent C load generator, when SHARED_TOOLS has pairload.c
#                   (PAIRLOAD: prebuilt); when it is absent, punchhole-load stands in, with a note
#   punchhole-load  ours (load/), built with dotnet on first use (PHLOAD: prebuilt)
# SHARED_TOOLS defaults to ../shared/tools, next to the clone. The C compiler is CC, else gcc,
# else clang. The variables above are exported, so scripts run by a script reuse what it built.

# Builds the C tools that are missing into the folder $1; exports TSTUN_REF, CPAIR and PAIRLOAD
# (the last two empty when their sources are not found).
reference_tools() {
  local work=$1 tools=${SHARED_TOOLS:-../shared/tools}
  local cc=${CC:-$(command -v gcc || command -v clang || true)}
  if [ -z "${TSTUN_REF:-}" ] || { [ -z "${CPAIR:-}" ] && [ -f "$tools/cpair.c" ]; } || { [ -z "${PAIRLOAD:-}" ] && [ -f "$tools/pairload.c" ]; }; then
    [ -n "$cc" ] || { echo "no C compiler: install gcc (or clang), or set CC" >&2; return 1; }
  fi
  if [ -z "${TSTUN_REF:-}" ]; then
    TSTUN_REF=$work/tstun-ref
    "$cc" -O2 -o "$TSTUN_REF" bench/reference/tstun-ref.c
  fi
  if [ -z "${CPAIR:-}" ] && [ -f "$tools/cpair.c" ]; then
    CPAIR=$work/cpair
    "$cc" -O2 -pthread -o "$CPAIR" "$tools/cpair.c"
  fi
  if [ -z "${PAIRLOAD:-}" ] && [ -f "$tools/pairload.c" ]; then
    PAIRLOAD=$work/pairload
    "$cc" -O2 -o "$PAIRLOAD" "$tools/pairload.c"
  fi
  CPAIR=${CPAIR:-} PAIRLOAD=${PAIRLOAD:-}
  export TSTUN_REF CPAIR PAIRLOAD
}

# The reference servers present: tstun-ref always, cpair when built, tstun-base when TSTUN_BASE is set.
reference_servers() {
  echo "tstun-ref${CPAIR:+ cpair}${TSTUN_BASE:+ tstun-base}"
}

# references_among NAME...: the reference servers (tstun-ref, cpair, tstun-base, with or without :N) among the names.
references_among() {
  local name out=""
  for name in "$@"; do
    case ${name%%:*} in tstun-ref | cpair | tstun-base) out="${out:+$out }$name" ;; esac
  done
  echo "$out"
}

# use_loads LIST: sets `loads` to the tools of LIST that can run, pairload replaced by
# punchhole-load (with a note) when it is absent, and builds punchhole-load if it is among them.
use_loads() {
  local load
  loads=""
  for load in $1; do
    case $load in
      pairload | punchhole-load) ;;
      *) echo "unknown load tool '$load' (pairload or punchhole-load)" >&2; return 1 ;;
    esac
    if [ "$load" = pairload ] && [ -z "${PAIRLOAD:-}" ]; then
      echo "note: no pairload (${SHARED_TOOLS:-../shared/tools}/pairload.c not found): the load comes from punchhole-load alone." \
        "For the independent C load generator set SHARED_TOOLS to the folder holding pairload.c (or PAIRLOAD to a built one)." >&2
      load=punchhole-load
    fi
    case " $loads " in *" $load "*) ;; *) loads="${loads:+$loads }$load" ;; esac
  done
  case " $loads " in *" punchhole-load "*) phload_built ;; esac
}

# Builds punchhole-load unless PHLOAD names one already; exports PHLOAD.
phload_built() {
  if [ -z "${PHLOAD:-}" ]; then
    dotnet build load/Punchhole.Load -c Release --nologo -v quiet >&2
    PHLOAD=load/Punchhole.Load/bin/Release/net10.0/punchhole-load
  fi
  export PHLOAD
}

# check_servers NAME...: fails with one line for a name that is unknown or whose binary is missing.
check_servers() {
  local name base
  for name in "$@"; do
    base=${name%%:*}
    if [[ $name == *:* ]]; then
      case $base in
        tstun | tstun-base | tstun-spinlock) [[ ${name##*:} =~ ^[1-9][0-9]*$ ]] || { echo "bad server '$name': :N takes a thread count" >&2; return 1; } ;;
        *) echo "bad server '$name': only the tstun variants take :N (--io-threads)" >&2; return 1 ;;
      esac
    fi
    case $base in
      tstun-ref) ;;
      cpair) [ -n "${CPAIR:-}" ] || { echo "no cpair: ${SHARED_TOOLS:-../shared/tools}/cpair.c not found (set SHARED_TOOLS, or CPAIR to a built one)" >&2; return 1; } ;;
      tstun) [ -x "${TSTUN:-artifacts/tstun/tstun}" ] || { echo "no tstun binary at ${TSTUN:-artifacts/tstun/tstun} (run scripts/publish.sh)" >&2; return 1; } ;;
      tstun-base) [ -x "${TSTUN_BASE:-}" ] || { echo "no baseline tstun: set TSTUN_BASE to a tstun binary" >&2; return 1; } ;;
      tstun-spinlock) [ -x "${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun}" ] || { echo "no spin-lock tstun at ${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun} (run scripts/publish-spinlock.sh)" >&2; return 1; } ;;
      *) echo "unknown server '$name' (tstun-ref, cpair, tstun, tstun-base, tstun-spinlock)" >&2; return 1 ;;
    esac
  done
}

# A port below the ephemeral range, where the load's own connections live; next_port moves on.
port=$((10000 + RANDOM % 20000))
next_port() { port=$((port + 1)); }

wait_port() { # PORT: until something accepts on 127.0.0.1:PORT (5 s at most)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
ticks_to_s() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f",(b-a)/100}'; }

# start_server NAME [TSTUN_OPTION...]: starts it on $port, its stderr to SERVER_LOG (default
# /dev/null), waits until it accepts; sets server_pid. The C references take no options.
start_server() {
  local full=$1 name=${1%%:*} binary threads=()
  [[ $full == *:* ]] && threads=(--io-threads "${full##*:}")
  shift
  local log=${SERVER_LOG:-/dev/null}
  case $name in
    tstun-ref) "$TSTUN_REF" -p "$port" >/dev/null 2>"$log" & ;;
    cpair) "$CPAIR" -p "$port" >/dev/null 2>"$log" & ;;
    tstun | tstun-base | tstun-spinlock)
      case $name in
        tstun) binary=${TSTUN:-artifacts/tstun/tstun} ;;
        tstun-base) binary=$TSTUN_BASE ;;
        tstun-spinlock) binary=${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun} ;;
      esac
      # shellcheck disable=SC2086 # TSTUN_ARGS is a list of options
      "$binary" --port "$port" --stats-interval 0 "${threads[@]}" ${TSTUN_ARGS:-} "$@" >/dev/null 2>"$log" & ;;
    *) echo "unknown server '$name'" >&2; return 1 ;;
  esac
  server_pid=$!
  wait_port "$port" || { echo "$full did not listen on port $port" >&2; return 1; }
  sleep 0.2
}

stop_server() { kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

# measure SERVER COMMAND...: starts SERVER on $port, runs COMMAND (its arguments expanded by the
# caller, $port included), stops the server and moves to the next port. Sets `line` to the
# command's output, `server_cpu` to the server's CPU seconds meanwhile and `server_rss` (kB) after.
measure() {
  local server=$1; shift
  start_server "$server"
  local t0; t0=$(cpu_ticks "$server_pid")
  line=$("$@" || true)
  server_cpu=$(ticks_to_s "$t0" "$(cpu_ticks "$server_pid")")
  server_rss=$(rss_kb "$server_pid")
  stop_server
  next_port
}

# closed_loop LOAD OPTION...: pairings in closed loop against $port with pairload or
# punchhole-load (constant), which take the same options; prints the tool's key=value result line.
closed_loop() {
  local load=$1; shift
  case $load in
    pairload) "$PAIRLOAD" -p "$port" "$@" ;;
    # punchhole-load prints a report; its last line is "result key=value ...", pairload's keys first.
    punchhole-load) "$PHLOAD" constant -p "$port" "$@" | sed -n 's/^result //p' ;;
  esac
}

# in_order ROUND NAME...: the names in order in odd rounds, reversed in even ones (ABBA), so drift favours none.
in_order() {
  local round=$1; shift
  if [ $((round % 2)) -eq 1 ]; then echo "$*"; else echo "$@" | tr ' ' '\n' | tac | tr '\n' ' '; fi
}

# The awk function med(arr, n) for the summaries: the median of arr[1..n].
AWK_MEDIAN='function med(arr, n,   i, j, t) { if (n == 0) return 0; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }'
