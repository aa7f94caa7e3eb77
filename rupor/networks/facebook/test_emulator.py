"""The Facebook Graph API emulator, called directly as the documentation describes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from rupor.core import http
from rupor.networks.emulation import RunningEmulator
from rupor.networks.facebook import emulator as emu
from rupor.networks.facebook import testing, wire
from rupor.networks.graph import wire as graph
from rupor.networks.graph.testing import JPEG, PNG, MediaServer

V = f"/{graph.VERSION}"


@pytest.fixture
def em() -> Iterator[RunningEmulator]:
    running = testing.start()
    yield running
    running.stop()


def _call(
    em: RunningEmulator, method: str, path: str, token: str | None, **params: Any
) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with http.client(base_url=em.url, timeout=10) as client:
        if method == "GET":
            response = client.get(V + path, params=params, headers=headers)
        else:
            response = client.request(method, V + path, data=params, headers=headers)
    return response.status_code, response.json(), response.headers


def _page_token(em: RunningEmulator, user: str = emu.DEMO_USER_TOKEN) -> str:
    _status, body, _h = _call(em, "GET", f"/{emu.DEMO_PAGE_ID}", user, fields="access_token")
    return str(body["access_token"])


def test_page_token_is_derived_from_a_user_token(em: RunningEmulator) -> None:
    status, accounts, headers = _call(em, "GET", "/me/accounts", emu.DEMO_USER_TOKEN)
    assert status == 200
    page = accounts["data"][0]
    assert page["id"] == emu.DEMO_PAGE_ID and "CREATE_CONTENT" in page["tasks"] and page["access_token"]
    assert "X-App-Usage" in headers
    token = _page_token(em)
    assert token == page["access_token"]
    status, me, headers = _call(em, "GET", "/me", token, fields="id,name")
    assert me == {"id": emu.DEMO_PAGE_ID, "name": emu.DEMO_PAGE_NAME}
    usage = json.loads(headers["X-Business-Use-Case-Usage"])
    assert usage[emu.DEMO_BUSINESS_ID][0]["type"] == "pages"
    # Only someone with a role on the Page sees its token; a stranger's token is 190.
    status, body, _h = _call(em, "GET", f"/{emu.DEMO_PAGE_ID}", token, fields="id,access_token")
    assert body == {"id": emu.DEMO_PAGE_ID}
    status, body, _h = _call(
        em, "GET", f"/{emu.OTHER_PAGE_ID}", emu.DEMO_USER_TOKEN, fields="id,access_token"
    )
    assert body == {"id": emu.OTHER_PAGE_ID}
    status, body, _h = _call(em, "GET", "/me", "EAAnobody")
    assert (
        body["error"]["code"] == 190
        and body["error"]["type"] == "OAuthException"
        and body["error"]["fbtrace_id"]
    )


def test_unknown_fields_and_bad_params_are_error_100(em: RunningEmulator) -> None:
    token = _page_token(em)
    status, body, _h = _call(em, "GET", f"/{emu.DEMO_PAGE_ID}", token, fields="id,bogus_field")
    assert status == 400
    assert body["error"]["code"] == 100
    assert (
        body["error"]["message"]
        == "(#100) Tried accessing nonexisting field (bogus_field) on node type (Page)"
    )
    status, body, _h = _call(
        em, "GET", f"/{emu.DEMO_PAGE_ID}/insights", token, metric="page_media_view", period="fortnight"
    )
    assert body["error"]["code"] == 100 and "period" in body["error"]["message"]
    status, body, _h = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token, message="x", published="perhaps")
    assert body["error"]["code"] == 100 and "published" in body["error"]["message"]
    _s, body, _h = _call(em, "GET", "/me", token, fields="id,name")
    assert body["id"] == emu.DEMO_PAGE_ID
    with http.client(base_url=em.url, timeout=5) as client:
        old = client.get("/v2.12/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert old["error"]["code"] == 2635


def test_feed_post_scheduling_and_deletion(em: RunningEmulator) -> None:
    token = _page_token(em)
    status, body, _h = _call(
        em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token, message="Hello", link="https://example.com/"
    )
    assert status == 200
    post_id = body["id"]
    assert post_id.startswith(emu.DEMO_PAGE_ID + "_")
    _s, post, _h = _call(em, "GET", f"/{post_id}", token, fields="id,message,created_time,permalink_url")
    assert post["message"] == "Hello" and post["created_time"].endswith("+0000")
    _s, body, _h = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token)
    assert body["error"]["code"] == 100
    # Scheduling: only with published=false, 10 minutes to 30 days ahead.
    with http.client(base_url=em.url, timeout=5) as client:
        at = client.get("/_emulator/clock").json()["timestamp"]
    too_soon = _call(
        em,
        "POST",
        f"/{emu.DEMO_PAGE_ID}/feed",
        token,
        message="soon",
        published="false",
        scheduled_publish_time=str(int(at + 300)),
    )[1]
    assert too_soon["error"]["code"] == 100
    published_too = _call(
        em,
        "POST",
        f"/{emu.DEMO_PAGE_ID}/feed",
        token,
        message="both",
        scheduled_publish_time=str(int(at + 3600)),
    )[1]
    assert published_too["error"]["code"] == 100
    later = _call(
        em,
        "POST",
        f"/{emu.DEMO_PAGE_ID}/feed",
        token,
        message="later",
        published="false",
        scheduled_publish_time=str(int(at + 3600)),
    )[1]
    scheduled = _call(em, "GET", f"/{emu.DEMO_PAGE_ID}/scheduled_posts", token, fields="id,message")[1]
    assert [p["id"] for p in scheduled["data"]] == [later["id"]]
    feed = _call(em, "GET", f"/{emu.DEMO_PAGE_ID}/feed", token, fields="id,message")[1]
    assert later["id"] not in [p["id"] for p in feed["data"]]
    assert _call(em, "DELETE", f"/{post_id}", token)[1] == {"success": True}
    assert _call(em, "GET", f"/{post_id}", token)[1]["error"]["type"] == "GraphMethodException"


def test_photos_are_fetched_by_url_and_attached_once(em: RunningEmulator) -> None:
    token = _page_token(em)
    with MediaServer() as server:
        first = server.add(PNG, "a.png", "image/png")
        second = server.add(JPEG, "b.jpg", "image/jpeg")
        not_a_picture = server.add(b"hello", "c.png", "image/png")
        ids = [
            _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/photos", token, url=u, published="false")[1]["id"]
            for u in (first, second)
        ]
        assert server.requests["/m/1/a.png"] == 1  # Facebook downloads it, once
        gone = _call(
            em,
            "POST",
            f"/{emu.DEMO_PAGE_ID}/photos",
            token,
            url=server.url + "/m/99/x.jpg",
            published="false",
        )
        assert gone[0] == 400 and gone[1]["error"]["code"] == 324
        assert (
            _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/photos", token, url=not_a_picture)[1]["error"]["code"]
            == 324
        )
        media = json.dumps([{"media_fbid": i} for i in ids])
        post = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token, message="Two", attached_media=media)[1]
        again = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token, message="Again", attached_media=media)[
            1
        ]
        assert again["error"]["code"] == 100
        single = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/photos", token, url=first, caption="One")[1]
        assert set(single) == {"id", "post_id"}
    shown = _call(em, "GET", f"/{post['id']}", token, fields="attachments")[1]
    targets = [s["target"]["id"] for s in shown["attachments"]["data"][0]["subattachments"]["data"]]
    assert targets == ids


def test_comments_reply_hide_delete(em: RunningEmulator) -> None:
    token = _page_token(em)
    post_id = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token, message="Ask me")[1]["id"]
    comment_id = testing.audience_comment(em, post_id, "Question?")
    reply = _call(em, "POST", f"/{comment_id}/comments", token, message="Answer.")[1]
    listed = _call(
        em,
        "GET",
        f"/{post_id}/comments",
        token,
        fields="id,message,from,parent",
        filter="stream",
        order="reverse_chronological",
        summary="true",
    )[1]
    assert [c["id"] for c in listed["data"]] == [reply["id"], comment_id]
    assert listed["data"][0]["parent"]["id"] == comment_id
    assert listed["summary"]["total_count"] == 2
    top = _call(em, "GET", f"/{post_id}/comments", token, fields="id")[1]
    assert [c["id"] for c in top["data"]] == [comment_id]
    assert _call(em, "POST", f"/{comment_id}", token, is_hidden="true")[1] == {"success": True}
    assert _call(em, "GET", f"/{comment_id}", token, fields="is_hidden")[1] == {"is_hidden": True}
    assert _call(em, "DELETE", f"/{comment_id}", token)[1] == {"success": True}
    analyst = _page_token(em, emu.READ_ONLY_USER_TOKEN)
    refused = _call(em, "POST", f"/{post_id}/comments", analyst, message="hi")[1]
    assert refused["error"]["code"] == 200


def test_insights_refuse_the_whole_call_for_one_retired_metric(em: RunningEmulator) -> None:
    token = _page_token(em)
    post_id = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token, message="Measure me")[1]["id"]
    testing.advance_clock(em, 3 * 3600)
    good = _call(em, "GET", f"/{post_id}/insights", token, metric="post_media_view,post_clicks")[1]
    assert [m["name"] for m in good["data"]] == ["post_media_view", "post_clicks"]
    bad = _call(em, "GET", f"/{post_id}/insights", token, metric="post_media_view,post_impressions")[1]
    assert bad["error"]["code"] == 100 and bad["error"]["message"] == wire.INVALID_METRIC_MESSAGE
    page = _call(
        em, "GET", f"/{emu.DEMO_PAGE_ID}/insights", token, metric="page_engaged_users", period="day"
    )[1]
    assert page["error"]["code"] == 100
    window = {"metric": "page_media_view", "period": "day", "since": "1700000000"}
    assert "data" in _call(em, "GET", f"/{emu.DEMO_PAGE_ID}/insights", token, **window, until="1707000000")[1]
    too_long = _call(em, "GET", f"/{emu.DEMO_PAGE_ID}/insights", token, **window, until="1710000000")[1]
    assert too_long["error"]["code"] == 100


def test_business_use_case_limit_throttles_with_code_32() -> None:
    app = emu.create_app(seed=0)
    app.emulator.page_meter.limit = 3
    with RunningEmulator(app) as em:
        token = _page_token(em)
        percents = []
        for _ in range(3):
            _s, _b, headers = _call(em, "GET", "/me", token)
            percents.append(
                json.loads(headers["X-Business-Use-Case-Usage"])[emu.DEMO_BUSINESS_ID][0]["call_count"]
            )
        assert percents == [33, 67, 100]
        _status, body, headers = _call(em, "GET", "/me", token)
        assert body["error"]["code"] == 32 and body["error"]["is_transient"] is True
        regain = json.loads(headers["X-Business-Use-Case-Usage"])[emu.DEMO_BUSINESS_ID][0][
            "estimated_time_to_regain_access"
        ]
        assert regain > 0


def test_post_update_edits_pins_and_checks_types(em: RunningEmulator) -> None:
    token = _page_token(em)
    post_id = _call(em, "POST", f"/{emu.DEMO_PAGE_ID}/feed", token, message="Frist")[1]["id"]
    assert _call(em, "POST", f"/{post_id}", token, message="First", is_pinned="true")[1] == {"success": True}
    assert _call(em, "GET", f"/{post_id}", token, fields="message")[1] == {"message": "First"}
    # is_pinned can be written but is not a readable field of PagePost (the SDK lists no such field).
    assert _call(em, "GET", f"/{post_id}", token, fields="is_pinned")[1]["error"]["code"] == 100
    assert em.app.emulator.posts[post_id]["pinned"]  # type: ignore[attr-defined]  # set by create_app
    assert _call(em, "POST", f"/{post_id}", token, is_pinned="maybe")[1]["error"]["code"] == 100
    analyst = _page_token(em, emu.READ_ONLY_USER_TOKEN)
    assert _call(em, "POST", f"/{post_id}", analyst, message="x")[1]["error"]["code"] == 200


def test_long_lived_token_exchange_and_debug_token(em: RunningEmulator) -> None:
    with http.client(base_url=em.url, timeout=5) as client:
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": emu.DEMO_APP_ID,
            "client_secret": emu.DEMO_APP_SECRET,
            "fb_exchange_token": emu.DEMO_USER_TOKEN,
        }
        answer = client.get(f"{V}/oauth/access_token", params=params).json()
        wrong = client.get(f"{V}/oauth/access_token", params={**params, "client_secret": "nope"}).json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] == emu.LONG_LIVED_S
    assert wrong["error"]["code"] == 1
    long_lived = answer["access_token"]
    page_token = _page_token(em, long_lived)
    page = _call(em, "GET", "/debug_token", long_lived, input_token=page_token)[1]["data"]
    assert page["type"] == "PAGE" and page["expires_at"] == 0 and page["profile_id"] == emu.DEMO_PAGE_ID
    user = _call(em, "GET", "/debug_token", long_lived, input_token=long_lived)[1]["data"]
    assert user["type"] == "USER" and user["expires_at"] > 0
    assert (
        _call(em, "GET", "/debug_token", long_lived, input_token="EAAbogus")[1]["data"]["is_valid"] is False
    )
