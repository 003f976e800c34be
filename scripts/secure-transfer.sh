#!/usr/bin/env bash
# The secure channel's large-transfer checks at 1 GiB (the suite runs them at 256 MiB): the record
# layer alone and one multiplexed stream of a full session, over loopback, SHA-256 compared.
# Usage: scripts/secure-transfer.sh [MiB]   (default 1024). Prints the time and MB/s of each.
set -euo pipefail
cd "$(dirname "$0")/.."
export PUNCHHOLE_TRANSFER_MIB="${1:-1024}"
dotnet test tests/Punchhole.Tests -c Release --nologo \
  --filter "FullyQualifiedName~Secure.RecordTests.A_large_transfer|FullyQualifiedName~Secure.MuxTests.A_large_transfer" \
  --logger "console;verbosity=detailed" | grep -E "MiB in|Passed|Failed|Total"
