"""The Bluesky emulator behaves as the lexicons and the XRPC spec say (validation, errors,
sessions, putRecord no-ops), independently of the adapter."""

from __future__ import annotations

from typing import Any

import pytest

from rupor.core import http
from rupor.networks.bluesky import emulator as emu
from rupor.networks.bluesky import testing, wire


@pytest.fixture
def xrpc():
    emulator = testing.start()
    client = http.client(base_url=emulator.url)
    session = client.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": emu.DEMO_HANDLE, "password": emu.DEMO_APP_PASSWORD},
    ).json()
    client.headers["authorization"] = f"Bearer {session['accessJwt']}"
    try:
        yield client, session, emulator
    finally:
        client.close()
        emulator.stop()


def _put(client, rkey: str, record: dict[str, Any]):
    return client.post(
        "/xrpc/com.atproto.repo.putRecord",
        json={"repo": emu.DEMO_DID, "collection": wire.POST, "rkey": rkey, "record": record},
    )


def _post(text: str, **extra) -> dict[str, Any]:
    return {"$type": wire.POST, "text": text, "createdAt": "2026-01-01T00:00:00.000Z", **extra}


def test_text_limits_are_graphemes_and_bytes(xrpc):
    client, _s, _e = xrpc
    assert _put(client, wire.tid(), _post("👍🏽" * 300)).status_code == 200  # 300 graphemes, 2400 bytes
    too_long = _put(client, wire.tid(), _post("a" * 301))
    assert too_long.status_code == 400
    assert too_long.json() == {
        "error": "InvalidRequest",
        "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
    }
    assert _put(client, wire.tid(), _post("👨‍👩‍👧‍👦" * 121)).status_code == 400  # 121 graphemes, 3025 bytes


def test_images_need_alt_known_blobs_and_at_most_four(xrpc):
    client, _s, _e = xrpc
    blob = client.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=b"\xff\xd8\xff" + b"1" * 100,
        headers={"content-type": "image/jpeg"},
    ).json()["blob"]
    image = {"image": blob, "alt": "", "aspectRatio": {"width": 4, "height": 3}}
    ok = _put(client, wire.tid(), _post("x", embed={"$type": "app.bsky.embed.images", "images": [image]}))
    assert ok.status_code == 200
    five = _put(
        client, wire.tid(), _post("x", embed={"$type": "app.bsky.embed.images", "images": [image] * 5})
    )
    assert five.status_code == 400
    no_alt = {"image": blob}
    assert (
        _put(
            client, wire.tid(), _post("x", embed={"$type": "app.bsky.embed.images", "images": [no_alt]})
        ).status_code
        == 400
    )
    big = client.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=b"0" * (wire.IMAGE_MAX_BYTES + 1),
        headers={"content-type": "image/png"},
    ).json()["blob"]
    refused = _put(
        client,
        wire.tid(),
        _post("x", embed={"$type": "app.bsky.embed.images", "images": [{"image": big, "alt": ""}]}),
    )
    assert refused.json()["error"] == "BlobTooLarge"


def test_put_of_an_unchanged_record_is_a_no_op_and_create_on_a_taken_key_fails(xrpc):
    client, _s, emulator = xrpc
    rkey = wire.tid()
    first = _put(client, rkey, _post("same")).json()
    second = _put(client, rkey, _post("same")).json()
    assert first["cid"] == second["cid"] and "commit" in first and "commit" not in second
    taken = client.post(
        "/xrpc/com.atproto.repo.createRecord",
        json={"repo": emu.DEMO_DID, "collection": wire.POST, "rkey": rkey, "record": _post("same")},
    )
    assert taken.status_code == 500
    assert testing.posts_with(emulator, "same") == 1
    assert _put(client, "not-a-tid", _post("x")).status_code == 400


def test_replies_need_strong_refs(xrpc):
    client, _s, _e = xrpc
    bad = _put(
        client, wire.tid(), _post("x", reply={"root": {"uri": "at://x/y/z"}, "parent": {"uri": "at://x/y/z"}})
    )
    assert bad.status_code == 400


def test_expired_access_token_and_rotating_refresh(xrpc):
    client, session, emulator = xrpc
    testing.advance_clock(emulator, emu.ACCESS_TTL_S + 1)
    expired = client.get("/xrpc/com.atproto.server.getSession")
    assert expired.status_code == 400 and expired.json()["error"] == "ExpiredToken"
    refreshed = client.post(
        "/xrpc/com.atproto.server.refreshSession",
        headers={"authorization": f"Bearer {session['refreshJwt']}"},
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refreshJwt"] != session["refreshJwt"]
    testing.advance_clock(emulator, emu.REFRESH_GRACE_S + 1)  # the old refresh JWT is revoked after the grace
    old = client.post(
        "/xrpc/com.atproto.server.refreshSession",
        headers={"authorization": f"Bearer {session['refreshJwt']}"},
    )
    assert old.status_code == 400


def test_create_session_is_rate_limited_with_headers(xrpc):
    client, _s, _e = xrpc
    answers = [
        client.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": emu.DEMO_HANDLE, "password": emu.DEMO_APP_PASSWORD},
        )
        for _ in range(wire.SESSIONS_PER_5_MIN)
    ]
    last = answers[-1]
    assert last.status_code == 429
    assert last.json()["error"] == "RateLimitExceeded"
    assert last.headers["ratelimit-remaining"] == "0"
    assert "ratelimit-reset" in last.headers


def test_resolve_handle(xrpc):
    client, _s, _e = xrpc
    assert client.get(
        "/xrpc/com.atproto.identity.resolveHandle", params={"handle": emu.DEMO_HANDLE}
    ).json() == {"did": emu.DEMO_DID}
    assert (
        client.get("/xrpc/com.atproto.identity.resolveHandle", params={"handle": "nobody.test"}).status_code
        == 400
    )
