"""The Instagram adapter end to end against the emulated Graph API over real HTTP; the emulator
fetches every picture and video from a local file server by URL, as Meta does."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import LIMITS_SETTING, Content, Media, MemoryProgress, PublishRequest
from rupor.networks.graph import wire as graph
from rupor.networks.instagram import emulator as emu
from rupor.networks.instagram import testing, wire
from rupor.networks.instagram.adapter import InstagramAdapter


@pytest.fixture
def em():
    running = testing.start()
    yield running
    running.stop()


@pytest.fixture
def adapter():
    return InstagramAdapter()


def request(content: Content) -> PublishRequest:
    return PublishRequest(content, idempotency_key=uuid.uuid4().hex)


def ledger(em, what: str) -> list[dict[str, Any]]:
    with http.client(base_url=em.url, timeout=5) as c:
        return [e for e in c.get("/_emulator/ledger").json() if e["what"] == what]


def graph_get(em, path: str, **params: Any) -> Any:
    with http.client(base_url=em.url, timeout=5) as c:
        return c.get(
            f"/{graph.VERSION}/{path}", params=params, headers={"Authorization": f"Bearer {emu.DEMO_TOKEN}"}
        ).json()


def quick(channel: Any) -> Any:
    return replace(channel, settings={**dict(channel.settings), "timeout": 0.5, "pace": False})


def test_verify_reads_the_quota_from_content_publishing_limit(em, adapter):
    testing.set_quota(em, 37)  # whatever Meta says today; nothing in Rupor assumes a number
    info = adapter.verify(testing.channel_for(em))
    assert info.remote_id == testing.DEMO_REMOTE_ID
    assert info.name == "Rupor Demo"
    assert info.url == f"https://www.instagram.com/{emu.DEMO_USERNAME}/"
    assert info.limits == {"posts_per_day": 37}
    channel = replace(testing.channel_for(em), settings={LIMITS_SETTING: dict(info.limits)})
    (limit,) = adapter.rate_limits(channel)
    assert (limit.limit, limit.per_s) == (37, wire.QUOTA_WINDOW_S)
    assert adapter.rate_limits(testing.channel_for(em)) == ()  # not read yet: nothing invented


def test_a_token_that_may_not_publish_says_so(em, adapter):
    info = adapter.verify(testing.broken_channel(em, "no_rights"))
    assert info.can_publish is False
    assert any(wire.PUBLISH_PERMISSION in n for n in info.notes)


def test_a_picture_is_published_as_jpeg_by_its_link(em, adapter):
    asked: list[str | None] = []
    photo = testing.photo(alt="A red bicycle against a wall")
    assert photo.link is not None
    served = photo.link

    def link(fmt: str | None) -> str:
        asked.append(fmt)
        return served(fmt)

    tracked = replace(photo, link=link)
    published = adapter.publish(
        testing.channel_for(em),
        request(Content(text="Spring is here #bikes", media=(tracked,))),
        MemoryProgress(),
    )
    assert asked == [wire.LINK_FORMAT]  # JPEG, cropped into 4:5..1.91:1 by Rupor's media link
    media = graph_get(em, published.remote_id, fields="caption,media_type,alt_text,permalink")
    assert media["media_type"] == "IMAGE"
    assert media["caption"] == "Spring is here #bikes"
    assert media["alt_text"] == "A red bicycle against a wall"
    assert published.url == media["permalink"]


def test_a_carousel_is_children_then_a_parent_published_once(em, adapter):
    photos = (testing.photo(), testing.photo(1080, 1350), testing.video())
    content = Content(text="Three of them", media=photos, options={"alt": ["first", "second", ""]})
    progress, req = MemoryProgress(), request(content)
    published = adapter.publish(testing.channel_for(em), req, progress)
    assert published.waiting_on_platform  # the video child is still processing
    testing.advance_clock(em, emu.VIDEO_PROCESSING_S + 1)
    published = adapter.complete(testing.channel_for(em), req, progress)
    media = graph_get(em, published.remote_id, fields="media_type,children")
    assert media["media_type"] == "CAROUSEL_ALBUM"
    assert len(media["children"]["data"]) == 3
    created = ledger(em, "container")
    assert [c["kind"] for c in created] == ["IMAGE", "IMAGE", "VIDEO", "CAROUSEL"]
    assert len(ledger(em, "media_publish")) == 1
    assert testing.posts_with(em, "Three of them") == 1


def test_a_reel_waits_for_processing_then_the_second_step_publishes(em, adapter):
    channel = testing.channel_for(em)
    progress = MemoryProgress()
    req = request(Content(text="Behind the scenes", media=(testing.video(),)))
    first = adapter.publish(channel, req, progress)
    assert first.waiting_on_platform  # Meta is still processing the video
    with pytest.raises(errors.MediaProcessing):
        adapter.complete(channel, req, progress)
    assert testing.posts_with(em, "Behind the scenes") == 0
    testing.advance_clock(em, emu.VIDEO_PROCESSING_S + 1)
    done = adapter.complete(channel, req, progress)
    assert not done.waiting_on_platform
    media = graph_get(em, done.remote_id, fields="media_type,media_product_type")
    assert (media["media_type"], media["media_product_type"]) == ("VIDEO", "REELS")
    assert len(ledger(em, "container")) == 1  # the same container all along


def test_a_timeout_after_media_publish_reuses_the_container_and_never_publishes_twice(em, adapter):
    channel = quick(testing.channel_for(em))
    progress = MemoryProgress()
    req = request(Content(text="Only once, please", media=(testing.photo(),)))
    testing.faults(
        em, {"queue": [{"kind": "timeout_after", "method": "media_publish", "count": 1}], "hang_s": 2}
    )
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, req, progress)
    assert testing.posts_with(em, "Only once, please") == 1  # it went out; the answer was lost
    found = adapter.find_published(testing.channel_for(em), req)  # the engine's reconcile
    assert found is not None
    again = adapter.publish(testing.channel_for(em), req, progress)  # a repeat attempt, same progress
    assert again.remote_id == found.remote_id
    assert testing.posts_with(em, "Only once, please") == 1
    assert len(ledger(em, "container")) == 1
    assert len(ledger(em, "media_publish")) == 1


def test_an_attempt_stopped_between_children_resumes_without_making_them_again(em, adapter):
    progress = MemoryProgress()
    req = request(Content(text="Resumed", media=(testing.photo(), testing.photo(), testing.photo())))
    with pytest.raises(_Killed):  # the worker dies right after the second child was kept
        adapter.publish(testing.channel_for(em), req, _KilledAfter(progress, "child:1"))
    adapter.publish(testing.channel_for(em), req, progress)
    assert testing.posts_with(em, "Resumed") == 1
    assert [c["kind"] for c in ledger(em, "container")] == ["IMAGE", "IMAGE", "IMAGE", "CAROUSEL"]
    assert len(ledger(em, "media_publish")) == 1


class _Killed(Exception):
    pass


class _KilledAfter(MemoryProgress):
    """Keeps what is saved in ``inner``, and stops the attempt right after ``key`` is saved."""

    def __init__(self, inner: MemoryProgress, key: str) -> None:
        super().__init__()
        self.inner, self.key = inner, key

    def get(self, key: str, default: Any = None) -> Any:
        return self.inner.get(key, default)

    def save(self, key: str, value: Any) -> None:
        self.inner.save(key, value)
        if key == self.key:
            raise _Killed(key)


def test_the_quota_is_checked_before_publishing(em, adapter):
    testing.set_quota(em, 1)
    channel = testing.channel_for(em)
    adapter.publish(channel, request(Content(text="first", media=(testing.photo(),))), MemoryProgress())
    with pytest.raises(errors.RateLimited) as limited:
        adapter.publish(channel, request(Content(text="second", media=(testing.photo(),))), MemoryProgress())
    assert limited.value.nothing_happened
    assert 60 <= (limited.value.retry_after or 0) <= wire.QUOTA_WINDOW_S  # until the first leaves the window
    assert testing.posts_with(em, "second") == 0


def test_instagram_refuses_png_and_out_of_range_shapes_as_the_real_api(em, adapter):
    channel = testing.channel_for(em)
    # The test server serves the bytes as they are (no conversion): what Meta would then answer.
    png = testing.photo(fmt="PNG")
    with pytest.raises(errors.Rejected) as refused:
        adapter.publish(channel, request(Content(text="png", media=(png,))), MemoryProgress())
    assert refused.value.code == wire.Code.IMAGE_FORMAT
    wide = testing.photo(2000, 500)
    with pytest.raises(errors.Rejected) as shape:
        adapter.publish(channel, request(Content(text="wide", media=(wide,))), MemoryProgress())
    assert shape.value.code == wire.Code.ASPECT_RATIO
    gone = testing.media_server().broken_media()
    with pytest.raises(errors.Rejected) as fetch:
        adapter.publish(channel, request(Content(text="gone", media=(gone,))), MemoryProgress())
    assert fetch.value.code == wire.Code.FETCH_FAILED
    assert "RUPOR_BASE_URL" in fetch.value.message


def test_a_file_without_a_public_address_is_a_clear_permanent_error(em, adapter):
    unlinked = Media.from_bytes("photo", "cat.jpg", "image/jpeg", testing.picture(), 1080, 1080)
    with pytest.raises(errors.Rejected) as refused:
        adapter.publish(
            testing.channel_for(em), request(Content(text="cat", media=(unlinked,))), MemoryProgress()
        )
    assert refused.value.code == "no_media_link"
    assert refused.value.needs_person
    assert "RUPOR_BASE_URL" in refused.value.message


def test_validate_wants_a_picture_and_says_what_will_happen_to_it(adapter):
    assert [p.field for p in adapter.validate(Content(text="Just words"))] == ["media"]
    png = Media.from_bytes("photo", "a.png", "image/png", b"\x89PNG", 3000, 1000)
    assert adapter.validate(Content(text="ok", media=(png,))) == []  # converted and cropped, not refused
    notes = " ".join(p.message for p in adapter.advice(Content(text="ok", media=(png,))))
    assert "converted to JPEG" in notes
    assert "crops" in notes
    square = Media.from_bytes("photo", "b.jpg", "image/jpeg", b"\xff\xd8\xff", 1080, 1080)
    assert adapter.advice(Content(text="ok", media=(square,))) == []
    gif = Media.from_bytes("photo", "c.gif", "image/gif", b"GIF89a", 500, 500)
    assert adapter.validate(Content(text="ok", media=(gif,)))
    huge = replace(square, size=wire.IMAGE_MAX_BYTES + 1)
    assert adapter.validate(Content(text="ok", media=(huge,)))
    hashtags = " ".join(f"#t{i}" for i in range(wire.HASHTAGS_MAX + 1))
    assert adapter.validate(Content(text=hashtags, media=(square,)))


def test_comments_replies_hide_and_delete(em, adapter):
    channel = testing.channel_for(em)
    post = adapter.publish(
        channel, request(Content(text="Ask me", media=(testing.photo(),))), MemoryProgress()
    )
    question = testing.audience_comment(em, post.remote_id, "Is it waterproof?")
    testing.audience_comment(em, post.remote_id, "Asking too", reply_to=question)
    comments = adapter.read_comments(channel, post.remote_id)
    assert {c.text for c in comments} == {"Is it waterproof?", "Asking too"}
    reply = next(c for c in comments if c.text == "Asking too")
    assert reply.parent_remote_id == question
    assert reply.author.url and reply.author.url.startswith("https://www.instagram.com/")
    answer = adapter.reply_comment(
        channel, post.remote_id, "Yes, it is!", reply_to=question, idempotency_key="k"
    )
    assert answer.parent_remote_id == question
    adapter.hide_comment(channel, post.remote_id, question)
    assert graph_get(em, question, fields="hidden")["hidden"] is True
    adapter.delete_comment(channel, post.remote_id, answer.remote_id)
    assert "Yes, it is!" not in {c.text for c in adapter.read_comments(channel, post.remote_id)}


def test_first_comment_follows_the_post(em, adapter):
    channel = testing.channel_for(em)
    content = Content(text="With a note", media=(testing.photo(),), first_comment="Link in bio!")
    post = adapter.publish(channel, request(content), MemoryProgress())
    assert [c.text for c in adapter.read_comments(channel, post.remote_id)] == ["Link in bio!"]


def test_insights_use_the_current_metric_names(em, adapter):
    channel = testing.channel_for(em)
    post = adapter.publish(
        channel, request(Content(text="Measured", media=(testing.photo(),))), MemoryProgress()
    )
    testing.audience_comment(em, post.remote_id, "Nice")
    testing.advance_clock(em, 6 * 3600)
    (metrics,) = adapter.post_metrics(channel, [post.remote_id])
    assert metrics.views and metrics.views > 0
    assert metrics.reach is not None and metrics.reach <= metrics.views
    assert metrics.comments == 1
    assert set(metrics.extra) == {"saved", "total_interactions"}
    channel_metrics = adapter.channel_metrics(channel)
    assert channel_metrics.members and channel_metrics.members > 0
    assert channel_metrics.extra["media"] == 1
    assert "views_day" in channel_metrics.extra


def test_errors_map_to_the_taxonomy(em, adapter):
    with pytest.raises(errors.AuthExpired):
        adapter.verify(testing.broken_channel(em, "bad_token"))
    testing.faults(em, {"queue": [{"kind": "429", "method": "GET node", "count": 1}]})
    with pytest.raises(errors.RateLimited) as limited:
        adapter.verify(quick(testing.channel_for(em)))
    assert limited.value.retry_after == emu.INJECTED_THROTTLE_MIN * 60
