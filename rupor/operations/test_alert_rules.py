"""The alert rules of docs/prometheus: every Rupor metric they name is one /metrics serves, and
(where promtool is installed) they load and pass their own unit tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from rupor.operations import testing as ot
from rupor.operations.metrics import render

RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus"


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load((RULES / "rupor-alerts.yml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


@pytest.mark.django_db
def test_every_metric_an_alert_names_is_served(settings: Any, tmp_path: Any) -> None:
    with ot.built(settings, tmp_path):
        served = {s.name for f in text_string_to_metric_families(render().decode()) for s in f.samples}
    named = {name for rule in _rules() for name in re.findall(r"\brupor_[a-z0-9_]+", rule["expr"])}
    assert named, "no rule names a Rupor metric"
    assert named - served == set()


def test_every_alert_says_how_bad_and_what_happened() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Prometheus) is not installed here")
def test_promtool_loads_the_rules_and_passes_their_tests() -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", "rupor-alerts.yml"],
        cwd=RULES,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        ["promtool", "test", "rules", "rupor-alerts.test.yml"],
        cwd=RULES,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
