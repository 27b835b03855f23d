#!/usr/bin/env python3
"""ringwall's statistical classifier beside bogofilter, trained and judged on the same split in one run.

  bogofilter  Debian's bogofilter with its built-in defaults (`-C`: no config
              file; spam at 0.99, unsure above 0.45), a fresh wordlist in a temp
              dir, trained in bulk mode on every ham (`-n -B`) and every spam
              (`-s -B`) of TRAIN, then asked for a verdict on every message of
              EVAL (`-v -B`, one process): Spam counts as spam, Ham and Unsure as
              not (Unsure is reported apart)
  ringwall    `ringwall train --config C --ham TRAIN/ham --spam TRAIN/spam` into a
              fresh database (C names it in `[bayes] database`), then `ringwall
              score --config C --eval EVAL --json`: the rules and the classifier
              summed into one verdict, spam when it is not accept

Both run pinned to CPU 0. CPU time is read from getrusage(RUSAGE_CHILDREN)
deltas, as content.py measures spamd. Speed is messages per CPU-second with the
start-up left out: each also judges a pair of messages (one ham, one spam), and
(N - 2) / (CPU of N - CPU of the pair) is what one more message costs, reading
and parsing included. Start-up is shown apart: ringwall compiles its rule set
and loads its token table when it starts, bogofilter opens its wordlist, a cost
a daemon pays once and a one-shot CLI over 1,000 messages would charge to every
message. ringwall's own judging-only figure (`msgs_per_sec`) is shown too.
Training is timed wall and CPU.

Both see the messages without their mbox `From ` line: ringwall's analysis skips
it, and bogofilter is given copies without it (in the temp dir). An MTA never
sees that line, and it marks the SpamAssassin half of the corpus (its README,
"Known biases"): left in, it would be a free clue for one filter only.

TRAIN and EVAL are the corpus' train and dev splits (../shared/corpus). Usage:
python3 benches/e2e/bayes.py [--repeat N] [--no-readme] [--corpus DIR]
It installs Debian's bogofilter when missing, builds ringwall (release) and
writes its table between the bayes markers of benches/README.md. Nothing here
touches the network besides apt.
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402
from content import apt_install, figures, messages  # noqa: E402
from run import output, spread, write_readme  # noqa: E402

BEGIN, END = "<!-- bayes:begin -->", "<!-- bayes:end -->"
PIN = ["taskset", "-c", "0"]


def arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="train and judge this many times, fresh each time")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benches/README.md alone")
    parser.add_argument("--corpus", default=os.path.join(peers.ROOT, "..", "shared", "corpus"))
    return parser.parse_args()


def ringwall_binary():
    """Builds the release binary where cargo puts it (CARGO_TARGET_DIR honoured)."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "ringwall"], cwd=peers.ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(peers.ROOT, "target"))
    return os.path.join(target, "release", "ringwall")


def without_from_lines(corpus, work):
    """A copy of the train and dev splits in `work`, each message without a
    leading mbox `From ` line; returns its root."""
    root = os.path.join(work, "corpus")
    for split in ("train", "dev"):
        for path, spam in messages(os.path.join(corpus, split)):
            folder = os.path.join(root, split, "spam" if spam else "ham")
            os.makedirs(folder, exist_ok=True)
            with open(path, "rb") as f:
                raw = f.read()
            if raw.startswith(b"From "):
                raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
            with open(os.path.join(folder, os.path.basename(path)), "wb") as f:
                f.write(raw)
    return root


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv, ok=(0,)):
    """Runs `argv` to its end: (its stdout, wall seconds, CPU seconds). The CPU
    is that of every child reaped meanwhile: the command and what it forks. An
    exit status not in `ok` is an error."""
    cpu0, wall0 = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv[:6])} ... failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout, wall, cpu


def bogofilter(*args):
    """Runs bogofilter on CPU 0 without a config file: (stdout, wall, CPU). It
    exits 0, 1 or 2 for spam, ham or unsure (of the last message, in bulk
    mode), 3 on error."""
    return timed([*PIN, "bogofilter", "-C", *args], ok=(0, 1, 2))


def files(folder):
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))]


def bogofilter_train(wordlist, train):
    """Learns every ham, then every spam: (wall, CPU) seconds."""
    _, wall_ham, cpu_ham = bogofilter("-d", wordlist, "-n", "-B", *files(os.path.join(train, "ham")))
    _, wall_spam, cpu_spam = bogofilter("-d", wordlist, "-s", "-B", *files(os.path.join(train, "spam")))
    return wall_ham + wall_spam, cpu_ham + cpu_spam


def bogofilter_judge(wordlist, corpus):
    """CPU seconds over `corpus`, its figures, and how many hams and spams it
    left unsure."""
    labelled = messages(corpus)
    out, _, cpu = bogofilter("-d", wordlist, "-v", "-B", *(path for path, _ in labelled))
    # One line per file: "PATH X-Bogosity: Spam, tests=bogofilter, spamicity=...".
    verdicts = {}
    for line in out.splitlines():
        path, _, rest = line.partition(" X-Bogosity: ")
        verdicts[path] = rest.split(",", 1)[0]
    if len(verdicts) != len(labelled):
        raise RuntimeError(f"bogofilter gave {len(verdicts)} verdicts for {len(labelled)} messages")
    tp = fp = tn = fn = unsure_ham = unsure_spam = 0
    for path, spam in labelled:
        verdict = verdicts[path]
        flagged = verdict == "Spam"
        tp += spam and flagged
        fn += spam and not flagged
        fp += (not spam) and flagged
        tn += (not spam) and not flagged
        unsure_ham += (not spam) and verdict == "Unsure"
        unsure_spam += spam and verdict == "Unsure"
    return cpu, figures(tp, fp, tn, fn), (unsure_ham, unsure_spam)


def ringwall_train(binary, config, train):
    """`ringwall train` of every ham and spam: (wall, CPU) seconds."""
    _, wall, cpu = timed([*PIN, binary, "train", "--config", config, "--ham", os.path.join(train, "ham"),
                          "--spam", os.path.join(train, "spam")])
    return wall, cpu


def ringwall_judge(binary, config, corpus):
    """CPU seconds of `ringwall score --eval` over `corpus`, ringwall's own
    judging-only figure, and its figures."""
    out, _, cpu = timed([*PIN, binary, "score", "--config", config, "--eval", corpus, "--json"])
    result = json.loads(out)
    return cpu, result["msgs_per_sec"], figures(result["tp"], result["fp"], result["tn"], result["fn"])


def pair_of(corpus, work):
    """A labelled corpus of the first ham and the first spam of `corpus`, to
    measure start-up."""
    root = os.path.join(work, "pair")
    for label in ("ham", "spam"):
        os.makedirs(os.path.join(root, label))
        first = files(os.path.join(corpus, label))[0]
        shutil.copy(first, os.path.join(root, label))
    return root


def per_message(full_cpu, pair_cpu, count):
    """Messages per CPU-second with the start-up (the pair's run) left out."""
    return (count - 2) / max(full_cpu - pair_cpu, 1e-9)


def one_run(work, binary, corpus, stripped, pair, n):
    """Trains both from nothing, judges the eval split and the pair: training
    (wall, CPU) seconds, start-up CPU seconds, messages per CPU-second and the
    figures of each."""
    wordlist = os.path.join(work, f"bogofilter-{n}")
    os.makedirs(wordlist)
    config = os.path.join(work, f"ringwall-{n}.toml")
    with open(config, "w") as f:
        f.write(f'[bayes]\ndatabase = "{os.path.join(work, f"bayes-{n}.redb")}"\n')
    count = len(messages(os.path.join(corpus, "dev")))
    bogo_train = bogofilter_train(wordlist, os.path.join(stripped, "train"))
    bogo_cpu, bogo_figures, unsure = bogofilter_judge(wordlist, os.path.join(stripped, "dev"))
    bogo_start = bogofilter_judge(wordlist, pair)[0]
    ours_train = ringwall_train(binary, config, os.path.join(corpus, "train"))
    ours_cpu, own_rate, ours_figures = ringwall_judge(binary, config, os.path.join(corpus, "dev"))
    ours_start = ringwall_judge(binary, config, pair)[0]
    return {
        "bogofilter": (bogo_train, bogo_start, per_message(bogo_cpu, bogo_start, count), bogo_figures),
        "ringwall": (ours_train, ours_start, per_message(ours_cpu, ours_start, count), ours_figures),
        "own_rate": own_rate,
        "unsure": unsure,
    }


def table(runs, corpus):
    """The markdown table and a line of what it says, from the runs' medians
    (the verdicts do not change between runs: the last run's are shown)."""
    seconds = lambda values: f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

    def row(name, label):
        (train, start, rate, fig) = zip(*(r[name] for r in runs))
        fig = fig[-1]
        return (f"| {label} | {seconds([t[0] for t in train])} | {seconds([t[1] for t in train])} | "
                f"{seconds(start)} | {spread(rate)[1]} | {fig['precision']:.3f} | {fig['recall']:.3f} | "
                f"{fig['fpr']:.4f} ({fig['fp']}) |")

    unsure_ham, unsure_spam = runs[-1]["unsure"]
    ratio = (statistics.median(r["ringwall"][2] for r in runs)
             / statistics.median(r["bogofilter"][2] for r in runs))
    trained = len(messages(os.path.join(corpus, "train")))
    judged = len(messages(os.path.join(corpus, "dev")))
    return [
        f"Run {datetime.date.today()}, `benches/e2e/bayes.py --repeat {len(runs)}`, ringwall "
        f"{output('git', '-C', peers.ROOT, 'describe', '--always', '--dirty')}, "
        f"{output('bogofilter', '-V').splitlines()[0]}; trained on the {trained} messages of "
        f"`{os.path.relpath(os.path.join(corpus, 'train'), peers.ROOT)}`, judging the {judged} of "
        f"`{os.path.relpath(os.path.join(corpus, 'dev'), peers.ROOT)}`; one core each; medians "
        f"(min-max) of {len(runs)} runs, each from an empty database.",
        "",
        "| what | training: wall s | training: CPU s | start-up: CPU s | judging: messages per CPU-second "
        "| precision | recall | FPR (false positives) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("bogofilter", f"bogofilter (spam ≥ 0.99; Unsure, counted as ham: {unsure_ham} hams, "
                          f"{unsure_spam} spams)"),
        row("ringwall", "ringwall `train`, `score --eval` (rules + classifier)"),
        f"| ringwall, judging only (`msgs_per_sec`, its own timer) | | | | "
        f"{spread([r['own_rate'] for r in runs])[1]} | | | |",
        "",
        f"Start-up left out, ringwall judges {ratio:.1f}× as many messages per CPU-second as bogofilter "
        "here, running its rules as well as the classifier.",
    ]


def main():
    args = arguments()
    if not shutil.which("bogofilter"):
        apt_install("bogofilter")
    binary = ringwall_binary()
    corpus = os.path.abspath(args.corpus)
    work = tempfile.mkdtemp(prefix="ringwall-bayes-")
    try:
        stripped = without_from_lines(corpus, work)
        pair = pair_of(os.path.join(stripped, "dev"), work)
        runs = [one_run(work, binary, corpus, stripped, pair, n) for n in range(args.repeat)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = table(runs, corpus)
    print("\n".join(rows))
    if not args.no_readme:
        write_readme(["\n".join(rows)], begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
