"""Library media travel by reference: checking, listing, previewing and saving posts never open a
file (size, type, dimensions and the first bytes were stored at upload); publishing streams it.

Opens are counted by the storage itself (a FileSystemStorage that notes every open), installed
as Django's default storage for these tests.
"""

from __future__ import annotations

import io
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.test import Client
from django.urls import reverse
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.channels.models import Channel
from rupor.core import http
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import EmulatorProcess
from rupor.networks.vk import testing as vk_testing
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning.models import Media, Post, VariantMedia
from rupor.publishing import engine
from rupor.publishing import testing as pt
from rupor.publishing.models import TargetState

pytestmark = pytest.mark.django_db(transaction=True)

VIDEO_BYTES = 30 * 1024 * 1024
PEAK_LIMIT = 6 * 1024 * 1024


class CountingStorage(FileSystemStorage):
    """The file system storage, noting the name of every file it opens."""

    opened: ClassVar[list[str]] = []

    def open(self, name: str, mode: str = "rb") -> File[bytes]:
        CountingStorage.opened.append(name)
        return super().open(name, mode)


@pytest.fixture
def opened(settings: Any, tmp_path: Path) -> list[str]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.CountingStorage"}}
    CountingStorage.opened.clear()
    return CountingStorage.opened


@pytest.fixture(scope="module")
def vk_emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess("vk") as running:
        yield running


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _video_on_disk(path: Path) -> Path:
    with path.open("wb") as out:
        out.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
        block = bytes(range(256)) * 4096
        while out.tell() < VIDEO_BYTES:
            out.write(block[: VIDEO_BYTES - out.tell()])
    return path


def test_lists_checks_previews_and_saves_never_open_a_file_publishing_streams_it(
    opened: list[str], vk_emulator: EmulatorProcess, api_for: Any, tmp_path: Path
) -> None:
    user = accounts.create_user("owner@example.com", "a-long-enough-passphrase-42")
    ws = accounts.create_workspace("Alpha", user)
    owner = accounts.actor_for_user(user, ws)
    assert owner is not None
    access = ChannelAccess(
        "vk", vk_testing.DEMO_REMOTE_ID, vk_testing.demo_credentials(), vk_emulator.url, {"timeout": 30}
    )
    vk = pt.channel(ws, access, name="VK")
    tg = Channel.objects.create(workspace=ws, network="telegram", name="TG", remote_id="@tg")
    with _video_on_disk(tmp_path / "launch.mp4").open("rb") as handle:
        video, _new = media_lib.store_media(owner, "launch.mp4", File(handle))
    photo = media_lib.save_media(owner, "sunrise.png", _png())
    assert video.size == VIDEO_BYTES and bytes(video.head)[4:8] == b"ftyp"
    post = planning.create_post(
        owner,
        planning.PostInput(
            title="Launch",
            text="Launch day",
            variants=(
                planning.VariantInput(vk.pk, media_ids=(video.pk, photo.pk)),
                planning.VariantInput(tg.pk, media_ids=(video.pk,)),
            ),
        ),
    )
    opened.clear()

    # The API's list and one post, with each variant's problems (checked by size and head).
    api = api_for(ws, "owner")
    listing = api.get("/posts")
    assert listing.status_code == 200, listing.content
    [shown] = [p for p in listing.json() if p["id"] == post.pk]
    assert {v["network"]: v["problems"] for v in shown["variants"]} == {"vk": [], "telegram": []}
    assert api.get(f"/posts/{post.pk}").status_code == 200
    assert api.patch(f"/posts/{post.pk}", {"text": "Launch day!"}).status_code == 200

    # The web list, the composer with its previews, its live check and its save.
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = ws.slug
    session.save()
    assert client.get(reverse("web:posts")).status_code == 200
    assert client.get(reverse("web:post_edit", args=[post.pk])).status_code == 200
    check = client.post(
        reverse("web:post_check"),
        {
            "channel": vk.pk,
            "channels": [vk.pk],
            f"variant_text_{vk.pk}": "Launch",
            f"variant_media_{vk.pk}": [video.pk],
            f"variant_media_follows_{vk.pk}": "0",
        },
    )
    assert check.status_code == 200 and "does not look like a video" not in check.content.decode()
    saved = client.post(
        reverse("web:post_edit", args=[post.pk]),
        {
            "title": "Launch",
            "text": "Launch day, again",
            "channels": [vk.pk, tg.pk],
            "media": [video.pk],
            f"variant_media_follows_{vk.pk}": "1",
            f"variant_media_follows_{tg.pk}": "1",
            "action": "save",
        },
    )
    assert saved.status_code == 302, saved.content
    assert Post.objects.get(pk=post.pk).text == "Launch day, again"
    assert opened == [], "nothing but an upload opens a media file"

    # Publishing opens the file once and streams it to the network.
    marker = f"launch-{uuid.uuid4().hex[:8]}"
    target = pt.schedule(vk, marker)
    VariantMedia.objects.create(variant_id=target.variant_id, media=video, position=0)
    assert engine.claim_due_targets("w", 5) == [target.pk]
    tracemalloc.start()
    try:
        state = engine.publish_target(target.pk, "w")
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert state == TargetState.PUBLISHED
    assert opened == [Media.objects.get(pk=video.pk).file.name]
    assert peak < PEAK_LIMIT, f"{peak / 2**20:.1f} MB allocated to publish {VIDEO_BYTES / 2**20:.0f} MB"
    with http.client(base_url=vk_emulator.url, timeout=5) as emulator:
        assert marker in emulator.get("/_emulator/ledger").text
