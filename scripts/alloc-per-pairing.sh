#!/usr/bin/env bash
# Managed bytes tstun allocates per pairing in steady state, from its own counters.
# Usage: scripts/alloc-per-pairing.sh [PAIRS=50000]
# Starts tstun, warms it with 20,000 pairings (pools and the heap reach steady state), asks for
# its counters (SIGUSR1), runs PAIRS more pairings with pairload -c 64 -S 4, asks again, and
# divides the growth of alloc_bytes (GC.GetTotalAllocatedBytes) by the growth of paired.
# Env: TSTUN (default artifacts/tstun/tstun), SHARED_TOOLS (default ../shared/tools), PAIRLOAD (prebuilt).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-50000}
tools=${SHARED_TOOLS:-../shared/tools}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
pairload=${PAIRLOAD:-}
[ -n "$pairload" ] || { pairload=$work/pairload; gcc -O2 -o "$pairload" "$tools/pairload.c"; }
port=$((10000 + RANDOM % 20000))
"${TSTUN:-artifacts/tstun/tstun}" --port "$port" --stats-interval 0 2>"$work/log" & pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done

stats() { # the newest summary line after asking for one
  local n; n=$(grep -c ' stats ' "$work/log" || true)
  kill -USR1 $pid
  for _ in $(seq 100); do [ "$(grep -c ' stats ' "$work/log" || true)" -gt "$n" ] && break; sleep 0.02; done
  grep ' stats ' "$work/log" | tail -1
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

"$pairload" -p "$port" -c 64 -n 20000 -S 4 >/dev/null
first=$(stats)
"$pairload" -p "$port" -c 64 -n "$pairs" -S 4
second=$(stats)
kill -TERM $pid; wait $pid 2>/dev/null || true
echo "before: $first"
echo "after:  $second"
paired=$(( $(field "$second" paired) - $(field "$first" paired) ))
bytes=$(( $(field "$second" alloc_bytes) - $(field "$first" alloc_bytes) ))
gcs=$(( $(field "$second" gcs) - $(field "$first" gcs) ))
echo "pairings=$paired alloc_bytes=$bytes gen0_gcs=$gcs bytes_per_pairing=$(awk -v b=$bytes -v p=$paired 'BEGIN{printf "%.0f", b/p}')" \
  "bytes_per_connection=$(awk -v b=$bytes -v p=$paired 'BEGIN{printf "%.0f", b/p/2}')"
