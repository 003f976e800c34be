#!/usr/bin/env bash
# Relay throughput: MIB MiB one way through tstun's relay on loopback, and through a direct
# loopback connection, alternately, ROUNDS times each, in the same run: the medians and the ratio
# relayed/direct (issue 12's bar: 0.5 or more), and the server's CPU seconds per GiB relayed.
# Usage: scripts/relay-throughput.sh [MIB=1024] [ROUNDS=3]
# Env: TSTUN (default artifacts/tstun/tstun, from scripts/publish.sh), TSTUN_ARGS (more options),
#      RELAY_USER (run tstun as that user, without capabilities: see scripts/lib/relay.sh),
#      NO_BUILD=1 (the bench tool is built already: nothing is built inside a measurement lock).
# The relay runs with no bandwidth ceiling (--relay-mbit 0) and a byte cap above MIB. The two
# clients are raw sockets in one process (punchhole-relaybench): no record layer, no encryption, so
# the relay's own cost is the whole difference; the tool also reports its own CPU per GiB for each
# path, which says whether the clients or the server set the pace.
# Prints the tool's rounds and result line, then one line:
#   mib=.. rounds=.. direct_mib_s=.. relayed_mib_s=.. ratio=.. server_cpu_s=.. server_cpu_s_per_gib=..
#   direct_client_cpu_s_per_gib=.. relayed_client_cpu_s_per_gib=..
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
. scripts/lib/relay.sh
mib=${1:-1024}; rounds=${2:-3}
[[ $mib =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [MIB] [ROUNDS]" >&2; exit 2; }
check_servers tstun
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
[ "${NO_BUILD:-}" = 1 ] || dotnet build load/Punchhole.RelayBench -c Release --nologo -v quiet >&2
bench=load/Punchhole.RelayBench/bin/Release/net10.0/punchhole-relaybench
relay_user_wrapper "$work"

SERVER_LOG=$work/log start_server tstun --bind 127.0.0.1 --relay --relay-mbit 0 --relay-max-mib $((mib + 1))
before=$(cpu_ticks "$server_pid")
"$bench" throughput -p "$port" --mib "$mib" --rounds "$rounds" | tee "$work/out"
after=$(cpu_ticks "$server_pid")
stop_server
result=$(sed -n 's/^result //p' "$work/out")
field() { tr ' ' '\n' <<<"$result" | sed -n "s/^$1=//p"; }
cpu=$(ticks_to_s "$before" "$after")
echo "mib=$mib rounds=$rounds direct_mib_s=$(field direct_mib_s) relayed_mib_s=$(field relayed_mib_s) ratio=$(field ratio)" \
  "server_cpu_s=$cpu server_cpu_s_per_gib=$(awk -v c="$cpu" -v m="$mib" -v r="$rounds" 'BEGIN{printf "%.3f", c / (m * r / 1024)}')" \
  "direct_client_cpu_s_per_gib=$(field direct_client_cpu_s_per_gib) relayed_client_cpu_s_per_gib=$(field relayed_client_cpu_s_per_gib)"
