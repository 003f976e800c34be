#!/usr/bin/env bash
# Open loop with the independent C generator: pairings started at a set rate, in steps up to
# saturation, each server fresh for each step.
# Usage: scripts/ramp-pairload.sh [ROUNDS] [RATE...]
#   default: 3 rounds of 2000 4000 6000 8000 9000 10000 11000 12000 pairings started per second
# For each rate and round, each of SERVERS gets `pairload -r RATE` for STEP_SECONDS (default 3) on
# a fresh process, one server at a time, in ABBA order. Latency counts from when each pairing was
# due, so a server that falls behind shows it. Per rate and server: the medians of p50 and p99,
# pairs/s reached, the server's CPU and the load tool's own CPU; a server "sustains" a rate when
# every pairing of every round succeeded and it reached 95 % of the rate. Last, per rate, the
# ratio of each server's median p99 to each reference's where both sustained.
# Env: SERVERS  default: the references (tstun-ref; cpair when its source is found; tstun-base when
#               TSTUN_BASE is set), then tstun; also tstun-spinlock, and NAME:N for --io-threads N
#               (scripts/lib/servers.sh)
#      LOAD     pairload (default; punchhole-load stands in, with a note, when pairload.c is not
#               found) or punchhole-load (its ramp scenario, one step per run), to see what the
#               load tool itself costs
#      STEP_SECONDS, LOAD_ARGS (default: -c 4000 -S 4 -t 10 for pairload, -S 4 for punchhole-load)
#      TSTUN, TSTUN_SPINLOCK, TSTUN_BASE, TSTUN_ARGS, SHARED_TOOLS, PAIRLOAD, CPAIR, PHLOAD: see
#               scripts/lib/servers.sh
#      OUT      file for the raw lines
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
rounds=${1:-3}; shift || true
rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(2000 4000 6000 8000 9000 10000 11000 12000)
step=${STEP_SECONDS:-3}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
reference_tools "$work"
servers=${SERVERS:-$(reference_servers) tstun}
# shellcheck disable=SC2086 # a list of names
check_servers $servers
use_loads "${LOAD:-pairload}"
load=$loads
case $load in
  pairload) read -r -a load_args <<<"${LOAD_ARGS:--c 4000 -S 4 -t 10}" ;;
  punchhole-load) read -r -a load_args <<<"${LOAD_ARGS:--S 4}" ;;
  *) echo "LOAD must be one of pairload or punchhole-load" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086 # a list of names
references=$(references_among $servers)
out=${OUT:-/dev/null}
: > "$out"

run_one() { # server rate
  local server=$1 rate=$2 timed=()
  # The load tool's own CPU, when GNU time is there (apt: time).
  : > "$work/time"
  [ ! -x /usr/bin/time ] || timed=(/usr/bin/time -f "load_cpu_s=%U+%S" -o "$work/time")
  case $load in
    pairload) measure "$server" "${timed[@]}" "$PAIRLOAD" -p "$port" -r "$rate" -n $((rate * step)) "${load_args[@]}" ;;
    punchhole-load) measure "$server" "${timed[@]}" "$PHLOAD" ramp -p "$port" --start-rate "$rate" --step-rate 1 --max-rate "$rate" \
                      --step-seconds "$step" --p99-ms 600000 "${load_args[@]}"
                    line=$(sed -n 's/^result //p' <<<"$line") ;;
  esac
  local load_cpu; load_cpu=$(awk -F= '/^load_cpu_s=/ { split($2, t, "+"); printf "%.2f", t[1] + t[2] }' "$work/time")
  echo "$server rate=$rate $line server_cpu_s=$server_cpu load_cpu_s=${load_cpu:-0}" | tee -a "$out"
}

results=$work/results
echo "# $load, $step s per step, servers: $servers; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rate in "${rates[@]}"; do
  for r in $(seq "$rounds"); do
    # shellcheck disable=SC2086
    for server in $(in_order "$r" $servers); do run_one "$server" "$rate" >> "$results"; done
  done
done
cat "$results"
awk -v servers="$servers" -v references="$references" "$AWK_MEDIAN"'
  { name = $1; rate = 0; ok = 1
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    rate = f["rate"]; if (!(rate in seen)) { seen[rate] = 1; R[++nr] = rate }
    k = ++cnt[name, rate]
    p50[name, rate, k] = f["p50_ms"]; p99[name, rate, k] = f["p99_ms"]; pps[name, rate, k] = f["pairs_per_s"]
    scpu[name, rate, k] = f["server_cpu_s"]; lcpu[name, rate, k] = f["load_cpu_s"]
    if (f["errors"] + f["bad"] + f["unfinished"] > 0 || f["ok"] != f["pairs"] || f["pairs"] == "") bad[name, rate] = 1
    delete f }
  END {
    ns = split(servers, S, " ")
    printf "%-22s %7s %5s %9s %9s %9s %10s %11s %9s\n", "server", "rate", "runs", "p50_ms", "p99_ms", "pairs/s", "srv_cpu_s", "load_cpu_s", "sustains"
    for (i = 1; i <= nr; i++) { rate = R[i]
      for (s = 1; s <= ns; s++) { name = S[s]; n = cnt[name, rate]
        for (k = 1; k <= n; k++) { a[k] = p50[name, rate, k]; b[k] = p99[name, rate, k]; c[k] = pps[name, rate, k]; d[k] = scpu[name, rate, k]; e[k] = lcpu[name, rate, k] }
        m50[name, rate] = med(a, n); m99[name, rate] = med(b, n); mp = med(c, n)
        sus[name, rate] = (n > 0 && !bad[name, rate] && mp >= 0.95 * rate) ? "yes" : "no"
        printf "%-22s %7d %5d %9.3f %9.3f %9.0f %10.2f %11.2f %9s\n", name, rate, n, m50[name, rate], m99[name, rate], mp, med(d, n), med(e, n), sus[name, rate] } }
    nf = split(references, F, " ")
    for (i = 1; i <= nr; i++) { rate = R[i]
      for (q = 1; q <= nf; q++) { ref = F[q]
        for (s = 1; s <= ns; s++) { name = S[s]
          if (name == ref || index(" " references " ", " " name " ")) continue
          if (sus[name, rate] == "yes" && sus[ref, rate] == "yes" && m99[ref, rate] > 0)
            printf "ratio %s/%s p99 at %d/s: %.3f (bar <= 1.0)\n", name, ref, rate, m99[name, rate] / m99[ref, rate]
          else
            printf "ratio %s/%s p99 at %d/s: not compared (sustained: %s %s, %s %s)\n", name, ref, rate, name, sus[name, rate], ref, sus[ref, rate] } } }
  }' "$results"
