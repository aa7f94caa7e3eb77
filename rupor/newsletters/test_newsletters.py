"""Newsletters against the VK and Telegram emulators: consent in and out through the inbox's
intake, nothing to anyone who did not opt in, quiet hours, the welcome chain, imports with proof,
roles, and a send never repeated to a person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.core import clock, http
from rupor.inbox import service as inbox
from rupor.inbox.testing import connect, ledger
from rupor.networks import registry
from rupor.networks.emulation import RunningEmulator
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.newsletters import service
from rupor.newsletters.models import Delivery, Newsletter, Subscription

pytestmark = pytest.mark.django_db

#: A Monday at 12:00 UTC (15:00 in Moscow): outside the default quiet hours.
NOON = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def tg_emu() -> Iterator[RunningEmulator]:
    emulator = tg_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def _actor(ws: Workspace, role: Role = Role.MANAGER) -> accounts.Actor:
    return accounts.Actor(ws.pk, role, label=f"{role}@example.com")


def _setup(ws: Workspace, emulator: RunningEmulator, network: str, **list_options: Any) -> tuple[int, int]:
    access = (vk_testing if network == "vk" else tg_testing).channel_for(emulator)
    channel = connect(ws, access)
    options = {"keyword": "news", "quiet_start": 22, "quiet_end": 9, **list_options}
    list_id = service.create_list(
        _actor(ws), service.ListInput(channel.pk, "News", "news", is_default=True, **options)
    )
    return channel.pk, list_id


class _Poll:
    """The inbox's intake of one channel: the adapter's updates, stored by ``ingest_events``."""

    def __init__(self, channel_id: int, emulator: RunningEmulator, network: str) -> None:
        module = vk_testing if network == "vk" else tg_testing
        self.channel_id, self.access = channel_id, module.channel_for(emulator)
        self.adapter = registry.adapter(network)
        self.cursor = self.adapter.poll_updates(self.access, None).cursor

    def __call__(self) -> None:
        page = self.adapter.poll_updates(self.access, self.cursor)
        self.cursor = page.cursor
        inbox.ingest_events(self.channel_id, page.events)


def _sent_to(emulator: RunningEmulator) -> list[int]:
    return sorted(
        int(e["peer_id"] if "peer_id" in e else e["chat_id"])
        for e in ledger(emulator)
        if e["kind"] == "message_sent"
    )


def _statuses(list_id: int) -> dict[str, str]:
    return dict(Subscription.objects.filter(list_id=list_id).values_list("address", "status"))


def _send(ws: Workspace, list_id: int, text: str = "Our news", **extra: Any) -> int:
    nid = service.create_newsletter(_actor(ws), service.NewsletterInput(list_id, "Issue", text, **extra))
    service.schedule(_actor(ws), nid, clock.now())
    return nid


def test_vk_allow_keyword_and_stop_go_through_the_intake(make_workspace, vk_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    channel_id, list_id = _setup(ws, vk_emu, "vk")
    poll = _Poll(channel_id, vk_emu, "vk")
    world = vk_testing.state(vk_emu)
    world.message_permission(10011, allow=True)  # the Allow messages button: the default list
    world.message_permission(10012, allow=True, key="other")  # a widget for another list: not this one
    vk_testing._post(vk_emu, "/_emulator/vk/audience_message", {"text": "NEWS ", "user_id": 10013})
    vk_testing._post(vk_emu, "/_emulator/vk/audience_message", {"text": "hello", "user_id": 10014})
    poll()
    assert _statuses(list_id) == {"10011": "subscribed", "10013": "subscribed"}
    sub = Subscription.objects.get(list_id=list_id, address="10013")
    assert sub.source == "keyword" and "NEWS" in sub.consent_proof

    vk_testing._post(vk_emu, "/_emulator/vk/audience_message", {"text": "Стоп", "user_id": 10013})
    world.message_permission(10011, allow=False)
    poll()
    assert _statuses(list_id) == {"10011": "unsubscribed", "10013": "unsubscribed"}
    assert Subscription.objects.get(address="10011").unsubscribe_reason == "network"

    _send(ws, list_id)
    assert service.run_due(clock.now()) == 0
    assert _sent_to(vk_emu) == []  # nobody who is still subscribed: nothing goes out


def test_vk_sends_only_to_the_subscribed_once_each(make_workspace, vk_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    channel_id, list_id = _setup(ws, vk_emu, "vk")
    poll = _Poll(channel_id, vk_emu, "vk")
    world = vk_testing.state(vk_emu)
    for uid in (10011, 10012, 10013):
        world.message_permission(uid, allow=True)
    vk_testing._post(vk_emu, "/_emulator/vk/audience_message", {"text": "hi there", "user_id": 10015})
    poll()
    vk_testing._post(vk_emu, "/_emulator/vk/audience_message", {"text": "stop", "user_id": 10012})
    poll()
    nid = _send(ws, list_id, "Autumn menu: https://example.com/menu")
    assert service.run_due(clock.now()) == 2
    assert _sent_to(vk_emu) == [10011, 10013]  # 10012 left, 10015 only talked: never opted in
    sent = [e for e in ledger(vk_emu) if e["kind"] == "message_sent"]
    # The link goes out as the newsletter's one short link (test_figures.py follows it).
    assert all("/l/" in e["text"] and "/u/" in e["text"] for e in sent)
    assert len({e["text"].split("/l/")[1].split()[0] for e in sent}) == 1
    assert Newsletter.objects.get(pk=nid).status == Newsletter.Status.SENT
    stats = service.stats(ws.pk, nid)
    assert (stats.recipients, stats.sent, stats.clicks, stats.tracked_links) == (2, 2, 0, 1)
    assert service.run_due(clock.now()) == 0
    assert len(_sent_to(vk_emu)) == 2


def test_vk_refusal_901_marks_the_person_unreachable(make_workspace, vk_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    _channel_id, list_id = _setup(ws, vk_emu, "vk")
    result = service.import_subscribers(
        _actor(ws),
        list_id,
        "address,consented_at,proof\n10020,2026-05-01T10:00:00+03:00,signed up at the cafe counter\n",
    )
    assert result.added == 1
    nid = _send(ws, list_id)
    service.run_due(clock.now())
    assert _sent_to(vk_emu) == []
    d = Delivery.objects.get(newsletter_id=nid)
    assert d.state == Delivery.State.UNREACHABLE and "allowed" in d.error
    assert _statuses(list_id) == {"10020": "unsubscribed"}


def test_import_needs_proof_of_consent_and_never_undoes_an_unsubscribe(make_workspace, vk_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    channel_id, list_id = _setup(ws, vk_emu, "vk")
    poll = _Poll(channel_id, vk_emu, "vk")
    vk_testing.state(vk_emu).message_permission(10011, allow=True)
    poll()
    vk_testing.state(vk_emu).message_permission(10011, allow=False)
    poll()
    rows = "\n".join(
        [
            "10030,2026-05-01T10:00:00Z,newsletter form on the site,vip;regular",
            "10031,2026-05-01T10:00:00Z,",  # no proof
            "10032,2026-05-01 10:00,paper form at the counter",  # no zone
            "10033,2027-01-01T10:00:00Z,paper form at the counter",  # in the future
            "10011,2026-05-01T10:00:00Z,paper form at the counter",  # unsubscribed since
        ]
    )
    result = service.import_subscribers(_actor(ws), list_id, rows)
    assert result.added == 1
    assert [line for line, _why in result.refused] == [2, 3, 4, 5]
    assert _statuses(list_id) == {"10011": "unsubscribed", "10030": "subscribed"}
    assert Subscription.objects.get(address="10030").tag_list() == ["regular", "vip"]
    with pytest.raises(service.NewsletterError):
        service.import_subscribers(_actor(ws, Role.EDITOR), list_id, rows)


def test_quiet_hours_hold_messages_until_morning_in_the_workspace_zone(make_workspace, vk_emu):
    clock.freeze(dt.datetime(2026, 6, 1, 20, 30, tzinfo=dt.UTC))  # 23:30 in Moscow
    ws = make_workspace()
    channel_id, list_id = _setup(ws, vk_emu, "vk")
    poll = _Poll(channel_id, vk_emu, "vk")
    vk_testing.state(vk_emu).message_permission(10011, allow=True)
    poll()
    _send(ws, list_id)
    assert service.run_due(clock.now()) == 0
    d = Delivery.objects.get()
    assert d.due_at == dt.datetime(2026, 6, 2, 6, 0, tzinfo=dt.UTC)  # 09:00 Moscow
    clock.freeze(dt.datetime(2026, 6, 2, 6, 0, tzinfo=dt.UTC))
    assert service.run_due(clock.now()) == 1
    assert _sent_to(vk_emu) == [10011]


def test_welcome_chain_once_per_person(make_workspace, vk_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    channel_id, list_id = _setup(ws, vk_emu, "vk")
    service.add_welcome_step(_actor(ws), list_id, "Welcome!", 0, "useful")
    service.add_welcome_step(_actor(ws), list_id, "Our best recipes", 24, "useful")
    poll = _Poll(channel_id, vk_emu, "vk")
    world = vk_testing.state(vk_emu)
    world.message_permission(10011, allow=True)
    poll()
    service.run_due(clock.now())
    assert [e["text"].split("\n")[0] for e in ledger(vk_emu) if e["kind"] == "message_sent"] == ["Welcome!"]
    world.message_permission(10011, allow=False)
    clock.freeze(NOON + dt.timedelta(hours=1))
    world.message_permission(10011, allow=True)  # back again: the chain is not started twice
    poll()
    clock.freeze(NOON + dt.timedelta(hours=25))
    service.run_due(clock.now())
    texts = [e["text"].split("\n")[0] for e in ledger(vk_emu) if e["kind"] == "message_sent"]
    assert texts == ["Welcome!", "Our best recipes"]


def test_telegram_start_block_and_an_in_doubt_send_is_never_repeated(make_workspace, tg_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    channel_id, list_id = _setup(ws, tg_emu, "telegram")
    poll = _Poll(channel_id, tg_emu, "telegram")
    for uid in (100_000_001, 100_000_002, 100_000_003):
        tg_testing_post(tg_emu, "/_emulator/private_message", {"user_id": uid, "text": "/start"})
    poll()
    assert set(_statuses(list_id)) == {"100000001", "100000002", "100000003"}
    tg_testing_post(tg_emu, "/_emulator/block_bot", {"user_id": 100_000_002})
    poll()
    assert _statuses(list_id)["100000002"] == "unsubscribed"

    nid = _send(ws, list_id)
    # The worker dies the moment Telegram has accepted the first message, before recording it.
    adapter = type(registry.adapter("telegram"))
    real = adapter.send_message

    def send_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        real(self, *args, **kwargs)
        raise _WorkerDied

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(adapter, "send_message", send_then_die)
        with pytest.raises(_WorkerDied):
            service.run_due(clock.now())
    assert _sent_to(tg_emu) == [100_000_001]
    first = Delivery.objects.get(state=Delivery.State.SENDING, in_flight=True)
    clock.freeze(NOON + dt.timedelta(seconds=service.LEASE_S + 1))
    service.run_due(clock.now())
    assert sorted(_sent_to(tg_emu)) == [100_000_001, 100_000_003]  # each once: no idempotency, no repeat
    assert Delivery.objects.get(pk=first.pk).state == Delivery.State.UNCONFIRMED
    stats = service.stats(ws.pk, nid)
    assert (stats.sent, stats.unconfirmed) == (1, 1)
    assert Newsletter.objects.get(pk=nid).status == Newsletter.Status.SENT


class _WorkerDied(BaseException):
    """Stands for SIGKILL inside one process: nothing after the raise runs."""


def tg_testing_post(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> None:
    with http.client(base_url=emulator.url, timeout=5) as client:
        client.post(path, json=body).raise_for_status()


def test_roles_editors_draft_managers_send_analysts_only_look(make_workspace, vk_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    _channel_id, list_id = _setup(ws, vk_emu, "vk")
    nid = service.create_newsletter(
        _actor(ws, Role.EDITOR), service.NewsletterInput(list_id, "Draft", "Text")
    )
    with pytest.raises(service.NewsletterError) as refused:
        service.schedule(_actor(ws, Role.EDITOR), nid, clock.now())
    assert refused.value.status == 403
    with pytest.raises(service.NewsletterError):
        service.create_newsletter(_actor(ws, Role.ANALYST), service.NewsletterInput(list_id, "No", "No"))
    service.schedule(_actor(ws), nid, clock.now())
    other = make_workspace("Other")
    with pytest.raises(service.NewsletterError) as hidden:
        service.get_newsletter(other.pk, nid)
    assert hidden.value.status == 404


def test_selling_share_over_20_percent_warns(make_workspace, vk_emu):
    clock.freeze(NOON)
    ws = make_workspace()
    _channel_id, list_id = _setup(ws, vk_emu, "vk")
    for purpose in ("useful", "useful", "useful", "selling"):
        _send(ws, list_id, purpose=purpose)
    assert service.mix(ws.pk, list_id).selling_share == 25
    assert service.mix(ws.pk, list_id).too_selling
