"""The shared contract every network adapter passes against its own emulator, over real HTTP.

Each network package provides ``testing.py`` (start, channel_for, broken_channel,
audience_comment, posts_with); this suite runs the same checks for all of them.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import registry
from rupor.networks.base import Adapter, Capability, Content, MemoryProgress, PublishRequest
from rupor.networks.errors import AuthExpired, NetworkError, RateLimited, Rejected, Transient, UnknownOutcome

NETWORKS = [
    n for n in registry.NETWORKS if importlib.util.find_spec(f"rupor.networks.{n}.testing") is not None
]

#: Which base-class method implements each capability.
CAPABILITY_METHODS = {
    Capability.EDIT: "edit",
    Capability.DELETE: "delete",
    Capability.PIN: "pin",
    Capability.RECONCILE: "find_published",
    Capability.READ_COMMENTS: "read_comments",
    Capability.REPLY_COMMENT: "reply_comment",
    Capability.HIDE_COMMENT: "hide_comment",
    Capability.DELETE_COMMENT: "delete_comment",
    Capability.BAN_USER: "ban_user",
    Capability.LOOKUP_PEOPLE: "people",
    Capability.READ_MESSAGES: "read_messages",
    Capability.SEND_MESSAGE: "send_message",
    Capability.READ_RECEIPTS: "message_reads",
    Capability.POST_METRICS: "post_metrics",
    Capability.CHANNEL_METRICS: "channel_metrics",
    Capability.PUBLIC_PAGES: "public_page",
    Capability.WEBHOOKS: "handle_webhook",
    Capability.POLL_UPDATES: "poll_updates",
    Capability.VERIFY: "verify",
    Capability.SEARCH_POSTS: "search_posts",
    Capability.REPLY_MENTION: "reply_mention",
    Capability.CHECK_MEMBER: "membership",
    Capability.LIST_MEMBERS: "community_members",
    Capability.LIST_STAFF: "community_staff",
    Capability.LIST_LIKERS: "post_likers",
    Capability.LIST_REPOSTERS: "post_reposters",
    Capability.PUBLISH_TEXT: "publish",
}


@pytest.fixture(params=NETWORKS)
def net(request) -> Iterator[tuple[str, Adapter, ModuleType, Any]]:
    network = request.param
    testing = importlib.import_module(f"rupor.networks.{network}.testing")
    emulator = testing.start()
    try:
        yield network, registry.adapter(network), testing, emulator
    finally:
        emulator.stop()


def _fault(emulator: Any, spec: dict[str, Any]) -> None:
    with http.client(base_url=emulator.url) as c:
        c.post("/_emulator/faults", json=spec).raise_for_status()


def _content(testing: ModuleType, text: str) -> Content:
    """What a post of ``text`` is on the network: the text alone, or what the network's
    ``testing.content_for`` makes of it where a post needs more (a YouTube post is a video)."""
    make = getattr(testing, "content_for", None)
    return make(text) if make is not None else Content(text=text)


def _request(testing: ModuleType, text: str) -> PublishRequest:
    return PublishRequest(_content(testing, text), idempotency_key=uuid.uuid4().hex)


def _quick(channel: Any, seconds: float = 0.5) -> Any:
    return replace(channel, settings={**dict(channel.settings), "timeout": seconds, "pace": False})


@pytest.mark.parametrize("network", NETWORKS)
def test_declared_capabilities_are_implemented(network):
    adapter = registry.adapter(network)
    for capability, method in CAPABILITY_METHODS.items():
        overridden = getattr(type(adapter), method) is not getattr(Adapter, method)
        if capability in adapter.capabilities:
            assert overridden, (network, capability, "declared but not implemented")
    assert adapter.credential_fields, "a person must be told what connecting needs"
    assert adapter.limits.text_unit is not None


def test_verify_accepts_good_credentials_and_explains_bad_ones(net):
    _network, adapter, testing, emulator = net
    info = adapter.verify(testing.channel_for(emulator))
    assert str(info.remote_id) == str(testing.DEMO_REMOTE_ID)
    assert info.name
    with pytest.raises(AuthExpired) as bad:
        adapter.verify(testing.broken_channel(emulator, "bad_token"))
    assert bad.value.message
    assert "token" not in repr(testing.broken_channel(emulator, "bad_token"))
    try:
        limited = adapter.verify(testing.broken_channel(emulator, "no_rights"))
    except (Rejected, AuthExpired) as exc:
        assert exc.message
    else:  # or it answers, saying in plain words why it cannot publish
        assert limited.can_publish is False
        assert limited.notes


def test_publish_then_delete_exactly_once(net):
    _network, adapter, testing, emulator = net
    channel = testing.channel_for(emulator)
    marker = f"contract-{uuid.uuid4().hex[:8]}"
    published = adapter.publish(channel, _request(testing, f"Hello from Rupor {marker}"), MemoryProgress())
    assert published.remote_id
    assert testing.posts_with(emulator, marker) == 1
    if Capability.DELETE in adapter.capabilities:
        adapter.delete(channel, published.remote_id)
        assert testing.posts_with(emulator, marker) == 0


def test_timeout_after_the_side_effect_is_an_unknown_outcome(net):
    network, adapter, testing, emulator = net
    channel = _quick(testing.channel_for(emulator))
    marker = f"timeout-{uuid.uuid4().hex[:8]}"
    request = _request(testing, f"Post {marker}")
    _fault(emulator, {"hang_s": 2, "p_timeout_after": 1.0, "methods": list(_publish_methods(network))})
    with pytest.raises(UnknownOutcome):
        adapter.publish(channel, request, MemoryProgress())
    _fault(emulator, {"p_timeout_after": 0.0, "methods": []})
    assert testing.posts_with(emulator, marker) == 1  # it happened, the client just never heard
    if adapter.idempotent_publish:
        again = adapter.publish(testing.channel_for(emulator), request, MemoryProgress())
        assert again.remote_id
        assert testing.posts_with(emulator, marker) == 1  # same key: no second post
    elif Capability.RECONCILE in adapter.capabilities:
        found = adapter.find_published(testing.channel_for(emulator), request)
        assert found is not None
        assert found.remote_id


def test_reset_and_5xx_and_429_map_to_the_taxonomy(net):
    network, adapter, testing, emulator = net
    channel = _quick(testing.channel_for(emulator))
    methods = list(_publish_methods(network))
    _fault(emulator, {"queue": [{"kind": "429", "method": m, "count": 1} for m in methods[:1]]})
    with pytest.raises(RateLimited) as limited:
        adapter.publish(channel, _request(testing, "rate limited"), MemoryProgress())
    assert limited.value.nothing_happened
    _fault(emulator, {"queue": [{"kind": "5xx", "method": methods[0], "count": 1}]})
    with pytest.raises((Transient, UnknownOutcome)):
        adapter.publish(channel, _request(testing, "server error"), MemoryProgress())
    _fault(emulator, {"queue": [{"kind": "reset", "method": methods[0], "count": 1}]})
    with pytest.raises(UnknownOutcome):
        adapter.publish(channel, _request(testing, "reset"), MemoryProgress())


def test_connection_refused_is_transient(net):
    _network, adapter, testing, emulator = net
    channel = replace(testing.channel_for(emulator), base_url="http://127.0.0.1:9")
    http.allow_origin("http://127.0.0.1:9")
    with pytest.raises(Transient):
        adapter.publish(_quick(channel), _request(testing, "nobody listens"), MemoryProgress())


def test_comments_round_trip(net):
    network, adapter, testing, emulator = net
    if Capability.READ_COMMENTS not in adapter.capabilities:
        pytest.skip(f"{network} cannot read comments")
    channel = testing.channel_for(emulator)
    post = adapter.publish(channel, _request(testing, "Tell us what you think"), MemoryProgress())
    comment_id = testing.audience_comment(emulator, post.remote_id, "Love it!")
    comments = adapter.read_comments(channel, post.remote_id)
    assert any(c.remote_id == str(comment_id) and "Love it!" in c.text for c in comments)
    if Capability.REPLY_COMMENT in adapter.capabilities:
        reply = adapter.reply_comment(
            channel, post.remote_id, "Thank you!", reply_to=str(comment_id), idempotency_key=uuid.uuid4().hex
        )
        assert reply.remote_id
        texts = [c.text for c in adapter.read_comments(channel, post.remote_id)]
        assert "Thank you!" in texts


def test_commenters_can_be_looked_up_in_one_batch(net):
    """The inbox asks for the profiles of everyone who wrote, in batches: each person comes back
    once with a name and a link; avatars are public http(s) pictures; unknown ids are left out."""
    network, adapter, testing, emulator = net
    if Capability.LOOKUP_PEOPLE not in adapter.capabilities:
        pytest.skip(f"{network} cannot look people up")
    channel = testing.channel_for(emulator)
    post = adapter.publish(channel, _request(testing, "Who are you?"), MemoryProgress())
    testing.audience_comment(emulator, post.remote_id, "Me!")
    authors = {c.author.remote_id for c in adapter.read_comments(channel, post.remote_id)}
    found = adapter.people(channel, [*sorted(authors), *sorted(authors), "999999999999"])
    assert {p.remote_id for p in found} == authors
    for person in found:
        assert person.name and person.url
        assert person.avatar_url is None or person.avatar_url.startswith("https://")
        assert person.followers is None or person.followers >= 0
    assert adapter.people(channel, []) == []


def test_comments_of_a_post_deleted_on_the_network_are_none(net):
    """Someone deleted the post in the network's own app: it has no comments left, which is not
    a failure of the channel (polling goes on without recording an error)."""
    network, adapter, testing, emulator = net
    if Capability.READ_COMMENTS not in adapter.capabilities or Capability.DELETE not in adapter.capabilities:
        pytest.skip(f"{network} cannot read comments or delete posts")
    channel = testing.channel_for(emulator)
    post = adapter.publish(channel, _request(testing, "Here today"), MemoryProgress())
    testing.audience_comment(emulator, post.remote_id, "First!")
    adapter.delete(channel, post.remote_id)
    assert list(adapter.read_comments(channel, post.remote_id)) == []


def test_validation_counts_in_the_network_unit(net):
    _network, adapter, testing, _emulator = net
    assert adapter.validate(Content(text="")) != []  # empty posts are refused everywhere
    limit = adapter.limits.text_max
    if limit is not None:
        assert adapter.validate(_content(testing, "a" * limit)) == []
        problems = adapter.validate(_content(testing, "a" * (limit + 1)))
        assert problems
        assert problems[0].field == "text"


def test_errors_never_carry_credentials(net):
    _network, adapter, testing, emulator = net
    channel = testing.broken_channel(emulator, "bad_token")
    secrets = [v for v in channel.credentials.values() if len(v) >= 8]
    try:
        adapter.publish(_quick(channel), _request(testing, "x"), MemoryProgress())
    except NetworkError as exc:
        for secret in secrets:
            assert secret not in exc.message
            assert secret not in exc.excerpt
            assert secret not in str(exc)
    assert all(s not in repr(channel) for s in secrets)


def _publish_methods(network: str) -> tuple[str, ...]:
    return {
        "vk": ("wall.post",),
        "telegram": ("sendMessage",),
        "ok": ("mediatopic.post",),
        "x": ("POST /2/tweets",),
        "bluesky": ("com.atproto.repo.putRecord",),
        "linkedin": ("posts.create",),
        "mastodon": ("statuses.create",),
        "facebook": ("POST feed",),
        "instagram": ("media_publish",),
        "youtube": ("videos.insert",),
    }.get(network, ())
