#!/usr/bin/env python3
"""Whole-pipeline cost of connection triage with a warm cache: ringwall with
three DNS lists configured, side by side with ringwall relaying only.

Four ringwall instances, one shard each, all pinned to CPU 0 (only the one
measured is busy at a time):

  relay only   no [[dnsbl]] or [[dnswl]]: what the pipeline costs without triage
  relay only, again
               a second, identical instance: the control, whose ratio to the
               first shows how far apart two identical instances measure here
  cache        three zones (a Spamhaus ZEN preset, a plain [[dnsbl]] of weight
               2, a DNSWL preset [[dnswl]]), `[rbl] skip_loopback = false` so
               every connection is screened, `pass_ttl = "0s"` so every
               connection's score comes from the answer cache (three gets)
  pass list    the same zones with the default `pass_ttl` (1h): a client that
               passed is answered from the pass list (one get), as in production

The lists are `ringwall-loadgen dnsbl` answering zen.test, bl.test and wl.test
with NXDOMAIN (the client is clean) and a TTL of an hour; it runs pinned to
CPU 1 with `ringwall-loadgen send` and `ringwall-loadgen sink` (the upstream).
Every session comes from 127.0.0.1, so after each instance's first lookup
every connection is a cache (or pass-list) hit; the emulator's query counts
at the end prove it.

Shapes: 1 KiB messages, 1 and 10 per session, 32 sessions, PIPELINING on.
Each repetition runs the four instances one after the other (the order
rotating between repetitions); a ratio is taken within each repetition and
the table gives the median of those paired ratios, with their min-max, beside
medians of msgs/s and of messages per CPU-second of ringwall.

Usage: benches/e2e/rbl.py [--duration SECONDS] [--repeat N] [--no-readme]
Writes its table between the rbl markers of benches/README.md unless told not
to. Loopback only; everything it starts is stopped when it ends.
"""

import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from run import arguments, install, measure, output, spread, write_readme  # noqa: E402

BEGIN, END = "<!-- rbl:begin -->", "<!-- rbl:end -->"
SHAPES = ((1024, 1), (1024, 10))
ZONES = ("zen.test", "bl.test", "wl.test")
TARGET = 0.05  # issue 6: less than 5 % throughput cost with a warm cache


class Dnsbl:
    """`ringwall-loadgen dnsbl` pinned to CPU 1, answering ZONES with
    NXDOMAIN; `stop()` returns its query counts."""

    def __init__(self):
        for _ in range(16):
            self.port = peers.free_port()
            argv = ["taskset", "-c", "1", peers.LOADGEN, "dnsbl", "--listen", f"127.0.0.1:{self.port}",
                    "--ttl", "3600", "--json"]
            for zone in ZONES:
                argv += ["--zone", zone]
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if self.proc.stdout.readline().startswith("listening on"):
                break
            self.proc.wait()  # the UDP or TCP port was taken: another port
        else:
            raise RuntimeError("ringwall-loadgen dnsbl did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=15)
        if self.proc.returncode != 0:
            raise RuntimeError(f"ringwall-loadgen dnsbl failed (exit status {self.proc.returncode})")
        return json.loads(out.strip().splitlines()[-1])


def triage_config(dns_port, pass_ttl=None):
    """The tables added to ringwall's config: three zones on the emulator,
    loopback screened, `pass_ttl` as given (else the default)."""
    rbl = "skip_loopback = false\n"
    if pass_ttl is not None:
        rbl += f'pass_ttl = "{pass_ttl}"\n'
    return f"""[dns]
resolvers = ["127.0.0.1:{dns_port}"]
[rbl]
{rbl}[[dnsbl]]
zone = "zen.test"
preset = "spamhaus-zen"
[[dnsbl]]
zone = "bl.test"
weight = 2
[[dnswl]]
zone = "wl.test"
preset = "dnswl"
"""


def main():
    args = arguments(__doc__, repeat=5)
    install()
    work = tempfile.mkdtemp(prefix="ringwall-rbl-")
    running = []
    dnsbl = None
    try:
        sink = peers.start_loadgen_sink(cpu=1)
        running.append(sink)
        dnsbl = Dnsbl()
        systems = [
            peers.start_ringwall(work, 0, sink.port, name="relay only"),
            peers.start_ringwall(work, 0, sink.port, name="relay only, again"),
            peers.start_ringwall(work, 0, sink.port, name="cache", extra=triage_config(dnsbl.port, "0s")),
            peers.start_ringwall(work, 0, sink.port, name="pass list", extra=triage_config(dnsbl.port)),
        ]
        running += systems
        lines = ["| shape | ringwall | msgs/s, median (min-max) | ratio to relay only, paired (min-max) | "
                 "msgs per CPU-second (min-max) | ratio to relay only, paired (min-max) |",
                 "| --- | --- | ---: | ---: | ---: | ---: |"]
        costs = {}
        for size, per_session in SHAPES:
            shape = f"{size // 1024} KiB, {per_session}/session"
            runs = {t.name: [] for t in systems}
            for i in range(args.repeat):
                order = systems[i % len(systems):] + systems[:i % len(systems)]
                for t in order:
                    runs[t.name].append(measure(work, t, size, per_session, args.duration))
            relay = runs["relay only"]
            for t in systems:
                _, rate_text = spread([r[0] for r in runs[t.name]])
                _, cpu_text = spread([r[1] for r in runs[t.name]])
                if t is systems[0]:
                    ratio_text = cpu_ratio_text = "1"
                else:
                    rate_ratio = [r[0] / b[0] for r, b in zip(runs[t.name], relay)]
                    cpu_ratio = [r[1] / b[1] for r, b in zip(runs[t.name], relay)]
                    ratio_text = f"{statistics.median(rate_ratio):.3f} ({min(rate_ratio):.3f}-{max(rate_ratio):.3f})"
                    cpu_ratio_text = f"{statistics.median(cpu_ratio):.3f} ({min(cpu_ratio):.3f}-{max(cpu_ratio):.3f})"
                    costs[(shape, t.name)] = (1 - statistics.median(rate_ratio), 1 - statistics.median(cpu_ratio))
                lines.append(f"| {shape} | {t.name} | {rate_text} | {ratio_text} | {cpu_text} | {cpu_ratio_text} |")
                print(lines[-1], flush=True)
    finally:
        for t in reversed(running):
            t.stop()
        counts = dnsbl.stop() if dnsbl else None
    queries = ", ".join(f"{zone} {counts['zones'][zone]['queries']}" for zone in ZONES)
    worst = max(max(cost) for name, cost in costs.items() if name[1] != "relay only, again")
    noise = max(max(abs(c) for c in cost) for name, cost in costs.items() if name[1] == "relay only, again")
    verdict = "met" if worst < TARGET else "not met"
    lines = [f"{datetime.date.today()}, ringwall {output('git', '-C', peers.ROOT, 'describe', '--always', '--dirty')}, "
             f"{output('rustc', '--version')}, Linux {platform.release()}; {args.duration} s per run after a 1 s "
             f"warm-up, {args.repeat} repetitions, the order rotating.",
             "",
             *lines,
             "",
             f"DNS queries the lists received in the whole run: {queries} (one per zone per instance with zones: "
             "every other connection was answered from the cache or the pass list).",
             "",
             f"Largest cost of triage with a warm cache (1 - median paired ratio, msgs/s or msgs per CPU-second, "
             f"either shape, either instance with zones; negative: measured faster than relay only): "
             f"{100 * worst:.1f} %; target < {100 * TARGET:.0f} %: {verdict}. The control (two identical "
             f"relay-only instances) differs by up to {100 * noise:.1f} %."]
    print("\n".join(lines[-3:]))
    if not args.no_readme:
        write_readme(lines, BEGIN, END)


if __name__ == "__main__":
    main()
