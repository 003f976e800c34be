#!/usr/bin/env bash
# The lock-free pairing table against the previous per-bucket spin-lock table, end to end: tstun
# built both ways, each with IO_THREADS (default "1 8") socket-engine threads, the high count more
# threads than cores (oversubscribed), alternating with cpair in one run (compare-cpair.sh).
# Usage: scripts/compare-tables.sh [ROUNDS] [load options...]
#   default: 7 rounds of pairload -c 64 -n 20000 -S 4 (closed loop);
#   open loop, e.g.: scripts/compare-tables.sh 5 -r 8000 -n 24000 -c 4000 -S 4 -t 10
# Prints compare-cpair.sh's medians and ratios against cpair, then what each table loses going from
# the low to the high thread count, and the lock-free table against the spin-lock one at each.
# Bar: the lock-free table loses no more than the spin-lock table does.
# Env: IO_THREADS, and those of compare-cpair.sh (TSTUN, TSTUN_SPINLOCK, TSTUN_ARGS, OUT, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
read -r lo hi <<<"${IO_THREADS:-1 8}"
[ -x "${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun}" ] || scripts/publish-spinlock.sh >&2
summary=$(mktemp); trap 'rm -f "$summary"' EXIT
SERVERS="cpair tstun:$lo tstun-spinlock:$lo tstun:$hi tstun-spinlock:$hi" scripts/compare-cpair.sh "$@" | tee "$summary"
awk -v lo="$lo" -v hi="$hi" '
  / runs=/ { split($1, n, "/"); for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "pairs/s") pps[n[1]] = kv[2]; if (kv[1] == "p99_ms") p99[n[1]] = kv[2] } }
  END {
    for (t = 0; t < 2; t++) { name = t ? "tstun-spinlock" : "tstun"; table = t ? "spin-lock" : "lock-free"
      a = name ":" lo; b = name ":" hi
      if (pps[a] > 0 && p99[a] > 0) {
        lpps[t] = pps[b] / pps[a]; lp99[t] = p99[b] / p99[a]
        printf "%-9s table, %s -> %s I/O threads: pairs/s x%.3f, p99 x%.3f\n", table, lo, hi, lpps[t], lp99[t] } }
    for (k = 0; k < 2; k++) { c = k ? hi : lo
      if (pps["tstun-spinlock:" c] > 0 && p99["tstun-spinlock:" c] > 0)
        printf "lock-free/spin-lock at %s I/O threads: pairs/s %.3f, p99 %.3f\n", c, pps["tstun:" c] / pps["tstun-spinlock:" c], p99["tstun:" c] / p99["tstun-spinlock:" c] }
    printf "bar: the lock-free table loses no more than the spin-lock table: pairs/s %s, p99 %s\n", \
      (lpps[0] >= lpps[1] ? "met" : "NOT met"), (lp99[0] <= lp99[1] ? "met" : "NOT met")
  }' "$summary"
