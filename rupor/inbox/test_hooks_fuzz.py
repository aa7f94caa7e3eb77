"""Malformed webhook deliveries are answered with a 4xx (or what the network expects), never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rupor.inbox import hooks
from rupor.inbox.testing import connect
from rupor.networks.ok import testing as ok_testing
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing

pytestmark = [pytest.mark.django_db, pytest.mark.urls("rupor.inbox.testing_urls")]

#: Nothing listens here: a webhook must never need the network to answer.
NOWHERE = type("Nowhere", (), {"url": "http://127.0.0.1:9"})()

HUGE = 10**40
VK_SECRET = vk_testing.demo_credentials()["callback_secret"]
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": tg_testing.DEMO_WEBHOOK_SECRET}

#: Bodies that are not even JSON objects.
RAW = [
    b"",
    b"{",
    b"not json",
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b"[1,2]",
    b'"text"',
    b"1e999999",
    b"-0",
    b"true",
    b'{"a":' * 200 + b"1" + b"}" * 200,
    b"[" * 5000 + b"]" * 5000,
    b'{"type": NaN}',
    b'{"type": Infinity}',
]


def _vk_shapes() -> list[Any]:
    base = {"group_id": 1, "secret": VK_SECRET, "event_id": "e1", "v": "5.199"}
    shapes: list[Any] = [
        {"type": 5, "group_id": 1},
        {"type": None, "group_id": 1},
        {"type": ["confirmation"], "group_id": 1},
        {"type": "confirmation", "group_id": "abc"},
        {"type": "confirmation", "group_id": HUGE},
        {"type": "confirmation", "group_id": 1.5},
        {"type": "confirmation", "group_id": [1]},
        {"type": "confirmation", "group_id": {"x": 1}},
        {"type": "confirmation", "group_id": -HUGE},
        {"type": "wall_reply_new", "group_id": 1},
        {"type": "message_new", "group_id": 1, "secret": [VK_SECRET]},
        {"type": "message_new", "group_id": 1, "secret": None},
    ]
    for kind in (
        "wall_reply_new",
        "wall_reply_edit",
        "wall_reply_delete",
        "wall_reply_restore",
        "message_new",
        "message_reply",
        "message_edit",
        "group_join",
        "group_leave",
        "wall_post_new",
        "like_add",
        "unknown",
    ):
        obj: Any
        for obj in (
            None,
            "x",
            5,
            [],
            {},
            {"id": "x"},
            {"id": HUGE, "from_id": HUGE, "post_id": HUGE, "owner_id": HUGE, "date": HUGE, "text": 5},
            {"id": -1, "from_id": "abc", "post_id": None, "owner_id": [], "date": "yesterday", "text": None},
            {"message": "x"},
            {"message": {"id": "x", "from_id": {}, "peer_id": HUGE, "date": -HUGE, "text": []}},
            {"message": {"id": HUGE, "from_id": 1, "peer_id": 1, "date": 1e300, "text": "hi"}},
            {"user_id": "x", "join_type": 5},
            {"id": 1, "date": 1.5e308, "text": "x" * 5000},
        ):
            shapes.append({**base, "type": kind, "object": obj})
        shapes.append({**base, "type": kind})  # no object at all
    return shapes


def _tg_shapes() -> list[Any]:
    shapes: list[Any] = [{}, {"update_id": "x"}, {"update_id": HUGE}, {"update_id": None}, {"update_id": 1.5}]
    for key in (
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "message_reaction",
        "message_reaction_count",
        "chat_member",
        "my_chat_member",
        "callback_query",
        "unknown",
    ):
        value: Any
        for value in (
            None,
            "x",
            5,
            [],
            {},
            {"message_id": "x"},
            {"message_id": HUGE, "date": HUGE, "chat": "x"},
            {"message_id": 1, "date": "today", "chat": {"id": "abc", "type": 5}, "from": "me", "text": 5},
            {
                "message_id": 1,
                "date": 1,
                "chat": {"id": HUGE},
                "from": {"id": None},
                "text": None,
                "reply_to_message": "x",
                "forward_origin": 5,
                "is_automatic_forward": "yes",
            },
            {
                "message_id": -HUGE,
                "date": -1,
                "chat": {"id": 1, "title": []},
                "from": {"id": "x", "first_name": 5},
                "reply_to_message": {"message_id": "x", "chat": None},
                "text": "x" * 5000,
                "entities": "x",
            },
            {"chat": {"id": 1}, "new_chat_member": "x", "old_chat_member": {"status": 5}, "date": 1e300},
        ):
            shapes.append({"update_id": 1, key: value})
    return shapes


@pytest.fixture
def hook_paths(make_workspace):
    """One channel per network in one workspace, each with its webhook path."""
    ws = make_workspace("Webhook fuzz")
    made = {}
    for name, testing in (("vk", vk_testing), ("telegram", tg_testing), ("ok", ok_testing)):
        channel = connect(
            ws,
            testing.channel_for(NOWHERE, settings={"pace": False})
            if name == "vk"
            else testing.channel_for(NOWHERE),
        )
        made[name] = hooks.hook_path(channel)
    return made


def _post(path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    client = Client(raise_request_exception=False)
    return int(client.post(path, body, content_type="application/json", headers=headers or {}).status_code)


def _assert_no_500(path: str, bodies: list[Any], headers: dict[str, str] | None = None) -> None:
    for body in bodies:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status = _post(path, raw, headers)
        assert status < 500, (status, raw[:300])


def test_vk_callback_api_malformed_bodies_never_answer_500(hook_paths):
    _assert_no_500(hook_paths["vk"], RAW + _vk_shapes())
    # A well-formed confirmation still gets the confirmation code.
    assert _post(hook_paths["vk"], json.dumps({"type": "confirmation", "group_id": 1}).encode()) == 200


def test_telegram_malformed_updates_never_answer_500(hook_paths):
    _assert_no_500(hook_paths["telegram"], RAW + _tg_shapes(), TG_HEADERS)


def test_ok_malformed_bodies_never_answer_500(hook_paths):
    _assert_no_500(hook_paths["ok"], RAW + _vk_shapes()[:20] + _tg_shapes()[:20])


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
VK_KEYS = st.sampled_from(
    [
        "type",
        "group_id",
        "object",
        "secret",
        "event_id",
        "message",
        "id",
        "from_id",
        "post_id",
        "owner_id",
        "date",
        "text",
        "peer_id",
        "user_id",
        "reply_to_comment",
    ]
)
TG_KEYS = st.sampled_from(
    [
        "update_id",
        "message",
        "channel_post",
        "edited_message",
        "chat",
        "id",
        "from",
        "date",
        "text",
        "message_id",
        "reply_to_message",
        "message_reaction",
        "chat_member",
    ]
)


def _shaped(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.text(max_size=8)
        | st.floats(allow_nan=False),
        lambda inner: st.dictionaries(keys, inner, max_size=6) | st.lists(inner, max_size=3),
        max_leaves=25,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=_shaped(VK_KEYS) | JSON,
    kind=st.sampled_from(
        ["wall_reply_new", "message_new", "wall_reply_delete", "group_join", "wall_post_new", "confirmation"]
    ),
)
def test_vk_hook_fuzzed(hook_paths, body, kind):
    if isinstance(body, dict):
        body = {"type": kind, "group_id": 1, "secret": VK_SECRET, **body}
    assert _post(hook_paths["vk"], json.dumps(body).encode()) < 500


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_shaped(TG_KEYS) | JSON)
def test_telegram_hook_fuzzed(hook_paths, body):
    assert _post(hook_paths["telegram"], json.dumps(body).encode(), TG_HEADERS) < 500
