"""VkAdapter end to end against the emulator over real HTTP, and against documented payloads."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import Content, EventKind, Media, MemoryProgress, Poll, PublishRequest
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing
from rupor.networks.vk.adapter import VkAdapter

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
adapter = VkAdapter()


@pytest.fixture(scope="module")
def vk():
    running = testing.start(rate_limits=False)
    yield running
    testing.state(running).stop()
    running.stop()


@pytest.fixture
def channel(vk):
    return testing.channel_for(vk, settings={"pace": False, "timeout": 0.5})


def key() -> str:
    return uuid.uuid4().hex


def photo(name: str = "a.png") -> Media:
    return Media.from_bytes("photo", name, "image/png", PNG)


def ledger(vk, kind: str) -> list[dict[str, Any]]:
    return [e for e in testing.state(vk).ledger if e["kind"] == kind]


def test_verify(channel):
    info = adapter.verify(channel)
    assert info.name == "Rupor Demo"
    assert info.members
    assert info.can_publish


def test_verify_bad_token_and_no_rights(vk):
    with pytest.raises(errors.AuthExpired):
        adapter.verify(testing.broken_channel(vk, "bad_token"))
    with pytest.raises(errors.Rejected) as caught:
        adapter.verify(testing.broken_channel(vk, "no_rights"))
    assert "not an editor or administrator" in caught.value.message


def test_publish_text_exactly_once(vk, channel):
    marker = f"text-{key()}"
    published = adapter.publish(channel, PublishRequest(Content(text=marker), key()), MemoryProgress())
    assert published.url is not None
    assert published.remote_id.startswith("-1_")
    assert published.url.startswith("https://vk.com/wall-1_")
    assert testing.posts_with(vk, marker) == 1


def test_publish_album_poll_link_and_first_comment(vk, channel):
    marker = f"rich-{key()}"
    content = Content(
        text=marker,
        media=(photo("1.png"), Media.from_bytes("photo", "2.jpg", "image/jpeg", JPEG), photo("3.png")),
        poll=Poll("Which one?", ("A", "B")),
        link="https://example.com/post",
        first_comment="Details inside",
    )
    published = adapter.publish(channel, PublishRequest(content, key()), MemoryProgress())
    entry = next(e for e in ledger(vk, "post_created") if e["text"] == marker)
    kinds = [a[:4] for a in entry["attachments"]]
    assert kinds == ["phot", "phot", "phot", "poll", "http"]
    comments = adapter.read_comments(channel, published.remote_id)
    assert [c.text for c in comments] == ["Details inside"]
    assert comments[0].author.remote_id == "-1"


def test_publish_resumes_from_progress(vk, channel):
    marker = f"resume-{key()}"
    request = PublishRequest(Content(text=marker, media=(photo(), photo())), key())
    progress = MemoryProgress()
    testing.queue_error(vk, "wall.post", 10)
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, request, progress)
    saved_before = len(ledger(vk, "photo_saved"))
    assert progress.get("photo:0")
    assert progress.get("photo:1")
    adapter.publish(channel, request, progress)
    assert len(ledger(vk, "photo_saved")) == saved_before  # no photo uploaded twice
    assert testing.posts_with(vk, marker) == 1


def test_timeout_after_post_is_unknown_then_guid_retry_is_safe(vk, channel):
    marker = f"timeout-{key()}"
    request = PublishRequest(Content(text=marker), key())
    testing.faults(vk, {"hang_s": 2, "queue": [{"kind": "timeout_after", "method": "wall.post"}]})
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, request, MemoryProgress())
    found = adapter.find_published(channel, request)
    assert found is not None
    again = adapter.publish(channel, request, MemoryProgress())
    assert again.remote_id == found.remote_id
    assert testing.posts_with(vk, marker) == 1


def test_reset_after_and_5xx_on_create_are_unknown(vk, channel):
    for fault in ("reset_after", "5xx"):
        testing.faults(vk, {"queue": [{"kind": fault, "method": "wall.post"}]})
        with pytest.raises(errors.UnknownOutcome):
            adapter.publish(
                channel, PublishRequest(Content(text=f"{fault}-{key()}"), key()), MemoryProgress()
            )


def test_faults_on_reads_are_transient(vk, channel):
    for fault in ("reset", "5xx"):
        testing.faults(vk, {"queue": [{"kind": fault, "method": "groups.getById"}]})
        with pytest.raises(errors.Transient):
            adapter.channel_metrics(channel)


def test_connect_error_is_transient():
    http.allow_origin("http://127.0.0.1:9")  # a connection refused, not the address guard
    channel = testing.channel_for(type("E", (), {"url": "http://127.0.0.1:9"})(), settings={"pace": False})
    with pytest.raises(errors.Transient):
        adapter.publish(channel, PublishRequest(Content(text="x"), key()), MemoryProgress())


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (6, errors.RateLimited),
        (9, errors.RateLimited),
        (29, errors.RateLimited),
        (5, errors.AuthExpired),
        (14, errors.Rejected),
        (15, errors.Rejected),
        (214, errors.Rejected),
        (100, errors.Rejected),
        (10, errors.UnknownOutcome),
        (1, errors.UnknownOutcome),
    ],
)
def test_error_codes_on_wall_post(vk, channel, code, cls):
    testing.queue_error(vk, "wall.post", code)
    with pytest.raises(cls) as caught:
        adapter.publish(channel, PublishRequest(Content(text=f"err-{key()}"), key()), MemoryProgress())
    assert caught.value.code == code
    if code == 14:
        assert caught.value.needs_person
        assert "captcha" in caught.value.message
    if cls is errors.RateLimited:
        assert caught.value.retry_after
        assert caught.value.retry_after >= 1


def test_error_10_on_read_is_transient(vk, channel):
    testing.queue_error(vk, "wall.getById", 10)
    with pytest.raises(errors.Transient):
        adapter.post_metrics(channel, ["-1_1"])


def test_no_rights_publish_is_rejected_plainly(vk):
    with pytest.raises(errors.Rejected) as caught:
        adapter.publish(
            testing.broken_channel(vk, "no_rights"),
            PublishRequest(Content(text="x"), key()),
            MemoryProgress(),
        )
    assert caught.value.code == 214
    assert "editor or administrator" in caught.value.message


def test_bad_token_publish_is_auth_expired(vk):
    with pytest.raises(errors.AuthExpired):
        adapter.publish(
            testing.broken_channel(vk, "bad_token"),
            PublishRequest(Content(text="x"), key()),
            MemoryProgress(),
        )


def test_edit_and_delete(vk, channel):
    marker = f"edit-{key()}"
    published = adapter.publish(
        channel, PublishRequest(Content(text=marker, media=(photo(),)), key()), MemoryProgress()
    )
    adapter.edit(channel, published.remote_id, Content(text=marker + " edited"))
    post = next(p for p in testing.state(vk).snapshot()["posts"] if p["text"].startswith(marker))
    assert post["text"] == marker + " edited"
    owner, pid = published.remote_id.split("_")
    assert testing.state(vk).posts[int(owner)][int(pid)].attachments[0]["type"] == "photo"  # photo kept
    adapter.delete(channel, published.remote_id)
    assert testing.posts_with(vk, marker) == 0


def test_scheduled_publish_uses_publish_date(vk, channel):
    marker = f"sched-{key()}"
    when = dt.datetime.fromtimestamp(testing.state(vk).now() + 7200, dt.UTC)
    adapter.publish(channel, PublishRequest(Content(text=marker), key(), publish_at=when), MemoryProgress())
    assert testing.posts_with(vk, marker) == 0
    assert next(e for e in ledger(vk, "post_created") if e["text"] == marker)["postponed"]


def test_comments_reply_delete_and_ban(vk, channel):
    published = adapter.publish(
        channel, PublishRequest(Content(text=f"talk-{key()}"), key()), MemoryProgress()
    )
    remote = testing.audience_comment(vk, published.remote_id, "Is it vegan?")
    reply_key = key()
    reply = adapter.reply_comment(
        channel, published.remote_id, "Yes!", reply_to=remote, idempotency_key=reply_key
    )
    again = adapter.reply_comment(
        channel, published.remote_id, "Yes!", reply_to=remote, idempotency_key=reply_key
    )
    assert reply.remote_id == again.remote_id
    comments = adapter.read_comments(channel, published.remote_id)
    assert [c.text for c in comments] == ["Is it vegan?", "Yes!"]
    assert comments[1].parent_remote_id == remote
    assert comments[0].author.name
    adapter.delete_comment(channel, published.remote_id, remote)
    assert [c.text for c in adapter.read_comments(channel, published.remote_id)] == []
    adapter.ban_user(channel, comments[0].author.remote_id, reason="spam")
    assert ledger(vk, "user_banned")[-1]["owner_id"] == int(comments[0].author.remote_id)


def test_messages_read_and_send_once(vk, channel):
    start = dt.datetime.fromtimestamp(testing.state(vk).now() - 1, dt.UTC)
    testing.audience_message(vk, "Do you deliver?")
    messages = adapter.read_messages(channel, since=start)
    incoming = [m for m in messages if m.text == "Do you deliver?"]
    assert incoming
    assert not incoming[0].outgoing
    send_key = key()
    first = adapter.send_message(channel, incoming[0].conversation_id, "We do!", idempotency_key=send_key)
    second = adapter.send_message(channel, incoming[0].conversation_id, "We do!", idempotency_key=send_key)
    assert first.remote_id == second.remote_id
    assert len([e for e in ledger(vk, "message_sent") if e["text"] == "We do!"]) == 1


def test_metrics_grow_with_time(vk, channel):
    published = adapter.publish(
        channel, PublishRequest(Content(text=f"metrics-{key()}"), key()), MemoryProgress()
    )
    testing.advance(vk, 3 * 3600)
    [metrics] = adapter.post_metrics(channel, [published.remote_id])
    assert metrics.views
    assert metrics.views > 0
    assert metrics.reach is not None
    assert metrics.likes is not None
    channel_metrics = adapter.channel_metrics(channel)
    assert channel_metrics.members
    assert channel_metrics.members > 300
    assert channel_metrics.joins is not None


def test_public_page_of_competitor(channel):
    page = adapter.public_page(channel, "https://vk.com/competitor_coffee", limit=3)
    assert page.name == "Competitor Coffee"
    assert page.members
    assert len(page.posts) == 3
    assert page.posts[0].views is not None


def test_poll_updates(vk, channel):
    page = adapter.poll_updates(channel, None)
    testing.audience_message(vk, "long poll hello")
    page = adapter.poll_updates(channel, page.cursor)
    assert any(e.message is not None and e.message.text == "long poll hello" for e in page.events)


# -- webhooks, against payloads shaped like dev.vk.com's Callback API examples ---------------


def test_webhook_confirmation_and_secret(channel):
    result = adapter.handle_webhook(channel, {}, b'{"type": "confirmation", "group_id": 1}')
    assert result.status == 200
    assert result.body == testing.demo_credentials()["callback_confirmation"].encode()
    wrong = json.dumps(
        {
            "type": "wall_reply_new",
            "group_id": 1,
            "event_id": "e",
            "v": "5.199",
            "secret": "nope",
            "object": {},
        }
    )
    assert adapter.handle_webhook(channel, {}, wrong.encode()).status == 403
    assert adapter.handle_webhook(channel, {}, b'{"type": "confirmation", "group_id": 2}').status == 403
    assert adapter.handle_webhook(channel, {}, b"not json").status == 400


def test_webhook_events(channel):
    secret = testing.demo_credentials()["callback_secret"]
    base = {"group_id": 1, "v": "5.199", "secret": secret}
    reply = {
        **base,
        "type": "wall_reply_new",
        "event_id": "a1",
        "object": {
            "id": 7,
            "from_id": 10005,
            "date": 1700000000,
            "text": "Nice",
            "post_owner_id": -1,
            "post_id": 3,
            "parents_stack": [5],
            "reply_to_comment": 5,
            "reply_to_user": 10004,
        },
    }
    result = adapter.handle_webhook(channel, {}, json.dumps(reply).encode())
    assert result.body == b"ok"
    assert result.status == 200
    [event] = result.events
    assert event.comment is not None
    assert event.kind is EventKind.COMMENT_NEW
    assert event.comment.remote_id == "-1_7"
    assert event.comment.post_remote_id == "-1_3"
    assert event.comment.parent_remote_id == "-1_5"
    message = {
        **base,
        "type": "message_new",
        "event_id": "b2",
        "object": {
            "message": {
                "id": 12,
                "date": 1700000001,
                "peer_id": 10005,
                "from_id": 10005,
                "text": "Hi",
                "out": 0,
            },
            "client_info": {},
        },
    }
    [event] = adapter.handle_webhook(channel, {}, json.dumps(message).encode()).events
    assert event.message is not None
    assert event.kind is EventKind.MESSAGE_NEW
    assert event.message.conversation_id == "10005"
    join = {**base, "type": "group_join", "event_id": "c3", "object": {"user_id": 10006, "join_type": "join"}}
    assert (
        adapter.handle_webhook(channel, {}, json.dumps(join).encode()).events[0].kind is EventKind.MEMBER_JOIN
    )
    delete = {
        **base,
        "type": "wall_reply_delete",
        "event_id": "d4",
        "object": {"owner_id": -1, "id": 7, "user_id": 100, "post_id": 3},
    }
    [event] = adapter.handle_webhook(channel, {}, json.dumps(delete).encode()).events
    assert event.comment is not None
    assert event.kind is EventKind.COMMENT_DELETE
    assert event.comment.deleted
    other = {**base, "type": "photo_new", "event_id": "e5", "object": {}}
    assert adapter.handle_webhook(channel, {}, json.dumps(other).encode()).events == ()


# -- content rules and text ------------------------------------------------------------------


def test_validate_rules():
    assert not adapter.validate(Content(text="hello https://a.example https://b.example"))
    problems = adapter.validate(Content(poll=Poll("Q?", ("a", "b"))))
    assert any(p.field == "poll" for p in problems)
    too_many = adapter.validate(Content(text="x", media=tuple(photo(f"{i}.png") for i in range(11))))
    assert any(p.field == "media" for p in too_many)
    assert adapter.validate(Content(text="x" * 16385))


@given(
    st.lists(st.sampled_from(["\u0430", "\u0451", "👍", "👨‍👩‍👧", "e\u0301", "漢", "a"]), max_size=60).map(
        "".join
    )
)
def test_text_length_counts_code_points(text):
    assert adapter.text_length(text) == len(text)
    over = adapter.validate(Content(text=text + "x" * (16385 - len(text))))
    assert any(p.field == "text" for p in over)


def test_pacing_keeps_a_multi_call_publish_under_vk_rate_limits():
    running = testing.start()  # rate limits on: 3/s per user token
    try:
        channel = testing.channel_for(running)
        content = Content(text="paced", media=(photo("1.png"), photo("2.png")), first_comment="fc")
        published = adapter.publish(channel, PublishRequest(content, key()), MemoryProgress())
        assert adapter.read_comments(channel, published.remote_id)[0].text == "fc"
        assert adapter.post_metrics(channel, [published.remote_id])[0].views is not None
    finally:
        testing.state(running).stop()
        running.stop()


def test_people_are_looked_up_with_avatar_and_followers(channel):
    """users.get (photo_100, followers_count) for people, groups.getById (members_count as
    reach) for communities; a deleted page keeps its name but has no avatar or followers."""
    found = {
        p.remote_id: p
        for p in adapter.people(channel, ["10007", "10008", "-1", str(emu.DEACTIVATED_USER_ID)])
    }
    assert set(found) == {"10007", "10008", "-1", str(emu.DEACTIVATED_USER_ID)}
    person = found["10007"]
    assert person.url == "https://vk.com/id10007"
    assert person.avatar_url and person.avatar_url.startswith("https://vk.com/images/camera_100.png")
    assert isinstance(person.followers, int) and person.followers >= 0
    community = found["-1"]
    assert community.url == "https://vk.com/club1" and community.name
    assert community.followers is not None and community.avatar_url
    gone = found[str(emu.DEACTIVATED_USER_ID)]
    assert gone.avatar_url is None and gone.followers is None
    assert adapter.people(channel, [str(emu.MAX_USER_ID + 1)]) == []  # VK's error 113: nobody


def test_people_lookups_are_batched_by_vk_limits(channel):
    """1500 people take two users.get calls: the emulator refuses more than 1000 ids in one
    (error 100, from the schema's maxItems), so all of them coming back proves the split."""
    ids = [str(20000 + i) for i in range(1500)]
    assert len(adapter.people(channel, ids)) == 1500


@pytest.fixture
def fresh_vk():
    """An emulator of its own: other tests move the shared one's clock hours ahead of the real
    time the adapter dates a poll's end from."""
    running = testing.start(rate_limits=False)
    yield running
    testing.state(running).stop()
    running.stop()


def test_poll_with_an_end_date_and_its_votes_read_with_polls_get_by_id(fresh_vk):
    vk = fresh_vk
    channel = testing.channel_for(vk, settings={"pace": False, "timeout": 0.5})
    marker = f"poll-{key()}"
    content = Content(text=marker, poll=Poll("Which one?", ("A", "B", "C"), minutes=120))
    published = adapter.publish(channel, PublishRequest(content, key()), MemoryProgress())
    testing.advance(vk, 3600)
    [metrics] = adapter.post_metrics(channel, [published.remote_id])
    tally = metrics.poll
    assert tally is not None
    assert tally.options == ("A", "B", "C")
    assert tally.closed is False
    assert tally.voters == sum(tally.votes) > 0
    assert tally.closes_at is not None
    testing.advance(vk, 2 * 3600)
    [later] = adapter.post_metrics(channel, [published.remote_id])
    assert later.poll is not None and later.poll.closed is True
    assert later.poll.voters is not None and later.poll.voters >= tally.voters


def test_polls_create_refuses_an_end_date_in_the_past(vk, channel):
    with pytest.raises(errors.Rejected):
        adapter.call(
            channel, "polls.create", {"owner_id": -1, "question": "Q", "add_answers": '["a"]', "end_date": 1}
        )
