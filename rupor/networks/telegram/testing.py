"""Helpers for tests, the offline demo and the shared contract suite (the emulator's port).

A fresh emulator holds the demo bot, the channel ``@rupor_demo`` (bot is an administrator
with ``can_post_messages``) linked to the discussion group ``@rupor_demo_chat``, the channel
``@rupor_other`` where the bot is only a subscriber, and a basic group that was upgraded to a
supergroup (``MIGRATED_GROUP_ID``).
"""

from __future__ import annotations

from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.telegram import emulator as emu_module
from rupor.networks.telegram.emulator import create_app

DEMO_REMOTE_ID = str(emu_module.DEMO_CHANNEL_ID)
DISCUSSION_GROUP_ID = str(emu_module.DISCUSSION_GROUP_ID)
OTHER_CHANNEL_ID = str(emu_module.OTHER_CHANNEL_ID)
MIGRATED_GROUP_ID = str(emu_module.OLD_GROUP_ID)
DEMO_WEBHOOK_SECRET = "rupor-demo-webhook-secret"
COFFEE_TALK_ID = str(emu_module.COFFEE_TALK_ID)
DEMO_BOT_ID = emu_module.DEMO_BOT_ID


def start(**options: Any) -> RunningEmulator:
    """Start a seeded emulator on a free local port (``seed``, ``rate_limits`` and emulator options)."""
    options.setdefault("seed", 0)
    return RunningEmulator(create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {"bot_token": emu_module.DEMO_TOKEN, "webhook_secret": DEMO_WEBHOOK_SECRET}


def channel_for(emulator: RunningEmulator, **overrides: Any) -> ChannelAccess:
    values: dict[str, Any] = {
        "network": "telegram",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {"forward_wait_s": 0.05},
    }
    values.update(overrides)
    return ChannelAccess(**values)


def broken_channel(emulator: RunningEmulator, problem: str) -> ChannelAccess:
    """``bad_token``: a token the server does not know; ``no_rights``: a channel where the bot is not an admin."""
    if problem == "bad_token":
        return channel_for(
            emulator, credentials={"bot_token": "7000000001:AAE-this-token-was-revoked-000000000"}
        )
    if problem == "no_rights":
        return channel_for(emulator, remote_id=OTHER_CHANNEL_ID)
    raise ValueError(f"unknown problem {problem!r}")


def _control(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5.0) as client:
        response = client.post(path, json=body)
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: RunningEmulator, post_remote_id: str, text: str) -> str:
    """A reader comments on a channel post (a reply to its automatic forward); returns the comment id."""
    message_id = int(post_remote_id.split(",")[0])
    answer = _control(emulator, "/_emulator/audience/comment", {"message_id": message_id, "text": text})
    return f"{answer['chat_id']}:{answer['message_id']}"


def audience_edit(emulator: RunningEmulator, comment_remote_id: str, text: str) -> None:
    """The reader edits their comment (``chat:message`` as :func:`audience_comment` returned it)."""
    chat_id, message_id = comment_remote_id.split(":")
    _control(
        emulator,
        "/_emulator/audience/edit",
        {"chat_id": int(chat_id), "message_id": int(message_id), "text": text},
    )


def posts_with(emulator: RunningEmulator, marker: str) -> int:
    """Live channel posts (not discussion-group copies) whose text or caption contains ``marker``."""
    state = _emulator(emulator)
    with state.lock:
        return sum(
            1
            for m in state.messages.values()
            if not m.deleted
            and m.forward_of is None
            and m.by_bot is not None
            and state.chats[m.chat_id].type == "channel"
            and marker
            in str(
                m.payload.get("text")
                or m.payload.get("caption")
                or (m.payload.get("poll") or {}).get("question")
                or ""
            )
        )


def advance(emulator: RunningEmulator, seconds: float) -> None:
    """Move the emulator's clock (engagement, the delete window, flood limits)."""
    _control(emulator, "/_emulator/clock", {"advance_s": seconds})


def _emulator(emulator: RunningEmulator) -> emu_module.Emulator:
    state: emu_module.Emulator = emulator.app.state.emulator  # type: ignore[attr-defined]  # the emulator object the app factory hung on its state
    return state


def group_message(
    emulator: RunningEmulator,
    text: str,
    *,
    chat_id: str = COFFEE_TALK_ID,
    reply_to: int | None = None,
    text_mention: dict[str, int] | None = None,
    user_id: int = 100_000_001,
) -> int:
    """A member writes in a group (by default Coffee Talk, where the bot is a plain member);
    returns the message id."""
    body: dict[str, Any] = {"chat_id": int(chat_id), "text": text, "user_id": user_id}
    if reply_to is not None:
        body["reply_to"] = reply_to
    if text_mention is not None:
        body["text_mention"] = text_mention
    return int(_control(emulator, "/_emulator/group_message", body)["message_id"])


def audience_membership(
    emulator: RunningEmulator, user_id: int, action: str, chat_id: int = emu_module.DEMO_CHANNEL_ID
) -> None:
    """A reader joins (``"join"``) or leaves (``"leave"``) a chat (a ``chat_member`` update)."""
    with http.client(base_url=emulator.url, timeout=10) as client:
        client.post(
            "/_emulator/audience/membership", json={"chat_id": chat_id, "user_id": user_id, "action": action}
        ).raise_for_status()
