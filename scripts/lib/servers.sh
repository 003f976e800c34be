# Shared by the comparison scripts (compare-cpair.sh, ramp-pairload.sh, compare-tables.sh); sourced, not run.
# The caller sets `set -euo pipefail`, cds to the repository root and makes a temporary folder $work.
#
# Servers, by name; any name may end in :N for --io-threads N (tstun variants only):
#   cpair            the C reference (SHARED_TOOLS/cpair.c, or CPAIR prebuilt)
#   tstun            TSTUN (default artifacts/tstun/tstun), with TSTUN_ARGS
#   tstun-spinlock   TSTUN_SPINLOCK (default artifacts/tstun-spinlock/tstun, from scripts/publish-spinlock.sh):
#                    the same server with the previous spin-lock pairing table, with TSTUN_ARGS

# Builds pairload and cpair into $work unless PAIRLOAD / CPAIR name prebuilt binaries.
build_reference_tools() {
  local tools=${SHARED_TOOLS:-../shared/tools}
  pairload=${PAIRLOAD:-}; cpair=${CPAIR:-}
  if [ -z "$pairload" ] || [ -z "$cpair" ]; then
    [ -f "$tools/pairload.c" ] || { echo "no pairload.c in $tools: set SHARED_TOOLS to the reference tools' folder" >&2; return 1; }
  fi
  [ -n "$pairload" ] || { pairload=$work/pairload; gcc -O2 -o "$pairload" "$tools/pairload.c"; }
  [ -n "$cpair" ] || { cpair=$work/cpair; gcc -O2 -pthread -o "$cpair" "$tools/cpair.c"; }
}

# Checks that the binaries the named servers need exist.
check_servers() {
  local name
  for name in "$@"; do
    case ${name%%:*} in
      cpair) ;;
      tstun) [ -x "${TSTUN:-artifacts/tstun/tstun}" ] || { echo "no tstun binary at ${TSTUN:-artifacts/tstun/tstun} (run scripts/publish.sh)" >&2; return 1; } ;;
      tstun-spinlock) [ -x "${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun}" ] || { echo "no spin-lock tstun at ${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun} (run scripts/publish-spinlock.sh)" >&2; return 1; } ;;
      *) echo "unknown server '$name'" >&2; return 1 ;;
    esac
  done
}

# A port below the ephemeral range, where the load's own connections live; next_port moves on.
port=$((10000 + RANDOM % 20000))
next_port() { port=$((port + 1)); }

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
ticks_to_s() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f",(b-a)/100}'; }

# start_server NAME: starts it on $port, waits until it listens; sets server_pid.
start_server() {
  local name=${1%%:*} threads=
  [[ $1 == *:* ]] && threads="--io-threads ${1##*:}"
  case $name in
    cpair) "$cpair" -p "$port" >/dev/null 2>&1 & server_pid=$! ;;
    # shellcheck disable=SC2086 # TSTUN_ARGS and $threads are lists of options
    tstun) "${TSTUN:-artifacts/tstun/tstun}" --port "$port" --stats-interval 0 $threads ${TSTUN_ARGS:-} >/dev/null 2>&1 & server_pid=$! ;;
    # shellcheck disable=SC2086
    tstun-spinlock) "${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun}" --port "$port" --stats-interval 0 $threads ${TSTUN_ARGS:-} >/dev/null 2>&1 & server_pid=$! ;;
  esac
  wait_port "$port"
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

# punchhole-load's report ends with "result key=value ...", pairload's keys first: keep that line's pairs.
phload_result() { "$phload" "$@" | sed -n 's/^result //p'; }

# in_order ROUND NAME...: the names in order in odd rounds, reversed in even ones (ABBA), so drift favours none.
in_order() {
  local round=$1; shift
  if [ $((round % 2)) -eq 1 ]; then echo "$*"; else echo "$@" | tr ' ' '\n' | tac | tr '\n' ' '; fi
}

# The awk function med(arr, n) for the summaries: the median of arr[1..n].
AWK_MEDIAN='function med(arr, n,   i, j, t) { if (n == 0) return 0; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }'
