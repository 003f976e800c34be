#!/usr/bin/env bash
# The issue's full-size robustness measurements, recorded in docs/ROBUSTNESS.md: the heavy tests
# at full size (PUNCHHOLE_FULL_SIZE=1) against the static binary, printing their figures.
# Usage: scripts/robustness.sh [FILTER]     FILTER picks tests by name (default: every Robustness test)
#   e.g. scripts/robustness.sh SlowClientTests
#        PUNCHHOLE_EMFILE_NOFILE=0 scripts/robustness.sh DescriptorExhaustionTests.Out_of   (no shortage)
# Env: NO_PUBLISH=1 keeps artifacts/tstun/tstun as it is; TSTUN_BINARY picks another server binary.
# Heavy: up to ~35,000 sockets and both cores for a minute or two; run it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_PUBLISH:-}" ] || scripts/publish.sh
export PUNCHHOLE_FULL_SIZE=1 TSTUN_BINARY=${TSTUN_BINARY:-artifacts/tstun/tstun}
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cores; server $TSTUN_BINARY; filter ${1:-Robustness}"
dotnet test tests/Punchhole.Tests -c Release --nologo --filter "FullyQualifiedName~${1:-Robustness}" \
  --logger "console;verbosity=detailed" 2>&1 | grep -vE '^\s*$|^\[xUnit.net|Stack Trace|^\s+at ' || true
