#!/usr/bin/env bash
# Server memory per idle relayed session: SESSIONS relayed sessions joined through tstun's relay on
# loopback and left idle; the growth of the server's RSS per session, and the descriptors each
# holds (two legs and two splice pipes: 6). Kernel memory for sockets and pipes is not in RSS; an
# empty pipe holds no data pages.
# Usage: scripts/relay-idle-rss.sh [SESSIONS=1000]
# Env: TSTUN (default artifacts/tstun/tstun, from scripts/publish.sh), TSTUN_ARGS (more options),
#      RELAY_USER (run tstun as that user, without capabilities, so that the kernel's per-user pipe
#      budget applies: scripts/lib/relay.sh), BUSY_MIB (then, with the idle sessions held, that many
#      MiB through one more relayed session and directly: does a busy session still get a large pipe?).
# Prints the tool's result line, then one line:
#   sessions=.. rss_before_kb=.. rss_after_kb=.. rss_bytes_per_session=.. fds_per_session=..
#   [busy_mib=.. busy_direct_mib_s=.. busy_relayed_mib_s=.. busy_ratio=..]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/servers.sh
. scripts/lib/relay.sh
sessions=${1:-1000}; busy=${BUSY_MIB:-0}
[[ $sessions =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SESSIONS]" >&2; exit 2; }
[[ $busy =~ ^[0-9]+$ ]] || { echo "BUSY_MIB must be a number of MiB" >&2; exit 2; }
check_servers tstun
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet build load/Punchhole.RelayBench -c Release --nologo -v quiet >&2
bench=load/Punchhole.RelayBench/bin/Release/net10.0/punchhole-relaybench
relay_user_wrapper "$work"

# Caps out of the way: every leg comes from a few loopback addresses, and the sessions must all fit.
SERVER_LOG=$work/log start_server tstun --bind 127.0.0.1 --relay --relay-max $((sessions + 1000)) \
  --relay-max-per-ip $((2 * sessions + 1000)) --relay-max-time 3600 --relay-mbit 0 --relay-max-mib $((busy + 1))
"$bench" idle -p "$port" --sessions "$sessions" --server-pid "$server_pid" --busy-mib "$busy" | tee "$work/out"
stop_server
result=$(sed -n 's/^result //p' "$work/out")
field() { tr ' ' '\n' <<<"$result" | sed -n "s/^$1=//p"; }
line="sessions=$sessions rss_before_kb=$(field rss_before_kb) rss_after_kb=$(field rss_after_kb)"
line+=" rss_bytes_per_session=$(field rss_bytes_per_session) fds_per_session=$(field fds_per_session)"
if [ "$busy" -gt 0 ]; then
  line+=" busy_mib=$busy busy_direct_mib_s=$(field busy_direct_mib_s) busy_relayed_mib_s=$(field busy_relayed_mib_s) busy_ratio=$(field busy_ratio)"
fi
echo "$line"
