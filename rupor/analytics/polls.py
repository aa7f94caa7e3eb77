"""Poll and quiz results (docs/decisions/0034-polls-and-quizzes.md).

* **Native polls and quizzes**: the adapter reports a post's poll with its metrics
  (``PostMetrics.poll``: VK ``polls.getById``, Mastodon ``GET /api/v1/polls/:id``, X's
  ``attachments.poll_ids`` expansion); :func:`record_tallies` keeps the newest in
  :class:`PollResult`. Telegram reports no votes to a reader: Rupor stops the poll at its closing
  time (``stopPoll``), which returns the final votes (:func:`collect`).
* **Keyword polls** (networks without polls): :func:`count_keyword_votes` counts the post's
  collected comments — a reply's first number (1 to 9, or several for a multiple-answer poll) is its
  vote; one vote per author, the author's latest valid reply wins, replies after the closing time
  are ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rupor.analytics.models import PollResult
from rupor.channels import service as channels
from rupor.core import clock
from rupor.networks import errors, registry
from rupor.networks.base import Capability, Poll, PollTally, PostMetrics
from rupor.planning import service as planning
from rupor.publishing import service as publishing

log = logging.getLogger(__name__)

#: How long a poll without a closing time of its own is counted (and, on Telegram, left open).
DEFAULT_MINUTES = 24 * 60
#: Polls are looked at for this long after publishing.
TRACK_DAYS = 31

_NUMBER = re.compile(r"(?<!\d)([1-9])(?!\d)")


class CommentLike(Protocol):
    @property
    def author(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def at(self) -> dt.datetime: ...


@dataclass(frozen=True)
class Count:
    votes: tuple[int, ...]
    voters: int


def vote_of(text: str, options: int, *, multiple: bool) -> tuple[int, ...] | None:
    """The option(s) a reply chooses (0-based), or ``None`` when it is no valid vote: the
    reply's numbers 1..``options`` standing alone (``"2"``, ``"#2!"``, ``"I pick 2"``); a
    single-answer poll takes a reply naming exactly one option, a multiple-answer poll each
    distinct one named."""
    chosen = [int(m) - 1 for m in _NUMBER.findall(text)]
    if not chosen or any(c >= options for c in chosen):
        return None
    distinct = tuple(sorted(set(chosen)))
    if not multiple and len(distinct) != 1:
        return None
    return distinct


def count_keyword_votes(
    comments: Sequence[CommentLike],
    options: int,
    *,
    multiple: bool = False,
    closes_at: dt.datetime | None = None,
) -> Count:
    """Votes per option from the comments: one vote per author, the author's latest valid reply
    wins (an invalid later reply does not undo an earlier vote), replies after ``closes_at``
    ignored."""
    latest: dict[str, tuple[dt.datetime, tuple[int, ...]]] = {}
    for comment in comments:
        if not comment.author or (closes_at is not None and comment.at > closes_at):
            continue
        vote = vote_of(comment.text, options, multiple=multiple)
        if vote is None:
            continue
        seen = latest.get(comment.author)
        if seen is None or comment.at >= seen[0]:
            latest[comment.author] = (comment.at, vote)
    votes = [0] * options
    for _at, vote in latest.values():
        for option in vote:
            votes[option] += 1
    return Count(tuple(votes), len(latest))


_comments: Callable[[int, int], Sequence[CommentLike]] | None = None


def provide_comments(reader: Callable[[int, int], Sequence[CommentLike]]) -> None:
    """The inbox hands over its reader of a post's comments (``inbox.service.post_comments``)."""
    global _comments
    _comments = reader


def closes_at(published_at: dt.datetime | None, poll: Poll) -> dt.datetime | None:
    if published_at is None:
        return None
    return published_at + dt.timedelta(minutes=poll.minutes or DEFAULT_MINUTES)


def _kind(network: str, poll: Poll) -> str:
    caps = registry.adapter(network).capabilities
    if Capability.PUBLISH_POLL not in caps:
        return PollResult.Kind.KEYWORD
    return (
        PollResult.Kind.QUIZ if poll.is_quiz and Capability.PUBLISH_QUIZ in caps else PollResult.Kind.NATIVE
    )


def _store(
    channel: channels.ChannelRef,
    post: publishing.PublishedPost,
    poll: Poll,
    *,
    kind: str,
    votes: Sequence[int],
    voters: int | None,
    closed: bool,
    ends: dt.datetime | None,
    correct: int | None,
) -> None:
    PollResult.objects.update_or_create(
        channel_id=channel.id,
        remote_post_id=post.remote_id,
        defaults={
            "workspace_id": channel.workspace_id,
            "target_id": post.target_id,
            "post_id": post.post_id,
            "kind": kind,
            "question": poll.question[:300],
            "options": list(poll.options),
            "votes": list(votes),
            "voters": voters,
            "correct_option": correct,
            "closed": closed,
            "closes_at": ends,
            "read_at": clock.now(),
        },
    )


def record_tallies(channel_id: int, metrics: Sequence[PostMetrics]) -> int:
    """Keep the native poll results an adapter reported with the posts' metrics."""
    reported = {m.remote_id: m.poll for m in metrics if m.poll is not None}
    if not reported:
        return 0
    channel = channels.find_channel(channel_id, removed_too=True)
    if channel is None:
        return 0
    posts = [p for p in publishing.published_posts(channel_id) if p.remote_id in reported]
    wanted = planning.variant_polls([p.variant_id for p in posts])
    for post in posts:
        poll, tally = wanted.get(post.variant_id), reported[post.remote_id]
        if poll is None or tally is None:
            continue
        _record_tally(channel, post, poll, tally)
    return len(posts)


def _record_tally(
    channel: channels.ChannelRef, post: publishing.PublishedPost, poll: Poll, tally: PollTally
) -> None:
    votes = list(tally.votes)[: len(poll.options)]
    votes += [0] * (len(poll.options) - len(votes))
    _store(
        channel,
        post,
        poll,
        kind=_kind(channel.network, poll),
        votes=votes,
        voters=tally.voters,
        closed=tally.closed,
        ends=tally.closes_at or closes_at(post.published_at, poll),
        correct=tally.correct_option if tally.correct_option is not None else poll.correct_option,
    )


def collect(channel_id: int, now: dt.datetime | None = None) -> int:
    """Count the keyword polls of the channel's recent posts from their comments, and stop the
    Telegram polls whose closing time has come (their final votes); returns the polls updated."""
    now = now or clock.now()
    channel = channels.find_channel(channel_id)
    if channel is None or channel.network not in registry.available():
        return 0
    adapter = registry.adapter(channel.network)
    posts = publishing.published_posts(channel_id, since=now - dt.timedelta(days=TRACK_DAYS))
    wanted = planning.variant_polls([p.variant_id for p in posts])
    if not wanted:
        return 0
    done = dict(PollResult.objects.filter(channel_id=channel_id).values_list("remote_post_id", "closed"))
    updated = 0
    for post in posts:
        poll = wanted.get(post.variant_id)
        if poll is None or done.get(post.remote_id):
            continue
        ends = closes_at(post.published_at, poll)
        if Capability.PUBLISH_POLL not in adapter.capabilities:
            if _comments is None:
                continue
            count = count_keyword_votes(
                _comments(channel_id, post.target_id),
                len(poll.options),
                multiple=poll.multiple,
                closes_at=ends,
            )
            _store(
                channel,
                post,
                poll,
                kind=PollResult.Kind.KEYWORD,
                votes=count.votes,
                voters=count.voters,
                closed=ends is not None and now >= ends,
                ends=ends,
                correct=None,
            )
            updated += 1
        elif channel.network == "telegram" and ends is not None and now >= ends:
            try:
                tally = adapter.stop_poll(channels.access_for(channel_id), post.remote_id)
            except errors.NetworkError as exc:
                log.warning("stopping the poll of %s failed: %s", post.remote_id, exc)
                continue
            _record_tally(channel, post, poll, tally)
            updated += 1
    return updated
