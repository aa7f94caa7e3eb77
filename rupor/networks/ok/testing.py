"""Test helpers for OK: a seeded emulator and channels pointing at it (used by contract tests)."""

from __future__ import annotations

import json
from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.ok import emulator as emu

DEMO_REMOTE_ID = emu.DEMO_GID
COMPETITOR_HANDLE = emu.COMPETITOR_SHORTNAME


def start(**options: Any) -> RunningEmulator:
    """Start a seeded OK emulator (the demo group is ready to post to)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {
        "application_key": emu.DEMO_APP_KEY,
        "application_secret_key": emu.DEMO_APP_SECRET,
        "access_token": emu.DEMO_TOKEN,
    }


def channel_for(emulator: RunningEmulator, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "ok",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url + "/",
        "settings": {},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: RunningEmulator, problem: str) -> ChannelAccess:
    """``bad_token``: an unknown token; ``no_rights``: a group the account does not manage."""
    if problem == "bad_token":
        return channel_for(
            emulator, credentials={**demo_credentials(), "access_token": "tkn1revoked" + "x" * 40}
        )
    if problem == "no_rights":
        return channel_for(emulator, remote_id=emu.NO_RIGHTS_GID)
    if problem == "expired_token":
        return channel_for(emulator, credentials={**demo_credentials(), "access_token": emu.EXPIRED_TOKEN})
    if problem == "no_permission":
        return channel_for(emulator, credentials={**demo_credentials(), "access_token": emu.NO_CONTENT_TOKEN})
    raise ValueError(f"unknown problem {problem!r}")


def _post(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: RunningEmulator, post_remote_id: str, text: str) -> str:
    """A simulated group member comments on a topic; returns the comment id."""
    return str(
        _post(emulator, "/_emulator/audience/comment", {"topic_id": post_remote_id, "text": text})["id"]
    )


def posts_with(emulator: RunningEmulator, marker: str) -> int:
    """How many live topics on the emulator contain ``marker`` in their text."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: RunningEmulator, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def advance_clock(emulator: RunningEmulator, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})
