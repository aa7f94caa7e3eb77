"""The LinkedIn adapter end to end against the emulator over real HTTP, and its error mapping."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import Content, Media, MemoryProgress, Poll, PublishRequest
from rupor.networks.linkedin import emulator as emu
from rupor.networks.linkedin import testing, wire
from rupor.networks.linkedin.adapter import LinkedInAdapter, error_for

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


@pytest.fixture(scope="module")
def em():
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


@pytest.fixture
def adapter():
    return LinkedInAdapter()


@pytest.fixture(autouse=True)
def _clear_faults(em):
    yield
    with http.client(base_url=em.url, timeout=5) as client:
        client.delete("/_emulator/faults")


def marker() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


def _req(text: str, **content) -> PublishRequest:
    return PublishRequest(Content(text=text, **content), idempotency_key=uuid.uuid4().hex)


def _state(em):
    return em.app.emulator


def test_reserved_characters_are_escaped_in_commentary_and_shown_whole(em, adapter):
    m = marker()
    text = f"Q3 results (draft) {m} #growth @team [link] <b> a_b *x* ~y~ {{z}} | back\\slash"
    published = adapter.publish(testing.channel_for(em), _req(text), MemoryProgress())
    post = _state(em).posts[published.remote_id]
    assert post.text == text  # LinkedIn shows the whole text
    assert post.commentary == wire.escape_commentary(text)
    assert published.url == f"https://www.linkedin.com/feed/update/{published.remote_id}/"


def test_an_unescaped_reserved_character_cuts_the_post_like_linkedin_does(em):
    """Why escaping matters: the emulator, like LinkedIn, silently cuts at the first one."""
    assert emu.render_little_text("Sale (today only) ends") == "Sale "
    assert emu.render_little_text("Hi @[Rupor](urn:li:organization:1) {hashtag|\\#|smm}") == "Hi Rupor #smm"
    assert wire.unescape_commentary(wire.escape_commentary("a(b)#c\\d")) == "a(b)#c\\d"


def test_comments_are_plain_text_never_escaped(em, adapter):
    channel = testing.channel_for(em)
    post = adapter.publish(channel, _req(f"Post {marker()}"), MemoryProgress())
    reply = adapter.reply_comment(channel, post.remote_id, "Thanks (really) #1 :)", idempotency_key="k")
    stored = next(c for c in _state(em).posts[post.remote_id].comments if c.id == reply.remote_id)
    assert stored.text == "Thanks (really) #1 :)"
    texts = [c.text for c in adapter.read_comments(channel, post.remote_id)]
    assert "Thanks (really) #1 :)" in texts


def test_first_comment_is_posted_once_on_retry(em, adapter):
    channel = testing.channel_for(em)
    progress = MemoryProgress()
    request = _req(
        f"With a first comment {marker()}", first_comment="Link in the comments: https://example.com"
    )
    first = adapter.publish(channel, request, progress)
    again = adapter.publish(channel, request, progress)
    assert first.remote_id == again.remote_id
    comments = [c for c in _state(em).posts[first.remote_id].comments if "Link in the comments" in c.text]
    assert len(comments) == 1


def test_image_post_goes_through_initialize_upload_and_put(em, adapter):
    m = marker()
    photo = Media.from_bytes("photo", "cake.jpg", "image/jpeg", JPEG)
    published = adapter.publish(
        testing.channel_for(em),
        _req(f"Our cake {m}", media=(photo,), options={"alt": ["A cake"]}),
        MemoryProgress(),
    )
    post = _state(em).posts[published.remote_id]
    urn = post.content["media"]["id"]
    assert urn.startswith("urn:li:image:")
    assert post.content["media"]["altText"] == "A cake"
    assert _state(em).assets[urn]["bytes"] == len(JPEG)


def test_document_post_carries_a_title(em, adapter):
    doc = Media.from_bytes("document", "Annual report.pdf", "application/pdf", PDF)
    published = adapter.publish(
        testing.channel_for(em), _req(f"Report {marker()}", media=(doc,)), MemoryProgress()
    )
    media = _state(em).posts[published.remote_id].content["media"]
    assert media["id"].startswith("urn:li:document:")
    assert media["title"] == "Annual report"


def test_link_posts_become_article_cards(em, adapter):
    published = adapter.publish(
        testing.channel_for(em), _req(f"Read {marker()}", link="https://example.com/post"), MemoryProgress()
    )
    assert _state(em).posts[published.remote_id].content["article"]["source"] == "https://example.com/post"


def test_validation_in_linkedin_terms(adapter):
    assert adapter.validate(Content(text="a" * 3000)) == []
    assert adapter.validate(Content(text="a" * 3001))[0].field == "text"
    video = Media.from_bytes("video", "v.mp4", "video/mp4", b"0" * 100)
    assert adapter.validate(Content(text="x", media=(video,)))
    assert adapter.validate(Content(text="x", poll=Poll("Q?", ("a", "b"))))
    xls = Media.from_bytes("document", "t.xls", "application/vnd.ms-excel", b"0" * 10)
    assert adapter.validate(Content(text="x", media=(xls,)))


def test_emulator_refuses_too_long_commentary_with_422(em):
    with http.client(base_url=em.url, timeout=5) as client:
        response = client.post(
            "/rest/posts",
            headers=wire.headers(emu.DEMO_TOKEN),
            json=wire.post_body(f"urn:li:organization:{emu.DEMO_ORG}", "a" * 3001),
        )
    assert response.status_code == 422
    assert "3000 characters" in response.json()["message"]
    with pytest.raises(errors.Rejected) as refused:
        raise error_for(response, create=True)
    assert "LinkedIn did not accept the post" in refused.value.message


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"LinkedIn-Version": ""}, 400, "VERSION_MISSING"),
        ({"LinkedIn-Version": "202201"}, 426, "NONEXISTENT_VERSION"),
    ],
)
def test_the_version_header_is_required(em, headers, status, code):
    sent = {**wire.headers(emu.DEMO_TOKEN), **headers}
    sent = {k: v for k, v in sent.items() if v}
    with http.client(base_url=em.url, timeout=5) as client:
        response = client.get(f"/rest/organizations/{emu.DEMO_ORG}", headers=sent)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert isinstance(error_for(response, create=False), errors.Rejected)


@pytest.mark.parametrize(
    ("problem", "code"),
    [("expired_token", "EXPIRED_ACCESS_TOKEN"), ("revoked_token", "REVOKED_ACCESS_TOKEN")],
)
def test_token_errors_say_reconnect_linkedin(em, adapter, problem, code):
    with pytest.raises(errors.AuthExpired) as expired:
        adapter.publish(testing.broken_channel(em, problem), _req("x"), MemoryProgress())
    assert "reconnect LinkedIn" in expired.value.message
    assert expired.value.code == wire.CODES[code]
    assert expired.value.needs_person


def test_a_page_the_member_does_not_administer_is_refused(em, adapter):
    with pytest.raises(errors.Rejected) as refused:
        adapter.publish(testing.broken_channel(em, "no_rights"), _req("x"), MemoryProgress())
    assert "page role" in refused.value.message
    info_channel = testing.broken_channel(em, "no_rights")
    info = adapter.verify(info_channel)
    assert info.can_publish is False
    assert info.notes


def test_refresh_gives_a_new_access_token_and_keeps_the_refresh_tokens_end(em, adapter):
    channel = testing.channel_for(em)
    new = adapter.refresh(channel)
    assert new is not None
    assert new["access_token"] != channel.credentials["access_token"]
    assert new["refresh_token"] == channel.credentials["refresh_token"]
    access_end = dt.datetime.fromisoformat(new["access_token_expires_at"])
    assert dt.timedelta(days=59) < access_end - dt.datetime.now(dt.UTC) <= dt.timedelta(days=60)
    refresh_end = dt.datetime.fromisoformat(new["refresh_token_expires_at"])
    assert refresh_end <= dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    refreshed = testing.channel_for(em, credentials=new)
    assert adapter.verify(refreshed).can_publish
    bad = testing.channel_for(em, credentials={**new, "refresh_token": "gone"})
    with pytest.raises(errors.AuthExpired) as grant:
        adapter.refresh(bad)
    assert "reconnect LinkedIn" in grant.value.message
    assert adapter.refresh(testing.channel_for(em, credentials={"access_token": emu.DEMO_TOKEN})) is None


def test_connection_end_is_the_refresh_tokens_end_when_one_can_renew(adapter):
    creds = testing.demo_credentials(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert adapter.connection_expires(creds) == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    alone = {"access_token": "t", "access_token_expires_at": "2026-03-02T00:00:00+00:00"}
    assert adapter.connection_expires(alone) == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def test_a_timeout_on_create_is_reconciled_by_the_commentary_never_resent(em, adapter):
    m = marker()
    request = _req(f"Launch (v2) #{m}")
    channel = testing.channel_for(em, settings={"timeout": 0.5})
    testing.faults(
        em, {"queue": [{"kind": "timeout_after", "method": "posts.create", "count": 1}], "hang_s": 2}
    )
    with pytest.raises(errors.UnknownOutcome):
        adapter.publish(channel, request, MemoryProgress())
    found = adapter.find_published(testing.channel_for(em), request)
    assert found is not None
    assert testing.posts_with(em, m) == 1
    assert adapter.find_published(testing.channel_for(em), _req(f"never sent {marker()}")) is None


def test_the_emulator_has_no_idempotency(em, adapter):
    """The same request twice is two posts: why the engine must never resend (idempotent_publish)."""
    assert adapter.idempotent_publish is False
    m = marker()
    request = _req(f"Twice {m}")
    adapter.publish(testing.channel_for(em), request, MemoryProgress())
    adapter.publish(testing.channel_for(em), request, MemoryProgress())
    assert testing.posts_with(em, m) == 2


def test_share_statistics_grow_with_time(em, adapter):
    channel = testing.channel_for(em)
    post = adapter.publish(channel, _req(f"Stats {marker()}"), MemoryProgress())
    testing.advance_clock(em, 3600)
    early = adapter.post_metrics(channel, [post.remote_id])[0]
    testing.advance_clock(em, 48 * 3600)
    late = adapter.post_metrics(channel, [post.remote_id])[0]
    assert early.remote_id == post.remote_id
    assert late.views is not None and early.views is not None and late.views > early.views > 0
    assert late.reach is not None and late.reach <= late.views
    assert late.likes is not None and late.likes >= (early.likes or 0)
    assert "clicks" in late.extra
    assert adapter.channel_metrics(channel).members == 850


def test_daily_member_limit_answers_429_as_rate_limited():
    running = testing.start(rate_limits=True)
    try:
        _state(running).daily_member_limit = 2
        adapter = LinkedInAdapter()
        channel = testing.channel_for(running)
        adapter.publish(channel, _req("one"), MemoryProgress())
        adapter.publish(channel, _req("two"), MemoryProgress())
        with pytest.raises(errors.RateLimited) as limited:
            adapter.publish(channel, _req("three"), MemoryProgress())
        assert limited.value.nothing_happened
        assert "limiting calls" in limited.value.message
    finally:
        running.stop()


def test_an_answer_without_json_maps_by_status():
    response = httpx.Response(502, text="<html>bad gateway</html>")
    assert isinstance(error_for(response, create=True), errors.UnknownOutcome)
    assert isinstance(error_for(response, create=False), errors.Transient)
    limited = httpx.Response(429, text="", headers={"retry-after": "30"})
    error = error_for(limited, create=True)
    assert isinstance(error, errors.RateLimited)
    assert error.retry_after == 30.0


def test_verify_without_a_page_id_finds_the_page_the_member_administers(em, adapter):
    info = adapter.verify(testing.channel_for(em, remote_id=""))
    assert info.remote_id == emu.DEMO_ORG
    assert info.name == "Rupor Demo Bakery"
    assert info.url == f"https://www.linkedin.com/company/{emu.DEMO_ORG}/"
