"""newsfeed.search and chat mentions in the VK emulator (over real HTTP, as VK documents them),
and the adapter's search_posts / reply_mention / chat events built on them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import EventKind
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing
from rupor.networks.vk.adapter import VkAdapter


@pytest.fixture
def vk():
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


def call(running, method: str, token: str = emu.ADMIN_TOKEN, **params: Any) -> dict[str, Any]:
    with http.client(base_url=running.url, timeout=10) as client:
        answer = client.post(f"/method/{method}", data={"v": "5.199", "access_token": token, **params})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_search_answers_the_documented_shape_newest_first_with_authors(vk):
    first = testing.public_post(vk, 10050, "Rupor Demo cappuccino is the best", ago_s=600)
    second = testing.public_post(vk, 10051, "rupor demo: cold brew tried", ago_s=60)
    body = call(vk, "newsfeed.search", q="rupor demo", extended=1)
    response = body["response"]
    ids = [f"{i['owner_id']}_{i['id']}" for i in response["items"]]
    assert ids[:2] == [second, first]  # newest first
    assert response["count"] == response["total_count"] == len(ids) >= 2
    assert "next_from" not in response  # one page holds everything
    item = response["items"][0]
    for key in ("id", "owner_id", "from_id", "date", "text", "comments", "likes", "reposts", "views"):
        assert key in item
    assert {p["id"] for p in response["profiles"]} >= {10050, 10051}
    assert "profiles" not in call(vk, "newsfeed.search", q="rupor demo")["response"]


def test_search_pages_with_next_from_and_respects_the_time_window(vk):
    for n in range(5):
        testing.public_post(vk, 10060 + n, f"zebra coffee number {n}", ago_s=100 * (5 - n))
    seen: list[str] = []
    start_from = ""
    for _ in range(5):
        params: dict[str, Any] = {"q": "zebra", "count": 2}
        if start_from:
            params["start_from"] = start_from
        response = call(vk, "newsfeed.search", **params)["response"]
        assert response["total_count"] == 5
        seen += [f"{i['owner_id']}_{i['id']}" for i in response["items"]]
        start_from = response.get("next_from", "")
        if not start_from:
            break
    assert len(seen) == len(set(seen)) == 5
    now = testing.state(vk).now()
    window = call(vk, "newsfeed.search", q="zebra", start_time=now - 250, end_time=now)["response"]
    assert window["total_count"] == 2  # posted 200 s and 100 s ago
    assert call(vk, "newsfeed.search", q="")["response"] == {"items": [], "count": 0, "total_count": 0}


def test_search_refuses_a_community_token_and_too_large_counts(vk):
    group = call(vk, "newsfeed.search", token=emu.GROUP_TOKEN, q="coffee")
    assert group["error"]["error_code"] == 27
    assert "group auth" in group["error"]["error_msg"]
    too_many = call(vk, "newsfeed.search", q="coffee", count=201)
    assert too_many["error"]["error_code"] == 100
    assert call(vk, "newsfeed.search", q="coffee", count=200)["response"]["count"] >= 0
    assert call(vk, "newsfeed.search", q="coffee", start_time=-5)["error"]["error_code"] == 100
    assert call(vk, "newsfeed.search", token="nope", q="coffee")["error"]["error_code"] == 5
    # An application's service token may search (the schema's token types: user, service) but
    # not post.
    assert "response" in call(vk, "newsfeed.search", token=emu.SERVICE_TOKEN, q="coffee")
    assert (
        call(vk, "wall.post", token=emu.SERVICE_TOKEN, owner_id=-1, message="x")["error"]["error_code"] == 15
    )


def test_search_has_a_daily_quota_and_a_per_second_limit():
    running = testing.start(rate_limits=True, search_daily=2)
    try:
        assert "response" in call(running, "newsfeed.search", q="coffee")
        assert "response" in call(running, "newsfeed.search", q="coffee")
        assert call(running, "newsfeed.search", q="coffee")["error"]["error_code"] == 29
        testing.advance(running, 86400)
        time.sleep(1.05)  # the per-second buckets count real time
        assert "response" in call(running, "newsfeed.search", q="coffee")
        time.sleep(1.05)
        codes = [call(running, "newsfeed.search", q="x").get("error", {}).get("error_code") for _ in range(4)]
        assert 6 in codes  # 3 requests a second with a user token
    finally:
        running.stop()


def test_adapter_searches_with_the_user_token_and_pages(vk):
    adapter = VkAdapter()
    channel = testing.channel_for(vk, settings={"pace": False})
    for n in range(3):
        testing.public_post(vk, 10070 + n, f"Quokka latte {n}", ago_s=10 * n)
    page = adapter.search_posts(channel, "quokka", limit=2)
    assert len(page.posts) == 2 and page.cursor and page.total == 3
    rest = adapter.search_posts(channel, "quokka", cursor=page.cursor, limit=2)
    assert len(rest.posts) == 1 and rest.cursor is None
    post = page.posts[0]
    assert post.url == f"https://vk.com/wall{post.remote_id}"
    assert post.author.name and post.author.url == f"https://vk.com/id{post.author.remote_id}"
    without = testing.channel_for(vk, credentials={**testing.demo_credentials(), "user_token": ""})
    with pytest.raises(errors.AuthExpired):
        adapter.search_posts(without, "quokka")
    community_only = testing.channel_for(
        vk,
        credentials={**testing.demo_credentials(), "user_token": emu.GROUP_TOKEN},
        settings={"pace": False},
    )
    with pytest.raises(errors.Rejected):
        adapter.search_posts(community_only, "quokka")  # error 27


def _chat_events(running) -> list[dict[str, Any]]:
    state = testing.state(running)
    with state.lock:
        return [dict(e) for _, e in state.groups[1].events if e["type"] == "message_new"]


def test_the_bot_gets_only_the_chat_messages_vk_gives_a_bot(vk):
    quiet = testing.chat_message(vk, "anyone tried the new latte?")
    assert quiet["delivered"] is False and _chat_events(vk) == []
    loud = testing.chat_message(vk, "@rupor_demo do you open at 8?")
    assert loud["delivered"] is True
    [event] = _chat_events(vk)
    message = event["object"]["message"]
    assert message["text"] == "[club1|@rupor_demo] do you open at 8?"
    assert message["peer_id"] == emu.CHAT_PEER_ID and message["id"] == 0
    assert message["conversation_message_id"] == loud["conversation_message_id"]
    events = VkAdapter().events_from("1", event)
    assert [e.kind for e in events] == [EventKind.MENTION]
    assert events[0].message is not None and events[0].message.conversation_id == str(emu.CHAT_PEER_ID)


def test_reply_to_a_chat_mention_answers_in_the_chat_and_a_reply_to_it_is_a_mention(vk):
    adapter = VkAdapter()
    channel = testing.channel_for(vk, settings={"pace": False})
    asked = testing.chat_message(vk, "[club1|Rupor] is the terrace open?")
    mention = f"{emu.CHAT_PEER_ID}:{asked['conversation_message_id']}"
    sent = adapter.reply_mention(
        channel, str(emu.CHAT_PEER_ID), mention, "Yes, until 22:00", idempotency_key="k1"
    )
    again = adapter.reply_mention(
        channel, str(emu.CHAT_PEER_ID), mention, "Yes, until 22:00", idempotency_key="k1"
    )
    assert sent.remote_id == again.remote_id  # the same random_id sends nothing twice
    state = testing.state(vk)
    with state.lock:
        ours = [m for m in state.messages[1] if m.peer_id == emu.CHAT_PEER_ID and m.out]
    assert len(ours) == 1
    assert ours[0].reply_message is not None
    assert ours[0].reply_message["conversation_message_id"] == asked["conversation_message_id"]
    follow = testing.chat_message(vk, "great, thanks", reply_to=ours[0].cmid)
    assert follow["delivered"] is True  # a reply to the bot reaches it
    event = _chat_events(vk)[-1]
    assert [e.kind for e in adapter.events_from("1", event)] == [EventKind.MENTION]


def test_a_members_post_on_the_wall_is_a_mention_and_the_communitys_own_is_not(vk):
    adapter = VkAdapter()
    theirs = {
        "type": "wall_post_new",
        "object": {"id": 7, "owner_id": -1, "from_id": 10001, "date": 1, "text": "hi"},
    }
    ours = {
        "type": "wall_post_new",
        "object": {"id": 8, "owner_id": -1, "from_id": -1, "date": 1, "text": "news"},
    }
    [mention] = adapter.events_from("1", theirs)
    assert mention.kind == EventKind.MENTION and mention.url == "https://vk.com/wall-1_7"
    assert [e.kind for e in adapter.events_from("1", ours)] == [EventKind.POST_NEW]
    chatter = {
        "type": "message_new",
        "object": {
            "message": {
                "peer_id": 2000000003,
                "from_id": 5,
                "text": "hello",
                "conversation_message_id": 4,
                "date": 1,
            }
        },
    }
    command = {
        "type": "message_new",
        "object": {
            "message": {
                "peer_id": 2000000003,
                "from_id": 5,
                "text": "/start",
                "conversation_message_id": 5,
                "date": 1,
            }
        },
    }
    assert [e.kind for e in adapter.events_from("1", chatter)] == [EventKind.CHATTER]
    assert adapter.events_from("1", command) == []
