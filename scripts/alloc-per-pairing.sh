#!/usr/bin/env bash
# Managed bytes tstun allocates per pairing in steady state, from its own counters.
# Usage: scripts/alloc-per-pairing.sh [PAIRS=50000]
# Starts tstun, warms it with 20,000 pairings (pools and the heap reach steady state), asks for
# its counters (SIGUSR1), runs PAIRS more pairings with -c 64 -S 4, asks again, and divides the
# growth of alloc_bytes (GC.GetTotalAllocatedBytes) by the growth of paired. The load comes from
# pairload, or from punchhole-load (with a note) when pairload.c is not found.
# Env: SERVER (default tstun; also tstun-base, tstun-spinlock, NAME:N); TSTUN, TSTUN_ARGS,
#      SHARED_TOOLS, PAIRLOAD, PHLOAD: see scripts/lib/servers.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
pairs=${1:-50000}
server=${SERVER:-tstun}
case ${server%%:*} in tstun | tstun-base | tstun-spinlock) ;; *) echo "SERVER must be a tstun variant (its counters are read)" >&2; exit 2 ;; esac
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
reference_tools "$work"
check_servers "$server"
use_loads pairload
load() { closed_loop "$loads" -c 64 -n "$1" -S 4; } # PAIRS
SERVER_LOG=$work/log start_server "$server"
pid=$server_pid

stats() { # the newest summary line after asking for one
  local n; n=$(grep -c ' stats ' "$work/log" || true)
  kill -USR1 $pid
  for _ in $(seq 100); do [ "$(grep -c ' stats ' "$work/log" || true)" -gt "$n" ] && break; sleep 0.02; done
  grep ' stats ' "$work/log" | tail -1
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

load 20000 >/dev/null
first=$(stats)
load "$pairs"
second=$(stats)
kill -TERM $pid; wait $pid 2>/dev/null || true
echo "before: $first"
echo "after:  $second"
paired=$(( $(field "$second" paired) - $(field "$first" paired) ))
bytes=$(( $(field "$second" alloc_bytes) - $(field "$first" alloc_bytes) ))
gcs=$(( $(field "$second" gcs) - $(field "$first" gcs) ))
echo "pairings=$paired alloc_bytes=$bytes gen0_gcs=$gcs bytes_per_pairing=$(awk -v b=$bytes -v p=$paired 'BEGIN{printf "%.0f", b/p}')" \
  "bytes_per_connection=$(awk -v b=$bytes -v p=$paired 'BEGIN{printf "%.0f", b/p/2}')"
