"""Opinion leaders: the people in a workspace's audience who engage most and whom others answer
most, ranked from the items the inbox stored (docs/inbox-triage.md, "Opinion leaders").

A person is one author id on one network (the same VK user commenting in two communities of the
workspace is one person). The reply graph has an edge from A to B for every comment A wrote in
reply to a comment of B's (the parent is found among the stored items: a reply whose parent Rupor
never saw adds no edge); the channel's own replies and spam are left out. PageRank runs over
that graph with numpy (sparse power iteration: memory grows with the edges, not people squared).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db.models import QuerySet

from rupor.inbox.models import InboxItem, ItemKind, ItemStatus, Label

#: The score's parts and their weights (they add up to 1, so the score is 0-100).
WEIGHTS = {"influence": 0.4, "activity": 0.3, "replies": 0.2, "reach": 0.1}
DAMPING = 0.85
ITERATIONS = 60
#: At most this many of a person's latest items are shown with them.
LATEST = 3


@dataclass(frozen=True)
class LatestItem:
    id: int
    text: str
    occurred_at: dt.datetime
    kind: str


@dataclass(frozen=True)
class Leader:
    network: str
    remote_id: str
    name: str
    url: str
    avatar_url: str
    followers: int | None
    items: int  # what they wrote in the period
    posts: int  # distinct posts they commented on
    replies_received: int  # comments of others that answer theirs
    repliers: int  # distinct people who answered them
    influence: float  # PageRank over the reply graph, 0-1 relative to the top person
    score: float  # 0-100 (WEIGHTS)
    last_at: dt.datetime
    latest: tuple[LatestItem, ...] = field(default=())


def pagerank(n: int, edges: Iterable[tuple[int, int, float]]) -> list[float]:
    """PageRank of ``n`` nodes over weighted edges (source, target, weight); people who answer
    nobody spread their rank evenly (the usual treatment of dangling nodes)."""
    if n == 0:
        return []
    listed = list(edges)
    src_i = np.array([e[0] for e in listed], dtype=int)
    dst_i = np.array([e[1] for e in listed], dtype=int)
    weight_a = np.array([e[2] for e in listed], dtype=float)
    out_weight = np.bincount(src_i, weights=weight_a, minlength=n)
    share = weight_a / np.where(out_weight[src_i] > 0, out_weight[src_i], 1.0)
    dangling = out_weight == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(ITERATIONS):
        spread = np.bincount(dst_i, weights=rank[src_i] * share, minlength=n)
        new = (1 - DAMPING) / n + DAMPING * (spread + rank[dangling].sum() / n)
        converged = float(np.abs(new - rank).sum()) < 1e-10
        rank = new
        if converged:
            break
    return [float(x) for x in rank]


def _norm(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top if top > 0 else 0.0 for v in values]


#: One item as the ranking reads it: channel id, network, channel's remote id, kind, remote id,
#: conversation, parent, author id, name, link, avatar, followers, when, item id.
_Row = tuple[int, str, str, str, str, str, str, str, str, str, str, int | None, dt.datetime, int]


@dataclass
class _Person:
    """What the rows say of one person so far (the newest non-empty value of each field)."""

    name: str = ""
    url: str = ""
    avatar: str = ""
    followers: int | None = None
    last: dt.datetime | None = None
    items: int = 0
    posts: set[tuple[int, str]] = field(default_factory=set)
    received: int = 0
    repliers: set[int] = field(default_factory=set)
    latest: list[int] = field(default_factory=list)  # ids of their newest items, newest last


def _audience(
    qs: QuerySet[InboxItem],
) -> list[_Row]:
    return list(
        qs.order_by("occurred_at", "id").values_list(
            "channel_id",
            "channel__network",
            "channel__remote_id",
            "kind",
            "remote_id",
            "conversation_remote_id",
            "parent_remote_id",
            "author_remote_id",
            "author_name",
            "author_url",
            "author_avatar_url",
            "author_followers",
            "occurred_at",
            "id",
        )
    )


def _scope(
    workspace_id: int, since: dt.datetime | None, channel_id: int | None, network: str | None
) -> QuerySet[InboxItem]:
    qs = (
        InboxItem.objects.filter(workspace_id=workspace_id, outgoing=False)
        .exclude(author_remote_id="")
        .exclude(label=Label.SPAM)
        .exclude(status=ItemStatus.DELETED)
    )
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    if network:
        qs = qs.filter(channel__network=network)
    return qs


def leaders(
    workspace_id: int,
    *,
    since: dt.datetime | None = None,
    channel_id: int | None = None,
    network: str | None = None,
    limit: int = 50,
) -> list[Leader]:
    """The workspace's audience ranked by score, best first (at most ``limit``)."""
    qs = _scope(workspace_id, since, channel_id, network)
    rows = [r for r in _audience(qs) if r[7].lstrip("-") != str(r[2]).lstrip("-")]  # not the channel itself
    index: dict[tuple[str, str], int] = {}
    people: list[_Person] = []
    written: dict[tuple[int, str], int] = {}  # (channel, comment remote id) -> its author
    for ch, net, _own, kind, rid, conv, _parent, author, name, url, avatar, followers, at, pk in rows:
        who = index.setdefault((net, author), len(index))
        if who == len(people):
            people.append(_Person())
        seen = people[who]
        seen.name, seen.url, seen.avatar = name or seen.name, url or seen.url, avatar or seen.avatar
        seen.followers = followers if followers is not None else seen.followers
        seen.last = at
        seen.latest = [*seen.latest, pk][-LATEST:]
        seen.items += 1
        if kind == ItemKind.COMMENT:
            seen.posts.add((ch, conv))
            written[(ch, rid)] = who
    _parents_before(workspace_id, rows, index, written)
    edges: dict[tuple[int, int], float] = defaultdict(float)
    for ch, net, _own, kind, _rid, _conv, parent, author, *_rest in rows:
        source, target = index[(net, author)], written.get((ch, parent)) if parent else None
        if kind != ItemKind.COMMENT or target is None or target == source:
            continue
        edges[(source, target)] += 1.0
        people[target].received += 1
        people[target].repliers.add(source)
    n = len(people)
    rank = pagerank(n, [(s, t, w) for (s, t), w in edges.items()])
    influence = _norm(rank) if edges else [0.0] * n
    activity = _norm([math.log1p(p.items) + math.log1p(len(p.posts)) for p in people])
    replies = _norm([math.log1p(p.received) for p in people])
    reach = _norm([math.log10(1 + (p.followers or 0)) for p in people])
    scores = [
        100
        * (
            WEIGHTS["influence"] * influence[i]
            + WEIGHTS["activity"] * activity[i]
            + WEIGHTS["replies"] * replies[i]
            + WEIGHTS["reach"] * reach[i]
        )
        for i in range(n)
    ]
    order = sorted(range(n), key=lambda i: (-scores[i], -people[i].items, people[i].name))[:limit]
    keys = {i: key for key, i in index.items()}
    latest = _latest([pk for i in order for pk in people[i].latest])
    out = []
    for i in order:
        (net, author), p = keys[i], people[i]
        assert p.last is not None  # every person has at least one row
        out.append(
            Leader(
                network=net,
                remote_id=author,
                name=p.name or author,
                url=p.url,
                avatar_url=p.avatar,
                followers=p.followers,
                items=p.items,
                posts=len(p.posts),
                replies_received=p.received,
                repliers=len(p.repliers),
                influence=round(influence[i], 3),
                score=round(scores[i], 1),
                last_at=p.last,
                latest=tuple(latest[pk] for pk in reversed(p.latest) if pk in latest),
            )
        )
    return out


def _parents_before(
    workspace_id: int,
    rows: list[_Row],
    index: dict[tuple[str, str], int],
    written: dict[tuple[int, str], int],
) -> None:
    """Parents written before the period (or filtered out of it) still say whom a reply
    answers, when their author is in the audience ranked."""
    missing = {(r[0], r[6]) for r in rows if r[6] and (r[0], r[6]) not in written}
    if not missing:
        return
    found = (
        InboxItem.objects.filter(
            workspace_id=workspace_id,
            kind=ItemKind.COMMENT,
            outgoing=False,
            channel_id__in={ch for ch, _ in missing},
            remote_id__in={rid for _, rid in missing},
        )
        .exclude(author_remote_id="")
        .values_list("channel_id", "remote_id", "channel__network", "author_remote_id")
    )
    for ch, rid, net, author in found:
        if (ch, rid) in missing and (net, author) in index:
            written[(ch, rid)] = index[(net, author)]


def _latest(ids: list[int]) -> dict[int, LatestItem]:
    """The items shown with each person (their newest, already picked): one query for all."""
    rows = InboxItem.objects.filter(pk__in=ids).values_list("id", "text", "occurred_at", "kind")
    return {pk: LatestItem(pk, text[:280], at, kind) for pk, text, at, kind in rows}
