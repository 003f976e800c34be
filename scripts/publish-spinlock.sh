#!/usr/bin/env bash
# Publishes a second tstun, for comparisons only: the same server with the previous per-bucket
# spin-lock pairing table (bench/Punchhole.Benchmarks/Reference/SpinLockPairingTable.cs) in place of
# the lock-free one. Output: artifacts/tstun-spinlock/tstun. Its own obj/ and bin/ folders, so the
# normal build (scripts/publish.sh, the tests) never picks up its objects.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/Punchhole.Server -c Release -r linux-x64 -o artifacts/tstun-spinlock --nologo -v quiet \
  -p:PairingTable=SpinLock -p:IntermediateOutputPath=obj/spinlock/ -p:OutputPath=bin/spinlock/
ls -l artifacts/tstun-spinlock/tstun
