"""`rupor inbox classify`: one JSON line per input line, in order, offline."""

from __future__ import annotations

import json

from click.testing import CliRunner

from rupor.cli.main import cli


def test_classify_prints_one_json_object_per_line_in_order():
    lines = [
        "Do you ship to Canada?",
        "",
        "Заказ так и не пришёл, поддержка не отвечает. Верните деньги!",
        "정말 최고예요! 너무 좋아요, 감사합니다.",
        "Earn $500 a day from home!!! Click here http://bit.ly/xyz",
    ]
    result = CliRunner().invoke(cli, ["inbox", "classify", "--batch", "2"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [row["label"] for row in rows] == ["question", "neutral", "complaint", "praise", "spam"]
    assert [row["language"] for row in rows][:4] == ["en", "und", "ru", "ko"]
    assert set(rows[0]) == {"label", "negativity", "language"}
    assert all(0.0 <= row["negativity"] <= 1.0 for row in rows)


def test_classify_of_nothing_prints_nothing():
    result = CliRunner().invoke(cli, ["inbox", "classify"], input="")
    assert result.exit_code == 0
    assert result.output == ""
