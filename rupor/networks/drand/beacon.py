"""The public randomness beacon drand (https://drand.love), read over its HTTP API.

A giveaway names a *future* round of a drand chain before anyone can know its value; at the
draw Rupor fetches that round and checks it. The facts relied on (docs/networks.md, "drand"):

* ``GET {base}/{chain_hash}/info`` answers the chain's ``public_key``, ``period`` (seconds),
  ``genesis_time`` (unix seconds), ``hash`` (the chain hash itself), ``groupHash``, ``schemeID``
  and ``metadata.beaconID``.
* ``GET {base}/{chain_hash}/public/{round}`` answers ``{"round", "randomness", "signature"}``
  (and ``previous_signature`` on chained schemes) once the round has been emitted; before its
  time relays answer 404 or 425 (Too Early), depending on their version.
* Round ``r`` is emitted at ``genesis_time + (r - 1) * period``; the round current at time ``t``
  is ``(t - genesis_time) // period + 1``.
* ``randomness`` is SHA-256 of the signature bytes. Rupor checks that; it does not check the
  BLS signature itself against the chain's public key (a verifier may, with any BLS12-381
  library: quicknet's scheme is ``bls-unchained-g1-rfc9380``).

The default chain is the League of Entropy's *quicknet* (3-second rounds, unchained).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from rupor.networks import errors, transport

#: The League of Entropy's main relays and the quicknet chain (3 s rounds, unchained, G1 signatures).
DEFAULT_BASE_URL = "https://api.drand.sh"
QUICKNET_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
QUICKNET_GENESIS = 1692803367
QUICKNET_PERIOD = 3
QUICKNET_PUBLIC_KEY = (
    "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d"
    "1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
)
QUICKNET_SCHEME = "bls-unchained-g1-rfc9380"
#: The statuses drand relays answer for a round whose time has not come.
NOT_YET = (404, 425)
_HEX = re.compile(r"^[0-9a-f]+$")


class NotYet(errors.Transient):
    """The round has not been emitted yet (or the relay does not have it yet)."""


class BadBeacon(errors.Rejected):
    """An answer that is not a drand beacon, or whose randomness is not SHA-256 of its signature."""


@dataclass(frozen=True)
class Chain:
    hash: str
    genesis_time: int
    period: int
    public_key: str = ""
    scheme: str = ""

    def round_at(self, when: dt.datetime) -> int:
        """The round current at ``when`` (0 before genesis)."""
        seconds = int(when.timestamp())
        if seconds < self.genesis_time:
            return 0
        return (seconds - self.genesis_time) // self.period + 1

    def time_of(self, round_number: int) -> dt.datetime:
        """When round ``round_number`` is emitted."""
        return dt.datetime.fromtimestamp(self.genesis_time + (round_number - 1) * self.period, dt.UTC)

    def first_round_after(self, when: dt.datetime) -> int:
        """The first round emitted strictly after ``when``: unknowable at ``when``."""
        return self.round_at(when) + 1


QUICKNET = Chain(QUICKNET_HASH, QUICKNET_GENESIS, QUICKNET_PERIOD, QUICKNET_PUBLIC_KEY, QUICKNET_SCHEME)


@dataclass(frozen=True)
class Beacon:
    round: int
    randomness: str  # hex, 32 bytes
    signature: str  # hex


def randomness_of(signature_hex: str) -> str:
    """drand's randomness: SHA-256 of the signature's bytes, in hex."""
    return hashlib.sha256(bytes.fromhex(signature_hex)).hexdigest()


def check_beacon(raw: Any, round_number: int) -> Beacon:
    """The beacon in a ``/public/{round}`` answer, checked: the round asked, hex fields, and
    randomness = SHA-256(signature). Raises :class:`BadBeacon` otherwise."""
    if not isinstance(raw, dict):
        raise BadBeacon("drand answered something that is not a beacon")
    signature = str(raw.get("signature", "")).lower()
    randomness = str(raw.get("randomness", "")).lower()
    if raw.get("round") != round_number:
        raise BadBeacon(f"drand answered round {raw.get('round')!r}, not {round_number}")
    if not signature or not _HEX.match(signature) or len(signature) % 2:
        raise BadBeacon("the beacon's signature is not hexadecimal")
    if randomness != randomness_of(signature):
        raise BadBeacon("the beacon's randomness is not SHA-256 of its signature")
    return Beacon(round_number, randomness, signature)


def _get(url: str, what: str) -> Any:
    answer = transport.send("drand", "GET", url, creates=False, what=what, timeout=10.0)
    if answer.status_code in NOT_YET:
        raise NotYet(f"drand has no {what} yet (HTTP {answer.status_code})")
    failure = transport.status_error(answer, network="drand", creates=False, excerpt=answer.text[:200])
    if failure is not None:
        raise failure
    try:
        return answer.json()
    except ValueError as exc:
        raise BadBeacon(f"drand's {what} is not JSON") from exc


def chain_info(base_url: str, chain_hash: str) -> Chain:
    """The chain's parameters from ``/{chain_hash}/info``, checked to be the chain asked for."""
    raw = _get(f"{base_url.rstrip('/')}/{chain_hash}/info", "chain info")
    if not isinstance(raw, dict) or raw.get("hash") != chain_hash:
        raise BadBeacon("drand's chain info names another chain")
    try:
        return Chain(
            chain_hash,
            int(raw["genesis_time"]),
            int(raw["period"]),
            str(raw.get("public_key", "")),
            str(raw.get("schemeID", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadBeacon("drand's chain info lacks genesis_time or period") from exc


def fetch_round(base_url: str, chain_hash: str, round_number: int) -> Beacon:
    """Round ``round_number`` of the chain, checked (:func:`check_beacon`); :class:`NotYet`
    before it is emitted."""
    raw = _get(f"{base_url.rstrip('/')}/{chain_hash}/public/{round_number}", f"round {round_number}")
    return check_beacon(raw, round_number)
