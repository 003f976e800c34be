#!/usr/bin/env bash
# Throughput and latency of tstun against the C reference cpair, alternating in one run.
# Usage: scripts/compare-cpair.sh [ROUNDS] [load options...]
#   default: 7 rounds of  -c 64 -n 20000 -S 4  (pairload's flags; punchhole-load constant takes the same)
# Each round runs every load tool against a fresh server of each kind, one server at a time,
# in ABBA order (listed order in odd rounds, reversed in even ones) so drift favours none.
# Env: LOADS   load tools to use, any of "pairload punchhole-load" (default: pairload)
#      SERVERS servers to compare (default "cpair tstun"; also tstun-spinlock, and NAME:N for
#              --io-threads N; see scripts/lib/servers.sh); each is compared with cpair
#      TSTUN   server binary (default artifacts/tstun/tstun), TSTUN_ARGS extra server options
#      TSTUN_SPINLOCK  the spin-lock build (default artifacts/tstun-spinlock/tstun, scripts/publish-spinlock.sh)
#      SHARED_TOOLS (default ../shared/tools); PAIRLOAD, CPAIR: prebuilt binaries (default: built here)
#      PHLOAD  punchhole-load binary (default: built with dotnet into load/.../bin/Release)
#      OUT     file for the raw lines
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}; shift || true
load_args=("$@"); [ ${#load_args[@]} -gt 0 ] || load_args=(-c 64 -n 20000 -S 4)
loads=${LOADS:-pairload}
servers=${SERVERS:-cpair tstun}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/lib/servers.sh
build_reference_tools
# shellcheck disable=SC2086
check_servers $servers
phload=${PHLOAD:-}
if [[ " $loads " == *" punchhole-load "* && -z "$phload" ]]; then
  dotnet build load/Punchhole.Load -c Release --nologo -v quiet >&2
  phload=load/Punchhole.Load/bin/Release/net10.0/punchhole-load
fi
out=${OUT:-/dev/null}
: > "$out"

run_one() { # server load
  local server=$1 load=$2
  case $load in
    pairload) measure "$server" "$pairload" -p "$port" "${load_args[@]}" ;;
    punchhole-load) measure "$server" phload_result constant -p "$port" "${load_args[@]}" ;;
  esac
  echo "$server/$load $line cpu_s=$server_cpu rss_kb=$server_rss" | tee -a "$out"
}

results=$work/results
for r in $(seq "$rounds"); do
  for load in $loads; do
    for server in $(in_order "$r" $servers); do run_one "$server" "$load" >> "$results"; done
  done
done
cat "$results"
awk -v loads="$loads" -v servers="$servers" "$AWK_MEDIAN"'
  { name = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[name, kv[1], ++cnt[name, kv[1]]] = kv[2]
      if (kv[1] == "errors" || kv[1] == "bad" || kv[1] == "unfinished") errs[name] += kv[2] } }
  END {
    nl = split(loads, L, " "); ns = split(servers, S, " ")
    for (l = 1; l <= nl; l++) {
      for (s = 1; s <= ns; s++) { name = S[s] "/" L[l]
        n = cnt[name, "pairs_per_s"]
        for (k = 1; k <= n; k++) { a[k] = v[name, "pairs_per_s", k]; b[k] = v[name, "p99_ms", k]; c[k] = v[name, "p50_ms", k]; d[k] = v[name, "cpu_s", k]; e[k] = v[name, "rss_kb", k] }
        pps[name] = med(a, n); p99[name] = med(b, n); p50[name] = med(c, n); cpu[name] = med(d, n); rss[name] = med(e, n)
        printf "%-28s runs=%d median pairs/s=%.0f p50_ms=%.3f p99_ms=%.3f server_cpu_s=%.2f server_rss_kb=%.0f errors+bad+unfinished=%d\n", name, n, pps[name], p50[name], p99[name], cpu[name], rss[name], errs[name] }
      base = "cpair/" L[l]
      for (s = 1; s <= ns; s++) { name = S[s] "/" L[l]
        if (S[s] == "cpair" || pps[base] == 0 || p99[base] == 0) continue
        printf "ratio %s/cpair (%s): pairs/s %.3f (bar >= 1.0), p99 %.3f (bar <= 1.0)\n", S[s], L[l], pps[name] / pps[base], p99[name] / p99[base] }
    }
  }' "$results"
