"""Helpers for the giveaway tests and the browser test: a VK giveaway whose entrants act on the
emulator, and the drand emulator's value of a round known in advance (to choose who leaves)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rupor.giveaways import procedure
from rupor.giveaways.models import Giveaway
from rupor.networks.drand import beacon
from rupor.networks.drand import emulator as drand_emulator
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing

#: Entrants the tests make: members of the demo community who like and comment on the post.
ENTRANTS = tuple(range(10010, 10020))


def take_part(vk: RunningEmulator, post: str, keyword: str, users: tuple[int, ...] = ENTRANTS) -> None:
    for uid in users:
        vk_testing.audience_reaction(vk, post, uid)
        vk_testing.audience_comment(vk, post, f"I'm in! {keyword}", user_id=uid)


def expected_order(giveaway: Giveaway, seed: str = "rupor") -> list[str]:
    """The order the draw will give, from the emulated beacon's value of the named round."""
    entrants = json.loads(giveaway.entrants_json)
    signature = drand_emulator.signature_for(seed, int(giveaway.beacon_round or 0))
    mixed = procedure.seed_of(entrants["list_sha256"], beacon.randomness_of(signature))
    return procedure.draw_order(entrants["entrants"], mixed, giveaway.winners + giveaway.reserve)


def round_time(giveaway: Giveaway) -> dt.datetime:
    return beacon.QUICKNET.time_of(int(giveaway.beacon_round or 0))


def example_files(
    ids: tuple[str, ...] = ("1003", "1001", "1002", "2000", "999"), left: str = "1002"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A small set of consistent published files (2 winners, 2 in reserve; ``left`` failed the
    re-check), with a made-up beacon whose randomness is SHA-256 of its signature."""
    signature = "a1" * 48
    rules: dict[str, Any] = {
        "format": procedure.RULES_FORMAT,
        "winners": 2,
        "reserve": 2,
        "beacon": {
            "chain_hash": beacon.QUICKNET_HASH,
            "round": 42,
            "round_time": "2026-12-05T13:00:00+00:00",
        },
    }
    listed = procedure.frozen_list(list(ids))
    entrants: dict[str, Any] = {
        "format": procedure.ENTRANTS_FORMAT,
        "rules_sha256": procedure.file_hash(rules),
        "frozen_at": "2026-12-05T12:10:00+00:00",
        "entrants": listed,
        "list_sha256": procedure.list_hash(listed),
    }
    value = {
        "chain_hash": beacon.QUICKNET_HASH,
        "round": 42,
        "randomness": beacon.randomness_of(signature),
        "signature": signature,
    }
    rechecks = [procedure.Recheck(e, e != left, "left" if e == left else "") for e in listed]
    draw = procedure.make_draw(
        rules, entrants, value, rechecks, dt.datetime(2026, 12, 5, 13, 1, tzinfo=dt.UTC)
    )
    return rules, entrants, draw
