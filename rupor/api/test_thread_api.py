"""``options.thread`` through the API: a list of at most 25 non-empty texts, each within the
network's limit, else a 422 naming the part; ``/plan/check`` reports each part's problems."""

from __future__ import annotations

from typing import Any

import pytest

from rupor.api.test_plan_check_api import _channel
from rupor.planning.models import PostVariant

pytestmark = pytest.mark.django_db


def _post(api: Any, channel: int, thread: Any) -> Any:
    return api.post(
        "/posts",
        {"text": "First post", "variants": [{"channel_id": channel, "options": {"thread": thread}}]},
    )


def test_a_thread_is_saved_and_bad_parts_are_refused_by_name(make_workspace, api_for):
    ws = make_workspace()
    admin = api_for(ws, "admin")
    x = _channel(admin, "x", "100")
    ok = _post(admin, x, ["Second", "Third"])
    assert ok.status_code == 201, ok.content
    assert PostVariant.objects.get(channel_id=x).options == {"thread": ["Second", "Third"]}
    cases = [
        (["Second", "  "], "variants[0].options.thread[1]", "Post 3 of the thread is empty."),
        (["字" * 141], "variants[0].options.thread[0]", "Post 2 of the thread has 282; X allows 280."),
        (["p"] * 26, "variants[0].options.thread", "at most 25 posts after the first"),
        ("Second", "variants[0].options.thread", "A thread is a list of texts"),
        ([1, 2], "variants[0].options.thread[0]", "Post 2 of the thread is empty."),
    ]
    for thread, field, message in cases:
        res = _post(admin, x, thread)
        assert res.status_code == 422, (thread, res.content)
        body = res.json()
        assert field in str(body), body
        assert message in str(body), body
    vk = _channel(admin, "vk", "1")
    res = _post(admin, vk, ["Second"])
    assert res.status_code == 422 and "cannot post threads" in str(res.json())


def test_check_reports_each_part(make_workspace, api_for):
    ws = make_workspace()
    api = api_for(ws, "editor")
    bluesky = _channel(api_for(ws, "admin"), "bluesky", "did:plc:shop")
    res = api.post(
        "/plan/check",
        {"text": "First", "variants": [{"channel_id": bluesky, "options": {"thread": ["fine", "x" * 301]}}]},
    )
    assert res.status_code == 200, res.content
    problems = res.json()["variants"][0]["problems"]
    assert problems == [
        {"field": "options.thread[1]", "message": "Post 3 of the thread has 301; Bluesky allows 300."}
    ]
