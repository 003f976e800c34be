#!/usr/bin/env bash
# Times 1 GiB through punchhole over loopback: secure (the default: AES-256-GCM where both CPUs
# have AES-NI) and secure kept on ChaCha20-Poly1305 (PUNCHHOLE_NO_AESGCM=1) against --plain,
# alternating in one run, with socat's plain copy beside them as a reference. Each trial starts a -s sender
# reading a file in /dev/shm and a -r receiver writing to /dev/null, through one tstun, and times
# the pair from start to both exits (rendezvous and handshake included: milliseconds here). The
# last trial of each mode writes to a file and compares SHA-256 sums.
# Usage: scripts/secure-transfer.sh [MiB] [rounds]   (default 1024 MiB, 5 rounds)
# Needs the static binaries (scripts/publish.sh) and socat. Prints one line per trial, then the
# medians and the secure/plain and chacha/plain ratios. The bar (issue 11): secure >= 0.5x plain.
# The record layer alone and one mux stream, without processes: PUNCHHOLE_TRANSFER_MIB=1024
# dotnet test tests/Punchhole.Tests -c Release --filter 'FullyQualifiedName~A_large_transfer'.
set -euo pipefail
cd "$(dirname "$0")/.."
mib="${1:-1024}"; rounds="${2:-5}"
client=artifacts/punchhole/punchhole; server=artifacts/tstun/tstun
for b in "$client" "$server"; do [ -x "$b" ] || { echo "missing $b: run scripts/publish.sh" >&2; exit 2; }; done
command -v socat >/dev/null || { echo "socat is needed for the reference figure (apt-get install socat)" >&2; exit 2; }

work=$(mktemp -d /dev/shm/secure-transfer.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
head -c "$((mib * 1024 * 1024))" /dev/urandom > "$work/input"
want=$(sha256sum < "$work/input" | cut -d' ' -f1)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$server" -b 127.0.0.1 -p "$port" >/dev/null 2>&1 &
server_pid=$!
sleep 0.5

now() { date +%s.%N; }
# One punchhole pair; $1 = plain|secure, $2 = output file. Prints the seconds taken.
pair() {
  local mode=$1 out=$2 key flags=() aes=
  if [ "$mode" = plain ]; then key="transfer-$RANDOM-$RANDOM"; flags=(--plain)
  else key="$((100000 + RANDOM % 900000))-aban-abel-abir"; fi
  [ "$mode" = chacha ] && aes=1
  local start; start=$(now)
  PUNCHHOLE_NO_AESGCM=$aes "$client" -4qT 127.0.0.1 -P "$port" "${flags[@]}" -r "$key" > "$out" 2>"$work/r.err" &
  local r=$!
  PUNCHHOLE_NO_AESGCM=$aes "$client" -4qT 127.0.0.1 -P "$port" "${flags[@]}" -s "$key" < "$work/input" 2>"$work/s.err" || { cat "$work/s.err" >&2; return 1; }
  wait "$r" || { cat "$work/r.err" >&2; return 1; }
  awk -v a="$(now)" -v b="$start" 'BEGIN {print a - b}'
}
socat_copy() {
  local p; p=$(free_port)
  local start; start=$(now)
  socat -u "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" - > /dev/null &
  local r=$!
  until socat -u - "TCP:127.0.0.1:$p" < "$work/input" 2>/dev/null; do sleep 0.01; done
  wait "$r"
  awk -v a="$(now)" -v b="$start" 'BEGIN {print a - b}'
}

declare -A times
for ((i = 1; i <= rounds; i++)); do
  for mode in plain secure chacha socat; do
    out=/dev/null
    [ "$i" = "$rounds" ] && [ "$mode" != socat ] && out="$work/output"
    if [ "$mode" = socat ]; then t=$(socat_copy); else t=$(pair "$mode" "$out"); fi
    if [ "$out" != /dev/null ]; then
      got=$(sha256sum < "$out" | cut -d' ' -f1); rm -f "$out"
      [ "$got" = "$want" ] || { echo "$mode: the output differs from the input" >&2; exit 1; }
    fi
    printf '%-6s round %d: %6.2f s  %7.0f MB/s\n' "$mode" "$i" "$t" "$(awk -v m="$mib" -v t="$t" 'BEGIN {print m * 1048576 / t / 1e6}')"
    times[$mode]+="$t "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
plain=$(echo "${times[plain]}" | median); secure=$(echo "${times[secure]}" | median)
chacha=$(echo "${times[chacha]}" | median); socat=$(echo "${times[socat]}" | median)
echo "medians for $mib MiB over $rounds rounds: plain $plain s, secure $secure s, secure on ChaCha20-Poly1305 $chacha s, socat $socat s"
echo "secure/plain throughput: $(awk -v p="$plain" -v s="$secure" 'BEGIN {printf "%.2f", p / s}')x (bar: >= 0.5x)"
echo "chacha/plain throughput: $(awk -v p="$plain" -v s="$chacha" 'BEGIN {printf "%.2f", p / s}')x"
