"""The inbox end to end through Rupor: emulator → webhook/polling → stored once → answered and
moderated through the API, checked against the emulator's own records."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from rupor.core import clock, http
from rupor.inbox import hooks, jobs
from rupor.inbox import service as inbox_service
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect, ledger, publish
from rupor.networks import registry
from rupor.networks.ok import testing as ok_testing
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.networks.vk.adapter import VkAdapter

pytestmark = pytest.mark.django_db

HOOK_URLS = "rupor.inbox.testing_urls"


@pytest.fixture(scope="module")
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def vk(vk_emu, make_workspace, api_for):
    ws = make_workspace("VK shop")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    return ws, channel, access, api_for(ws, "owner")


def _hook_path(api, channel_id: int) -> str:
    res = api.get(f"/channels/{channel_id}/hook")
    assert res.status_code == 200, res.content
    url = str(res.json()["url"])
    return url[url.index("/hooks/") :]


def _vk_events(emulator, kind: str) -> list[dict[str, Any]]:
    state = vk_testing.state(emulator)
    with state.lock:
        return [dict(e) for _, e in state.groups[1].events if e["type"] == kind]


def _deliver(path: str, body: dict[str, Any], headers: dict[str, str] | None = None):
    return Client().post(path, json.dumps(body), content_type="application/json", headers=headers or {})


@pytest.mark.urls(HOOK_URLS)
def test_vk_comment_by_webhook_and_polling_is_stored_once_and_answered_on_vk(vk, vk_emu):
    _ws, channel, access, api = vk
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200  # sets the long-poll cursor
    target = publish(channel, access, "Autumn menu is out #inbox1")
    comment_id = vk_testing.audience_comment(vk_emu, target.remote_id, "Is there a vegan option?")

    # VK delivers the Callback API event (twice: VK retries when unsure), then polling sees it too.
    event = next(e for e in _vk_events(vk_emu, "wall_reply_new") if f"-1_{e['object']['id']}" == comment_id)
    path = _hook_path(api, channel.pk)
    for _ in range(2):
        res = _deliver(path, {**event, "secret": "rupor-demo-secret"})
        assert res.status_code == 200 and res.content == b"ok"
    res = api.post(f"/channels/{channel.pk}/poll", {})
    assert res.status_code == 200, res.content
    stored = InboxItem.objects.filter(channel=channel, remote_id=comment_id)
    assert stored.count() == 1
    item = stored.get()
    assert item.text == "Is there a vegan option?"
    assert item.post_id == target.variant.post_id  # joined to the Rupor post through the target
    assert item.conversation_remote_id == target.remote_id

    listing = api.get("/inbox", status="new", channel_id=channel.pk, kind="comment").json()
    assert [i["id"] for i in listing] == [item.pk]
    assert (listing[0]["label"], listing[0]["negativity"]) == ("", None)  # triage has not run yet
    assert inbox_service.triage_pending() == 1
    (read,) = api.get("/inbox", label="question", sort="urgent").json()
    assert (read["id"], read["label"], read["language"]) == (item.pk, "question", "en")
    assert 0.0 <= read["negativity"] <= 1.0
    assert api.get("/inbox", label="angry").status_code == 422

    # Reply through Rupor: lands on VK as the community, in the thread, once per key.
    res = api.post(
        f"/inbox/{item.pk}/reply", {"text": "Yes, the pumpkin soup!", "idempotency_key": "reply-1"}
    )
    assert res.status_code == 201, res.content
    reply = res.json()
    assert reply["outgoing"] is True and reply["send_state"] == "sent"
    again = api.post(
        f"/inbox/{item.pk}/reply", {"text": "Yes, the pumpkin soup!", "idempotency_key": "reply-1"}
    )
    assert again.status_code == 201 and again.json()["id"] == reply["id"]
    on_vk = [
        c
        for c in registry.adapter("vk").read_comments(access, target.remote_id)
        if c.text == "Yes, the pumpkin soup!"
    ]
    assert len(on_vk) == 1
    assert on_vk[0].parent_remote_id == comment_id and on_vk[0].author.remote_id == "-1"
    created = [
        e for e in ledger(vk_emu) if e["kind"] == "comment_created" and e["text"] == "Yes, the pumpkin soup!"
    ]
    assert [c["from_id"] for c in created] == [-1]  # once, as the community
    item.refresh_from_db()
    assert item.status == "answered"
    # The community's own reply arriving by polling is the same item, not a new one.
    api.post(f"/channels/{channel.pk}/poll", {})
    assert InboxItem.objects.filter(channel=channel, remote_id=reply["remote_id"]).count() == 1

    # Moderation: VK cannot hide comments (plain message), can delete them and ban the author.
    res = api.post(f"/inbox/{item.pk}/hide", {})
    assert res.status_code == 422
    assert "hide" in res.json()["detail"] and "delete" in res.json()["detail"]
    res = api.post(f"/inbox/{item.pk}/ban", {"reason": "spam"})
    assert res.status_code == 200, res.content
    assert any(
        e["kind"] == "user_banned" and int(e["owner_id"]) == int(item.author_remote_id)
        for e in ledger(vk_emu)
    )
    res = api.post(f"/inbox/{item.pk}/delete", {})
    assert res.status_code == 200 and res.json()["status"] == "deleted"
    remaining = [
        c for c in registry.adapter("vk").read_comments(access, target.remote_id) if c.remote_id == comment_id
    ]
    assert not remaining or remaining[0].deleted
    # VK can undo it (wall.restoreComment); OK and Telegram cannot, and say so.
    res = api.post(f"/inbox/{item.pk}/restore", {})
    assert res.status_code == 200 and res.json()["status"] == "new", res.json()
    assert [
        c.text
        for c in registry.adapter("vk").read_comments(access, target.remote_id)
        if c.remote_id == comment_id
    ] == ["Is there a vegan option?"]


@pytest.mark.urls(HOOK_URLS)
def test_vk_message_reply_and_webhook_handshake(vk, vk_emu):
    _ws, channel, _access, api = vk
    path = _hook_path(api, channel.pk)
    # The Callback API confirmation handshake answers the community's confirmation string.
    res = _deliver(path, {"type": "confirmation", "group_id": 1})
    assert (
        res.status_code == 200
        and res.content.decode() == vk_testing.demo_credentials()["callback_confirmation"]
    )
    # A wrong secret is refused by the adapter; a wrong token or channel is a 404.
    event = {
        "type": "message_new",
        "group_id": 1,
        "event_id": "e1",
        "v": "5.199",
        "object": {
            "message": {
                "id": 999,
                "from_id": 10011,
                "peer_id": 10011,
                "date": int(time.time()),
                "text": "hi",
                "out": 0,
            }
        },
    }
    assert _deliver(path, {**event, "secret": "nope"}).status_code == 403
    assert _deliver(path.replace(path.split("/")[-2], "x" * 32), event).status_code == 404
    assert _deliver(path.replace(f"/{channel.pk}/", f"/{channel.pk + 999}/"), event).status_code == 404
    assert Client().get(path).status_code == 405
    assert InboxItem.objects.count() == 0

    message_id = vk_testing.audience_message(vk_emu, "Do you deliver on Sundays?")
    api.post(f"/channels/{channel.pk}/poll", {})  # first poll: reads conversations too
    item = InboxItem.objects.get(channel=channel, kind="message", remote_id=str(message_id))
    res = api.post(f"/inbox/{item.pk}/reply", {"text": "We do, 10 to 18."})
    assert res.status_code == 201, res.content
    sent = [
        e
        for e in ledger(vk_emu)
        if e["kind"] == "message_sent" and int(e["peer_id"]) == int(item.conversation_remote_id)
    ]
    assert len(sent) == 1
    # Messages cannot be deleted or hidden through Rupor: a plain message, not an error page.
    res = api.post(f"/inbox/{item.pk}/delete", {})
    assert res.status_code == 422 and "comments" in res.json()["detail"]


def test_telegram_comment_by_polling_reply_delete_and_ban(make_workspace, api_for):
    emulator = tg_testing.start(rate_limits=False)
    try:
        ws = make_workspace("TG")
        api = api_for(ws, "manager")
        access = tg_testing.channel_for(emulator)
        channel = connect(ws, access)
        target = publish(channel, access, "New episode tonight")
        comment_id = tg_testing.audience_comment(emulator, target.remote_id, "Can't wait!")
        for _ in range(2):
            res = api.post(f"/channels/{channel.pk}/poll", {})
            assert res.status_code == 200, res.content
        item = InboxItem.objects.get(channel=channel, remote_id=comment_id)
        assert InboxItem.objects.filter(channel=channel, remote_id=comment_id).count() == 1
        assert item.post_id == target.variant.post_id
        res = api.post(f"/inbox/{item.pk}/reply", {"text": "See you at 8!"})
        assert res.status_code == 201, res.content
        chat, message = res.json()["remote_id"].split(":")
        sent = [
            e
            for e in ledger(emulator)
            if e["kind"] == "message_sent" and e["chat_id"] == int(chat) and e["message_id"] == int(message)
        ]
        assert len(sent) == 1 and chat == tg_testing.DISCUSSION_GROUP_ID
        res = api.post(f"/inbox/{item.pk}/hide", {})
        assert res.status_code == 422
        res = api.post(f"/inbox/{item.pk}/ban", {})
        assert res.status_code == 200, res.content
        assert any(e["kind"] == "member_banned" for e in ledger(emulator))
        res = api.post(f"/inbox/{item.pk}/delete", {})
        assert res.status_code == 200 and res.json()["status"] == "deleted"
        group, number = comment_id.split(":")
        assert any(
            e["kind"] == "message_deleted" and e["chat_id"] == int(group) and e["message_id"] == int(number)
            for e in ledger(emulator)
        )
    finally:
        emulator.stop()


def test_ok_comments_by_reading_posts_and_reply(make_workspace, api_for):
    emulator = ok_testing.start(rate_limits=False)
    try:
        ws = make_workspace("OK")
        api = api_for(ws, "moderator")
        access = ok_testing.channel_for(emulator)
        channel = connect(ws, access)
        target = publish(channel, access, "Summer sale")
        comment_id = ok_testing.audience_comment(emulator, target.remote_id, "How long does it last?")
        for _ in range(2):
            assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
        item = InboxItem.objects.get(channel=channel, remote_id=comment_id)
        assert item.post_id == target.variant.post_id
        res = api.post(f"/inbox/{item.pk}/reply", {"text": "Until Sunday."})
        assert res.status_code == 201, res.content
        replies = [
            c
            for c in registry.adapter("ok").read_comments(access, target.remote_id)
            if c.text == "Until Sunday."
        ]
        assert len(replies) == 1
        res = api.post(f"/inbox/{item.pk}/ban", {})
        assert res.status_code == 422 and "ban" in res.json()["detail"]
        res = api.post(f"/inbox/{item.pk}/hide", {})
        assert res.status_code == 422 and "OK's API has no way to hide a comment" in res.json()["detail"]
        res = api.post(f"/inbox/{item.pk}/delete", {})
        assert res.status_code == 200, res.content
        res = api.post(f"/inbox/{item.pk}/restore", {})
        assert res.status_code == 422 and "cannot bring a deleted comment back" in res.json()["detail"]
    finally:
        emulator.stop()


@pytest.mark.urls(HOOK_URLS)
def test_roles_and_other_workspaces(vk, vk_emu, make_workspace, api_for):
    ws, channel, access, owner = vk
    target = publish(channel, access, "Role check")
    vk_testing.audience_comment(vk_emu, target.remote_id, "hello")
    owner.post(f"/channels/{channel.pk}/poll", {})
    item = InboxItem.objects.filter(channel=channel, outgoing=False).first()
    assert item is not None
    endpoints = [
        ("get", "/inbox", None),
        ("post", f"/inbox/{item.pk}/reply", {"text": "x"}),
        ("post", f"/inbox/{item.pk}/hide", {}),
        ("post", f"/inbox/{item.pk}/delete", {}),
        ("post", f"/inbox/{item.pk}/ban", {}),
        ("post", f"/channels/{channel.pk}/poll", {}),
        ("get", f"/channels/{channel.pk}/hook", None),
    ]
    for role in ("editor", "client", "analyst"):
        api = api_for(ws, role)
        for method, path, body in endpoints:
            res = api.get(path) if method == "get" else api.post(path, body)
            assert res.status_code == 403, (role, path, res.status_code)
            assert "detail" in res.json()
    moderator = api_for(ws, "moderator")
    assert moderator.get("/inbox").status_code == 200
    assert moderator.get(f"/channels/{channel.pk}/hook").status_code == 403  # admins only
    stranger = api_for(make_workspace("Other"), "owner")
    assert stranger.get("/inbox").json() == []
    for method, path, body in endpoints[1:]:
        res = stranger.get(path) if method == "get" else stranger.post(path, body)
        assert res.status_code == 404, (path, res.status_code)
    # Bad input is a 4xx in the error shape, never a 500.
    for path, body in (
        (f"/inbox/{item.pk}/reply", {"text": ""}),
        (f"/inbox/{item.pk}/reply", {}),
        (f"/inbox/{item.pk}/reply", {"text": "x", "idempotency_key": "k" * 65}),
        ("/inbox/abc/hide", {}),
    ):
        res = owner.post(path, body)
        assert 400 <= res.status_code < 500 and "detail" in res.json(), (path, res.content)
    assert owner.get("/inbox", status="bogus").status_code == 422


def test_jobs_poll_due_channels_once_per_interval(vk, vk_emu):
    _ws, channel, access, _api = vk
    target = publish(channel, access, "Job check")
    comment_id = vk_testing.audience_comment(vk_emu, target.remote_id, "from the job")
    now = clock.now()
    assert jobs.run_due(now) >= 1
    assert InboxItem.objects.filter(channel=channel, remote_id=comment_id).count() == 1
    vk_testing.audience_comment(vk_emu, target.remote_id, "too early")
    assert jobs.run_due(now) == 0  # polled a moment ago: not due
    assert jobs.run_due(now + jobs.INTERVAL * 2) >= 1
    assert InboxItem.objects.filter(channel=channel, text="too early").count() == 1


@pytest.mark.django_db(transaction=True)
def test_vk_callback_api_delivers_to_the_live_hook(live_server, settings, make_workspace, api_for):
    """VK itself (the emulator) confirms the server and pushes a comment to Rupor's URL."""
    settings.ROOT_URLCONF = HOOK_URLS
    settings.RUPOR_BASE_URL = live_server.url
    http.allow_origin(live_server.url)
    emulator = vk_testing.start(rate_limits=False)
    try:
        ws = make_workspace("Live")
        access = vk_testing.channel_for(emulator, settings={"pace": False})
        channel = connect(ws, access)
        adapter = VkAdapter()
        server = adapter.call(
            access,
            "groups.addCallbackServer",
            {
                "group_id": 1,
                "url": hooks.hook_url(channel),
                "title": "Rupor",
                "secret_key": "rupor-demo-secret",
            },
        )
        adapter.call(
            access,
            "groups.setCallbackSettings",
            {"group_id": 1, "server_id": server["server_id"], "wall_reply_new": 1, "group_join": 1},
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            servers = adapter.call(access, "groups.getCallbackServers", {"group_id": 1})["items"]
            if servers[0]["status"] == "ok":
                break
            time.sleep(0.1)
        assert servers[0]["status"] == "ok"  # the handshake answered the confirmation string
        target = publish(channel, access, "Live delivery")
        comment_id = vk_testing.audience_comment(emulator, target.remote_id, "pushed to Rupor")
        while time.monotonic() < deadline and not InboxItem.objects.filter(remote_id=comment_id).exists():
            time.sleep(0.1)
        assert InboxItem.objects.filter(channel=channel, remote_id=comment_id).count() == 1
    finally:
        emulator.stop()
