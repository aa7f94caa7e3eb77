"""Test helpers for LinkedIn: a seeded emulator and channels pointing at it (used by contract tests)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.linkedin import emulator as emu
from rupor.networks.linkedin import wire

DEMO_REMOTE_ID = emu.DEMO_ORG
#: When this process's demo tokens count as issued (the same credentials every time it asks).
ISSUED = dt.datetime.now(dt.UTC).replace(microsecond=0)


def start(**options: Any) -> RunningEmulator:
    """Start a seeded LinkedIn emulator (the demo page is ready to post to)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials(now: dt.datetime | None = None) -> dict[str, str]:
    now = now or ISSUED
    return {
        "access_token": emu.DEMO_TOKEN,
        "refresh_token": emu.DEMO_REFRESH,
        "client_id": emu.DEMO_CLIENT_ID,
        "client_secret": emu.DEMO_CLIENT_SECRET,
        "access_token_expires_at": (now + dt.timedelta(seconds=wire.ACCESS_TOKEN_TTL_S)).isoformat(
            timespec="seconds"
        ),
        "refresh_token_expires_at": (now + dt.timedelta(seconds=wire.REFRESH_TOKEN_TTL_S)).isoformat(
            timespec="seconds"
        ),
    }


def channel_for(emulator: Any, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "linkedin",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: Any, problem: str) -> ChannelAccess:
    """``bad_token``: an unknown token; ``no_rights``: a page the member does not administer;
    ``expired_token`` and ``revoked_token``: LinkedIn's two 401s."""
    tokens = {
        "bad_token": "AQVunknown" + "x" * 40,
        "expired_token": emu.EXPIRED_TOKEN,
        "revoked_token": emu.REVOKED_TOKEN,
    }
    if problem in tokens:
        return channel_for(emulator, credentials={**demo_credentials(), "access_token": tokens[problem]})
    if problem == "no_rights":
        return channel_for(emulator, remote_id=emu.NO_RIGHTS_ORG)
    raise ValueError(f"unknown problem {problem!r}")


def _post(emulator: Any, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: Any, post_remote_id: str, text: str) -> str:
    """A simulated LinkedIn member comments on a post; returns the comment id."""
    return str(_post(emulator, "/_emulator/audience/comment", {"post": post_remote_id, "text": text})["id"])


def posts_with(emulator: Any, marker: str) -> int:
    """How many live posts show ``marker`` in their text (as LinkedIn renders the commentary)."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: Any, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def advance_clock(emulator: Any, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})
