"""The emulator against documented Bot API requests over real HTTP, checked against the spec.

Written from core.telegram.org/bots/api and the vendored api.json, not from our adapter.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any, cast

import pytest

from rupor.core import http
from rupor.networks.telegram import emulator as emu
from rupor.networks.telegram import testing

TOKEN = emu.DEMO_TOKEN
CHANNEL = emu.DEMO_CHANNEL_ID
GROUP = emu.DISCUSSION_GROUP_ID


def png(width: int = 64, height: int = 48) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * (width * 3) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def em():
    running = testing.start()
    yield running
    running.stop()
    client = _CLIENTS.pop(running.url, None)
    if client is not None:
        client.close()


_CLIENTS: dict[str, Any] = {}


def _client(em):
    # One client per emulator: building a client costs more than a call to a local server.
    if em.url not in _CLIENTS:
        _CLIENTS[em.url] = http.client(base_url=em.url, timeout=10)
    return _CLIENTS[em.url]


def call(
    em, method: str, via: str = "json", token: str = TOKEN, files: dict[str, Any] | None = None, **params: Any
):
    client = _client(em)
    path = f"/bot{token}/{method}"
    if via == "get":
        return client.get(path, params=params)
    if via == "form" or files:
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        return client.post(path, data=form, files=files)
    return client.post(path, json=params)


def ok(response) -> Any:
    body = response.json()
    assert body["ok"] is True, body
    assert response.status_code == 200
    return body["result"]


def fail(response) -> dict[str, Any]:
    body = response.json()
    assert body["ok"] is False, body
    assert response.status_code == body["error_code"]
    return cast(dict[str, Any], body)


def advance(em, seconds: float) -> None:
    testing.advance(em, seconds)


# -- spec conformance -------------------------------------------------------------------------

TYPES = emu.SPEC["types"]


def conforms(value: Any, type_name: str, path: str = "") -> list[str]:
    """Problems of ``value`` as the spec's ``type_name`` (required fields, primitive types, nested objects)."""
    if type_name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{path}: expected an array"]
        return [p for i, item in enumerate(value) for p in conforms(item, type_name[9:], f"{path}[{i}]")]
    primitive: dict[str, Any] = {
        "Integer": int,
        "String": str,
        "Boolean": bool,
        "Float": (int, float),
        "True": bool,
    }
    if type_name in primitive:
        ok_type = isinstance(value, primitive[type_name]) and not (
            type_name == "Integer" and isinstance(value, bool)
        )
        return [] if ok_type else [f"{path}: expected {type_name}, got {value!r}"]
    spec = TYPES.get(type_name)
    if spec is None:
        return []
    if spec.get("subtypes"):
        attempts = [conforms(value, sub, path) for sub in spec["subtypes"]]
        return (
            [] if any(not a for a in attempts) else [f"{path}: matches no subtype of {type_name}: {attempts}"]
        )
    if not isinstance(value, dict):
        return [f"{path}: expected an object {type_name}"]
    fields = {f["name"]: f for f in spec.get("fields", [])}
    problems = [f"{path}.{name}: unknown field" for name in value if name not in fields]
    for name, field in fields.items():
        if name not in value:
            if field["required"]:
                problems.append(f"{path}.{name}: required field missing in {type_name}")
            continue
        attempts = [conforms(value[name], t, f"{path}.{name}") for t in field["types"]]
        if all(attempts):
            problems.extend(attempts[0])
    return problems


def assert_conforms(value: Any, type_name: str) -> None:
    assert conforms(value, type_name, type_name) == []


# -- transport and envelope -------------------------------------------------------------------


@pytest.mark.parametrize("via", ["get", "form", "json"])
def test_get_query_form_and_json_all_reach_the_method(em, via):
    user = ok(call(em, "getMe", via=via))
    assert_conforms(user, "User")
    assert user["is_bot"] is True
    assert user["id"] == emu.DEMO_BOT_ID
    message = ok(call(em, "sendMessage", via=via, chat_id="@rupor_demo", text=f"hello via {via}"))
    assert_conforms(message, "Message")
    assert message["chat"]["id"] == CHANNEL
    assert message["sender_chat"]["id"] == CHANNEL


def test_method_names_are_case_insensitive(em):
    assert ok(call(em, "GETME"))["username"] == "rupor_demo_bot"
    assert ok(call(em, "getme"))["username"] == "rupor_demo_bot"


def test_unknown_token_is_401_and_unknown_method_404(em):
    assert fail(call(em, "getMe", token="123:nope")) == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }
    assert fail(call(em, "sendTelepathy")) == {"ok": False, "error_code": 404, "description": "Not Found"}
    with http.client(base_url=em.url, timeout=5) as client:
        assert client.get("/nothing-here").status_code == 404


def _minimal(method: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Valid params (and uploads) for each method the emulator models, from the docs' examples."""
    files: dict[str, Any] = {}
    params: dict[str, Any] = {"chat_id": CHANNEL}
    if method == "sendmessage":
        params["text"] = "hi"
    elif method == "sendphoto":
        files = {"photo": ("a.png", png(), "image/png")}
    elif method == "sendvideo":
        files = {"video": ("a.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4")}
    elif method == "sendmediagroup":
        params["media"] = [{"type": "photo", "media": "attach://a"}, {"type": "photo", "media": "attach://b"}]
        files = {"a": ("a.png", png(), "image/png"), "b": ("b.png", png(), "image/png")}
    elif method == "sendpoll":
        params.update(question="Q?", options=[{"text": "a"}, {"text": "b"}])
    elif method in ("deletemessage", "pinchatmessage", "editmessagetext", "editmessagecaption", "stoppoll"):
        params["message_id"] = 1
    elif method == "getchatmember":
        params["user_id"] = emu.DEMO_BOT_ID
    elif method == "setwebhook":
        params = {"url": "https://example.com/hook"}
    elif method == "getfile":
        params = {"file_id": "x"}
    elif method == "banchatmember":
        params = {"chat_id": GROUP, "user_id": 100000001}
    elif method in ("getme", "getupdates", "deletewebhook", "getwebhookinfo"):
        params = {}
    return params, files


@pytest.mark.parametrize("method", sorted(emu.HANDLERS))
def test_every_required_parameter_of_the_spec_is_enforced(em, method):
    spec = emu.METHODS[method]
    required = [
        f["name"]
        for f in spec.get("fields", [])
        if f["required"] and (method, f["name"]) not in emu._NOT_ENFORCED
    ]
    params, files = _minimal(method)
    for name in required:
        assert name in params or name in files, f"test setup lacks {name} for {method}"
        reduced = {k: v for k, v in params.items() if k != name}
        kept = {k: v for k, v in files.items() if k != name}
        body = fail(call(em, emu.CANONICAL[method], files=kept or None, **reduced))
        assert body["error_code"] == 400
        assert body["description"].startswith("Bad Request: ")


def test_required_parameter_messages_match_the_server(em):
    assert (
        fail(call(em, "sendMessage", chat_id=CHANNEL))["description"] == "Bad Request: message text is empty"
    )
    assert fail(call(em, "sendMessage", text="x"))["description"] == "Bad Request: chat_id is empty"
    assert (
        fail(call(em, "sendPhoto", chat_id=CHANNEL))["description"]
        == "Bad Request: there is no photo in the request"
    )
    assert (
        fail(call(em, "deleteMessage", chat_id=CHANNEL))["description"]
        == "Bad Request: message identifier is not specified"
    )


# -- text and entities ------------------------------------------------------------------------


def test_html_is_parsed_and_entities_returned(em):
    message = ok(
        call(em, "sendMessage", chat_id=CHANNEL, parse_mode="HTML", text="<b>Hi</b> &lt;3 😀 <i>x</i>")
    )
    assert message["text"] == "Hi <3 😀 x"
    assert message["entities"] == [
        {"offset": 0, "length": 2, "type": "bold"},
        {"offset": 9, "length": 1, "type": "italic"},
    ]
    assert_conforms(message, "Message")


def test_malformed_html_is_refused_with_cant_parse_entities(em):
    body = fail(call(em, "sendMessage", chat_id=CHANNEL, parse_mode="HTML", text="<b>bold</i>"))
    assert body["description"] == (
        "Bad Request: can't parse entities: Unmatched end tag at byte offset 7, "
        'expected "</b>", found "</i>"'
    )
    body = fail(call(em, "sendMessage", chat_id=CHANNEL, parse_mode="HTML", text="<div>x</div>"))
    assert (
        body["description"]
        == 'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0'
    )
    # Without parse_mode the same text is literal.
    assert ok(call(em, "sendMessage", chat_id=CHANNEL, text="<div>x</div>"))["text"] == "<div>x</div>"


def test_markdown_v2_escaping_errors(em):
    body = fail(call(em, "sendMessage", chat_id=CHANNEL, parse_mode="MarkdownV2", text="Price: 1.5"))
    assert body["description"] == (
        "Bad Request: can't parse entities: Character '.' is reserved and must be "
        "escaped with the preceding '\\'"
    )
    message = ok(call(em, "sendMessage", chat_id=CHANNEL, parse_mode="MarkdownV2", text="*Price:* 1\\.5"))
    assert message["text"] == "Price: 1.5"
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bold"}]


def test_4096_limit_counts_utf16_after_parsing(em):
    ok(call(em, "sendMessage", chat_id=CHANNEL, parse_mode="HTML", text="<b>" + "a" * 4096 + "</b>"))
    ok(call(em, "sendMessage", chat_id=CHANNEL, text="😀" * 2048))
    assert (
        fail(call(em, "sendMessage", chat_id=CHANNEL, text="😀" * 2048 + "a"))["description"]
        == "Bad Request: message is too long"
    )
    assert (
        fail(call(em, "sendMessage", chat_id=CHANNEL, text="a" * 4097))["description"]
        == "Bad Request: message is too long"
    )


def test_caption_limit_is_1024_and_photo_is_a_real_multipart_upload(em):
    files = {"photo": ("p.png", png(800, 600), "image/png")}
    message = ok(call(em, "sendPhoto", chat_id=CHANNEL, caption="ж" * 1024, files=files))
    assert_conforms(message, "Message")
    assert message["photo"][-1]["width"] == 800
    assert message["photo"][-1]["height"] == 600
    body = fail(call(em, "sendPhoto", chat_id=CHANNEL, caption="ж" * 1025, files=files))
    assert body["description"] == "Bad Request: message caption is too long"
    body = fail(
        call(em, "sendPhoto", chat_id=CHANNEL, files={"photo": ("p.png", b"not an image", "image/png")})
    )
    assert body["description"] == "Bad Request: IMAGE_PROCESS_FAILED"
    # The file can be downloaded back through getFile and /file/bot<token>/<path>.
    info = ok(call(em, "getFile", file_id=message["photo"][-1]["file_id"]))
    assert_conforms(info, "File")
    with http.client(base_url=em.url, timeout=5) as client:
        assert client.get(f"/file/bot{TOKEN}/{info['file_path']}").content == png(800, 600)


def test_media_group_with_attach_needs_2_to_10_items(em):
    files = {f"f{i}": (f"{i}.png", png(), "image/png") for i in range(11)}
    media = [{"type": "photo", "media": f"attach://f{i}"} for i in range(11)]
    media[0]["caption"] = "<b>Album</b>"
    media[0]["parse_mode"] = "HTML"
    messages = ok(call(em, "sendMediaGroup", chat_id=CHANNEL, media=media[:3], files=files))
    assert len(messages) == 3
    assert len({m["media_group_id"] for m in messages}) == 1
    assert messages[0]["caption"] == "Album"
    for message in messages:
        assert_conforms(message, "Message")
    assert (
        fail(call(em, "sendMediaGroup", chat_id=CHANNEL, media=media[:1], files=files))["error_code"] == 400
    )
    assert fail(call(em, "sendMediaGroup", chat_id=CHANNEL, media=media, files=files))["error_code"] == 400
    body = fail(
        call(
            em, "sendMediaGroup", chat_id=CHANNEL, media=[{"type": "photo", "media": "attach://missing"}] * 2
        )
    )
    assert body["description"] == "Bad Request: can't parse InputMedia: media not found"


def test_poll_limits_follow_the_spec(em):
    poll = ok(call(em, "sendPoll", chat_id=CHANNEL, question="Best day?", options=["Mon", {"text": "Fri"}]))
    assert_conforms(poll, "Message")
    assert poll["poll"]["is_anonymous"] is True
    assert [o["text"] for o in poll["poll"]["options"]] == ["Mon", "Fri"]
    assert (
        fail(call(em, "sendPoll", chat_id=CHANNEL, question="Q" * 301, options=["a", "b"]))["error_code"]
        == 400
    )
    assert (
        fail(call(em, "sendPoll", chat_id=CHANNEL, question="Q", options=[str(i) for i in range(13)]))[
            "error_code"
        ]
        == 400
    )
    assert fail(call(em, "sendPoll", chat_id=CHANNEL, question="Q", options=["a" * 101]))["error_code"] == 400
    assert (
        fail(call(em, "sendPoll", chat_id=CHANNEL, question="Q", options=["a", "b"], is_anonymous=False))[
            "error_code"
        ]
        == 400
    )


# -- chats and rights -------------------------------------------------------------------------


def test_get_chat_member_count_and_member_conform(em):
    chat = ok(call(em, "getChat", chat_id="@rupor_demo"))
    assert_conforms(chat, "ChatFullInfo")
    assert chat["linked_chat_id"] == GROUP
    assert chat["type"] == "channel"
    assert isinstance(ok(call(em, "getChatMemberCount", chat_id=CHANNEL)), int)
    member = ok(call(em, "getChatMember", chat_id=CHANNEL, user_id=emu.DEMO_BOT_ID))
    assert_conforms(member, "ChatMember")
    assert member["status"] == "administrator"
    assert member["can_post_messages"] is True
    other = ok(call(em, "getChatMember", chat_id=emu.OTHER_CHANNEL_ID, user_id=emu.DEMO_BOT_ID))
    assert other["status"] == "member"


def test_chat_not_found_not_admin_and_migrated_group(em):
    assert (
        fail(call(em, "sendMessage", chat_id="@no_such_channel", text="x"))["description"]
        == "Bad Request: chat not found"
    )
    body = fail(call(em, "sendMessage", chat_id=emu.OTHER_CHANNEL_ID, text="x"))
    assert body["description"] == "Bad Request: need administrator rights in the channel chat"
    body = fail(call(em, "sendMessage", chat_id=emu.OLD_GROUP_ID, text="x"))
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": emu.UPGRADED_SUPERGROUP_ID},
    }
    ok(call(em, "sendMessage", chat_id=emu.UPGRADED_SUPERGROUP_ID, text="x"))


# -- no idempotency, edits, deletes, pins ------------------------------------------------------


def test_identical_sends_are_not_deduplicated_and_ids_increase(em):
    first = ok(call(em, "sendMessage", chat_id=CHANNEL, text="same"))
    second = ok(call(em, "sendMessage", chat_id=CHANNEL, text="same"))
    assert second["message_id"] > first["message_id"]
    assert testing.posts_with(em, "same") == 2
    with http.client(base_url=em.url, timeout=5) as client:
        ledger = client.get("/_emulator/ledger").json()
    assert sum(1 for e in ledger if e["kind"] == "message_sent" and e["chat_id"] == CHANNEL) == 2


def test_edit_not_modified_delete_window_and_pin(em):
    sent = ok(call(em, "sendMessage", chat_id=CHANNEL, text="v1"))
    mid = sent["message_id"]
    edited = ok(call(em, "editMessageText", chat_id=CHANNEL, message_id=mid, text="v2"))
    assert edited["text"] == "v2"
    assert "edit_date" in edited
    body = fail(call(em, "editMessageText", chat_id=CHANNEL, message_id=mid, text="v2"))
    assert body["description"].startswith("Bad Request: message is not modified")
    assert (
        fail(call(em, "editMessageCaption", chat_id=CHANNEL, message_id=mid, caption="c"))["error_code"]
        == 400
    )
    assert ok(call(em, "pinChatMessage", chat_id=CHANNEL, message_id=mid)) is True
    assert ok(call(em, "getChat", chat_id=CHANNEL))["pinned_message"]["message_id"] == mid
    old = ok(call(em, "sendMessage", chat_id=CHANNEL, text="old"))["message_id"]
    advance(em, 48 * 3600 - 60)
    assert ok(call(em, "deleteMessage", chat_id=CHANNEL, message_id=mid)) is True
    assert (
        fail(call(em, "deleteMessage", chat_id=CHANNEL, message_id=mid))["description"]
        == "Bad Request: message to delete not found"
    )
    advance(em, 120)
    assert (
        fail(call(em, "deleteMessage", chat_id=CHANNEL, message_id=old))["description"]
        == "Bad Request: message can't be deleted"
    )


# -- flood control ----------------------------------------------------------------------------


def test_chat_flood_limit_answers_429_with_retry_after(em):
    bodies = [call(em, "sendMessage", chat_id=CHANNEL, text=f"n{i}").json() for i in range(25)]
    limited = [b for b in bodies if not b["ok"]]
    assert limited, "a burst of 25 messages to one chat must hit flood control"
    first = limited[0]
    assert first["error_code"] == 429
    assert first["description"] == f"Too Many Requests: retry after {first['parameters']['retry_after']}"
    advance(em, first["parameters"]["retry_after"] + 1)
    ok(call(em, "sendMessage", chat_id=CHANNEL, text="after waiting"))


def test_group_limit_is_20_per_minute():
    running = testing.start(chat_burst=100)
    try:
        results = [
            call(running, "sendMessage", chat_id=emu.UPGRADED_SUPERGROUP_ID, text=str(i)).json()
            for i in range(21)
        ]
        assert all(r["ok"] for r in results[:20])
        assert results[20]["error_code"] == 429
        assert results[20]["parameters"]["retry_after"] >= 1
    finally:
        running.stop()


def test_rate_limits_can_be_turned_off():
    running = testing.start(rate_limits=False)
    try:
        assert all(call(running, "sendMessage", chat_id=CHANNEL, text=str(i)).json()["ok"] for i in range(40))
    finally:
        running.stop()


def test_injected_429_is_the_real_json(em):
    with http.client(base_url=em.url, timeout=5) as client:
        client.post("/_emulator/faults", json={"queue": [{"kind": "429", "method": "sendMessage"}]})
    body = fail(call(em, "sendMessage", chat_id=CHANNEL, text="x"))
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 5",
        "parameters": {"retry_after": 5},
    }


# -- updates ----------------------------------------------------------------------------------


def test_channel_posts_are_forwarded_to_the_discussion_group(em):
    post = ok(call(em, "sendMessage", chat_id=CHANNEL, text="discuss me"))
    updates = ok(call(em, "getUpdates"))
    forwards = [u["message"] for u in updates if u.get("message", {}).get("is_automatic_forward")]
    assert len(forwards) == 1
    assert forwards[0]["chat"]["id"] == GROUP
    assert forwards[0]["forward_origin"] == {
        "type": "channel",
        "chat": post["chat"],
        "message_id": post["message_id"],
        "date": post["date"],
    }
    for update in updates:
        assert_conforms(update, "Update")


def test_get_updates_offset_confirms_and_negative_offset_reads_from_the_end(em):
    for i in range(3):
        ok(call(em, "sendMessage", chat_id=CHANNEL, text=f"p{i}"))
    updates = ok(call(em, "getUpdates"))
    assert len(updates) == 3
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(ids)
    assert len(ok(call(em, "getUpdates"))) == 3  # nothing confirmed without an offset
    assert [u["update_id"] for u in ok(call(em, "getUpdates", offset=ids[1]))] == ids[1:]
    assert [u["update_id"] for u in ok(call(em, "getUpdates", offset=-1))] == ids[2:]
    assert ok(call(em, "getUpdates", offset=ids[2] + 1)) == []
    assert len(ok(call(em, "getUpdates", limit=1, offset=0))) == 0


def test_get_updates_conflicts_with_a_webhook(em):
    assert ok(call(em, "setWebhook", url="https://example.com/hook", secret_token="s3cret")) is True
    info = ok(call(em, "getWebhookInfo"))
    assert_conforms(info, "WebhookInfo")
    assert info["url"] == "https://example.com/hook"
    body = fail(call(em, "getUpdates"))
    assert body["error_code"] == 409
    assert body["description"].startswith("Conflict: can't use getUpdates method while webhook is active")
    assert (
        fail(call(em, "setWebhook", url="https://example.com/h", secret_token="bad token!"))["error_code"]
        == 400
    )
    assert fail(call(em, "setWebhook", url="http://example.com/h"))["error_code"] == 400
    ok(call(em, "deleteWebhook"))
    assert ok(call(em, "getUpdates")) == []


def test_audience_comments_joins_and_reaction_counts_follow_the_clock(em):
    ok(call(em, "getUpdates", allowed_updates=["message", "chat_member", "message_reaction_count"]))
    post = ok(call(em, "sendMessage", chat_id=CHANNEL, text="engage"))
    members = ok(call(em, "getChatMemberCount", chat_id=CHANNEL))
    advance(em, 24 * 3600)  # a day: about 16 join and 8 leave
    updates = ok(call(em, "getUpdates"))
    kinds = {key for u in updates for key in u if key != "update_id"}
    assert {"message", "chat_member", "message_reaction_count"} <= kinds
    counts = [u["message_reaction_count"] for u in updates if "message_reaction_count" in u]
    assert counts[-1]["message_id"] == post["message_id"]
    assert counts[-1]["reactions"]
    changes = [
        (u["chat_member"]["old_chat_member"]["status"], u["chat_member"]["new_chat_member"]["status"])
        for u in updates
        if "chat_member" in u and u["chat_member"]["chat"]["id"] == CHANNEL
    ]
    joins, leaves = changes.count(("left", "member")), changes.count(("member", "left"))
    assert joins > 0
    assert ok(call(em, "getChatMemberCount", chat_id=CHANNEL)) == members + joins - leaves
    for update in updates:
        assert_conforms(update, "Update")


def test_reaction_counts_only_when_asked_for(em):
    ok(call(em, "sendMessage", chat_id=CHANNEL, text="quiet"))
    advance(em, 3 * 3600)
    updates = ok(call(em, "getUpdates"))
    assert not any("message_reaction_count" in u or "chat_member" in u for u in updates)


def test_audience_is_deterministic_for_a_seed():
    def run() -> list[str]:
        running = testing.start(seed=7)
        try:
            call(running, "sendMessage", chat_id=CHANNEL, text="seeded")
            advance(running, 3 * 3600)
            return [
                u["message"]["text"] for u in call(running, "getUpdates").json()["result"] if "message" in u
            ]
        finally:
            running.stop()

    assert run() == run()


def test_a_bot_writes_only_to_people_who_started_it_and_never_after_a_block(em):
    user = 100_000_001
    refused = call(em, "sendMessage", chat_id=user, text="hi")
    assert refused.status_code == 403
    assert refused.json()["description"] == "Forbidden: bot can't initiate conversation with a user"
    with http.client(base_url=em.url, timeout=5) as client:
        client.post("/_emulator/private_message", json={"user_id": user, "text": "/start"}).raise_for_status()
        assert ok(call(em, "sendMessage", chat_id=user, text="hi"))["chat"] == {
            "id": user,
            "type": "private",
            "first_name": "Anna",
        }
        client.post("/_emulator/block_bot", json={"user_id": user}).raise_for_status()
    blocked = call(em, "sendMessage", chat_id=user, text="hi")
    assert blocked.status_code == 403
    assert blocked.json()["description"] == "Forbidden: bot was blocked by the user"
    updates = ok(call(em, "getUpdates"))
    assert updates[0]["message"]["text"] == "/start"
    assert updates[-1]["my_chat_member"]["new_chat_member"]["status"] == "kicked"


# -- quizzes and poll results -------------------------------------------------------------------


def test_quiz_needs_one_right_answer_within_range_and_a_short_explanation(em):
    base: dict[str, Any] = {
        "chat_id": CHANNEL,
        "question": "2+2?",
        "options": ["3", "4", "5"],
        "type": "quiz",
    }
    assert fail(call(em, "sendPoll", **base))["description"] == "Bad Request: QUIZ_CORRECT_ANSWERS_EMPTY"
    for bad in ([3], [-1], [2, 1], [1, 1]):
        body = fail(call(em, "sendPoll", correct_option_ids=bad, allows_multiple_answers=True, **base))
        assert body["description"] == "Bad Request: QUIZ_CORRECT_ANSWER_INVALID", bad
    body = fail(call(em, "sendPoll", correct_option_ids=[0, 1], **base))
    assert body["description"] == "Bad Request: QUIZ_CORRECT_ANSWERS_TOO_MUCH"
    long = fail(call(em, "sendPoll", correct_option_ids=[1], explanation="x" * 201, **base))
    assert long["error_code"] == 400
    assert "explanation" in long["description"]
    sent = ok(call(em, "sendPoll", correct_option_ids=[1], explanation="x" * 200, **base))
    assert_conforms(sent, "Message")
    assert sent["poll"]["type"] == "quiz"
    assert sent["poll"]["correct_option_ids"] == [1]
    assert sent["poll"]["allows_revoting"] is False
    # The older single id is still read, as the form field a client sends.
    older = ok(call(em, "sendPoll", via="form", correct_option_id="2", **base))
    assert older["poll"]["correct_option_ids"] == [2]


def test_open_period_and_close_date_exclude_each_other(em):
    base: dict[str, Any] = {"chat_id": CHANNEL, "question": "Q", "options": ["a", "b"]}
    both = fail(call(em, "sendPoll", open_period=60, close_date=10**10, **base))
    assert both["error_code"] == 400
    assert fail(call(em, "sendPoll", close_date=1, **base))["error_code"] == 400


def test_stop_poll_returns_the_seeded_votes_once(em):
    sent = ok(
        call(
            em,
            "sendPoll",
            chat_id=CHANNEL,
            question="2+2?",
            options=["3", "4"],
            type="quiz",
            correct_option_ids=[1],
        )
    )
    advance(em, 6 * 3600)
    stopped = ok(call(em, "stopPoll", chat_id=CHANNEL, message_id=sent["message_id"]))
    assert_conforms(stopped, "Poll")
    assert stopped["is_closed"] is True
    votes = [o["voter_count"] for o in stopped["options"]]
    assert stopped["total_voter_count"] == sum(votes) > 0
    again = fail(call(em, "stopPoll", chat_id=CHANNEL, message_id=sent["message_id"]))
    assert again["description"] == "Bad Request: poll has already been closed"
    text = ok(call(em, "sendMessage", chat_id=CHANNEL, text="no poll here"))
    assert fail(call(em, "stopPoll", chat_id=CHANNEL, message_id=text["message_id"]))["error_code"] == 400
