"""The emulator against documented requests: raw HTTP written from docs.joinmastodon.org, not from
Rupor's adapter."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.core import http
from rupor.networks.mastodon import emulator as emu
from rupor.networks.mastodon import testing

AUTH = {"Authorization": f"Bearer {emu.DEMO_TOKEN}"}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"0" * 2048


@pytest.fixture
def em():
    running = testing.start()
    yield running
    running.stop()


def client(em):
    return http.client(base_url=em.url, timeout=5)


def test_instance_states_its_limits(em):
    with client(em) as c:
        conf = c.get("/api/v2/instance").json()["configuration"]
    assert conf["statuses"]["max_characters"] == 500
    assert conf["statuses"]["max_media_attachments"] == 4
    assert conf["polls"]["max_options"] == 4
    assert "image/png" in conf["media_attachments"]["supported_mime_types"]


def test_oauth_app_registration_code_and_token(em):
    with client(em) as c:
        app = c.post(
            "/api/v1/apps",
            data={
                "client_name": "Test",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write",
            },
        ).json()
        page = c.get(
            "/oauth/authorize",
            params={
                "client_id": app["client_id"],
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                "response_type": "code",
                "scope": "read write",
            },
        )
        code = page.text.split("<code id='code'>")[1].split("<")[0]
        wrong = c.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": app["client_id"],
                "client_secret": "nope",
            },
        )
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        token = c.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            },
        ).json()
        assert token["token_type"] == "Bearer"
        me = c.get(
            "/api/v1/accounts/verify_credentials",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert me.json()["id"] == emu.DEMO_ACCOUNT_ID
        c.post(
            "/oauth/revoke",
            data={
                "token": token["access_token"],
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
            },
        )
        gone = c.get(
            "/api/v1/accounts/verify_credentials",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert gone.status_code == 401
    assert gone.json() == {"error": "The access token is invalid"}


def test_errors_have_mastodons_shape_and_statuses(em):
    with client(em) as c:
        assert c.post("/api/v1/statuses", data={"status": "x"}).status_code == 401
        readonly = c.post(
            "/api/v1/statuses",
            data={"status": "x"},
            headers={"Authorization": f"Bearer {emu.READ_ONLY_TOKEN}"},
        )
        assert readonly.status_code == 403
        assert readonly.json() == {"error": "This action is outside the authorized scopes"}
        missing = c.get("/api/v1/statuses/1", headers=AUTH)
        assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
        blank = c.post("/api/v1/statuses", data={"status": " "}, headers=AUTH)
        assert blank.status_code == 422
        assert blank.json() == {"error": "Validation failed: Text can't be blank"}
        long = c.post("/api/v1/statuses", data={"status": "a" * 501}, headers=AUTH)
        assert long.status_code == 422 and "character limit of 500" in long.json()["error"]


def test_idempotency_key_returns_the_same_status_within_an_hour(em):
    with client(em) as c:
        first = c.post(
            "/api/v1/statuses", data={"status": "once"}, headers={**AUTH, "Idempotency-Key": "k1"}
        ).json()
        again = c.post(
            "/api/v1/statuses", data={"status": "once"}, headers={**AUTH, "Idempotency-Key": "k1"}
        ).json()
        assert first["id"] == again["id"]
        assert testing.posts_with(em, "once") == 1
        testing.advance_clock(em, 3601)
        later = c.post(
            "/api/v1/statuses", data={"status": "once"}, headers={**AUTH, "Idempotency-Key": "k1"}
        ).json()
    assert later["id"] != first["id"]
    assert testing.posts_with(em, "once") == 2


def test_status_fields_poll_and_spoiler(em):
    form = {
        "status": "Which one?",
        "poll[options][]": ["Tea", "Coffee"],
        "poll[expires_in]": "3600",
        "poll[multiple]": "true",
        "spoiler_text": "Drinks",
        "visibility": "unlisted",
        "language": "en",
    }
    with client(em) as c:
        status = c.post("/api/v1/statuses", data=form, headers=AUTH).json()
        assert status["poll"]["multiple"] is True
        assert [o["title"] for o in status["poll"]["options"]] == ["Tea", "Coffee"]
        assert (status["spoiler_text"], status["visibility"], status["language"]) == (
            "Drinks",
            "unlisted",
            "en",
        )
        bad = c.post("/api/v1/statuses", data={**form, "visibility": "everyone"}, headers=AUTH)
        assert bad.status_code == 422
        no_expiry = c.post(
            "/api/v1/statuses", data={"status": "x", "poll[options][]": ["a", "b"]}, headers=AUTH
        )
        assert no_expiry.status_code == 422
        five = c.post("/api/v1/statuses", data={**form, "poll[options][]": list("abcde")}, headers=AUTH)
        assert five.status_code == 422


def test_media_v2_is_202_then_206_until_processed(em):
    with client(em) as c:
        small = c.post("/api/v2/media", files={"file": ("a.png", PNG, "image/png")}, headers=AUTH)
        assert small.status_code == 200 and small.json()["url"]
        video = c.post(
            "/api/v2/media",
            files={"file": ("v.mp4", MP4, "video/mp4")},
            data={"description": "alt"},
            headers=AUTH,
        )
        assert video.status_code == 202 and video.json()["url"] is None
        vid = video.json()["id"]
        assert c.get(f"/api/v1/media/{vid}", headers=AUTH).status_code == 206
        early = c.post("/api/v1/statuses", data={"status": "v", "media_ids[]": [vid]}, headers=AUTH)
        assert early.status_code == 422
        testing.advance_clock(em, emu.PROCESSING_S + 1)
        done = c.get(f"/api/v1/media/{vid}", headers=AUTH)
        assert done.status_code == 200 and done.json()["url"] and done.json()["description"] == "alt"
        status = c.post(
            "/api/v1/statuses", data={"status": "v", "media_ids[]": [vid, small.json()["id"]]}, headers=AUTH
        ).json()
        assert [m["type"] for m in status["media_attachments"]] == ["video", "image"]
        with_poll = c.post(
            "/api/v1/statuses",
            data={
                "status": "x",
                "media_ids[]": [small.json()["id"]],
                "poll[options][]": ["a", "b"],
                "poll[expires_in]": "600",
            },
            headers=AUTH,
        )
        assert with_poll.status_code == 422


def test_scheduled_at_returns_a_scheduled_status(em):
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).isoformat()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    with client(em) as c:
        assert (
            c.post("/api/v1/statuses", data={"status": "s", "scheduled_at": soon}, headers=AUTH).status_code
            == 422
        )
        body = c.post(
            "/api/v1/statuses", data={"status": "sched", "scheduled_at": later}, headers=AUTH
        ).json()
        assert set(body) >= {"id", "scheduled_at", "params", "media_attachments"}
        assert body["params"]["text"] == "sched"
        listed = c.get("/api/v1/scheduled_statuses", headers=AUTH).json()
    assert [s["id"] for s in listed] == [body["id"]]


def test_rate_limit_headers_and_429_after_300_requests(em):
    with client(em) as c:
        first = c.get("/api/v1/accounts/verify_credentials", headers=AUTH)
        assert first.headers["X-RateLimit-Limit"] == "300"
        assert first.headers["X-RateLimit-Remaining"] == "299"
        reset = dt.datetime.fromisoformat(first.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
        assert reset > dt.datetime.now(dt.UTC)
        for _ in range(299):
            c.get("/api/v1/accounts/verify_credentials", headers=AUTH)
        over = c.get("/api/v1/accounts/verify_credentials", headers=AUTH)
    assert over.status_code == 429
    assert over.json() == {"error": "Too many requests"}
    assert over.headers["X-RateLimit-Remaining"] == "0"


def test_media_uploads_are_limited_to_30_per_30_minutes(em):
    with client(em) as c:
        codes = [
            c.post("/api/v2/media", files={"file": ("a.png", PNG, "image/png")}, headers=AUTH).status_code
            for _ in range(31)
        ]
    assert codes[:30] == [200] * 30
    assert codes[30] == 429


def test_replies_mentions_and_direct_messages_reach_the_account(em):
    with client(em) as c:
        mine = c.post("/api/v1/statuses", data={"status": "Ask me"}, headers=AUTH).json()
        testing.audience_comment(em, mine["id"], "A question")
        testing.audience_mention(em, "hello there")
        testing.audience_direct(em, "privately")
        context = c.get(f"/api/v1/statuses/{mine['id']}/context", headers=AUTH).json()
        notes = c.get("/api/v1/notifications", params={"types[]": "mention"}, headers=AUTH).json()
        convs = c.get("/api/v1/conversations", headers=AUTH).json()
    assert [d["content"] for d in context["descendants"]] == ["<p>A question</p>"]
    assert len(notes) == 3 and all(n["type"] == "mention" for n in notes)
    assert any(conv["last_status"]["visibility"] == "direct" for conv in convs)


def test_counts_grow_with_the_status_age(em):
    with client(em) as c:
        status = c.post("/api/v1/statuses", data={"status": "Grows"}, headers=AUTH).json()
        assert status["favourites_count"] == 0
        testing.advance_clock(em, 24 * 3600)
        later = c.get(f"/api/v1/statuses/{status['id']}", headers=AUTH).json()
        testing.advance_clock(em, 72 * 3600)
        latest = c.get(f"/api/v1/statuses/{status['id']}", headers=AUTH).json()
    assert 0 < later["favourites_count"] <= latest["favourites_count"]
    assert later["reblogs_count"] <= latest["reblogs_count"]


def test_injected_faults_answer_like_the_instance(em):
    testing.faults(em, {"queue": [{"kind": "429", "method": "statuses.create", "count": 1}]})
    with client(em) as c:
        limited = c.post("/api/v1/statuses", data={"status": "x"}, headers=AUTH)
    assert limited.status_code == 429
    assert "X-RateLimit-Reset" in limited.headers
