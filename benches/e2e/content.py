#!/usr/bin/env python3
"""The content scan's speed, beside SpamAssassin on the same messages, in one run.

  score        `ringwall score --eval DIR --json`: judging only (analysis,
               keyword, attachment, link and header rules, the verdict), one
               core; its precision, recall and false-positive rate too
  spamassassin Debian's spamd (one child, `-L`: local tests only, no network,
               no Bayes, pinned to CPU 0), asked by `spamc -c` for each message
               from CPU 1; messages per CPU-second of spamd's process tree, and
               its verdicts counted the same way
  pipeline     `ringwall run`, one shard pinned to CPU 0, `[content] enabled`
               off and on, `ringwall-loadgen send --messages DIR` (the same
               messages, 32 sessions) and the sink on CPU 1; messages per
               CPU-second of ringwall, whatever the verdict (a refused message
               was judged too)

DIR is the dev split of the corpus (../shared/corpus/dev) unless --corpus says
otherwise. Usage: benches/e2e/content.py [--duration SECONDS] [--repeat N]
[--no-readme] [--corpus DIR]. It installs Debian's spamassassin and spamc when
missing and writes its table between the content markers of benches/README.md.
Loopback only; everything it starts is stopped when it ends.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402
from run import install, output, spread, write_readme  # noqa: E402

BEGIN, END = "<!-- content:begin -->", "<!-- content:end -->"
SESSIONS = 32


def arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per pipeline measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benches/README.md alone")
    parser.add_argument("--corpus", default=os.path.join(peers.ROOT, "..", "shared", "corpus", "dev"))
    return parser.parse_args()


def apt_install(*packages):
    """Installs Debian packages without questions; the package lists are refreshed
    only when the first try fails (a fresh machine has none)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", *packages], env=env,
                      stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", *packages], env=env, check=True,
                       stdout=subprocess.DEVNULL)


def install_spamassassin():
    missing = [p for p in ("spamassassin", "spamc") if not shutil.which("spamd" if p == "spamassassin" else p)]
    if missing:
        apt_install(*missing)
    # The package's own service is not ours to run.
    subprocess.run(["systemctl", "disable", "--now", "spamd"], stderr=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)


def messages(corpus):
    """(path, is_spam) for every message of the corpus, ham first."""
    out = []
    for label in ("ham", "spam"):
        folder = os.path.join(corpus, label)
        for name in sorted(os.listdir(folder)):
            out.append((os.path.join(folder, name), label == "spam"))
    return out


def figures(tp, fp, tn, fn):
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
        "fp": fp,
    }


def ringwall_score(corpus):
    out = subprocess.run(["taskset", "-c", "0", peers.RINGWALL, "score", "--eval", corpus, "--json"],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["msgs_per_sec"], figures(result["tp"], result["fp"], result["tn"], result["fn"])


def spamassassin(work, corpus):
    """spamd's messages per CPU-second over the corpus, and its verdicts."""
    port = peers.free_port()
    argv = ["taskset", "-c", "0", "spamd", "-L", "--max-children=1", "--min-children=1",
            "--listen", f"127.0.0.1:{port}", "--pidfile", os.path.join(work, "spamd.pid"),
            "--syslog", os.path.join(work, "spamd.log"), "-u", "nobody",
            "--helper-home-dir", work]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        peers.wait_for_port(port, timeout=120)
        # The child loads the rules when it starts; one message warms it.
        all_messages = messages(corpus)
        ask = lambda path: subprocess.run(["taskset", "-c", "1", "spamc", "-c", "-p", str(port)],
                                          stdin=open(path, "rb"), capture_output=True, text=True)
        ask(all_messages[0][0])
        cpu0 = peers.tree_cpu(proc.pid)
        tp = fp = tn = fn = 0
        for path, spam in all_messages:
            flagged = ask(path).returncode == 1
            tp += spam and flagged
            fn += spam and not flagged
            fp += (not spam) and flagged
            tn += (not spam) and not flagged
        cpu = peers.tree_cpu(proc.pid) - cpu0
        return len(all_messages) / max(cpu, 1e-9), figures(tp, fp, tn, fn)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def pipeline(work, target, corpus, duration):
    """ringwall's messages per CPU-second over one loadgen run of the corpus."""
    result = os.path.join(work, "send.json")
    cpu0 = target.cpu()
    subprocess.run(["taskset", "-c", "1", peers.LOADGEN, "send", "--no-pin", "--no-progress", "--shards", "1",
                    "--sessions", str(SESSIONS), "--messages", corpus, "--duration", f"{duration}s",
                    "--warmup", "1s", "--json", result, f"127.0.0.1:{target.port}"],
                   check=True, stdout=subprocess.DEVNULL)
    cpu = target.cpu() - cpu0
    with open(result) as f:
        counts = json.load(f)["counts"]
    judged = counts["accepted"] + counts["rejected"] + counts["tempfailed"]
    if judged == 0 or counts["errors"]:
        raise RuntimeError(f"{target.name}: unexpected outcome {counts}")
    return judged / max(cpu, 1e-9)


def main():
    args = arguments()
    install()
    install_spamassassin()
    corpus = os.path.abspath(args.corpus)
    work = tempfile.mkdtemp(prefix="ringwall-content-")
    running = []
    try:
        sink = peers.start_loadgen_sink(cpu=1)
        running.append(sink)
        off = peers.start_ringwall(work, 0, sink.port, name="content off", extra="[content]\nenabled = false\n")
        on = peers.start_ringwall(work, 0, sink.port, name="content on")
        running += [off, on]
        score_rates, sa_rates = [], []
        piped = {off.name: [], on.name: []}
        for _ in range(args.repeat):
            rate, ours = ringwall_score(corpus)
            score_rates.append(rate)
            rate, theirs = spamassassin(work, corpus)
            sa_rates.append(rate)
            for target in (off, on):
                piped[target.name].append(pipeline(work, target, corpus, args.duration))
    finally:
        for target in reversed(running):
            target.stop()
        shutil.rmtree(work, ignore_errors=True)

    date = datetime.date.today().isoformat()
    count = len(messages(corpus))
    sa_version = output("spamassassin", "--version").splitlines()[0]
    rows = [
        f"Run {date}, `benches/e2e/content.py --duration {args.duration} --repeat {args.repeat}`, "
        f"{count} messages of `{os.path.relpath(corpus, peers.ROOT)}`, medians (min-max) of "
        f"{args.repeat} interleaved repetitions; {sa_version}.",
        "",
        "| what | messages per CPU-second | precision | recall | FPR (false positives) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| `ringwall score` (judging only, one core) | {spread(score_rates)[1]} | {ours['precision']:.3f} | "
        f"{ours['recall']:.3f} | {ours['fpr']:.4f} ({ours['fp']}) |",
        f"| SpamAssassin `spamd -L` (one child) | {spread(sa_rates)[1]} | {theirs['precision']:.3f} | "
        f"{theirs['recall']:.3f} | {theirs['fpr']:.4f} ({theirs['fp']}) |",
        f"| whole pipeline, `[content] enabled = false` | {spread(piped[off.name])[1]} | | | |",
        f"| whole pipeline, content scan on | {spread(piped[on.name])[1]} | | | |",
        "",
        f"ringwall judges {statistics.median(score_rates) / statistics.median(sa_rates):.0f}× as many "
        "messages per CPU-second as SpamAssassin here; the scan costs the pipeline "
        f"{(1 - statistics.median(piped[on.name]) / statistics.median(piped[off.name])) * 100:.0f} % of its "
        "relay-only rate on these messages.",
    ]
    print("\n".join(rows))
    if not args.no_readme:
        write_readme(["\n".join(rows)], begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
