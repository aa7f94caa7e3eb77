"""Poll results end to end: keyword polls counted from the comments the inbox collected, a
Telegram quiz stopped at its closing time, VK votes read with the metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rupor.analytics import jobs, polls
from rupor.analytics import service as analytics
from rupor.analytics.models import PollResult
from rupor.inbox.models import InboxItem, ItemKind, ItemStatus
from rupor.networks.base import ChannelAccess, Content, MemoryProgress, Poll, PublishRequest
from rupor.networks.registry import adapter
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.publishing import testing as publishing_testing
from rupor.publishing.models import PublicationTarget, TargetState

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _published(ch, remote_id: str, poll: dict[str, Any], at: dt.datetime = T0) -> PublicationTarget:
    target = publishing_testing.schedule(ch, "Vote!", at, poll=poll)
    PublicationTarget.objects.filter(pk=target.pk).update(
        state=TargetState.PUBLISHED, remote_id=remote_id, published_at=at
    )
    target.refresh_from_db()
    return target


def _comment(target, n: int, author: str, text: str, minutes: int, **extra) -> None:
    InboxItem.objects.create(
        workspace_id=target.channel.workspace_id,
        channel_id=target.channel_id,
        kind=ItemKind.COMMENT,
        remote_id=f"c{n}",
        conversation_remote_id=target.remote_id,
        target_id=target.pk,
        post_id=target.variant.post_id,
        author_remote_id=author,
        text=text,
        occurred_at=T0 + dt.timedelta(minutes=minutes),
        **extra,
    )


def test_keyword_poll_counted_from_the_collected_comments(make_workspace):
    ws = make_workspace("Keyword polls")
    ch = publishing_testing.channel(
        ws, ChannelAccess(network="facebook", remote_id="1", credentials={}, base_url="http://127.0.0.1:9")
    )
    target = _published(
        ch, "1_2", {"question": "Tea or coffee?", "options": ["Tea", "Coffee"], "minutes": 60}
    )
    _comment(target, 1, "ann", "1", 5)
    _comment(target, 2, "ann", "2 — changed my mind", 10)
    _comment(target, 3, "bob", "2", 6)
    _comment(target, 4, "bob", "2", 7)
    _comment(target, 5, "cat", "1", 61)  # after the closing time
    _comment(target, 6, "dan", "1", 8, status=ItemStatus.DELETED)  # deleted: no vote
    _comment(target, 7, "us", "1", 9, outgoing=True)  # our own reply: no vote
    assert polls.collect(ch.pk, T0 + dt.timedelta(minutes=30)) == 1
    result = PollResult.objects.get(channel=ch)
    assert (result.kind, result.votes, result.voters, result.closed) == ("keyword", [0, 2], 2, False)
    assert polls.collect(ch.pk, T0 + dt.timedelta(hours=2)) == 1
    result.refresh_from_db()
    assert result.closed is True and result.votes == [0, 2]
    assert polls.collect(ch.pk, T0 + dt.timedelta(hours=3)) == 0  # final: not counted again
    [view] = analytics.post_poll_results(ws.pk, target.variant.post_id)
    assert [(o.text, o.votes, o.bar) for o in view.options] == [("Tea", 0, 0), ("Coffee", 2, 100)]
    # Another workspace sees nothing of it.
    other = make_workspace("Other")
    assert analytics.poll_results(other.pk) == []


def test_a_telegram_quiz_is_stopped_at_its_closing_time_with_its_final_votes(make_workspace):
    running = tg_testing.start()
    try:
        access = tg_testing.channel_for(running)
        quiz = Poll("2+2?", ("3", "4"), correct_option=1)
        published = adapter("telegram").publish(
            access, PublishRequest(Content(poll=quiz), "k"), MemoryProgress()
        )
        ws = make_workspace("Quiz")
        ch = publishing_testing.channel(ws, access)
        start = dt.datetime.now(dt.UTC)
        target = _published(
            ch,
            published.remote_id,
            {"question": "2+2?", "options": ["3", "4"], "correct_option": 1, "minutes": 60},
            start,
        )
        assert polls.collect(ch.pk, start + dt.timedelta(minutes=30)) == 0  # still open
        tg_testing.advance(running, 3 * 3600)
        assert polls.collect(ch.pk, start + dt.timedelta(minutes=61)) == 1
        result = PollResult.objects.get(channel=ch)
        assert result.kind == "quiz" and result.closed is True
        assert result.voters == sum(result.votes) > 0
        assert result.correct_option == 1
        assert result.correct_share is not None and 0 < result.correct_share <= 1
        assert result.target_id == target.pk
        # Closed: the job does not stop it again (stopPoll would refuse a closed poll).
        jobs.run_due(start + dt.timedelta(hours=2))
        assert PollResult.objects.get(channel=ch).votes == result.votes
    finally:
        running.stop()


def test_vk_votes_are_kept_when_the_posts_are_read(make_workspace):
    running = vk_testing.start(rate_limits=False)
    try:
        access = vk_testing.channel_for(running, settings={"pace": False, "timeout": 0.5})
        poll = Poll("Which one?", ("A", "B"))
        published = adapter("vk").publish(
            access, PublishRequest(Content(text="Vote", poll=poll), "k"), MemoryProgress()
        )
        ws = make_workspace("VK polls")
        ch = publishing_testing.channel(ws, access)
        _published(
            ch,
            published.remote_id,
            {"question": "Which one?", "options": ["A", "B"]},
            dt.datetime.now(dt.UTC),
        )
        vk_testing.advance(running, 6 * 3600)
        analytics.collect_post_metrics(ch.pk, remote_ids=[published.remote_id])
        result = PollResult.objects.get(channel=ch)
        assert result.kind == "native" and result.closed is False
        assert result.voters == sum(result.votes) > 0
    finally:
        vk_testing.state(running).stop()
        running.stop()
