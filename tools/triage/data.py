"""The labelled data the triage layer learns from and is measured on, read from public sources.

The sources are not in this repository; fetch them into one folder (``--data``, default
``$TRIAGE_DATA`` or ``.triage-data``) as docs/inbox-triage.md shows:

* ``amazon.json``, ``imdb.json``, ``yelp.json`` — the UCI "Sentiment Labelled Sentences"
  (Kotzias et al., 2015), English, 0 negative / 1 positive, as test fixtures of the npm package
  ``sentiment`` (github.com/thisandagain/sentiment, test/fixtures/);
* ``banks_test_etalon.xml``, ``tkk_test_etalon.xml`` — SentiRuEval-2016 (Loukachevitch and
  Rubtsova), Russian tweets about banks and telecom operators, -1 / 0 / 1 per company
  (github.com/mokoron/sentirueval);
* ``SMSSpamCollection`` — the UCI SMS Spam Collection (Almeida and Gómez Hidalgo, 2011),
  English, ham / spam, CC BY 4.0; only to measure the spam rules, never trained on;
* ``ratings_test.txt`` — Naver Sentiment Movie Corpus (NSMC), Korean movie reviews, 0 / 1,
  CC0 (github.com/e9t/nsmc).

Every example goes to the training or the held-out part by a hash of its text, so the split is
the same on every run and no text is in both.
"""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
CLASS_NAMES = ("negative", "neutral", "positive")
HELD_OUT_PERCENT = 25
KOREAN_LIMIT = 12000  # NSMC's test file has 50,000 reviews; this many keep training quick


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # NEGATIVE, NEUTRAL or POSITIVE
    language: str
    source: str

    @property
    def held_out(self) -> bool:
        digest = hashlib.sha256(self.text.strip().lower().encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def data_dir(given: str | None = None) -> Path:
    return Path(given or os.environ.get("TRIAGE_DATA") or ".triage-data")


def english(folder: Path) -> list[Example]:
    out = []
    for name in ("amazon", "imdb", "yelp"):
        for row in json.loads((folder / f"{name}.json").read_text(encoding="utf-8")):
            if row.get("class") is None or not row.get("text", "").strip():
                continue  # the fixtures end with one empty row
            label = POSITIVE if int(row["class"]) == 1 else NEGATIVE
            out.append(Example(row["text"].strip(), label, "en", f"uci-{name}"))
    return out


def russian(folder: Path) -> list[Example]:
    out = []
    for name in ("banks_test_etalon.xml", "tkk_test_etalon.xml"):
        root = ET.parse(folder / name).getroot()  # noqa: S314 - a known public file, read offline
        for table in root.iter("table"):
            columns = {c.get("name"): (c.text or "") for c in table.findall("column")}
            text = columns.pop("text", "").strip()
            for key in ("id", "twitid", "date"):
                columns.pop(key, None)
            marks = {int(v) for v in columns.values() if v.strip() not in ("", "NULL")}
            if not text or not marks or (-1 in marks and 1 in marks):
                continue  # no mark, or one tweet both for and against: no single answer
            label = NEGATIVE if -1 in marks else POSITIVE if 1 in marks else NEUTRAL
            out.append(Example(text, label, "ru", f"sentirueval-{name.split('_')[0]}"))
    return _unique(out)


def korean(folder: Path) -> list[Example]:
    out = []
    raw = (folder / "ratings_test.txt").read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # some copies of NSMC are in the Korean Windows code page
        text = raw.decode("cp949", errors="replace")
    lines = text.splitlines()[1:]
    for line in lines[:KOREAN_LIMIT]:
        parts = line.split("\t")
        if len(parts) != 3 or not parts[1].strip():
            continue
        label = POSITIVE if parts[2].strip() == "1" else NEGATIVE
        out.append(Example(parts[1].strip(), label, "ko", "nsmc"))
    return _unique(out)


def _unique(examples: list[Example]) -> list[Example]:
    seen: set[str] = set()
    out = []
    for example in examples:
        key = example.text.lower()
        if key not in seen:
            seen.add(key)
            out.append(example)
    return out


def sms_spam(folder: Path) -> list[tuple[str, bool]]:
    """(text, is spam) pairs of the SMS Spam Collection."""
    out = []
    for line in (folder / "SMSSpamCollection").read_text(encoding="utf-8", errors="replace").splitlines():
        kind, _tab, text = line.partition("\t")
        if kind in ("ham", "spam") and text.strip():
            out.append((text.strip(), kind == "spam"))
    return out


def everything(folder: Path) -> list[Example]:
    return english(folder) + russian(folder) + korean(folder)
