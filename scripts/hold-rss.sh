#!/usr/bin/env bash
# RSS growth of tstun per waiting client: HOLD clients wait at once (pairload -H), then pair.
# Usage: scripts/hold-rss.sh [HOLD=9000] [warm|cold]
#   warm (default): a 20,000-pair run first, so the heap and pools are already at steady state;
#   cold: measure from a server that has served nothing.
# Env: TSTUN (binary, default artifacts/tstun/tstun), SHARED_TOOLS (default ../shared/tools), SERVER (tstun|cpair).
set -euo pipefail
cd "$(dirname "$0")/.."
hold=${1:-9000}; mode=${2:-warm}
tools=${SHARED_TOOLS:-../shared/tools}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
gcc -O2 -o "$work/pairload" "$tools/pairload.c"
port=$((10000 + RANDOM % 20000))  # below the ephemeral range, where load connections live
if [ "${SERVER:-tstun}" = cpair ]; then
  gcc -O2 -pthread -o "$work/cpair" "$tools/cpair.c"; "$work/cpair" -p "$port" & pid=$!
else
  "${TSTUN:-artifacts/tstun/tstun}" --port "$port" --stats-interval 0 2>"$work/log" & pid=$!
fi
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
[ "$mode" = warm ] && "$work/pairload" -p "$port" -c 64 -n 20000 -S 4 >/dev/null
sleep 0.5
before=$(rss)
"$work/pairload" -p "$port" -H "$hold" -S 4 -w 3000 -t 30 > "$work/out" & lp=$!
# pairload prints "hold:" once every first half is connected and has sent its key, then pauses 1 s.
for _ in $(seq 200); do grep -q '^hold:' "$work/out" && break; sleep 0.05; done
sleep 0.3
during=$(rss)
wait $lp || true
cat "$work/out"
echo "server=${SERVER:-tstun} mode=$mode hold=$hold rss_before_kb=$before rss_during_kb=$during growth_bytes_per_waiting_client=$(( (during - before) * 1024 / hold ))"
