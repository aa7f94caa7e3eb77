"""The VK emulator against the documented wire protocol (plain HTTP, no adapter)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from rupor.core import http
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing, wire


@pytest.fixture(scope="module")
def vk():
    running = testing.start(rate_limits=False, callback_retry_delay=0.05)
    yield running
    testing.state(running).stop()
    running.stop()


def call(
    vk: RunningEmulator, method: str, token: str | None = emu.ADMIN_TOKEN, **params: Any
) -> dict[str, Any]:
    data = {"v": "5.199", **{k: str(v) for k, v in params.items()}}
    if token:
        data["access_token"] = token
    with http.client(base_url=vk.url, timeout=5) as client:
        answer: dict[str, Any] = client.post(f"/method/{method}", data=data).json()
        return answer


def test_v_is_mandatory(vk):
    with http.client(base_url=vk.url, timeout=5) as client:
        body = client.post(
            "/method/wall.get", data={"access_token": emu.ADMIN_TOKEN, "owner_id": "-1"}
        ).json()
    assert body["error"]["error_code"] == 8
    assert {"key": "method", "value": "wall.get"} in body["error"]["request_params"]


def test_unknown_token_and_token_in_header(vk):
    assert call(vk, "wall.get", token="nope", owner_id=-1)["error"]["error_code"] == 5
    with http.client(
        base_url=vk.url, timeout=5, headers={"Authorization": f"Bearer {emu.ADMIN_TOKEN}"}
    ) as client:
        body = client.get("/method/wall.get", params={"v": "5.199", "owner_id": "-1"}).json()
    assert "response" in body


def test_community_token_on_user_only_methods_is_error_27(vk):
    for method in ("wall.post", "photos.getWallUploadServer", "polls.create", "stats.get", "wall.delete"):
        assert (
            call(vk, method, token=emu.GROUP_TOKEN, owner_id=-1, group_id=1, message="x")["error"][
                "error_code"
            ]
            == 27
        )


def _required_cases() -> list[tuple[str, str, str]]:
    cases = []
    for name, spec in wire.schema()["methods"].items():
        token = emu.ADMIN_TOKEN if "user" in spec["access_token_type"] else emu.GROUP_TOKEN
        for p in spec["parameters"]:
            if p.get("required"):
                cases.append((name, token, p["name"]))
    return cases


@pytest.mark.parametrize(("method", "token", "param"), _required_cases())
def test_schema_required_parameters_are_enforced(vk, method, token, param):
    spec = wire.schema()["methods"][method]
    filler = {p["name"]: "1" for p in spec["parameters"] if p.get("required") and p["name"] != param}
    body = call(vk, method, token=token, **filler)
    assert body["error"]["error_code"] == 100
    assert (
        body["error"]["error_msg"]
        == f"One of the parameters specified was missing or invalid: {param} is undefined"
    )


def test_types_and_bounds_are_checked(vk):
    assert call(vk, "wall.getComments", owner_id=-1, post_id="abc")["error"]["error_code"] == 100
    assert (
        call(vk, "wall.getComments", owner_id=-1, post_id=1, thread_items_count=11)["error"]["error_code"]
        == 100
    )
    assert (
        call(vk, "groups.addCallbackServer", group_id=1, url="http://x.test", title="x" * 15)["error"][
            "error_code"
        ]
        == 100
    )
    long = call(vk, "messages.send", token=emu.GROUP_TOKEN, peer_id=5, random_id=1, message="x" * 9001)
    assert long["error"]["error_code"] == 914


def test_wall_post_guid_returns_original_post(vk):
    first = call(vk, "wall.post", owner_id=-1, from_group=1, message="guid test", guid="g-123")
    again = call(vk, "wall.post", owner_id=-1, from_group=1, message="guid test", guid="g-123")
    other = call(vk, "wall.post", owner_id=-1, from_group=1, message="guid test", guid="g-124")
    assert first["response"]["post_id"] == again["response"]["post_id"] != other["response"]["post_id"]
    assert testing.posts_with(vk, "guid test") == 2


def test_outsider_cannot_post_and_empty_post_is_rejected(vk):
    assert (
        call(vk, "wall.post", token=emu.OUTSIDER_TOKEN, owner_id=-1, from_group=1, message="x")["error"][
            "error_code"
        ]
        == 214
    )
    assert call(vk, "wall.post", owner_id=-1, from_group=1)["error"]["error_code"] == 100


def test_attachment_rules(vk):
    two_links = call(
        vk, "wall.post", owner_id=-1, message="x", attachments="https://a.example,https://b.example"
    )
    assert two_links["error"]["error_code"] == 100
    poll = call(vk, "polls.create", owner_id=-1, question="Q?", add_answers='["a","b"]')["response"]
    only_poll = call(
        vk, "wall.post", owner_id=-1, from_group=1, attachments=f"poll{poll['owner_id']}_{poll['id']}"
    )
    assert only_poll["error"]["error_code"] == 100
    missing = call(vk, "wall.post", owner_id=-1, from_group=1, message="x", attachments="photo-1_1")
    assert missing["error"]["error_code"] == 100


def test_photo_upload_flow(vk):
    server = call(vk, "photos.getWallUploadServer", group_id=1)["response"]
    assert set(server) == {"upload_url", "album_id", "user_id"}
    with http.client(timeout=5) as client:
        uploaded = client.post(
            server["upload_url"], files={"photo": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")}
        ).json()
    assert set(uploaded) == {"server", "photo", "hash"}
    assert isinstance(json.loads(uploaded["photo"]), list)
    saved = call(vk, "photos.saveWallPhoto", group_id=1, **uploaded)["response"]
    assert saved[0]["owner_id"] == -1
    bad = call(
        vk,
        "photos.saveWallPhoto",
        group_id=1,
        photo=uploaded["photo"],
        server=uploaded["server"],
        hash="wrong",
    )
    assert bad["error"]["error_code"] == 100
    post = call(vk, "wall.post", owner_id=-1, from_group=1, attachments=f"photo-1_{saved[0]['id']}")[
        "response"
    ]
    item = call(vk, "wall.getById", posts=f"-1_{post['post_id']}")["response"]["items"][0]
    assert item["attachments"][0]["type"] == "photo"


def test_postponed_post_goes_live_with_clock(vk):
    now = int(testing.state(vk).now())
    post_id = call(
        vk, "wall.post", owner_id=-1, from_group=1, message="later marker", publish_date=now + 3600
    )["response"]["post_id"]
    assert testing.posts_with(vk, "later marker") == 0
    postponed = call(vk, "wall.get", owner_id=-1, filter="postponed")["response"]["items"]
    assert post_id in [p["id"] for p in postponed]
    testing.advance(vk, 3700)
    assert testing.posts_with(vk, "later marker") == 1


def test_comments_threads_and_guid(vk):
    post_id = call(vk, "wall.post", owner_id=-1, from_group=1, message="thread post")["response"]["post_id"]
    root = testing.audience_comment(vk, f"-1_{post_id}", "question?")
    root_id = int(root.rsplit("_", 1)[1])
    reply = call(
        vk,
        "wall.createComment",
        token=emu.GROUP_TOKEN,
        owner_id=-1,
        post_id=post_id,
        message="answer",
        reply_to_comment=root_id,
        guid="r1",
    )["response"]
    again = call(
        vk,
        "wall.createComment",
        token=emu.GROUP_TOKEN,
        owner_id=-1,
        post_id=post_id,
        message="answer",
        reply_to_comment=root_id,
        guid="r1",
    )["response"]
    assert reply == again
    assert reply["parents_stack"] == [root_id]
    page = call(vk, "wall.getComments", owner_id=-1, post_id=post_id, thread_items_count=5)["response"]
    assert page["current_level_count"] == 1
    assert page["items"][0]["thread"]["items"][0]["id"] == reply["comment_id"]
    # wall.getComments does not accept a community token (schema: user, service)
    assert (
        call(vk, "wall.getComments", token=emu.GROUP_TOKEN, owner_id=-1, post_id=post_id)["error"][
            "error_code"
        ]
        == 27
    )


def test_messages_random_id_dedupe(vk):
    testing.audience_message(vk, "hello community")
    first = call(vk, "messages.send", token=emu.GROUP_TOKEN, peer_id=10011, random_id=777, message="hi")
    again = call(vk, "messages.send", token=emu.GROUP_TOKEN, peer_id=10011, random_id=777, message="hi")
    assert first["response"] == again["response"]
    sent = [e for e in testing.state(vk).ledger if e["kind"] == "message_sent" and e["random_id"] == 777]
    assert len(sent) == 1
    assert (
        call(vk, "messages.send", token=emu.GROUP_TOKEN, peer_id=424242, random_id=1, message="hi")["error"][
            "error_code"
        ]
        == 901
    )
    assert (
        call(vk, "messages.send", token=emu.GROUP_TOKEN, peer_id=10011, message="hi")["error"]["error_code"]
        == 100
    )


def test_engagement_is_deterministic_and_grows():
    views = []
    for _ in range(2):
        app = emu.create_app(seed=7, rate_limits=False)
        state = app.emulator
        ctx_post = state.call(
            "wall.post",
            {"v": "5.199", "owner_id": "-1", "from_group": "1", "message": "m"},
            emu.ADMIN_TOKEN,
            "http://x",
        )
        pid = ctx_post["response"]["post_id"]
        before = state.call("wall.getById", {"v": "5.199", "posts": f"-1_{pid}"}, emu.ADMIN_TOKEN, "http://x")
        state.clock.advance(7200)
        after = state.call("wall.getById", {"v": "5.199", "posts": f"-1_{pid}"}, emu.ADMIN_TOKEN, "http://x")
        views.append(after["response"]["items"][0]["views"]["count"])
        assert before["response"]["items"][0]["views"]["count"] < views[-1]
    assert views[0] == views[1]


def test_rate_limit_error_6():
    running = testing.start()
    try:
        answers = [call(running, "groups.getById", group_id=1) for _ in range(4)]
        assert [("error" in a) for a in answers] == [False, False, False, True]
        assert answers[3]["error"]["error_code"] == 6
        time.sleep(1.05)
        assert "response" in call(running, "groups.getById", group_id=1)
    finally:
        running.stop()


def test_injected_429_is_vk_error_6(vk):
    testing.faults(vk, {"queue": [{"kind": "429", "method": "wall.get"}]})
    assert call(vk, "wall.get", owner_id=-1)["error"]["error_code"] == 6


def test_queued_captcha(vk):
    testing.queue_error(vk, "wall.get", 14)
    error = call(vk, "wall.get", owner_id=-1)["error"]
    assert error["error_code"] == 14
    assert error["captcha_sid"]


def test_long_poll(vk):
    server = call(vk, "groups.getLongPollServer", token=emu.GROUP_TOKEN, group_id=1)["response"]
    testing.audience_message(vk, "via long poll")
    with http.client(timeout=5) as client:
        answer = client.get(
            server["server"], params={"act": "a_check", "key": server["key"], "ts": server["ts"], "wait": 1}
        ).json()
        assert any(u["type"] == "message_new" for u in answer["updates"])
        assert client.get(
            server["server"], params={"act": "a_check", "key": "bad", "ts": server["ts"], "wait": 0}
        ).json() == {"failed": 2}
        stale = client.get(
            server["server"], params={"act": "a_check", "key": server["key"], "ts": "999999", "wait": 0}
        ).json()
        assert stale["failed"] == 1
        assert "ts" in stale


def test_callback_confirmation_secret_and_retries(vk):
    received: list[dict[str, Any]] = []
    failures = {"left": 1}

    async def endpoint(request: Request) -> PlainTextResponse:
        body = json.loads(await request.body())
        if body["type"] == "confirmation":
            return PlainTextResponse(emu.CONFIRMATION_CODE)
        if failures["left"]:
            failures["left"] -= 1
            return PlainTextResponse("busy", status_code=500)
        received.append(body)
        return PlainTextResponse("ok")

    with RunningEmulator(Starlette(routes=[Route("/vk", endpoint, methods=["POST"])])) as receiver:
        sid = call(
            vk,
            "groups.addCallbackServer",
            group_id=1,
            url=f"{receiver.url}/vk",
            title="rupor",
            secret_key="s3cret",
        )["response"]["server_id"]
        assert (
            call(
                vk,
                "groups.setCallbackSettings",
                token=emu.GROUP_TOKEN,
                group_id=1,
                server_id=sid,
                api_version="5.199",
                wall_reply_new=1,
            )["response"]
            == 1
        )
        for _ in range(100):
            servers = call(vk, "groups.getCallbackServers", group_id=1)["response"]["items"]
            if servers[-1]["status"] != "wait":
                break
            time.sleep(0.05)
        assert servers[-1]["status"] == "ok"
        post_id = call(vk, "wall.post", owner_id=-1, from_group=1, message="callback post")["response"][
            "post_id"
        ]
        testing.audience_comment(vk, f"-1_{post_id}", "delivered?")
        for _ in range(100):
            if received:
                break
            time.sleep(0.05)
    assert received
    assert received[0]["type"] == "wall_reply_new"
    assert received[0]["secret"] == "s3cret"
    assert received[0]["object"]["text"] == "delivered?"
    attempts = [d for d in testing.state(vk).deliveries if d["event_id"] == received[0]["event_id"]]
    assert [d["ok"] for d in attempts] == [False, True]


def _required_props(schema: dict[str, Any]) -> list[str]:
    return [
        k
        for k, v in schema.get("properties", {}).items()
        if isinstance(v, dict) and v.get("required") is True
    ]


def test_responses_carry_schema_required_fields(vk):
    """The fields VK's schema marks required (vendored in schema_5199.json, "objects")."""
    objects = wire.schema()["objects"]
    post_id = call(vk, "wall.post", owner_id=-1, from_group=1, message="schema")["response"]["post_id"]
    cid = call(vk, "wall.createComment", token=emu.GROUP_TOKEN, owner_id=-1, post_id=post_id, message="c")[
        "response"
    ]["comment_id"]
    comments = call(vk, "wall.getComments", owner_id=-1, post_id=post_id)["response"]["items"]
    assert comments[0]["id"] == cid
    for prop in _required_props(objects["wall_wall_comment"]):
        assert prop in comments[0], prop
    server = call(vk, "photos.getWallUploadServer", group_id=1)["response"]
    for prop in _required_props(objects["photos_photo_upload"]):
        assert prop in server, prop


def test_messages_permission_follows_allow_deny_and_writing(vk):
    def allowed(user_id: int) -> int:
        answer = call(
            vk, "messages.isMessagesFromGroupAllowed", token=emu.GROUP_TOKEN, group_id=1, user_id=user_id
        )
        return int(answer["response"]["is_allowed"])

    def send(user_id: int, random_id: int) -> dict[str, Any]:
        return call(
            vk, "messages.send", token=emu.GROUP_TOKEN, peer_id=user_id, random_id=random_id, message="hi"
        )

    assert allowed(10030) == 0 and send(10030, 1)["error"]["error_code"] == 901
    world = testing.state(vk)
    world.message_permission(10030, allow=True, key="news")
    assert allowed(10030) == 1 and "response" in send(10030, 2)
    world.message_permission(10030, allow=False)
    assert allowed(10030) == 0 and send(10030, 3)["error"]["error_code"] == 901
    testing._post(vk, "/_emulator/vk/audience_message", {"text": "hello again", "user_id": 10030})
    assert allowed(10030) == 1  # writing to the community lets it answer
    events = [e for _ts, e in world.groups[1].events if e["type"] in ("message_allow", "message_deny")]
    assert [(e["type"], e["object"]) for e in events] == [
        ("message_allow", {"user_id": 10030, "key": "news"}),
        ("message_deny", {"user_id": 10030}),
    ]
