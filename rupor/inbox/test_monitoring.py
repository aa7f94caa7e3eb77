"""Keyword monitoring and mentions end to end: emulators over real HTTP → the search job or the
intake → the inbox as mentions, once; answered where they were made; failures back off."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels.models import Channel
from rupor.cli.main import cli
from rupor.core import clock
from rupor.inbox import jobs, monitoring
from rupor.inbox import service as inbox_service
from rupor.inbox.models import InboxItem, MentionInfo, MonitoredKeyword
from rupor.inbox.testing import connect
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import emulator as vk_emu_module
from rupor.networks.vk import testing as vk_testing

pytestmark = pytest.mark.django_db


@pytest.fixture
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def vk(vk_emu, make_workspace, api_for):
    ws = make_workspace("Coffee")
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    return ws, channel, api_for(ws, "manager")


def _mentions(ws) -> list[InboxItem]:
    return list(InboxItem.objects.filter(workspace=ws, kind="mention", outgoing=False).order_by("pk"))


def test_found_posts_arrive_once_with_link_author_and_keyword_and_not_again_after_a_restart(vk, vk_emu):
    ws, _channel, api = vk
    mine = vk_testing.public_post(vk_emu, 10090, "Rupor Demo flat white is great", ago_s=120)
    both = vk_testing.public_post(vk_emu, 10091, "Rupor Demo has the best flat white", ago_s=60)
    res = api.post("/inbox/monitoring/keywords", {"phrase": "  Rupor   Demo ", "language": ""})
    assert res.status_code == 201, res.content
    first = res.json()
    assert first["phrase"] == "Rupor Demo"
    second = api.post("/inbox/monitoring/keywords", {"phrase": "flat white"}).json()
    assert api.post("/inbox/monitoring/keywords", {"phrase": "rupor demo"}).status_code == 409

    assert jobs.run_monitoring(clock.now()) >= 2
    items = {i.remote_id: i for i in _mentions(ws)}
    assert mine in items and both in items  # the seeded public posts about Rupor Demo too
    assert list(InboxItem.objects.filter(workspace=ws, remote_id=both).values_list("kind", flat=True)) == [
        "mention"
    ]  # found by both keywords, stored once
    item = items[mine]
    info = MentionInfo.objects.get(item=item)
    assert (info.source, info.phrase, info.url) == ("search", "Rupor Demo", f"https://vk.com/wall{mine}")
    assert item.author_url == "https://vk.com/id10090" and item.author_name
    listing = api.get("/inbox", kind="mention").json()
    shown = next(i for i in listing if i["remote_id"] == mine)
    assert shown["mention"] == {
        "source": "search",
        "phrase": "Rupor Demo",
        "url": f"https://vk.com/wall{mine}",
    }

    # A restart: cursors are in the database; running again (even at once) delivers nothing twice.
    count = len(_mentions(ws))
    MonitoredKeyword.objects.update(next_run_at=None)
    assert jobs.run_monitoring(clock.now()) == 0
    assert len(_mentions(ws)) == count
    keyword = MonitoredKeyword.objects.get(pk=first["id"])
    assert keyword.cursor is not None and keyword.found >= 1 and keyword.last_error == ""
    # Not due yet: nothing is searched; once due, only the new post arrives.
    newer = vk_testing.public_post(vk_emu, 10092, "rupor demo opened a second shop")
    assert jobs.run_monitoring(clock.now()) == 0
    later = clock.now() + monitoring.INTERVAL + dt.timedelta(seconds=1)
    assert jobs.run_monitoring(later) == 1
    assert [i.remote_id for i in _mentions(ws)][-1] == newer
    shown = {k["id"]: k for k in api.get("/inbox/monitoring/keywords").json()}
    assert shown[first["id"]]["found"] >= 3 and shown[first["id"]]["last_error"] == ""
    assert second["id"] != first["id"]


def test_minus_words_and_language_leave_posts_out(vk, vk_emu):
    ws, _channel, api = vk
    kept = vk_testing.public_post(vk_emu, 10093, "Walrus espresso is lovely")
    vk_testing.public_post(vk_emu, 10094, "Walrus espresso is cheap and bad")
    russian = vk_testing.public_post(vk_emu, 10095, "Walrus espresso — очень вкусный кофе, советую всем")
    res = api.post("/inbox/monitoring/keywords", {"phrase": "walrus", "minus_words": "-cheap, scam"})
    assert res.status_code == 201 and res.json()["minus_words"] == "cheap scam"
    monitoring.run_keyword(res.json()["id"])
    assert {i.remote_id for i in _mentions(ws)} == {kept, russian}
    assert monitoring.matches("Walrus espresso", "WALRUS") and not monitoring.matches("cola", "colander x")
    russian_only = api.post("/inbox/monitoring/keywords", {"phrase": "espresso", "language": "ru"}).json()
    assert monitoring.run_keyword(russian_only["id"]).new_items == 0  # the cheap one is in English
    assert InboxItem.objects.filter(workspace=ws, remote_id=russian).count() == 1


def test_bad_input_and_roles_are_refused_clearly(vk, make_workspace, api_for):
    ws, _channel, api = vk
    for body, field in (
        ({"phrase": "x"}, "phrase"),
        ({"phrase": "y" * 101}, "phrase"),
        ({"phrase": "coffee", "language": "english"}, "language"),
        ({"phrase": "coffee", "minus_words": "coffee"}, "minus_words"),
        ({"phrase": "coffee", "channel_id": 999999}, "channel"),
    ):
        res = api.post("/inbox/monitoring/keywords", body)
        assert res.status_code == 422, (body, res.content)
        assert res.json()["errors"][0]["field"] == field
    assert api_for(ws, "moderator").post("/inbox/monitoring/keywords", {"phrase": "tea"}).status_code == 403
    assert api_for(ws, "moderator").get("/inbox/monitoring/keywords").status_code == 200
    other = api_for(make_workspace("Other"), "owner")
    kept = api.post("/inbox/monitoring/keywords", {"phrase": "tea"}).json()
    assert other.delete(f"/inbox/monitoring/keywords/{kept['id']}").status_code == 404
    assert api.delete(f"/inbox/monitoring/keywords/{kept['id']}").status_code == 204
    assert api.get("/inbox/monitoring/keywords").json() == []


def test_a_failing_keyword_backs_off_and_says_why_while_others_go_on(vk, vk_emu, make_workspace, api_for):
    _ws, channel, api = vk
    good = api.post("/inbox/monitoring/keywords", {"phrase": "Rupor Demo"}).json()
    # A second workspace whose channel lost its user token: its keyword fails, says so, waits.
    other = make_workspace("No token")
    creds = {**vk_testing.demo_credentials(), "user_token": ""}
    broken = connect(other, vk_testing.channel_for(vk_emu, credentials=creds, settings={"pace": False}))
    [problem] = monitoring.search_channels(other.pk)
    assert "user token" in problem.problem
    bad = monitoring.add_keyword(Actor(other.pk, Role.OWNER, label="t"), "Rupor Demo")
    now = clock.now()
    assert jobs.run_monitoring(now) >= 1  # the good one delivered all the same
    bad.refresh_from_db()
    assert bad.failures == 1 and "user token" in bad.last_error
    assert bad.next_run_at is not None and bad.next_run_at >= now + monitoring.INTERVAL
    assert MonitoredKeyword.objects.get(pk=good["id"]).last_error == ""
    # VK's daily quota (error 29): the keyword records it and honours VK's long retry-after.
    vk_testing.queue_error(vk_emu, "newsfeed.search", 29)
    result = monitoring.run_keyword(good["id"], now)
    kw = MonitoredKeyword.objects.get(pk=good["id"])
    assert result.error and kw.failures == 1 and kw.last_error
    assert kw.next_run_at is not None and kw.next_run_at >= now + dt.timedelta(hours=1)
    assert monitoring.run_keyword(good["id"], now).error == ""  # the next try works and clears it
    assert MonitoredKeyword.objects.get(pk=good["id"]).failures == 0
    # A token VK no longer accepts: recorded on the channel too.
    Channel.objects.filter(pk=channel.pk).update()
    vk_testing.queue_error(vk_emu, "newsfeed.search", 5)
    monitoring.run_keyword(good["id"], now)
    channel.refresh_from_db()
    assert channel.last_error_job == "monitoring" and channel.last_error
    assert broken.pk != channel.pk


def test_a_found_post_is_answered_on_vk_not_by_rupor(vk, vk_emu):
    ws, _channel, api = vk
    post = vk_testing.public_post(vk_emu, 10096, "Narwhal cocoa at Rupor Demo")
    keyword = api.post("/inbox/monitoring/keywords", {"phrase": "narwhal"}).json()
    monitoring.run_keyword(keyword["id"])
    item = InboxItem.objects.get(workspace=ws, remote_id=post)
    res = api.post(f"/inbox/{item.pk}/reply", {"text": "Thank you!"})
    assert res.status_code == 422
    assert "open the post on VKontakte" in res.json()["detail"]
    assert not InboxItem.objects.filter(workspace=ws, outgoing=True).exists()


def test_vk_chat_mention_arrives_and_is_answered_in_the_chat(vk, vk_emu):
    ws, channel, api = vk
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200  # the long-poll cursor
    asked = vk_testing.chat_message(vk_emu, "@rupor_demo is there oat milk?")
    vk_testing.chat_message(vk_emu, "not for the bot at all")
    assert api.post(f"/channels/{channel.pk}/poll", {}).status_code == 200
    [item] = _mentions(ws)
    assert item.remote_id == f"{vk_emu_module.CHAT_PEER_ID}:{asked['conversation_message_id']}"
    assert MentionInfo.objects.get(item=item).source == "mention"
    res = api.post(f"/inbox/{item.pk}/reply", {"text": "Yes, always", "idempotency_key": "chat-1"})
    assert res.status_code == 201, res.content
    state = vk_testing.state(vk_emu)
    with state.lock:
        ours = [m for m in state.messages[1] if m.peer_id == vk_emu_module.CHAT_PEER_ID and m.out]
    assert len(ours) == 1 and ours[0].reply_message is not None
    assert ours[0].reply_message["conversation_message_id"] == asked["conversation_message_id"]
    item.refresh_from_db()
    assert item.status == "answered"


@pytest.fixture
def tg(make_workspace, api_for):
    emulator = tg_testing.start(rate_limits=False, audience=False)
    ws = make_workspace("Telegram coffee")
    channel = connect(ws, tg_testing.channel_for(emulator, settings={"pace": False}))
    yield ws, channel, api_for(ws, "manager"), emulator
    emulator.stop()


def test_telegram_mentions_and_keyword_chatter_arrive_commands_and_chatter_do_not(tg):
    ws, channel, api, emulator = tg
    api.post("/inbox/monitoring/keywords", {"phrase": "oat latte"})
    named = tg_testing.group_message(emulator, "@rupor_demo_bot do you have oat latte?")
    tg_testing.group_message(emulator, "/menu@rupor_demo_bot")
    # In the discussion group (the bot is an administrator there) every message reaches it:
    # chatter stays out unless it names a keyword.
    tg_testing.group_message(emulator, "nice weather", chat_id=tg_testing.DISCUSSION_GROUP_ID)
    keyword_line = tg_testing.group_message(
        emulator, "The Oat Latte here is too sweet", chat_id=tg_testing.DISCUSSION_GROUP_ID
    )
    assert inbox_service.poll_channel(channel.pk).new_items == 2
    items = {i.remote_id: i for i in _mentions(ws)}
    assert set(items) == {
        f"{tg_testing.COFFEE_TALK_ID}:{named}",
        f"{tg_testing.DISCUSSION_GROUP_ID}:{keyword_line}",
    }
    sources = dict(MentionInfo.objects.filter(item__workspace=ws).values_list("item__remote_id", "source"))
    assert sources[f"{tg_testing.COFFEE_TALK_ID}:{named}"] == "mention"
    keyword = MentionInfo.objects.get(item__remote_id=f"{tg_testing.DISCUSSION_GROUP_ID}:{keyword_line}")
    assert (keyword.source, keyword.phrase) == ("keyword", "oat latte")
    assert keyword.url == f"https://t.me/rupor_demo_chat/{keyword_line}"

    mention = items[f"{tg_testing.COFFEE_TALK_ID}:{named}"]
    res = api.post(f"/inbox/{mention.pk}/reply", {"text": "Yes, every day"})
    assert res.status_code == 201, res.content
    sent = tg_testing._emulator(emulator).messages
    [ours] = [m for (chat, _id), m in sent.items() if chat == int(tg_testing.COFFEE_TALK_ID) and m.by_bot]
    assert ours.payload["reply_to_message"]["message_id"] == named
    assert inbox_service.poll_channel(channel.pk).new_items == 0


def test_cli_adds_lists_runs_and_removes_keywords(vk, vk_emu):
    ws, _channel, _api = vk
    runner = CliRunner()
    added = runner.invoke(
        cli, ["inbox", "monitor", "add", "--workspace", ws.slug, "--minus", "cheap", "Rupor Demo"]
    )
    assert added.exit_code == 0, added.output
    keyword_id = added.output.split("\t")[0]
    listed = runner.invoke(cli, ["inbox", "monitor", "list", "--workspace", ws.slug])
    assert "Rupor Demo\tcheap\tany\t0\tok" in listed.output
    ran = runner.invoke(cli, ["inbox", "monitor", "run", "--workspace", ws.slug, keyword_id])
    assert ran.exit_code == 0 and ran.output.strip().endswith("new")
    bad = runner.invoke(cli, ["inbox", "monitor", "add", "--workspace", ws.slug, "x"])
    assert bad.exit_code == 1 and "Error (phrase)" in bad.output
    removed = runner.invoke(cli, ["inbox", "monitor", "remove", "--workspace", ws.slug, keyword_id])
    assert removed.exit_code == 0
    missing = runner.invoke(cli, ["inbox", "monitor", "remove", "--workspace", ws.slug, keyword_id])
    assert missing.exit_code == 1 and "No such keyword" in missing.output
