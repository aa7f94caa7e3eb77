"""The adapter end to end against the emulator over real HTTP, and against documented payloads."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rupor.core import http
from rupor.networks.base import (
    Capability,
    ChannelAccess,
    Content,
    Event,
    EventKind,
    Media,
    MemoryProgress,
    Poll,
    PublishRequest,
)
from rupor.networks.emulation import RunningEmulator
from rupor.networks.errors import AuthExpired, NotSupported, RateLimited, Rejected, Transient, UnknownOutcome
from rupor.networks.registry import adapter as registry_adapter
from rupor.networks.registry import emulator_factory
from rupor.networks.telegram import emulator as emu
from rupor.networks.telegram import testing, wire
from rupor.networks.telegram.adapter import TelegramAdapter
from rupor.networks.telegram.test_emulator import png

A = TelegramAdapter()


@pytest.fixture
def em():
    running = testing.start()
    yield running
    running.stop()


def publish(em, content: Content, channel=None, progress=None, key: str = "k1"):
    return A.publish(
        channel or testing.channel_for(em),
        PublishRequest(content, key),
        progress if progress is not None else MemoryProgress(),
    )


def faults(em, **spec: Any) -> None:
    with http.client(base_url=em.url, timeout=5) as client:
        client.post("/_emulator/faults", json=spec).raise_for_status()


def ledger(em) -> list[dict[str, Any]]:
    with http.client(base_url=em.url, timeout=5) as client:
        entries: list[dict[str, Any]] = client.get("/_emulator/ledger").json()
        return entries


def test_registry_finds_adapter_and_emulator():
    assert isinstance(registry_adapter("telegram"), TelegramAdapter)
    assert emulator_factory("telegram") is emu.create_app
    assert A.idempotent_publish is False
    assert Capability.RECONCILE not in A.capabilities
    assert Capability.PUBLIC_PAGES not in A.capabilities
    for capability in A.capabilities:
        assert capability.value  # every declared capability has an implementation below


# -- connection -------------------------------------------------------------------------------


def test_verify_demo_channel(em):
    info = A.verify(testing.channel_for(em))
    assert info.remote_id == testing.DEMO_REMOTE_ID
    assert info.name == "Rupor Demo"
    assert info.url == "https://t.me/rupor_demo"
    assert info.members
    assert info.members > 1000
    assert any("view counts" in note for note in info.notes)


def test_verify_bad_token_is_auth_expired(em):
    with pytest.raises(AuthExpired) as caught:
        A.verify(testing.broken_channel(em, "bad_token"))
    assert caught.value.message == "The bot token is invalid or was revoked."
    assert caught.value.code == 401
    assert emu.DEMO_TOKEN not in caught.value.excerpt


def test_verify_and_publish_without_admin_rights_are_rejected_plainly(em):
    channel = testing.broken_channel(em, "no_rights")
    with pytest.raises(Rejected) as caught:
        A.verify(channel)
    assert caught.value.message == "The bot is not an administrator of the channel."
    with pytest.raises(Rejected) as caught:
        publish(em, Content(text="hi"), channel)
    assert caught.value.message == "The bot is not an administrator of the channel."
    assert caught.value.nothing_happened


def test_verify_admin_without_post_right(em):
    with http.client(base_url=em.url, timeout=5) as client:
        client.post(
            "/_emulator/bot_status",
            json={
                "chat_id": emu.DEMO_CHANNEL_ID,
                "status": "administrator",
                "rights": {"can_post_messages": False},
            },
        )
    with pytest.raises(Rejected) as caught:
        A.verify(testing.channel_for(em))
    assert "may not post" in caught.value.message


def test_missing_chat_is_plain(em):
    with pytest.raises(Rejected) as caught:
        A.verify(testing.channel_for(em, remote_id="@nobody_here"))
    assert caught.value.message == "The chat does not exist or the bot was removed from it."


def test_revoked_token_after_connecting(em):
    with http.client(base_url=em.url, timeout=5) as client:
        client.post("/_emulator/revoke", json={"token": emu.DEMO_TOKEN})
    with pytest.raises(AuthExpired):
        publish(em, Content(text="x"))


# -- publishing -------------------------------------------------------------------------------


def test_publish_text_is_escaped_html_and_counted(em):
    published = publish(em, Content(text="1 < 2 & <b>not bold</b> 😀 marker-text"))
    assert published.url == f"https://t.me/rupor_demo/{published.remote_id}"
    state = testing._emulator(em)
    message = state.messages[(emu.DEMO_CHANNEL_ID, int(published.remote_id))].payload
    assert message["text"] == "1 < 2 & <b>not bold</b> 😀 marker-text"
    assert "entities" not in message
    assert testing.posts_with(em, "marker-text") == 1


def test_publish_html_and_link(em):
    published = publish(
        em, Content(text="<b>Big</b> news", link="https://example.com/a?b=1&c=2", options={"format": "html"})
    )
    message = testing._emulator(em).messages[(emu.DEMO_CHANNEL_ID, int(published.remote_id))].payload
    assert message["text"] == "Big news\n\nhttps://example.com/a?b=1&c=2"
    assert message["entities"] == [{"offset": 0, "length": 3, "type": "bold"}]
    assert message["link_preview_options"] == {"url": "https://example.com/a?b=1&c=2"}


def test_publish_photo_video_album_and_poll(em):
    photo = Media.from_bytes("photo", "p.png", "image/png", png(320, 200))
    video = Media.from_bytes(
        "video", "v.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, 640, 360
    )
    single = publish(em, Content(text="photo-caption", media=(photo,)))
    album = publish(em, Content(text="album-caption", media=(photo, video, photo)))
    clip = publish(em, Content(text="video-caption", media=(video,)))
    poll = publish(em, Content(text="poll-intro", poll=Poll("Which day?", ("Mon", "Fri"))))
    state = testing._emulator(em)
    assert "photo" in state.messages[(emu.DEMO_CHANNEL_ID, int(single.remote_id))].payload
    assert len(album.remote_id.split(",")) == 3
    assert state.messages[(emu.DEMO_CHANNEL_ID, int(clip.remote_id))].payload["video"]["width"] == 640
    _intro, poll_id = (int(x) for x in poll.remote_id.split(","))
    assert state.messages[(emu.DEMO_CHANNEL_ID, poll_id)].payload["poll"]["question"] == "Which day?"
    for marker in ("photo-caption", "album-caption", "video-caption", "poll-intro"):
        assert testing.posts_with(em, marker) == 1


def test_publish_refuses_invalid_content_before_sending(em):
    with pytest.raises(Rejected):
        publish(em, Content(text="x" * 4097))
    assert not [e for e in ledger(em) if e["kind"] == "message_sent"]


def test_pin_and_first_comment_in_the_discussion_group(em):
    progress = MemoryProgress()
    published = publish(
        em, Content(text="with comment", pin=True, first_comment="First! <3"), progress=progress
    )
    state = testing._emulator(em)
    assert state.chats[emu.DEMO_CHANNEL_ID].pinned == int(published.remote_id)
    group, comment_id = wire.parse_comment_id(progress["first_comment"])
    comment = state.messages[(int(group), comment_id)].payload
    assert comment["text"] == "First! <3"
    assert comment["reply_to_message"]["is_automatic_forward"] is True
    assert comment["reply_to_message"]["forward_origin"]["message_id"] == int(published.remote_id)
    # A second attempt with the same progress resumes: nothing is sent again.
    again = publish(em, Content(text="with comment", pin=True, first_comment="First! <3"), progress=progress)
    assert again.remote_id == published.remote_id
    assert sum(1 for e in ledger(em) if e["kind"] == "message_sent") == 2


def test_no_idempotency_two_publishes_make_two_posts(em):
    publish(em, Content(text="twice-marker"), key="same-key")
    publish(em, Content(text="twice-marker"), key="same-key")
    assert testing.posts_with(em, "twice-marker") == 2
    with pytest.raises(NotSupported):
        A.find_published(testing.channel_for(em), PublishRequest(Content(text="twice-marker"), "same-key"))


def test_edit_delete_and_pin(em):
    channel = testing.channel_for(em)
    published = publish(em, Content(text="before"))
    A.edit(channel, published.remote_id, Content(text="after"))
    A.edit(channel, published.remote_id, Content(text="after"))  # "not modified" is already done
    state = testing._emulator(em)
    assert state.messages[(emu.DEMO_CHANNEL_ID, int(published.remote_id))].payload["text"] == "after"
    A.pin(channel, published.remote_id)
    album = publish(
        em, Content(text="cap", media=(Media.from_bytes("photo", "a.png", "image/png", png()),) * 2)
    )
    A.edit(
        channel,
        album.remote_id,
        Content(text="new cap", media=(Media.from_bytes("photo", "a.png", "image/png", png()),)),
    )
    assert (
        state.messages[(emu.DEMO_CHANNEL_ID, int(album.remote_id.split(",")[0]))].payload["caption"]
        == "new cap"
    )
    A.delete(channel, album.remote_id)
    A.delete(channel, album.remote_id)  # already gone is fine
    assert testing.posts_with(em, "new cap") == 0


def test_delete_after_48_hours_is_rejected(em):
    published = publish(em, Content(text="old post"))
    testing.advance(em, 48 * 3600 + 60)
    with pytest.raises(Rejected) as caught:
        A.delete(testing.channel_for(em), published.remote_id)
    assert "48 hours" in caught.value.message


def test_migrated_group_names_the_new_id(em):
    with pytest.raises(Rejected) as caught:
        publish(em, Content(text="x"), testing.channel_for(em, remote_id=testing.MIGRATED_GROUP_ID))
    assert caught.value.code == "migrate_to_chat_id"
    assert str(emu.UPGRADED_SUPERGROUP_ID) in caught.value.message
    assert str(emu.UPGRADED_SUPERGROUP_ID) in caught.value.excerpt


# -- failures ---------------------------------------------------------------------------------


def test_flood_limit_is_rate_limited_with_retry_after(em):
    faults(em, queue=[{"kind": "429", "method": "sendMessage"}])
    with pytest.raises(RateLimited) as caught:
        publish(em, Content(text="x"))
    assert caught.value.retry_after == 5


def test_real_flood_control_maps_to_rate_limited():
    running = testing.start(chat_burst=2)
    try:
        publish(running, Content(text="1"))
        publish(running, Content(text="2"))
        with pytest.raises(RateLimited) as caught:
            publish(running, Content(text="3"))
        assert caught.value.retry_after
        assert caught.value.retry_after >= 1
    finally:
        running.stop()


def test_server_error_on_send_is_unknown_but_on_read_is_transient(em):
    faults(
        em, queue=[{"kind": "5xx", "method": "sendMessage"}, {"kind": "5xx", "method": "getChatMemberCount"}]
    )
    with pytest.raises(UnknownOutcome):
        publish(em, Content(text="x"))
    with pytest.raises(Transient):
        A.channel_metrics(testing.channel_for(em))


def test_timeout_after_the_send_is_unknown_and_the_post_exists_once(em):
    faults(em, hang_s=1, queue=[{"kind": "timeout_after", "method": "sendMessage"}])
    with pytest.raises(UnknownOutcome) as caught:
        publish(em, Content(text="ghost-marker"), testing.channel_for(em, settings={"timeout": 0.3}))
    assert not caught.value.nothing_happened
    assert testing.posts_with(em, "ghost-marker") == 1


def test_reset_after_the_send_is_unknown(em):
    faults(em, queue=[{"kind": "reset_after", "method": "sendMessage"}])
    with pytest.raises(UnknownOutcome):
        publish(em, Content(text="reset-marker"))
    assert testing.posts_with(em, "reset-marker") == 1


def test_connect_error_is_transient():
    closed = RunningEmulator(emu.create_app())  # bound but never started: nothing listens
    url = closed.url
    closed._sock.close()
    with http.trusted(url), pytest.raises(Transient):
        A.publish(
            testing.channel_for(closed, base_url=url),
            PublishRequest(Content(text="x"), "k"),
            MemoryProgress(),
        )


# -- conversation and updates -------------------------------------------------------------------


def test_poll_updates_turns_comments_into_events_with_a_cursor(em):
    channel = testing.channel_for(em)
    published = publish(em, Content(text="talk about it"))
    first = A.poll_updates(channel, None)
    comment_id = testing.audience_comment(em, published.remote_id, "Nice one")
    page = A.poll_updates(channel, first.cursor)
    comments = [e for e in page.events if e.kind is EventKind.COMMENT_NEW]
    assert [c.comment.text for c in comments if c.comment] == ["Nice one"]
    assert comments[0].comment
    assert comments[0].comment.post_remote_id == published.remote_id
    assert comments[0].remote_id == comment_id
    assert A.poll_updates(channel, page.cursor).events == ()
    reply = A.reply_comment(
        channel, published.remote_id, "Thanks <3", reply_to=comment_id, idempotency_key="r1"
    )
    assert reply.parent_remote_id == comment_id
    assert reply.text == "Thanks <3"
    A.delete_comment(channel, published.remote_id, comment_id)
    A.ban_user(channel, "100000001")
    kinds = [e["kind"] for e in ledger(em)]
    assert "message_deleted" in kinds
    assert "member_banned" in kinds


def test_reactions_and_members_arrive_as_events_and_metrics(em):
    channel = testing.channel_for(em)
    published = publish(em, Content(text="react to me"))
    page = A.poll_updates(channel, None)  # also tells Telegram which updates Rupor wants
    # A whole day: joins follow the audience's daily rhythm (about 16 a day), so a few night
    # hours can pass with none; over a day the chance of none is below one in a million.
    testing.advance(em, 24 * 3600)
    metrics = A.post_metrics(channel, [published.remote_id])
    assert metrics[0].views is None
    assert metrics[0].reactions
    assert metrics[0].likes
    page = A.poll_updates(channel, page.cursor)
    kinds = {e.kind for e in page.events}
    assert {EventKind.REACTIONS, EventKind.MEMBER_JOIN, EventKind.COMMENT_NEW} <= kinds
    assert (A.channel_metrics(channel).members or 0) > 1000


def test_public_page_is_not_supported_with_a_reason(em):
    with pytest.raises(NotSupported) as caught:
        A.public_page(testing.channel_for(em), "@durov")
    assert "Bot API" in caught.value.message


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 1
        self.event = threading.Event()

        async def hook(request: Request) -> Response:
            if self.fail_first:
                self.fail_first -= 1
                return Response("busy", 500)
            self.bodies.append((dict(request.headers), await request.body()))
            self.event.set()
            return Response("ok")

        self.server = RunningEmulator(Starlette(routes=[Route("/hook", hook, methods=["POST"])])).start()


def test_webhook_delivery_with_secret_and_retries(em):
    receiver = Receiver()
    try:
        channel = testing.channel_for(em)
        A.set_webhook(channel, receiver.server.url + "/hook")
        with pytest.raises(Rejected) as caught:
            A.poll_updates(channel, None)
        assert caught.value.code == 409
        published = publish(em, Content(text="hooked"))
        testing.audience_comment(em, published.remote_id, "via webhook")
        for _ in range(100):
            if len(receiver.bodies) >= 2:
                break
            time.sleep(0.1)
        assert len(receiver.bodies) >= 2
        events: list[Event] = []
        for headers, body in receiver.bodies:
            assert headers["x-telegram-bot-api-secret-token"] == testing.DEMO_WEBHOOK_SECRET
            result = A.handle_webhook(channel, headers, body)
            assert result.status == 200
            events.extend(result.events)
        assert [e.comment.text for e in events if e.comment] == ["via webhook"]
        forged = A.handle_webhook(
            channel, {"X-Telegram-Bot-Api-Secret-Token": "guess"}, receiver.bodies[0][1]
        )
        assert forged.status == 403
        assert forged.events == ()
        info = testing._emulator(em).bots[emu.DEMO_TOKEN]
        assert info.last_error_message
        assert "500" in info.last_error_message
    finally:
        receiver.server.stop()
        testing._emulator(em).bots[emu.DEMO_TOKEN].webhook_url = ""


# -- documented payloads ----------------------------------------------------------------------


def test_docs_shaped_error_envelopes_classify_by_status_and_parameters():
    def failure(status: int, body: dict[str, Any]) -> Exception:
        response = httpx.Response(status, json=body)
        with pytest.raises(wire.ApiFailure) as caught:
            wire.unwrap(response, "sendMessage")
        return wire.classify(caught.value, create=True)

    limited = failure(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 17",
            "parameters": {"retry_after": 17},
        },
    )
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 17
    migrated = failure(
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1001234567890},
        },
    )
    assert isinstance(migrated, Rejected)
    assert migrated.code == "migrate_to_chat_id"
    assert "-1001234567890" in migrated.excerpt
    assert isinstance(
        failure(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}), AuthExpired
    )
    assert isinstance(
        failure(
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was kicked from the channel chat",
            },
        ),
        Rejected,
    )
    assert isinstance(
        failure(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}), UnknownOutcome
    )
    assert isinstance(
        failure(
            409,
            {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: terminated by other getUpdates request",
            },
        ),
        Rejected,
    )
    assert wire.unwrap(httpx.Response(200, json={"ok": True, "result": True}), "deleteMessage") is True
    with pytest.raises(wire.ApiFailure):
        wire.unwrap(httpx.Response(502, text="<html>502 Bad Gateway</html>"), "sendMessage")


def test_docs_shaped_updates_become_events():
    forward = {
        "message_id": 12,
        "sender_chat": {"id": -1001, "title": "Ch", "type": "channel"},
        "chat": {"id": -1002, "title": "Chat", "type": "supergroup"},
        "date": 1700000000,
        "is_automatic_forward": True,
        "forward_origin": {
            "type": "channel",
            "chat": {"id": -1001, "title": "Ch", "type": "channel"},
            "message_id": 77,
            "date": 1700000000,
        },
        "text": "post",
    }
    comment = {
        "update_id": 10,
        "message": {
            "message_id": 13,
            "from": {"id": 5, "is_bot": False, "first_name": "Ann", "username": "ann"},
            "chat": {"id": -1002, "title": "Chat", "type": "supergroup"},
            "date": 1700000100,
            "message_thread_id": 12,
            "reply_to_message": forward,
            "text": "hello",
        },
    }
    events = wire.update_to_events(comment, "-1001")
    assert len(events) == 1
    assert events[0].kind is EventKind.COMMENT_NEW
    assert events[0].comment
    assert events[0].comment.post_remote_id == "77"
    assert events[0].comment.author.name == "Ann"
    assert wire.update_to_events({"update_id": 11, "message": forward}, "-1001") == []
    reactions = {
        "update_id": 12,
        "message_reaction_count": {
            "chat": {"id": -1001, "title": "Ch", "type": "channel"},
            "message_id": 77,
            "date": 1700000200,
            "reactions": [
                {"type": {"type": "emoji", "emoji": "👍"}, "total_count": 5},
                {"type": {"type": "paid"}, "total_count": 2},
            ],
        },
    }
    event = wire.update_to_events(reactions, "-1001")[0]
    assert event.kind is EventKind.REACTIONS
    assert event.counts == {"👍": 5, "paid": 2}
    assert event.post_remote_id == "77"
    joined = {
        "update_id": 13,
        "chat_member": {
            "chat": {"id": -1001, "title": "Ch", "type": "channel"},
            "from": {"id": 6, "is_bot": False, "first_name": "B"},
            "date": 1700000300,
            "old_chat_member": {"status": "left", "user": {"id": 6, "is_bot": False, "first_name": "B"}},
            "new_chat_member": {"status": "member", "user": {"id": 6, "is_bot": False, "first_name": "B"}},
        },
    }
    assert wire.update_to_events(joined, "-1001")[0].kind is EventKind.MEMBER_JOIN
    body = json.dumps(comment).encode()
    channel = ChannelAccess("telegram", "-1001", {"bot_token": "1:x", "webhook_secret": "s"})
    assert A.handle_webhook(channel, {"X-Telegram-Bot-Api-Secret-Token": "s"}, body).events == tuple(events)
    assert A.handle_webhook(channel, {}, body).status == 403
    assert A.handle_webhook(channel, {"X-Telegram-Bot-Api-Secret-Token": "s"}, b"not json").status == 400


def test_quiz_goes_out_as_a_quiz_and_stop_poll_reads_the_final_votes(em):
    quiz = Poll("2+2?", ("3", "4", "5"), correct_option=1, explanation="Count on your fingers.")
    assert A.validate(Content(poll=quiz)) == []
    published = publish(em, Content(text="Quiz time", poll=quiz))
    state = testing._emulator(em)
    sent = state.messages[(emu.DEMO_CHANNEL_ID, int(published.remote_id.split(",")[-1]))].payload["poll"]
    assert sent["type"] == "quiz"
    assert sent["correct_option_ids"] == [1]
    assert sent["explanation"] == "Count on your fingers."
    testing.advance(em, 12 * 3600)
    tally = A.stop_poll(testing.channel_for(em), published.remote_id)
    assert tally.closed is True
    assert tally.options == ("3", "4", "5")
    assert tally.correct_option == 1
    assert tally.voters == sum(tally.votes) > 0
    assert tally.votes[1] == max(tally.votes)  # the seeded audience mostly knows the answer
    with pytest.raises(Rejected):
        A.stop_poll(testing.channel_for(em), published.remote_id)  # closed already


def test_quiz_rules_are_checked_before_sending():
    fields = {
        p.field
        for p in A.validate(
            Content(
                poll=Poll("Q", ("a", "b"), multiple=True, correct_option=2, explanation="x" * 201, minutes=0)
            )
        )
    }
    assert {"poll.correct_option", "poll.multiple", "poll.explanation", "poll.minutes"} <= fields
    assert A.validate(Content(poll=Poll("Q", ("a", "b"), minutes=43800))) == []
