"""/metrics and the operations snapshot against a known database: every figure checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from rupor.core import disk
from rupor.operations import testing as ot
from rupor.operations.metrics import render
from rupor.operations.snapshot import operations_snapshot

pytestmark = pytest.mark.django_db

TOKEN = "a-very-long-random-scrape-token-0123456789"


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Any:
    with ot.built(settings, tmp_path) as w:
        yield w


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _types(text: str) -> dict[str, str]:
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def test_the_scrape_parses_and_says_what_the_database_holds(world):
    text = render().decode()
    m = _samples(text)

    def v(name: str, **labels: str) -> float:
        return m[(name, tuple(sorted(labels.items())))]

    # Targets by state, every state named (zeros too); due now and the oldest of them (b's, 300 s).
    assert v("rupor_publication_targets", state="scheduled") == 3
    assert v("rupor_publication_targets", state="published") == 4
    assert v("rupor_publication_targets", state="failed") == 1
    assert v("rupor_publication_targets", state="held") == 1
    assert v("rupor_publication_targets", state="cancelled") == 0
    assert v("rupor_publication_due_targets") == 3
    assert v("rupor_publication_oldest_due_seconds") == 300
    # Lateness of the last hour, per network: VK has a's 40 s and b's 2000 s; Telegram a's 3 s;
    # a's post of two hours ago is outside the window.
    assert v("rupor_publication_lateness_seconds_bucket", network="vk", le="30") == 0
    assert v("rupor_publication_lateness_seconds_bucket", network="vk", le="60") == 1
    assert v("rupor_publication_lateness_seconds_bucket", network="vk", le="1800") == 1
    assert v("rupor_publication_lateness_seconds_bucket", network="vk", le="3600") == 2
    assert v("rupor_publication_lateness_seconds_bucket", network="vk", le="+Inf") == 2
    assert v("rupor_publication_lateness_seconds_gsum", network="vk") == 2040
    assert v("rupor_publication_lateness_seconds_gcount", network="telegram") == 1
    assert v("rupor_publication_lateness_seconds_bucket", network="telegram", le="5") == 1
    # Attempts that ended in the last hour by network and outcome.
    assert v("rupor_publication_attempts_recent", network="vk", outcome="published") == 2
    assert v("rupor_publication_attempts_recent", network="vk", outcome="rejected") == 1
    assert v("rupor_publication_attempts_recent", network="vk", outcome="rate_limited") == 1
    assert v("rupor_publication_attempts_recent", network="telegram", outcome="published") == 1
    assert v("rupor_publication_failures_24h", network="vk") == 1
    assert v("rupor_channels_with_errors", network="vk") == 1
    # Workers: one alive, one gone quiet, one stopped; the alive one's rate-limit waits.
    assert v("rupor_workers_alive") == 1
    assert v("rupor_worker_alive", worker="host:1:alive", host="host") == 1
    assert v("rupor_worker_alive", worker="host:2:stale", host="host") == 0
    assert v("rupor_worker_heartbeat_age_seconds", worker="host:2:stale", host="host") == 600
    assert v("rupor_worker_stopped", worker="host:2:stale", host="host") == 0
    assert v("rupor_worker_stopped", worker="host:3:stopped", host="other") == 1
    assert v("rupor_worker_in_flight", worker="host:1:alive") == 2
    assert v("rupor_worker_handled_total", worker="host:1:alive") == 40
    assert v("rupor_rate_limit_waits_total", worker="host:1:alive", network="vk", how="inline") == 3
    assert v("rupor_rate_limit_waits_total", worker="host:1:alive", network="vk", how="deferred") == 2
    assert v("rupor_rate_limit_wait_seconds_total", worker="host:1:alive", network="vk", how="deferred") == 10
    # The inbox: waiting items (ours and done ones not counted), staged deliveries, polls failing,
    # and how long the items received in the last hour took to arrive.
    assert v("rupor_inbox_waiting_items") == 3
    assert v("rupor_inbox_oldest_waiting_seconds") == 3 * 3600
    assert v("rupor_inbox_staged_deliveries") == 3
    assert v("rupor_inbox_staged_stuck_deliveries") == 1
    assert v("rupor_inbox_oldest_staged_seconds") == 40 * 60
    assert v("rupor_inbox_polls_failing_channels") == 1
    assert v("rupor_inbox_intake_latency_seconds_gcount", network="vk") == 2  # c2 (10 s) and b1; c1 is older
    assert v("rupor_inbox_intake_latency_seconds_bucket", network="vk", le="15") == 1
    # Collection: three overdue readings, the oldest five hours late.
    assert v("rupor_analytics_overdue_readings", network="vk") == 2
    assert v("rupor_analytics_overdue_readings", network="telegram") == 1
    assert v("rupor_analytics_collection_lag_seconds") == 5 * 3600
    # The outbox: pending by channel, due now, the oldest due, and those given up on.
    assert v("rupor_notification_outbox_pending", channel="email") == 2
    assert v("rupor_notification_outbox_pending", channel="webhook") == 1
    assert v("rupor_notification_outbox_due") == 2
    assert v("rupor_notification_outbox_oldest_due_seconds") == 600
    assert v("rupor_notification_outbox_failed_24h") == 1
    # Disk: the libraries as stored, and RUPOR_HOME as walked.
    assert v("rupor_media_library_bytes") == 1350
    assert v("rupor_media_library_files") == 3
    assert v("rupor_home_bytes", part="media") == 1000
    assert v("rupor_home_bytes", part="database") == 24
    assert v("rupor_home_bytes", part="total") >= 1024
    assert v("rupor_home_disk_free_bytes") > 0
    assert v("rupor_info", version=m_version(m)) == 1
    assert v("rupor_scrape_duration_seconds") >= 0

    types = _types(text)
    assert types["rupor_publication_lateness_seconds"] == "histogram"
    assert types["rupor_rate_limit_waits"] == "counter"
    assert types["rupor_worker_handled"] == "counter"
    assert types["rupor_publication_targets"] == "gauge"


def m_version(m: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> str:
    (labels,) = [dict(k[1]) for k in m if k[0] == "rupor_info"]
    return labels["version"]


def test_a_workspace_snapshot_holds_its_own_figures_and_the_instance_workers(world):
    snap = operations_snapshot(world.a.pk)
    assert snap.engine.backlog == 2
    assert snap.engine.oldest_due_s == 120
    assert sorted(snap.engine.lateness_recent) == ["telegram", "vk"]
    assert snap.engine.lateness_recent["vk"].count == 1  # b's late VK post is not a's
    assert snap.engine.attempts_recent == {
        "vk": {"published": 1, "rate_limited": 1, "rejected": 1},
        "telegram": {"published": 1},
    }
    # Last errors per channel: the newest stuck publication of each of a's channels.
    errors = {e.name: (e.state, e.message) for e in snap.engine.publish_errors}
    assert errors == {
        "A on VK": ("failed", "The text is too long."),
        "A on Telegram": ("held", "Reconnect it."),
    }
    assert [e.name for e in snap.engine.channel_errors] == ["A on VK"]
    assert snap.intake.waiting == 2
    assert snap.intake.oldest_waiting_s == 90 * 60
    assert (snap.intake.staged, snap.intake.staged_stuck) == (2, 1)
    assert snap.intake.oldest_staged_s == 30 * 60
    assert snap.collection.overdue == 2
    assert snap.collection.oldest_overdue_s == 3 * 3600
    assert snap.outbox.pending == {"email": 1, "webhook": 1}
    assert snap.outbox.oldest_due_s == 60
    assert (snap.media.files, snap.media.bytes) == (2, 350)
    # The workers are the instance's, whichever workspace asks.
    assert {w.worker_id for w in snap.engine.workers} == {"host:1:alive", "host:2:stale", "host:3:stopped"}
    stopped = next(w for w in snap.engine.workers if w.worker_id == "host:3:stopped")
    assert stopped.stopped and not stopped.alive
    # b sees none of a's.
    other = operations_snapshot(world.b.pk)
    assert (other.engine.backlog, other.intake.waiting, other.collection.overdue) == (1, 1, 1)
    assert other.engine.publish_errors == () and other.engine.channel_errors == ()
    assert (other.media.files, other.media.bytes) == (1, 1000)


def test_metrics_is_off_without_a_token(world, settings):
    settings.RUPOR_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_metrics_asks_for_the_bearer_token(world, settings):
    settings.RUPOR_METRICS_TOKEN = TOKEN
    client = Client()
    for header in ("", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
        res = client.get("/metrics", HTTP_AUTHORIZATION=header) if header else client.get("/metrics")
        assert res.status_code == 401, header
        assert res["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in res.content.decode()
    res = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert res.status_code == 200
    assert res["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in res["Cache-Control"] or "no-store" in res["Cache-Control"]
    assert _samples(res.content.decode())[("rupor_publication_due_targets", ())] == 3
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    assert client.head("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_an_empty_instance_scrapes_to_zeros(settings, tmp_path):
    settings.RUPOR_HOME = tmp_path
    disk.forget()
    m = _samples(render().decode())
    assert m[("rupor_publication_due_targets", ())] == 0
    assert m[("rupor_publication_oldest_due_seconds", ())] == 0
    assert m[("rupor_inbox_oldest_staged_seconds", ())] == 0
    assert m[("rupor_workers_alive", ())] == 0
    assert m[("rupor_publication_targets", (("state", "scheduled"),))] == 0
