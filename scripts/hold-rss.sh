#!/usr/bin/env bash
# RSS growth of a server per waiting client: HOLD clients wait at once, then all pair.
# Usage: scripts/hold-rss.sh [HOLD=9000] [warm|cold]
#   warm (default): a 20,000-pair run first, so the heap and pools are already at steady state;
#   cold: measure from a server that has served nothing.
# Env: SERVER (default tstun; any name of scripts/lib/servers.sh: tstun-ref, cpair, tstun-base,
#      tstun-spinlock, NAME:N), LOAD (pairload|punchhole-load: pairload -H, or punchhole-load hold,
#      which reads the RSS itself and splits past 9000 clients over processes; punchhole-load
#      stands in, with a note, when pairload.c is not found); TSTUN, TSTUN_ARGS, SHARED_TOOLS,
#      TSTUN_REF, CPAIR, PAIRLOAD, PHLOAD: see scripts/lib/servers.sh.
# Prints the load tool's own line(s), then one line: server=.. load=.. mode=.. hold=.. ok=..
#      errors=.. rss_before_kb=.. rss_during_kb=.. growth_bytes_per_waiting_client=..
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
hold=${1:-9000}; mode=${2:-warm}
server=${SERVER:-tstun}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
reference_tools "$work"
check_servers "$server"
use_loads "${LOAD:-pairload}"
load=$loads
case $load in pairload | punchhole-load) ;; *) echo "LOAD must be one of pairload or punchhole-load" >&2; exit 2 ;; esac
SERVER_LOG=$work/log start_server "$server"
pid=$server_pid
if [ "$mode" = warm ]; then
  closed_loop "$load" -c 64 -n 20000 -S 4 >/dev/null
fi
sleep 0.5

if [ "$load" = punchhole-load ]; then
  # It reads the server's RSS before the clients come and once they all wait (after --settle-ms).
  "$PHLOAD" hold -p "$port" -H "$hold" -S 4 --server-pid "$pid" > "$work/out" || true
  result=$(sed -n 's/^result //p' "$work/out")
  field() { tr ' ' '\n' <<<"$result" | sed -n "s/^$1=//p"; }
  cat "$work/out"
  echo "server=$server load=$load mode=$mode hold=$hold ok=$(field ok) errors=$(field errors)" \
    "rss_before_kb=$(field rss_before_kb) rss_during_kb=$(field rss_waiting_kb)" \
    "growth_bytes_per_waiting_client=$(field rss_growth_bytes_per_waiting_client)"
  exit 0
fi

before=$(rss_kb "$pid")
"$PAIRLOAD" -p "$port" -H "$hold" -S 4 -w 3000 -t 30 > "$work/out" & lp=$!
# pairload prints "hold:" once every first half is connected and has sent its key, then pauses 1 s.
for _ in $(seq 200); do grep -q '^hold:' "$work/out" && break; sleep 0.05; done
sleep 0.3
during=$(rss_kb "$pid")
wait $lp || true
cat "$work/out"
line=$(grep '^pairs=' "$work/out" || true)
field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
e=$(field errors); b=$(field bad); u=$(field unfinished)
echo "server=$server load=$load mode=$mode hold=$hold ok=$(field ok) errors=$(( ${e:-0} + ${b:-0} + ${u:-0} ))" \
  "rss_before_kb=$before rss_during_kb=$during growth_bytes_per_waiting_client=$(( (during - before) * 1024 / hold ))"
