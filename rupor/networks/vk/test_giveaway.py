"""What a giveaway reads from VK, against the emulator: groups.isMember, groups.getMembers
(all pages, and the managers), likes.getList (likes and copies, paged; counts agree with the
post's counters; a community token refused as VK does)."""

from __future__ import annotations

import pytest

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import Content, MemoryProgress, PublishRequest
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing as vk_testing
from rupor.networks.vk.adapter import VkAdapter


@pytest.fixture(scope="module")
def vk():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def _call(emulator, method, token=emu.ADMIN_TOKEN, **params):
    with http.client(base_url=emulator.url, timeout=10) as client:
        return client.post(f"/method/{method}", data={"v": "5.199", "access_token": token, **params}).json()


def test_membership_members_and_managers(vk):
    adapter, access = VkAdapter(), vk_testing.channel_for(vk, settings={"pace": False})
    members = adapter.community_members(access)
    world = vk_testing.state(vk).groups[emu.DEMO_GROUP_ID].members
    assert sorted(members, key=int) == sorted(str(u) for u in world) and len(members) > 300
    assert adapter.community_staff(access) == [str(emu.ADMIN_USER_ID)]
    assert adapter.membership(access, ["10001", "999999"]) == {"10001": True, "999999": False}
    vk_testing.audience_membership(vk, 10001, "leave")
    assert adapter.membership(access, ["10001"]) == {"10001": False}
    assert "10001" not in adapter.community_members(access)
    vk_testing.audience_membership(vk, 10001, "join")
    # The raw shapes, as the schema gives them.
    assert _call(vk, "groups.isMember", group_id=1, user_id=10002)["response"] == 1
    assert _call(vk, "groups.isMember", group_id=1, user_id=10002, extended=1)["response"] == {"member": 1}
    assert _call(vk, "groups.isMember", group_id=1, user_ids="10002,5")["response"] == [
        {"member": 1, "user_id": 10002},
        {"member": 0, "user_id": 5},
    ]


def test_likers_and_reposters_agree_with_the_counters(vk):
    adapter, access = VkAdapter(), vk_testing.channel_for(vk, settings={"pace": False})
    post = adapter.publish(
        access, PublishRequest(Content(text="Giveaway!"), "gv-1"), MemoryProgress()
    ).remote_id
    vk_testing.advance(vk, 3 * 86400)  # the modelled audience likes it over days
    vk_testing.audience_reaction(vk, post, 10005)
    vk_testing.audience_reaction(vk, post, 10006, kind="copy")
    likers = adapter.post_likers(access, post)
    reposters = adapter.post_reposters(access, post)
    assert "10005" in likers and "10006" in reposters and "10006" not in likers
    owner, pid = post.split("_")
    counters = _call(vk, "wall.getById", posts=post)["response"]["items"][0]
    assert counters["likes"]["count"] == len(likers) and counters["reposts"]["count"] == len(reposters)
    # Paging: two pages of one give what one page of all gives.
    first = _call(vk, "likes.getList", type="post", owner_id=owner, item_id=pid, count=1)["response"]
    second = _call(vk, "likes.getList", type="post", owner_id=owner, item_id=pid, count=1, offset=1)[
        "response"
    ]
    assert [str(x) for x in first["items"] + second["items"]] == likers[:2]
    vk_testing.audience_reaction(vk, post, 10005, undo=True)
    assert "10005" not in adapter.post_likers(access, post)
    # likes.getList is for user and service tokens: a community token is error 27.
    refused = _call(vk, "likes.getList", token=emu.GROUP_TOKEN, type="post", owner_id=owner, item_id=pid)
    assert refused["error"]["error_code"] == 27
    with pytest.raises(errors.Rejected):
        adapter.post_likers(access, f"{owner}_999999")
