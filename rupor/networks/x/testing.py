"""Test helpers for X: a seeded emulator and channels pointing at it (used by contract tests)."""

from __future__ import annotations

import json
from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.x import emulator as emu

DEMO_REMOTE_ID = emu.DEMO_USER_ID
COMPETITOR_HANDLE = emu.COMPETITOR_USERNAME


def start(**options: Any) -> RunningEmulator:
    """Start a seeded X emulator (the demo account is ready to post)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {
        "client_id": emu.DEMO_CLIENT_ID,
        "access_token": emu.DEMO_ACCESS_TOKEN,
        "refresh_token": emu.DEMO_REFRESH_TOKEN,
    }


def channel_for(emulator: Any, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "x",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {"username": emu.DEMO_USERNAME},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: Any, problem: str) -> ChannelAccess:
    """``bad_token``: an unknown token, no refresh token; ``no_rights``: another account's id;
    ``read_only``: a token without tweet.write; ``free_tier``: an app on the Free tier;
    ``expired_token``: an expired access token with a working refresh token."""
    creds = demo_credentials()
    if problem == "bad_token":
        return channel_for(
            emulator, credentials={"client_id": emu.DEMO_CLIENT_ID, "access_token": "revoked" + "x" * 40}
        )
    if problem == "no_rights":
        return channel_for(emulator, remote_id=emu.COMPETITOR_ID)
    if problem == "read_only":
        return channel_for(
            emulator, credentials={"client_id": emu.DEMO_CLIENT_ID, "access_token": emu.READ_ONLY_TOKEN}
        )
    if problem == "free_tier":
        return channel_for(
            emulator, credentials={"client_id": emu.FREE_CLIENT_ID, "access_token": emu.FREE_ACCESS_TOKEN}
        )
    if problem == "expired_token":
        return channel_for(emulator, credentials={**creds, "access_token": emu.EXPIRED_TOKEN})
    raise ValueError(f"unknown problem {problem!r}")


def _post(emulator: Any, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: Any, post_remote_id: str, text: str) -> str:
    """A follower replies to a post; returns the reply's id."""
    return str(_post(emulator, "/_emulator/audience/reply", {"tweet_id": post_remote_id, "text": text})["id"])


def audience_mention(emulator: Any, text: str) -> str:
    """A follower mentions the demo account in a post of their own; returns its id."""
    return str(_post(emulator, "/_emulator/audience/mention", {"text": text})["id"])


def posts_with(emulator: Any, marker: str) -> int:
    """How many live posts of the demo account contain ``marker``."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: Any, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def advance_clock(emulator: Any, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})
