#!/usr/bin/env python3
"""The secure handshake's cost, with the real static binaries over loopback (issue 11).

Each trial runs one tstun and a pair of punchhole clients, a -r receiver and a -s sender that sends
one byte, in one of three modes, taken in turn so that machine noise falls on all of them alike:

  plain   --plain and a phrase: no handshake at all (the reference)
  code    a generated-style code (NUMBER-word-word-word): CPace only
  phrase  a free-form phrase: Argon2id (64 MiB, 3 passes) for the server's key, then CPace

Per trial it records, on the receiver (times from the moment the process was started):
  connect   when the "connected ..." line came: rendezvous and punch done (the phrase's
            Argon2id comes before the rendezvous, so it is in here)
  first     when the first byte reached stdout
  hs        first - connect: the handshake, from the connection to the first byte
  cpu       user + system CPU seconds of each client process (os.wait4), whole run
and prints the medians per mode and the differences against plain, which are the handshake's own
cost. Usage (after scripts/publish.sh):

  bench/handshake-cost.py [rounds]          # default 15 rounds

Take figures for docs/PERFORMANCE.md on a quiet machine only.
"""
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENT = os.path.join(ROOT, "artifacts/punchhole/punchhole")
SERVER = os.path.join(ROOT, "artifacts/tstun/tstun")
MODES = ("plain", "code", "phrase")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key_for(mode):
    n = random.randrange(100000, 1000000)
    if mode == "code":
        return [f"{n}-aban-abel-abir"]
    phrase = f"handshake cost trial {n} {random.getrandbits(32)}"
    return ["--plain", phrase] if mode == "plain" else [phrase]


def watch_lines(stream, marks, start):
    for raw in stream:
        line = raw.decode("utf-8", "replace")
        if "connected" in line and "connect" not in marks:
            marks["connect"] = time.monotonic() - start
        marks.setdefault("lines", []).append(line.rstrip())


def trial(port, mode):
    args = ["-4", "-q", "-T", "127.0.0.1", "-P", str(port)]
    key = key_for(mode)
    start = time.monotonic()
    receiver = subprocess.Popen([CLIENT, *args, "-r", *key], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sender = subprocess.Popen([CLIENT, *args, "-s", *key], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marks = {}
    readers = [threading.Thread(target=watch_lines, args=(receiver.stderr, marks, start), daemon=True),
               threading.Thread(target=watch_lines, args=(sender.stderr, {}, start), daemon=True)]
    for r in readers:
        r.start()
    sender.stdin.write(b"x")
    sender.stdin.close()
    first = receiver.stdout.read(1)
    marks["first"] = time.monotonic() - start
    receiver.stdout.read()
    cpu = []
    for p in (receiver, sender):
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu.append(usage.ru_utime + usage.ru_stime)
    for r in readers:
        r.join(5)
    if first != b"x" or receiver.returncode != 0 or sender.returncode != 0 or "connect" not in marks:
        sys.exit(f"{mode}: the trial failed (exit {receiver.returncode}/{sender.returncode}):\n" + "\n".join(marks.get("lines", [])))
    return {"connect": marks["connect"], "first": marks["first"], "hs": marks["first"] - marks["connect"],
            "cpu_r": cpu[0], "cpu_s": cpu[1]}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for b in (CLIENT, SERVER):
        if not os.access(b, os.X_OK):
            sys.exit(f"missing {b}: run scripts/publish.sh")
    port = free_port()
    server = subprocess.Popen([SERVER, "-b", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        results = {m: [] for m in MODES}
        for i in range(1, rounds + 1):
            for mode in MODES:
                r = trial(port, mode)
                results[mode].append(r)
                print(f"{mode:6} round {i:2}: connect {r['connect'] * 1000:7.1f} ms  first byte {r['first'] * 1000:7.1f} ms  "
                      f"handshake {r['hs'] * 1000:6.1f} ms  cpu r/s {r['cpu_r'] * 1000:6.0f}/{r['cpu_s'] * 1000:6.0f} ms", flush=True)
        print(f"medians over {rounds} rounds (ms):")
        med = {m: {k: statistics.median(x[k] for x in results[m]) * 1000 for k in results[m][0]} for m in MODES}
        for m in MODES:
            d = med[m]
            print(f"  {m:6} connect {d['connect']:7.1f}  first byte {d['first']:7.1f}  connection-to-first-byte {d['hs']:6.1f}  "
                  f"cpu receiver {d['cpu_r']:6.0f}  sender {d['cpu_s']:6.0f}")
        for m in ("code", "phrase"):
            print(f"  {m} - plain: connection-to-first-byte {med[m]['hs'] - med['plain']['hs']:+.1f} ms, "
                  f"start-to-first-byte {med[m]['first'] - med['plain']['first']:+.1f} ms, "
                  f"cpu per client {((med[m]['cpu_r'] + med[m]['cpu_s']) - (med['plain']['cpu_r'] + med['plain']['cpu_s'])) / 2:+.0f} ms")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
