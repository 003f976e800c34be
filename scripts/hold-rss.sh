#!/usr/bin/env bash
# RSS growth of a server per waiting client: HOLD clients wait at once, then all pair.
# Usage: scripts/hold-rss.sh [HOLD=9000] [warm|cold]
#   warm (default): a 20,000-pair run first, so the heap and pools are already at steady state;
#   cold: measure from a server that has served nothing.
# Env: SERVER (tstun|cpair), LOAD (pairload|punchhole-load: pairload -H, or punchhole-load hold,
#      which reads the RSS itself and splits past 9000 clients over processes),
#      TSTUN (binary, default artifacts/tstun/tstun), SHARED_TOOLS (default ../shared/tools),
#      PAIRLOAD, CPAIR, PHLOAD: prebuilt binaries (default: built here).
# Prints the load tool's own line(s), then one line: server=.. load=.. mode=.. hold=.. ok=..
#      errors=.. rss_before_kb=.. rss_during_kb=.. growth_bytes_per_waiting_client=..
set -euo pipefail
cd "$(dirname "$0")/.."
hold=${1:-9000}; mode=${2:-warm}
server=${SERVER:-tstun}; load=${LOAD:-pairload}
tools=${SHARED_TOOLS:-../shared/tools}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
pairload=${PAIRLOAD:-}
[ -n "$pairload" ] || { pairload=$work/pairload; gcc -O2 -o "$pairload" "$tools/pairload.c"; }
phload=${PHLOAD:-}
if [ "$load" = punchhole-load ] && [ -z "$phload" ]; then
  dotnet build load/Punchhole.Load -c Release --nologo -v quiet >&2
  phload=load/Punchhole.Load/bin/Release/net10.0/punchhole-load
fi
port=$((10000 + RANDOM % 20000))  # below the ephemeral range, where load connections live
if [ "$server" = cpair ]; then
  cpair=${CPAIR:-}
  [ -n "$cpair" ] || { cpair=$work/cpair; gcc -O2 -pthread -o "$cpair" "$tools/cpair.c"; }
  "$cpair" -p "$port" & pid=$!
else
  "${TSTUN:-artifacts/tstun/tstun}" --port "$port" --stats-interval 0 2>"$work/log" & pid=$!
fi
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
[ "$mode" = warm ] && "$pairload" -p "$port" -c 64 -n 20000 -S 4 >/dev/null
sleep 0.5

if [ "$load" = punchhole-load ]; then
  # It reads the server's RSS before the clients come and once they all wait (after --settle-ms).
  "$phload" hold -p "$port" -H "$hold" -S 4 --server-pid "$pid" > "$work/out" || true
  result=$(sed -n 's/^result //p' "$work/out")
  field() { tr ' ' '\n' <<<"$result" | sed -n "s/^$1=//p"; }
  cat "$work/out"
  echo "server=$server load=$load mode=$mode hold=$hold ok=$(field ok) errors=$(field errors)" \
    "rss_before_kb=$(field rss_before_kb) rss_during_kb=$(field rss_waiting_kb)" \
    "growth_bytes_per_waiting_client=$(field rss_growth_bytes_per_waiting_client)"
  exit 0
fi

before=$(rss)
"$pairload" -p "$port" -H "$hold" -S 4 -w 3000 -t 30 > "$work/out" & lp=$!
# pairload prints "hold:" once every first half is connected and has sent its key, then pauses 1 s.
for _ in $(seq 200); do grep -q '^hold:' "$work/out" && break; sleep 0.05; done
sleep 0.3
during=$(rss)
wait $lp || true
cat "$work/out"
line=$(grep '^pairs=' "$work/out" || true)
field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
e=$(field errors); b=$(field bad); u=$(field unfinished)
echo "server=$server load=$load mode=$mode hold=$hold ok=$(field ok) errors=$(( ${e:-0} + ${b:-0} + ${u:-0} ))" \
  "rss_before_kb=$before rss_during_kb=$during growth_bytes_per_waiting_client=$(( (during - before) * 1024 / hold ))"
