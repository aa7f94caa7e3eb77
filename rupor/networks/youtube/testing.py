"""Test helpers for YouTube: a seeded emulator and channels pointing at it (used by the contract
tests, the chaos test, the demo and benchmarks)."""

from __future__ import annotations

import json
from typing import Any

from rupor.core import http
from rupor.networks.base import ChannelAccess, Content, Media
from rupor.networks.emulation import RunningEmulator
from rupor.networks.youtube import emulator as emu

DEMO_REMOTE_ID = emu.DEMO_CHANNEL_ID
#: The first bytes of an MP4 (an ISO BMFF ``ftyp`` box): enough for a file to look like a video.
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def start(**options: Any) -> RunningEmulator:
    """Start a seeded YouTube emulator (the demo channel is ready to upload)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {
        "client_id": emu.DEMO_CLIENT_ID,
        "client_secret": emu.DEMO_CLIENT_SECRET,
        "refresh_token": emu.DEMO_REFRESH_TOKEN,
        "access_token": emu.DEMO_ACCESS_TOKEN,
    }


def channel_for(emulator: Any, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "youtube",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: Any, problem: str) -> ChannelAccess:
    """``bad_token``: a revoked token and no refresh token; ``no_rights``: a Google account
    without a YouTube channel; ``read_only``: a token with youtube.readonly only;
    ``expired_token``: an expired access token with a working refresh token."""
    creds = demo_credentials()
    # An access token alone (no refresh token): what it may do is all there is.
    revoked = {"client_id": emu.DEMO_CLIENT_ID}
    if problem == "bad_token":
        return channel_for(emulator, credentials={**revoked, "access_token": "ya29.revoked" + "x" * 30})
    if problem == "no_rights":
        return channel_for(emulator, credentials={**revoked, "access_token": emu.NO_CHANNEL_TOKEN})
    if problem == "read_only":
        return channel_for(emulator, credentials={**revoked, "access_token": emu.READ_ONLY_TOKEN})
    if problem == "expired_token":
        return channel_for(emulator, credentials={**creds, "access_token": emu.EXPIRED_TOKEN})
    raise ValueError(f"unknown problem {problem!r}")


def video_bytes(size: int = 64 * 1024) -> bytes:
    """A small file that looks like an MP4."""
    return (MP4_HEAD + bytes(range(256)) * (size // 256 + 1))[:size]


def video(size: int = 64 * 1024, name: str = "clip.mp4") -> Media:
    return Media.from_bytes("video", name, "video/mp4", video_bytes(size))


def content_for(text: str, **options: Any) -> Content:
    """What the shared contract publishes here: a small video titled by ``options`` (default
    "Contract video"), described by ``text``."""
    return Content(text=text, media=(video(),), options={"title": "Contract video", **options})


def _post(emulator: Any, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(emulator: Any, post_remote_id: str, text: str) -> str:
    """A viewer comments on a video; returns the comment's id."""
    return str(
        _post(emulator, "/_emulator/audience/comment", {"video_id": post_remote_id, "text": text})["id"]
    )


def audience_reply(emulator: Any, comment_id: str, text: str) -> str:
    """A viewer replies to a top-level comment; returns the reply's id."""
    return str(_post(emulator, "/_emulator/audience/reply", {"comment_id": comment_id, "text": text})["id"])


def set_counts(emulator: Any, video_id: str, *, views: int, likes: int) -> None:
    _post(emulator, "/_emulator/views", {"video_id": video_id, "views": views, "likes": likes})


def posts_with(emulator: Any, marker: str) -> int:
    """How many videos of the demo channel have ``marker`` in their title or description."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: Any, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def ledger(emulator: Any) -> list[dict[str, Any]]:
    with http.client(base_url=emulator.url, timeout=5) as client:
        answer: list[dict[str, Any]] = client.get("/_emulator/ledger").json()
        return answer


def advance_clock(emulator: Any, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})
