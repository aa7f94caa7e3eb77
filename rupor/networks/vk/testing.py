"""Helpers for tests, the offline demo and the shared contract suite (see ``emulator.py``)."""

from __future__ import annotations

from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import emulator as emu

DEMO_REMOTE_ID = str(emu.DEMO_GROUP_ID)
COMPETITOR_HANDLE = "competitor_coffee"
#: Other brands' communities on the emulator: open (with photos, videos and links), closed,
#: private, deleted and blocked.
RIVAL_HANDLE = "bean_brothers"
CLOSED_HANDLE = "closed_coffee_club"
PRIVATE_HANDLE = "private_roasters"
DELETED_HANDLE = "gone_cafe"
BANNED_HANDLE = "banned_brew"


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


def audience_comment(
    emulator: RunningEmulator,
    post_remote_id: str,
    text: str,
    *,
    user_id: int | None = None,
    reply_to: str | None = None,
) -> str:
    """A simulated community member (``user_id``, else the emulator's usual one) comments on a
    post, or replies in the thread of the comment ``reply_to`` (a remote id such as "-1_7");
    returns the comment's remote id."""
    body: dict[str, Any] = {"post": post_remote_id, "text": text}
    if user_id is not None:
        body["user_id"] = user_id
    if reply_to is not None:
        body["reply_to"] = int(reply_to.rsplit("_", 1)[-1])
    return str(_post(emulator, "/_emulator/vk/audience_comment", body)["comment"])


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


def public_post(emulator: RunningEmulator, owner_id: int, text: str, *, ago_s: int = 0) -> str:
    """Someone publishes a public post (``owner_id`` > 0: a user's wall); returns its remote id."""
    return str(
        _post(emulator, "/_emulator/vk/public_post", {"owner_id": owner_id, "text": text, "ago_s": ago_s})[
            "post"
        ]
    )


def chat_message(
    emulator: RunningEmulator, text: str, *, reply_to: int | None = None, user_id: int = 10011
) -> dict[str, Any]:
    """A member writes in the group chat the demo community's bot is in."""
    body: dict[str, Any] = {"text": text, "user_id": user_id}
    if reply_to is not None:
        body["reply_to"] = reply_to
    return _post(emulator, "/_emulator/vk/chat_message", body)


def audience_reaction(
    emulator: RunningEmulator, post_remote_id: str, user_id: int, *, kind: str = "like", undo: bool = False
) -> None:
    """A named person likes (``kind="like"``) or reposts (``"copy"``) a post, or takes it back."""
    _post(
        emulator,
        "/_emulator/vk/audience_reaction",
        {"post": post_remote_id, "user_id": user_id, "type": kind, "undo": undo},
    )


def audience_membership(
    emulator: RunningEmulator, user_id: int, action: str, group_id: int = emu.DEMO_GROUP_ID
) -> None:
    """A person joins (``"join"``) or leaves (``"leave"``) a community."""
    _post(
        emulator,
        "/_emulator/vk/audience_membership",
        {"group_id": group_id, "user_id": user_id, "action": action},
    )
