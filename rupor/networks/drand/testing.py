"""Helpers for tests and the offline demo: a running drand emulator and its clock."""

from __future__ import annotations

import datetime as dt

from rupor.core import http
from rupor.networks.drand import emulator as emu
from rupor.networks.emulation import RunningEmulator


def start(seed: str = "rupor") -> RunningEmulator:
    """Start an emulated drand relay serving quicknet's rounds on the emulator's clock."""
    return RunningEmulator(emu.create_app(seed)).start()


def set_clock(emulator: RunningEmulator, when: dt.datetime) -> None:
    """Move the emulator's clock to ``when`` (rounds up to then are emitted)."""
    with http.client(base_url=emulator.url, timeout=10) as client:
        client.post("/_emulator/clock", json={"at": when.timestamp()}).raise_for_status()
