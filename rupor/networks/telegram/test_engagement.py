"""The Telegram emulator's audience moves with its clock (networks/engagement.py): the member
count changes by exactly the joins and leaves its chat_member updates report, and reaction
totals grow with a post's age."""

from __future__ import annotations

import datetime as dt

from rupor.networks.telegram import testing
from rupor.networks.telegram.test_emulator import CHANNEL, call, em, ok

__all__ = ["em"]  # the emulator fixture of test_emulator.py

#: A Monday, 00:00 UTC.
MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp()


def test_members_follow_the_joins_and_leaves_reported_and_reactions_grow(em):
    emulator = testing._emulator(em)
    emulator.clock.set(MONDAY - 86400, frozen=True)
    emulator.reset()
    ok(call(em, "getUpdates", allowed_updates=["chat_member", "message_reaction_count"]))
    emulator.clock.set(MONDAY, frozen=True)
    before = ok(call(em, "getChatMemberCount", chat_id=CHANNEL))
    offset = 0
    while updates := ok(call(em, "getUpdates", offset=offset, limit=100)):
        offset = updates[-1]["update_id"] + 1  # the day before: already in ``before``
    post = ok(call(em, "sendMessage", chat_id=CHANNEL, text="a post at midnight UTC"))
    totals = []
    joins = leaves = 0
    for hours in (1, 6, 24, 48):
        emulator.clock.set(MONDAY + hours * 3600, frozen=True)
        while True:
            updates = ok(call(em, "getUpdates", offset=offset, limit=100))
            if not updates:
                break
            offset = updates[-1]["update_id"] + 1
            for u in updates:
                change = u.get("chat_member")
                if change and change["chat"]["id"] == CHANNEL:
                    old, new = change["old_chat_member"]["status"], change["new_chat_member"]["status"]
                    joins += old == "left" and new == "member"
                    leaves += old == "member" and new == "left"
                counts = u.get("message_reaction_count")
                if counts and counts["message_id"] == post["message_id"]:
                    totals.append(sum(r["total_count"] for r in counts["reactions"]))
    after = ok(call(em, "getChatMemberCount", chat_id=CHANNEL))
    assert joins > 15 and leaves > 5  # two days at about 16 joins and 8 leaves a day
    assert after - before == joins - leaves
    assert totals and totals == sorted(totals) and totals[-1] > totals[0]
