"""The engine's fast path (a claimed batch read in one go, an attempt started and finished by one
conditional write each) and the database rate-limit backend.

The fast path decides from a snapshot taken at claim time; everything that can change between
the claim and the call (a person pausing the channel, rescheduling or cancelling the post,
another worker taking over an expired lease, new credentials) must still be honoured.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks.base import RateLimit
from rupor.planning.models import PostVariant
from rupor.publishing import engine, ratelimit, service
from rupor.publishing import testing as pt
from rupor.publishing.models import Attempt, PublicationTarget, RateBucket, TargetEvent, TargetState

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _setup():
    with pt.scripted_engine(T0):
        yield


def _channel(network: str = "scripted", token: str = "t") -> Channel:
    return pt.channel(pt.workspace(late_window_minutes=30), pt.scripted_access(network, token))


def _path(target_id: int) -> list[str]:
    return [e.to_state for e in TargetEvent.objects.filter(target_id=target_id)]


def test_a_claimed_batch_publishes_with_few_statements_and_records_everything():
    ch = _channel()
    ids = [pt.schedule(ch, f"post {i}", T0).pk for i in range(12)]
    engine.publish_claimed(engine.claim_batch("w", 2)[0], "w")  # warm-up (imports, first queries)
    with CaptureQueriesContext(connection) as queries:
        claims = engine.claim_batch("w", 10)
        assert len(claims) == 10
        for claim in claims:
            assert engine.publish_claimed(claim, "w") == TargetState.PUBLISHED
    per_target = len(queries.captured_queries) / 10
    # Per batch: the claim and one read (three queries). Per target: the start and the finish,
    # one statement each on PostgreSQL, three each in a transaction on SQLite (whose BEGIN and
    # COMMIT are counted here), plus the progress the scripted adapter saves. Was 25 and more.
    assert per_target <= (4 if connection.vendor == "postgresql" else 12), per_target
    for target_id in [c.id for c in claims]:
        t = PublicationTarget.objects.get(pk=target_id)
        assert (t.state, t.attempts, t.lease_owner, t.lease_expires_at, t.next_attempt_at) == (
            TargetState.PUBLISHED,
            1,
            "",
            None,
            None,
        )
        assert t.published_at == T0 and t.remote_id.startswith("p")
        assert _path(target_id) == ["scheduled", "publishing", "published"]
        attempt = Attempt.objects.get(target_id=target_id)
        assert (attempt.number, attempt.worker, attempt.outcome, attempt.started_at, attempt.finished_at) == (
            1,
            "w",
            "published",
            T0,
            T0,
        )
    assert len(pt.ScriptedAdapter.ledger) == 11
    assert sorted(ids) == sorted(PublicationTarget.objects.values_list("pk", flat=True))


def test_the_attempt_is_stored_before_the_call():
    ch = _channel()
    t = pt.schedule(ch, "hello", T0)
    seen: list[tuple[str, int, list[str]]] = []
    original = pt.ScriptedAdapter.publish

    def spy(self, channel, request, progress):
        row = PublicationTarget.objects.get(pk=t.pk)
        seen.append(
            (row.state, Attempt.objects.filter(target=row, finished_at__isnull=True).count(), _path(t.pk))
        )
        return original(self, channel, request, progress)

    pt.ScriptedAdapter.publish = spy  # type: ignore[method-assign]  # a spy on the test adapter, restored below
    try:
        engine.publish_claimed(engine.claim_batch("w", 5)[0], "w")
    finally:
        pt.ScriptedAdapter.publish = original  # type: ignore[method-assign]  # a spy on the test adapter, restored below
    assert seen == [(TargetState.PUBLISHING, 1, ["scheduled", "publishing"])]


def test_channel_paused_after_the_claim_is_not_published():
    ch = _channel()
    t = pt.schedule(ch, "hello", T0)
    [claim] = engine.claim_batch("w", 5)
    Channel.objects.filter(pk=ch.pk).update(status=Channel.Status.PAUSED)
    assert engine.publish_claimed(claim, "w") == TargetState.SCHEDULED
    t = PublicationTarget.objects.get(pk=t.pk)
    assert (t.state, t.lease_owner, t.attempts) == (TargetState.SCHEDULED, "", 0)
    assert pt.ScriptedAdapter.ledger == []
    assert not Attempt.objects.filter(target=t).exists()


def test_rescheduled_after_the_claim_is_not_sent_early():
    ch = _channel()
    t = pt.schedule(ch, "hello", T0)
    [claim] = engine.claim_batch("w", 5)
    later = T0 + dt.timedelta(hours=1)
    service.sync_targets(
        t.workspace_id, [service.VariantPlan(t.variant_id, t.channel_id)], scheduled=True, due_at=later
    )
    assert engine.publish_claimed(claim, "w") == TargetState.SCHEDULED
    assert PublicationTarget.objects.get(pk=t.pk).next_attempt_at == later
    assert pt.ScriptedAdapter.ledger == []


def test_cancelled_after_the_claim_is_not_sent():
    ch = _channel()
    t = pt.schedule(ch, "hello", T0)
    [claim] = engine.claim_batch("w", 5)
    service.cancel_targets([t.variant_id])
    assert engine.publish_claimed(claim, "w") == TargetState.CANCELLED
    assert pt.ScriptedAdapter.ledger == []


def test_a_lease_taken_over_after_the_claim_is_left_alone():
    ch = _channel()
    t = pt.schedule(ch, "hello", T0)
    [claim] = engine.claim_batch("slow", 5)
    clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
    assert engine.claim_due_targets("fast", 5) == [t.pk]
    assert engine.publish_claimed(claim, "slow") == TargetState.SCHEDULED  # not ours any more: no call
    assert pt.ScriptedAdapter.ledger == []
    assert PublicationTarget.objects.get(pk=t.pk).lease_owner == "fast"
    assert engine.publish_target(t.pk, "fast") == TargetState.PUBLISHED
    assert len(pt.ScriptedAdapter.ledger) == 1


def test_a_lease_lost_between_the_claim_and_the_call_is_left_alone():
    ch = _channel()
    t = pt.schedule(ch, "hello", T0)
    [claim] = engine.claim_batch("slow", 5)
    # The snapshot still says "ours" but the row no longer does: the conditional write decides.
    PublicationTarget.objects.filter(pk=t.pk).update(lease_owner="other")
    assert engine.publish_claimed(claim, "slow") == TargetState.SCHEDULED
    assert pt.ScriptedAdapter.ledger == []
    assert (
        PublicationTarget.objects.get(pk=t.pk).lease_owner,
        Attempt.objects.filter(target_id=t.pk).count(),
    ) == ("other", 0)


def test_content_edited_while_a_claim_waited_is_read_again():
    ch = _channel()
    t = pt.schedule(ch, "first draft", T0)
    [claim] = engine.claim_batch("w", 5)
    assert claim.content is not None and claim.content[1].text == "first draft"
    PostVariant.objects.filter(pk=t.variant_id).update(text="final text")
    claim.read_at -= engine.CONTENT_FRESH_S + 1  # it waited in the worker (behind a rate limit, say)
    assert engine.publish_claimed(claim, "w") == TargetState.PUBLISHED
    assert [p["text"] for p in pt.ScriptedAdapter.ledger] == ["final text"]


def test_late_or_invalid_targets_take_the_locked_path():
    ch = _channel()
    late = pt.schedule(ch, "late", T0 - dt.timedelta(hours=2))
    claims = engine.claim_batch("w", 5)
    assert [c.id for c in claims] == [late.pk]
    assert engine.publish_claimed(claims[0], "w") == TargetState.MISSED
    assert pt.ScriptedAdapter.ledger == []


def test_new_credentials_are_used_at_once():
    ch = _channel(token="old-token")
    pt.schedule(ch, "one", T0)
    [claim] = engine.claim_batch("w", 5)
    assert engine._access_cache.get(claim).credentials == {"token": "old-token"}
    engine.publish_claimed(claim, "w")
    ch.set_credentials({"token": "new-token"})
    ch.save()
    pt.schedule(ch, "two", T0)
    [claim] = engine.claim_batch("w", 5)
    assert engine._access_cache.get(claim).credentials == {"token": "new-token"}


def test_a_publish_that_the_network_finishes_later_keeps_the_locked_path():
    # Two-step publishing and reconciliation are not on the fast path: they behave as before.
    ch = _channel("scripted_idem")
    t = pt.schedule(ch, "hello", T0)
    pt.ScriptedIdempotent.reset("timeout_after")
    engine.publish_claimed(engine.claim_batch("w", 5)[0], "w")
    assert PublicationTarget.objects.get(pk=t.pk).state == TargetState.PUBLISHING
    clock.advance(dt.timedelta(seconds=engine.POLICY.reconcile_delay_s + 1))
    [claim] = engine.claim_batch("w", 5)
    assert engine.publish_claimed(claim, "w") == TargetState.PUBLISHED
    assert _path(t.pk) == ["scheduled", "publishing", "published"]
    assert len(pt.ScriptedIdempotent.ledger) == 1


def test_idle_worker_sleeps_until_the_next_due_target():
    ch = _channel()
    assert engine.seconds_until_due(at_most=1.0) == 1.0
    pt.schedule(ch, "soon", T0 + dt.timedelta(seconds=0.3))
    assert engine.seconds_until_due(at_most=1.0) == pytest.approx(0.3)
    pt.schedule(ch, "due", T0)  # already due: claimed right away, not waited for
    assert engine.seconds_until_due(at_most=1.0) == pytest.approx(0.3)


def test_one_thread_waits_for_a_busy_token_the_others_serve_other_channels():
    pt.ScriptedAdapter.limits_per_s = 1
    try:
        busy, other = _channel(token="busy"), _channel(token="other")
        for i in range(3):
            pt.schedule(busy, f"busy {i}", T0)
        pt.schedule(other, "other", T0)
        works: dict[int, engine._Work] = {}
        for claim in engine.claim_batch("w", 10):
            work = engine._begin_fast(claim, "w")
            assert work is not None
            works[claim.id] = work
        first, second, third, elsewhere = (works[t.pk] for t in PublicationTarget.objects.order_by("pk"))
        engine.RATE_WAITS.forget("w")
        assert engine._rate_wait(first, "w") == 0.0  # charged: the token is now busy for ~1 s
        assert engine.RATE_WAITS.of("w") == {}  # room at once: no wait counted
        waited: list[float] = []
        waiter = threading.Thread(target=lambda: waited.append(engine._rate_wait(second, "w")))
        waiter.start()
        time.sleep(0.1)
        started = time.monotonic()
        # Another thread wanting the same token does not sleep too: its target goes back for a while...
        assert engine._rate_wait(third, "w") >= engine.POLICY.rate_defer_s
        # ...and another token's target goes at once.
        assert engine._rate_wait(elsewhere, "w") == 0.0
        assert time.monotonic() - started < 0.5
        waiter.join()
        assert waited == [0.0]  # the one waiting thread got the next slot
        # What the waits cost, as the worker's heartbeat stores it: one inline, one put back.
        (costs,) = engine.RATE_WAITS.of("w").values()
        assert (costs["inline"], costs["deferred"]) == (1, 1)
        assert costs["inline_s"] > 0 and costs["deferred_s"] >= engine.POLICY.rate_defer_s
        engine.RATE_WAITS.forget("w")
    finally:
        pt.ScriptedAdapter.limits_per_s = None


# -- the database rate-limit backend ---------------------------------------------------------


def test_database_buckets_space_calls_and_charge_all_or_nothing():
    ratelimit.use("database")
    a = [RateLimit("fast", 10, 1.0)]
    both = [RateLimit("fast", 10, 1.0), RateLimit("slow", 1, 60.0)]
    assert ratelimit.try_acquire(both, margin=1.0) == 0.0  # both buckets created and charged
    fast_tat = RateBucket.objects.get(key=ratelimit._charges(a, 1.0)[0].key).tat
    # "slow" has no room for a minute: nothing is charged, and the wait is about a minute
    wait = ratelimit.try_acquire(both, margin=1.0)
    assert 59 < wait <= 60
    assert RateBucket.objects.get(key=ratelimit._charges(a, 1.0)[0].key).tat == fast_tat
    # "fast" alone: one call per 0.1 s
    time.sleep(max(0.0, fast_tat - time.time()) + 0.01)
    assert ratelimit.try_acquire(a, margin=1.0) == 0.0
    assert 0 < ratelimit.try_acquire(a, margin=1.0) <= 0.1


def test_database_buckets_first_use_by_many_workers_at_once_charges_one():
    from django.db import connections

    ratelimit.use("database")
    for round_ in range(5):
        limits = [RateLimit(f"bot-{round_}", 30, 1.0), RateLimit(f"chat-{round_}", 1, 1.0)]
        barrier = threading.Barrier(4)
        waits: list[float] = []

        def take(
            limits: list[RateLimit] = limits, barrier: threading.Barrier = barrier, waits: list[float] = waits
        ) -> None:
            barrier.wait()
            try:
                waits.append(ratelimit.try_acquire(limits))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=take) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        # exactly one caller was let through; the others were told to wait for the next slot
        assert sorted(w <= 0 for w in waits) == [False, False, False, True], waits
        assert all(w <= 0 or 0.9 < w <= 1.1 for w in waits), waits


def test_database_penalty_holds_every_worker_back():
    ratelimit.use("database")
    limits = [RateLimit("penalized", 100, 1.0)]
    ratelimit.penalize(limits, 30)
    assert 29 < ratelimit.try_acquire(limits) <= 30
