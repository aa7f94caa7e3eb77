"""Group messages as the Bot API delivers them (privacy mode, entities) and the adapter's
mentions: what is addressed to the bot arrives, commands and chatter are told apart."""

from __future__ import annotations

from typing import Any

import pytest

from rupor.networks.base import EventKind
from rupor.networks.telegram import testing, wire
from rupor.networks.telegram.adapter import TelegramAdapter


@pytest.fixture
def tg():
    running = testing.start(rate_limits=False, audience=False)
    yield running
    running.stop()


def _poll(adapter, channel):
    page = adapter.poll_updates(channel, None)
    return [e for e in page.events if e.kind in (EventKind.MENTION, EventKind.CHATTER)]


def test_privacy_mode_gives_a_member_bot_only_what_is_addressed_to_it(tg):
    adapter = TelegramAdapter()
    channel = testing.channel_for(tg, settings={"pace": False})
    testing.group_message(tg, "who has tried the new oat latte?")  # not for the bot: not delivered
    named = testing.group_message(tg, "@rupor_demo_bot are you open on Sunday?")
    testing.group_message(tg, "/start@rupor_demo_bot")  # a command: delivered, never for the inbox
    silent = testing.group_message(
        tg, "Rupor, hello", text_mention={"offset": 0, "length": 5, "user_id": testing.DEMO_BOT_ID}
    )
    events = _poll(adapter, channel)
    assert [e.kind for e in events] == [EventKind.MENTION, EventKind.MENTION]
    first = events[0]
    assert first.remote_id == f"{testing.COFFEE_TALK_ID}:{named}"
    assert first.message is not None and first.message.conversation_id == testing.COFFEE_TALK_ID
    assert first.url == f"https://t.me/coffee_talk/{named}"
    assert events[1].remote_id.endswith(f":{silent}")


def test_a_reply_in_the_chat_answers_the_mention_and_a_reply_to_the_bot_is_a_mention(tg):
    adapter = TelegramAdapter()
    channel = testing.channel_for(tg, settings={"pace": False})
    asked = testing.group_message(tg, "@rupor_demo_bot do you deliver?")
    first = adapter.poll_updates(channel, None)
    [mention] = [e for e in first.events if e.kind == EventKind.MENTION]
    sent = adapter.reply_mention(
        channel, testing.COFFEE_TALK_ID, mention.remote_id, "Yes, within the ring road", idempotency_key="k"
    )
    chat, message_id = wire.parse_comment_id(sent.remote_id)
    assert chat == testing.COFFEE_TALK_ID
    stored = testing._emulator(tg).messages[(int(chat), message_id)]
    assert stored.payload["reply_to_message"]["message_id"] == asked
    testing.group_message(tg, "thanks!", reply_to=message_id)
    page = adapter.poll_updates(channel, first.cursor)
    kinds = [e.kind for e in page.events if e.kind in (EventKind.MENTION, EventKind.CHATTER)]
    assert kinds == [EventKind.MENTION]


def test_an_admin_bot_sees_all_chatter_and_comments_stay_comments(tg):
    message: dict[str, Any] = {
        "message_id": 5,
        "date": 1,
        "chat": {"id": -1001000000002, "type": "supergroup", "title": "Chat"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
        "text": "coffee is cold today",
    }
    update = {"update_id": 1, "message": message}
    [chatter] = wire.update_to_events(update, "-100", 7000000001, "rupor_demo_bot")
    assert chatter.kind == EventKind.CHATTER
    topic = {**message, "message_thread_id": 3, "is_topic_message": True}
    assert [e.kind for e in wire.update_to_events({"message": topic}, "-100", 1)] == [EventKind.CHATTER]
    comment = {**message, "message_thread_id": 3}
    assert [e.kind for e in wire.update_to_events({"message": comment}, "-100", 1)] == [EventKind.COMMENT_NEW]
    command = {
        **message,
        "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }
    assert wire.update_to_events({"message": command}, "-100", 1) == []
    emoji = {
        **message,
        "text": "🎉 @Rupor_Demo_Bot hi",
        "entities": [{"type": "mention", "offset": 3, "length": 15}],
    }
    assert [e.kind for e in wire.update_to_events({"message": emoji}, "-100", 1, "rupor_demo_bot")] == [
        EventKind.MENTION
    ]


def test_with_privacy_mode_off_a_member_bot_gets_every_group_message():
    running = testing.start(rate_limits=False, audience=False, privacy_mode=False)
    try:
        adapter = TelegramAdapter()
        channel = testing.channel_for(running, settings={"pace": False})
        assert adapter._me(channel)["can_read_all_group_messages"] is True
        testing.group_message(running, "who has tried the new oat latte?")
        assert [e.kind for e in _poll(adapter, channel)] == [EventKind.CHATTER]
    finally:
        running.stop()
