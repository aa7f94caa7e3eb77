"""After a restore from a backup, a newsletter the backed-up instance sent after the backup is
not sent twice (decision 0035): a message that was due or being sent is judged like an
interrupted send (VK drops a repeat of its ``random_id``; Telegram cannot, so it stays
unconfirmed), and a newsletter that fell due after the backup is not sent at all."""

from __future__ import annotations

import pytest

from rupor.core import clock
from rupor.networks.vk import testing as vk_testing
from rupor.newsletters import service
from rupor.newsletters.models import Delivery, Newsletter
from rupor.newsletters.test_newsletters import (  # the newsletters' own test world
    NOON,
    _Poll,
    _send,
    _sent_to,
    _setup,
    tg_emu,
    tg_testing_post,
    vk_emu,
)

pytestmark = pytest.mark.django_db
__all__ = ["tg_emu", "vk_emu"]  # fixtures, used by name


def _subscribed_on_telegram(ws, tg_emu) -> int:
    channel_id, list_id = _setup(ws, tg_emu, "telegram")
    poll = _Poll(channel_id, tg_emu, "telegram")
    for uid in (100_000_001, 100_000_002):
        tg_testing_post(tg_emu, "/_emulator/private_message", {"user_id": uid, "text": "/start"})
    poll()
    return list_id


def test_a_newsletter_that_fell_due_after_the_backup_is_not_sent_again(make_workspace, tg_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    nid = _send(ws, _subscribed_on_telegram(ws, tg_emu))
    assert service.run_due(clock.now()) == 2  # sent by the instance lost after the backup
    # The database as the backup had it: the newsletter due, not started, no delivery rows.
    Delivery.objects.filter(newsletter_id=nid).delete()
    Newsletter.objects.filter(pk=nid).update(status=Newsletter.Status.SCHEDULED, started_at=None)

    assert service.reconcile_after_restore(clock.now()) == 2
    service.run_due(clock.now())
    assert _sent_to(tg_emu) == [100_000_001, 100_000_002], "no message twice"
    states = set(Delivery.objects.filter(newsletter_id=nid).values_list("state", flat=True))
    assert states == {Delivery.State.UNCONFIRMED}
    first = Delivery.objects.filter(newsletter_id=nid).first()
    assert first is not None and "restored from a backup" in first.error


def test_due_messages_are_settled_by_the_key_on_vk_and_left_to_a_person_on_telegram(
    make_workspace, vk_emu, tg_emu
):
    clock.freeze(NOON)
    ws = make_workspace()
    tg_news = _send(ws, _subscribed_on_telegram(ws, tg_emu))
    channel_id, vk_list = _setup(ws, vk_emu, "vk")
    poll = _Poll(channel_id, vk_emu, "vk")
    for uid in (10011, 10013):
        vk_testing.state(vk_emu).message_permission(uid, allow=True)
    poll()
    vk_news = _send(ws, vk_list)
    service.start_due(clock.now())
    rows = list(Delivery.objects.values_list("pk", "state", "due_at"))  # the backup: started, nothing sent
    service.run_due(clock.now())  # the lost instance sends everything after the backup
    assert len(_sent_to(tg_emu)) == 2 and len(_sent_to(vk_emu)) == 2
    for pk, state, due_at in rows:  # ... and the restore brings back the backup's rows
        Delivery.objects.filter(pk=pk).update(
            state=state, due_at=due_at, sent_at=None, remote_id="", in_flight=False
        )
    Newsletter.objects.filter(pk__in=[tg_news, vk_news]).update(status=Newsletter.Status.SENDING)

    assert service.reconcile_after_restore(clock.now()) == 4
    service.run_due(clock.now())
    assert _sent_to(tg_emu) == [100_000_001, 100_000_002]
    assert _sent_to(vk_emu) == [10011, 10013], "VK dropped the repeats of the same random_id"
    by_state = dict(Delivery.objects.filter(newsletter_id=vk_news).values_list("state", "newsletter_id"))
    assert set(by_state) == {Delivery.State.SENT}
    tg_states = set(Delivery.objects.filter(newsletter_id=tg_news).values_list("state", flat=True))
    assert tg_states == {Delivery.State.UNCONFIRMED}
