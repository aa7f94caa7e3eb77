"""The engine's side of operations: a log line per attempt with its ids, and the rate-limit
waits a worker carries in its heartbeat to the health snapshot."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from rupor.networks import errors
from rupor.publishing import engine, health, worker
from rupor.publishing import testing as pt
from rupor.publishing.models import Attempt, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _setup():
    with pt.scripted_engine(T0):
        yield


def test_each_attempt_logs_one_line_with_the_ids(caplog):
    ws = pt.workspace()
    ch = pt.channel(ws, pt.scripted_access())
    target = pt.schedule(ch, "hello", T0)
    pt.ScriptedAdapter.reset(errors.Transient("The network is busy."))
    caplog.set_level(logging.INFO, logger="rupor.publishing.engine")
    worker.run_worker(once=True, concurrency=1, worker_id="w-log")
    lines = [r for r in caplog.records if getattr(r, "action", None) == "publish.attempt"]
    assert lines, caplog.text
    first = lines[0]
    attempt = Attempt.objects.filter(target=target).order_by("number").first()
    assert attempt is not None
    assert (first.workspace_id, first.channel_id, first.target_id) == (ws.pk, ch.pk, target.pk)
    assert first.attempt_id == attempt.pk
    assert first.network == "scripted"
    assert first.worker_id == "w-log"
    assert first.outcome == attempt.outcome
    assert attempt.outcome == "transient"
    assert (
        first.getMessage() == f"target {target.pk} on scripted: transient -> scheduled (The network is busy.)"
    )
    assert first.levelno == logging.WARNING


def test_rate_limit_waits_travel_in_the_heartbeat_to_the_snapshot():
    engine.RATE_WAITS.forget("w-a")
    engine.RATE_WAITS.add("w-a", "vk", "inline", 0.5)
    engine.RATE_WAITS.add("w-a", "vk", "inline", 0.25)
    engine.RATE_WAITS.add("w-a", "vk", "deferred", 4.0)
    engine.RATE_WAITS.add("w-b", "vk", "deferred", 2.0)
    engine.RATE_WAITS.add("w-b", "ok", "inline", 1.0)
    worker._heartbeat("w-a", 0, 3)
    worker._heartbeat("w-b", 1, 5)
    assert WorkerHeartbeat.objects.get(worker_id="w-a").rate_waits == {
        "vk": {"inline": 2, "inline_s": 0.75, "deferred": 1, "deferred_s": 4.0}
    }
    snap = health.health_snapshot()
    assert snap.rate_waits["vk"] == {"inline": 2, "inline_s": 0.75, "deferred": 2, "deferred_s": 6.0}
    assert snap.rate_waits["ok"]["inline"] == 1
    by_id = {w.worker_id: w for w in snap.workers}
    assert by_id["w-b"].rate_waits["ok"]["inline_s"] == 1.0
    assert by_id["w-a"].alive and not by_id["w-a"].stopped
    # A worker that stops says so, keeps its last figures and frees this process's.
    worker._heartbeat("w-a", 0, 3, stopped=True)
    assert engine.RATE_WAITS.of("w-a") == {}
    stopped = {w.worker_id: w for w in health.health_snapshot().workers}["w-a"]
    assert stopped.stopped and not stopped.alive
    assert stopped.rate_waits["vk"]["deferred"] == 1
    engine.RATE_WAITS.forget("w-b")
