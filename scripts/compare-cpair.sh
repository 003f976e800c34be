#!/usr/bin/env bash
# Throughput and latency of tstun against the C reference servers, alternating in one run.
# Usage: scripts/compare-cpair.sh [ROUNDS] [load options...]
#   default: 7 rounds of  -c 64 -n 20000 -S 4  (pairload's flags; punchhole-load constant takes the same)
# Each round runs every load tool against a fresh instance of every server, one at a time, the
# order reversed every other round (ABBA) so that drift favours none. Medians per server and
# load tool; then every server that is not a reference against each reference in the run.
# Env: SERVERS servers to compare (default: the references, that is tstun-ref, cpair when its
#              source is found and tstun-base when TSTUN_BASE is set, then tstun); also
#              tstun-spinlock, and NAME:N for --io-threads N (see scripts/lib/servers.sh)
#      LOADS   load tools, any of "pairload punchhole-load" (default: pairload; punchhole-load
#              stands in, with a note, when pairload.c is not found)
#      TSTUN, TSTUN_ARGS, TSTUN_BASE, TSTUN_SPINLOCK, SHARED_TOOLS, TSTUN_REF, CPAIR, PAIRLOAD,
#      PHLOAD: see scripts/lib/servers.sh
#      OUT     file for the raw lines
# Bars: against cpair and tstun-ref, pairs/s >= 1.0 and p99 <= 1.0 (issue 15); against
# tstun-base, pairs/s >= 0.95 (a change may cost at most 5 %).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
rounds=${1:-7}; shift || true
load_args=("$@"); [ ${#load_args[@]} -gt 0 ] || load_args=(-c 64 -n 20000 -S 4)
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
reference_tools "$work"
servers=${SERVERS:-$(reference_servers) tstun}
# shellcheck disable=SC2086 # a list of names
check_servers $servers
use_loads "${LOADS:-pairload}"
# shellcheck disable=SC2086 # a list of names
references=$(references_among $servers)
out=${OUT:-/dev/null}
: > "$out"

run_one() { # server load
  local server=$1 load=$2
  measure "$server" closed_loop "$load" "${load_args[@]}"
  echo "$server/$load $line cpu_s=$server_cpu rss_kb=$server_rss" | tee -a "$out"
}

results=$work/results
for r in $(seq "$rounds"); do
  for load in $loads; do
    # shellcheck disable=SC2086
    for server in $(in_order "$r" $servers); do run_one "$server" "$load" >> "$results"; done
  done
done
cat "$results"
awk -v loads="$loads" -v servers="$servers" -v references="$references" "$AWK_MEDIAN"'
  { name = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[name, kv[1], ++cnt[name, kv[1]]] = kv[2]
      if (kv[1] == "errors" || kv[1] == "bad" || kv[1] == "unfinished") errs[name] += kv[2] } }
  END {
    nl = split(loads, L, " "); ns = split(servers, S, " "); nr = split(references, R, " ")
    for (s = 1; s <= ns; s++) isref[S[s]] = 0
    for (r = 1; r <= nr; r++) isref[R[r]] = 1
    for (l = 1; l <= nl; l++) {
      for (s = 1; s <= ns; s++) { name = S[s] "/" L[l]
        n = cnt[name, "pairs_per_s"]
        for (k = 1; k <= n; k++) { a[k] = v[name, "pairs_per_s", k]; b[k] = v[name, "p99_ms", k]; c[k] = v[name, "p50_ms", k]; d[k] = v[name, "cpu_s", k]; e[k] = v[name, "rss_kb", k] }
        pps[name] = med(a, n); p99[name] = med(b, n); p50[name] = med(c, n); cpu[name] = med(d, n); rss[name] = med(e, n)
        printf "%-30s runs=%d median pairs/s=%.0f p50_ms=%.3f p99_ms=%.3f server_cpu_s=%.2f server_rss_kb=%.0f errors+bad+unfinished=%d\n", name, n, pps[name], p50[name], p99[name], cpu[name], rss[name], errs[name] }
      for (r = 1; r <= nr; r++) { ref = R[r] "/" L[l]
        if (pps[ref] == 0 || p99[ref] == 0) continue
        base = (R[r] ~ /^tstun-base/)
        for (s = 1; s <= ns; s++) { if (isref[S[s]]) continue; name = S[s] "/" L[l]
          printf "ratio %s/%s (%s): pairs/s %.3f (bar >= %s), p99 %.3f%s\n", S[s], R[r], L[l], pps[name] / pps[ref], base ? "0.95" : "1.0", \
            p99[name] / p99[ref], base ? "" : " (bar <= 1.0)" } }
    }
  }' "$results"
