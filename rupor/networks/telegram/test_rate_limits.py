"""Telegram's declared flood limits (Bot FAQ, docs/networks.md §2.3) match what a publish sends."""

from __future__ import annotations

from rupor.networks.base import ChannelAccess, Content, Media, Poll
from rupor.networks.telegram import emulator as emu
from rupor.networks.telegram.adapter import TelegramAdapter

TOKEN = "123456:ABC-secret-bot-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
adapter = TelegramAdapter()


def channel(remote_id: str = "-1001234567890", **settings: str) -> ChannelAccess:
    return ChannelAccess("telegram", remote_id, {"bot_token": TOKEN}, settings=settings)


def photos(n: int) -> tuple[Media, ...]:
    return tuple(Media.from_bytes("photo", f"{i}.png", "image/png", PNG) for i in range(n))


def by_kind(limits):
    return {lim.key.split(":")[1]: lim for lim in limits}


def test_channel_post_counts_against_the_bot_and_the_chat():
    limits = by_kind(adapter.rate_limits(channel(), Content(text="hi")))
    assert set(limits) == {"bot", "chat"}
    assert (limits["bot"].limit, limits["bot"].per_s, limits["bot"].cost) == (30, 1.0, 1)
    assert (limits["chat"].limit, limits["chat"].per_s, limits["chat"].cost) == (1, 1.0, 1)


def test_groups_also_get_20_messages_a_minute():
    for access in (
        channel("-4012345"),
        channel("-1001234567890", chat_type="supergroup"),
        channel("@g", chat_type="group"),
    ):
        group = by_kind(adapter.rate_limits(access, Content(text="hi")))["group"]
        assert (group.limit, group.per_s, group.cost) == (20, 60.0, 1)
    assert "group" not in by_kind(
        adapter.rate_limits(channel("@news", chat_type="channel"), Content(text="hi"))
    )


def test_album_counts_one_message_per_item_and_text_before_poll_counts():
    costs = [
        by_kind(adapter.rate_limits(channel(), Content(text="x", media=photos(n))))["chat"].cost
        for n in range(1, 11)
    ]
    assert costs == list(range(1, 11))
    poll = by_kind(adapter.rate_limits(channel(), Content(text="intro", poll=Poll("Q?", ("a", "b")))))
    assert poll["chat"].cost == 2
    assert by_kind(adapter.rate_limits(channel(), Content(poll=Poll("Q?", ("a", "b")))))["chat"].cost == 1


def test_first_comment_counts_against_the_discussion_group():
    limits = by_kind(adapter.rate_limits(channel(), Content(text="x", media=photos(3), first_comment="c")))
    assert limits["bot"].cost == 4
    assert limits["chat"].cost == 3
    assert (limits["discussion"].limit, limits["discussion"].per_s, limits["discussion"].cost) == (1, 1.0, 1)
    assert (limits["discussion-group"].limit, limits["discussion-group"].per_s) == (20, 60.0)


def test_keys_carry_no_token_and_differ_per_bot_and_chat():
    limits = adapter.rate_limits(channel(), Content(text="x", first_comment="c"))
    assert all(TOKEN not in lim.key and "secret" not in lim.key and "ABC" not in lim.key for lim in limits)
    other_bot = ChannelAccess("telegram", "-1001234567890", {"bot_token": "999:other"})
    assert by_kind(adapter.rate_limits(other_bot))["chat"].key != by_kind(limits)["chat"].key
    assert by_kind(adapter.rate_limits(channel("-1009")))["bot"].key == by_kind(limits)["bot"].key


def test_declaration_matches_the_emulators_flood_control():
    state = emu.Emulator()
    assert state.global_per_second == 30
    assert state.group_per_minute == 20
