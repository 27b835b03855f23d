#!/usr/bin/env python3
"""Why the classifier's tokeniser leaves out Received fields and header field names.

Counts, over the corpus' SpamAssassin messages of the train and dev splits
(hams and spams collected together in 2002), in how many hams and how many
spams each Received word and each header field name occurs, and prints the
ones most one-sided. The spam side is the collection, not spam: the
collectors' own relays and mail clients (hosts under spamassassin.taint.org,
rewritten addresses, fetchmail's POP3 hop, the month the spam was gathered,
X-Keywords and X-Status from a collector's mail reader). A filter that
learned them would score well here and learn nothing about an operator's
mail. Words are cut as src/bayes/tokens.rs cuts them (3 to 40 bytes,
mostly-digit words dropped).

Usage: python3 benches/e2e/corpus_artefacts.py [--corpus ../shared/corpus] [--top 15]
"""

import argparse
import collections
import pathlib
import re

WORD = re.compile(r"[\w'\-.$]+")
FIELD_NAME = re.compile(r"^([!-9;-~]+):", re.M)


def header_section(raw: bytes) -> str:
    """The header section, unfolded, without the mbox From line."""
    if raw.startswith(b"From "):
        raw = raw[raw.find(b"\n") + 1 :]
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0].decode("latin-1")
    return re.sub(r"\r?\n[ \t]+", " ", head)


def kept(word: str) -> bool:
    word = word.strip("'-_.")
    digits = sum(c.isdigit() for c in word)
    return 3 <= len(word) <= 40 and digits * 2 <= len(word)


def features(raw: bytes) -> tuple[set, set]:
    head = header_section(raw)
    received = set()
    for line in head.splitlines():
        if line.lower().startswith("received:"):
            received.update(
                w.strip("'-_.").lower() for w in WORD.findall(line[9:]) if kept(w)
            )
    names = {n.lower() for n in FIELD_NAME.findall(head)}
    return received, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = pathlib.Path(__file__).resolve().parents[2]
    parser.add_argument("--corpus", type=pathlib.Path, default=here / "../shared/corpus")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    lines = (args.corpus / "MANIFEST.tsv").read_text().splitlines()
    columns = lines[0].split("\t")
    at = {name: columns.index(name) for name in ("split", "label", "file", "source_repo")}
    counts = {kind: {"ham": collections.Counter(), "spam": collections.Counter()} for kind in ("Received word", "field name")}
    messages = collections.Counter()
    for line in lines[1:]:
        row = line.split("\t")
        if row[at["split"]] not in ("train", "dev") or "phishing" in row[at["source_repo"]]:
            continue
        label = row[at["label"]]
        messages[label] += 1
        received, names = features((args.corpus / row[at["file"]]).read_bytes())
        counts["Received word"][label].update(received)
        counts["field name"][label].update(names)

    print(f"SpamAssassin messages of train + dev: {messages['ham']} hams, {messages['spam']} spams\n")
    for kind, by_label in counts.items():
        ham, spam = by_label["ham"], by_label["spam"]

        def spamminess(token: str) -> float:
            s, h = spam[token] / messages["spam"], ham[token] / messages["ham"]
            return s / (s + h)

        frequent = [t for t in set(ham) | set(spam) if ham[t] + spam[t] >= 30]
        frequent.sort(key=lambda t: (spamminess(t), spam[t]), reverse=True)
        print(f"| {kind} (most spam-sided) | spams | hams |")
        print("| --- | ---: | ---: |")
        for token in frequent[: args.top]:
            print(f"| `{token}` | {spam[token]} | {ham[token]} |")
        print()


if __name__ == "__main__":
    main()
