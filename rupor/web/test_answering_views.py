"""Answering in the web app: the saved replies page, a saved reply filled into the reply form (with
and without HTMX), internal notes in the thread, the members page's approval flag, and a held
reply approved from the thread page and sent to the VK emulator once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry, Membership, User
from rupor.inbox import answering
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem, ReplyDraft, SavedReply
from rupor.inbox.testing import connect, ledger, publish
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(scope="module")
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def world(db: Any, vk_emu: RunningEmulator) -> dict[str, Any]:
    users = {
        role: accounts.create_user(f"{role}@example.com", PASSWORD)
        for role in ("owner", "manager", "moderator", "analyst")
    }
    ws = accounts.create_workspace("Coffee House", users["owner"])
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in ("manager", "moderator", "analyst"):
        accounts.add_member(owner, f"{role}@example.com", role)
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access, name="Coffee VK")
    target = publish(channel, access, "Winter menu")
    remote = vk_testing.audience_comment(vk_emu, target.remote_id, "Is the cocoa vegan?")
    inbox.poll_channel(channel.pk)
    item = InboxItem.objects.get(channel=channel, remote_id=remote)
    return {"ws": ws, "users": users, "owner": owner, "channel": channel, "item": item}


def _membership(world: dict[str, Any], who: str) -> Membership:
    return Membership.objects.get(workspace=world["ws"], user=world["users"][who])


def test_managers_keep_saved_replies_and_an_unknown_variable_is_explained_with_the_text_kept(
    world: dict[str, Any],
) -> None:
    manager = _client(world["users"]["manager"])
    url = reverse("web:saved_replies")
    page = manager.get(reverse("web:inbox")).content.decode()
    assert url in page  # reachable from the inbox
    res = manager.post(url, {"title": "Vegan", "body": "Hi {first_name}, ask {barista} please"})
    assert res.status_code == 422
    html = res.content.decode()
    assert "Unknown variable {barista}" in html
    assert "Hi {first_name}, ask {barista} please" in html and 'value="Vegan"' in html  # nothing lost
    assert not SavedReply.objects.exists()
    res = manager.post(
        url, {"title": "Vegan", "body": "Hi {first_name}! All {brand} drinks come with oat milk."}
    )
    assert res.status_code == 302
    saved = SavedReply.objects.get()
    assert "Vegan" in manager.get(url).content.decode()
    edit = reverse("web:saved_reply_edit", args=[saved.pk])
    assert manager.post(edit, {"title": "", "body": "x"}).status_code == 422
    assert manager.post(edit, {"title": "Vegan drinks", "body": saved.body}).status_code == 302
    saved.refresh_from_db()
    assert saved.title == "Vegan drinks"
    # Moderators use them but do not manage them; analysts do neither.
    assert _client(world["users"]["moderator"]).get(url).status_code == 403
    assert url not in _client(world["users"]["moderator"]).get(reverse("web:inbox")).content.decode()
    assert _client(world["users"]["analyst"]).get(url).status_code == 403
    assert manager.post(reverse("web:saved_reply_delete", args=[saved.pk])).status_code == 302
    assert not SavedReply.objects.exists()
    actions = set(
        AuditEntry.objects.filter(action__startswith="inbox.saved_reply").values_list("action", flat=True)
    )
    assert actions == {"inbox.saved_reply.create", "inbox.saved_reply.edit", "inbox.saved_reply.delete"}


def test_picking_a_saved_reply_fills_the_reply_box_for_this_item(world: dict[str, Any]) -> None:
    saved = answering.create_saved_reply(world["owner"], "Vegan", "Hi {first_name}! {channel} says yes.")
    item: InboxItem = world["item"]
    first = item.author_name.split()[0]
    moderator = _client(world["users"]["moderator"])
    page = moderator.get(reverse("web:inbox_item", args=[item.pk])).content.decode()
    assert 'id="saved-reply"' in page and "Vegan" in page
    fill = reverse("web:saved_reply_fill", args=[item.pk])
    # HTMX asks for the box alone.
    res = moderator.get(fill, {"saved": saved.id}, headers={"HX-Request": "true"})
    assert res.status_code == 200
    assert f"Hi {first}! Coffee VK says yes.</textarea>" in res.content.decode()
    # Without JavaScript the page comes back with the box filled.
    res = moderator.get(fill, {"saved": saved.id})
    assert res.status_code == 302
    page = moderator.get(res["Location"]).content.decode()
    assert f"Hi {first}! Coffee VK says yes.</textarea>" in page
    assert moderator.get(fill, {"saved": 999999}).status_code == 404


def test_notes_show_in_time_order_with_their_author_and_reach_no_network(
    world: dict[str, Any], vk_emu: RunningEmulator
) -> None:
    item: InboxItem = world["item"]
    before = len(ledger(vk_emu))
    url = reverse("web:inbox_note", args=[item.pk])
    assert _client(world["users"]["moderator"]).post(url, {"text": "Asked the kitchen"}).status_code == 302
    assert _client(world["users"]["owner"]).post(url, {"text": "Kitchen says yes"}).status_code == 302
    res = _client(world["users"]["owner"]).post(url, {"text": "   "}, follow=True)
    assert "Write the note." in res.content.decode()
    html = (
        _client(world["users"]["moderator"]).get(reverse("web:inbox_item", args=[item.pk])).content.decode()
    )
    first, second = html.index("Asked the kitchen"), html.index("Kitchen says yes")
    assert first < second
    assert "moderator@example.com" in html[html.index('id="notes"') :]
    assert len(ledger(vk_emu)) == before
    assert _client(world["users"]["analyst"]).post(url, {"text": "x"}).status_code == 403


def test_the_members_page_holds_a_moderators_replies_but_not_a_managers(world: dict[str, Any]) -> None:
    owner = _client(world["users"]["owner"])
    page = owner.get(reverse("web:members")).content.decode()
    moderator, manager = _membership(world, "moderator"), _membership(world, "manager")
    assert reverse("web:member_reply_approval", args=[moderator.pk]) in page
    assert reverse("web:member_reply_approval", args=[manager.pk]) not in page
    res = owner.post(
        reverse("web:member_reply_approval", args=[moderator.pk]), {"required": "1"}, follow=True
    )
    assert "now wait for approval" in res.content.decode()
    moderator.refresh_from_db()
    assert moderator.replies_need_approval
    res = owner.post(reverse("web:member_reply_approval", args=[manager.pk]), {"required": "1"}, follow=True)
    assert "their own replies need no approval" in res.content.decode()
    assert (
        _client(world["users"]["manager"])
        .post(reverse("web:member_reply_approval", args=[moderator.pk]), {"required": "0"})
        .status_code
        == 403
    )


def test_a_held_reply_waits_on_the_thread_page_and_a_manager_approves_it_with_an_edit(
    world: dict[str, Any], vk_emu: RunningEmulator
) -> None:
    accounts.set_reply_approval(world["owner"], _membership(world, "moderator").pk, True)
    item: InboxItem = world["item"]
    page_url = reverse("web:inbox_item", args=[item.pk])
    act = reverse("web:inbox_act", args=[item.pk])
    moderator = _client(world["users"]["moderator"])
    assert "Send for approval" in moderator.get(page_url).content.decode()
    res = moderator.post(
        act, {"action": "reply", "text": "Yes it is!", "key": "web-k1", "seen": "0"}, follow=True
    )
    html = res.content.decode()
    assert "Your reply waits for approval; nothing was sent yet." in html
    assert "Reply awaiting approval" in html and "Yes it is!</textarea>" in html  # theirs to change
    assert not [e for e in ledger(vk_emu) if e["kind"] == "comment_created" and e["text"] == "Yes it is!"]

    draft = ReplyDraft.objects.get()
    manager = _client(world["users"]["manager"])
    html = manager.get(page_url).content.decode()
    assert reverse("web:draft_approve", args=[draft.pk]) in html
    assert moderator.post(reverse("web:draft_approve", args=[draft.pk])).status_code == 403
    res = manager.post(reverse("web:draft_reject", args=[draft.pk]), {"reason": ""}, follow=True)
    assert "Say why" in res.content.decode()
    res = manager.post(
        reverse("web:draft_approve", args=[draft.pk]), {"text": "Yes, it is vegan!"}, follow=True
    )
    assert "Approved: the reply was sent." in res.content.decode()
    manager.post(
        reverse("web:draft_approve", args=[draft.pk]), {"text": "Yes, it is vegan!"}
    )  # a second press
    sent = [e for e in ledger(vk_emu) if e["kind"] == "comment_created" and e["text"] == "Yes, it is vegan!"]
    assert len(sent) == 1
    html = moderator.get(page_url).content.decode()
    assert "Reply awaiting approval" not in html
    assert "Yes, it is vegan!" in html


def test_a_sent_back_reply_shows_the_reason_to_its_author_with_the_text_kept(world: dict[str, Any]) -> None:
    accounts.set_reply_approval(world["owner"], _membership(world, "moderator").pk, True)
    item: InboxItem = world["item"]
    moderator = accounts.actor_for_user(world["users"]["moderator"], world["ws"])
    manager = accounts.actor_for_user(world["users"]["manager"], world["ws"])
    assert moderator is not None and manager is not None
    draft = answering.submit(moderator, item.pk, "Dunno")
    answering.reject(manager, draft.id, "Ask the kitchen first")
    html = (
        _client(world["users"]["moderator"]).get(reverse("web:inbox_item", args=[item.pk])).content.decode()
    )
    assert "manager@example.com sent your reply back: Ask the kitchen first" in html
    assert "Dunno</textarea>" in html
    assert "Reply awaiting approval" not in html
