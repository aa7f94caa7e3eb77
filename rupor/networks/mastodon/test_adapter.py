"""The Mastodon adapter end to end against the emulated instance over real HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import (
    LIMITS_SETTING,
    Content,
    EventKind,
    Media,
    MemoryProgress,
    Poll,
    PublishRequest,
)
from rupor.networks.mastodon import adapter as mastodon
from rupor.networks.mastodon import emulator as emu
from rupor.networks.mastodon import testing, wire
from rupor.networks.mastodon.adapter import MastodonAdapter

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"0" * 4096


@pytest.fixture
def em():
    running = testing.start()
    yield running
    running.stop()


@pytest.fixture
def adapter():
    return MastodonAdapter()


def request(content: Content, key: str | None = None) -> PublishRequest:
    return PublishRequest(content, idempotency_key=key or uuid.uuid4().hex)


def status(em, remote_id: str) -> Any:
    with http.client(base_url=em.url, timeout=5) as c:
        return c.get(
            f"/api/v1/statuses/{remote_id}", headers={"Authorization": f"Bearer {emu.DEMO_TOKEN}"}
        ).json()


def test_verify_reads_the_instances_limits(em, adapter):
    info = adapter.verify(testing.channel_for(em))
    assert info.limits["text_max"] == 500
    assert info.limits["media_max"] == 4
    assert info.limits["poll_options_max"] == 4
    assert "image/png" in info.limits["photo_types"]
    limited = adapter.verify(testing.broken_channel(em, "no_rights"))
    assert limited.can_publish is False
    assert any("write" in note for note in limited.notes)


def test_a_channels_own_limits_replace_the_defaults(adapter):
    settings = {LIMITS_SETTING: {"text_max": 5000, "media_max": 8, "photo_types": ["image/png"]}}
    limits = adapter.limits_for(settings)
    assert (limits.text_max, limits.media_max, limits.photo_types) == (5000, 8, ("image/png",))
    assert adapter.validate(Content(text="a" * 4000), limits) == []
    assert adapter.validate(Content(text="a" * 4000))  # the stock 500 without the instance's word
    assert adapter.limits_for({}) is adapter.limits


def test_status_with_content_warning_visibility_and_language(em, adapter):
    content = Content(
        text="Behind a warning",
        options={"spoiler_text": "Spoilers", "visibility": "unlisted", "language": "en"},
    )
    published = adapter.publish(testing.channel_for(em), request(content), MemoryProgress())
    got = status(em, published.remote_id)
    assert (got["spoiler_text"], got["visibility"], got["language"]) == ("Spoilers", "unlisted", "en")
    assert published.url and published.url.endswith(published.remote_id)


def test_video_waits_for_processing_then_posts(em, adapter):
    video = Media.from_bytes("video", "clip.mp4", "video/mp4", MP4)
    photo = Media.from_bytes("photo", "a.png", "image/png", PNG)
    content = Content(text="Clip", media=(video, photo), options={"alt": ["A short clip", ""]})
    progress = MemoryProgress()
    published = adapter.publish(testing.channel_for(em), request(content), progress)
    got = status(em, published.remote_id)
    assert [m["type"] for m in got["media_attachments"]] == ["video", "image"]
    assert got["media_attachments"][0]["description"] == "A short clip"
    assert progress["media:0:ready"] is True


def test_media_still_processing_is_transient_and_the_upload_is_kept(em, adapter):
    channel = replace(testing.channel_for(em), settings={"media_wait_s": 0})
    content = Content(text="Slow", media=(Media.from_bytes("video", "clip.mp4", "video/mp4", MP4),))
    progress = MemoryProgress()
    with pytest.raises(errors.Transient):
        adapter.publish(channel, request(content, "slow"), progress)
    uploaded = progress["media:0"]
    testing.advance_clock(em, emu.PROCESSING_S + 1)
    published = adapter.publish(channel, request(content, "slow"), progress)
    assert status(em, published.remote_id)["media_attachments"][0]["id"] == uploaded


def test_a_link_goes_after_the_text_and_a_first_reply_threads_under_it(em, adapter):
    channel = testing.channel_for(em)
    content = Content(text="Our menu", link="https://example.com/menu", first_comment="Prices inside")
    progress = MemoryProgress()
    published = adapter.publish(channel, request(content), progress)
    assert "https://example.com/menu" in status(em, published.remote_id)["content"]
    replies = adapter.read_comments(channel, published.remote_id)
    assert [(c.remote_id, c.text) for c in replies] == [(progress["first_comment_id"], "Prices inside")]


def test_poll(em, adapter):
    content = Content(text="Tea or coffee?", poll=Poll("Tea or coffee?", ("Tea", "Coffee"), multiple=True))
    published = adapter.publish(testing.channel_for(em), request(content), MemoryProgress())
    poll = status(em, published.remote_id)["poll"]
    assert [o["title"] for o in poll["options"]] == ["Tea", "Coffee"]
    assert poll["multiple"] is True


def test_media_and_poll_together_are_refused_before_any_call(adapter):
    content = Content(
        text="x", media=(Media.from_bytes("photo", "a.png", "image/png", PNG),), poll=Poll("q", ("a", "b"))
    )
    assert any(p.field == "poll" for p in adapter.validate(content))


def test_a_retry_with_the_same_target_key_is_a_no_op(em, adapter):
    marker = uuid.uuid4().hex[:8]
    same = request(Content(text=f"Once {marker}"), key="target-42")
    first = adapter.publish(testing.channel_for(em), same, MemoryProgress())
    again = adapter.publish(testing.channel_for(em), same, MemoryProgress())
    assert first.remote_id == again.remote_id
    assert testing.posts_with(em, marker) == 1


def test_native_scheduling_only_when_asked(em, adapter):
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    marker = uuid.uuid4().hex[:8]
    plain = adapter.publish(
        testing.channel_for(em), PublishRequest(Content(text=f"now {marker}"), "a", at), MemoryProgress()
    )
    assert plain.remote_id.isdigit()
    native = adapter.publish(
        testing.channel_for(em),
        PublishRequest(Content(text=f"later {marker}", options={"native_schedule": True}), "b", at),
        MemoryProgress(),
    )
    assert native.remote_id.startswith("scheduled:")
    adapter.delete(testing.channel_for(em), native.remote_id)
    assert testing.posts_with(em, f"later {marker}") == 0


def test_rate_limited_waits_until_the_reset_header(em, adapter):
    testing.faults(em, {"queue": [{"kind": "429", "method": "statuses.create", "count": 1}]})
    with pytest.raises(errors.RateLimited) as limited:
        adapter.publish(testing.channel_for(em), request(Content(text="x")), MemoryProgress())
    assert limited.value.retry_after is not None
    assert emu.INJECTED_THROTTLE_S - 2 <= limited.value.retry_after <= emu.INJECTED_THROTTLE_S + 1


def test_errors_by_status_in_words(em, adapter):
    with pytest.raises(errors.AuthExpired) as expired:
        adapter.publish(testing.broken_channel(em, "bad_token"), request(Content(text="x")), MemoryProgress())
    assert "reconnect" in expired.value.message
    with pytest.raises(errors.Rejected) as scope:
        adapter.publish(testing.broken_channel(em, "no_rights"), request(Content(text="x")), MemoryProgress())
    assert scope.value.code == 403 and scope.value.needs_person
    with pytest.raises(errors.Rejected) as invalid:
        adapter.reply_comment(testing.channel_for(em), "1", "x", idempotency_key="k")
    assert invalid.value.code == 404


def test_revoked_token_is_auth_expired(em, adapter):
    channel = testing.channel_for(em)
    adapter.verify(channel)
    with http.client(base_url=em.url, timeout=5) as c:
        c.post("/_emulator/tokens/revoke", json={"access_token": emu.DEMO_TOKEN}).raise_for_status()
    with pytest.raises(errors.AuthExpired):
        adapter.verify(channel)


def test_replies_mentions_and_direct_messages_reach_the_inbox(em, adapter):
    channel = testing.channel_for(em)
    post = adapter.publish(channel, request(Content(text="Ask me anything")), MemoryProgress())
    reply = testing.audience_comment(em, post.remote_id, "What about tea?")
    mention = testing.audience_mention(em, "have you seen this?")
    direct = testing.audience_direct(em, "a private word")
    page = adapter.poll_updates(channel, None)
    kinds = {e.remote_id: e.kind for e in page.events}
    assert kinds == {reply: EventKind.COMMENT_NEW, mention: EventKind.MENTION, direct: EventKind.MESSAGE_NEW}
    comment = next(e.comment for e in page.events if e.remote_id == reply)
    assert comment.post_remote_id == post.remote_id and comment.text == "What about tea?"
    assert adapter.poll_updates(channel, page.cursor).events == ()
    messages = adapter.read_messages(channel)
    assert [m.text for m in messages] == ["a private word"]
    answer = adapter.reply_comment(
        channel, post.remote_id, "Tea, always.", reply_to=reply, idempotency_key="r1"
    )
    assert answer.parent_remote_id == reply
    assert "Tea, always." in [c.text for c in adapter.read_comments(channel, post.remote_id)]
    people = adapter.people(channel, [comment.author.remote_id])
    assert people[0].name and people[0].followers is not None


def test_favourites_boosts_and_replies_grow(em, adapter):
    channel = testing.channel_for(em)
    post = adapter.publish(channel, request(Content(text="Metrics")), MemoryProgress())
    testing.advance_clock(em, 6 * 3600)
    early = adapter.post_metrics(channel, [post.remote_id])[0]
    testing.advance_clock(em, 96 * 3600)
    late = adapter.post_metrics(channel, [post.remote_id])[0]
    assert 0 < early.likes <= late.likes
    assert early.reposts <= late.reposts and early.comments <= late.comments
    assert late.views is None  # Mastodon counts no views
    assert adapter.channel_metrics(channel).members > 0


def test_oauth_registration_and_code_exchange(em):
    app = mastodon.register_app(em.url)
    url = mastodon.authorize_url(em.url, app["client_id"])
    with http.client(timeout=5) as c:
        page = c.get(url).text
    code = page.split("<code id='code'>")[1].split("<")[0]
    token = mastodon.exchange_code(em.url, app["client_id"], app["client_secret"], code)
    info = MastodonAdapter().verify(replace(testing.channel_for(em), credentials={"access_token": token}))
    assert info.remote_id == emu.DEMO_ACCOUNT_ID and info.can_publish


def test_links_count_23_and_remote_mentions_without_their_domain(adapter):
    link = "https://example.com/" + "a" * 200
    assert adapter.text_length(f"Read {link}") == 5 + 23
    assert adapter.text_length("hi @anna@example.social") == len("hi @anna")
    assert adapter.validate(Content(text="a" * 470 + " " + link)) == []


def test_wire_helpers():
    assert wire.idempotency_key("t1") == wire.idempotency_key("t1") != wire.idempotency_key("t2")
    assert wire.plain_text("<p>Hi <a href='x'>@anna</a><br />there</p><p>Two</p>") == "Hi @anna\nthere\n\nTwo"
    assert wire.without_leading_mentions("@anna @bob@x.social thanks") == "thanks"
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert wire.retry_after({"x-ratelimit-reset": "2026-01-01T00:01:00.000Z"}, now) == 60.0
    assert wire.limits_from_instance({}) == {}


def test_poll_votes_come_back_with_the_metrics_and_from_the_polls_route(em, adapter):
    content = Content(text="Tea or coffee?", poll=Poll("Tea or coffee?", ("Tea", "Coffee"), minutes=60))
    channel = testing.channel_for(em)
    published = adapter.publish(channel, request(content), MemoryProgress())
    assert status(em, published.remote_id)["poll"]["expires_at"]
    testing.advance_clock(em, 2 * 3600)
    [metrics] = adapter.post_metrics(channel, [published.remote_id])
    assert metrics.poll is not None
    assert metrics.poll.options == ("Tea", "Coffee")
    assert metrics.poll.closed is True
    assert metrics.poll.voters == sum(metrics.poll.votes) > 0
    poll_id = status(em, published.remote_id)["poll"]["id"]
    with http.client(base_url=em.url, timeout=5) as c:
        auth = {"Authorization": f"Bearer {emu.DEMO_TOKEN}"}
        assert c.get(f"/api/v1/polls/{poll_id}", headers=auth).json()["votes_count"] == sum(
            metrics.poll.votes
        )
        assert c.get("/api/v1/polls/999999", headers=auth).status_code == 404


def test_poll_minutes_outside_the_instance_range_are_refused(adapter):
    problems = adapter.validate(Content(text="q", poll=Poll("q", ("a", "b"), minutes=1)))
    assert [p.field for p in problems] == ["poll.minutes"]
