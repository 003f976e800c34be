#!/usr/bin/env bash
# Publishes the static Native AOT binaries: artifacts/tstun/tstun and artifacts/punchhole/punchhole.
# Needs lld and clang (apt-get install -y lld clang).
set -euo pipefail
cd "$(dirname "$0")/.."
for project in Punchhole.Server:tstun Punchhole.Client:punchhole; do
  dir=src/${project%%:*}; name=${project##*:}
  [ -d "$dir" ] || continue
  dotnet publish "$dir" -c Release -r linux-x64 -o "artifacts/$name" --nologo -v quiet
  ls -l "artifacts/$name/$name"
done
