"""Measure inbox triage on held-out real data (never trained on), per language and per label.

    .venv/bin/python -m tools.triage.evaluate [--data FOLDER]

Prints, for each language:

* the sentiment layer's precision, recall and F1 per class (negative, neutral, positive) on the
  held-out part of tools/triage/data.py's sources;
* the full triage (``rupor.inbox.triage.classify``, rules included) scored against the same
  gold: a gold negative counts as found when the label is negative or complaint, a gold positive
  when it is praise, a gold neutral when it is neutral or question (the sources have no gold for
  complaints or questions as such);
* for English, the spam rules' precision, recall and F1 on the whole SMS Spam Collection.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from rupor.inbox import triage
from tools.triage import data
from tools.triage.train import embeddings


def prf(gold: list[str], predicted: list[str], label: str) -> tuple[float, float, float, int]:
    tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
    fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
    fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp + fn


def table(title: str, gold: list[str], predicted: list[str], labels: list[str]) -> None:
    print(f"\n{title}")
    print(f"  {'label':<10} {'P':>6} {'R':>6} {'F1':>6} {'n':>6}")
    for label in labels:
        p, r, f, n = prf(gold, predicted, label)
        if n:
            print(f"  {label:<10} {p:6.3f} {r:6.3f} {f:6.3f} {n:6d}")
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / max(1, len(gold))
    print(f"  accuracy {accuracy:.3f} over {len(gold)}")


TRIAGE_AS_GOLD = {
    "negative": "negative",
    "complaint": "negative",
    "praise": "positive",
    "neutral": "neutral",
    "question": "neutral",
    "spam": "neutral",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data")
    args = parser.parse_args()
    folder = data.data_dir(args.data)
    held = [e for e in data.everything(folder) if e.held_out]
    vectors = embeddings(folder, held)
    weights, bias = triage._layer()
    found = triage.softmax(vectors @ weights + bias)
    for language in ("en", "ru", "ko"):
        rows = [i for i, e in enumerate(held) if e.language == language]
        gold = [data.CLASS_NAMES[held[i].label] for i in rows]
        layer = [data.CLASS_NAMES[int(np.argmax(found[i]))] for i in rows]
        table(f"[{language}] sentiment layer (argmax)", gold, layer, list(data.CLASS_NAMES))
        started = time.perf_counter()
        results = triage.classify([held[i].text for i in rows])
        took = time.perf_counter() - started
        labels = [TRIAGE_AS_GOLD[r.label] for r in results]
        table(f"[{language}] triage labels mapped to the gold classes", gold, labels, list(data.CLASS_NAMES))
        print(f"  labels given: {dict(Counter(r.label for r in results))}")
        languages = Counter(r.language for r in results)
        print(f"  language detected as {language}: {languages[language] / len(results):.3f}")
        print(f"  throughput: {len(rows) / took:.0f} items/s ({len(rows)} in {took:.1f} s)")
    spam = data.sms_spam(folder)
    gold = ["spam" if is_spam else "ham" for _text, is_spam in spam]
    rules = ["spam" if triage.spam_score(text) >= 2 else "ham" for text, _ in spam]
    table("[en] spam rules on the SMS Spam Collection", gold, rules, ["spam", "ham"])


if __name__ == "__main__":
    main()
