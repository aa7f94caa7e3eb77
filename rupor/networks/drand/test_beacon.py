"""The drand client against the emulated relay: chain info, round arithmetic, a future round
refused, a past one checked (randomness = SHA-256(signature)), a forged one refused."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.networks.drand import beacon
from rupor.networks.drand import testing as drand_testing


@pytest.fixture(scope="module")
def relay():
    emulator = drand_testing.start()
    yield emulator
    emulator.stop()


def test_round_arithmetic_matches_quicknet():
    chain = beacon.QUICKNET
    assert chain.round_at(dt.datetime.fromtimestamp(beacon.QUICKNET_GENESIS, dt.UTC)) == 1
    assert chain.round_at(dt.datetime.fromtimestamp(beacon.QUICKNET_GENESIS + 2, dt.UTC)) == 1
    assert chain.round_at(dt.datetime.fromtimestamp(beacon.QUICKNET_GENESIS + 3, dt.UTC)) == 2
    assert chain.time_of(1001).timestamp() == beacon.QUICKNET_GENESIS + 3000
    when = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    after = chain.first_round_after(when)
    assert chain.time_of(after) > when >= chain.time_of(after - 1)


def test_info_and_rounds_from_the_relay(relay):
    chain = beacon.chain_info(relay.url, beacon.QUICKNET_HASH)
    assert (chain.genesis_time, chain.period, chain.scheme) == (
        beacon.QUICKNET_GENESIS,
        3,
        "bls-unchained-g1-rfc9380",
    )
    now = dt.datetime.now(dt.UTC)
    drand_testing.set_clock(relay, now)
    current = chain.round_at(now)
    value = beacon.fetch_round(relay.url, beacon.QUICKNET_HASH, current - 5)
    assert value.round == current - 5 and value.randomness == beacon.randomness_of(value.signature)
    with pytest.raises(beacon.NotYet):
        beacon.fetch_round(relay.url, beacon.QUICKNET_HASH, current + 100)
    # The clock moves on: the round is emitted, the same value as anyone else gets.
    drand_testing.set_clock(relay, now + dt.timedelta(seconds=400))
    later = beacon.fetch_round(relay.url, beacon.QUICKNET_HASH, current + 100)
    assert later == beacon.fetch_round(relay.url, beacon.QUICKNET_HASH, current + 100)


def test_a_beacon_whose_randomness_is_not_the_hash_of_its_signature_is_refused():
    good = {"round": 7, "signature": "ab" * 48, "randomness": beacon.randomness_of("ab" * 48)}
    assert beacon.check_beacon(good, 7).round == 7
    with pytest.raises(beacon.BadBeacon):
        beacon.check_beacon({**good, "randomness": "00" * 32}, 7)
    with pytest.raises(beacon.BadBeacon):
        beacon.check_beacon(good, 8)
