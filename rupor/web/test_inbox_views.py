"""The inbox pages: the list with its filters and counter, one item's thread and the actions,
by role and across workspaces; replies and moderation go to the VK emulator for real."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import User, Workspace
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect, ledger, publish
from rupor.networks.base import Comment, Event, EventKind, Person
from rupor.networks.emulation import RunningEmulator
from rupor.networks.telegram import testing as telegram_testing
from rupor.networks.vk import testing as vk_testing
from rupor.networks.vk.wire import Code

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def _client(user: User, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture(scope="module")
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def _item(channel: Channel, remote_id: str, text: str, **fields: Any) -> InboxItem:
    values: dict[str, Any] = {
        "workspace_id": channel.workspace_id,
        "channel": channel,
        "kind": "comment",
        "remote_id": remote_id,
        "conversation_remote_id": "post-1",
        "author_name": f"Author {remote_id}",
        "author_remote_id": f"9{remote_id}",
        "text": text,
        **fields,
    }
    return InboxItem.objects.create(**values)


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    users = {
        role: accounts.create_user(f"{role}@example.com", PASSWORD)
        for role in ("owner", "moderator", "editor", "client", "analyst")
    }
    ws = accounts.create_workspace("Coffee House", users["owner"], timezone="Europe/Moscow")
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in ("moderator", "editor", "client", "analyst"):
        accounts.add_member(owner, f"{role}@example.com", role)
    nowhere = type("E", (), {"url": "http://127.0.0.1:9"})()  # never called by these tests
    tg = connect(ws, telegram_testing.channel_for(nowhere), name="Coffee TG")
    now = clock.now()
    items = {
        "old": _item(tg, "1", "Old question", occurred_at=now - dt.timedelta(hours=3)),
        "new": _item(tg, "2", "Fresh question", occurred_at=now - dt.timedelta(minutes=5)),
        "done": _item(tg, "3", "Thanks!", status="done", occurred_at=now - dt.timedelta(hours=1)),
        "mine": _item(
            tg,
            "4",
            "For the moderator",
            assigned_to=users["moderator"],
            occurred_at=now - dt.timedelta(hours=2),
        ),
    }
    other_owner = accounts.create_user("other@example.com", PASSWORD)
    other = accounts.create_workspace("Other", other_owner)
    their_channel = connect(Workspace.objects.get(pk=other.pk), telegram_testing.channel_for(nowhere))
    theirs = _item(their_channel, "5", "Their secret")
    return {"ws": ws, "users": users, "items": items, "theirs": theirs, "channel": tg}


def test_the_list_is_newest_first_with_author_channel_and_status(world: dict[str, Any]) -> None:
    res = _client(world["users"]["moderator"]).get(reverse("web:inbox"))
    assert res.status_code == 200
    html = res.content.decode()
    order = [html.index(t) for t in ("Fresh question", "Thanks!", "For the moderator", "Old question")]
    assert order == sorted(order)
    assert "Their secret" not in html
    assert "Coffee TG" in html and "Author 2" in html
    assert 'hx-trigger="every 15s"' in html  # refreshed in place
    # The sidebar counts what waits for an answer (new and in progress, not done).
    assert re.search(r'class="nav-count"[^>]*>3<', html)


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"status": "done"}, ["Thanks!"]),
        ({"unanswered": "1"}, ["Fresh question", "For the moderator", "Old question"]),
        ({"mine": "1"}, ["For the moderator"]),
        ({"network": "vk"}, []),
        ({"network": "telegram", "status": "new"}, ["Fresh question", "For the moderator", "Old question"]),
    ],
)
def test_filters(world: dict[str, Any], query: dict[str, str], shown: list[str]) -> None:
    html = _client(world["users"]["moderator"]).get(reverse("web:inbox_list"), query).content.decode()
    texts = ["Fresh question", "Thanks!", "For the moderator", "Old question"]
    assert [t for t in texts if t in html] == shown


def test_filter_by_channel_and_assignee(world: dict[str, Any]) -> None:
    client = _client(world["users"]["owner"])
    url = reverse("web:inbox_list")
    html = client.get(url, {"assignee": world["users"]["moderator"].pk}).content.decode()
    assert "For the moderator" in html and "Fresh question" not in html
    html = client.get(url, {"channel": world["channel"].pk}).content.decode()
    assert "Fresh question" in html
    html = client.get(url, {"channel": world["theirs"].channel_id}).content.decode()
    assert "Their secret" not in html and "Fresh question" not in html


def test_roles_without_inbox_view_get_403_and_moderators_see_it(world: dict[str, Any]) -> None:
    for role, status in (("moderator", 200), ("owner", 200), ("client", 403), ("analyst", 403)):
        client = _client(world["users"][role])
        assert client.get(reverse("web:inbox")).status_code == status, role
        item = world["items"]["new"]
        assert client.get(reverse("web:inbox_item", args=[item.pk])).status_code == status, role
    # Only who may answer acts; the client may not even look.
    res = _client(world["users"]["client"]).post(
        reverse("web:inbox_act", args=[world["items"]["new"].pk]), {"action": "status", "status": "done"}
    )
    assert res.status_code == 403
    assert InboxItem.objects.get(pk=world["items"]["new"].pk).status == "new"


def test_another_workspaces_item_is_a_404(world: dict[str, Any]) -> None:
    client = _client(world["users"]["owner"])
    theirs = world["theirs"]
    assert client.get(reverse("web:inbox_item", args=[theirs.pk])).status_code == 404
    res = client.post(reverse("web:inbox_act", args=[theirs.pk]), {"action": "status", "status": "done"})
    assert res.status_code == 404
    assert InboxItem.objects.get(pk=theirs.pk).status == "new"


def test_status_and_assignee_from_the_thread(world: dict[str, Any]) -> None:
    client = _client(world["users"]["moderator"])
    item = world["items"]["new"]
    url = reverse("web:inbox_act", args=[item.pk])
    assert client.post(url, {"action": "status", "status": "in_progress"}).status_code == 302
    editor = world["users"]["editor"]
    assert client.post(url, {"action": "assign", "assigned_to": editor.pk}).status_code == 302
    item.refresh_from_db()
    assert item.status == "in_progress" and item.assigned_to_id == editor.pk
    # Someone outside the workspace cannot be given the item; a made-up status is refused.
    res = client.post(
        url, {"action": "assign", "assigned_to": world["theirs"].channel.workspace.pk + 999}, follow=True
    )
    assert "Only a member" in res.content.decode()
    res = client.post(url, {"action": "assign", "assigned_to": "nobody?"}, follow=True)
    assert "Only a member" in res.content.decode()
    res = client.post(url, {"action": "status", "status": "answered"}, follow=True)
    assert "not a status a person sets" in res.content.decode()
    item.refresh_from_db()
    assert item.status == "in_progress" and item.assigned_to_id == editor.pk
    page = client.get(reverse("web:inbox_item", args=[item.pk])).content.decode()
    assert "Fresh question" in page and "Old question" in page  # the whole conversation


def test_actions_need_the_csrf_token(world: dict[str, Any]) -> None:
    client = _client(world["users"]["moderator"], csrf=True)
    item = world["items"]["new"]
    url = reverse("web:inbox_act", args=[item.pk])
    assert client.post(url, {"action": "status", "status": "done"}).status_code == 403
    page = client.get(reverse("web:inbox_item", args=[item.pk])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    res = client.post(url, {"action": "status", "status": "done", "csrfmiddlewaretoken": token.group(1)})
    assert res.status_code == 302
    assert InboxItem.objects.get(pk=item.pk).status == "done"


@pytest.fixture
def on_vk(world: dict[str, Any], vk_emu: RunningEmulator) -> dict[str, Any]:
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(world["ws"], access, name="Coffee VK")
    target = publish(channel, access, "Autumn menu #inboxpage")
    comment_id = vk_testing.audience_comment(vk_emu, target.remote_id, "Is there a vegan option?")
    inbox.poll_channel(channel.pk)
    item = InboxItem.objects.get(channel=channel, remote_id=comment_id)
    return {**world, "item": item, "target": target, "access": access}


def _sent(emulator: RunningEmulator, text: str) -> list[dict[str, Any]]:
    return [e for e in ledger(emulator) if e["kind"] == "comment_created" and e["text"] == text]


def test_reply_once_then_a_second_person_is_told(on_vk: dict[str, Any], vk_emu: RunningEmulator) -> None:
    item = on_vk["item"]
    page_url = reverse("web:inbox_item", args=[item.pk])
    first, second = _client(on_vk["users"]["moderator"]), _client(on_vk["users"]["owner"])
    seen_by_second = re.search(r'name="seen" value="(\d+)"', second.get(page_url).content.decode())
    assert seen_by_second and seen_by_second.group(1) == "0"
    page = first.get(page_url).content.decode()
    key = re.search(r'name="key" value="([0-9a-f]+)"', page)
    assert key
    body = {"action": "reply", "text": "Yes, pumpkin soup!", "key": key.group(1), "seen": "0"}
    act = reverse("web:inbox_act", args=[item.pk])
    assert first.post(act, body).status_code == 302
    assert first.post(act, body).status_code == 302  # pressed twice: the same key sends nothing again
    assert len(_sent(vk_emu, "Yes, pumpkin soup!")) == 1
    item.refresh_from_db()
    assert item.status == "answered"
    html = first.get(page_url).content.decode()
    assert "Yes, pumpkin soup!" in html and "Your reply was sent." in html

    # The owner loaded the page before the reply: told, their text kept, nothing sent.
    res = second.post(act, {"action": "reply", "text": "Yes, we have one", "key": "k2", "seen": "0"})
    assert res.status_code == 409
    html = res.content.decode()
    assert 'id="answered-meanwhile"' in html and "Yes, we have one</textarea>" in html
    assert not _sent(vk_emu, "Yes, we have one")
    res = second.post(
        act, {"action": "reply", "text": "Yes, we have one", "key": "k2", "seen": "0", "confirm": "1"}
    )
    assert res.status_code == 302
    assert len(_sent(vk_emu, "Yes, we have one")) == 1


def test_a_network_failure_keeps_the_text_and_says_why(
    on_vk: dict[str, Any], vk_emu: RunningEmulator
) -> None:
    item = on_vk["item"]
    vk_testing.queue_error(vk_emu, "wall.createComment", Code.WALL_ACCESS_COMMENT)
    client = _client(on_vk["users"]["moderator"])
    res = client.post(
        reverse("web:inbox_act", args=[item.pk]),
        {"action": "reply", "text": "Sorry for the wait", "seen": "0"},
    )
    html = res.content.decode()
    assert res.status_code >= 400
    assert 'id="reply-problem"' in html and "Sorry for the wait</textarea>" in html
    assert not _sent(vk_emu, "Sorry for the wait")


def test_hide_says_vk_cannot_then_delete_and_ban(on_vk: dict[str, Any], vk_emu: RunningEmulator) -> None:
    item = on_vk["item"]
    client = _client(on_vk["users"]["moderator"])
    act = reverse("web:inbox_act", args=[item.pk])
    page = client.get(reverse("web:inbox_item", args=[item.pk])).content.decode()
    assert 'value="hide"' not in page and 'id="no-hide"' in page  # no Hide button: why instead
    assert "VK&#x27;s API has no way to hide a comment" in page
    html = client.post(act, {"action": "hide"}, follow=True).content.decode()
    assert "no way to hide a comment" in html and "undo the deletion" in html
    html = client.post(act, {"action": "ban"}, follow=True).content.decode()
    assert "The author is banned" in html
    assert any(e["kind"] == "user_banned" for e in ledger(vk_emu))
    html = client.post(act, {"action": "delete"}, follow=True).content.decode()
    assert "The comment is deleted." in html and 'value="restore"' in html and 'value="delete"' not in html
    item.refresh_from_db()
    assert item.status == "deleted"
    # Undo: VK brings the comment back (wall.restoreComment), and so does the inbox.
    html = client.post(act, {"action": "restore"}, follow=True).content.decode()
    assert "The comment is back on the network." in html
    item.refresh_from_db()
    assert item.status == "new"
    assert [e["kind"] for e in ledger(vk_emu)][-2:] == ["comment_deleted", "comment_restored"]


def test_the_thread_puts_each_reply_under_its_comment(world: dict[str, Any]) -> None:
    channel, now = world["channel"], clock.now()
    first = _item(channel, "10", "First comment", occurred_at=now - dt.timedelta(minutes=30))
    _item(channel, "11", "Second comment", occurred_at=now - dt.timedelta(minutes=20))
    _item(channel, "12", "Reply to the first", parent_remote_id="10", outgoing=True, occurred_at=now)
    _item(channel, "13", "Loops on itself", parent_remote_id="13", occurred_at=now - dt.timedelta(minutes=1))
    html = (
        _client(world["users"]["moderator"]).get(reverse("web:inbox_item", args=[first.pk])).content.decode()
    )
    order = [
        html.index(t) for t in ("First comment", "Reply to the first", "Second comment", "Loops on itself")
    ]
    assert order == sorted(order)


def test_triage_labels_what_the_audience_wrote_and_the_list_puts_complaints_and_questions_first(
    world: dict[str, Any],
) -> None:
    tg, now = world["channel"], clock.now()
    _item(tg, "6", "Great post, thanks a lot!", occurred_at=now - dt.timedelta(minutes=1))
    _item(
        tg,
        "7",
        "Заказ так и не пришёл, поддержка молчит, верните деньги",
        occurred_at=now - dt.timedelta(hours=5),
    )
    _item(tg, "8", "Our reply", outgoing=True, occurred_at=now)
    _item(tg, "9", "Do you have oat milk?", occurred_at=now - dt.timedelta(hours=2))
    assert inbox.triage_pending() == 8  # all that the audience wrote, in both workspaces
    labels = dict(InboxItem.objects.filter(workspace_id=world["ws"].pk).values_list("text", "label"))
    assert labels["Заказ так и не пришёл, поддержка молчит, верните деньги"] == "complaint"
    assert labels["Great post, thanks a lot!"] == "praise"
    assert labels["Do you have oat milk?"] == "question"
    assert labels["Our reply"] == ""  # what we wrote is not triaged
    assert inbox.triage_pending() == 0

    client = _client(world["users"]["moderator"])
    html = client.get(reverse("web:inbox_list")).content.decode()
    # The five-hour-old complaint comes before the question, and both before newer praise.
    order = [html.index(t) for t in ("верните деньги", "oat milk", "Great post")]
    assert order == sorted(order)
    assert 'class="badge label-complaint"' in html
    html = client.get(reverse("web:inbox_list"), {"sort": "newest"}).content.decode()
    assert html.index("Great post") < html.index("Fresh question") < html.index("верните деньги")
    html = client.get(reverse("web:inbox_list"), {"label": "praise"}).content.decode()
    assert "Great post" in html and "oat milk" not in html


def test_an_edit_on_the_network_is_triaged_again(world: dict[str, Any]) -> None:
    tg, now = world["channel"], clock.now()

    def comment(kind: EventKind, text: str) -> Event:
        said = Comment("c-edit", "post-1", Person("77", "Ann"), text, now)
        return Event(kind, f"{kind}-{text}", tg.remote_id, now, comment=said)

    assert inbox.ingest_events(tg.pk, [comment(EventKind.COMMENT_NEW, "Lovely coffee, thank you!")]) == 1
    inbox.triage_pending()
    item = InboxItem.objects.get(channel=tg, remote_id="c-edit")
    assert item.label == "praise"
    inbox.ingest_events(tg.pk, [comment(EventKind.COMMENT_EDIT, "The cup was broken, I want a refund")])
    item.refresh_from_db()
    assert (item.label, item.negativity) == ("", None)  # the new text waits for triage
    assert inbox.triage_pending() == 1
    item.refresh_from_db()
    assert item.label == "complaint"


def test_an_unknown_label_filter_is_explained(world: dict[str, Any]) -> None:
    with pytest.raises(inbox.InboxError) as caught:
        list(inbox.list_items(world["ws"].pk, inbox.Filters(label="angry")))
    assert caught.value.status == 422 and "complaint" in caught.value.message
