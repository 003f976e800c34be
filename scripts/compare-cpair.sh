#!/usr/bin/env bash
# Throughput and latency of tstun against the C reference servers, alternating in one run.
# Usage: scripts/compare-cpair.sh [ROUNDS] [load options...]
#   default: 7 rounds of  -c 64 -n 20000 -S 4  (pairload's flags; punchhole-load constant takes the same)
# The references: our own bench/reference/tstun-ref.c, always (so this runs from a clone), and the
# shared cpair beside it when ../shared/tools/cpair.c is there (see scripts/reference-tools.sh).
# Each round runs every load tool against a fresh instance of every server, one at a time, the
# order reversed every other round (ABBA) so that drift favours none.
# Env: LOADS   load tools, any of "pairload punchhole-load" (default: pairload; punchhole-load
#              stands in, with a note, when pairload.c is not found)
#      TSTUN   server binary (default artifacts/tstun/tstun), TSTUN_ARGS extra server options
#      TSTUN_BASE a baseline tstun binary (say, built from main) run as one more server, "tstun-base",
#              with the same options: the ratio tstun/tstun-base is what a change costs
#      SHARED_TOOLS, TSTUN_REF, CPAIR, PAIRLOAD, PHLOAD: see scripts/reference-tools.sh
#      OUT     file for the raw lines
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/reference-tools.sh
rounds=${1:-7}; shift || true
load_args=("$@"); [ ${#load_args[@]} -gt 0 ] || load_args=(-c 64 -n 20000 -S 4)
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
reference_tools "$work"
loads=$(available_loads "${LOADS:-pairload}")
[[ " $loads " != *" punchhole-load "* ]] || phload_built
[ -x "${TSTUN:-artifacts/tstun/tstun}" ] || { echo "no tstun binary at ${TSTUN:-artifacts/tstun/tstun} (run scripts/publish.sh)" >&2; exit 1; }
references=$(reference_servers)
servers="$references tstun"
port=$((10000 + RANDOM % 20000))  # below the ephemeral range, where load connections live
out=${OUT:-/dev/null}
: > "$out"

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run_one() { # server load
  local server=$1 load=$2 line
  # shellcheck disable=SC2086 # TSTUN_ARGS is a list of options
  start_server "$server" "$port" ${TSTUN_ARGS:-}
  sleep 0.2
  local t0; t0=$(cpu_ticks "$server_pid")
  case $load in
    pairload) line=$("$PAIRLOAD" -p "$port" "${load_args[@]}" || true) ;;
    # punchhole-load prints a report; its last line is "result key=value ...", with pairload's keys first.
    punchhole-load) line=$("$PHLOAD" constant -p "$port" "${load_args[@]}" | sed -n 's/^result //p' || true) ;;
  esac
  local t1; t1=$(cpu_ticks "$server_pid")
  local rss; rss=$(rss_kb "$server_pid")
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
  echo "$server/$load $line cpu_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f",(b-a)/100}') rss_kb=$rss" | tee -a "$out"
  port=$((port + 1))
}

results=$work/results
for r in $(seq "$rounds"); do
  for load in $loads; do
    if [ $((r % 2)) -eq 1 ]; then order=$servers; else order=$(tr ' ' '\n' <<<"$servers" | tac | tr '\n' ' '); fi
    for server in $order; do run_one "$server" "$load" >> "$results"; done
  done
done
cat "$results"
awk -v loads="$loads" -v servers="$servers" -v references="$references" '
  function med(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
  { name = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[name, kv[1], ++cnt[name, kv[1]]] = kv[2]
      if (kv[1] == "errors" || kv[1] == "bad" || kv[1] == "unfinished") errs[name] += kv[2] } }
  END {
    nl = split(loads, L, " "); ns = split(servers, S, " "); nr = split(references, R, " ")
    for (l = 1; l <= nl; l++) {
      for (s = 1; s <= ns; s++) { name = S[s] "/" L[l]
        n = cnt[name, "pairs_per_s"]
        for (k = 1; k <= n; k++) { a[k] = v[name, "pairs_per_s", k]; b[k] = v[name, "p99_ms", k]; c[k] = v[name, "p50_ms", k]; d[k] = v[name, "cpu_s", k]; e[k] = v[name, "rss_kb", k] }
        pps[name] = med(a, n); p99[name] = med(b, n); p50[name] = med(c, n); cpu[name] = med(d, n); rss[name] = med(e, n)
        printf "%-26s runs=%d median pairs/s=%.0f p50_ms=%.3f p99_ms=%.3f server_cpu_s=%.2f server_rss_kb=%.0f errors+bad+unfinished=%d\n", name, n, pps[name], p50[name], p99[name], cpu[name], rss[name], errs[name] }
      for (r = 1; r <= nr; r++) { ref = R[r] "/" L[l]
        if (pps[ref] > 0 && p99[ref] > 0)
          printf "ratio tstun/%s (%s): pairs/s %.3f (bar >= 0.95), p99 %.3f (bar <= 1.5)\n", R[r], L[l], pps["tstun/" L[l]] / pps[ref], p99["tstun/" L[l]] / p99[ref] }
    }
  }' "$results"
