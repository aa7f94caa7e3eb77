"""`rupor analytics best-time` and `rupor analytics ab-tests` print what the domain computes."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from rupor.accounts import service as accounts
from rupor.analytics.models import ABTest, PostStat
from rupor.channels.models import Channel
from rupor.cli.main import cli
from rupor.core import clock
from rupor.planning.models import QueueSlot

pytestmark = pytest.mark.django_db


def test_best_time_lists_and_applies_the_best_hours() -> None:
    ws = accounts.create_workspace(
        "Bakery", accounts.create_user("o@example.com", "a-long-enough-passphrase-42"), timezone="UTC"
    )
    channel = Channel.objects.create(workspace=ws, network="vk", name="Bakery VK", remote_id="-1")
    start = clock.now() - dt.timedelta(weeks=6)
    start = (start - dt.timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    for i in range(5):
        for day, hour, value in ((1, 8, 40), (4, 20, 10)):
            PostStat.objects.create(
                workspace=ws,
                channel=channel,
                remote_post_id=f"{i}-{day}",
                published_at=start + dt.timedelta(weeks=i, days=day, hours=hour),
                engagements_24h=value,
                age_24h_hours=24.0,
            )
    out = CliRunner().invoke(
        cli,
        [
            "analytics",
            "best-time",
            "--workspace",
            ws.slug,
            "--channel",
            str(channel.pk),
            "--heatmap",
            "--apply",
            "1",
        ],
    )
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("Bakery VK: 10 posts")
    assert lines[1].startswith("1\tTue 08:00\t")
    assert "Queue: added Tue 08:00" in out.output
    assert list(QueueSlot.objects.values_list("weekday", "time")) == [(1, dt.time(8))]
    missing = CliRunner().invoke(
        cli, ["analytics", "best-time", "--workspace", ws.slug, "--channel", "999999"]
    )
    assert missing.exit_code == 1 and "No such channel" in missing.output


def test_ab_tests_prints_each_result() -> None:
    ws = accounts.create_workspace(
        "Bakery", accounts.create_user("o@example.com", "a-long-enough-passphrase-42")
    )
    ABTest.objects.create(
        workspace=ws, name="Headline", a_successes=10, a_trials=100, b_successes=20, b_trials=100
    )
    out = CliRunner().invoke(cli, ["analytics", "ab-tests", "--workspace", ws.slug])
    assert out.exit_code == 0, out.output
    assert "A 10/100 = 10.00% [5.52%, 17.44%]" in out.output
    assert "p=0.0477" in out.output and "P(B>A)=97.5%" in out.output
