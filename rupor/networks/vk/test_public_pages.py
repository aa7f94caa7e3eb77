"""Other communities as VK shows them: closed and private walls are for members, deleted and
blocked communities carry ``deactivated``, posts say their format by their attachments."""

from __future__ import annotations

import pytest

from rupor.networks import errors
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing, wire
from rupor.networks.vk.adapter import VkAdapter

ADAPTER = VkAdapter()


@pytest.fixture(scope="module")
def vk():
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


def test_groups_get_by_id_says_closed_private_and_deactivated(vk):
    access = testing.channel_for(vk, settings={"pace": False})
    groups = ADAPTER.call(
        access,
        "groups.getById",
        {"group_ids": "closed_coffee_club,private_roasters,gone_cafe,banned_brew", "fields": "members_count"},
    )["groups"]
    closed, private, deleted, banned = groups
    assert (closed["is_closed"], private["is_closed"]) == (1, 2)
    assert closed["members_count"] >= 300
    assert deleted["deactivated"] == "deleted" and "members_count" not in deleted
    assert banned["deactivated"] == "banned" and "members_count" not in banned


def test_wall_get_refuses_closed_walls_to_outsiders_but_not_to_members(vk):
    outsider = testing.channel_for(vk, settings={"pace": False})
    for gid in (emu.CLOSED_GROUP_ID, emu.PRIVATE_GROUP_ID):
        with pytest.raises(errors.Rejected) as refused:
            ADAPTER.call(outsider, "wall.get", {"owner_id": -gid})
        assert refused.value.code == wire.Code.ACCESS
    with pytest.raises(errors.Rejected) as blocked:
        ADAPTER.call(outsider, "wall.get", {"owner_id": -emu.BANNED_GROUP_ID})
    assert blocked.value.code == wire.Code.BLOCKED
    # A member reads the closed wall.
    testing.state(vk).groups[emu.CLOSED_GROUP_ID].members[emu.ADMIN_USER_ID] = 0
    items = ADAPTER.call(outsider, "wall.get", {"owner_id": -emu.CLOSED_GROUP_ID})["items"]
    assert [i["text"] for i in items] == ["Members only news"]


def test_public_page_reads_formats_and_refuses_in_words(vk):
    access = testing.channel_for(vk, settings={"pace": False})
    page = ADAPTER.public_page(access, f"https://vk.com/{testing.RIVAL_HANDLE}", limit=50)
    assert page.name == "Bean Brothers" and page.members and len(page.posts) == 10
    assert {p.content_format for p in page.posts} == {"text", "photo", "video", "link"}
    with pytest.raises(errors.Rejected, match="deleted or blocked"):
        ADAPTER.public_page(access, testing.DELETED_HANDLE)
    with pytest.raises(errors.Rejected, match="only its members"):
        ADAPTER.public_page(access, testing.PRIVATE_HANDLE)
    assert wire.post_format({"attachments": [{"type": "link"}, {"type": "photo"}]}) == "photo"
    assert wire.post_format({}) == "text"
