"""A network (or whatever sits at a channel's base URL) answering garbage is a clear error, never
a 500: when connecting, when polling now and when collecting figures now."""

from __future__ import annotations

import importlib

import pytest

from rupor.channels.models import Channel
from rupor.channels.testing import Recorder
from rupor.inbox.testing import connect

NETWORKS = ["vk", "telegram", "ok", "linkedin", "mastodon"]

#: Answers of the right content type and the wrong shape (and some not JSON at all).
GARBAGE = [
    b"not json",
    b"",
    b"null",
    b"[]",
    b"[{}]",
    b'"text"',
    b"{}",
    b"1e999999",
    b'{"ok": true, "response": {}}',
    b'{"response": {}}',
    b'{"response": [{}]}',
    b'{"response": "x"}',
    b'{"response": {"items": [5]}}',
    b'{"response": {"server": 1, "key": null, "ts": []}}',
    b'{"ok": true, "result": {}}',
    b'{"ok": true, "result": "x"}',
    b'{"ok": true, "result": [{}]}',
    b'{"ok": true, "result": {"id": "abc", "type": 5}}',
    b'{"ok": false, "error_code": "x", "parameters": 5}',
    b'{"error": {"error_code": "x"}}',
    b'{"uid": "1"}',
    b'{"members_count": "x"}',
    b'{"error_code": 1e999}',
    b"[" * 3000 + b"]" * 3000,
]


@pytest.fixture
def garbage():
    recorder = Recorder().start()
    yield recorder
    recorder.stop()


@pytest.mark.django_db
@pytest.mark.parametrize("network", NETWORKS)
def test_connect_explains_an_answer_it_cannot_understand(network, garbage, make_workspace, api_for):
    testing = importlib.import_module(f"rupor.networks.{network}.testing")
    api = api_for(make_workspace(), "admin")
    for body in GARBAGE:
        garbage.answer = body
        res = api.post(
            "/channels",
            {
                "network": network,
                "remote_id": str(testing.DEMO_REMOTE_ID),
                "credentials": testing.demo_credentials(),
                "base_url": garbage.url,
            },
        )
        assert 400 <= res.status_code < 500, (body[:80], res.status_code, res.content[:300])
        assert len(res.json()["detail"]) > 20
    assert garbage.requests
    assert Channel.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("network", NETWORKS)
def test_poll_and_collect_now_explain_an_answer_they_cannot_understand(
    network, garbage, make_workspace, api_for
):
    testing = importlib.import_module(f"rupor.networks.{network}.testing")
    ws = make_workspace()
    api = api_for(ws, "owner")
    channel = connect(
        ws, testing.channel_for(garbage, **({"settings": {"pace": False}} if network == "vk" else {}))
    )
    for body in GARBAGE:
        garbage.answer = body
        for path in (f"/channels/{channel.pk}/poll", f"/channels/{channel.pk}/metrics/collect"):
            res = api.post(path, {})
            # A 4xx or the 502 every network failure gets, with a sentence; or a 200 where the
            # answer was harmless (an empty page of updates, figures with notes).
            assert res.status_code in (200, *range(400, 500), 502), (path, body[:80], res.content[:300])
            assert res.status_code == 200 or len(res.json()["detail"]) > 20
