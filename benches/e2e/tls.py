#!/usr/bin/env python3
"""Whole-pipeline cost of STARTTLS: ringwall with and without it, side by side.

ringwall runs pinned to CPU 0 with a self-signed ECDSA certificate (made with
the openssl command line in a temporary directory); `ringwall-loadgen send`
and `ringwall-loadgen sink` run pinned to CPU 1. For each shape, plaintext and
STARTTLS runs alternate REPEAT times; the table gives medians (min-max) of
msgs/s and of messages per CPU-second of ringwall, and the TLS/plain ratio.

Shapes: 1 KiB with 1 message per session (a handshake for every message, the
worst case) and with 10 per session, 32 sessions, PIPELINING on.

Usage: benches/e2e/tls.py [--duration SECONDS] [--repeat N] [--no-readme]
Writes its table between the tls markers of benches/README.md unless told not
to. Loopback only; everything it starts is stopped when it ends.
"""

import datetime
import json
import os
import subprocess
import sys
import platform
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from run import arguments, install, output, spread, write_readme  # noqa: E402

BEGIN, END = "<!-- tls:begin -->", "<!-- tls:end -->"
SHAPES = ((1024, 1), (1024, 10))


def certificate(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=bench.ringwall.test"],
                   check=True, capture_output=True)
    return f'[tls]\ncertificate = "{cert}"\nprivate_key = "{key}"\n'


def run(work, target, size, per_session, duration, tls):
    result = os.path.join(work, "send.json")
    argv = ["taskset", "-c", "1", peers.LOADGEN, "send", "--no-pin", "--no-progress", "--shards", "1",
            "--sessions", "32", "--messages-per-session", str(per_session), "--size", str(size),
            "--duration", f"{duration}s", "--warmup", "1s", "--json", result]
    if tls:
        argv += ["--starttls", "--insecure"]
    cpu0 = target.cpu()
    subprocess.run(argv + [f"127.0.0.1:{target.port}"], check=True, stdout=subprocess.DEVNULL)
    cpu = target.cpu() - cpu0
    with open(result) as f:
        data = json.load(f)
    counts = data["counts"]
    if counts["accepted"] == 0 or counts["errors"] or counts["tempfailed"] or counts["rejected"]:
        raise RuntimeError(f"unexpected outcome {counts}")
    return data["rate"], len(data["accepted_message_ids"]) / max(cpu, 1e-9)


def main():
    args = arguments(__doc__)
    install()
    work = tempfile.mkdtemp(prefix="ringwall-tls-")
    sink = peers.start_loadgen_sink(cpu=1)
    ringwall = peers.start_ringwall(work, 0, sink.port, extra=certificate(work))
    lines = [f"{datetime.date.today()}, ringwall {output('git', '-C', peers.ROOT, 'describe', '--always', '--dirty')}, "
             f"{output('rustc', '--version')}, {output('openssl', 'version')}, Linux {platform.release()}; "
             f"{args.duration} s per run after a 1 s warm-up, {args.repeat} interleaved repetitions.",
             "",
             "| shape | plaintext msgs/s | STARTTLS msgs/s | ratio | plaintext msgs/CPU-s | STARTTLS msgs/CPU-s | ratio |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    try:
        for size, per_session in SHAPES:
            runs = {False: [], True: []}
            for _ in range(args.repeat):
                for tls in (False, True):
                    runs[tls].append(run(work, ringwall, size, per_session, args.duration, tls))
            plain_rate, plain_rate_text = spread([r[0] for r in runs[False]])
            tls_rate, tls_rate_text = spread([r[0] for r in runs[True]])
            plain_cpu, plain_cpu_text = spread([r[1] for r in runs[False]])
            tls_cpu, tls_cpu_text = spread([r[1] for r in runs[True]])
            lines.append(f"| {size // 1024} KiB, {per_session}/session | {plain_rate_text} | {tls_rate_text} | "
                         f"{tls_rate / plain_rate:.2f} | {plain_cpu_text} | {tls_cpu_text} | {tls_cpu / plain_cpu:.2f} |")
            print(lines[-1], flush=True)
    finally:
        ringwall.stop()
        sink.stop()
    if not args.no_readme:
        write_readme(lines, BEGIN, END)

if __name__ == "__main__":
    main()
