"""The audience in the inbox: authors' profiles looked up in batches over real HTTP, the priority
the list sorts by, unanswered questions, and the opinion leaders ranked from the reply graph."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rupor.core import clock
from rupor.inbox import audience, priority
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect, publish
from rupor.networks.base import Comment, Event, EventKind, Message, Person
from rupor.networks.ok import testing as ok_testing
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import emulator as vk_emulator
from rupor.networks.vk import testing as vk_testing

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def vk(vk_emu, make_workspace, api_for):
    ws = make_workspace("VK shop")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    return ws, channel, access, api_for(ws, "owner")


def _item(channel: Any, remote_id: str, **fields: Any) -> InboxItem:
    values: dict[str, Any] = {
        "workspace_id": channel.workspace_id,
        "channel": channel,
        "kind": "comment",
        "remote_id": remote_id,
        "conversation_remote_id": "-1_1",
        "author_remote_id": f"9{remote_id}",
        "author_name": f"Author {remote_id}",
        "text": f"text {remote_id}",
        **fields,
    }
    return InboxItem.objects.create(**values)


def test_authors_are_looked_up_once_per_poll_in_one_batch(vk, vk_emu):
    """Three comments by two people: one users.get call for both, their avatar and followers
    as VK gives them on every item, shown by the API; the next poll asks nothing again."""
    _ws, channel, access, api = vk
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200  # the long-poll cursor
    target = publish(channel, access, "Which cake do you like? #people")
    first = vk_testing.audience_comment(vk_emu, target.remote_id, "Napoleon!", user_id=20001)
    vk_testing.audience_comment(vk_emu, target.remote_id, "Medovik", user_id=20002)
    vk_testing.audience_comment(
        vk_emu, target.remote_id, "Also the cheesecake", user_id=20001, reply_to=first
    )
    state = vk_testing.state(vk_emu)
    before = state.calls["users.get"]
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
    assert state.calls["users.get"] == before + 1
    items = InboxItem.objects.filter(channel=channel, author_remote_id__in=["20001", "20002"])
    assert items.count() == 3
    for item in items:
        uid = int(item.author_remote_id)
        assert item.author_avatar_url == f"https://vk.com/images/camera_100.png?u={uid}"
        assert item.author_followers == state.followers(uid)
        assert item.author_looked_up_at is not None
        assert item.author_name  # long poll brings no names; the lookup gave them
    listed = {i["author_remote_id"]: i for i in api.get("/inbox", sort="urgent").json()}
    assert listed["20002"]["author_followers"] == state.followers(20002)
    assert listed["20002"]["author_avatar_url"].startswith("https://vk.com/images/")
    assert isinstance(listed["20002"]["priority"], float)
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
    assert state.calls["users.get"] == before + 1  # nobody new: nothing asked


def test_ok_gives_pictures_but_no_followers(make_workspace, api_for):
    emulator = ok_testing.start(rate_limits=False)
    try:
        ws = make_workspace("OK")
        access = ok_testing.channel_for(emulator)
        channel = connect(ws, access)
        target = publish(channel, access, "Bread of the day")
        comment_id = ok_testing.audience_comment(emulator, target.remote_id, "Rye, please")
        assert api_for(ws, "owner").post(f"/channels/{channel.pk}/poll", {}).status_code == 200
        item = InboxItem.objects.get(channel=channel, remote_id=comment_id)
        assert item.author_avatar_url.startswith("https://i.mycdn.me/")
        assert item.author_followers is None  # OK does not say how many follow a person
        assert item.author_looked_up_at is not None
    finally:
        emulator.stop()


def test_telegram_items_keep_no_profile(make_workspace):
    """Telegram has no follower count for people and its photo links carry the bot token, so
    Telegram items have neither (and nothing is looked up)."""
    ws = make_workspace("TG")
    nowhere = type("E", (), {"url": "http://127.0.0.1:9"})()
    channel = connect(ws, tg_testing.channel_for(nowhere))
    person = Person("501", "Dana", None)
    message = Message("m1", "501", person, "Hello?", clock.now())
    inbox.ingest_events(
        channel.pk, [Event(EventKind.MESSAGE_NEW, "m1", channel.remote_id, clock.now(), message=message)]
    )
    item = InboxItem.objects.get(channel=channel)
    assert item.author_avatar_url == "" and item.author_followers is None


def test_priority_in_python_and_in_the_database_agree_and_order_the_list(vk):
    _ws, channel, _access, _api = vk
    now = clock.now()
    made = [
        _item(channel, "1", label="complaint", occurred_at=now - dt.timedelta(hours=5)),
        _item(channel, "2", label="question", occurred_at=now - dt.timedelta(minutes=5)),
        _item(
            channel,
            "3",
            label="question",
            occurred_at=now - dt.timedelta(minutes=5),
            author_followers=250_000,
        ),
        _item(channel, "4", label="praise", occurred_at=now, author_followers=90),
        _item(channel, "5", label="complaint", status="answered", occurred_at=now - dt.timedelta(days=4)),
        _item(channel, "6", label="question", occurred_at=now - dt.timedelta(days=5)),
        _item(channel, "7", label="spam", occurred_at=now - dt.timedelta(days=5), author_followers=10**6),
        _item(channel, "8", outgoing=True, occurred_at=now),
        _item(channel, "9", occurred_at=now - dt.timedelta(days=9)),  # not triaged yet
    ]
    listed = list(inbox.list_items(channel.workspace_id, inbox.Filters(urgent_first=True)))
    by_id = {i.pk: i for i in listed}
    for item in made:
        assert round(by_id[item.pk].priority, 2) == priority.priority_of(item, now), item.remote_id  # type: ignore[attr-defined]  # annotated by list_items
    order = [i.remote_id for i in listed]
    # Reach lifts a fresh question (25 + 25) above a five-hour-old complaint (40 + 8), which
    # stays above a question waiting five days (25 + 20); then the fresh question, the praise
    # by someone followed (reach only); the answered complaint keeps a tenth; our own reply and
    # spam (whoever sent it) are 0, and the item triage has not read yet has nothing either.
    assert order[:5] == ["3", "1", "6", "2", "4"]
    assert order[5] == "5"
    assert set(order[6:]) == {"7", "8", "9"}
    assert priority.priority_of(made[2], now) - priority.priority_of(made[1], now) == 25.0  # capped reach
    assert priority.priority_of(made[7], now) == 0.0


def test_unanswered_questions_exclude_those_answered_on_the_network(vk):
    """A reply the channel wrote in VK itself answers the question too: it arrives as ours,
    marks the question answered, and the question leaves the unanswered filter."""
    _ws, channel, _access, api = vk
    now = clock.now()
    asked = _item(channel, "-1_50", label="question", occurred_at=now - dt.timedelta(hours=2))
    other = _item(channel, "-1_51", label="question", occurred_at=now - dt.timedelta(hours=1))
    _item(channel, "-1_52", label="praise")
    # An older reply of ours stored before the status followed (an earlier Rupor version).
    _item(channel, "-1_53", outgoing=True, parent_remote_id="-1_51", author_remote_id="-1")
    got = api.get("/inbox", label="question", unanswered=True).json()
    assert [i["remote_id"] for i in got] == ["-1_50"]
    ours = Comment("-1_60", "-1_1", Person("-1"), "Yes, until 9 pm", now, parent_remote_id="-1_50")
    event = Event(EventKind.COMMENT_NEW, "-1_60", "1", now, comment=ours, post_remote_id="-1_1")
    inbox.ingest_events(channel.pk, [event])
    asked.refresh_from_db()
    other.refresh_from_db()
    assert asked.status == "answered"
    assert api.get("/inbox", label="question", unanswered=True).json() == []


def test_an_outgoing_message_answers_the_earlier_ones_of_its_conversation(vk):
    _ws, channel, _access, _api = vk
    now = clock.now()
    person = Person("777", "Ivan")
    events = [
        Event(
            EventKind.MESSAGE_NEW,
            rid,
            "1",
            at,
            message=Message(rid, "777", person if not out else Person("-1"), text, at, outgoing=out),
        )
        for rid, text, at, out in (
            ("m1", "Are you open?", now - dt.timedelta(minutes=10), False),
            ("m2", "Yes, until 9", now - dt.timedelta(minutes=5), True),
            ("m3", "Thanks! And Sunday?", now, False),
        )
    ]
    inbox.ingest_events(channel.pk, events)
    status = dict(
        InboxItem.objects.filter(channel=channel, kind="message").values_list("remote_id", "status")
    )
    assert status == {"m1": "answered", "m2": "answered", "m3": "new"}


def test_pagerank_follows_replies():
    # 0 and 1 answer 2; 2 answers nobody; 3 is alone.
    rank = audience.pagerank(4, [(0, 2, 1.0), (1, 2, 2.0)])
    assert abs(sum(rank) - 1) < 1e-9
    assert rank[2] == max(rank)
    assert rank[0] == pytest.approx(rank[1]) == pytest.approx(rank[3])
    assert audience.pagerank(0, []) == []


def test_opinion_leaders_rank_who_is_answered_and_active(vk, vk_emu, api_for, make_workspace):
    """Built over real polling: Anna posts on two posts and three people answer her; Boris
    answers once; the channel's own reply and spam do not count."""
    _ws, channel, access, api = vk
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
    one = publish(channel, access, "Post one #leaders")
    two = publish(channel, access, "Post two #leaders")
    anna, boris, vera, gleb, spammer = 30001, 30002, 30003, 30004, 30005
    a1 = vk_testing.audience_comment(vk_emu, one.remote_id, "I think the rye is best", user_id=anna)
    vk_testing.audience_comment(vk_emu, two.remote_id, "And the new croissant is great", user_id=anna)
    for who in (boris, vera, gleb):
        vk_testing.audience_comment(vk_emu, one.remote_id, "Agree with you", user_id=who, reply_to=a1)
    vk_testing.audience_comment(vk_emu, one.remote_id, "WIN A PRIZE click now", user_id=spammer, reply_to=a1)
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
    InboxItem.objects.filter(channel=channel, author_remote_id=str(spammer)).update(label="spam")
    res = api.get("/inbox/people", days=7)
    assert res.status_code == 200, res.content
    people = res.json()
    top = people[0]
    assert top["remote_id"] == str(anna)
    assert top["items"] == 2 and top["posts"] == 2
    assert top["replies_received"] == 3 and top["repliers"] == 3
    assert top["influence"] == 1.0
    assert top["url"] == f"https://vk.com/id{anna}"
    assert top["followers"] == vk_testing.state(vk_emu).followers(anna)
    assert top["avatar_url"].startswith("https://vk.com/images/")
    assert [i["text"] for i in top["latest"]] == ["And the new croissant is great", "I think the rye is best"]
    assert str(spammer) not in {p["remote_id"] for p in people}
    assert "1" not in {p["remote_id"].lstrip("-") for p in people}  # the channel itself
    assert all(0 <= p["score"] <= 100 for p in people)
    assert [p["score"] for p in people] == sorted((p["score"] for p in people), reverse=True)
    # Per channel and network, bad input, other workspaces.
    assert api.get("/inbox/people", channel_id=channel.pk).json()[0]["remote_id"] == str(anna)
    assert api.get("/inbox/people", network="ok").json() == []
    bad = api.get("/inbox/people", days=0)
    assert bad.status_code == 422
    stranger = api_for(make_workspace("Other"), "owner")
    assert stranger.get("/inbox/people").json() == []
    assert stranger.get("/inbox/people", channel_id=channel.pk).status_code == 404
    # Items written before the period drop out.
    clock_now = clock.now()
    InboxItem.objects.filter(channel=channel, author_remote_id=str(anna)).update(
        occurred_at=clock_now - dt.timedelta(days=40)
    )
    assert str(anna) not in {p["remote_id"] for p in api.get("/inbox/people", days=30).json()}


def test_deleted_vk_pages_have_no_profile_but_keep_their_items(vk, vk_emu):
    _ws, channel, access, api = vk
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
    target = publish(channel, access, "Anyone there? #deleted")
    vk_testing.audience_comment(vk_emu, target.remote_id, "Me", user_id=vk_emulator.DEACTIVATED_USER_ID)
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
    item = InboxItem.objects.get(channel=channel, author_remote_id=str(vk_emulator.DEACTIVATED_USER_ID))
    assert item.author_avatar_url == "" and item.author_followers is None
    assert item.author_looked_up_at is not None
