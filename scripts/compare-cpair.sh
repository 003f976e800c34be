#!/usr/bin/env bash
# Throughput and latency of tstun against the C reference cpair, alternating in one run.
# Usage: scripts/compare-cpair.sh [ROUNDS] [load options...]
#   default: 7 rounds of  -c 64 -n 20000 -S 4  (pairload's flags; punchhole-load constant takes the same)
# Each round runs every load tool against a fresh cpair and a fresh tstun, one server at a time,
# in ABBA order (cpair first in odd rounds, tstun first in even ones) so drift favours neither.
# Env: LOADS   load tools to use, any of "pairload punchhole-load" (default: pairload)
#      TSTUN   server binary (default artifacts/tstun/tstun), TSTUN_ARGS extra server options
#      SHARED_TOOLS (default ../shared/tools); PAIRLOAD, CPAIR: prebuilt binaries (default: built here)
#      PHLOAD  punchhole-load binary (default: built with dotnet into load/.../bin/Release)
#      OUT     file for the raw lines
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}; shift || true
load_args=("$@"); [ ${#load_args[@]} -gt 0 ] || load_args=(-c 64 -n 20000 -S 4)
loads=${LOADS:-pairload}
tools=${SHARED_TOOLS:-../shared/tools}
tstun=${TSTUN:-artifacts/tstun/tstun}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
pairload=${PAIRLOAD:-}; cpair=${CPAIR:-}
[ -n "$pairload" ] || { pairload=$work/pairload; gcc -O2 -o "$pairload" "$tools/pairload.c"; }
[ -n "$cpair" ] || { cpair=$work/cpair; gcc -O2 -pthread -o "$cpair" "$tools/cpair.c"; }
[ -x "$tstun" ] || { echo "no tstun binary at $tstun (run scripts/publish.sh)" >&2; exit 1; }
phload=${PHLOAD:-}
if [[ " $loads " == *" punchhole-load "* && -z "$phload" ]]; then
  dotnet build load/Punchhole.Load -c Release --nologo -v quiet >&2
  phload=load/Punchhole.Load/bin/Release/net10.0/punchhole-load
fi
port=$((10000 + RANDOM % 20000))  # below the ephemeral range, where load connections live
out=${OUT:-/dev/null}
: > "$out"

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run_one() { # server load
  local server=$1 load=$2 pid line
  case $server in
    cpair) "$cpair" -p "$port" >/dev/null 2>&1 & pid=$! ;;
    tstun) "$tstun" --port "$port" --stats-interval 0 ${TSTUN_ARGS:-} >/dev/null 2>&1 & pid=$! ;;
  esac
  wait_port "$port"
  sleep 0.2
  local t0; t0=$(cpu_ticks $pid)
  case $load in
    pairload) line=$("$pairload" -p "$port" "${load_args[@]}" || true) ;;
    # punchhole-load prints a report; its last line is "result key=value ...", with pairload's keys first.
    punchhole-load) line=$("$phload" constant -p "$port" "${load_args[@]}" | sed -n 's/^result //p' || true) ;;
  esac
  local t1; t1=$(cpu_ticks $pid)
  local rss; rss=$(rss_kb $pid)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  echo "$server/$load $line cpu_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f",(b-a)/100}') rss_kb=$rss" | tee -a "$out"
  port=$((port + 1))
}

results=$work/results
for r in $(seq "$rounds"); do
  for load in $loads; do
    if [ $((r % 2)) -eq 1 ]; then order="cpair tstun"; else order="tstun cpair"; fi
    for server in $order; do run_one "$server" "$load" >> "$results"; done
  done
done
cat "$results"
awk -v loads="$loads" '
  function med(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
  { name = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[name, kv[1], ++cnt[name, kv[1]]] = kv[2]
      if (kv[1] == "errors" || kv[1] == "bad" || kv[1] == "unfinished") errs[name] += kv[2] } }
  END {
    nl = split(loads, L, " ")
    for (l = 1; l <= nl; l++) {
      for (s = 0; s < 2; s++) { name = (s ? "tstun" : "cpair") "/" L[l]
        n = cnt[name, "pairs_per_s"]
        for (k = 1; k <= n; k++) { a[k] = v[name, "pairs_per_s", k]; b[k] = v[name, "p99_ms", k]; c[k] = v[name, "p50_ms", k]; d[k] = v[name, "cpu_s", k]; e[k] = v[name, "rss_kb", k] }
        pps[name] = med(a, n); p99[name] = med(b, n); p50[name] = med(c, n); cpu[name] = med(d, n); rss[name] = med(e, n)
        printf "%-21s runs=%d median pairs/s=%.0f p50_ms=%.3f p99_ms=%.3f server_cpu_s=%.2f server_rss_kb=%.0f errors+bad+unfinished=%d\n", name, n, pps[name], p50[name], p99[name], cpu[name], rss[name], errs[name] }
      printf "ratio tstun/cpair (%s): pairs/s %.3f (bar >= 0.95), p99 %.3f (bar <= 1.5)\n", L[l], pps["tstun/" L[l]] / pps["cpair/" L[l]], p99["tstun/" L[l]] / p99["cpair/" L[l]]
    }
  }' "$results"
