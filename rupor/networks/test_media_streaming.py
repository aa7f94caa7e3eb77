"""Media travel by reference: an adapter uploads a file by streaming it from ``Media.open()``.

Each network's emulator runs as its own process (``EmulatorProcess``), so the memory measured
here is the adapter's alone: the emulator, a server, may read the whole upload, as a real
network's would.
"""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from rupor.core import http
from rupor.networks import registry
from rupor.networks.base import Content, Media, MemoryProgress, PublishRequest
from rupor.networks.emulation import EmulatorProcess
from rupor.networks.ok import testing as ok_testing
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing

TESTING = {"vk": vk_testing, "ok": ok_testing, "telegram": tg_testing}
#: Tens of megabytes (under Telegram's 50 MB for bots), and far more than the peak allowed below.
VIDEO_BYTES = 40 * 1024 * 1024
PEAK_LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module", params=sorted(TESTING))
def emulator(request: pytest.FixtureRequest) -> Iterator[tuple[str, EmulatorProcess]]:
    with EmulatorProcess(request.param) as running:
        yield request.param, running


@pytest.fixture(scope="module")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "big.mp4"
    with path.open("wb") as out:
        out.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
        block = bytes(range(256)) * 4096  # 1 MB that is not all zeros
        while out.tell() < VIDEO_BYTES:
            out.write(block[: VIDEO_BYTES - out.tell()])
    return path


def on_disk(path: Path) -> tuple[Media, list[int]]:
    """A reference to ``path`` and the list of times it was opened."""
    opened: list[int] = []

    def open_file() -> IO[bytes]:
        opened.append(1)
        return path.open("rb")

    with path.open("rb") as handle:
        head = handle.read(256)
    return Media("video", path.name, "video/mp4", path.stat().st_size, open_file, head, 640, 360), opened


def test_a_large_video_is_uploaded_by_streaming_it(emulator, video_file):
    network, running = emulator
    testing = TESTING[network]
    adapter = registry.adapter(network)
    channel = testing.channel_for(running, settings={"timeout": 30})
    media, opened = on_disk(video_file)
    marker = f"stream-{uuid.uuid4().hex[:8]}"
    request = PublishRequest(Content(text=marker, media=(media,)), uuid.uuid4().hex)
    assert adapter.validate(request.content) == []

    tracemalloc.start()
    try:
        adapter.publish(channel, request, MemoryProgress())
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    with http.client(base_url=running.url, timeout=5) as client:
        records = client.get("/_emulator/ledger").text + client.get("/_emulator/state").text
    assert marker in records, "the emulator holds the post"
    assert opened, "the file was uploaded from Media.open()"
    assert peak < PEAK_LIMIT, (
        f"{network}: {peak / 2**20:.1f} MB allocated to upload {VIDEO_BYTES / 2**20:.0f} MB"
    )


def test_alt_text_is_the_variants_own_or_else_the_librarys() -> None:
    import dataclasses

    from rupor.networks.base import Content, Media

    kept = dataclasses.replace(
        Media.from_bytes("photo", "a.png", "image/png", b"\x89PNG"), alt="A shop window"
    )
    bare = Media.from_bytes("photo", "b.png", "image/png", b"\x89PNG")
    content = Content(text="x", media=(kept, bare, kept), options={"alt": ["", "Flowers", "  "]})
    assert [content.alt_text(i) for i in range(3)] == ["A shop window", "Flowers", "A shop window"]
    assert Content(text="x", media=(bare,)).alt_text(0) == ""
    assert Content(text="x").alt_text(5) == ""
