#!/usr/bin/env python3
"""Whole-pipeline throughput of the proxy with Postfix's own tools, side by side.

Postfix's smtp-source (the client) and smtp-sink (the upstream) run pinned to
CPU 1; each system under test runs pinned to CPU 0 with one shard/process:

  direct   smtp-source straight to smtp-sink: the ceiling of this setup
  ringwall the proxy (release build, default limits, XFORWARD on, transaction
           log at info level written to /dev/null)
  nopool   the same proxy with `pool_idle = 0`: what the upstream pool buys
  floor    examples/floor_relay: a glommio byte relay with no SMTP logic
  postfix  Postfix as a before-queue proxy (smtpd_proxy_filter to the same
           sink), a private instance, its whole process tree counted

For every shape (message size x messages per session, 32 sessions) each target
is measured REPEAT times, interleaved, and the median is reported: messages per
second through it, its ratio to the ceiling, and messages per CPU-second of the
system under test (utime+stime from /proc over the run), the figure that holds
up on a noisy shared machine.

Usage: benches/e2e/pipeline.py [--messages N] [--repeat R] [--markdown FILE]
Loopback only; everything it starts is stopped when it ends.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import peers

SESSIONS = 32
SHAPES = [(1024, 1), (1024, 10), (20 * 1024, 1), (20 * 1024, 10)]


def run_source(port, size, per_session, messages):
    """Sends `messages` messages with smtp-source; returns (sent, wall seconds)."""
    # With -d each of the 32 sessions carries per_session messages; without it
    # every message has its own connection, so one process can send many.
    batch = SESSIONS * per_session if per_session > 1 else 3200
    start = time.perf_counter()
    sent = 0
    while sent < messages:
        cmd = ["taskset", "-c", "1", "smtp-source", "-s", str(SESSIONS), "-l", str(size),
               "-m", str(batch), "-f", "bench@sender.example", "-t", "user@example.net",
               "-M", "client.example"]
        if per_session > 1:
            cmd.append("-d")
        cmd.append(f"127.0.0.1:{port}")
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or result.stderr.strip():
            raise RuntimeError(f"smtp-source failed: {result.stderr.strip() or result.returncode}")
        sent += batch
    return sent, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=9600,
                        help="messages per measurement (1 KiB shapes; 20 KiB ones send a third)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", help="write the result table to this file")
    args = parser.parse_args()
    for tool in ("smtp-source", "smtp-sink", "taskset", "postfix"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-test-peers.sh")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "ringwall", "--example", "floor_relay"],
                   cwd=peers.ROOT, check=True)
    work = tempfile.mkdtemp(prefix="ringwall-pipeline-")
    targets = []
    try:
        sink = peers.start_smtp_sink(cpu=1)
        targets.append(sink)
        targets.append(peers.Target("direct", sink.port))
        targets.append(peers.start_ringwall(work, 0, sink.port))
        targets.append(peers.start_ringwall(work, 0, sink.port, name="nopool", pool_idle=0))
        targets.append(peers.start_floor(0, sink.port))
        targets.append(peers.start_postfix(work, 0, sink.port))
        measured = targets[1:]
        rows = []
        for size, per_session in SHAPES:
            messages = args.messages if size <= 1024 else args.messages // 3
            results = {t.name: [] for t in measured}
            for t in measured:  # warm-up: pools, caches, page faults
                run_source(t.port, size, per_session, SESSIONS * per_session)
            for _ in range(args.repeat):
                for t in measured:
                    cpu0 = t.cpu()
                    sent, wall = run_source(t.port, size, per_session, messages)
                    cpu = t.cpu() - cpu0 if cpu0 is not None else None
                    results[t.name].append((sent / wall, sent / cpu if cpu else None))
            row = {"size": size, "per_session": per_session}
            for name, runs in results.items():
                row[name] = statistics.median(r[0] for r in runs)
                per_cpu = [r[1] for r in runs if r[1]]
                row[name + "_per_cpu"] = statistics.median(per_cpu) if per_cpu else None
            rows.append(row)
            print(f"{size // 1024:>3} KiB x{per_session:<2}: direct {row['direct']:8.0f}/s  ringwall {row['ringwall']:8.0f}/s "
                  f"(ratio {row['ringwall'] / row['direct']:.3f}, {row['ringwall_per_cpu']:7.0f} msgs/CPU-s)  "
                  f"nopool {row['nopool_per_cpu']:7.0f} msgs/CPU-s  floor {row['floor_per_cpu']:7.0f} msgs/CPU-s  "
                  f"postfix {row['postfix']:8.0f}/s ({row['postfix_per_cpu']:7.0f} msgs/CPU-s)", flush=True)
        table = ["| shape | direct msgs/s | ringwall msgs/s | ratio to direct | ringwall msgs/CPU-s | no-pool msgs/CPU-s "
                 "| floor msgs/CPU-s | ringwall/floor | Postfix BQP msgs/s | Postfix msgs/CPU-s | ringwall/Postfix per CPU-s |",
                 "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in rows:
            table.append(f"| {r['size'] // 1024} KiB, {r['per_session']}/session | {r['direct']:.0f} | {r['ringwall']:.0f} | "
                         f"{r['ringwall'] / r['direct']:.3f} | {r['ringwall_per_cpu']:.0f} | {r['nopool_per_cpu']:.0f} | "
                         f"{r['floor_per_cpu']:.0f} | {r['ringwall_per_cpu'] / r['floor_per_cpu']:.2f} | {r['postfix']:.0f} | "
                         f"{r['postfix_per_cpu']:.0f} | {r['ringwall_per_cpu'] / r['postfix_per_cpu']:.2f} |")
        print("\n".join(table))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write("\n".join(table) + "\n")
    finally:
        for t in reversed(targets):
            t.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
