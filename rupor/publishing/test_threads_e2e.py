"""A thread published by the engine against the X and Bluesky emulators: one post and two
replies, each replying to the one before, and nothing posted twice."""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

import pytest

from rupor.publishing import engine, ratelimit
from rupor.publishing import testing as pt
from rupor.publishing.models import FINAL_STATES, TargetState
from rupor.publishing.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_policy() -> Any:
    saved = (engine.POLICY.backoff_base_s, engine.POLICY.reconcile_delay_s)
    engine.POLICY.backoff_base_s = 0.2
    engine.POLICY.reconcile_delay_s = 0.3
    previous = ratelimit.use("memory")
    yield
    engine.POLICY.backoff_base_s, engine.POLICY.reconcile_delay_s = saved
    ratelimit.use(previous)


def _publish(network: str, marker: str) -> Any:
    mod = importlib.import_module(f"rupor.networks.{network}.testing")
    emulator = mod.start(rate_limits=False)
    ch = pt.channel(pt.workspace(), mod.channel_for(emulator))
    thread = [f"2/3 {marker}", f"3/3 {marker}"]
    target = pt.schedule(ch, f"1/3 {marker}", options={"thread": thread})
    deadline = time.monotonic() + 30
    while pt.states([target.pk]) and not all(s in FINAL_STATES for s in pt.states([target.pk])):
        run_worker(once=True, concurrency=2, worker_id="w-thread")
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert pt.states([target.pk]) == {TargetState.PUBLISHED: 1}
    assert mod.posts_with(emulator, marker) == 3
    return emulator


def test_an_x_thread_is_three_posts_each_replying_to_the_one_before() -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    emulator = _publish("x", marker)
    try:
        tweets = sorted(
            (t for t in emulator.app.emulator.tweets.values() if marker in t.text), key=lambda t: t.text
        )
        assert [t.text.split()[0] for t in tweets] == ["1/3", "2/3", "3/3"]
        assert [t.in_reply_to for t in tweets] == [None, tweets[0].id, tweets[1].id]
    finally:
        emulator.stop()


def test_a_bluesky_thread_is_three_posts_each_replying_to_the_one_before() -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    emulator = _publish("bluesky", marker)
    try:
        records = sorted(
            (r for r in emulator.app.emulator.records.values() if marker in str(r.value.get("text", ""))),
            key=lambda r: str(r.value["text"]),
        )
        assert [str(r.value["text"]).split()[0] for r in records] == ["1/3", "2/3", "3/3"]
        parents = [((r.value.get("reply") or {}).get("parent") or {}).get("uri") for r in records]
        roots = [((r.value.get("reply") or {}).get("root") or {}).get("uri") for r in records]
        assert parents == [None, records[0].uri, records[1].uri]
        assert roots == [None, records[0].uri, records[0].uri]
    finally:
        emulator.stop()


def test_a_mastodon_thread_is_three_statuses_each_replying_to_the_one_before() -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    emulator = _publish("mastodon", marker)
    try:
        statuses = sorted(
            (s for s in emulator.app.emulator.statuses.values() if marker in s.text), key=lambda s: s.text
        )
        assert [s.text.split()[0] for s in statuses] == ["1/3", "2/3", "3/3"]
        assert [s.in_reply_to_id for s in statuses] == [None, statuses[0].id, statuses[1].id]
    finally:
        emulator.stop()
