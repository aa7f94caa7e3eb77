"""One path for every state change: the table of allowed transitions, the conditional write and
its event, and what a programming error does to an attempt (surfaces; never a network's answer)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.db import connection, transaction

from rupor.core import clock
from rupor.notifications.models import Notification
from rupor.publishing import engine, service
from rupor.publishing import testing as pt
from rupor.publishing.models import TRANSITIONS, Attempt, PublicationTarget, TargetEvent, TargetState
from rupor.publishing.transitions import InvalidTransition, Move, StaleTarget, transition
from rupor.publishing.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)
S = TargetState


@pytest.fixture(autouse=True)
def _setup():
    with pt.scripted_engine(T0):
        yield


def _target(network: str = "scripted") -> PublicationTarget:
    ch = pt.channel(pt.workspace(late_window_minutes=30), pt.scripted_access(network))
    return pt.schedule(ch, "hello", T0)


def _reload(t: PublicationTarget) -> PublicationTarget:
    return PublicationTarget.objects.get(pk=t.pk)


def _path(t: PublicationTarget) -> list[tuple[str, str]]:
    return [(e.from_state, e.to_state) for e in TargetEvent.objects.filter(target=t)]


def _drain() -> None:
    run_worker(once=True, concurrency=1, worker_id="w")


def test_the_table_names_every_state_and_keeps_published_posts_published():
    assert set(TRANSITIONS) == set(S.values)
    assert all(to <= set(S.values) for to in TRANSITIONS.values())
    # Once it is on the network, only an edit (and back) may follow; a cancellation is final
    # until a person schedules it again.
    assert TRANSITIONS[S.PUBLISHED] == {S.EDITING}
    assert TRANSITIONS[S.EDITING] == {S.PUBLISHED}
    assert TRANSITIONS[S.CANCELLED] == {S.SCHEDULED}
    # Nothing that may have gone out becomes "failed" or goes back to the schedule unseen.
    assert S.FAILED not in TRANSITIONS[S.EDITING] | TRANSITIONS[S.UNCONFIRMED]
    assert S.DRAFT not in TRANSITIONS[S.PUBLISHING] | TRANSITIONS[S.WAITING]
    # A definite answer from the network is recorded whatever happened meanwhile.
    for state in (S.SCHEDULED, S.FAILED, S.MISSED, S.HELD, S.UNCONFIRMED, S.PUBLISHING, S.WAITING):
        assert S.PUBLISHED in TRANSITIONS[state]


def test_a_change_the_table_does_not_allow_is_refused_and_writes_nothing():
    t = _target()
    before = _path(t)
    with pytest.raises(InvalidTransition), transaction.atomic():
        transition(t, S.EDITING, "not published yet")
    assert (_reload(t).state, _path(t)) == (S.SCHEDULED, before)
    with pytest.raises(InvalidTransition):
        Move(S.PUBLISHED, S.SCHEDULED)


def test_the_write_is_conditional_on_the_state_the_caller_read():
    t = _target()
    stale = _reload(t)
    with transaction.atomic():
        transition(t, S.CANCELLED, "cancelled", "someone")
        t.save()
    with pytest.raises(StaleTarget), transaction.atomic():
        transition(stale, S.PUBLISHING, "a worker that read it before")
    assert _reload(t).state == S.CANCELLED
    assert _path(t)[-1] == (S.SCHEDULED, S.CANCELLED)
    event = TargetEvent.objects.filter(target=t).last()
    assert event is not None and (event.cause, event.actor, event.at) == ("cancelled", "someone", T0)


def test_the_fast_path_and_the_locked_path_record_the_same_events():
    fast, locked = _target(), _target()
    claims = {c.id: c for c in engine.claim_batch("w", 5)}
    assert set(claims) == {fast.pk, locked.pk}
    assert engine.publish_claimed(claims[fast.pk], "w") == S.PUBLISHED
    work = engine._begin(locked.pk, "w")
    assert isinstance(work, engine._Work) and not work.fast
    assert engine.publish_claimed_work(work, "w") == S.PUBLISHED
    for t in (fast, locked):
        assert _path(t) == [(S.DRAFT, S.SCHEDULED), (S.SCHEDULED, S.PUBLISHING), (S.PUBLISHING, S.PUBLISHED)]
        events = list(TargetEvent.objects.filter(target=t).values_list("actor", "at"))
        assert events[1:] == [("w", T0), ("", T0)]


def test_results_are_states_or_outcomes():
    t = _target()
    assert engine.publish_target(t.pk, "nobody") == S.SCHEDULED  # not claimed: nothing done
    assert engine.publish_target(10**9, "w") is engine.Outcome.GONE
    assert isinstance(engine.publish_target(t.pk, "nobody"), S)


# -- programming errors ----------------------------------------------------------------------


def test_a_crash_in_the_adapter_surfaces_and_is_never_recorded_as_the_networks_answer(caplog):
    t = _target()
    pt.ScriptedAdapter.reset(ZeroDivisionError("a bug"))
    with caplog.at_level(logging.ERROR):
        _drain()
    assert "internal error" in caplog.text and "ZeroDivisionError" in caplog.text  # with the traceback
    t = _reload(t)
    # Still publishing under the crashed worker's lease: not failed, not retried, not unconfirmed yet.
    assert (t.state, t.lease_owner, t.error_kind) == (S.PUBLISHING, "w", "")
    attempt = Attempt.objects.get(target=t)
    assert attempt.outcome == engine.INTERNAL_ERROR and attempt.finished_at == T0
    assert not Notification.objects.exists()
    _drain()  # the lease holds: nobody touches it
    assert len(pt.ScriptedAdapter.calls) == 1
    # When the lease expires it is reconciled like a worker that stopped mid-call: this network
    # can neither drop a repeat nor be searched, so a person is asked; it is never re-sent.
    clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
    _drain()
    t = _reload(t)
    assert t.state == S.UNCONFIRMED
    assert len(pt.ScriptedAdapter.calls) == 1
    assert _path(t)[-1] == (S.PUBLISHING, S.UNCONFIRMED)


def test_after_a_crash_an_idempotent_network_is_sent_the_same_key_once_more():
    t = _target("scripted_idem")
    pt.ScriptedIdempotent.reset(RuntimeError("a bug"))
    _drain()
    clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
    _drain()
    t = _reload(t)
    assert t.state == S.PUBLISHED
    assert pt.ScriptedIdempotent.calls == [t.idempotency_key, t.idempotency_key]
    assert len(pt.ScriptedIdempotent.ledger) == 1
    assert [a.outcome for a in Attempt.objects.filter(target=t)] == [engine.INTERNAL_ERROR, "published"]


def test_a_crash_every_time_ends_with_a_person_not_a_loop():
    t = _target("scripted_idem")
    pt.ScriptedIdempotent.reset(*[RuntimeError("a bug")] * 50)
    for _ in range(engine.POLICY.max_attempts + 2):
        _drain()
        clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
    t = _reload(t)
    assert t.state == S.UNCONFIRMED and "check the channel" in t.error_message
    assert len(pt.ScriptedIdempotent.calls) == engine.POLICY.max_attempts


def test_a_crash_finishing_two_step_publishing_every_time_ends_with_a_person_not_a_loop(caplog):
    t = _target("scripted_two_step")
    pt.ScriptedTwoStep.reset(finish=[RuntimeError("a bug")] * 50)
    _drain()
    assert _reload(t).state == S.WAITING  # sent; the network is processing it
    with caplog.at_level(logging.ERROR):
        for _ in range(engine.POLICY.max_attempts + 3):
            clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
            _drain()
    assert "RuntimeError" in caplog.text  # each crash surfaced with its traceback
    t = _reload(t)
    # The first step went out, so the post may still appear: a person checks, it is not "failed".
    assert (t.state, t.error_kind) == (S.UNCONFIRMED, engine.INTERNAL_ERROR)
    assert "internal error each of the last 8 times" in t.error_message
    assert pt.ScriptedTwoStep.finishes == engine.POLICY.max_attempts
    assert len(pt.ScriptedTwoStep.ledger) == 1
    outcomes = [a.outcome for a in Attempt.objects.filter(target=t)]
    assert outcomes == ["waiting"] + [engine.INTERNAL_ERROR] * engine.POLICY.max_attempts
    assert _path(t)[-1] == (S.WAITING, S.UNCONFIRMED)
    assert set(Notification.objects.values_list("kind", flat=True)) == {"unconfirmed"}


def test_a_crash_finishing_two_step_publishing_once_is_tried_again():
    t = _target("scripted_two_step")
    pt.ScriptedTwoStep.reset(finish=[RuntimeError("a bug")])
    _drain()
    clock.advance(dt.timedelta(seconds=engine.POLICY.waiting_poll_s))
    _drain()  # the crash: the target keeps its state and its lease
    assert (_reload(t).state, _reload(t).lease_owner) == (S.WAITING, "w")
    clock.advance(dt.timedelta(seconds=engine.lease_seconds() + 1))
    _drain()
    t = _reload(t)
    assert t.state == S.PUBLISHED and len(pt.ScriptedTwoStep.ledger) == 1
    assert [a.outcome for a in Attempt.objects.filter(target=t)] == [
        "waiting",
        engine.INTERNAL_ERROR,
        "published",
    ]


def test_a_bug_before_the_call_leaves_the_target_scheduled(monkeypatch, caplog):
    t = _target()

    def broken(variant_id: int):
        raise AttributeError("'NoneType' object has no attribute 'text'")

    monkeypatch.setattr(engine, "content_for_variant", broken)
    monkeypatch.setattr(engine, "text_only_contents", lambda ids: {})
    with caplog.at_level(logging.ERROR):
        _drain()
    assert "AttributeError" in caplog.text
    t = _reload(t)
    # Not "Rupor cannot publish to this network": nothing is recorded against the network.
    assert (t.state, t.error_kind, t.attempts) == (S.SCHEDULED, "", 0)
    assert pt.ScriptedAdapter.calls == []


def test_a_network_without_an_adapter_fails_what_was_not_sent_and_asks_about_what_may_have_been():
    scheduled, sent = _target(), _target()
    assert engine.claim_due_targets("w", 5) == sorted([scheduled.pk, sent.pk])
    work = engine._begin(sent.pk, "w")
    assert isinstance(work, engine._Work) and engine._start_attempt(work, "w", "publishing")
    PublicationTarget.objects.update(lease_owner="", lease_expires_at=None)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE channels_channel SET network = 'gone_network'")
    _drain()
    scheduled, sent = _reload(scheduled), _reload(sent)
    assert (scheduled.state, scheduled.error_kind) == (S.FAILED, "not_supported")
    assert "no working adapter" in scheduled.error_message
    assert sent.state == S.UNCONFIRMED and "look at the channel" in sent.error_message
    assert pt.ScriptedAdapter.calls == []


def test_person_actions_go_through_the_table_too():
    t = _target()
    service.cancel_targets([t.variant_id], actor="a person")
    assert _reload(t).state == S.CANCELLED
    assert _path(t)[-1] == (S.SCHEDULED, S.CANCELLED)
