#!/usr/bin/env python3
"""ringwall beside its peers, in one run, with ringwall's own load generator.

The system under test runs pinned to CPU 0; `ringwall-loadgen send` and
`ringwall-loadgen sink` (the upstream) run pinned to CPU 1:

  ceiling   send straight to the sink
  ringwall  `ringwall run`, one shard, transaction log at info (to /dev/null)
  postfix   Postfix as a before-queue proxy (smtpd_proxy_filter to the sink)
  haraka    Haraka with queue/smtp_forward to the sink, nodes=1

Shapes: 1 KiB and 20 KiB, 1 and 10 messages per session, 32 sessions, PIPELINING
on; REPEAT interleaved repetitions; medians (min-max). The CPU of each system's
whole process tree is read from /proc over each run, giving messages per
CPU-second, the figure that holds up on a noisy shared machine.

Then the latency ringwall adds, against load: open loop (`--rate`, latency
measured from the intended send time) at 10, 25, 50, 75 and 90 % of ringwall's
measured maximum, ringwall minus ceiling at each step, p50 and p99, drawn by
`examples/latency_plot` into benches/e2e/latency.png.

Last, the load generator's own headroom: `send` + `sink` against Postfix's
`smtp-source` + `smtp-sink`, both pairs on the same single core.

Usage: benches/e2e/run.py [--duration SECONDS] [--repeat N] [--no-readme]
It installs what it needs (Postfix and smtp-source from Debian, Haraka from npm
into ~/.cache/ringwall-bench, fonts-dejavu-core for the plot) and, unless told
not to, writes its tables between the e2e markers of benches/README.md.
Loopback only; everything it starts is stopped when it ends.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import peers

SESSIONS = 32
SHAPES = [(1024, 1), (1024, 10), (20 * 1024, 1), (20 * 1024, 10)]
STEPS = [10, 25, 50, 75, 90]
HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(peers.ROOT, "benches", "README.md")
BEGIN, END = "<!-- e2e:begin -->", "<!-- e2e:end -->"


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, **kwargs)


def output(*argv):
    """A tool's version line, without terminal colour codes."""
    try:
        text = subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def install():
    sh(os.path.join(peers.ROOT, "scripts", "install-test-peers.sh"))
    if not os.path.exists("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        sh("apt-get", "install", "-y", "-q", "fonts-dejavu-core",
           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
    for tool in ("npm", "taskset", "postfix", "smtp-source", "smtp-sink"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing")
    sh("cargo", "build", "--release", "--quiet", "--bin", "ringwall", "--example", "latency_plot",
       "-p", "ringwall", cwd=peers.ROOT)
    sh("cargo", "build", "--release", "--quiet", "-p", "ringwall-loadgen", cwd=peers.ROOT)


def send(work, port, size, per_session, duration, rate=None, pipelining=True, sessions=SESSIONS):
    """One `ringwall-loadgen send` run pinned to CPU 1; returns its JSON result."""
    result = os.path.join(work, "send.json")
    argv = ["taskset", "-c", "1", peers.LOADGEN, "send", "--no-pin", "--no-progress", "--shards", "1",
            "--sessions", str(sessions), "--messages-per-session", str(per_session), "--size", str(size),
            "--duration", f"{duration}s", "--warmup", "1s", "--json", result, f"127.0.0.1:{port}"]
    if rate:
        argv[-1:-1] = ["--rate", str(int(rate))]
    if not pipelining:
        argv.insert(-1, "--no-pipelining")
    sh(*argv, stdout=subprocess.DEVNULL)
    with open(result) as f:
        return json.load(f)


def measure(work, target, size, per_session, duration):
    cpu0 = target.cpu()
    result = send(work, target.port, size, per_session, duration)
    counts = result["counts"]
    if counts["accepted"] == 0 or counts["errors"] or counts["tempfailed"] or counts["rejected"]:
        raise RuntimeError(f"{target.name}: unexpected outcome {counts}")
    per_cpu = None
    if cpu0 is not None:
        per_cpu = len(result["accepted_message_ids"]) / max(target.cpu() - cpu0, 1e-9)
    return result["rate"], per_cpu


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, "-"
    median = statistics.median(values)
    return median, f"{median:.0f} ({min(values):.0f}-{max(values):.0f})"


def peer_table(work, targets, duration, repeat):
    lines = ["| shape | system | msgs/s, median (min-max) | ratio to ceiling | msgs per CPU-second (min-max) |",
             "| --- | --- | ---: | ---: | ---: |"]
    summary = {}
    for size, per_session in SHAPES:
        runs = {t.name: [] for t in targets}
        for _ in range(repeat):
            for t in targets:
                runs[t.name].append(measure(work, t, size, per_session, duration))
        ceiling, _ = spread([r[0] for r in runs["ceiling"]])
        shape = f"{size // 1024} KiB, {per_session}/session"
        for t in targets:
            rate, rate_text = spread([r[0] for r in runs[t.name]])
            per_cpu, cpu_text = spread([r[1] for r in runs[t.name]])
            summary[(shape, t.name)] = (rate, per_cpu)
            lines.append(f"| {shape} | {t.name} | {rate_text} | {rate / ceiling:.3f} | {cpu_text} |")
            print(lines[-1], flush=True)
    ratios = ["", "| shape | ringwall/ceiling | ringwall/Postfix per CPU-s | ringwall/Haraka per CPU-s |",
              "| --- | ---: | ---: | ---: |"]
    for size, per_session in SHAPES:
        shape = f"{size // 1024} KiB, {per_session}/session"
        rw, pf, hk, ce = (summary[(shape, n)] for n in ("ringwall", "postfix", "haraka", "ceiling"))
        ratios.append(f"| {shape} | {rw[0] / ce[0]:.3f} | {rw[1] / pf[1]:.2f} | {rw[1] / hk[1]:.2f} |")
    return lines + ratios, summary


def latency_curve(work, ceiling, ringwall, max_rate, duration):
    lines = ["| offered load | msgs/s | ceiling p50 / p99 µs | ringwall p50 / p99 µs | added p50 / p99 µs |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    steps = []
    for percent in STEPS:
        rate = max_rate * percent / 100
        lat = {}
        for t in (ceiling, ringwall):
            result = send(work, t.port, 1024, 10, duration, rate=rate, sessions=4 * SESSIONS)
            lat[t.name] = result["latency_us"]["message"]
        added50 = lat["ringwall"]["p50"] - lat["ceiling"]["p50"]
        added99 = lat["ringwall"]["p99"] - lat["ceiling"]["p99"]
        steps.append({"percent": percent, "offered": rate, "added_p50_us": added50, "added_p99_us": added99})
        lines.append(f"| {percent} % | {rate:.0f} | {lat['ceiling']['p50']:.0f} / {lat['ceiling']['p99']:.0f} | "
                     f"{lat['ringwall']['p50']:.0f} / {lat['ringwall']['p99']:.0f} | {added50:.0f} / {added99:.0f} |")
        print(lines[-1], flush=True)
    curve = os.path.join(work, "curve.json")
    with open(curve, "w") as f:
        json.dump({"title": "Latency ringwall adds (1 KiB, 10 per session, open loop)", "steps": steps}, f)
    sh(os.path.join(peers.ROOT, "target/release/examples/latency_plot"), curve, os.path.join(HERE, "latency.png"))
    return lines


def generator_headroom(work, duration):
    """send + sink against smtp-source + smtp-sink, each pair alone on CPU 1."""
    lines = ["| shape | ringwall-loadgen send + sink msgs/s | smtp-source + smtp-sink msgs/s | ratio |",
             "| --- | ---: | ---: | ---: |"]
    for pipelining, per_session in ((True, 10), (False, 1)):
        sink = peers.start_loadgen_sink(cpu=1)
        try:
            ours = send(work, sink.port, 1024, per_session, duration, pipelining=pipelining)["rate"]
        finally:
            sink.stop()
        smtp_sink = peers.start_smtp_sink(cpu=1)
        try:
            theirs = smtp_source_rate(smtp_sink.port, per_session, duration)
        finally:
            smtp_sink.stop()
        shape = f"1 KiB, {per_session}/session, PIPELINING {'on' if pipelining else 'off'}"
        lines.append(f"| {shape} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f} |")
        print(lines[-1], flush=True)
    return lines


def smtp_source_rate(port, per_session, duration):
    """smtp-source (which never pipelines) for about `duration` seconds on CPU 1."""
    # With -d each of the 32 sessions carries per_session messages; without it
    # every message has its own connection, so one process can send many.
    batch = SESSIONS * per_session if per_session > 1 else 3200
    sent, start = 0, time.perf_counter()
    while time.perf_counter() - start < duration:
        argv = ["taskset", "-c", "1", "smtp-source", "-s", str(SESSIONS), "-l", "1024", "-m", str(batch),
                "-f", "bench@sender.example", "-t", "user@example.net", "-M", "client.example"]
        if per_session > 1:
            argv.append("-d")
        sh(*argv, f"127.0.0.1:{port}", stdout=subprocess.DEVNULL)
        sent += batch
    return sent / (time.perf_counter() - start)


def write_readme(sections, begin=BEGIN, end=END):
    """Replaces what lies between the `begin` and `end` markers of benches/README.md."""
    with open(README) as f:
        text = f.read()
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(README, "w") as f:
        f.write(head + begin + "\n" + "\n".join(sections) + "\n" + end + tail)


def arguments(doc, repeat=3):
    """The options every side-by-side script takes: --duration, --repeat, --no-readme."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement, after a 1 s warm-up")
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benches/README.md alone")
    return parser.parse_args()


def main():
    args = arguments(__doc__)
    install()
    work = tempfile.mkdtemp(prefix="ringwall-e2e-")
    cache = os.path.expanduser("~/.cache/ringwall-bench")
    running = []
    try:
        sink = peers.start_loadgen_sink(cpu=1)
        running.append(sink)
        ceiling = peers.Target("ceiling", sink.port)
        for start in (lambda: peers.start_ringwall(work, 0, sink.port),
                      lambda: peers.start_postfix(work, 0, sink.port),
                      lambda: peers.start_haraka(work, 0, sink.port, cache)):
            running.append(start())
        ringwall = running[1]
        table, summary = peer_table(work, [ceiling] + running[1:], args.duration, args.repeat)
        max_rate = summary[("1 KiB, 10/session", "ringwall")][0]
        curve = latency_curve(work, ceiling, ringwall, max_rate, args.duration)
    finally:
        for t in reversed(running):
            t.stop()
    try:
        headroom = generator_headroom(work, args.duration)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    versions = (f"{datetime.date.today()}, ringwall {output('git', '-C', peers.ROOT, 'describe', '--always', '--dirty')}, "
                f"{output('rustc', '--version')}, Postfix {output('postconf', '-dh', 'mail_version')}, "
                f"Haraka {output(os.path.join(cache, 'node_modules', '.bin', 'haraka'), '-v')}, "
                f"node {output('node', '--version')}, Linux {platform.release()}")
    sections = ["### Peers side by side (`benches/e2e/run.py`)", "", versions + ".", "", *table, "",
                "### Latency added against load", "", *curve, "", "![latency added by ringwall](e2e/latency.png)", "",
                "### The load generator's own headroom (one core each pair)", "", *headroom]
    print("\n".join(sections))
    if not args.no_readme:
        write_readme(sections)


if __name__ == "__main__":
    main()
