"""``rupor operations``: the instance's snapshot as text, JSON or the Prometheus text of /metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from rupor.cli.main import cli
from rupor.operations import testing as ot

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Any:
    with ot.built(settings, tmp_path) as w:
        yield w


def test_the_summary_names_what_needs_an_operator(world):
    result = CliRunner().invoke(cli, ["operations"], prog_name="rupor")
    assert result.exit_code == 0, result.output
    assert "Workers alive: 1" in result.output
    assert "host:2:stale on host: STALE" in result.output
    assert "Publishing: 3 due now (most overdue 300 s)" in result.output
    assert "Inbox: 3 waiting for an answer; 3 webhook deliveries staged (1 given up on" in result.output
    assert "Metric readings overdue: 3" in result.output


def test_prometheus_text_and_json(world):
    text = CliRunner().invoke(cli, ["operations", "--prometheus"], prog_name="rupor").output
    samples = {
        s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels
    }
    assert samples["rupor_publication_due_targets"] == 3
    data = json.loads(CliRunner().invoke(cli, ["operations", "--json"], prog_name="rupor").output)
    assert data["engine"]["backlog"] == 3
    assert data["workspace_id"] is None
    assert "path" not in data["home"]
    both = CliRunner().invoke(cli, ["operations", "--json", "--prometheus"], prog_name="rupor")
    assert both.exit_code == 2
    assert "Choose one" in both.output
