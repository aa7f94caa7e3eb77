"""Video publishing on VK: video.save → upload → ``video{owner}_{id}`` in wall.post."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import Capability, Content, Media, MemoryProgress, PublishRequest
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing
from rupor.networks.vk.adapter import VkAdapter

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2048
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
adapter = VkAdapter()


@pytest.fixture(scope="module")
def vk():
    running = testing.start(rate_limits=False)
    yield running
    testing.state(running).stop()
    running.stop()


@pytest.fixture
def channel(vk):
    return testing.channel_for(vk, settings={"pace": False, "timeout": 0.5})


@pytest.fixture(autouse=True)
def _clear_faults(vk):
    yield
    with http.client(base_url=vk.url, timeout=5) as client:
        client.delete("/_emulator/faults")


def call(vk: RunningEmulator, method: str, token: str = emu.ADMIN_TOKEN, **params: Any) -> dict[str, Any]:
    data = {"v": "5.199", "access_token": token, **{k: str(v) for k, v in params.items()}}
    with http.client(base_url=vk.url, timeout=5) as client:
        answer: dict[str, Any] = client.post(f"/method/{method}", data=data).json()
        return answer


def video(name: str = "clip.mp4", data: bytes = MP4, content_type: str = "video/mp4") -> Media:
    return Media.from_bytes("video", name, content_type, data)


def uploads(vk) -> int:
    return testing.state(vk).video_uploads


def test_capability_declared():
    assert Capability.PUBLISH_VIDEO in adapter.capabilities


def test_video_post_end_to_end(vk, channel):
    marker = f"video-{uuid.uuid4().hex[:8]}"
    before = uploads(vk)
    content = Content(text=marker, media=(video(), Media.from_bytes("photo", "a.png", "image/png", PNG)))
    published = adapter.publish(channel, PublishRequest(content, uuid.uuid4().hex), MemoryProgress())
    assert uploads(vk) == before + 1
    created = [e for e in testing.state(vk).ledger if e["kind"] == "post_created" and e["text"] == marker]
    assert len(created) == 1
    assert created[0]["attachments"][0].startswith("video-1_")
    assert created[0]["attachments"][1].startswith("photo-1_")
    # wall.get shows the video as a video attachment, the way VK does
    item = call(vk, "wall.getById", posts=published.remote_id)["response"]["items"][0]
    kinds = [a["type"] for a in item["attachments"]]
    assert kinds == ["video", "photo"]
    shown = item["attachments"][0]["video"]
    assert shown["owner_id"] == -1 and shown["title"] == "clip"
    assert adapter.find_published(channel, PublishRequest(content, "other")) is not None


def test_resume_after_failed_wall_post_does_not_upload_again(vk, channel):
    marker = f"resume-{uuid.uuid4().hex[:8]}"
    request = PublishRequest(Content(text=marker, media=(video(),)), uuid.uuid4().hex)
    progress = MemoryProgress()
    before = uploads(vk)
    testing.faults(vk, {"queue": [{"kind": "5xx", "method": "wall.post"}]})
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, request, progress)
    assert uploads(vk) == before + 1
    assert testing.posts_with(vk, marker) == 0
    adapter.publish(channel, request, progress)
    assert uploads(vk) == before + 1
    assert testing.posts_with(vk, marker) == 1


def test_failed_upload_is_retried_on_the_same_video(vk, channel):
    marker = f"reup-{uuid.uuid4().hex[:8]}"
    request = PublishRequest(Content(text=marker, media=(video(),)), uuid.uuid4().hex)
    progress = MemoryProgress()
    saved = sum(1 for e in testing.state(vk).ledger if e["kind"] == "video_saved")
    testing.faults(vk, {"queue": [{"kind": "5xx", "method": "video.upload"}]})
    with pytest.raises(errors.Transient):
        adapter.publish(channel, request, progress)
    adapter.publish(channel, request, progress)
    assert sum(1 for e in testing.state(vk).ledger if e["kind"] == "video_saved") == saved + 1
    assert testing.posts_with(vk, marker) == 1


def test_validate_refuses_wrong_content_types():
    problems = adapter.validate(Content(text="x", media=(video("notes.txt", b"hello", "text/plain"),)))
    assert [p.field for p in problems] == ["media[0]"]
    assert problems[0].message == "VKontakte does not accept text/plain as a video."
    fake = adapter.validate(Content(text="x", media=(video("fake.mp4", PNG),)))
    assert fake and "does not look like a video" in fake[0].message
    doc = adapter.validate(
        Content(text="x", media=(Media.from_bytes("document", "a.pdf", "application/pdf", b"%PDF"),))
    )
    assert doc and "photos and videos" in doc[0].message
    assert adapter.validate(Content(text="x", media=(video(),))) == []
    assert len(adapter.validate(Content(text="x", media=tuple(video() for _ in range(11))))) == 1


def test_rate_limit_cost_counts_video_save(channel):
    (limit,) = adapter.rate_limits(channel, Content(text="x", media=(video(), video())))
    assert limit.cost == 3  # two video.save + wall.post
    (limit,) = adapter.rate_limits(
        channel, Content(text="x", media=(video(), Media.from_bytes("photo", "a.png", "image/png", PNG)))
    )
    assert limit.cost == 4  # video.save + getWallUploadServer + saveWallPhoto + wall.post


# -- the emulator against the documented protocol ------------------------------------------------
def _upload(url: str, field: str, data: bytes) -> dict[str, Any]:
    with http.client(timeout=5) as client:
        answer: dict[str, Any] = client.post(url, files={field: ("v.mp4", data, "video/mp4")}).json()
        return answer


def test_emulator_video_save_upload_attach(vk):
    saved = call(vk, "video.save", group_id=1, name="Doc video", description="d", wallpost=0)["response"]
    assert {"upload_url", "video_id", "owner_id", "title", "description"} <= saved.keys()
    assert saved["owner_id"] == -1
    answer = _upload(saved["upload_url"], "video_file", MP4)
    assert answer["video_id"] == saved["video_id"] and answer["owner_id"] == -1 and answer["size"] == len(MP4)
    assert answer["video_hash"]
    post = call(vk, "wall.post", owner_id=-1, from_group=1, attachments=f"video-1_{saved['video_id']}")[
        "response"
    ]
    assert post["post_id"]


def test_emulator_video_rules(vk):
    assert call(vk, "video.save", token=emu.GROUP_TOKEN, group_id=1)["error"]["error_code"] == 27
    assert call(vk, "video.save", group_id=0)["error"]["error_code"] == 100  # minimum 1 in the schema
    assert call(vk, "video.save", token=emu.OUTSIDER_TOKEN, group_id=1)["error"]["error_code"] == 204
    bad = call(vk, "wall.post", owner_id=-1, from_group=1, message="x", attachments="video-1_999999")
    assert bad["error"]["error_code"] == 100
    saved = call(vk, "video.save", group_id=1, name="n")["response"]
    assert "error" in _upload(saved["upload_url"], "video_file", PNG)
    assert "error" in _upload(saved["upload_url"], "file", MP4)
    assert "error" in _upload(saved["upload_url"].replace("sig=", "sig=x"), "video_file", MP4)


def test_emulator_wallpost_flag_posts_the_video(vk):
    saved = call(vk, "video.save", group_id=1, name="auto", description="auto-posted video", wallpost=1)[
        "response"
    ]
    _upload(saved["upload_url"], "video_file", MP4)
    assert testing.posts_with(vk, "auto-posted video") == 1
