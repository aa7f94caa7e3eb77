"""Answering as a team, end to end against the VK emulator: saved replies with variables, replies
of members that wait for an approver (sent once however often, and however concurrently, they are
approved), internal notes, and the audit trail of every inbox action."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry, Membership, User, Workspace
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.inbox import answering
from rupor.inbox import service as inbox
from rupor.inbox.models import DraftState, InboxItem, ReplyDraft
from rupor.inbox.testing import connect, ledger, publish
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.notifications.models import Notification

PASSWORD = "a-long-enough-passphrase-42"


# -- filling variables (no database) -------------------------------------------------------------


def test_first_name_is_the_first_word_and_empty_safe() -> None:
    assert answering.first_name("Anna Petrova") == "Anna"
    assert answering.first_name("  @anna_k ") == "anna_k"
    assert answering.first_name("") == ""
    assert answering.first_name("   ") == ""


def test_fill_replaces_each_variable_once_and_tidies_an_empty_one() -> None:
    values = {"first_name": "Anna", "author_name": "Anna P", "brand": "Coffee House", "channel": "Coffee VK"}
    assert answering.fill("Hi {first_name}, {brand} here ({channel}).", values) == (
        "Hi Anna, Coffee House here (Coffee VK)."
    )
    # A value that looks like a variable is never read again as one.
    assert answering.fill("Hi {author_name}!", {**values, "author_name": "{brand}"}) == "Hi {brand}!"
    empty = {**values, "first_name": ""}
    assert answering.fill("Hi {first_name}, thanks!", empty) == "Hi, thanks!"
    assert answering.fill("Dear {first_name} we are sorry", empty) == "Dear we are sorry"
    assert answering.fill("{first_name}\nThanks", empty) == "Thanks"
    assert (
        answering.fill("{first_name}, we are on it.\n{first_name}: see you", empty)
        == "we are on it.\nsee you"
    )


def test_unknown_variables_are_named_once_in_order() -> None:
    assert answering.unknown_variables("Hi {name} {first_name} {order} {name}") == ["name", "order"]
    assert answering.unknown_variables("No braces, or { spaced } ones, or {}") == []


# -- the world -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


class World:
    def __init__(
        self, ws: Workspace, users: dict[str, User], channel: Channel, access: ChannelAccess
    ) -> None:
        self.ws, self.users, self.channel, self.access = ws, users, channel, access

    def actor(self, who: str) -> accounts.Actor:
        found = accounts.actor_for_user(self.users[who], self.ws)
        assert found is not None
        return found

    def session(self, who: str) -> Client:
        client = Client()
        client.force_login(self.users[who])
        return client


@pytest.fixture
def world(db: Any, vk_emu: RunningEmulator, settings: Any) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {r: accounts.create_user(f"{r}@example.com", PASSWORD) for r in ("owner", "manager", "moderator")}
    ws = accounts.create_workspace("Coffee House", users["owner"])
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    accounts.add_member(owner, "manager@example.com", "manager")
    accounts.add_member(owner, "moderator@example.com", "moderator")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access, name="Coffee VK")
    return World(ws, users, channel, access)


def _comment(world: World, vk_emu: RunningEmulator, text: str) -> tuple[InboxItem, str]:
    target = publish(world.channel, world.access, f"Menu {text[:10]}")
    remote = vk_testing.audience_comment(vk_emu, target.remote_id, text)
    inbox.poll_channel(world.channel.pk)
    return InboxItem.objects.get(channel=world.channel, remote_id=remote), target.remote_id


def _sent(vk_emu: RunningEmulator, text: str) -> int:
    return sum(1 for e in ledger(vk_emu) if e["kind"] == "comment_created" and e["text"] == text)


def _api(client: Client, method: str, path: str, body: Any = None) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", json.dumps(body) if body is not None else None, content_type="application/json"
    )


def _flag(world: World, who: str = "moderator") -> None:
    membership = Membership.objects.get(workspace=world.ws, user=world.users[who])
    accounts.set_reply_approval(world.actor("owner"), membership.pk, True)


# -- saved replies -------------------------------------------------------------------------------


def test_saved_replies_by_api_refuse_unknown_variables_on_save_and_fill_an_item(
    world: World, vk_emu: RunningEmulator, api_for: Any
) -> None:
    item, _post = _comment(world, vk_emu, "Where is my order?")
    assert item.author_name  # the emulator's member has a name
    first = item.author_name.split()[0]
    owner = api_for(world.ws, "owner")
    moderator = api_for(world.ws, "moderator")

    bad = owner.post("/inbox/saved-replies", {"title": "Order", "body": "Hi {name}, see {order_id}"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["body"]
    assert "{name}, {order_id}" in bad.json()["detail"] and "{first_name}" in bad.json()["detail"]

    made = owner.post(
        "/inbox/saved-replies",
        {"title": "Order", "body": "Hi {first_name}! {brand} on {channel} will check."},
    )
    assert made.status_code == 201, made.content
    saved_id = made.json()["id"]
    assert owner.post("/inbox/saved-replies", {"title": "Order", "body": "again"}).status_code == 409
    assert moderator.post("/inbox/saved-replies", {"title": "Mine", "body": "x"}).status_code == 403
    assert [r["title"] for r in moderator.get("/inbox/saved-replies").json()] == ["Order"]

    filled = moderator.get(f"/inbox/{item.pk}/saved-replies/{saved_id}")
    assert filled.status_code == 200, filled.content
    assert filled.json()["text"] == f"Hi {first}! Coffee House on Coffee VK will check."

    edit = owner.client.put(
        f"/api/v1/inbox/saved-replies/{saved_id}",
        json.dumps({"title": "Order status", "body": "{author_name}, {unknown}"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {owner.key}"},
    )
    assert edit.status_code == 422  # an unknown variable is refused on edit too; nothing changed
    assert owner.get("/inbox/saved-replies").json()[0]["body"].startswith("Hi {first_name}")
    edit = owner.client.put(
        f"/api/v1/inbox/saved-replies/{saved_id}",
        json.dumps({"title": "Order status", "body": "{author_name}, thanks"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {owner.key}"},
    )
    assert edit.status_code == 200 and edit.json()["title"] == "Order status"
    assert owner.delete(f"/inbox/saved-replies/{saved_id}").status_code == 204
    assert owner.get(f"/inbox/{item.pk}/saved-replies/{saved_id}").status_code == 404

    other = accounts.create_workspace("Elsewhere", world.users["owner"])
    theirs = accounts.actor_for_user(world.users["owner"], other)
    assert theirs is not None
    foreign = answering.create_saved_reply(theirs, "Theirs", "Hello")
    assert moderator.get(f"/inbox/{item.pk}/saved-replies/{foreign.id}").status_code == 404
    actions = list(AuditEntry.objects.filter(workspace=world.ws).values_list("action", flat=True))
    for action in ("inbox.saved_reply.create", "inbox.saved_reply.edit", "inbox.saved_reply.delete"):
        assert actions.count(action) == 1, action


# -- approval --------------------------------------------------------------------------------------


def test_a_flagged_members_reply_waits_is_sent_back_then_approved_and_sent_once(
    world: World, vk_emu: RunningEmulator, api_for: Any
) -> None:
    item, _post = _comment(world, vk_emu, "Your coffee was cold")
    _flag(world)
    moderator = world.session("moderator")

    # Nothing goes to VK: the reply is kept (202) and the approvers are told.
    res = _api(
        moderator, "post", f"/inbox/{item.pk}/reply", {"text": "Sorry about that!", "idempotency_key": "k1"}
    )
    assert res.status_code == 202, res.content
    draft = res.json()
    assert (draft["state"], draft["text"], draft["author_label"]) == (
        "pending",
        "Sorry about that!",
        "moderator@example.com",
    )
    again = _api(
        moderator, "post", f"/inbox/{item.pk}/reply", {"text": "Sorry about that!", "idempotency_key": "k1"}
    )
    assert again.status_code == 202 and again.json()["id"] == draft["id"]
    assert _sent(vk_emu, "Sorry about that!") == 0
    assert not InboxItem.objects.filter(outgoing=True, parent_remote_id=item.remote_id).exists()
    assert answering.pending_count(world.ws.pk, item.pk) == 1
    assert answering.awaiting_approval(world.ws.pk, [item.pk, item.pk + 1000]) == {item.pk}
    told = Notification.objects.filter(workspace=world.ws, kind="inbox_reply_pending")
    assert sorted(told.values_list("user__email", flat=True)) == ["manager@example.com", "owner@example.com"]
    assert told.first().link == f"/inbox/{item.pk}/"  # type: ignore[union-attr]  # two rows, just checked

    # A reply VK would refuse for its length is refused now, not after an approver approves it.
    too_long = _api(moderator, "post", f"/inbox/{item.pk}/reply", {"text": "x" * 20000})
    assert too_long.status_code == 422 and "too long for VK" in too_long.json()["detail"]
    assert ReplyDraft.objects.get().text == "Sorry about that!"

    # The direct path is closed to them too.
    with pytest.raises(inbox.InboxError) as refused:
        inbox.reply(world.actor("moderator"), item.pk, "Sneaky")
    assert refused.value.status == 403

    # A moderator cannot approve; an approver must say why they send it back.
    assert _api(moderator, "post", f"/inbox/drafts/{draft['id']}/approve", {}).status_code == 403
    manager = api_for(world.ws, "manager")
    assert manager.post(f"/inbox/drafts/{draft['id']}/reject", {"reason": "  "}).status_code == 422
    res = manager.post(f"/inbox/drafts/{draft['id']}/reject", {"reason": "Offer a free refill"})
    assert res.status_code == 200, res.content
    assert (res.json()["state"], res.json()["reason"]) == ("rejected", "Offer a free refill")
    back = Notification.objects.get(workspace=world.ws, kind="inbox_reply_rejected")
    assert back.user_id == world.users["moderator"].pk and "Offer a free refill" in back.body
    assert (
        manager.post(f"/inbox/drafts/{draft['id']}/approve", {}).status_code == 409
    )  # sent back: theirs now

    # The author's text stayed; they edit and send it again: the same draft waits again.
    mine = _api(moderator, "get", f"/inbox/drafts?item_id={item.pk}").json()
    assert [(d["text"], d["state"]) for d in mine] == [("Sorry about that!", "rejected")]
    res = _api(
        moderator,
        "post",
        f"/inbox/{item.pk}/reply",
        {"text": "Sorry! A refill is on us.", "idempotency_key": "k2"},
    )
    assert res.status_code == 202 and res.json()["id"] == draft["id"] and res.json()["state"] == "pending"

    # The approver edits and approves; approving again sends nothing more.
    owner = api_for(world.ws, "owner")
    res = owner.post(f"/inbox/drafts/{draft['id']}/approve", {"text": "Sorry! The next refill is on us."})
    assert res.status_code == 200, res.content
    sent = res.json()
    assert sent["state"] == "sent" and sent["reply_item_id"]
    assert (
        owner.post(f"/inbox/drafts/{draft['id']}/approve", {}).json()["reply_item_id"]
        == sent["reply_item_id"]
    )
    assert _sent(vk_emu, "Sorry! The next refill is on us.") == 1
    assert _sent(vk_emu, "Sorry! A refill is on us.") == 0
    reply = InboxItem.objects.get(pk=sent["reply_item_id"])
    assert (reply.outgoing, reply.parent_remote_id, reply.replied_by) == (
        True,
        item.remote_id,
        "moderator@example.com",
    )
    item.refresh_from_db()
    assert item.status == "answered"
    assert answering.pending_count(world.ws.pk, item.pk) == 0
    assert owner.post(f"/inbox/drafts/{draft['id']}/reject", {"reason": "late"}).status_code == 409
    assert [d["id"] for d in owner.get("/inbox/drafts", state="pending").json()] == []
    assert owner.get("/inbox/drafts", state="lost").status_code == 422


def test_admins_hold_a_members_replies_by_api(world: World, api_for: Any) -> None:
    moderator = Membership.objects.get(workspace=world.ws, user=world.users["moderator"])
    manager = Membership.objects.get(workspace=world.ws, user=world.users["manager"])
    admin = api_for(world.ws, "admin")
    path = f"/api/v1/members/{moderator.pk}/reply-approval"
    res = admin.client.put(
        path,
        json.dumps({"required": True}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin.key}"},
    )
    assert res.status_code == 200, res.content
    assert res.json()["replies_need_approval"] is True
    listed = {m["email"]: m["replies_need_approval"] for m in admin.get("/members").json()}
    assert listed == {"owner@example.com": False, "manager@example.com": False, "moderator@example.com": True}
    res = admin.client.put(
        f"/api/v1/members/{manager.pk}/reply-approval",
        json.dumps({"required": True}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin.key}"},
    )
    assert res.status_code == 422 and "no approval" in res.json()["detail"]
    manager_key = api_for(world.ws, "manager")
    res = manager_key.client.put(
        path,
        json.dumps({"required": False}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {manager_key.key}"},
    )
    assert res.status_code == 403


def test_only_members_without_the_approve_permission_can_be_held(world: World) -> None:
    owner = world.actor("owner")
    manager = Membership.objects.get(workspace=world.ws, user=world.users["manager"])
    with pytest.raises(accounts.AccountsError) as refused:
        accounts.set_reply_approval(owner, manager.pk, True)
    assert refused.value.status == 422
    with pytest.raises(accounts.AccountsError):
        accounts.set_reply_approval(world.actor("manager"), manager.pk, False)  # managers manage no members
    _flag(world)
    assert accounts.replies_need_approval(world.actor("moderator"))
    assert not accounts.replies_need_approval(world.actor("manager"))
    entry = AuditEntry.objects.get(workspace=world.ws, action="member.reply_approval")
    assert entry.summary == "replies need approval"


def test_an_approval_in_progress_is_not_taken_twice_and_a_stuck_one_is_resent_under_its_key(
    world: World, vk_emu: RunningEmulator
) -> None:
    item, _post = _comment(world, vk_emu, "Do you deliver?")
    _flag(world)
    draft = answering.submit(world.actor("moderator"), item.pk, "Yes, within the city.")
    ReplyDraft.objects.filter(pk=draft.id).update(state=DraftState.APPROVING, updated_at=clock.now())
    with pytest.raises(inbox.InboxError) as busy:
        answering.approve(world.actor("manager"), draft.id)
    assert busy.value.status == 409
    assert _sent(vk_emu, "Yes, within the city.") == 0
    # The approver's process died mid-way: after a while the approval may be taken again.
    clock.freeze(clock.now() + answering.STUCK_AFTER * 2)
    done = answering.approve(world.actor("manager"), draft.id)
    assert done.state == "sent"
    assert _sent(vk_emu, "Yes, within the city.") == 1


def test_an_approval_whose_answer_was_lost_waits_again_and_the_next_one_sends_nothing_twice(
    world: World, vk_emu: RunningEmulator
) -> None:
    item, _post = _comment(world, vk_emu, "Are dogs allowed?")
    _flag(world)
    draft = answering.submit(world.actor("moderator"), item.pk, "Dogs are welcome!")
    # VK posts the reply, then the connection drops before Rupor hears back.
    vk_testing.faults(
        vk_emu, {"queue": [{"kind": "reset_after", "method": "wall.createComment", "count": 1}]}
    )
    try:
        with pytest.raises(inbox.InboxError):
            answering.approve(world.actor("manager"), draft.id)
    finally:
        vk_testing.faults(vk_emu, {})
    assert _sent(vk_emu, "Dogs are welcome!") == 1
    assert answering.get_draft(world.ws.pk, draft.id).state == "pending"  # an approver may try again
    done = answering.approve(world.actor("owner"), draft.id)
    assert done.state == "sent"
    assert _sent(vk_emu, "Dogs are welcome!") == 1  # the same guid: VK keeps the first one
    assert InboxItem.objects.filter(outgoing=True, text="Dogs are welcome!").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_the_same_moment_send_the_reply_once(vk_emu: RunningEmulator, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {
        r: accounts.create_user(f"{r}@race.example", PASSWORD) for r in ("owner", "manager", "moderator")
    }
    ws = accounts.create_workspace("Race", users["owner"])
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    accounts.add_member(owner, "manager@race.example", "manager")
    accounts.add_member(owner, "moderator@race.example", "moderator")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access, name="Race VK")
    world = World(ws, users, channel, access)
    item, _post = _comment(world, vk_emu, "Open on Sunday?")
    _flag(world)
    draft = answering.submit(world.actor("moderator"), item.pk, "Yes, from ten.")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(who: str) -> None:
        actor = world.actor(who)
        start.wait()
        try:
            outcomes.append(answering.approve(actor, draft.id).state)
        except inbox.InboxError as exc:
            outcomes.append(f"refused {exc.status}")
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=approve, args=(who,)) for who in ("owner", "manager")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert "sent" in outcomes and len(outcomes) == 2
    assert set(outcomes) <= {"sent", "refused 409"}
    assert _sent(vk_emu, "Yes, from ten.") == 1
    assert InboxItem.objects.filter(outgoing=True, text="Yes, from ten.").count() == 1
    # Only one of them sent it (the other was told, or found it sent): one send, one approval.
    approvals = AuditEntry.objects.filter(workspace=ws, action__in=("inbox.reply", "inbox.reply_approved"))
    assert sorted(approvals.values_list("action", flat=True)) == ["inbox.reply", "inbox.reply_approved"]


# -- notes -----------------------------------------------------------------------------------------


def test_internal_notes_stay_in_rupor_in_time_order(
    world: World, vk_emu: RunningEmulator, api_for: Any
) -> None:
    item, _post = _comment(world, vk_emu, "I want a refund")
    moderator = world.session("moderator")
    before = len(ledger(vk_emu))
    assert (
        _api(moderator, "post", f"/inbox/{item.pk}/notes", {"text": "Checking the order"}).status_code == 201
    )
    clock.freeze(clock.now() + dt.timedelta(minutes=1))
    owner = api_for(world.ws, "owner")
    assert owner.post(f"/inbox/{item.pk}/notes", {"text": "Refund approved"}).status_code == 201
    assert owner.post(f"/inbox/{item.pk}/notes", {"text": " "}).status_code == 422
    notes = _api(moderator, "get", f"/inbox/{item.pk}/notes").json()
    assert [(n["text"], n["author_label"]) for n in notes] == [
        ("Checking the order", "moderator@example.com"),
        ("Refund approved", notes[1]["author_label"]),
    ]
    assert notes[1]["author_label"].startswith("API key")
    assert len(ledger(vk_emu)) == before  # nothing went to VK
    assert api_for(world.ws, "analyst").get(f"/inbox/{item.pk}/notes").status_code == 403
    assert AuditEntry.objects.filter(workspace=world.ws, action="inbox.note").count() == 2


# -- the audit trail -----------------------------------------------------------------------------


def test_every_inbox_action_a_person_does_is_in_the_audit_trail(
    world: World, vk_emu: RunningEmulator
) -> None:
    item, _post = _comment(world, vk_emu, "Spam spam spam")
    other, _post2 = _comment(world, vk_emu, "Nice place")
    manager = world.actor("manager")
    inbox.set_status(manager, other.pk, "in_progress")
    inbox.assign(manager, other.pk, world.users["manager"].pk)
    inbox.reply(manager, other.pk, "Thank you!")
    answering.add_note(manager, other.pk, "Regular guest")
    inbox.ban(manager, item.pk, reason="spam")
    inbox.delete(manager, item.pk)
    _flag(world)
    draft = answering.submit(world.actor("moderator"), other.pk, "Come again")
    answering.reject(manager, draft.id, "Too short")
    answering.submit(world.actor("moderator"), other.pk, "Come again soon!")
    answering.approve(manager, draft.id)
    entries = list(
        AuditEntry.objects.filter(workspace=world.ws, action__startswith="inbox.").order_by("at", "id")
    )
    assert [e.action for e in entries] == [
        "inbox.status",
        "inbox.assign",
        "inbox.reply",
        "inbox.note",
        "inbox.ban",
        "inbox.delete",
        "inbox.reply_submitted",
        "inbox.reply_rejected",
        "inbox.reply_submitted",
        "inbox.reply",
        "inbox.reply_approved",
    ]
    assert {e.actor_id for e in entries if e.action != "inbox.reply_submitted"} == {world.users["manager"].pk}
    assert {e.actor_id for e in entries if e.action == "inbox.reply_submitted"} == {
        world.users["moderator"].pk
    }
    assert all(e.object_type == "inbox_item" for e in entries)
