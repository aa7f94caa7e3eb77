"""The X emulator behaves as X's documentation says, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rupor.core import http
from rupor.networks.emulation import RunningEmulator
from rupor.networks.x import emulator as emu
from rupor.networks.x import testing


@pytest.fixture
def server() -> Iterator[RunningEmulator]:
    running = testing.start(rate_limits=True)
    try:
        yield running
    finally:
        running.stop()


def _client(server: RunningEmulator, token: str = emu.DEMO_ACCESS_TOKEN) -> Any:
    return http.client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_a_post_is_created_and_the_same_text_again_is_duplicate_content(server):
    with _client(server) as c:
        first = c.post("/2/tweets", json={"text": "Hello X"})
        assert first.status_code == 201
        assert first.json()["data"]["text"] == "Hello X"
        again = c.post("/2/tweets", json={"text": "Hello X"})
        assert again.status_code == 403
        assert again.json()["detail"] == "You are not allowed to create a Tweet with duplicate content."
        other = c.post("/2/tweets", json={"text": "Hello X!"})  # no idempotency key: a new post
        assert other.status_code == 201
    assert testing.posts_with(server, "Hello X") == 2
    # A day on, the same text is compared no more (a weekly rubric repeats its line).
    testing.advance_clock(server, emu.DUPLICATE_WINDOW_S + 1)
    with _client(server) as c:
        assert c.post("/2/tweets", json={"text": "Hello X"}).status_code == 201
    assert testing.posts_with(server, "Hello X") == 3


def test_weighted_length_counts_cjk_twice_and_urls_as_23(server):
    with _client(server) as c:
        assert c.post("/2/tweets", json={"text": "界" * 140}).status_code == 201
        assert c.post("/2/tweets", json={"text": "世" * 141}).status_code == 403
        url = "https://example.com/" + "a" * 200
        assert c.post("/2/tweets", json={"text": "b" * 256 + " " + url}).status_code == 201
        assert c.post("/2/tweets", json={"text": "c" * 257 + " " + url}).status_code == 403
    assert emu.weighted_length("a" * 280) == 280
    assert emu.weighted_length("é") == 1
    assert emu.weighted_length("한") == 2


def test_rate_limit_headers_and_24_hour_caps(server):
    with _client(server, emu.FREE_ACCESS_TOKEN) as c:
        answer = c.post("/2/tweets", json={"text": "one"})
        assert answer.headers["x-rate-limit-limit"] == "17"
        assert answer.headers["x-user-limit-24hour-limit"] == "17"
        assert answer.headers["x-user-limit-24hour-remaining"] == "16"
        assert "x-app-limit-24hour-reset" in answer.headers
        for n in range(16):
            assert c.post("/2/tweets", json={"text": f"post {n}"}).status_code == 201
        capped = c.post("/2/tweets", json={"text": "too many"})
        assert capped.status_code == 429
        assert "retry-after" not in capped.headers
        assert capped.headers["x-rate-limit-remaining"] == "0"


def test_free_tier_cannot_read_mentions(server):
    with _client(server, emu.FREE_ACCESS_TOKEN) as c:
        answer = c.get(f"/2/users/{emu.DEMO_USER_ID}/mentions")
    assert answer.status_code == 403
    assert answer.json()["reason"] == "client-not-enrolled"


def test_chunked_video_upload_is_processed_before_it_can_be_posted(server):
    data = b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000
    with _client(server) as c:
        init = c.post(
            "/2/media/upload",
            data={
                "command": "INIT",
                "media_type": "video/mp4",
                "total_bytes": str(len(data)),
                "media_category": "tweet_video",
            },
        )
        media_id = init.json()["data"]["id"]
        for i, start in enumerate(range(0, len(data), 2000)):
            part = c.post(
                "/2/media/upload",
                data={"command": "APPEND", "media_id": media_id, "segment_index": str(i)},
                files={"media": ("chunk", data[start : start + 2000])},
            )
            assert part.status_code == 204
        final = c.post("/2/media/upload", data={"command": "FINALIZE", "media_id": media_id}).json()["data"]
        assert final["processing_info"]["state"] == "pending"
        early = c.post("/2/tweets", json={"text": "video", "media": {"media_ids": [media_id]}})
        assert early.status_code == 400
        testing.advance_clock(server, emu.VIDEO_PROCESSING_S)
        status = c.get("/2/media/upload", params={"command": "STATUS", "media_id": media_id}).json()["data"]
        assert status["processing_info"]["state"] == "succeeded"
        assert (
            c.post("/2/tweets", json={"text": "video", "media": {"media_ids": [media_id]}}).status_code == 201
        )


def test_polls_are_validated(server):
    with _client(server) as c:
        ok = c.post("/2/tweets", json={"text": "Q?", "poll": {"options": ["a", "b"], "duration_minutes": 60}})
        assert ok.status_code == 201
        bad = c.post("/2/tweets", json={"text": "Q2?", "poll": {"options": ["a"], "duration_minutes": 60}})
        assert bad.status_code == 400
        assert bad.json()["type"].endswith("invalid-request")


def test_pkce_code_exchange_and_refresh_token_rotation(server):
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = {
        "response_type": "code",
        "client_id": emu.DEMO_CLIENT_ID,
        "redirect_uri": "http://app/cb",
        "scope": "tweet.read tweet.write users.read offline.access",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with http.client(base_url=server.url, timeout=5) as c:

        def code() -> str:
            page = c.get("/i/oauth2/authorize", params=authorize)
            assert page.status_code == 200 and "Authorize app" in page.text
            redirect = c.post("/i/oauth2/authorize", data={**authorize, "decision": "allow"})
            assert redirect.status_code == 302
            return parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]

        form = {
            "grant_type": "authorization_code",
            "redirect_uri": "http://app/cb",
            "client_id": emu.DEMO_CLIENT_ID,
        }
        assert (
            c.post("/2/oauth2/token", data={**form, "code": code(), "code_verifier": "wrong"}).status_code
            == 400
        )
        tokens = c.post("/2/oauth2/token", data={**form, "code": code(), "code_verifier": verifier}).json()
        assert tokens["expires_in"] == 7200
        assert tokens["refresh_token"]
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": emu.DEMO_CLIENT_ID,
        }
        renewed = c.post("/2/oauth2/token", data=refresh)
        assert renewed.status_code == 200
        assert renewed.json()["refresh_token"] != tokens["refresh_token"]
        assert c.post("/2/oauth2/token", data=refresh).status_code == 400  # the old one is spent


def test_public_metrics_grow_with_the_clock(server):
    with _client(server) as c:
        tid = c.post("/2/tweets", json={"text": "metrics"}).json()["data"]["id"]
        first = c.get("/2/tweets", params={"ids": tid, "tweet.fields": "public_metrics"}).json()["data"][0]
        testing.advance_clock(server, 24 * 3600)
        later = c.get("/2/tweets", params={"ids": tid, "tweet.fields": "public_metrics"}).json()["data"][0]
    assert later["public_metrics"]["impression_count"] > first["public_metrics"]["impression_count"]
    assert set(later["public_metrics"]) >= {"like_count", "retweet_count", "reply_count", "quote_count"}


def test_errors_have_x_problem_shapes(server):
    with _client(server, "nope") as c:
        answer = c.get("/2/users/me")
    assert answer.status_code == 401
    assert answer.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    with _client(server, emu.READ_ONLY_TOKEN) as c:
        assert c.post("/2/tweets", json={"text": "no scope"}).status_code == 403


def test_the_consent_page_cancel_answers_access_denied(server):
    authorize = {
        "response_type": "code",
        "client_id": emu.DEMO_CLIENT_ID,
        "redirect_uri": "http://app/cb",
        "scope": "tweet.read",
        "state": "s2",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
    }
    with http.client(base_url=server.url, timeout=5) as c:
        answer = c.post("/i/oauth2/authorize", data={**authorize, "decision": "deny"})
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["s2"],
    }
