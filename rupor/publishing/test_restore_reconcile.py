"""After a restore from a backup: what was due or publishing at the backup is reconciled like an
unknown outcome (same key, lookup, or unconfirmed), never sent blindly, and never sent late.

"Published after the backup" is a post in the scripted network's ledger while the restored
database still has its target scheduled or publishing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.core import clock
from rupor.publishing import engine, service
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetEvent, TargetState, WorkerHeartbeat
from rupor.publishing.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)
BACKUP_AT = T0 - dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _setup():
    engine.POLICY.reconcile_delay_s = 5.0
    with pt.scripted_engine(T0):
        yield


def make(network: str = "scripted", *, due: dt.datetime = T0, late: int = 30) -> PublicationTarget:
    ws = pt.workspace(late_window_minutes=late)
    ch = pt.channel(ws, pt.scripted_access(network))
    return pt.schedule(ch, f"post on {network}", due)


def went_out_after_backup(t: PublicationTarget) -> None:
    """The old instance published it after the backup: the network has it, the backup does not."""
    network = pt.SCRIPTED[t.channel.network]
    network.ledger.append({"id": "p-old", "key": t.idempotency_key, "text": "x", "upload": ""})


def drain() -> None:
    run_worker(once=True, concurrency=2, worker_id="w-restored")


def reload(t: PublicationTarget) -> PublicationTarget:
    return PublicationTarget.objects.get(pk=t.pk)


def count(t: PublicationTarget) -> int:
    return pt.SCRIPTED[t.channel.network]().posts_with(t.idempotency_key)


def test_a_due_target_that_went_out_after_the_backup_is_not_sent_again_where_nothing_can_be_checked():
    t = make("scripted")
    went_out_after_backup(t)
    result = service.reconcile_after_restore(BACKUP_AT)
    assert result.checking == 1
    t = reload(t)
    assert (t.state, t.error_kind, t.lease_expires_at) == (TargetState.PUBLISHING, service.RESTORED, None)
    assert "restored from a backup" in t.error_message.lower()
    drain()
    t = reload(t)
    assert t.state == TargetState.UNCONFIRMED
    assert count(t) == 1, "never sent blindly"
    assert "backup" in t.error_message
    events = list(TargetEvent.objects.filter(target=t).values_list("to_state", "actor"))
    assert ("publishing", "restore") in events


def test_a_searchable_network_is_asked_first():
    found = make("scripted_search")
    went_out_after_backup(found)
    missing = make("scripted_search")
    service.reconcile_after_restore(BACKUP_AT)
    drain()
    found, missing = reload(found), reload(missing)
    assert found.state == TargetState.PUBLISHED and found.remote_id == "p-old"
    assert count(found) == 1
    # Not there and still within its late window: sending is safe, and it goes out once.
    assert missing.state == TargetState.PUBLISHED and count(missing) == 1
    assert pt.ScriptedSearchable.lookups == 2


def test_the_same_key_settles_it_on_a_network_that_honours_one():
    t = make("scripted_idem")
    went_out_after_backup(t)
    service.reconcile_after_restore(BACKUP_AT)
    drain()
    t = reload(t)
    assert t.state == TargetState.PUBLISHED and count(t) == 1
    assert pt.ScriptedIdempotent.calls == [t.idempotency_key]  # re-sent with its own key, deduplicated


def test_past_the_late_window_it_is_looked_up_but_never_sent_late():
    searchable = make("scripted_search", late=30)
    keyed = make("scripted_idem", late=30)
    clock.freeze(T0 + dt.timedelta(hours=3))  # restored three hours after the post was due
    service.reconcile_after_restore(BACKUP_AT)
    drain()
    searchable, keyed = reload(searchable), reload(keyed)
    assert searchable.state == TargetState.UNCONFIRMED and count(searchable) == 0
    assert "late window" in searchable.error_message
    assert keyed.state == TargetState.UNCONFIRMED and count(keyed) == 0
    assert pt.ScriptedSearchable.calls == pt.ScriptedIdempotent.calls == [], "nothing was sent late"


def test_a_late_one_that_went_out_is_recorded_as_published():
    t = make("scripted_search", late=30)
    went_out_after_backup(t)
    clock.freeze(T0 + dt.timedelta(hours=3))
    service.reconcile_after_restore(BACKUP_AT)
    drain()
    assert reload(t).state == TargetState.PUBLISHED and count(t) == 1


def test_publishing_under_a_dead_workers_lease_is_reconciled_at_once_and_later_posts_go_out_normally():
    inflight = make("scripted_search")
    PublicationTarget.objects.filter(pk=inflight.pk).update(
        state=TargetState.PUBLISHING,
        lease_owner="old-host:1",
        lease_expires_at=T0 + dt.timedelta(minutes=30),
        attempts=1,
    )
    went_out_after_backup(inflight)
    later = make("scripted", due=T0 + dt.timedelta(minutes=10))
    WorkerHeartbeat.objects.create(worker_id="old-host:1", hostname="old-host", pid=1, seen_at=T0)
    assert service.live_workers() == ["old-host:1"]
    result = service.reconcile_after_restore(BACKUP_AT)
    assert (result.checking, result.scheduled_later) == (1, 1)
    assert service.live_workers() == [], "the backed-up instance's workers are not taken for live ones"
    assert reload(later).state == TargetState.SCHEDULED and reload(later).error_kind == ""
    drain()
    assert reload(inflight).state == TargetState.PUBLISHED and count(inflight) == 1
    clock.freeze(T0 + dt.timedelta(minutes=10))
    drain()
    later = reload(later)
    assert later.state == TargetState.PUBLISHED and count(later) == 1


def test_waiting_and_editing_targets_lose_the_dead_workers_lease():
    t = make("scripted_two_step")
    PublicationTarget.objects.filter(pk=t.pk).update(
        state=TargetState.WAITING, lease_owner="old:1", lease_expires_at=T0 + dt.timedelta(hours=1)
    )
    result = service.reconcile_after_restore(BACKUP_AT)
    assert result.released == 1
    t = reload(t)
    assert (t.state, t.lease_owner, t.lease_expires_at) == (TargetState.WAITING, "", None)
