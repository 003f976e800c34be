#!/usr/bin/env bash
# The whole comparison of tstun with the C reference servers, in one run, with both load tools
# (the C pairload and our punchhole-load). Results go to stdout and, in full, to OUT_DIR.
# Usage: scripts/compare.sh [ROUNDS=5] [HOLD_ROUNDS=3] [HOLD=9000]
#   1. throughput and latency: -c 64 -n 20000 -S 4, ROUNDS rounds, servers alternating (compare-cpair.sh);
#   2. hold: HOLD clients waiting at once on a fresh server, RSS growth per waiting client (hold-rss.sh);
#   3. managed bytes tstun allocates per pairing in steady state (alloc-per-pairing.sh);
#   4. punchhole-load ramp (the rate where p99 passes 50 ms) and churn, once against each server.
# The references: our own bench/reference/tstun-ref.c always, the shared cpair when its source
# is found, and tstun-base when TSTUN_BASE is set; pairload only when its source is found (see
# scripts/lib/servers.sh).
# Publishes artifacts/tstun/tstun first if it is missing (scripts/publish.sh needs lld and clang).
# Env: OUT_DIR (default: a new temporary folder, printed at the end), SHARED_TOOLS (default ../shared/tools).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
rounds=${1:-5}; hold_rounds=${2:-3}; hold=${3:-9000}
out=${OUT_DIR:-$(mktemp -d /tmp/punchhole-compare.XXXXXX)}
mkdir -p "$out"
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT

[ -x artifacts/tstun/tstun ] || scripts/publish.sh
reference_tools "$bin"
use_loads "pairload punchhole-load"
# Part 4 is punchhole-load's own scenarios, whatever the loads.
phload_built
servers="$(reference_servers) tstun"

{
  echo "== machine"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
  echo "nproc: $(nproc)  kernel: $(uname -r)  memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)  os: $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "dotnet runtime: $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ {v=$2} END {print v}')  tstun: $(ls -l artifacts/tstun/tstun | awk '{print $5}') bytes"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

echo
echo "== 1. throughput and latency: -c 64 -n 20000 -S 4, $rounds rounds, $servers alternating"
OUT=$out/throughput.txt LOADS="$loads" scripts/compare-cpair.sh "$rounds" | tee "$out/throughput-summary.txt" | grep -E 'runs=|^ratio'

echo
echo "== 2. hold: $hold clients waiting at once, fresh (cold) server, $hold_rounds rounds, alternating"
: > "$out/hold.txt"
for r in $(seq "$hold_rounds"); do
  for load in $loads; do
    # shellcheck disable=SC2086 # a list of names
    for server in $(in_order "$r" $servers); do
      SERVER=$server LOAD=$load scripts/hold-rss.sh "$hold" cold > "$out/hold-$r-$server-$load.txt" 2>&1 || true
      tail -1 "$out/hold-$r-$server-$load.txt" | tee -a "$out/hold.txt"
    done
  done
done
awk -v loads="$loads" -v servers="$servers" -v references="$(reference_servers)" "$AWK_MEDIAN"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    name = f["server"] "/" f["load"]; n = ++cnt[name]; g[name, n] = f["growth_bytes_per_waiting_client"]
    ok[name] += f["ok"]; err[name] += f["errors"] }
  END { nl = split(loads, L, " "); ns = split(servers, S, " "); nr = split(references, R, " ")
        for (l = 1; l <= nl; l++) { load = L[l]
          for (s = 1; s <= ns; s++) { name = S[s] "/" load
            for (k = 1; k <= cnt[name]; k++) a[k] = g[name, k]; m[name] = med(a, cnt[name])
            printf "%-26s runs=%d median rss_growth_bytes_per_waiting_client=%.0f paired=%d errors=%d\n", name, cnt[name], m[name], ok[name], err[name] }
          for (r = 1; r <= nr; r++) if (m[R[r] "/" load] > 0)
            printf "ratio tstun/%s (%s): rss growth per waiting client %.3f; tstun %s 1.5 KB per waiting client (bar)\n", R[r], load, m["tstun/" load] / m[R[r] "/" load], m["tstun/" load] <= 1536 ? "<=" : ">" } }
' "$out/hold.txt" | tee "$out/hold-summary.txt"

echo
echo "== 3. managed allocations per pairing in tstun (steady state, 50000 pairings after 20000 to warm up)"
scripts/alloc-per-pairing.sh 50000 > "$out/alloc.txt" 2>&1
tail -1 "$out/alloc.txt"

echo
echo "== 4. punchhole-load ramp and churn, once against each server"
# ramp: pairings started at 1000/s, +1000/s every 3 s, until p99 passes 50 ms (open loop; on a
# shared 2-core box, stalls of 10-30 ms from other processes make a lower threshold measure noise).
# churn: a fifth of the keys have no partner; tstun runs with --timeout 2 and must close them
# with no reply; the C references have no timeout, so there they wait out --lonely-wait and count
# as timeouts.
with_server() { # server scenario [punchhole-load options...]
  local server=$1 scenario=$2; shift 2
  start_server "$server" --timeout 2
  "$PHLOAD" "$scenario" -p "$port" -S 4 --server-pid "$server_pid" "$@" --out "$out/$scenario.md" > "$out/$scenario-$server.txt" || true
  stop_server
  next_port
  echo "$server $(sed -n 's/^result //p' "$out/$scenario-$server.txt")"
}
for server in $servers; do
  with_server "$server" ramp --start-rate 1000 --step-rate 1000 --max-rate 12000 --step-seconds 3 --p99-ms 50 --max-in-flight 4000
done | tee "$out/ramp-summary.txt"
for server in $servers; do
  with_server "$server" churn -c 64 -n 20000 --unpaired-share 0.2 --lonely-wait 5 --max-lonely 4000
done | tee "$out/churn-summary.txt"

echo
echo "== context, not measured by us"
echo "The original punchhole 0.0.2 server (Python, a process forked per connection, a FIFO per key) cannot"
echo "run here (no PyPI). Its published design and the issue's figure put it at about 6 pairings/s on this machine."
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "full output in $out"
