"""The short-link click classifier (rupor/links/classify.py) against a labelled set of real user
agents (rupor/links/data/user_agents.tsv, each with where it is documented): precision and recall
of "bot", every miss named, and the time per classification. Also CrawlerDetect alone, so the
effect of Rupor's preview-fetcher rules is visible. Prints one JSON object as its last line.

    python bench/links_classifier.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawlerdetect import CrawlerDetect  # noqa: E402 - after the path is set

from rupor.links.classify import bot_reason  # noqa: E402 - after the path is set

DATA = ROOT / "rupor" / "links" / "data" / "user_agents.tsv"


def load() -> list[tuple[bool, str, str]]:
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, what, agent, _source = line.split("\t")
        rows.append((label == "bot", what, agent))
    return rows


def score(name: str, rows: list[tuple[bool, str, str]], predict: object) -> dict[str, float | int]:
    tp = fp = fn = tn = 0
    for is_bot, what, agent in rows:
        said = bool(predict(agent))  # type: ignore[operator]  # a function of the agent
        if said and is_bot:
            tp += 1
        elif said:
            fp += 1
            print(f"  {name}: person taken for a bot: {what}")
        elif is_bot:
            fn += 1
            print(f"  {name}: bot taken for a person: {what}")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    human_kept = tn / (tn + fp) if tn + fp else 0.0
    print(
        f"{name}: precision {precision:.3f} recall {recall:.3f} "
        f"(bots {tp + fn}, people {tn + fp}; people counted as people {human_kept:.3f})"
    )
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def main() -> None:
    rows = load()
    detector = CrawlerDetect()
    alone = score("crawlerdetect alone", rows, detector.isCrawler)
    ours = score("rupor classifier", rows, bot_reason)
    agents = [agent for _b, _w, agent in rows] * 20
    start = time.perf_counter()
    for agent in agents:
        bot_reason(agent)
    per_us = (time.perf_counter() - start) / len(agents) * 1e6
    print(f"rupor classifier: {per_us:.0f} µs per user agent")
    print(
        json.dumps(
            {"rows": len(rows), "crawlerdetect": alone, "rupor": ours, "us_per_agent": round(per_us, 1)}
        )
    )


if __name__ == "__main__":
    main()
