"""Test helpers for Facebook Pages: a seeded emulator and channels pointing at it (used by the
contract tests, the demo and benchmarks). Pictures for it come from
:class:`rupor.networks.graph.testing.MediaServer`."""

from __future__ import annotations

import json
from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.facebook import emulator as emu

DEMO_REMOTE_ID = emu.DEMO_PAGE_ID


def start(**options: Any) -> RunningEmulator:
    """Start a seeded Facebook Graph API emulator (the demo Page, its admin's user token)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {"user_access_token": emu.DEMO_USER_TOKEN}


def channel_for(emulator: Any, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "facebook",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: Any, problem: str) -> ChannelAccess:
    """``bad_token``: an unknown user token; ``no_rights``: a user whose role on the Page may only
    analyse; ``other_page``: a Page the user has no role on."""
    if problem == "bad_token":
        return channel_for(emulator, credentials={"user_access_token": "EAAR-revoked-" + "x" * 30})
    if problem == "no_rights":
        return channel_for(emulator, credentials={"user_access_token": emu.READ_ONLY_USER_TOKEN})
    if problem == "other_page":
        return channel_for(emulator, remote_id=emu.OTHER_PAGE_ID)
    raise ValueError(f"unknown problem {problem!r}")


def _post(emulator: Any, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: Any, post_remote_id: str, text: str) -> str:
    """Someone comments on a post (or replies to a comment, given its id); returns the comment's id."""
    return str(
        _post(emulator, "/_emulator/audience/comment", {"post_id": post_remote_id, "text": text})["id"]
    )


def posts_with(emulator: Any, marker: str) -> int:
    """How many live posts of the demo Page (published or scheduled) contain ``marker``."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: Any, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def advance_clock(emulator: Any, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})
