#!/usr/bin/env bash
# The lock-free pairing table against the previous per-bucket spin-lock table, end to end: tstun
# built both ways, each with IO_THREADS (default "1 8") socket-engine threads, the high count more
# threads than cores (oversubscribed), alternating with the reference servers in one run
# (compare-cpair.sh; the references are tstun-ref, and cpair when its source is found).
# Usage: scripts/compare-tables.sh [ROUNDS] [load options...]
#   default: 7 rounds of pairload -c 64 -n 20000 -S 4 (closed loop);
#   open loop, e.g.: scripts/compare-tables.sh 5 -r 8000 -n 24000 -c 4000 -S 4 -t 10
# Prints compare-cpair.sh's medians and ratios against each reference, then what each table loses
# going from the low to the high thread count, and the lock-free table against the spin-lock one
# at each. Bar: the lock-free table loses no more than the spin-lock table does.
# Env: IO_THREADS, and those of compare-cpair.sh (TSTUN, TSTUN_SPINLOCK, TSTUN_ARGS, LOADS, OUT, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
read -r lo hi <<<"${IO_THREADS:-1 8}"
[ -x "${TSTUN_SPINLOCK:-artifacts/tstun-spinlock/tstun}" ] || scripts/publish-spinlock.sh >&2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# Built once here; compare-cpair.sh finds them in the environment.
reference_tools "$work"
summary=$work/summary
SERVERS="$(reference_servers) tstun:$lo tstun-spinlock:$lo tstun:$hi tstun-spinlock:$hi" scripts/compare-cpair.sh "$@" | tee "$summary"
awk -v lo="$lo" -v hi="$hi" '
  / runs=/ { split($1, n, "/"); if (!(n[2] in seen)) { seen[n[2]] = 1; L[++nl] = n[2] }
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "pairs/s") pps[$1] = kv[2]; if (kv[1] == "p99_ms") p99[$1] = kv[2] } }
  END {
    for (l = 1; l <= nl; l++) { load = L[l]
      for (t = 0; t < 2; t++) { name = t ? "tstun-spinlock" : "tstun"; table = t ? "spin-lock" : "lock-free"
        a = name ":" lo "/" load; b = name ":" hi "/" load
        if (pps[a] > 0 && p99[a] > 0) {
          lpps[t] = pps[b] / pps[a]; lp99[t] = p99[b] / p99[a]
          printf "%-9s table, %s -> %s I/O threads (%s): pairs/s x%.3f, p99 x%.3f\n", table, lo, hi, load, lpps[t], lp99[t] } }
      for (k = 0; k < 2; k++) { c = k ? hi : lo; f = "tstun:" c "/" load; s = "tstun-spinlock:" c "/" load
        if (pps[s] > 0 && p99[s] > 0)
          printf "lock-free/spin-lock at %s I/O threads (%s): pairs/s %.3f, p99 %.3f\n", c, load, pps[f] / pps[s], p99[f] / p99[s] }
      printf "bar (%s): the lock-free table loses no more than the spin-lock table: pairs/s %s, p99 %s\n", load, \
        (lpps[0] >= lpps[1] ? "met" : "NOT met"), (lp99[0] <= lp99[1] ? "met" : "NOT met") }
  }' "$summary"
