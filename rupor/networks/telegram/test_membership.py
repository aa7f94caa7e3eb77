"""Membership for giveaways through getChatMember: a reader is a member until a chat_member
update says they left; the bot, as administrator, counts; someone Telegram does not know is not."""

from __future__ import annotations

from rupor.networks.telegram import testing as tg_testing
from rupor.networks.telegram.adapter import TelegramAdapter
from rupor.networks.telegram.emulator import DEMO_BOT_ID


def test_membership_follows_joins_and_leaves() -> None:
    emulator = tg_testing.start()
    try:
        adapter, access = TelegramAdapter(), tg_testing.channel_for(emulator)
        reader = "100000001"
        assert adapter.membership(access, [reader, str(DEMO_BOT_ID), "999"]) == {
            reader: True,
            str(DEMO_BOT_ID): True,
            "999": False,
        }
        tg_testing.audience_membership(emulator, int(reader), "leave")
        assert adapter.membership(access, [reader]) == {reader: False}
        tg_testing.audience_membership(emulator, int(reader), "join")
        assert adapter.membership(access, [reader]) == {reader: True}
    finally:
        emulator.stop()
