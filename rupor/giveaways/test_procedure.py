"""The draw procedure on files alone: a fixed example computed independently (hashlib by hand),
verification of a good set of files, and each kind of tampering caught at its step."""

from __future__ import annotations

import copy
import hashlib

from rupor.giveaways import procedure
from rupor.giveaways.testing import example_files
from rupor.networks.drand import beacon

SIG = "a1" * 48


def test_the_list_hash_and_seed_are_the_documented_byte_strings():
    ids = ["1001", "1002", "999"]
    assert procedure.list_hash(ids) == hashlib.sha256(b"1001\n1002\n999\n").hexdigest()
    lh = procedure.list_hash(ids)
    rand = beacon.randomness_of(SIG)
    assert procedure.seed_of(lh, rand) == hashlib.sha256(bytes.fromhex(lh) + bytes.fromhex(rand)).hexdigest()
    # Code-point order: "999" after "1002", as any language's plain string sort gives it.
    assert procedure.frozen_list(["999", "1002", "1001", "1002"]) == ids


def test_draw_order_by_hand():
    ids = ["a", "b", "c", "d"]
    seed = "00" * 32
    pool, expected = list(ids), []
    for k in range(3):
        digest = hashlib.sha256(bytes(32) + k.to_bytes(8, "big")).digest()
        expected.append(pool.pop(int.from_bytes(digest, "big") % len(pool)))
    assert procedure.draw_order(ids, seed, 3) == expected
    assert sorted(procedure.draw_order(ids, seed, 10)) == ids  # never more than there are


def test_good_files_verify_and_a_passed_over_entrant_is_replaced_from_the_reserve():
    rules, entrants, draw = example_files()
    result = procedure.verify(rules, entrants, draw)
    assert result.ok, [(s.key, s.detail) for s in result.steps if not s.ok]
    eligible = [e for e in draw["order"] if e != "1002"]
    assert result.winners == eligible[:2] and result.reserve == eligible[2:]
    if "1002" in draw["order"]:
        assert result.replaced == [{"entrant": "1002", "reason": "left"}]


def _failed(rules, entrants, draw):
    return [s.key for s in procedure.verify(rules, entrants, draw).steps if not s.ok]


def test_tampering_is_caught_at_its_step():
    rules, entrants, draw = example_files()
    r2 = copy.deepcopy(rules)
    r2["winners"] = 3
    assert "entrants_name_rules" in _failed(r2, entrants, draw)
    e2 = copy.deepcopy(entrants)
    e2["entrants"] = [*e2["entrants"], "5000"]
    assert "list_hash" in _failed(rules, e2, draw)
    d2 = copy.deepcopy(draw)
    d2["beacon"]["randomness"] = "00" * 32
    assert "beacon_randomness" in _failed(rules, entrants, d2)
    d3 = copy.deepcopy(draw)
    d3["winners"] = list(reversed(d3["winners"]))
    assert _failed(rules, entrants, d3) == ["winners"]
    e3 = copy.deepcopy(entrants)
    e3["frozen_at"] = "2026-12-05T13:30:00+00:00"  # frozen after the beacon was public
    assert "frozen_before_beacon" in _failed(rules, e3, draw)
    d4 = copy.deepcopy(draw)
    d4["beacon"]["round"] = 43
    assert "beacon_named" in _failed(rules, entrants, d4)


def test_files_are_told_apart_by_format_and_a_bundle_holds_all_three():
    rules, entrants, draw = example_files()
    assert procedure.split_files([draw, rules, entrants]) == (rules, entrants, draw)
    bundle = {"format": procedure.BUNDLE_FORMAT, "rules": rules, "entrants": entrants, "draw": draw}
    assert procedure.split_files([bundle]) == (rules, entrants, draw)
    try:
        procedure.split_files([rules])
    except procedure.Unreadable as exc:
        assert "entrants" in str(exc)
    else:
        raise AssertionError("a lone rules file must be refused")
