"""The Facebook Pages adapter end to end against the emulated Graph API over real HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from rupor.core import clock
from rupor.networks import errors
from rupor.networks.base import (
    ChannelAccess,
    Content,
    Media,
    MemoryProgress,
    Poll,
    PublishRequest,
    latest_credentials,
)
from rupor.networks.emulation import RunningEmulator
from rupor.networks.facebook import adapter as fb
from rupor.networks.facebook import emulator as emu
from rupor.networks.facebook import testing
from rupor.networks.graph import client
from rupor.networks.graph.testing import JPEG, PNG, MediaServer


@pytest.fixture
def em() -> Iterator[RunningEmulator]:
    client.forget_pauses()
    running = testing.start()
    yield running
    running.stop()
    client.forget_pauses()


@pytest.fixture
def media() -> Iterator[MediaServer]:
    with MediaServer() as server:
        yield server


@pytest.fixture
def adapter() -> fb.FacebookAdapter:
    return fb.FacebookAdapter()


def _state(em: RunningEmulator) -> emu.FacebookState:
    state: emu.FacebookState = em.app.emulator  # type: ignore[attr-defined]  # set by create_app
    return state


def _channel(em: RunningEmulator) -> ChannelAccess:
    # A fresh user token per test keeps the page token this process derived for another test apart.
    return testing.channel_for(em, settings={"pace": False})


def _request(text: str = "", **content: object) -> PublishRequest:
    return PublishRequest(Content(text=text, **content), idempotency_key=uuid.uuid4().hex)  # type: ignore[arg-type]  # Content's keyword fields


def test_page_token_is_derived_once_and_kept(em: RunningEmulator, adapter: fb.FacebookAdapter) -> None:
    channel = _channel(em)
    info = adapter.verify(channel)
    assert info.remote_id == emu.DEMO_PAGE_ID and info.name == emu.DEMO_PAGE_NAME and info.can_publish
    token = latest_credentials(channel)["page_access_token"]
    assert _state(em).page_tokens[token][0] == emu.DEMO_PAGE_ID
    adapter.publish(channel, _request("Kept token"), MemoryProgress())
    assert latest_credentials(channel)["page_access_token"] == token
    assert "page_access_token" in adapter.managed_credentials


def test_a_page_token_invalidated_is_read_again_and_a_lost_role_asks_to_reconnect(
    em: RunningEmulator, adapter: fb.FacebookAdapter
) -> None:
    channel = _channel(em)
    adapter.verify(channel)
    state = _state(em)
    with state.lock:
        state.page_tokens.clear()  # e.g. the person changed their password: every Page token is void
    published = adapter.publish(channel, _request("After a password change"), MemoryProgress())
    assert published.remote_id
    with state.lock:
        state.users[emu.DEMO_USER_TOKEN]["roles"].pop(emu.DEMO_PAGE_ID)
    with pytest.raises(errors.AuthExpired):
        adapter.publish(channel, _request("No role any more"), MemoryProgress())


def test_verify_explains_a_role_that_cannot_post_and_a_page_not_managed(
    em: RunningEmulator, adapter: fb.FacebookAdapter
) -> None:
    info = adapter.verify(testing.broken_channel(em, "no_rights"))
    assert not info.can_publish and info.notes
    with pytest.raises(errors.Rejected):
        adapter.verify(testing.broken_channel(em, "other_page"))
    with pytest.raises(errors.AuthExpired):
        adapter.verify(testing.broken_channel(em, "bad_token"))


def test_text_and_link_post(em: RunningEmulator, adapter: fb.FacebookAdapter) -> None:
    published = adapter.publish(
        _channel(em), _request("Read this", link="https://example.com/a"), MemoryProgress()
    )
    post = _state(em).posts[published.remote_id]
    assert post["message"] == "Read this" and post["link"] == "https://example.com/a" and post["published"]
    assert published.url and emu.DEMO_PAGE_ID in published.url


def test_multi_photo_post_uploads_unpublished_photos_then_attaches_them(
    em: RunningEmulator, adapter: fb.FacebookAdapter, media: MediaServer
) -> None:
    photos = (media.media(PNG, "a.png", "image/png"), media.media(JPEG, "b.jpg", "image/jpeg"))
    progress = MemoryProgress()
    channel = _channel(em)
    testing.faults(em, {"queue": [{"kind": "5xx", "method": "POST feed", "count": 1}]})
    with pytest.raises((errors.Transient, errors.UnknownOutcome)):
        adapter.publish(channel, _request("Two pictures", media=photos), progress)
    assert len(_state(em).photos) == 2
    published = adapter.publish(channel, _request("Two pictures", media=photos), progress)
    state = _state(em)
    assert len(state.photos) == 2  # the retry reused the uploaded photos
    assert state.posts[published.remote_id]["photos"] == [progress["photo:0"], progress["photo:1"]]
    assert all(not p["published"] for p in state.photos.values())


def test_a_picture_without_a_public_address_fails_clearly(
    em: RunningEmulator, adapter: fb.FacebookAdapter, media: MediaServer
) -> None:
    bare = Media.from_bytes("photo", "x.png", "image/png", PNG)
    with pytest.raises(errors.Rejected) as no_link:
        adapter.publish(_channel(em), _request("Nope", media=(bare,)), MemoryProgress())
    assert "RUPOR_BASE_URL" in no_link.value.message
    with pytest.raises(errors.Rejected) as unfetchable:
        adapter.publish(_channel(em), _request("Gone", media=(media.broken_media(),)), MemoryProgress())
    assert unfetchable.value.code == 324
    assert _state(em).posts == {}


def test_validation(adapter: fb.FacebookAdapter) -> None:
    assert adapter.validate(Content(text="a" * 63206)) == []
    assert adapter.validate(Content(text="a" * 63207))
    assert adapter.validate(Content(text="q", poll=Poll("Which?", ("a", "b"))))
    video = Media.from_bytes("video", "v.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42")
    assert adapter.validate(Content(text="v", media=(video,)))


def test_native_scheduling_only_when_asked(em: RunningEmulator, adapter: fb.FacebookAdapter) -> None:
    at = clock.now() + dt.timedelta(hours=2)
    plain = PublishRequest(Content(text="Now"), uuid.uuid4().hex, publish_at=at)
    assert _state(em).posts[adapter.publish(_channel(em), plain, MemoryProgress()).remote_id]["published"]
    native = PublishRequest(
        Content(text="Later", options={"native_schedule": True}), uuid.uuid4().hex, publish_at=at
    )
    published = adapter.publish(_channel(em), native, MemoryProgress())
    post = _state(em).posts[published.remote_id]
    assert not post["published"] and int(post["scheduled_ts"]) == int(at.timestamp())


def test_unknown_outcome_is_reconciled_from_the_feed(
    em: RunningEmulator, adapter: fb.FacebookAdapter, media: MediaServer
) -> None:
    channel = replace(_channel(em), settings={"timeout": 0.5, "pace": False})
    testing.faults(em, {"hang_s": 2, "p_timeout_after": 1.0, "methods": ["POST feed"]})
    text_request = _request("Did it post?")
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, text_request, MemoryProgress())
    photo_request = _request(media=(media.media(PNG, "p.png", "image/png"),))
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, photo_request, MemoryProgress())
    testing.faults(em, {"p_timeout_after": 0.0, "methods": []})
    found = adapter.find_published(channel, text_request)
    assert found is not None and _state(em).posts[found.remote_id]["message"] == "Did it post?"
    assert adapter.find_published(channel, _request("Never sent")) is None
    photo_found = adapter.find_published(channel, photo_request)
    assert photo_found is not None and _state(em).posts[photo_found.remote_id]["photos"]


def test_comments_inbox_round_trip(em: RunningEmulator, adapter: fb.FacebookAdapter) -> None:
    channel = _channel(em)
    post = adapter.publish(
        channel, _request("What do you think?", first_comment="Links below"), MemoryProgress()
    )
    before = clock.now() - dt.timedelta(seconds=1)
    comment_id = testing.audience_comment(em, post.remote_id, "Great!")
    comments = adapter.read_comments(channel, post.remote_id)
    by_id = {c.remote_id: c for c in comments}
    assert by_id[comment_id].author.name and by_id[comment_id].text == "Great!"
    assert any(c.text == "Links below" for c in comments)
    reply = adapter.reply_comment(
        channel, post.remote_id, "Thanks!", reply_to=comment_id, idempotency_key="k"
    )
    threaded = {c.remote_id: c for c in adapter.read_comments(channel, post.remote_id, since=before)}
    assert threaded[reply.remote_id].parent_remote_id == comment_id
    adapter.hide_comment(channel, post.remote_id, comment_id)
    assert _state(em).comments[comment_id]["is_hidden"]
    adapter.delete_comment(channel, post.remote_id, comment_id)
    assert comment_id not in {c.remote_id for c in adapter.read_comments(channel, post.remote_id)}
    with pytest.raises(errors.Rejected):
        adapter.reply_comment(
            testing.broken_channel(em, "no_rights"), post.remote_id, "x", idempotency_key="k2"
        )


def test_metrics_use_current_names(em: RunningEmulator, adapter: fb.FacebookAdapter) -> None:
    channel = _channel(em)
    post = adapter.publish(channel, _request("Count me"), MemoryProgress())
    testing.advance_clock(em, 6 * 3600)
    [metrics] = adapter.post_metrics(channel, [post.remote_id])
    assert metrics.views is not None and metrics.views > 0 and metrics.reach is not None
    assert metrics.likes is not None and metrics.comments == 0
    page = adapter.channel_metrics(channel)
    assert page.members == 1315 and page.extra["page_media_view"] >= metrics.views


def test_a_metric_retired_after_release_is_dropped_and_named(adapter: fb.FacebookAdapter) -> None:
    client.forget_pauses()
    with fb._gone_lock:
        fb._gone.clear()
    em = testing.start(retired=["post_clicks"])
    try:
        channel = _channel(em)
        post = adapter.publish(channel, _request("Older metric"), MemoryProgress())
        testing.advance_clock(em, 3600)
        [metrics] = adapter.post_metrics(channel, [post.remote_id])
        assert metrics.views is not None
        assert "post_clicks" not in metrics.extra and "post_reactions_like_total" in metrics.extra
        assert "post_clicks" in fb.gone_metrics()
        assert "post_impressions" in fb.gone_metrics()
    finally:
        em.stop()
    with fb._gone_lock:
        fb._gone.clear()


def test_business_use_case_usage_pauses_before_the_limit(adapter: fb.FacebookAdapter) -> None:
    client.forget_pauses()
    app = emu.create_app(seed=0)
    app.emulator.page_meter.limit = 20
    with RunningEmulator(app) as em:
        channel = _channel(em)

        def publish_many() -> None:
            for index in range(30):
                adapter.publish(channel, _request(f"Post {index}"), MemoryProgress())

        with pytest.raises(errors.RateLimited) as paused:
            publish_many()
        assert paused.value.code == "usage_pause" and (paused.value.retry_after or 0) > 0
        calls = len(app.emulator.page_meter.calls[emu.DEMO_PAGE_ID])
        assert 18 <= calls < 20  # stopped at 90 %, before Meta's limit refused anything
    client.forget_pauses()


def test_edit_and_pin(em: RunningEmulator, adapter: fb.FacebookAdapter) -> None:
    channel = _channel(em)
    first = adapter.publish(channel, _request("Pinned first", pin=True), MemoryProgress())
    assert _state(em).posts[first.remote_id]["pinned"]
    second = adapter.publish(channel, _request("Typo hre"), MemoryProgress())
    adapter.edit(channel, second.remote_id, Content(text="Typo here"))
    adapter.pin(channel, second.remote_id)
    posts = _state(em).posts
    assert posts[second.remote_id]["message"] == "Typo here"
    assert posts[second.remote_id]["pinned"] and not posts[first.remote_id]["pinned"]
