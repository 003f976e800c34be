#!/usr/bin/env bash
# The test command: publishes the static binaries (x64 and arm64), packs the .NET tool, builds
# the .deb packages, runs every test, prints "N passed, N failed".
# Run as root so the chroot, dpkg and network-namespace (NAT lab) tests run instead of skipping.
set -uo pipefail
cd "$(dirname "$0")/.."
for step in "publish.sh linux-x64 linux-arm64" pack.sh package-deb.sh; do
  # shellcheck disable=SC2086
  scripts/$step || { echo "scripts/$step failed"; echo "0 passed, 1 failed"; exit 1; }
done
results=$(mktemp -d)
timeout 75m dotnet test Punchhole.sln -c Release --nologo \
  --logger "trx;LogFilePrefix=run" --logger "console;verbosity=normal" \
  --results-directory "$results" --blame-hang-timeout 5m
status=$?
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
# A run that died before writing results must not read as green.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -rf "$results"
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
