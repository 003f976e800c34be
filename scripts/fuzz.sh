#!/usr/bin/env bash
# Fuzzes one parser with AFL++ through SharpFuzz, bounded in time.
# Usage: scripts/fuzz.sh TARGET [SECONDS=600]      (scripts/fuzz.sh --list names the targets)
#   TARGET: peer-reply | ip-address | server-cmdline | client-cmdline | proxy-header
# Needs afl++ (apt-get install -y afl++) and the .NET SDK; installs SharpFuzz.CommandLine 2.3.0
# into artifacts/fuzz/tools. Builds an instrumented copy of the harness in artifacts/fuzz/bin
# (never the build the tests use), seeds from fuzz/corpus/TARGET, writes findings to
# artifacts/fuzz/findings/TARGET and prints the run's figures. Exit 1 if it saved a crash or hang.
# Env: FUZZ_OUT (default artifacts/fuzz), AFL_ARGS (extra afl-fuzz options), FUZZ_NO_BUILD=1 (reuse the
# instrumented build of the previous run).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}
seconds=${2:-600}
out=${FUZZ_OUT:-$PWD/artifacts/fuzz}
bin=$out/bin; tools=$out/tools
mkdir -p "$out"

if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi
# FUZZ_NO_BUILD=1 reuses the instrumented copy of an earlier run (to fuzz several targets in a row).
if [ -z "${FUZZ_NO_BUILD:-}" ] || [ ! -f "$bin/.instrumented" ]; then
  rm -rf "$bin"
  dotnet publish fuzz/Punchhole.Fuzz -c Release -o "$bin" --nologo -v quiet -p:PublishAot=false >/dev/null
  # Instrument only the project's own parser assemblies, in place in the private copy.
  for dll in Punchhole.Protocol.dll Punchhole.Secure.dll tstun.dll punchhole.dll; do
    if [ -f "$bin/$dll" ]; then "$tools/sharpfuzz" "$bin/$dll" >/dev/null; fi
  done
  touch "$bin/.instrumented"
fi
if [ "$target" = --list ]; then dotnet "$bin/Punchhole.Fuzz.dll" 2>&1 | sed 's/.*targets: //'; exit 0; fi
[ -d "fuzz/corpus/$target" ] || { echo "no corpus fuzz/corpus/$target" >&2; exit 2; }

findings=$out/findings/$target
rm -rf "$findings"; mkdir -p "$out/findings"
dict=(); [ -f "fuzz/dict/$target.dict" ] && dict=(-x "fuzz/dict/$target.dict")
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_NO_AFFINITY=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_TieredPGO=0
# -V stops afl-fuzz itself after SECONDS; timeout is the backstop. -t: ms per input (the JIT warms up on the first).
timeout --kill-after=30 $((seconds + 120)) afl-fuzz -V "$seconds" -t 5000 -m none -i "fuzz/corpus/$target" -o "$findings" \
  "${dict[@]}" ${AFL_ARGS:-} -- dotnet "$bin/Punchhole.Fuzz.dll" "$target" > "$out/$target.log" 2>&1 || true

stats=$findings/default/fuzzer_stats
[ -f "$stats" ] || { tail -40 "$out/$target.log" >&2; echo "afl-fuzz did not run" >&2; exit 2; }
field() { awk -v k="$1" '$1 == k { print $3 }' "$stats"; }
crashes=$(field saved_crashes); hangs=$(field saved_hangs)
echo "target=$target run_time_s=$(field run_time) execs=$(field execs_done) execs_per_s=$(field execs_per_sec)" \
  "paths=$(field corpus_count) edges=$(field edges_found)/$(field total_edges) crashes=$crashes hangs=$hangs"
for f in "$findings"/default/crashes/id:* "$findings"/default/hangs/id:*; do
  [ -f "$f" ] && echo "  saved: $f"
done
[ "${crashes:-0}" -eq 0 ] && [ "${hangs:-0}" -eq 0 ]
