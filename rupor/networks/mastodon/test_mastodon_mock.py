"""Rupor's Mastodon adapter against a server nobody here wrote: ``mastodon-mock`` (PyPI,
https://github.com/matthewdeanmartin/mastodon_mock), a stateful FastAPI/SQLite implementation
of the Mastodon REST API, started as a real HTTP server on a free port.

Where mastodon-mock differs from the real API, the adapter follows the real API and the test
says so:

* ``POST /api/v2/media`` always answers 200 with the processed attachment; real instances
  answer 202 (``url: null``) for video and large files and 206 on ``GET /api/v1/media/:id``
  until processing ends (the emulator's tests cover that path);
* it enforces no rate limits and sends no ``X-RateLimit-*`` headers;
* its form parser does not read Rails-style nested keys (``poll[options][]``), which a real
  instance does; Rupor sends ``POST /api/v1/statuses`` as JSON, which both accept;
* it applies no instance character limit to ``POST /api/v1/statuses``;
* its seeded tokens belong to no application, so ``GET /api/v1/apps/verify_credentials`` refuses
  them (on a real instance every token has one); the test gets its token the real way instead:
  Rupor registers its application, the account's owner picks the account on the authorize page,
  Rupor exchanges the code.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import ChannelAccess, Content, Media, MemoryProgress, Poll, PublishRequest
from rupor.networks.mastodon import adapter as mastodon
from rupor.networks.mastodon.adapter import MastodonAdapter

server_module = pytest.importorskip(
    "mastodon_mock.testing.server", reason="mastodon-mock is a test dependency"
)

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture(scope="module")
def server():
    with server_module.MockServer() as running:
        http.allow_origin(running.base_url)
        yield running


@pytest.fixture(scope="module")
def token(server) -> str:
    """OAuth as a person does it: register Rupor, approve it as ``alice``, exchange the code."""
    app = mastodon.register_app(server.base_url)
    url = mastodon.authorize_url(server.base_url, app["client_id"])
    with http.client(timeout=10) as c:
        assert c.get(url).status_code == 200
        page = c.post(
            f"{server.base_url}/oauth/authorize",
            data={
                "username": "alice",
                "client_id": app["client_id"],
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                "scope": "read write",
            },
        )
    code = re.search(r"Authorization code: (\S+?)<", page.text)
    assert code, page.text[:300]
    return mastodon.exchange_code(server.base_url, app["client_id"], app["client_secret"], code.group(1))


@pytest.fixture
def channel(server, token):
    probe = ChannelAccess("mastodon", "", {"access_token": token}, server.base_url, {})
    info = MastodonAdapter().verify(probe)
    assert info.can_publish, info.notes
    return ChannelAccess("mastodon", info.remote_id, {"access_token": token}, server.base_url, {})


def read_back(server, remote_id: str) -> Any:
    with http.client(base_url=server.base_url, timeout=10) as c:
        response = c.get(f"/api/v1/statuses/{remote_id}", headers={"Authorization": "Bearer alice_token"})
        response.raise_for_status()
        return response.json()


def publish(channel, content: Content, key: str | None = None):
    request = PublishRequest(content, idempotency_key=key or uuid.uuid4().hex)
    return MastodonAdapter().publish(channel, request, MemoryProgress())


def test_verify_reads_the_account_and_the_servers_limits(server, token):
    info = MastodonAdapter().verify(
        ChannelAccess("mastodon", "", {"access_token": token}, server.base_url, {})
    )
    assert info.name and info.remote_id
    assert info.limits.get("text_max", 0) > 0


def test_status_with_warning_visibility_and_language_is_read_back(server, channel):
    marker = uuid.uuid4().hex[:8]
    options = {"spoiler_text": "Spoilers", "visibility": "unlisted", "language": "en"}
    published = publish(channel, Content(text=f"Hello from Rupor {marker}", options=options))
    got = read_back(server, published.remote_id)
    assert marker in got["content"]
    assert (got["spoiler_text"], got["visibility"], got["language"]) == ("Spoilers", "unlisted", "en")


def test_the_same_target_twice_is_one_status(server, channel):
    content = Content(text=f"Once only {uuid.uuid4().hex[:8]}")
    first = publish(channel, content, key="mock-target-1")
    again = publish(channel, content, key="mock-target-1")
    assert first.remote_id == again.remote_id


def test_media_with_alt_text(server, channel):
    photo = Media.from_bytes("photo", "pic.png", "image/png", PNG)
    published = publish(channel, Content(text="A picture", media=(photo,), options={"alt": ["A test card"]}))
    media = read_back(server, published.remote_id)["media_attachments"]
    assert len(media) == 1
    assert media[0]["type"] == "image"
    assert media[0]["description"] == "A test card"


def test_poll(server, channel):
    published = publish(
        channel, Content(text="Tea or coffee?", poll=Poll("Tea or coffee?", ("Tea", "Coffee"), multiple=True))
    )
    poll = read_back(server, published.remote_id)["poll"]
    assert [o["title"] for o in poll["options"]] == ["Tea", "Coffee"]
    assert poll["multiple"] is True


def test_metrics_replies_and_delete(server, channel):
    adapter = MastodonAdapter()
    published = publish(channel, Content(text="Count me"))
    metrics = adapter.post_metrics(channel, [published.remote_id])
    assert [m.remote_id for m in metrics] == [published.remote_id]
    assert metrics[0].likes == 0 and metrics[0].reposts == 0
    reply = adapter.reply_comment(channel, published.remote_id, "A reply", idempotency_key=uuid.uuid4().hex)
    assert reply.remote_id in [c.remote_id for c in adapter.read_comments(channel, published.remote_id)]
    adapter.delete(channel, published.remote_id)
    assert adapter.read_comments(channel, published.remote_id) == []


def test_a_bad_token_is_auth_expired(server):
    channel = ChannelAccess("mastodon", "", {"access_token": "not-a-token"}, server.base_url, {})
    with pytest.raises(errors.AuthExpired):
        MastodonAdapter().verify(channel)
