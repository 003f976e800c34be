#!/usr/bin/env bash
# tstun --redis on loopback, for docs/SCALING.md and docs/PERFORMANCE.md (run on a quiet machine):
#   1. latency of pairs whose two clients reach one instance against pairs that straddle two
#      instances sharing a Redis, in the same run, alternated (ABBA) over ROUNDS rounds;
#   2. pairs/s of one tstun alone against two instances + Redis (every pair straddling them),
#      with the CPU seconds of each process;
#   3. memory per waiting client with --redis: tstun's RSS growth and Redis's used_memory growth
#      while HOLD clients wait on one instance (their partners then arrive on the other).
# Usage: scripts/cluster-bench.sh [PAIRS=20000] [HOLD=9000] [ROUNDS=3]
# Env: TSTUN (default artifacts/tstun/tstun), PHLOAD (a built punchhole-load), REDIS_SERVER
#      (default redis-server), CONCURRENCY (default 64).
# Prints the load tool's result lines, then one summary line per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
pairs=${1:-20000}; hold=${2:-9000}; rounds=${3:-3}
concurrency=${CONCURRENCY:-64}
tstun=${TSTUN:-artifacts/tstun/tstun}
[ -x "$tstun" ] || { echo "no tstun binary at $tstun (run scripts/publish.sh)" >&2; exit 1; }
command -v "${REDIS_SERVER:-redis-server}" >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
phload_built
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

redis_port=$port; next_port
"${REDIS_SERVER:-redis-server}" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null 2>&1 &
redis_pid=$!
wait_port "$redis_port" || { echo "redis-server did not listen on $redis_port" >&2; exit 1; }

# start NAME [OPTION...]: a tstun on the next port; sets NAME_pid and NAME_port.
start() {
  local name=$1; shift
  "$tstun" --port "$port" --bind 127.0.0.1 --stats-interval 0 "$@" >/dev/null 2>"$work/$name.log" &
  printf -v "${name}_pid" %s $!
  printf -v "${name}_port" %s "$port"
  wait_port "$port" || { echo "tstun $name did not listen on $port" >&2; exit 1; }
  if [ $# -gt 0 ]; then
    for _ in $(seq 100); do grep -q 'redis: instance' "$work/$name.log" && break; sleep 0.05; done
    grep -q 'redis: instance' "$work/$name.log" || { echo "tstun $name did not reach Redis" >&2; exit 1; }
  fi
  next_port
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
redis_memory() { redis-cli -p "$redis_port" info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }

start a --redis "127.0.0.1:$redis_port"
start b --redis "127.0.0.1:$redis_port"
start solo

# 1. Latency: same instance (both clients on a) against across instances (a and b), ABBA.
for round in $(seq "$rounds"); do
  for kind in $(in_order "$round" same cross); do
    partner=$a_port; [ "$kind" = cross ] && partner=$b_port
    line=$("$PHLOAD" constant -p "$a_port" --partner-port "$partner" -c "$concurrency" -n "$pairs" -S 4 | sed -n 's/^result //p')
    echo "latency round=$round kind=$kind ok=$(field "$line" ok) errors=$(field "$line" errors)" \
      "pairs_per_s=$(field "$line" pairs_per_s) p50_ms=$(field "$line" p50_ms) p99_ms=$(field "$line" p99_ms)"
  done
done

# 2. Throughput with CPU per process: one instance alone, then two instances + Redis (all pairs across).
t_solo=$(cpu_ticks "$solo_pid")
line=$("$PHLOAD" constant -p "$solo_port" -c "$concurrency" -n "$pairs" -S 4 | sed -n 's/^result //p')
echo "throughput setup=one_instance pairs_per_s=$(field "$line" pairs_per_s) errors=$(field "$line" errors)" \
  "tstun_cpu_s=$(ticks_to_s "$t_solo" "$(cpu_ticks "$solo_pid")") client_cpu_s=$(field "$line" client_cpu_s)"
t_a=$(cpu_ticks "$a_pid"); t_b=$(cpu_ticks "$b_pid"); t_r=$(cpu_ticks "$redis_pid")
line=$("$PHLOAD" constant -p "$a_port" --partner-port "$b_port" -c "$concurrency" -n "$pairs" -S 4 | sed -n 's/^result //p')
echo "throughput setup=two_instances_redis pairs_per_s=$(field "$line" pairs_per_s) errors=$(field "$line" errors)" \
  "tstun_a_cpu_s=$(ticks_to_s "$t_a" "$(cpu_ticks "$a_pid")") tstun_b_cpu_s=$(ticks_to_s "$t_b" "$(cpu_ticks "$b_pid")")" \
  "redis_cpu_s=$(ticks_to_s "$t_r" "$(cpu_ticks "$redis_pid")") client_cpu_s=$(field "$line" client_cpu_s)"

# 3. Memory per waiting client with --redis: HOLD first halves wait on a (registered in Redis).
sleep 1
redis_before=$(redis_memory)
"$PHLOAD" hold -p "$a_port" --partner-port "$b_port" -H "$hold" -S 4 --server-pid "$a_pid" --settle-ms 1000 > "$work/hold" &
hold_pid=$!
# Read Redis's memory while the clients wait: after the first halves are in, before the partners.
for _ in $(seq 600); do
  [ "$(redis-cli -p "$redis_port" dbsize | tr -d '\r')" -ge "$hold" ] && break
  sleep 0.05
done
redis_during=$(redis_memory)
wait "$hold_pid" || true
line=$(sed -n 's/^result //p' "$work/hold")
echo "memory hold=$hold ok=$(field "$line" ok) errors=$(field "$line" errors)" \
  "tstun_growth_bytes_per_waiting_client=$(field "$line" rss_growth_bytes_per_waiting_client)" \
  "redis_growth_bytes_per_waiting_client=$(( (redis_during - redis_before) / hold ))"
