"""VK's declared rate limits (docs/networks.md §1.3) and the shared call window working with the engine."""

from __future__ import annotations

import threading
import uuid

from rupor.networks import errors
from rupor.networks.base import ChannelAccess, Content, Media, MemoryProgress, Poll, PublishRequest
from rupor.networks.vk import testing
from rupor.networks.vk.adapter import VkAdapter
from rupor.publishing import ratelimit

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
USER_TOKEN = "vk1.a.user-secret-token-text"
GROUP_TOKEN = "vk1.a.community-secret-token-text"
adapter = VkAdapter()


def channel(**credentials: str) -> ChannelAccess:
    creds = {"user_token": USER_TOKEN, "group_token": GROUP_TOKEN, **credentials}
    return ChannelAccess("vk", "123", creds)


def photos(n: int) -> tuple[Media, ...]:
    return tuple(Media.from_bytes("photo", f"{i}.png", "image/png", PNG) for i in range(n))


def by_key(limits):
    return {lim.key.split(":")[1]: lim for lim in limits}


def test_text_post_is_one_user_token_call_at_3_per_second():
    limits = by_key(adapter.rate_limits(channel(), Content(text="hi")))
    assert set(limits) == {"user"}
    user = limits["user"]
    assert (user.limit, user.per_s, user.cost) == (3, 1.0, 1)


def test_costs_count_every_api_call_per_token():
    # 3 photos: getWallUploadServer + 3 saveWallPhoto + polls.create + wall.post on the user token;
    # the first comment is wall.createComment on the community token (20/s).
    content = Content(text="x", media=photos(3), poll=Poll("Q?", ("a", "b")), first_comment="first")
    limits = by_key(adapter.rate_limits(channel(), content))
    assert limits["user"].cost == 6
    assert (limits["community"].limit, limits["community"].per_s, limits["community"].cost) == (20, 1.0, 1)


def test_cost_grows_with_photos():
    costs = [
        by_key(adapter.rate_limits(channel(), Content(text="x", media=photos(n))))["user"].cost
        for n in range(5)
    ]
    assert costs == [1, 3, 4, 5, 6]
    assert by_key(adapter.rate_limits(channel(), None))["user"].cost == 1


def test_keys_carry_no_secret_and_follow_the_token():
    limits = adapter.rate_limits(channel(), Content(text="x", first_comment="c"))
    for lim in limits:
        assert USER_TOKEN not in lim.key and GROUP_TOKEN not in lim.key
        assert "secret" not in lim.key
    # Channels sharing a token share the bucket; another token is another bucket.
    other_channel = ChannelAccess("vk", "456", {"user_token": USER_TOKEN, "group_token": "other"})
    assert by_key(adapter.rate_limits(other_channel))["user"].key == by_key(limits)["user"].key
    assert (
        by_key(adapter.rate_limits(channel(user_token="another")))["user"].key != by_key(limits)["user"].key
    )


def test_engine_limits_plus_call_window_keep_concurrent_multi_call_publishes_under_vk_limits():
    """Two 'workers' publish photo posts through the engine's limiter against an emulator that
    enforces 3/s per user token: none of them meets error 6."""
    running = testing.start()  # rate limits on
    previous = ratelimit.use("memory")
    failures: list[BaseException] = []
    try:
        access = testing.channel_for(running)

        def worker(n: int) -> None:
            for i in range(2):
                content = Content(text=f"paced {n}.{i}", media=photos(2))
                limits = adapter.rate_limits(access, content)
                assert ratelimit.acquire(limits, max_wait=30) == 0
                try:
                    adapter.publish(access, PublishRequest(content, uuid.uuid4().hex), MemoryProgress())
                except errors.NetworkError as exc:  # pragma: no cover - the assertion reports it
                    failures.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert testing.posts_with(running, "paced") == 4
    finally:
        ratelimit.use(previous)
        testing.state(running).stop()
        running.stop()
