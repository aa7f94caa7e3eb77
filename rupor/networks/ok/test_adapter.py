"""The adapter end to end against the emulator over real HTTP, and its error mapping."""

from __future__ import annotations

import socket
import uuid

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import Content, Media, MemoryProgress, Poll, PublishRequest
from rupor.networks.ok import emulator as emu
from rupor.networks.ok import testing, wire
from rupor.networks.ok.adapter import OkAdapter, error_for

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64


@pytest.fixture(scope="module")
def em():
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


@pytest.fixture
def adapter():
    return OkAdapter()


@pytest.fixture(autouse=True)
def _clear_faults(em):
    yield
    with http.client(base_url=em.url, timeout=5) as client:
        client.delete("/_emulator/faults")


def marker() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


def request(text: str, **content) -> PublishRequest:
    return PublishRequest(Content(text=text, **content), idempotency_key=uuid.uuid4().hex)


def ledger(em):
    with http.client(base_url=em.url, timeout=5) as client:
        return client.get("/_emulator/ledger").json()


def test_verify_demo_group(em, adapter):
    info = adapter.verify(testing.channel_for(em))
    assert info.can_publish
    assert info.name == "Rupor Demo Bakery"
    assert info.members
    assert info.members > 1000


def test_verify_group_without_rights_says_so(em, adapter):
    info = adapter.verify(testing.broken_channel(em, "no_rights"))
    assert not info.can_publish
    assert any("not an administrator" in note for note in info.notes)


def test_verify_token_without_group_content(em, adapter):
    info = adapter.verify(testing.broken_channel(em, "no_permission"))
    assert not info.can_publish
    assert any("GROUP_CONTENT" in note for note in info.notes)


def test_publish_text_link_poll_album_and_first_comment(em, adapter):
    channel = testing.channel_for(em)
    text = f"Всем привет 👋 {marker()}"
    req = request(
        text,
        media=(
            Media.from_bytes("photo", "a.jpg", "image/jpeg", JPEG),
            Media.from_bytes("photo", "b.png", "image/png", b"\x89PNG" + b"1" * 20),
        ),
        poll=Poll("Какой хлеб?", ("Ржаной", "Белый"), multiple=True),
        link="https://example.org/menu",
        first_comment="Меню по ссылке",
    )
    progress = MemoryProgress()
    published = adapter.publish(channel, req, progress)
    assert published.url == f"https://ok.ru/group/{testing.DEMO_REMOTE_ID}/topic/{published.remote_id}"
    assert testing.posts_with(em, text) == 1
    assert progress["topic_id"] == published.remote_id
    assert len(progress["photo_tokens"]) == 2
    comments = adapter.read_comments(channel, published.remote_id)
    assert [c.text for c in comments] == ["Меню по ссылке"]
    state = em.app.state.emulator
    media = state.topics[published.remote_id].media
    assert [m["type"] for m in media] == ["text", "photo", "poll", "link"]
    assert "SingleChoice" not in media[2]["options"]
    assert state.topics[published.remote_id].author_ref == f"group:{testing.DEMO_REMOTE_ID}"


def test_scheduled_topic_uses_publish_at(em, adapter):
    import datetime as dt

    from rupor.core import clock

    when = (clock.now() + dt.timedelta(hours=3)).replace(microsecond=0)
    req = PublishRequest(Content(text=f"later {marker()}"), idempotency_key="k", publish_at=when)
    published = adapter.publish(testing.channel_for(em), req, MemoryProgress())
    topic = em.app.state.emulator.topics[published.remote_id]
    assert abs(topic.visible_at - when.timestamp()) < 1


def test_resume_skips_finished_upload(em, adapter):
    channel = testing.channel_for(em)
    req = request(
        f"resume {marker()}", media=(Media.from_bytes("photo", "a.jpg", "image/jpeg", JPEG + b"resume"),)
    )
    progress = MemoryProgress()
    testing.faults(em, {"queue": [{"kind": "429", "method": "mediatopic.post"}]})
    with pytest.raises(errors.RateLimited):
        adapter.publish(channel, req, progress)
    uploads_before = sum(1 for e in ledger(em) if e["kind"] == "photo_uploaded")
    published = adapter.publish(channel, req, progress)
    assert sum(1 for e in ledger(em) if e["kind"] == "photo_uploaded") == uploads_before
    assert testing.posts_with(em, req.content.text) == 1
    # a third attempt after success returns the same topic without posting again
    assert adapter.publish(channel, req, progress).remote_id == published.remote_id
    assert testing.posts_with(em, req.content.text) == 1


def test_timeout_after_side_effect_is_unknown_outcome_then_reconciled(em, adapter):
    channel = testing.channel_for(em, settings={"timeout": 0.5})
    req = request(f"ambiguous {marker()}")
    testing.faults(em, {"hang_s": 1.5, "queue": [{"kind": "timeout_after", "method": "mediatopic.post"}]})
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, req, MemoryProgress())
    assert testing.posts_with(em, req.content.text) == 1
    found = adapter.find_published(testing.channel_for(em), req)
    assert found is not None
    assert em.app.state.emulator.topics[found.remote_id].text == req.content.text


def test_reset_after_side_effect_is_unknown_outcome(em, adapter):
    req = request(f"reset {marker()}")
    testing.faults(em, {"queue": [{"kind": "reset_after", "method": "mediatopic.post"}]})
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(testing.channel_for(em), req, MemoryProgress())
    assert testing.posts_with(em, req.content.text) == 1


def test_find_published_returns_none_when_absent(em, adapter):
    assert adapter.find_published(testing.channel_for(em), request(f"never posted {marker()}")) is None


def test_a_lookup_that_cannot_read_far_enough_is_unknown_not_absent(em, adapter):
    """ "Not found" makes the engine send again, so it must mean "certainly not there"."""
    channel = testing.channel_for(em)
    req = request(f"buried {marker()}")
    adapter.publish(channel, req, MemoryProgress())
    for i in range(100):  # a busy group: a hundred newer topics on top of ours
        adapter.publish(channel, request(f"newer {i} {marker()}"), MemoryProgress())
    adapter.reconcile_pages = 1
    with pytest.raises(errors.UnknownOutcome):
        adapter.find_published(channel, req)
    adapter.reconcile_pages = 2
    found = adapter.find_published(channel, req)
    assert found is not None and em.app.state.emulator.topics[found.remote_id].text == req.content.text


def test_server_error_on_publish_is_unknown_but_on_read_is_transient(em, adapter):
    channel = testing.channel_for(em)
    testing.faults(em, {"queue": [{"kind": "5xx", "method": "mediatopic.post"}]})
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, request(f"5xx {marker()}"), MemoryProgress())
    testing.faults(em, {"queue": [{"kind": "5xx", "method": "group.getInfo"}]})
    with pytest.raises(errors.Transient):
        adapter.channel_metrics(channel)


def test_injected_throttling_is_rate_limited(em, adapter):
    testing.faults(em, {"queue": [{"kind": "429", "method": "group.getInfo"}]})
    with pytest.raises(errors.RateLimited) as caught:
        adapter.channel_metrics(testing.channel_for(em))
    assert caught.value.code == wire.Code.FLOOD_BLOCKED
    assert caught.value.retry_after


def test_real_throttling_from_emulator_is_rate_limited(adapter):
    running = testing.start(requests_per_second=2)
    try:
        channel = testing.channel_for(running)

        def hammer() -> None:
            for _ in range(6):
                adapter.channel_metrics(channel)

        with pytest.raises(errors.RateLimited):
            hammer()
    finally:
        running.stop()


def test_connect_error_is_transient(adapter):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http.allow_origin(f"http://127.0.0.1:{port}")
    channel = testing.channel_for(type("E", (), {"url": f"http://127.0.0.1:{port}"})())
    with pytest.raises(errors.Transient):
        adapter.publish(channel, request("nowhere"), MemoryProgress())


def test_bad_token_is_auth_expired(em, adapter):
    with pytest.raises(errors.AuthExpired) as caught:
        adapter.publish(testing.broken_channel(em, "bad_token"), request("x"), MemoryProgress())
    assert caught.value.code == wire.Code.PARAM_SESSION_EXPIRED
    with pytest.raises(errors.AuthExpired):
        adapter.verify(testing.broken_channel(em, "expired_token"))


def test_wrong_secret_key_is_auth_expired_with_plain_message(em, adapter):
    channel = testing.channel_for(
        em, credentials={**testing.demo_credentials(), "application_secret_key": "WRONG"}
    )
    with pytest.raises(errors.AuthExpired) as caught:
        adapter.verify(channel)
    assert caught.value.code == wire.Code.PARAM_SIGNATURE
    assert "secret key" in caught.value.message
    assert testing.demo_credentials()["access_token"] not in caught.value.excerpt


def test_no_rights_is_rejected_with_plain_message(em, adapter):
    req = request(f"nope {marker()}")
    with pytest.raises(errors.Rejected) as caught:
        adapter.publish(testing.broken_channel(em, "no_rights"), req, MemoryProgress())
    assert "GROUP_CONTENT" in caught.value.message
    assert caught.value.needs_person
    assert testing.posts_with(em, req.content.text) == 0


def test_comments_read_reply_delete(em, adapter):
    channel = testing.channel_for(em)
    published = adapter.publish(channel, request(f"talk {marker()}"), MemoryProgress())
    audience_id = testing.audience_comment(em, published.remote_id, "Сколько стоит?")
    comments = adapter.read_comments(channel, published.remote_id)
    question = next(c for c in comments if c.remote_id == audience_id)
    assert question.author.name
    assert question.author.remote_id
    reply = adapter.reply_comment(
        channel, published.remote_id, "100 ₽", reply_to=audience_id, idempotency_key="r1"
    )
    again = {c.remote_id: c for c in adapter.read_comments(channel, published.remote_id)}
    assert again[reply.remote_id].parent_remote_id == audience_id
    assert again[reply.remote_id].author.remote_id == testing.DEMO_REMOTE_ID
    later = adapter.read_comments(channel, published.remote_id, since=question.created_at)
    assert audience_id not in {c.remote_id for c in later}
    adapter.delete_comment(channel, published.remote_id, audience_id)
    assert audience_id not in {c.remote_id for c in adapter.read_comments(channel, published.remote_id)}


def test_reply_timeout_is_unknown_outcome(em, adapter):
    channel = testing.channel_for(em, settings={"timeout": 0.5})
    published = adapter.publish(testing.channel_for(em), request(f"c {marker()}"), MemoryProgress())
    testing.faults(
        em,
        {"hang_s": 1.5, "queue": [{"kind": "timeout_after", "method": "discussions.addDiscussionComment"}]},
    )
    with pytest.raises(errors.UnknownOutcome):
        adapter.reply_comment(channel, published.remote_id, "hi", idempotency_key="k")


def test_metrics_grow_with_time_and_delete(em, adapter):
    channel = testing.channel_for(em)
    published = adapter.publish(channel, request(f"metrics {marker()}"), MemoryProgress())
    members_before = adapter.channel_metrics(channel).members
    [first] = adapter.post_metrics(channel, [published.remote_id])
    testing.advance_clock(em, 12 * 3600)
    [second] = adapter.post_metrics(channel, [published.remote_id])
    assert second.views is not None
    assert first.views is not None
    assert second.views > first.views
    assert second.likes is not None
    assert second.reach is not None
    assert adapter.channel_metrics(channel).members != members_before
    adapter.delete(channel, published.remote_id)
    adapter.delete(channel, published.remote_id)  # already gone: still fine
    assert adapter.post_metrics(channel, [published.remote_id]) == []
    assert any(e["kind"] == "topic_deleted" and e["id"] == published.remote_id for e in ledger(em))


@pytest.mark.parametrize(
    "handle",
    ["rivalnews", "https://ok.ru/rivalnews", emu.COMPETITOR_GID, f"https://ok.ru/group/{emu.COMPETITOR_GID}"],
)
def test_public_page_of_competitor(em, adapter, handle):
    page = adapter.public_page(testing.channel_for(em), handle, limit=3)
    assert page.remote_id == emu.COMPETITOR_GID
    assert page.name == "Rival News"
    assert len(page.posts) == 3
    assert page.posts[0].published_at >= page.posts[-1].published_at
    assert page.members
    assert page.members > 40000


def test_public_page_unknown_handle_is_rejected(em, adapter):
    with pytest.raises(errors.Rejected):
        adapter.public_page(testing.channel_for(em), "nobody-here")


def test_capabilities_are_implemented(adapter):
    from rupor.networks.base import Adapter, Capability

    method_of = {
        Capability.PUBLISH_TEXT: "publish",
        Capability.DELETE: "delete",
        Capability.RECONCILE: "find_published",
        Capability.READ_COMMENTS: "read_comments",
        Capability.REPLY_COMMENT: "reply_comment",
        Capability.DELETE_COMMENT: "delete_comment",
        Capability.POST_METRICS: "post_metrics",
        Capability.CHANNEL_METRICS: "channel_metrics",
        Capability.PUBLIC_PAGES: "public_page",
        Capability.VERIFY: "verify",
    }
    for cap, name in method_of.items():
        assert cap in adapter.capabilities
        assert getattr(type(adapter), name) is not getattr(Adapter, name)
    assert adapter.idempotent_publish is False


# -- error mapping, from payloads shaped like OK's -------------------------------------------------
@pytest.mark.parametrize(
    ("code", "create", "kind"),
    [
        (1, True, errors.UnknownOutcome),
        (1, False, errors.Transient),
        (2, True, errors.Transient),
        (3, False, errors.Rejected),
        (7, True, errors.RateLimited),
        (8, True, errors.RateLimited),
        (9, False, errors.RateLimited),
        (10, True, errors.Rejected),
        (11, True, errors.RateLimited),
        (50, True, errors.Rejected),
        (100, True, errors.Rejected),
        (101, False, errors.AuthExpired),
        (102, True, errors.AuthExpired),
        (103, True, errors.AuthExpired),
        (104, True, errors.AuthExpired),
        (300, False, errors.Rejected),
    ],
)
def test_error_codes_map_by_code(code, create, kind):
    payload = {
        "error_code": code,
        "error_msg": f"{wire.error_name(code, 'X')} : whatever",
        "error_data": None,
    }
    error = error_for(payload, create=create)
    assert type(error) is kind
    assert error.code == code
    assert error.message
    assert "error_code" not in error.message


def test_rate_limit_waits_grow_with_severity():
    waits = [error_for({"error_code": c}, create=True).retry_after or 0.0 for c in (8, 7, 11)]
    assert waits == sorted(waits)
