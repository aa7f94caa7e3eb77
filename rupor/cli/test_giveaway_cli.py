"""``rupor giveaway verify FILE...`` on files alone (no database, no network): a good set checks
out (exit 0, winners printed), as three files or one bundle; a tampered list does not (exit 1,
the failing step named); something else is refused (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rupor.cli.main import cli
from rupor.giveaways import procedure
from rupor.giveaways.testing import example_files


def _write(folder: Path, files: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for name, doc in files.items():
        path = folder / name
        path.write_bytes(procedure.canonical(doc))
        out.append(str(path))
    return out


def test_verify_good_files_and_a_bundle(tmp_path: Path) -> None:
    rules, entrants, draw = example_files()
    paths = _write(tmp_path, {"rules.json": rules, "entrants.json": entrants, "draw.json": draw})
    result = CliRunner().invoke(cli, ["giveaway", "verify", *paths])
    assert result.exit_code == 0, result.output
    assert f"winners: {', '.join(draw['winners'])}" in result.output
    assert "The draw checks out." in result.output
    bundle = _write(
        tmp_path,
        {
            "bundle.json": {
                "format": procedure.BUNDLE_FORMAT,
                "rules": rules,
                "entrants": entrants,
                "draw": draw,
            }
        },
    )
    assert CliRunner().invoke(cli, ["giveaway", "verify", *bundle]).exit_code == 0


def test_verify_a_tampered_list_fails_and_names_the_step(tmp_path: Path) -> None:
    rules, entrants, draw = example_files()
    entrants["entrants"] = [*entrants["entrants"], "99999"]
    paths = _write(tmp_path, {"rules.json": rules, "entrants.json": entrants, "draw.json": draw})
    result = CliRunner().invoke(cli, ["giveaway", "verify", *paths])
    assert result.exit_code == 1
    assert "BAD list_hash" in result.output and "does NOT check out" in result.output


def test_verify_refuses_what_is_not_a_giveaway(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text(json.dumps({"hello": 1}))
    result = CliRunner().invoke(cli, ["giveaway", "verify", str(other)])
    assert result.exit_code == 2 and "not a giveaway's files" in result.output
