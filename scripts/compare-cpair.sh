#!/usr/bin/env bash
# Throughput and latency of tstun against the C reference cpair, alternating in one run.
# Usage: scripts/compare-cpair.sh [ROUNDS] [pairload options...]
#   default: 7 rounds of  pairload -c 64 -n 20000 -S 4
# Env: TSTUN (binary, default: artifacts/tstun/tstun), SHARED_TOOLS (default ../shared/tools),
#      TSTUN_ARGS (extra server options), OUT (file for the raw lines).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}; shift || true
load_args=("$@"); [ ${#load_args[@]} -gt 0 ] || load_args=(-c 64 -n 20000 -S 4)
tools=${SHARED_TOOLS:-../shared/tools}
tstun=${TSTUN:-artifacts/tstun/tstun}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
gcc -O2 -o "$work/pairload" "$tools/pairload.c"
gcc -O2 -pthread -o "$work/cpair" "$tools/cpair.c"
[ -x "$tstun" ] || { echo "no tstun binary at $tstun (run scripts/publish.sh)" >&2; exit 1; }
port=$((10000 + RANDOM % 20000))  # below the ephemeral range, where load connections live
out=${OUT:-/dev/null}
: > "$out"

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

run_one() { # name command...
  local name=$1; shift
  "$@" >/dev/null 2>&1 & local pid=$!
  wait_port "$port"
  sleep 0.2
  local t0; t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  local line; line=$("$work/pairload" -p "$port" "${load_args[@]}" || true)
  local t1; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  echo "$name $line cpu_s=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f",(b-a)/100}')" | tee -a "$out"
  port=$((port + 1))
}

results=$work/results
for r in $(seq "$rounds"); do
  run_one cpair "$work/cpair" -p "$port" >> "$results"
  run_one tstun "$tstun" --port "$port" --stats-interval 0 ${TSTUN_ARGS:-} >> "$results"
done
cat "$results"
awk '
  function med(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
  { name = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[name, kv[1], ++cnt[name, kv[1]]] = kv[2] } errs[name] += 0 }
  /errors=/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "errors" || kv[1] == "bad" || kv[1] == "unfinished") errs[$1] += kv[2] } }
  END {
    for (s = 0; s < 2; s++) { name = s ? "tstun" : "cpair"
      for (k = 1; k <= cnt[name, "pairs_per_s"]; k++) { a[k] = v[name, "pairs_per_s", k]; b[k] = v[name, "p99_ms", k]; c[k] = v[name, "p50_ms", k]; d[k] = v[name, "cpu_s", k] }
      n = cnt[name, "pairs_per_s"]; pps[name] = med(a, n); p99[name] = med(b, n); p50[name] = med(c, n); cpu[name] = med(d, n)
      printf "%-6s runs=%d median pairs/s=%.0f p50_ms=%.3f p99_ms=%.3f server_cpu_s=%.2f errors+bad+unfinished=%d\n", name, n, pps[name], p50[name], p99[name], cpu[name], errs[name] }
    printf "ratio tstun/cpair: pairs/s %.3f (bar >= 0.95), p99 %.3f (bar <= 1.5)\n", pps["tstun"] / pps["cpair"], p99["tstun"] / p99["cpair"]
  }' "$results"
