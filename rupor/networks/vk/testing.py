"""Helpers for tests, the offline demo and the shared contract suite (see ``emulator.py``)."""

from __future__ import annotations

from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import emulator as emu

DEMO_REMOTE_ID = str(emu.DEMO_GROUP_ID)
COMPETITOR_HANDLE = "competitor_coffee"


def demo_credentials() -> dict[str, str]:
    """Credentials valid in a freshly created emulator (admin user token + community token)."""
    return {
        "user_token": emu.ADMIN_TOKEN,
        "group_token": emu.GROUP_TOKEN,
        "callback_confirmation": emu.CONFIRMATION_CODE,
        "callback_secret": "rupor-demo-secret",
    }


def start(**options: Any) -> RunningEmulator:
    """Start a seeded emulator with the demo community ("Rupor Demo", id 1) ready to post to."""
    return RunningEmulator(emu.create_app(**options)).start()


def channel_for(emulator: RunningEmulator, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "vk",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: RunningEmulator, problem: str) -> ChannelAccess:
    """``bad_token``: both tokens unknown to VK; ``no_rights``: a valid user who is not an admin."""
    creds = demo_credentials()
    if problem == "bad_token":
        creds.update(user_token="vk1.a.revoked-user-token", group_token="vk1.a.revoked-community-token")
    elif problem == "no_rights":
        creds["user_token"] = emu.OUTSIDER_TOKEN
    else:
        raise ValueError(f"unknown problem {problem!r}")
    return channel_for(emulator, credentials=creds)


def _post(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with http.client(base_url=emulator.url, timeout=10) as client:
        answer = client.post(path, json=body)
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data


def audience_comment(emulator: RunningEmulator, post_remote_id: str, text: str) -> str:
    """A simulated community member comments on a post; returns the comment's remote id."""
    return str(
        _post(emulator, "/_emulator/vk/audience_comment", {"post": post_remote_id, "text": text})["comment"]
    )


def audience_change(emulator: RunningEmulator, comment_remote_id: str, action: str, text: str = "") -> None:
    """The comment's author edits (``edit``), deletes (``delete``) or restores (``restore``) it."""
    _post(
        emulator,
        "/_emulator/vk/audience_change",
        {"comment": comment_remote_id, "action": action, "text": text},
    )


def audience_message(emulator: RunningEmulator, text: str) -> str:
    """A simulated member writes to the community; returns the message's remote id."""
    return str(_post(emulator, "/_emulator/vk/audience_message", {"text": text})["message_id"])


def posts_with(emulator: RunningEmulator, marker: str) -> int:
    """How many live (published, not deleted) posts contain ``marker``."""
    with http.client(base_url=emulator.url, timeout=10) as client:
        return int(client.get("/_emulator/vk/posts_with", params={"marker": marker}).json()["count"])


def queue_error(emulator: RunningEmulator, method: str, code: int, count: int = 1) -> None:
    """Make the next ``count`` calls of ``method`` answer VK error ``code`` (e.g. 14 captcha)."""
    _post(emulator, "/_emulator/vk/errors", {"method": method, "code": code, "count": count})


def advance(emulator: RunningEmulator, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})


def faults(emulator: RunningEmulator, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def state(emulator: RunningEmulator) -> emu.VkEmulator:
    """The in-process emulator state behind a :class:`RunningEmulator` (ledger, posts, clock)."""
    vk: emu.VkEmulator = getattr(emulator.app, "emulator")  # noqa: B009 - set by create_app, unknown to ASGIApp
    return vk
