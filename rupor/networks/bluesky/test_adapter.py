"""The Bluesky adapter against its emulator over real HTTP: one session for many posts, renewal
when the access token expires, facets, images, link cards, threads, notifications and counts."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import Content, EventKind, Media, MemoryProgress, PublishRequest
from rupor.networks.bluesky import emulator as emu
from rupor.networks.bluesky import testing, wire
from rupor.networks.bluesky.adapter import BlueskyAdapter, rkey_for


@pytest.fixture
def running():
    emulator = testing.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _request(text: str, **fields) -> PublishRequest:
    return PublishRequest(Content(text=text, **fields), idempotency_key=uuid.uuid4().hex)


def _kinds(emulator, kind: str) -> int:
    return sum(1 for e in testing.ledger(emulator) if e["kind"] == kind)


def _record(emulator, uri: str) -> dict[str, Any]:
    at = wire.parse_at_uri(uri)
    with http.client(base_url=emulator.url) as client:
        found: dict[str, Any] = client.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": at.repo, "collection": at.collection, "rkey": at.rkey},
        ).json()
    return found


def test_one_login_for_many_posts_and_a_refresh_when_the_token_expires(running):
    adapter = BlueskyAdapter()
    channel = testing.channel_for(running)
    for n in range(3):
        adapter.publish(channel, _request(f"post {n}"), MemoryProgress())
    assert _kinds(running, "session_created") == 1
    testing.advance_clock(running, emu.ACCESS_TTL_S + 5)  # the access JWT expires
    adapter.publish(channel, _request("after two hours"), MemoryProgress())
    assert _kinds(running, "session_created") == 1
    assert _kinds(running, "session_refreshed") == 1
    # A second process (a fresh adapter) takes the stored session instead of logging in.
    BlueskyAdapter().publish(channel, _request("another worker"), MemoryProgress())
    assert _kinds(running, "session_created") == 1


def test_a_revoked_app_password_is_auth_expired_with_a_plain_message(running):
    adapter = BlueskyAdapter()
    with pytest.raises(errors.AuthExpired) as failed:
        adapter.publish(testing.broken_channel(running, "bad_token"), _request("x"), MemoryProgress())
    assert "app password" in failed.value.message
    assert failed.value.needs_person


def test_facets_use_utf8_byte_offsets_and_mentions_resolve_to_dids(running):
    adapter = BlueskyAdapter()
    text = "Привет @mina.bsky.social! Меню: https://example.com/menu #выпечка 🥐"
    post = adapter.publish(testing.channel_for(running), _request(text), MemoryProgress())
    value = _record(running, post.remote_id)["value"]
    raw = text.encode()
    pieces = {
        raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in value["facets"]
    }
    assert pieces["@mina.bsky.social"]["did"] == emu.AUDIENCE[0][0]
    assert pieces["https://example.com/menu"]["uri"] == "https://example.com/menu"
    assert pieces["#выпечка"]["tag"] == "выпечка"


def test_images_carry_alt_text_and_aspect_ratio(running):
    adapter = BlueskyAdapter()
    image = Media.from_bytes("photo", "a.jpg", "image/jpeg", b"\xff\xd8\xff" + b"0" * 500, 1200, 800)
    request = _request("Two pictures", media=(image, image), options={"alt": ["A croissant", "Bread"]})
    post = adapter.publish(testing.channel_for(running), request, MemoryProgress())
    images = _record(running, post.remote_id)["value"]["embed"]["images"]
    assert [i["alt"] for i in images] == ["A croissant", "Bread"]
    assert images[0]["aspectRatio"] == {"width": 1200, "height": 800}


def test_too_large_image_and_too_long_text_are_refused_before_any_call(running):
    adapter = BlueskyAdapter()
    big = Media.from_bytes("photo", "big.jpg", "image/jpeg", b"0" * (wire.IMAGE_MAX_BYTES + 1))
    assert adapter.validate(Content(text="x", media=(big,)))
    assert adapter.validate(Content(text="한" * 300)) == []  # 300 graphemes, 900 bytes
    assert adapter.validate(Content(text="👍🏽" * 301))[0].field == "text"
    assert adapter.validate(Content(text="a", media=(big,) * 5))


def test_link_card_thread_and_first_comment(running):
    adapter = BlueskyAdapter()
    channel = testing.channel_for(running)
    request = _request(
        "Read our story",
        link="https://example.com/story",
        first_comment="More in the comments",
        options={"thread": ["Part two", "Part three"], "link_title": "Our story"},
    )
    post = adapter.publish(channel, request, MemoryProgress())
    value = _record(running, post.remote_id)["value"]
    assert value["embed"]["external"] == {
        "uri": "https://example.com/story",
        "title": "Our story",
        "description": "",
    }
    comments = adapter.read_comments(channel, post.remote_id)
    texts = [c.text for c in comments]
    assert texts[:2] == ["Part two", "Part three"] or set(texts) >= {
        "Part two",
        "Part three",
        "More in the comments",
    }
    part_three = next(c for c in comments if c.text == "Part three")
    assert part_three.parent_remote_id == next(c.remote_id for c in comments if c.text == "Part two")


def test_a_retry_with_the_same_progress_is_a_no_op(running):
    adapter = BlueskyAdapter()
    channel = testing.channel_for(running)
    request = _request("once only")
    progress = MemoryProgress()
    first = adapter.publish(channel, request, progress)
    writes = _kinds(running, "record_written")
    progress.pop("post:ref")  # as if the answer had been lost
    again = adapter.publish(channel, request, progress)
    assert again.remote_id == first.remote_id
    assert _kinds(running, "record_written") == writes  # same record, same key: nothing written
    assert wire.parse_at_uri(first.remote_id).rkey == rkey_for(request.idempotency_key)


def test_rkey_follows_the_target_key_time():
    key = "0191a2b3c4d5" + "0" * 20  # 2024-08-27 in milliseconds
    rkey = rkey_for(key)
    assert wire.is_tid(rkey)
    assert wire.tid_time(rkey).year == 2024
    assert rkey_for(key) == rkey
    assert wire.is_tid(rkey_for("not-hex"))


def test_notifications_feed_the_inbox_and_counts_grow(running):
    adapter = BlueskyAdapter()
    channel = testing.channel_for(running)
    post = adapter.publish(channel, _request("Tell us"), MemoryProgress())
    testing.audience_comment(running, post.remote_id, "Nice!")
    testing.audience_quote(running, post.remote_id, "Look at this")
    testing.audience_mention(running, "hello there")
    page = adapter.poll_updates(channel, None)
    kinds = sorted((e.kind, (e.comment or e.message).text) for e in page.events)  # type: ignore[union-attr]
    assert (EventKind.COMMENT_NEW, "Nice!") in kinds
    assert (EventKind.MENTION, "Look at this") in kinds
    assert any(k == EventKind.MENTION and "hello there" in t for k, t in kinds)
    assert adapter.poll_updates(channel, page.cursor).events == ()
    before = adapter.post_metrics(channel, [post.remote_id])[0]
    testing.advance_clock(running, 3 * 86400)
    after = adapter.post_metrics(channel, [post.remote_id])[0]
    assert after.likes is not None and before.likes is not None and after.likes > before.likes
    assert after.comments is not None and after.comments >= 1
    assert after.extra["quotes"] >= 1


def test_rate_limit_answers_carry_headers_and_map_to_rate_limited(running):
    adapter = BlueskyAdapter()
    channel = testing.channel_for(running)
    adapter.publish(channel, _request("warm up"), MemoryProgress())
    state = running.app.emulator
    with state.lock:
        account = state.accounts[emu.DEMO_DID]
        account.points.append((state.now(), wire.WRITE_POINTS_PER_HOUR))
    with pytest.raises(errors.RateLimited) as limited:
        adapter.publish(channel, _request("too many"), MemoryProgress())
    assert limited.value.retry_after is not None and limited.value.retry_after > 0


def test_xrpc_errors_are_named_json(running):
    with http.client(base_url=running.url) as client:
        answer = client.post(
            "/xrpc/com.atproto.server.createSession", content=json.dumps({"identifier": "x", "password": "y"})
        )
    assert answer.status_code == 401
    assert answer.json()["error"] == "AuthenticationRequired"
