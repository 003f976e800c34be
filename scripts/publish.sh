#!/usr/bin/env bash
# Publishes the static Native AOT binaries of tstun and punchhole for each RID given (default linux-x64):
#   linux-x64    -> artifacts/tstun/tstun and artifacts/punchhole/punchhole (the paths the tests use)
#   linux-arm64  -> artifacts/linux-arm64/tstun/tstun and artifacts/linux-arm64/punchhole/punchhole
# Usage: scripts/publish.sh [RID...]      e.g. scripts/publish.sh linux-x64 linux-arm64
# Needs lld and clang (apt-get install -y lld clang). linux-arm64 is cross-compiled on x64: clang
# --target=aarch64-linux-gnu finds Debian's cross toolchain by itself (gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross); a program that links libsodium also needs libsodium-dev:arm64 (multiarch).
set -euo pipefail
cd "$(dirname "$0")/.."
rids=("$@"); [ ${#rids[@]} -gt 0 ] || rids=(linux-x64)
for rid in "${rids[@]}"; do
  case $rid in
    linux-x64) out=artifacts ;;
    linux-arm64) out=artifacts/$rid ;;
    *) echo "publish.sh: unsupported runtime '$rid' (linux-x64 or linux-arm64)" >&2; exit 2 ;;
  esac
  for project in Punchhole.Server:tstun Punchhole.Client:punchhole; do
    dir=src/${project%%:*}; name=${project##*:}
    [ -d "$dir" ] || continue
    dotnet publish "$dir" -c Release -r "$rid" -o "$out/$name" --nologo -v quiet
    ls -l "$out/$name/$name"
  done
done
