"""The YouTube emulator against the API's documentation and discovery document, called directly
over HTTP (no adapter): the resumable upload protocol, validation and error shapes, quota."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.core import http
from rupor.networks.emulation import RunningEmulator
from rupor.networks.youtube import discovery, testing, wire
from rupor.networks.youtube import emulator as emu

AUTH = {"Authorization": f"Bearer {emu.DEMO_ACCESS_TOKEN}"}
METADATA = {
    "snippet": {"title": "A title", "description": "Words", "categoryId": "22"},
    "status": {"privacyStatus": "unlisted"},
}


@pytest.fixture
def yt() -> Iterator[RunningEmulator]:
    running = testing.start()
    try:
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def _running(**options: Any) -> Iterator[RunningEmulator]:
    running = testing.start(**options)
    try:
        yield running
    finally:
        running.stop()


def _client(running: RunningEmulator) -> Any:
    return http.client(base_url=running.url, timeout=10)


def _session(c: Any, total: int, body: dict[str, Any] | None = None, **params: str) -> Any:
    return c.post(
        "/upload/youtube/v3/videos",
        params={"uploadType": "resumable", "part": "snippet,status", **params},
        headers={**AUTH, "X-Upload-Content-Length": str(total), "X-Upload-Content-Type": "video/mp4"},
        content=json.dumps(body if body is not None else METADATA),
    )


def _put(c: Any, uri: str, data: bytes, first: int, total: int) -> Any:
    return c.put(
        uri, content=data, headers={**AUTH, "Content-Range": wire.content_range(first, len(data), total)}
    )


def test_resumable_upload_answers_308_with_range_and_resumes_from_the_acknowledged_byte(yt) -> None:
    total = wire.CHUNK_QUANTUM * 2 + 1000
    data = testing.video_bytes(total)
    with _client(yt) as c:
        started = _session(c, total)
        assert started.status_code == 200
        uri = started.headers["location"]
        assert "upload_id=" in uri
        status = c.put(uri, headers={**AUTH, "Content-Range": f"bytes */{total}"})
        assert status.status_code == 308 and "range" not in status.headers  # nothing received yet
        first = _put(c, uri, data[: wire.CHUNK_QUANTUM], 0, total)
        assert first.status_code == 308
        assert first.headers["range"] == f"bytes=0-{wire.CHUNK_QUANTUM - 1}"
        # A chunk that is not a multiple of 256 KiB (and not the last) is refused.
        odd = _put(c, uri, data[wire.CHUNK_QUANTUM : wire.CHUNK_QUANTUM + 1000], wire.CHUNK_QUANTUM, total)
        assert odd.status_code == 400
        asked = c.put(uri, headers={**AUTH, "Content-Range": f"bytes */{total}"})
        assert asked.status_code == 308 and wire.next_offset(asked.headers["range"]) == wire.CHUNK_QUANTUM
        # Resending an overlap is harmless: the bytes already held are skipped.
        rest = _put(c, uri, data[0:], 0, total)
        assert rest.status_code == 200
        video = rest.json()
        assert video["kind"] == "youtube#video" and video["snippet"]["title"] == "A title"
        assert video["status"]["privacyStatus"] == "unlisted"
        again = c.put(uri, headers={**AUTH, "Content-Range": f"bytes */{total}"})
        assert again.status_code == 200 and again.json()["id"] == video["id"]
    assert testing.posts_with(yt, "A title") == 1
    assert yt.app.emulator.videos[video["id"]].size == total


def test_validation_comes_from_the_discovery_document(yt) -> None:
    assert "status" in discovery.parts("videos") and "snippet" in discovery.parts("commentThreads")
    with _client(yt) as c:
        missing = c.get("/youtube/v3/videos", params={"id": "x"}, headers=AUTH)
        assert missing.status_code == 400
        err = missing.json()["error"]
        assert err["code"] == 400 and err["errors"][0]["reason"] == "required"
        assert err["errors"][0]["location"] == "part"
        unknown = c.get("/youtube/v3/videos", params={"id": "x", "part": "snippet,nonsense"}, headers=AUTH)
        assert unknown.json()["error"]["errors"][0] == {
            "message": "nonsense",
            "domain": "youtube.part",
            "reason": "unknownPart",
            "locationType": "parameter",
            "location": "part",
        }
        bad_enum = c.post(
            "/youtube/v3/comments/setModerationStatus",
            params={"id": "x", "moderationStatus": "hidden"},
            headers=AUTH,
        )
        assert (
            bad_enum.status_code == 400
            and bad_enum.json()["error"]["errors"][0]["reason"] == "invalidParameter"
        )
        bad_param = c.get(
            "/youtube/v3/channels", params={"part": "id", "mine": "true", "colour": "red"}, headers=AUTH
        )
        assert bad_param.status_code == 400
        privacy = _session(c, 10, {"snippet": {"title": "T"}, "status": {"privacyStatus": "friends"}})
        assert privacy.status_code == 400 and privacy.json()["error"]["errors"][0]["reason"] == "invalidValue"
        field = _session(c, 10, {"snippet": {"title": "T", "colour": "red"}})
        assert field.status_code == 400
        long_title = _session(c, 10, {"snippet": {"title": "T" * 101}})
        assert long_title.json()["error"]["errors"][0]["reason"] == "invalidTitle"
        angle = _session(c, 10, {"snippet": {"title": "ok", "description": "a <b> c"}})
        assert angle.json()["error"]["errors"][0]["reason"] == "invalidDescription"
        public_at = _session(
            c,
            10,
            {
                "snippet": {"title": "ok"},
                "status": {"privacyStatus": "public", "publishAt": "2099-01-01T00:00:00Z"},
            },
        )
        assert public_at.json()["error"]["errors"][0]["reason"] == "invalidPublishAt"
        noauth = c.get("/youtube/v3/channels", params={"part": "id", "mine": "true"})
        assert noauth.status_code == 401 and noauth.json()["error"]["errors"][0]["reason"] == "authError"


def test_scheduled_private_video_and_read_only_token(yt) -> None:
    with _client(yt) as c:
        body = {
            "snippet": {"title": "Later"},
            "status": {"privacyStatus": "private", "publishAt": "2099-01-01T10:00:00Z"},
        }
        uri = _session(c, 100, body).headers["location"]
        video = _put(c, uri, testing.video_bytes(100), 0, 100).json()
        assert (
            video["status"]["privacyStatus"] == "private"
            and video["status"]["publishAt"] == "2099-01-01T10:00:00Z"
        )
        read_only = c.post(
            "/upload/youtube/v3/videos",
            params={"uploadType": "resumable", "part": "snippet"},
            headers={"Authorization": f"Bearer {emu.READ_ONLY_TOKEN}", "X-Upload-Content-Length": "10"},
            content=json.dumps({"snippet": {"title": "x"}}),
        )
        assert read_only.status_code == 403
        assert read_only.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"


def test_unverified_projects_uploads_are_forced_private() -> None:
    with _running(unverified=True) as running, _client(running) as c:
        uri = _session(
            c, 100, {"snippet": {"title": "Public?"}, "status": {"privacyStatus": "public"}}
        ).headers["location"]
        assert _put(c, uri, testing.video_bytes(100), 0, 100).json()["status"]["privacyStatus"] == "private"


@pytest.mark.parametrize(("model", "uploads_allowed"), [("current", 2), ("legacy", 6)])
def test_quota_is_counted_per_project_and_refused_with_quota_exceeded(
    model: str, uploads_allowed: int
) -> None:
    # current: videos.insert has a bucket of its own (2 here); legacy: 1,600 units of 10,000 each.
    options = {"uploads_per_day": 2} if model == "current" else {}
    with _running(quota_model=model, **options) as running, _client(running) as c:
        for _ in range(uploads_allowed):
            assert _session(c, 100).status_code == 200
        refused = _session(c, 100)
        assert refused.status_code == 403
        assert refused.json()["error"]["errors"][0] == {
            "message": refused.json()["error"]["message"],
            "domain": "youtube.quota",
            "reason": "quotaExceeded",
        }
        used = c.get("/_emulator/quota").json()
        [(key, spent)] = used.items()
        assert key.startswith(emu.DEMO_CLIENT_ID)
        assert spent["uploads" if model == "current" else "units"] == (2 if model == "current" else 6 * 1600)


def test_configured_costs_and_invalid_requests_cost_a_unit() -> None:
    with _running(costs={"channels.list": 3}) as running, _client(running) as c:
        c.get("/youtube/v3/channels", params={"part": "id", "mine": "true"}, headers=AUTH)
        c.get("/youtube/v3/channels", params={"part": "bogus", "mine": "true"}, headers=AUTH)
        [spent] = c.get("/_emulator/quota").json().values()
        assert spent["units"] == 3 + 1


def test_comment_threads_replies_and_moderation(yt) -> None:
    with _client(yt) as c:
        uri = _session(c, 100).headers["location"]
        vid = _put(c, uri, testing.video_bytes(100), 0, 100).json()["id"]
        top = testing.audience_comment(yt, vid, "First!")
        for n in range(6):
            testing.audience_reply(yt, top, f"reply {n}")
        threads = c.get(
            "/youtube/v3/commentThreads", params={"part": "snippet,replies", "videoId": vid}, headers=AUTH
        ).json()
        [thread] = threads["items"]
        assert thread["snippet"]["totalReplyCount"] == 6 and len(thread["replies"]["comments"]) == 5
        replies = c.get(
            "/youtube/v3/comments", params={"part": "snippet", "parentId": top}, headers=AUTH
        ).json()
        assert len(replies["items"]) == 6
        no_parent = c.post(
            "/youtube/v3/comments",
            params={"part": "snippet"},
            headers=AUTH,
            content=json.dumps({"snippet": {"textOriginal": "hi"}}),
        )
        assert (
            no_parent.status_code == 400
            and no_parent.json()["error"]["errors"][0]["reason"] == "parentIdMissing"
        )
        ban_only = c.post(
            "/youtube/v3/comments/setModerationStatus",
            params={"id": top, "moderationStatus": "heldForReview", "banAuthor": "true"},
            headers=AUTH,
        )
        assert ban_only.status_code == 400
        hidden = c.post(
            "/youtube/v3/comments/setModerationStatus",
            params={"id": top, "moderationStatus": "rejected"},
            headers=AUTH,
        )
        assert hidden.status_code == 204
        after = c.get(
            "/youtube/v3/commentThreads", params={"part": "snippet", "videoId": vid}, headers=AUTH
        ).json()
        assert after["items"] == []
        stats = c.get("/youtube/v3/videos", params={"part": "statistics", "id": vid}, headers=AUTH).json()
        assert set(stats["items"][0]["statistics"]) >= {"viewCount", "likeCount", "commentCount"}


def test_refresh_token_gives_an_hour_long_access_token(yt) -> None:
    with _client(yt) as c:
        good = c.post(
            "/oauth2/v4/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": emu.DEMO_REFRESH_TOKEN,
                "client_id": emu.DEMO_CLIENT_ID,
                "client_secret": emu.DEMO_CLIENT_SECRET,
            },
        )
        assert good.status_code == 200 and good.json()["expires_in"] == 3600
        bad = c.post(
            "/oauth2/v4/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "1//revoked",
                "client_id": emu.DEMO_CLIENT_ID,
                "client_secret": emu.DEMO_CLIENT_SECRET,
            },
        )
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_multipart_upload_makes_a_video_in_one_request(yt) -> None:
    boundary = "rupor-boundary"
    metadata = json.dumps({"snippet": {"title": "One request"}, "status": {"privacyStatus": "private"}})
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n"
            f"--{boundary}\r\nContent-Type: video/mp4\r\n\r\n"
        ).encode()
        + testing.video_bytes(500)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with _client(yt) as c:
        made = c.post(
            "/upload/youtube/v3/videos",
            params={"uploadType": "multipart", "part": "snippet,status"},
            headers={**AUTH, "Content-Type": f"multipart/related; boundary={boundary}"},
            content=body,
        )
        assert made.status_code == 200, made.text
        assert made.json()["status"]["privacyStatus"] == "private"
        bad = c.post(
            "/upload/youtube/v3/videos", params={"uploadType": "chunked", "part": "snippet"}, headers=AUTH
        )
        assert bad.status_code == 400
    assert testing.posts_with(yt, "One request") == 1
