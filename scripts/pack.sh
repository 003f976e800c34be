#!/usr/bin/env bash
# Packs the .NET tool (src/Punchhole.Tool) into artifacts/nupkg/punchhole.VERSION.nupkg:
# framework-dependent, for any OS with .NET 10. Install it from there with
#   dotnet tool install -g punchhole --add-source artifacts/nupkg
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f artifacts/nupkg/punchhole.*.nupkg
dotnet pack src/Punchhole.Tool -c Release -o artifacts/nupkg --nologo -v quiet
ls -l artifacts/nupkg/punchhole.*.nupkg
