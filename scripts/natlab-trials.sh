#!/usr/bin/env bash
# The NAT lab's N-trial measurement (default 20) of the published punchhole, as root.
# Per variant: punch successes out of N (for the random-port NAT: clean failures within 15 s)
# and the median time from start to connected. Prints a Markdown table; with --write, also
# puts it into docs/NAT.md between the natlab-trials markers.
# Usage (as root): scripts/natlab-trials.sh [N] [--write] [--variant NAME]...
#   variants: drop, v6, rst, rst-v6, random-port, public-peer, mixed, mixed-v6, same-nat-drop,
#             same-nat-rst, same-nat-v6, carrier-nat (default: all; the last four run secure clients,
#             carrier-nat with tstun --relay), random-port-relay (the symmetric NAT, secure clients, tstun --relay)
# Env: SKIP_PUBLISH=1 uses the binaries already in artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "natlab-trials: needs root (network namespaces, iptables)" >&2; exit 1; }
args=(trials)
for arg in "$@"; do
  case "$arg" in
    --write) args+=(--markdown docs/NAT.md) ;;
    *) args+=("$arg") ;;
  esac
done
[ "${SKIP_PUBLISH:-0}" = 1 ] || scripts/publish.sh >/dev/null
dotnet build tests/Punchhole.NatLab -c Release --nologo -v quiet >/dev/null
exec dotnet tests/Punchhole.NatLab/bin/Release/net10.0/natlab.dll "${args[@]}"
