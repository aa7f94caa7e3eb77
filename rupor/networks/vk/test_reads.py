"""Which of a community's messages were read: ``messages.getConversationsById`` on the emulator
(as VK documents it: ``peer_ids`` required, at most 100, ``out_read`` the last outgoing message
the person read) and the adapter's ``message_reads`` over it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rupor.core import http
from rupor.networks import registry
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import emulator as emu
from rupor.networks.vk import testing


@pytest.fixture
def vk() -> Iterator[RunningEmulator]:
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


def call(vk: RunningEmulator, method: str, **params: Any) -> dict[str, Any]:
    data = {"v": "5.199", "access_token": emu.GROUP_TOKEN, **{k: str(v) for k, v in params.items()}}
    with http.client(base_url=vk.url, timeout=5) as client:
        answer: dict[str, Any] = client.post(f"/method/{method}", data=data).json()
        return answer


def _send(vk: RunningEmulator, peer: int, text: str, random_id: int) -> int:
    sent = call(vk, "messages.send", peer_id=peer, random_id=random_id, message=text)
    return int(sent["response"])


def test_out_read_is_the_last_message_the_person_read(vk: RunningEmulator) -> None:
    world = testing.state(vk)
    for uid in (10011, 10012):
        world.message_permission(uid, allow=True)
    first = _send(vk, 10011, "one", 1)
    second = _send(vk, 10011, "two", 2)
    other = _send(vk, 10012, "hello", 3)
    answer = call(
        vk, "messages.getConversationsById", peer_ids="10011,10012,10099", group_id=emu.DEMO_GROUP_ID
    )
    items = {i["peer"]["id"]: i for i in answer["response"]["items"]}
    assert set(items) == {10011, 10012}  # no conversation with 10099: left out
    assert answer["response"]["count"] == 2
    assert items[10011]["out_read"] == 0 and items[10011]["last_message_id"] == second
    assert items[10011]["peer"] == {"id": 10011, "type": "user", "local_id": 10011}

    world.read_message(10011, first)
    assert testing._post(vk, "/_emulator/vk/message_read", {"user_id": 10012}) == {"out_read": other}
    items = {
        i["peer"]["id"]: i
        for i in call(vk, "messages.getConversationsById", peer_ids="10011,10012")["response"]["items"]
    }
    assert items[10011]["out_read"] == first and items[10012]["out_read"] == other
    # Answering reads everything before the answer.
    testing._post(vk, "/_emulator/vk/audience_message", {"text": "ok", "user_id": 10011})
    items = {
        i["peer"]["id"]: i
        for i in call(vk, "messages.getConversationsById", peer_ids="10011")["response"]["items"]
    }
    assert items[10011]["out_read"] == second


def test_the_audience_reads_some_messages_by_itself_later(vk: RunningEmulator) -> None:
    world = testing.state(vk)
    people = list(range(10100, 10140))
    for n, uid in enumerate(people):
        world.message_permission(uid, allow=True)
        _send(vk, uid, "news", 100 + n)

    def read_now() -> int:
        found = call(vk, "messages.getConversationsById", peer_ids=",".join(map(str, people)))
        return sum(1 for i in found["response"]["items"] if i["out_read"])

    assert read_now() == 0  # nobody within the first minutes
    testing._post(vk, "/_emulator/clock", {"advance_s": emu.READ_DELAY_S[1] + 60})
    read = read_now()
    # About READ_SHARE of 40, exactly the same on every run (a function of seed and message).
    assert 0.35 * len(people) <= read <= 0.85 * len(people)
    assert read_now() == read


def test_peer_ids_are_required_and_at_most_100(vk: RunningEmulator) -> None:
    missing = call(vk, "messages.getConversationsById")
    assert missing["error"]["error_code"] == 100 and "peer_ids" in missing["error"]["error_msg"]
    many = call(vk, "messages.getConversationsById", peer_ids=",".join(str(10000 + i) for i in range(101)))
    assert many["error"]["error_code"] == 100
    bad = call(vk, "messages.getConversationsById", peer_ids="10011,abc")
    assert bad["error"]["error_code"] == 100


def test_the_adapter_reads_in_calls_of_100(vk: RunningEmulator) -> None:
    world = testing.state(vk)
    sent: dict[str, int] = {}
    people = [str(10200 + i) for i in range(150)]
    for n, uid in enumerate(people):
        world.message_permission(int(uid), allow=True)
        sent[uid] = _send(vk, int(uid), "news", 1000 + n)
    world.read_message(10200)
    world.read_message(10349)
    before = world.calls["messages.getConversationsById"]
    adapter = registry.adapter("vk")
    reads = adapter.message_reads(testing.channel_for(vk), [*people, "not-a-peer", "10200"])
    assert world.calls["messages.getConversationsById"] - before == 2  # 150 people: two calls
    assert reads["10200"] == str(sent["10200"]) and reads["10349"] == str(sent["10349"])
    assert reads["10201"] == ""  # a conversation with nothing read yet
    assert "not-a-peer" not in reads and len(reads) == 150
