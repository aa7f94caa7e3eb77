"""The X adapter against its emulator: threads, duplicates, media, polls, tokens, limits, inbox."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from rupor.core import http
from rupor.networks import base, errors
from rupor.networks.base import Content, EventKind, Media, MemoryProgress, Poll, PublishRequest
from rupor.networks.emulation import RunningEmulator
from rupor.networks.x import adapter as x_adapter
from rupor.networks.x import emulator as emu
from rupor.networks.x import testing
from rupor.networks.x.adapter import XAdapter


@pytest.fixture
def server() -> Iterator[RunningEmulator]:
    running = testing.start(rate_limits=True)
    try:
        yield running
    finally:
        running.stop()
        x_adapter.LAST_LIMITS.clear()
        base._rotated.clear()  # each emulator issues its own tokens


def _request(text: str, **content: object) -> PublishRequest:
    return PublishRequest(Content(text=text, **content), idempotency_key=uuid.uuid4().hex)  # type: ignore[arg-type]  # Content's keyword fields, passed through


def _state(server: RunningEmulator) -> emu.XEmulatorState:
    return server.app.emulator  # type: ignore[attr-defined, no-any-return]  # set by create_app


def test_weighted_length_is_the_unit_of_validation():
    adapter = XAdapter()
    assert adapter.validate(Content(text="界" * 140)) == []
    assert adapter.validate(Content(text="界" * 141))[0].field == "text"
    assert adapter.validate(Content(text="a" * 250 + " https://example.com/" + "p" * 100)) == []


def test_a_thread_resumes_after_the_last_posted_id(server):
    adapter, channel = XAdapter(), testing.channel_for(server)
    marker = uuid.uuid4().hex[:8]
    request = _request(f"1/3 {marker}", options={"thread": [f"2/3 {marker}", f"3/3 {marker}"]})
    progress = MemoryProgress()
    testing.faults(server, {"queue": [{"kind": "5xx", "method": "POST /2/tweets", "count": 1}]})
    with pytest.raises(errors.UnknownOutcome):  # a 503 on a create: maybe, maybe not
        adapter.publish(channel, request, progress)
    assert testing.posts_with(server, marker) == 0
    first = adapter.publish(channel, request, progress)
    assert testing.posts_with(server, marker) == 3
    # A post in the middle times out after X made it: the retry finds it and goes on.
    marker = uuid.uuid4().hex[:8]
    request = _request(f"A {marker}", options={"thread": [f"B {marker}", f"C {marker}"]})
    progress = MemoryProgress()
    quick = replace(channel, settings={**channel.settings, "timeout": 0.5})
    testing.faults(
        server, {"hang_s": 2, "queue": [{"kind": "timeout_after", "method": "POST /2/tweets", "count": 1}]}
    )
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(quick, request, progress)
    assert progress["pending"] == 0
    published = adapter.publish(channel, request, progress)
    assert testing.posts_with(server, marker) == 3  # nothing twice
    tweets = {t.id: t for t in _state(server).tweets.values()}
    chain = progress["thread_ids"]
    assert chain[0] == published.remote_id
    assert [tweets[t].in_reply_to for t in chain] == [None, chain[0], chain[1]]
    assert first.remote_id != published.remote_id


def test_duplicate_content_is_reconciled_not_resent(server):
    adapter, channel = XAdapter(), testing.channel_for(server)
    text = f"Only once {uuid.uuid4().hex[:8]}"
    first = adapter.publish(channel, _request(text), MemoryProgress())
    again = adapter.publish(channel, _request(text), MemoryProgress())  # X says "duplicate content"
    assert again.remote_id == first.remote_id
    assert testing.posts_with(server, text) == 1
    found = adapter.find_published(channel, _request(text))
    assert found is not None
    assert found.remote_id == first.remote_id
    assert adapter.find_published(channel, _request("never posted " + uuid.uuid4().hex)) is None


def test_photos_video_and_polls(server):
    adapter, channel = XAdapter(), testing.channel_for(server)
    photos = tuple(
        Media.from_bytes("photo", f"p{i}.png", "image/png", b"\x89PNG" + bytes(6000)) for i in range(2)
    )
    progress = MemoryProgress()
    published = adapter.publish(channel, _request("two photos", media=photos), progress)
    tweet = _state(server).tweets[published.remote_id]
    assert len(tweet.media_ids) == 2
    video = Media.from_bytes("video", "v.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(9000))
    progress = MemoryProgress()
    published = adapter.publish(
        channel, _request("a video", media=(video,)), progress
    )  # waits for processing
    assert progress["media:0"]["ready"] is True
    assert _state(server).tweets[published.remote_id].media_ids == (progress["media:0"]["id"],)
    poll = Poll("Tea or coffee?", ("Tea", "Coffee"))
    published = adapter.publish(
        channel, _request("Vote", poll=poll, options={"poll_minutes": 60}), MemoryProgress()
    )
    assert _state(server).tweets[published.remote_id].poll["duration_minutes"] == 60  # type: ignore[index]  # the poll was given


def test_an_expired_token_is_renewed_once_and_the_refresh_token_rotated(server, monkeypatch):
    monkeypatch.setattr(
        base, "_credential_store", None
    )  # kept in this process (channels' store: its own test)
    adapter = XAdapter()
    channel = testing.broken_channel(server, "expired_token")
    results: list[str] = []

    def post(n: int) -> None:
        results.append(
            adapter.publish(channel, _request(f"renewed {n} {uuid.uuid4().hex}"), MemoryProgress()).remote_id
        )

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    refreshed = [e for e in _state(server).ledger if e["kind"] == "token_refreshed"]
    assert len(refreshed) == 1  # one renewal under the channel's lock, not one per worker
    newest = base.latest_credentials(channel)
    assert newest["refresh_token"] != emu.DEMO_REFRESH_TOKEN
    assert int(newest["expires_at"]) > 0
    with http.client(base_url=server.url) as c:  # the spent refresh token no longer works
        spent = c.post(
            "/2/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": emu.DEMO_REFRESH_TOKEN,
                "client_id": emu.DEMO_CLIENT_ID,
            },
        )
    assert spent.status_code == 400


def test_a_bad_token_without_refresh_is_auth_expired_with_a_plain_message(server):
    with pytest.raises(errors.AuthExpired) as bad:
        XAdapter().publish(testing.broken_channel(server, "bad_token"), _request("x"), MemoryProgress())
    assert "reconnect X" in bad.value.message


def test_limits_are_read_from_headers(server):
    adapter, channel = XAdapter(), testing.broken_channel(server, "free_tier")
    adapter.publish(channel, _request("first on free"), MemoryProgress())
    seen = x_adapter.LAST_LIMITS[channel.remote_id]
    assert (seen.user_day_limit, seen.user_day_remaining) == (17, 16)
    assert adapter.rate_limits(channel)[0].limit == 17  # the window X told, not a guess
    for n in range(16):
        adapter.publish(channel, _request(f"free {n}"), MemoryProgress())
    sent = len(_state(server).tweets)
    with pytest.raises(errors.RateLimited) as capped:
        adapter.publish(channel, _request("one too many"), MemoryProgress())
    assert capped.value.retry_after is not None
    assert capped.value.retry_after > 80000  # until the 24-hour reset X named
    assert len(_state(server).tweets) == sent  # refused before sending


def test_a_429_waits_until_the_reset_the_headers_name(server):
    testing.faults(server, {"queue": [{"kind": "429", "method": "POST /2/tweets", "count": 1}]})
    with pytest.raises(errors.RateLimited) as limited:
        XAdapter().publish(testing.channel_for(server), _request("slow down"), MemoryProgress())
    assert limited.value.retry_after is not None
    assert 800 < limited.value.retry_after <= 900


def test_mentions_and_replies_reach_the_inbox_or_the_tier_is_named(server):
    adapter, channel = XAdapter(), testing.channel_for(server)
    post = adapter.publish(channel, _request("Ask me anything"), MemoryProgress())
    reply = testing.audience_comment(server, post.remote_id, "When is the next one?")
    mention = testing.audience_mention(server, "have you seen this?")
    page = adapter.poll_updates(channel, None)
    kinds = {e.remote_id: e.kind for e in page.events}
    assert kinds[reply] is EventKind.COMMENT_NEW
    assert kinds[mention] is EventKind.MENTION
    assert adapter.poll_updates(channel, page.cursor).events == ()
    free = testing.broken_channel(server, "free_tier")
    info = adapter.verify(free)
    assert any("tier" in note for note in info.notes)
    with pytest.raises(errors.NotSupported) as refused:
        adapter.poll_updates(free, None)
    assert "Free tier" in refused.value.message


def test_public_metrics_go_to_analytics_fields(server):
    adapter, channel = XAdapter(), testing.channel_for(server)
    post = adapter.publish(channel, _request("measure me"), MemoryProgress())
    testing.advance_clock(server, 48 * 3600)
    (metrics,) = adapter.post_metrics(channel, [post.remote_id, "1"])
    assert metrics.views and metrics.views > 0
    assert metrics.likes is not None
    assert metrics.reposts is not None
    assert "quote_count" in metrics.extra
    assert adapter.channel_metrics(channel).members == 1200


def test_poll_votes_come_back_with_the_metrics(server):
    adapter, channel = XAdapter(), testing.channel_for(server)
    poll = Poll("Tea or coffee?", ("Tea", "Coffee", "Water"), minutes=30)
    published = adapter.publish(channel, _request("Vote now", poll=poll), MemoryProgress())
    assert _state(server).tweets[published.remote_id].poll["duration_minutes"] == 30  # type: ignore[index]  # the poll was given
    testing.advance_clock(server, 3600)
    [metrics] = adapter.post_metrics(channel, [published.remote_id])
    assert metrics.poll is not None
    assert metrics.poll.options == ("Tea", "Coffee", "Water")
    assert metrics.poll.closed is True
    assert metrics.poll.voters == sum(metrics.poll.votes) > 0
    assert (
        adapter.validate(Content(text="x", poll=Poll("q", ("a", "b"), minutes=4)))[0].field == "poll.minutes"
    )
