"""Video publishing on OK: video.getUploadUrl → upload → ``movie`` block in mediatopic.post."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import Capability, Content, Media, MemoryProgress, PublishRequest
from rupor.networks.emulation import RunningEmulator
from rupor.networks.ok import emulator as emu
from rupor.networks.ok import testing, wire
from rupor.networks.ok.adapter import OkAdapter

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * (20 * 1024)
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64
adapter = OkAdapter()


@pytest.fixture(scope="module")
def em():
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


@pytest.fixture
def channel(em):
    return testing.channel_for(em, settings={"timeout": 0.5})


@pytest.fixture(autouse=True)
def _clear_faults(em):
    yield
    with http.client(base_url=em.url, timeout=5) as client:
        client.delete("/_emulator/faults")


def state(em: RunningEmulator) -> emu.OkEmulatorState:
    ok: emu.OkEmulatorState = getattr(em.app, "emulator")  # noqa: B009 - set by create_app
    return ok


def call(em: RunningEmulator, method: str, **params: Any) -> Any:
    signed = wire.signed_params(
        method,
        params,
        application_key=emu.DEMO_APP_KEY,
        application_secret_key=emu.DEMO_APP_SECRET,
        access_token=emu.DEMO_TOKEN,
    )
    with http.client(base_url=em.url, timeout=5) as client:
        return client.post("/fb.do", data=signed).json()


def video(name: str = "clip.mp4", data: bytes = MP4, content_type: str = "video/mp4") -> Media:
    return Media.from_bytes("video", name, content_type, data)


def test_capability_declared():
    assert Capability.PUBLISH_VIDEO in adapter.capabilities


def test_video_topic_end_to_end(em, channel):
    marker = f"video-{uuid.uuid4().hex[:8]}"
    before = state(em).video_uploads
    content = Content(text=marker, media=(Media.from_bytes("photo", "a.jpg", "image/jpeg", JPEG), video()))
    published = adapter.publish(channel, PublishRequest(content, uuid.uuid4().hex), MemoryProgress())
    assert state(em).video_uploads == before + 1
    created = [e for e in state(em).ledger if e["kind"] == "topic_created" and e["text"] == marker]
    assert len(created) == 1
    assert created[0]["media"] == ["text", "photo", "movie"]
    assert len(created[0]["movies"]) == 1
    topic = call(em, "mediatopic.getByIds", topic_ids=published.remote_id)["media_topics"][0]
    movie = next(m for m in topic["media"] if m["type"] == "movie")
    assert movie["movie_refs"] == [f"movie:{created[0]['movies'][0]}"]


def test_resume_after_failed_mediatopic_post_does_not_upload_again(em, channel):
    marker = f"resume-{uuid.uuid4().hex[:8]}"
    request = PublishRequest(Content(text=marker, media=(video(),)), uuid.uuid4().hex)
    progress = MemoryProgress()
    before = state(em).video_uploads
    testing.faults(em, {"queue": [{"kind": "5xx", "method": "mediatopic.post"}]})
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, request, progress)
    assert state(em).video_uploads == before + 1
    assert testing.posts_with(em, marker) == 0
    adapter.publish(channel, request, progress)
    assert state(em).video_uploads == before + 1
    assert testing.posts_with(em, marker) == 1


def test_failed_upload_is_retried_on_the_same_video(em, channel):
    marker = f"reup-{uuid.uuid4().hex[:8]}"
    request = PublishRequest(Content(text=marker, media=(video(),)), uuid.uuid4().hex)
    progress = MemoryProgress()
    created = sum(1 for e in state(em).ledger if e["kind"] == "video_created")
    testing.faults(em, {"queue": [{"kind": "reset", "method": "video.upload"}]})
    with pytest.raises(errors.Transient):
        adapter.publish(channel, request, progress)
    adapter.publish(channel, request, progress)
    assert sum(1 for e in state(em).ledger if e["kind"] == "video_created") == created + 1
    assert testing.posts_with(em, marker) == 1


def test_validate_refuses_wrong_content_types_and_sizes():
    problems = adapter.validate(Content(text="x", media=(video("notes.txt", b"hello" * 5000, "text/plain"),)))
    assert [p.field for p in problems] == ["media[0]"]
    assert problems[0].message == "Odnoklassniki does not accept text/plain as a video."
    tiny = adapter.validate(Content(text="x", media=(video(data=MP4[:1000]),)))
    assert tiny and "16 KB" in tiny[0].message
    fake = adapter.validate(Content(text="x", media=(video(data=JPEG * 400),)))
    assert fake and "does not look like a video" in fake[0].message
    assert adapter.validate(Content(text="x", media=(video(),))) == []


def test_rate_limit_cost_counts_video_upload_url(channel):
    (limit,) = adapter.rate_limits(channel, Content(text="x", media=(video(), video())))
    assert limit.cost == 3


# -- the emulator against the documented protocol ------------------------------------------------
def test_emulator_get_upload_url_errors(em):
    gid = emu.DEMO_GID
    assert (
        call(em, "video.getUploadUrl", gid=gid, file_name="a.mp4", file_size=100)["error_msg"]
        == "PARAM : FileToSmall"
    )
    assert (
        call(em, "video.getUploadUrl", gid=gid, file_name="a.mp4", file_size=2 * 1024**3)["error_msg"]
        == "PARAM : FileToLarge"
    )
    assert (
        call(em, "video.getUploadUrl", gid=gid, file_name="a.txt", file_size=0)["error_msg"]
        == "PARAM : BadFormat"
    )
    assert (
        call(em, "video.getUploadUrl", gid=emu.NO_RIGHTS_GID, file_name="a.mp4")["error_code"]
        == wire.Code.PERMISSION_DENIED
    )


def test_emulator_upload_update_and_movie_attachment(em):
    slot = call(
        em, "video.getUploadUrl", gid=emu.DEMO_GID, file_name="doc.mp4", file_size=len(MP4), post_form="true"
    )
    assert isinstance(slot["video_id"], int) and slot["upload_url"]
    attachment = json.dumps(
        {"media": [{"type": "movie", "list": [{"id": slot["video_id"]}]}], "onBehalfOfGroup": "true"}
    )
    early = call(em, "mediatopic.post", type="GROUP_THEME", gid=emu.DEMO_GID, attachment=attachment)
    assert early["error_code"] == wire.Code.PARAM  # not uploaded yet
    with http.client(timeout=5) as client:
        assert client.post(slot["upload_url"], content=JPEG * 400).json()["error_msg"] == "PARAM : BadFormat"
        assert (
            client.post(slot["upload_url"], files={"data": ("doc.mp4", MP4, "video/mp4")}).status_code == 200
        )
    assert call(em, "video.update", vid=slot["video_id"], title="Doc title", publish="true") == {
        "success": True
    }
    topic_id = call(em, "mediatopic.post", type="GROUP_THEME", gid=emu.DEMO_GID, attachment=attachment)
    assert isinstance(topic_id, str) and topic_id
    unknown = json.dumps({"media": [{"type": "movie", "list": [{"id": 123}]}]})
    assert (
        call(em, "mediatopic.post", type="GROUP_THEME", gid=emu.DEMO_GID, attachment=unknown)["error_code"]
        == wire.Code.PARAM
    )
