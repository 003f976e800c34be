# Sourced by the comparison scripts (compare.sh, compare-cpair.sh, hold-rss.sh, alloc-per-pairing.sh),
# from the repository root. The reference servers and load generators, and how to start a server:
#   TSTUN_REF  our own minimal C epoll T-STUN server, bench/reference/tstun-ref.c: always there,
#              so every comparison runs from a clone;
#   CPAIR      the shared C reference server cpair, beside it, when cpair.c is found;
#   PAIRLOAD   the shared independent C load generator, when pairload.c is found; without it
#              the load comes from our punchhole-load (load/) alone, and a note says so;
#   PHLOAD     punchhole-load, built on first use.
# The shared tools are looked for in SHARED_TOOLS (default ../shared/tools, next to the clone);
# TSTUN_REF, CPAIR, PAIRLOAD and PHLOAD may also name prebuilt binaries. The C compiler is CC,
# else gcc, else clang (which publishing installs anyway).

# Builds what is missing into the folder $1 and exports the variables above (empty when absent).
reference_tools() {
  local work=$1 tools=${SHARED_TOOLS:-../shared/tools}
  local cc=${CC:-$(command -v gcc || command -v clang || true)}
  [ -n "$cc" ] || { echo "no C compiler: install gcc (or clang), or set CC" >&2; return 1; }
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
  if [ -z "${PAIRLOAD:-}" ]; then
    echo "note: no pairload ($tools/pairload.c not found): the load comes from punchhole-load alone." \
      "For the independent C load generator set SHARED_TOOLS to the folder holding pairload.c (or PAIRLOAD to a built one)." >&2
  fi
  CPAIR=${CPAIR:-} PAIRLOAD=${PAIRLOAD:-}
  export TSTUN_REF CPAIR PAIRLOAD
}

# Builds punchhole-load unless PHLOAD names one already; exports PHLOAD.
phload_built() {
  if [ -z "${PHLOAD:-}" ]; then
    dotnet build load/Punchhole.Load -c Release --nologo -v quiet >&2
    PHLOAD=load/Punchhole.Load/bin/Release/net10.0/punchhole-load
  fi
  export PHLOAD
}

# The load tools to use from a list: pairload is replaced by punchhole-load when it is absent.
available_loads() {
  local load out=""
  for load in $1; do
    [ "$load" = pairload ] && [ -z "${PAIRLOAD:-}" ] && load=punchhole-load
    case " $out " in *" $load "*) ;; *) out="${out:+$out }$load" ;; esac
  done
  echo "$out"
}

# The reference servers present: tstun-ref always, cpair when built, and tstun-base when
# TSTUN_BASE names a baseline tstun binary (say, main's), to measure a change in the same run.
reference_servers() {
  echo "tstun-ref${CPAIR:+ cpair}${TSTUN_BASE:+ tstun-base}"
}

wait_port() { # PORT: until something accepts on 127.0.0.1:PORT (5 s at most)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# Starts server $1 (tstun, tstun-base, tstun-ref or cpair) on port $2, tstun with the options after it, its
# output to $SERVER_LOG (default /dev/null); sets server_pid and waits until it accepts.
start_server() {
  local name=$1 port=$2 log=${SERVER_LOG:-/dev/null}
  shift 2
  case $name in
    tstun-ref) "$TSTUN_REF" -p "$port" >/dev/null 2>"$log" & ;;
    cpair) "$CPAIR" -p "$port" >/dev/null 2>"$log" & ;;
    tstun) "${TSTUN:-artifacts/tstun/tstun}" --port "$port" --stats-interval 0 "$@" >/dev/null 2>"$log" & ;;
    tstun-base) "$TSTUN_BASE" --port "$port" --stats-interval 0 "$@" >/dev/null 2>"$log" & ;;
    *) echo "unknown server $name" >&2; return 1 ;;
  esac
  server_pid=$!
  wait_port "$port"
}
