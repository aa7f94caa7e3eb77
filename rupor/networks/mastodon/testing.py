"""Test helpers for Mastodon: a seeded emulated instance and channels pointing at it (used by the
contract tests, the demo and benchmarks)."""

from __future__ import annotations

import json
from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.mastodon import emulator as emu

DEMO_REMOTE_ID = emu.DEMO_ACCOUNT_ID


def start(**options: Any) -> RunningEmulator:
    """Start a seeded Mastodon emulator (the demo account is ready to post)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {"access_token": emu.DEMO_TOKEN}


def channel_for(emulator: RunningEmulator, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "mastodon",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: RunningEmulator, problem: str) -> ChannelAccess:
    """``bad_token``: an unknown or revoked token; ``no_rights``: a token that may only read."""
    if problem == "bad_token":
        return channel_for(emulator, credentials={"access_token": "revoked-mastodon-token-" + "x" * 24})
    if problem == "no_rights":
        return channel_for(emulator, credentials={"access_token": emu.READ_ONLY_TOKEN})
    raise ValueError(f"unknown problem {problem!r}")


def _post(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: RunningEmulator, post_remote_id: str, text: str) -> str:
    """Someone replies to a status; returns the reply's id."""
    return str(
        _post(emulator, "/_emulator/audience/reply", {"status_id": post_remote_id, "text": text})["id"]
    )


def audience_mention(emulator: RunningEmulator, text: str) -> str:
    """Someone mentions the demo account in a public status of their own."""
    return str(_post(emulator, "/_emulator/audience/mention", {"text": text})["id"])


def audience_direct(emulator: RunningEmulator, text: str) -> str:
    """Someone writes the demo account a direct (private mention) status."""
    return str(_post(emulator, "/_emulator/audience/direct", {"text": text})["id"])


def posts_with(emulator: RunningEmulator, marker: str) -> int:
    """How many live statuses (and scheduled ones) of the demo account contain ``marker``."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: RunningEmulator, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def advance_clock(emulator: RunningEmulator, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})
