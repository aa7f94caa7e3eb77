"""The YouTube adapter against its emulator over real HTTP: resumable uploads that resume instead of
starting a second video, metadata, thumbnail and playlist, quota refusals, comments, metrics."""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from rupor.core import http
from rupor.networks import errors, registry
from rupor.networks.base import Content, Media, MemoryProgress, PublishRequest
from rupor.networks.emulation import RunningEmulator
from rupor.networks.youtube import emulator as emu
from rupor.networks.youtube import testing, wire
from rupor.networks.youtube.adapter import PIECE_BYTES, YouTubeAdapter, error_for

CHUNKS = 3
TOTAL = wire.CHUNK_BYTES * (CHUNKS - 1) + 12345


@pytest.fixture(autouse=True)
def _own_quota_ledger(settings: Any, tmp_path: Path) -> None:
    settings.RUPOR_HOME = str(tmp_path)


@pytest.fixture
def yt() -> Iterator[RunningEmulator]:
    running = testing.start()
    try:
        yield running
    finally:
        running.stop()


def adapter() -> YouTubeAdapter:
    found = registry.adapter("youtube")
    assert isinstance(found, YouTubeAdapter)
    return found


def _fault(running: RunningEmulator, spec: dict[str, Any]) -> None:
    with http.client(base_url=running.url, timeout=5) as c:
        c.post("/_emulator/faults", json=spec).raise_for_status()


class _Reader(io.RawIOBase):
    """A video file on disk that counts the bytes read and can call ``on_read(n)`` before its
    ``n``-th read (to inject a fault while the upload is under way)."""

    def __init__(self, path: Path, on_read: Any = None) -> None:
        self._file = path.open("rb")
        self.reads = 0
        self.bytes = 0
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self._on_read is not None:
            self._on_read(self.reads)
        data = self._file.read(size)
        self.bytes += len(data)
        return data

    def close(self) -> None:
        self._file.close()
        super().close()


def _video_file(tmp_path: Path, size: int = TOTAL) -> Path:
    path = tmp_path / "long.mp4"
    with path.open("wb") as out:
        out.write(testing.video_bytes(min(size, 4096)))
        out.truncate(size)
    return path


def _video_media(path: Path, readers: list[_Reader], on_read: Any = None) -> Media:
    def opener() -> IO[bytes]:
        reader = _Reader(path, on_read)
        readers.append(reader)
        return reader  # type: ignore[return-value]  # a RawIOBase is the binary file object Media.open promises

    return Media("video", "long.mp4", "video/mp4", path.stat().st_size, opener, path.read_bytes()[:256])


def _request(media: tuple[Media, ...], text: str = "", **options: Any) -> PublishRequest:
    return PublishRequest(
        Content(text=text or f"Launch {uuid.uuid4().hex[:8]}\nAll about it", media=media, options=options),
        uuid.uuid4().hex,
    )


def test_a_failure_in_the_middle_resumes_from_the_acknowledged_byte_with_one_video(yt, tmp_path) -> None:
    path = _video_file(tmp_path)
    readers: list[_Reader] = []

    def fail_second_chunk(read: int) -> None:
        if read == wire.CHUNK_BYTES // PIECE_BYTES + 1 and len(readers) == 1:  # chunk 2's first piece
            # The second chunk reaches YouTube, then the connection dies before the answer.
            _fault(yt, {"queue": [{"kind": "reset_after", "method": "videos.insert", "count": 1}]})

    media = _video_media(path, readers, fail_second_chunk)
    request = _request((media,), text="Resumed launch\nA long video")
    progress = MemoryProgress()
    channel = testing.channel_for(yt)
    with pytest.raises(errors.Transient):  # an earlier chunk made nothing: safe to go on later
        adapter().publish(channel, request, progress)
    session = progress["upload_session"]
    assert session["total"] == TOTAL and "upload_id=" in session["uri"]
    published = adapter().publish(channel, request, progress)
    # The second attempt asked the session (bytes */TOTAL), which held two chunks, and sent the rest.
    assert readers[1].bytes == TOTAL - 2 * wire.CHUNK_BYTES
    assert testing.posts_with(yt, "Resumed launch") == 1
    created = [e for e in testing.ledger(yt) if e["kind"] == "video_created"]
    assert [e["id"] for e in created] == [published.remote_id]
    assert created[0]["bytes"] == TOTAL
    assert [e["kind"] for e in testing.ledger(yt)].count("upload_session") == 1


def test_a_lost_answer_to_the_last_chunk_is_unknown_and_the_session_says_it_is_done(yt, tmp_path) -> None:
    request = _request((testing.video(),), text="Last chunk\nLost answer")
    progress = MemoryProgress()
    channel = dataclasses.replace(testing.channel_for(yt), settings={"timeout": 0.5})
    _fault(yt, {"hang_s": 2, "queue": [{"kind": "timeout_after", "method": "videos.insert", "count": 1}]})
    with pytest.raises(errors.UnknownOutcome):
        adapter().publish(channel, request, progress)
    again = adapter().publish(testing.channel_for(yt), request, progress)
    assert testing.posts_with(yt, "Last chunk") == 1
    assert again.remote_id in yt.app.emulator.videos
    # Without the session (progress lost), the video is found by its title and description.
    found = adapter().find_published(testing.channel_for(yt), request)
    assert found is not None and found.remote_id == again.remote_id


def test_metadata_thumbnail_playlist_and_scheduling(yt) -> None:
    picture = Media.from_bytes("photo", "thumb.jpg", "image/jpeg", b"\xff\xd8\xff" + b"0" * 2000, 1280, 720)
    request = _request(
        (testing.video(), picture),
        text="Line one is not the title\nBody text",
        title="Own title",
        tags="rupor, #launch, how to",
        privacy="unlisted",
        playlist="PLrupor0demo0launches",
        publish_at="2099-03-01T09:00:00Z",
    )
    published = adapter().publish(testing.channel_for(yt), request, MemoryProgress())
    video = yt.app.emulator.videos[published.remote_id]
    assert video.snippet["title"] == "Own title"
    assert video.snippet["description"] == "Line one is not the title\nBody text"
    assert video.snippet["tags"] == ["rupor", "launch", "how to"]
    # A publishing time makes it private until YouTube publishes it then.
    assert video.status["privacyStatus"] == "private" and video.status["publishAt"] == "2099-03-01T09:00:00Z"
    assert video.thumbnail
    assert [i.video_id for i in yt.app.emulator.playlist_items.values()] == [published.remote_id]
    assert "thumbnail set" in published.excerpt and published.url == wire.watch_url(published.remote_id)


def test_a_refused_thumbnail_does_not_fail_a_published_video(yt) -> None:
    big = Media.from_bytes("photo", "big.png", "image/png", b"\x89PNG" + b"0" * 100)
    request = _request((testing.video(), big), playlist="PLnot-there")
    published = adapter().publish(testing.channel_for(yt), request, MemoryProgress())
    assert published.remote_id in yt.app.emulator.videos
    assert "playlist refused" in published.excerpt


def test_validation_in_youtube_terms() -> None:
    a = adapter()
    fields = lambda content: [p.field for p in a.validate(content)]  # noqa: E731 - a short local helper
    video = testing.video()
    assert fields(Content(text="Title\nText", media=(video,))) == []
    assert "media" in fields(Content(text="Title only"))
    assert "title" in fields(Content(text="T" * 101, media=(video,)))
    assert "title" in fields(Content(text="A <b> title", media=(video,)))
    assert "text" in fields(Content(text="T\n" + "я" * 2501, media=(video,)))  # 5,002 bytes
    assert "tags" in fields(Content(text="T", media=(video,), options={"tags": ["x" * 60] * 9}))
    assert "privacy" in fields(Content(text="T", media=(video,), options={"privacy": "friends"}))
    assert "publish_at" in fields(Content(text="T", media=(video,), options={"publish_at": "soon"}))
    two = (video, testing.video(name="b.mp4"))
    assert "media" in fields(Content(text="T", media=two))


def test_quota_refuses_a_publish_before_the_day_would_be_exceeded(yt) -> None:
    channel = dataclasses.replace(testing.channel_for(yt), settings={"quota_uploads_per_day": 1})
    adapter().publish(channel, _request((testing.video(),), text="First of the day"), MemoryProgress())
    with pytest.raises(errors.RateLimited) as refused:
        adapter().publish(channel, _request((testing.video(),), text="Second of the day"), MemoryProgress())
    assert "midnight Pacific time" in refused.value.message
    assert refused.value.retry_after is not None and 0 < refused.value.retry_after <= 25 * 3600
    assert testing.posts_with(yt, "Second of the day") == 0
    assert [e["kind"] for e in testing.ledger(yt)].count("upload_session") == 1  # nothing was sent


def test_quota_costs_are_configurable_in_units(yt) -> None:
    settings = {"quota_uploads_per_day": 0, "quota_units_per_day": 3000, "quota_costs": "videos.insert=1600"}
    channel = dataclasses.replace(testing.channel_for(yt), settings=settings)
    adapter().publish(channel, _request((testing.video(),)), MemoryProgress())
    with pytest.raises(errors.RateLimited) as refused:
        adapter().publish(channel, _request((testing.video(),)), MemoryProgress())
    assert "1600 units" in refused.value.message and "1400" in refused.value.message


def test_youtube_quota_exceeded_is_a_wait_until_midnight_and_stops_further_calls(yt) -> None:
    running = testing.start(uploads_per_day=0)
    try:
        channel = testing.channel_for(running)
        with pytest.raises(errors.RateLimited) as limited:
            adapter().publish(channel, _request((testing.video(),)), MemoryProgress())
        assert limited.value.code == "quotaExceeded"
        with pytest.raises(errors.RateLimited):  # refused here now, without asking YouTube
            adapter().publish(channel, _request((testing.video(),)), MemoryProgress())
        assert [e["kind"] for e in testing.ledger(running)].count("upload_session") == 0
    finally:
        running.stop()


def test_comments_replies_moderation_polling_and_metrics(yt) -> None:
    channel = testing.channel_for(yt)
    video = adapter().publish(channel, _request((testing.video(),)), MemoryProgress()).remote_id
    top = testing.audience_comment(yt, video, "Great video")
    for n in range(6):
        testing.audience_reply(yt, top, f"agree {n}")
    comments = adapter().read_comments(channel, video)
    assert len(comments) == 7  # the thread's five replies were not all: comments.list read the rest
    assert {c.parent_remote_id for c in comments} == {None, top}
    reply = adapter().reply_comment(channel, video, "Thanks!", reply_to=f"{top}.x", idempotency_key="k")
    assert reply.parent_remote_id == f"{top}.x"
    assert yt.app.emulator.comments[reply.remote_id].parent_id == top  # one level deep on YouTube
    page = adapter().poll_updates(channel, None)
    assert {e.remote_id for e in page.events} == {c.remote_id for c in comments}  # not our own reply
    assert page.cursor
    later = testing.audience_comment(yt, video, "Later one")
    testing.advance_clock(yt, 5)
    newer = testing.audience_comment(yt, video, "Newest")
    assert newer in {e.remote_id for e in adapter().poll_updates(channel, page.cursor).events}
    adapter().hide_comment(channel, video, later)
    assert yt.app.emulator.comments[later].moderation == "rejected"
    testing.set_counts(yt, video, views=1234, likes=56)
    [metrics] = adapter().post_metrics(channel, [video])
    assert (metrics.views, metrics.likes) == (1234, 56) and metrics.comments is not None
    assert adapter().channel_metrics(channel).members == 1280


@pytest.mark.django_db
def test_an_expired_access_token_is_renewed_with_the_refresh_token(yt) -> None:
    channel = testing.broken_channel(yt, "expired_token")
    info = adapter().verify(channel)
    assert info.remote_id == testing.DEMO_REMOTE_ID
    assert any(e["kind"] == "token_refreshed" for e in testing.ledger(yt))


def test_errors_map_by_reason() -> None:
    def mapped(status: int, reason: str, creates: bool = False) -> errors.NetworkError:
        payload = {"error": {"code": status, "message": "m", "errors": [{"domain": "d", "reason": reason}]}}
        return error_for(wire.api_error(status, payload), creates=creates, excerpt="")

    assert isinstance(mapped(403, "quotaExceeded"), errors.RateLimited)
    assert isinstance(mapped(403, "rateLimitExceeded"), errors.RateLimited)
    assert isinstance(mapped(403, "forbidden"), errors.Rejected)
    assert isinstance(mapped(503, "backendError", creates=True), errors.UnknownOutcome)
    assert isinstance(mapped(503, "backendError"), errors.Transient)
    assert isinstance(mapped(401, "authError"), errors.AuthExpired)
    assert isinstance(mapped(400, "invalidTitle"), errors.Rejected)


def test_read_only_connection_cannot_upload(yt) -> None:
    with pytest.raises(errors.Rejected) as refused:
        adapter().publish(
            testing.broken_channel(yt, "read_only"), _request((testing.video(),)), MemoryProgress()
        )
    assert refused.value.code == "insufficientPermissions"
    assert emu.READ_ONLY_TOKEN not in str(refused.value)


def test_edit_changes_title_description_and_tags(yt) -> None:
    channel = testing.channel_for(yt)
    video = adapter().publish(
        channel, _request((testing.video(),), text="Old title\nOld words"), MemoryProgress()
    )
    adapter().edit(
        channel,
        video.remote_id,
        Content(text="New title\nNew words", media=(testing.video(),), options={"tags": "a, b"}),
    )
    snippet = yt.app.emulator.videos[video.remote_id].snippet
    assert (snippet["title"], snippet["description"], snippet["tags"]) == (
        "New title",
        "New words",
        ["a", "b"],
    )
    with pytest.raises(errors.Rejected):
        adapter().edit(channel, video.remote_id, Content(text="T" * 101))


def test_an_expired_session_looks_for_its_video_before_starting_again(yt) -> None:
    request = _request((testing.video(),), text="Expired session\nStill one video")
    progress = MemoryProgress()
    first = adapter().publish(testing.channel_for(yt), request, progress)
    progress.save("video_id", None)  # as if the answer was lost, a week ago
    testing.advance_clock(yt, 8 * 86400)  # the session has expired on YouTube
    again = adapter().publish(testing.channel_for(yt), request, progress)
    assert again.remote_id == first.remote_id
    assert testing.posts_with(yt, "Expired session") == 1
