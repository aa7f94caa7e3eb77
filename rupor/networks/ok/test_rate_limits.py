"""OK's declared rate limit (none is published: docs/networks.md §3.2) matches the emulator's throttle,
and fault injection selects OK calls by method name whatever way the method is sent."""

from __future__ import annotations

import pytest

from rupor.core import http
from rupor.networks.base import ChannelAccess, Content, Media
from rupor.networks.ok import emulator as emu
from rupor.networks.ok import testing, wire
from rupor.networks.ok.adapter import ASSUMED_REQUESTS_PER_SECOND, OkAdapter

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
adapter = OkAdapter()


def photos(n: int) -> tuple[Media, ...]:
    return tuple(Media.from_bytes("photo", f"{i}.png", "image/png", PNG) for i in range(n))


def demo_channel() -> ChannelAccess:
    return ChannelAccess("ok", emu.DEMO_GID, testing.demo_credentials())


def test_one_bucket_per_token_at_the_emulators_rate():
    (limit,) = adapter.rate_limits(demo_channel(), Content(text="hi"))
    assert (limit.limit, limit.per_s, limit.cost) == (ASSUMED_REQUESTS_PER_SECOND, 1.0, 1)
    assert emu.OkEmulatorState().requests_per_second == ASSUMED_REQUESTS_PER_SECOND
    assert emu.DEMO_TOKEN not in limit.key and emu.DEMO_APP_SECRET not in limit.key
    assert emu.DEMO_APP_KEY not in limit.key


def test_cost_counts_upload_url_post_and_first_comment():
    cost = [adapter.rate_limits(demo_channel(), Content(text="x", media=photos(n)))[0].cost for n in range(4)]
    # One photosV2.getUploadUrl serves every photo of the post; the upload goes to upload.jsp.
    assert cost == [1, 2, 2, 2]
    assert (
        adapter.rate_limits(demo_channel(), Content(text="x", media=photos(2), first_comment="c"))[0].cost
        == 3
    )


def test_channels_sharing_a_token_share_the_bucket():
    other = ChannelAccess("ok", "999", testing.demo_credentials())
    assert adapter.rate_limits(other)[0].key == adapter.rate_limits(demo_channel())[0].key
    creds = {**testing.demo_credentials(), "access_token": "another"}
    assert (
        adapter.rate_limits(ChannelAccess("ok", "999", creds))[0].key
        != adapter.rate_limits(demo_channel())[0].key
    )


@pytest.fixture
def em():
    running = testing.start(rate_limits=False, seed=3)
    yield running
    running.stop()


def _signed(method: str, **params: str) -> dict[str, str]:
    return wire.signed_params(
        method,
        params,
        application_key=emu.DEMO_APP_KEY,
        application_secret_key=emu.DEMO_APP_SECRET,
        access_token=emu.DEMO_TOKEN,
    )


def _post_topic(i: int) -> dict[str, str]:
    attachment = '{"media":[{"type":"text","text":"fault probe ' + str(i) + '"}]}'
    return _signed("mediatopic.post", type="GROUP_THEME", gid=emu.DEMO_GID, attachment=attachment)


def test_faults_fire_for_the_named_method_only(em):
    with http.client(base_url=em.url, timeout=5) as client:
        client.post(
            "/_emulator/faults", json={"p_5xx": 0.1, "methods": ["mediatopic.post"], "seed": 4}
        ).raise_for_status()
        failed = sum(client.post("/fb.do", data=_post_topic(i)).status_code >= 500 for i in range(200))
        others = sum(
            client.post("/fb.do", data=_signed("users.getCurrentUser")).status_code >= 500 for _ in range(50)
        )
        injected = client.get("/_emulator/faults").json()["injected"]
    assert 8 <= failed <= 35  # about 10% of 200
    assert others == 0
    assert injected == {"5xx": failed}


@pytest.mark.parametrize("how", ["form", "query", "multipart", "api-path", "other-case"])
def test_method_is_found_however_the_call_is_sent(em, how):
    with http.client(base_url=em.url, timeout=5) as client:
        client.post(
            "/_emulator/faults", json={"queue": [{"kind": "5xx", "method": "mediatopic.post"}]}
        ).raise_for_status()
        params = _post_topic(0)
        if how == "form":
            answer = client.post("/fb.do", data=params)
        elif how == "query":
            answer = client.post("/fb.do", params=params)
        elif how == "multipart":
            answer = client.post("/fb.do", files={k: (None, v) for k, v in params.items()})
        elif how == "api-path":
            rest = {k: v for k, v in params.items() if k != "method"}
            answer = client.post("/api/mediatopic/post", data=rest)
        else:
            # OK method names are case-insensitive: the emulator runs "MediaTopic.post" as mediatopic.post.
            cased = wire.signed_params(
                "MediaTopic.post",
                {
                    k: v
                    for k, v in params.items()
                    if k not in ("method", "sig", "access_token", "application_key", "format")
                },
                application_key=emu.DEMO_APP_KEY,
                application_secret_key=emu.DEMO_APP_SECRET,
                access_token=emu.DEMO_TOKEN,
            )
            answer = client.post("/fb.do", data=cased)
        queue_left = client.get("/_emulator/faults").json()["queue"]
    assert answer.status_code == 502, answer.text
    assert queue_left == 0
    assert testing.posts_with(em, "fault probe") == 0


def test_an_unmatched_call_is_not_faulted(em):
    with http.client(base_url=em.url, timeout=5) as client:
        client.post(
            "/_emulator/faults", json={"queue": [{"kind": "5xx", "method": "mediatopic.post"}]}
        ).raise_for_status()
        answer = client.post("/fb.do", data=_signed("users.getCurrentUser"))
        assert client.get("/_emulator/faults").json()["queue"] == 1
    assert answer.status_code == 200 and "uid" in answer.json()
