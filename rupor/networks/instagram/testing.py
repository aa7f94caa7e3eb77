"""Test helpers for Instagram: a seeded emulated Graph API, channels pointing at it, and pictures
served by URL the way Rupor's media links serve them (used by the contract tests, the chaos test,
the demo and benchmarks)."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image

from rupor.core import http
from rupor.networks.base import ChannelAccess, Content, Media
from rupor.networks.emulation import RunningEmulator
from rupor.networks.graph.testing import MediaServer
from rupor.networks.instagram import emulator as emu

DEMO_REMOTE_ID = emu.DEMO_USER_ID


def start(**options: Any) -> RunningEmulator:
    """Start a seeded Instagram emulator (the demo account may publish, comment and read insights)."""
    options.setdefault("seed", 0)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {"access_token": emu.DEMO_TOKEN}


def channel_for(emulator: RunningEmulator, **overrides: Any) -> ChannelAccess:
    fields: dict[str, Any] = {
        "network": "instagram",
        "remote_id": DEMO_REMOTE_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
        "settings": {"processing_wait_s": 0.5},
    }
    fields.update(overrides)
    return ChannelAccess(**fields)


def broken_channel(emulator: RunningEmulator, problem: str) -> ChannelAccess:
    """``bad_token``: an unknown or revoked token; ``no_rights``: a token without instagram_content_publish."""
    if problem == "bad_token":
        return channel_for(emulator, credentials={"access_token": "EAAGrevokedInstagramToken" + "x" * 24})
    if problem == "no_rights":
        return channel_for(emulator, credentials={"access_token": emu.READ_ONLY_TOKEN})
    raise ValueError(f"unknown problem {problem!r}")


def picture(width: int = 1080, height: int = 1080, fmt: str = "JPEG") -> bytes:
    """A real picture of that size (JPEG unless ``fmt`` says PNG or WEBP)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, fmt)
    return out.getvalue()


#: The file server the contract suite's posts take their picture from (started on first use).
_server: MediaServer | None = None


def media_server() -> MediaServer:
    global _server
    if _server is None:
        _server = MediaServer().start()
    return _server


def photo(width: int = 1080, height: int = 1080, fmt: str = "JPEG", **facts: Any) -> Media:
    """A picture served by URL, as a :class:`Media` whose ``link`` gives its address."""
    kind = fmt.lower()
    return media_server().media(
        picture(width, height, fmt), f"photo.{kind}", f"image/{kind}", width=width, height=height, **facts
    )


#: The first bytes of an MP4 file: enough for Meta's (and the emulator's) format check.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 1000


def video() -> Media:
    return media_server().media(MP4, "clip.mp4", "video/mp4", kind="video")


def content_for(text: str) -> Content:
    """What the shared contract suite publishes here: Instagram has no text-only posts."""
    return Content(text=text, media=(photo(),))


def _post(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.post(path, content=json.dumps(body))
        response.raise_for_status()
        return response.json()


def audience_comment(
    emulator: RunningEmulator, post_remote_id: str, text: str, reply_to: str | None = None
) -> str:
    """Someone comments on a post (or replies to a comment); returns the comment's id."""
    body = {"media_id": post_remote_id, "text": text, "reply_to": reply_to}
    return str(_post(emulator, "/_emulator/audience/comment", body)["id"])


def posts_with(emulator: RunningEmulator, marker: str) -> int:
    """How many published posts of the demo account have ``marker`` in their caption."""
    with http.client(base_url=emulator.url, timeout=5) as client:
        response = client.get("/_emulator/posts_with", params={"marker": marker})
        response.raise_for_status()
        return int(response.json()["count"])


def faults(emulator: RunningEmulator, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def set_quota(emulator: RunningEmulator, total: int) -> None:
    """Change the account's publishing quota (``config.quota_total``), as Meta has over the years."""
    _post(emulator, "/_emulator/quota", {"quota_total": total})


def advance_clock(emulator: RunningEmulator, seconds: float) -> None:
    _post(emulator, "/_emulator/clock", {"advance_s": seconds})
