"""Test helpers for Bluesky: a seeded emulator and channels pointing at it (used by contract tests)."""

from __future__ import annotations

import json
from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.bluesky import emulator as emu
from rupor.networks.emulation import RunningEmulator

DEMO_REMOTE_ID = emu.DEMO_DID


def start(**options: Any) -> RunningEmulator:
    """Start a seeded Bluesky emulator (the demo account is ready to post)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {"handle": emu.DEMO_HANDLE, "app_password": emu.DEMO_APP_PASSWORD}


def channel_for(emulator: RunningEmulator, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "bluesky",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url + "/",
        "settings": {},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: RunningEmulator, problem: str) -> ChannelAccess:
    """``bad_token``: a revoked app password; ``no_rights``: an account the password is not for."""
    if problem in ("bad_token", "expired_token"):
        return channel_for(
            emulator, credentials={**demo_credentials(), "app_password": "revoked-pass-word-xyz1"}
        )
    if problem == "no_rights":
        return channel_for(emulator, remote_id=emu.LOCKED_DID)
    raise ValueError(f"unknown problem {problem!r}")


def _post(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: RunningEmulator, post_remote_id: str, text: str) -> str:
    """Someone replies to a post; returns the reply's AT URI."""
    return str(_post(emulator, "/_emulator/audience/comment", {"uri": post_remote_id, "text": text})["uri"])


def audience_quote(emulator: RunningEmulator, post_remote_id: str, text: str) -> str:
    return str(_post(emulator, "/_emulator/audience/quote", {"uri": post_remote_id, "text": text})["uri"])


def audience_mention(emulator: RunningEmulator, text: str) -> str:
    """Someone posts naming the demo account (a mention notification)."""
    return str(_post(emulator, "/_emulator/audience/mention", {"text": text})["uri"])


def posts_with(emulator: RunningEmulator, marker: str) -> int:
    """How many live posts of the demo account contain ``marker``."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: RunningEmulator, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def advance_clock(emulator: RunningEmulator, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})


def ledger(emulator: RunningEmulator) -> list[dict[str, Any]]:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/ledger")
        response.raise_for_status()
        return list(response.json())
