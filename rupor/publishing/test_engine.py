"""The engine's state machine and every failure class, against a scripted in-memory network.

The scripted network keeps a ledger of the posts it created, so "exactly once" is checked
against the network's own record. Tests against the HTTP emulators are in test_networks.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from django.utils import translation

from rupor.accounts import service as accounts
from rupor.accounts.models import Membership, User
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks import errors
from rupor.notifications import service as notifications
from rupor.notifications.models import Notification
from rupor.publishing import engine, service
from rupor.publishing import testing as pt
from rupor.publishing.models import Attempt, PublicationTarget, TargetEvent, TargetState
from rupor.publishing.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _setup():
    engine.POLICY.reconcile_delay_s = 5.0
    with pt.scripted_engine(T0):
        yield


def make(
    network: str = "scripted", *, late: int = 30, due: dt.datetime | None = None, text: str = "hello", **kw
):
    ws = pt.workspace(late_window_minutes=late)
    ch = pt.channel(ws, pt.scripted_access(network))
    return pt.schedule(ch, text, due or T0, **kw)


def drain() -> None:
    run_worker(once=True, concurrency=2, worker_id="w-test")


def reload(t: PublicationTarget) -> PublicationTarget:
    return PublicationTarget.objects.get(pk=t.pk)


def path(t: PublicationTarget) -> list[str]:
    return [e.to_state for e in TargetEvent.objects.filter(target=t)]


def test_publishes_once_and_records_every_transition():
    t = make()
    drain()
    t = reload(t)
    assert t.state == TargetState.PUBLISHED
    assert t.remote_id == "p1"
    assert path(t) == ["scheduled", "publishing", "published"]
    assert [a.outcome for a in Attempt.objects.filter(target=t)] == ["published"]
    assert pt.ScriptedAdapter().posts_with(t.idempotency_key) == 1
    drain()  # nothing due any more: no second post
    assert len(pt.ScriptedAdapter.ledger) == 1


def test_not_claimed_before_due_time():
    t = make(due=T0 + dt.timedelta(minutes=5))
    drain()
    assert reload(t).state == TargetState.SCHEDULED
    clock.advance(dt.timedelta(minutes=5))
    drain()
    assert reload(t).state == TargetState.PUBLISHED


def test_transient_error_backs_off_then_publishes():
    t = make()
    pt.ScriptedAdapter.reset(errors.Transient("The network is briefly unavailable."))
    drain()
    t = reload(t)
    assert t.state == TargetState.SCHEDULED
    assert t.error_kind == "transient"
    assert t.next_attempt_at is not None
    delay = (t.next_attempt_at - T0).total_seconds()
    assert 0 <= delay <= engine.POLICY.backoff_base_s  # full jitter (core/backoff.py)
    clock.advance(dt.timedelta(seconds=delay))
    drain()
    t = reload(t)
    assert t.state == TargetState.PUBLISHED
    assert path(t) == ["scheduled", "publishing", "scheduled", "publishing", "published"]
    assert len(pt.ScriptedAdapter.ledger) == 1


def test_rate_limited_honours_retry_after():
    t = make()
    pt.ScriptedAdapter.reset(errors.RateLimited("Too many requests.", retry_after=30))
    drain()
    t = reload(t)
    assert t.state == TargetState.SCHEDULED
    assert t.next_attempt_at is not None
    assert 30 <= (t.next_attempt_at - T0).total_seconds() <= 31


def test_attempts_are_bounded():
    t = make(late=10_000)
    pt.ScriptedAdapter.reset(*[errors.Transient("Still down.") for _ in range(50)])
    for _ in range(engine.POLICY.max_attempts + 2):
        drain()
        clock.advance(dt.timedelta(seconds=engine.POLICY.backoff_max_s + 1))
    t = reload(t)
    assert t.state == TargetState.FAILED
    assert t.attempts == engine.POLICY.max_attempts
    assert "Gave up after" in t.error_message
    assert pt.ScriptedAdapter.ledger == []


def test_rejected_fails_at_once_with_plain_message_and_notifies():
    t = make()
    pt.ScriptedAdapter.reset(errors.Rejected("The bot is not an administrator of the channel", code=403))
    drain()
    t = reload(t)
    assert t.state == TargetState.FAILED
    assert t.error_message == "The bot is not an administrator of the channel"
    assert t.attempts == 1
    assert Notification.objects.filter(workspace_id=t.workspace_id, target_id=t.pk, kind="failed").exists()
    # After a fix, a person retries every failed target in bulk.
    assert service.retry_failed(t.workspace_id) == 1
    drain()
    assert reload(t).state == TargetState.PUBLISHED


def test_notifications_are_titled_by_the_event_registry_in_each_members_language():
    owner = accounts.create_user("owner@example.com", None)
    ws = accounts.create_workspace("Titles", owner)
    for email, language in (("ru@example.com", "ru"), ("ko@example.com", "ko")):
        user = accounts.create_user(email, None)
        User.objects.filter(pk=user.pk).update(language=language)
        Membership.objects.create(workspace=ws, user=user, role=Role.EDITOR)
    t = pt.schedule(pt.channel(ws, pt.scripted_access()), "hello", T0)
    pt.ScriptedAdapter.reset(errors.Rejected("No.", code=403))
    drain()
    assert reload(t).state == TargetState.FAILED
    titles = dict(Notification.objects.filter(target_id=t.pk).values_list("user__email", "title"))
    assert titles == {
        "owner@example.com": "A post failed to publish",
        "ru@example.com": "Пост не удалось опубликовать",
        "ko@example.com": "게시물을 게시하지 못했습니다",
    }
    with translation.override("en"):
        assert titles["owner@example.com"] == str(notifications.EVENTS["failed"])


def test_broken_channel_settings_hold_the_target_until_a_person_saves_the_channel(caplog):
    t = make()
    # A value no save could have stored (an older version, a hand edit of the database).
    Channel.objects.filter(pk=t.channel_id).update(settings={"timeout": "soon", "pace": True})
    with caplog.at_level(logging.ERROR):
        drain()
        clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
        drain()
    assert caplog.text == ""  # not an internal error
    t = reload(t)
    assert (t.state, t.error_kind) == (TargetState.HELD, service.HELD_FOR_SETTINGS)
    assert "settings need fixing" in t.error_message and "timeout" in t.error_message
    channel = Channel.objects.get(pk=t.channel_id)
    assert (channel.status, channel.last_error_job) == (Channel.Status.ACTIVE, "publishing")
    assert "timeout" in channel.last_error
    assert pt.ScriptedAdapter.calls == [] and Attempt.objects.count() == 0
    assert Notification.objects.filter(target_id=t.pk, kind="held").exists()
    # Saving the channel drops what does not fit; the held post goes out.
    channels.update(Actor(t.workspace_id, Role.OWNER, label="owner"), t.channel_id, {"name": "Fixed"})
    channel = Channel.objects.get(pk=t.channel_id)
    assert (channel.settings, channel.last_error) == ({"pace": True}, "")
    assert reload(t).state == TargetState.SCHEDULED
    drain()
    assert reload(t).state == TargetState.PUBLISHED
    assert len(pt.ScriptedAdapter.ledger) == 1


def test_auth_expired_holds_the_channel_and_reconnect_releases():
    t = make()
    # Due a minute later, so only ``t`` meets the expired token (deterministic, whatever the threads do).
    other = pt.schedule(t.channel, "second", T0 + dt.timedelta(minutes=1))
    expired = errors.AuthExpired("The token was revoked; reconnect the channel.")
    pt.ScriptedAdapter.reset(expired)
    drain()
    t, other = reload(t), reload(other)
    ch = Channel.objects.get(pk=t.channel_id)
    assert ch.status == Channel.Status.RECONNECT
    assert t.state == TargetState.HELD
    clock.advance(dt.timedelta(minutes=2))
    engine.sweep()
    assert reload(other).state == TargetState.HELD
    ch.status = Channel.Status.ACTIVE
    ch.save()
    clock.advance(dt.timedelta(hours=3))  # reconnecting late still sends what was held
    service.release_held(ch.pk)
    drain()
    assert reload(t).state == TargetState.PUBLISHED
    assert reload(other).state == TargetState.PUBLISHED
    assert len(pt.ScriptedAdapter.ledger) == 2


def test_duplicate_with_remote_id_is_published():
    t = make()
    pt.ScriptedAdapter.reset(errors.Duplicate("Already posted.", remote_id="p77"))
    drain()
    t = reload(t)
    assert (t.state, t.remote_id) == (TargetState.PUBLISHED, "p77")


def test_not_supported_fails():
    t = make()
    pt.ScriptedAdapter.reset(errors.NotSupported("This channel cannot publish polls."))
    drain()
    assert reload(t).state == TargetState.FAILED


def test_unknown_outcome_without_idempotency_is_unconfirmed_never_resent():
    t = make()
    pt.ScriptedAdapter.reset("timeout_after")
    drain()
    t = reload(t)
    assert t.state == TargetState.PUBLISHING  # waiting to be reconciled
    clock.advance(dt.timedelta(seconds=engine.POLICY.reconcile_delay_s + 1))
    drain()
    t = reload(t)
    assert t.state == TargetState.UNCONFIRMED
    assert "look at the channel" in t.error_message
    assert len(pt.ScriptedAdapter.calls) == 1  # sent once, never again
    assert len(pt.ScriptedAdapter.ledger) == 1
    # A person resolves it with one click.
    assert service.resolve_unconfirmed(t.pk, "published") == TargetState.PUBLISHED
    assert len(pt.ScriptedAdapter.ledger) == 1


def test_unconfirmed_republish_sends_again_with_a_new_key():
    t = make()
    pt.ScriptedAdapter.reset("reset_after")
    drain()
    clock.advance(dt.timedelta(seconds=10))
    drain()
    assert reload(t).state == TargetState.UNCONFIRMED
    service.resolve_unconfirmed(t.pk, "republish")
    drain()
    t2 = reload(t)
    assert t2.state == TargetState.PUBLISHED
    assert t2.idempotency_key != t.idempotency_key


def test_unknown_outcome_with_idempotency_is_resent_with_the_same_key():
    t = make("scripted_idem")
    pt.ScriptedIdempotent.reset("timeout_after")
    drain()
    clock.advance(dt.timedelta(seconds=10))
    drain()
    t = reload(t)
    assert t.state == TargetState.PUBLISHED
    assert pt.ScriptedIdempotent.calls == [t.idempotency_key, t.idempotency_key]
    assert len(pt.ScriptedIdempotent.ledger) == 1


def test_unknown_outcome_is_reconciled_by_lookup():
    t = make("scripted_search")
    pt.ScriptedSearchable.reset("timeout_after")
    drain()
    clock.advance(dt.timedelta(seconds=10))
    drain()
    t = reload(t)
    assert t.state == TargetState.PUBLISHED
    assert t.remote_id == "p1"
    assert pt.ScriptedSearchable.lookups == 1
    assert len(pt.ScriptedSearchable.calls) == 1


def _die_mid_call(t: PublicationTarget, *, sent: bool) -> None:
    """What a worker killed during the network call leaves behind."""
    assert engine.claim_due_targets("dead-worker", 10) == [t.pk]
    adapter = pt.SCRIPTED[t.channel.network]()
    begun = engine._begin(t.pk, "dead-worker")
    assert isinstance(begun, engine._Work)
    assert engine._start_attempt(begun, "dead-worker", "publishing")
    if sent:
        adapter.ledger.append({"id": "p1", "key": t.idempotency_key, "text": "hello", "upload": None})


@pytest.mark.parametrize(
    ("network", "sent", "final", "posts"),
    [
        ("scripted", True, TargetState.UNCONFIRMED, 1),
        ("scripted_idem", True, TargetState.PUBLISHED, 1),
        ("scripted_search", True, TargetState.PUBLISHED, 1),
        ("scripted_search", False, TargetState.PUBLISHED, 1),
    ],
)
def test_killed_worker_lease_expires_and_target_is_reconciled(network, sent, final, posts):
    t = make(network)
    _die_mid_call(t, sent=sent)
    drain()  # lease still valid: nobody touches it
    assert reload(t).state == TargetState.PUBLISHING
    clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
    drain()
    t = reload(t)
    assert t.state == final
    assert len(pt.SCRIPTED[network].ledger) == posts
    assert Attempt.objects.filter(target=t, outcome="unknown_outcome").exists()


def test_claims_are_exclusive_and_leased():
    ws = pt.workspace()
    ch = pt.channel(ws, pt.scripted_access())
    ids = [pt.schedule(ch, f"p{i}", T0).pk for i in range(30)]
    got: dict[str, list[int]] = {}

    def claim(name: str) -> None:
        got[name] = engine.claim_due_targets(name, 20)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    claimed = [i for v in got.values() for i in v]
    assert sorted(claimed) == sorted(set(claimed))
    assert set(claimed) == set(ids)
    assert engine.claim_due_targets("late", 50) == []
    clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
    assert len(engine.claim_due_targets("late", 50)) == 30


def test_late_window_marks_missed_and_publish_anyway_sends():
    t = make(late=15)
    clock.advance(dt.timedelta(minutes=16))
    drain()
    t = reload(t)
    assert t.state == TargetState.MISSED
    assert pt.ScriptedAdapter.ledger == []
    service.publish_anyway(t.pk)
    drain()
    assert reload(t).state == TargetState.PUBLISHED


def test_publish_late_ignores_the_window():
    t = make(late=15, publish_late=True)
    clock.advance(dt.timedelta(hours=2))
    drain()
    assert reload(t).state == TargetState.PUBLISHED


def test_paused_channel_is_not_published_and_becomes_missed():
    t = make(late=10)
    Channel.objects.filter(pk=t.channel_id).update(status=Channel.Status.PAUSED)
    drain()
    assert reload(t).state == TargetState.SCHEDULED
    clock.advance(dt.timedelta(minutes=11))
    engine.sweep()
    assert reload(t).state == TargetState.MISSED
    assert pt.ScriptedAdapter.ledger == []


def test_rescheduled_after_claim_is_not_sent_early():
    t = make()
    assert engine.claim_due_targets("w", 5) == [t.pk]
    later = T0 + dt.timedelta(hours=1)
    service.sync_targets(
        t.workspace_id, [service.VariantPlan(t.variant_id, t.channel_id)], scheduled=True, due_at=later
    )
    assert engine.publish_target(t.pk, "w") == TargetState.SCHEDULED
    assert pt.ScriptedAdapter.ledger == []


def test_multi_part_progress_resumes():
    t = make()
    pt.ScriptedAdapter.reset(errors.Transient("The post call failed after the upload."))
    drain()
    # A finished part is committed the moment the adapter saves it...
    progress = engine._DbProgress(t.pk, "", {})
    progress.save("upload", "u-first")
    assert reload(t).progress == {"upload": "u-first"}
    clock.advance(dt.timedelta(minutes=1))
    drain()
    # ...and the next attempt resumes after it instead of uploading again.
    assert reload(t).state == TargetState.PUBLISHED
    assert pt.ScriptedAdapter.ledger[0]["upload"] == "u-first"


def test_cancelled_targets_are_not_sent():
    t = make(due=T0 + dt.timedelta(minutes=1))
    service.cancel_targets([t.variant_id])
    clock.advance(dt.timedelta(minutes=2))
    drain()
    assert reload(t).state == TargetState.CANCELLED
    assert pt.ScriptedAdapter.ledger == []


def test_engine_respects_declared_rate_limits():
    pt.ScriptedAdapter.limits_per_s = 5
    try:
        ws = pt.workspace()
        ch = pt.channel(ws, pt.scripted_access())
        ids = [pt.schedule(ch, f"r{i}", T0).pk for i in range(8)]
        engine.POLICY.inline_rate_wait_s = 0.0  # never wait inline: defer instead
        drain()
        counts = pt.states(ids)
        # The bucket allows one call per 1/(5*margin) s, so one pass publishes only a few.
        assert 1 <= counts.get(TargetState.PUBLISHED, 0) < 8
        assert counts.get(TargetState.FAILED, 0) == 0
    finally:
        pt.ScriptedAdapter.limits_per_s = None
        engine.POLICY.inline_rate_wait_s = 2.0
