"""The offline demo as a new user meets it: verified channels and a plan the mix meter can read."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from rupor.cli import demo
from rupor.core import clock
from rupor.networks import registry

pytestmark = pytest.mark.django_db(transaction=True)


def _free_block(size: int) -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port block")


@pytest.fixture
def emulators(monkeypatch):
    monkeypatch.setenv("RUPOR_DEMO_PORT_BASE", str(_free_block(demo.demo_port_count())))
    running = demo.start_emulators()
    yield running
    for emulator in running:
        emulator.stop()


def test_demo_channels_show_as_verified_and_follow_the_emulators(emulators, monkeypatch):
    from rupor.channels.models import Channel

    demo.ensure_demo()  # what 'rupor demo' does before the emulators run
    assert Channel.live.filter(verified_at__isnull=True).exists()
    info = demo.ensure_demo(verify=True)  # what 'rupor serve --demo' does with them running
    channels = list(Channel.live.filter(workspace__slug=info["workspace"]))
    assert {c.network for c in channels} == set(registry.available())
    assert all(c.verified_at is not None for c in channels)
    assert {c.base_url for c in channels} == set(demo.demo_urls().values())


def test_demo_plan_fills_the_mix_meter(emulators):
    from rupor.accounts.models import Workspace
    from rupor.planning import mix

    info = demo.ensure_demo(verify=True)
    ws = Workspace.objects.get(slug=info["workspace"])
    now = clock.now()
    report = mix.mix(ws.pk, now, now + dt.timedelta(days=14))
    assert report
    for channel in report:
        assert channel.total >= 8
        used = [s for s in channel.rubrics if s.posts and s.rubric_id is not None]
        assert len(used) >= 4 and all(s.target_share > 0 for s in used)
        assert not any(s.rubric_id is None for s in channel.rubrics)  # every post has a rubric
        assert channel.warnings  # selling past its share: the meter has something to say at once


@pytest.mark.parametrize(
    "today", ["2026-12-04T09:00:00+00:00", "2026-12-30T21:30:00+00:00", "2026-12-31T20:59:00+00:00"]
)
def test_demo_plan_is_in_the_future_and_mostly_this_month(today):
    from zoneinfo import ZoneInfo

    now = dt.datetime.fromisoformat(today)
    samples = demo._samples(now, ZoneInfo("Europe/Moscow"))
    times = [when for *_rest, when in samples if when is not None]
    assert len(times) == len(demo.DEMO_PLAN) + 1 and all(t > now for t in times)


def test_demo_runs_when_an_emulator_does_not_answer(monkeypatch):
    from rupor.channels.models import Channel

    monkeypatch.setenv(
        "RUPOR_DEMO_PORT_BASE", str(_free_block(len(registry.NETWORKS)))
    )  # nothing listens there
    info = demo.ensure_demo(verify=True)
    channels = list(Channel.live.filter(workspace__slug=info["workspace"]))
    assert {c.network for c in channels} == set(registry.available())
    assert all(c.verified_at is None for c in channels)  # shown as "Not verified", not hidden
