"""The draw procedure and its verification, on the published files alone (docs/giveaways.md).

Nothing here reads the database, the clock or the network: the same functions make the draw
when a manager draws and recompute it in ``rupor giveaway verify`` and on the public verifier
page, so what is published is exactly what is checked.

The three files are canonical JSON (RFC 8785 for what they hold: ASCII keys sorted, no
whitespace, UTF-8, integers and strings only), so each file's SHA-256 can be recomputed from its
parsed content as well as from its bytes:

* ``rules.json`` — what was announced before the giveaway began, beacon round included;
* ``entrants.json`` — the rules' hash, when the list was frozen, and the entrants' ids sorted
  (code-point order) without repeats; ``list_sha256`` is SHA-256 of the ids each followed by a
  line feed (``jq -r '.entrants[]' entrants.json | sha256sum``);
* ``draw.json`` — the beacon (round, randomness, signature), the seed, the drawn order, the
  re-check of each drawn entrant, the winners and the reserve.

seed = SHA-256(list hash bytes ‖ beacon randomness bytes); draw k (k = 0, 1, …) takes the
entrant at index SHA-256(seed ‖ k as 8 bytes big-endian) mod (entrants left), in the sorted list
with earlier picks removed. The first ``winners`` drawn entrants who pass the re-check win; the
others who pass, in order, are the reserve.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RULES_FORMAT = "rupor-giveaway-rules/1"
ENTRANTS_FORMAT = "rupor-giveaway-entrants/1"
DRAW_FORMAT = "rupor-giveaway-draw/1"
BUNDLE_FORMAT = "rupor-giveaway-bundle/1"
PROCEDURE = "sha256-index-mod-remaining/1"


def canonical(value: Any) -> bytes:
    """The one byte form of a published file: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(value: Mapping[str, Any]) -> str:
    """SHA-256 of a file's canonical form."""
    return sha256_hex(canonical(value))


def list_hash(entrants: Sequence[str]) -> str:
    """SHA-256 of the ids, each followed by a line feed (as ``jq -r '.entrants[]'`` prints them)."""
    return sha256_hex("".join(f"{e}\n" for e in entrants).encode())


def frozen_list(ids: Sequence[str]) -> list[str]:
    """The entrants as published: unique and sorted by code point."""
    return sorted(set(ids))


def seed_of(list_sha256: str, randomness: str) -> str:
    """SHA-256(list hash bytes ‖ beacon randomness bytes), in hex."""
    return sha256_hex(bytes.fromhex(list_sha256) + bytes.fromhex(randomness))


def pick_index(seed: str, k: int, remaining: int) -> int:
    """The index of draw ``k`` among ``remaining`` entrants (the modulo's bias is below 2^-200
    for any list shorter than 2^50)."""
    digest = hashlib.sha256(bytes.fromhex(seed) + k.to_bytes(8, "big")).digest()
    return int.from_bytes(digest, "big") % remaining


def draw_order(entrants: Sequence[str], seed: str, how_many: int) -> list[str]:
    """The first ``how_many`` entrants drawn (all of them when there are fewer)."""
    pool = list(entrants)
    order: list[str] = []
    for k in range(min(how_many, len(pool))):
        order.append(pool.pop(pick_index(seed, k, len(pool))))
    return order


@dataclass(frozen=True)
class Recheck:
    entrant: str
    eligible: bool
    reason: str = ""  # a code (see REASONS in service.py); empty when eligible


def split_winners(
    order: Sequence[str], rechecks: Mapping[str, Recheck], winners: int
) -> tuple[list[str], list[str]]:
    """Winners (the first ``winners`` eligible in drawn order) and the reserve (the other eligible)."""
    eligible = [e for e in order if rechecks.get(e, Recheck(e, True)).eligible]
    return eligible[:winners], eligible[winners:]


# -- verification --------------------------------------------------------------------------


@dataclass
class Step:
    """One step of a verification: what was checked, whether it holds, the figures."""

    key: str
    ok: bool
    detail: str = ""


@dataclass
class Verification:
    steps: list[Step] = field(default_factory=list)
    winners: list[str] = field(default_factory=list)
    reserve: list[str] = field(default_factory=list)
    replaced: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def add(self, key: str, ok: bool, detail: str = "") -> bool:
        self.steps.append(Step(key, ok, detail))
        return ok


class Unreadable(ValueError):
    """A file that is not one of the giveaway's published files."""


def split_files(documents: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Rules, entrants and draw from parsed files (or a bundle holding all three), by ``format``."""
    found: dict[str, dict[str, Any]] = {}
    for doc in documents:
        if not isinstance(doc, dict):
            raise Unreadable("not a JSON object")
        kind = doc.get("format")
        if kind == BUNDLE_FORMAT:
            for part in ("rules", "entrants", "draw"):
                if isinstance(doc.get(part), dict):
                    found[doc[part].get("format", "")] = doc[part]
        elif kind in (RULES_FORMAT, ENTRANTS_FORMAT, DRAW_FORMAT):
            found[str(kind)] = doc
        else:
            raise Unreadable(f"unknown format {kind!r}")
    missing = [f for f in (RULES_FORMAT, ENTRANTS_FORMAT, DRAW_FORMAT) if f not in found]
    if missing:
        raise Unreadable("missing: " + ", ".join(missing))
    return found[RULES_FORMAT], found[ENTRANTS_FORMAT], found[DRAW_FORMAT]


def _time(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _is_hex(value: Any, length: int | None = None) -> bool:
    text = str(value)
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return bool(text) and (length is None or len(text) == length)


def verify(rules: dict[str, Any], entrants: dict[str, Any], draw: dict[str, Any]) -> Verification:
    """Recompute the draw from the three files, step by step (docs/giveaways.md)."""
    out = Verification()
    rules_sha = file_hash(rules)
    out.add("rules_hash", True, rules_sha)
    out.add(
        "entrants_name_rules",
        entrants.get("rules_sha256") == rules_sha and draw.get("rules_sha256") == rules_sha,
        f"{entrants.get('rules_sha256')} / {draw.get('rules_sha256')}",
    )
    ids = entrants.get("entrants")
    if not isinstance(ids, list) or not all(isinstance(e, str) for e in ids):
        out.add("list_sorted", False, "entrants is not a list of ids")
        return out
    out.add("list_sorted", ids == frozen_list(ids), f"{len(ids)}")
    computed_list = list_hash(ids)
    out.add(
        "list_hash",
        computed_list == entrants.get("list_sha256") == draw.get("list_sha256"),
        computed_list,
    )
    beacon: dict[str, Any] = draw["beacon"] if isinstance(draw.get("beacon"), dict) else {}
    named: dict[str, Any] = rules["beacon"] if isinstance(rules.get("beacon"), dict) else {}
    out.add(
        "beacon_named",
        beacon.get("round") == named.get("round") and beacon.get("chain_hash") == named.get("chain_hash"),
        f"{named.get('chain_hash')} #{named.get('round')}",
    )
    frozen_at, round_at = _time(entrants.get("frozen_at")), _time(named.get("round_time"))
    out.add(
        "frozen_before_beacon",
        frozen_at is not None and round_at is not None and frozen_at < round_at,
        f"{entrants.get('frozen_at')} < {named.get('round_time')}",
    )
    signature, randomness = beacon.get("signature", ""), beacon.get("randomness", "")
    good_beacon = _is_hex(signature) and _is_hex(randomness, 64)
    out.add(
        "beacon_randomness",
        good_beacon and sha256_hex(bytes.fromhex(signature)) == randomness,
        str(randomness),
    )
    if not good_beacon or not _is_hex(computed_list, 64):
        return out
    seed = seed_of(computed_list, randomness)
    out.add("seed", seed == draw.get("seed"), seed)
    wanted = int(rules.get("winners", 0)) + int(rules.get("reserve", 0))
    order = draw_order(ids, seed, wanted)
    out.add("order", order == draw.get("order"), ", ".join(order))
    rechecks: dict[str, Recheck] = {}
    for row in draw.get("rechecks", []) if isinstance(draw.get("rechecks"), list) else []:
        if isinstance(row, dict) and row.get("entrant") in order:
            rechecks[str(row["entrant"])] = Recheck(
                str(row["entrant"]), bool(row.get("eligible")), str(row.get("reason", ""))
            )
    winners, reserve = split_winners(order, rechecks, int(rules.get("winners", 0)))
    out.winners, out.reserve = winners, reserve
    out.replaced = [{"entrant": r.entrant, "reason": r.reason} for r in rechecks.values() if not r.eligible]
    out.add("winners", winners == draw.get("winners") and reserve == draw.get("reserve"), ", ".join(winners))
    return out


def make_draw(
    rules: dict[str, Any],
    entrants: dict[str, Any],
    beacon: Mapping[str, Any],
    rechecks: Sequence[Recheck],
    drawn_at: dt.datetime,
) -> dict[str, Any]:
    """The draw file (``order`` must come from :func:`draw_order` with the same seed)."""
    ids = list(entrants["entrants"])
    seed = seed_of(entrants["list_sha256"], str(beacon["randomness"]))
    order = draw_order(ids, seed, int(rules["winners"]) + int(rules["reserve"]))
    by_id = {r.entrant: r for r in rechecks}
    winners, reserve = split_winners(order, by_id, int(rules["winners"]))
    return {
        "format": DRAW_FORMAT,
        "procedure": PROCEDURE,
        "rules_sha256": file_hash(rules),
        "list_sha256": entrants["list_sha256"],
        "beacon": dict(beacon),
        "seed": seed,
        "order": order,
        "rechecks": [
            {
                "entrant": e,
                "eligible": by_id.get(e, Recheck(e, True)).eligible,
                "reason": by_id.get(e, Recheck(e, True)).reason,
            }
            for e in order
        ],
        "winners": winners,
        "reserve": reserve,
        "drawn_at": drawn_at.isoformat(),
    }
