"""Dashboard fixtures for tests, screenshots and the benchmark: plausible ``PostStat`` and
``ChannelDay`` rows written directly (collection is tested on its own), deterministic per seed."""

from __future__ import annotations

import datetime as dt
import random

from rupor.analytics import rollup
from rupor.analytics.models import ChannelDay, PostStat
from rupor.channels import service as channels
from rupor.core import clock
from rupor.planning import service as planning

TEXTS = (
    "How to choose running shoes: five questions to ask in the shop",
    "New autumn collection is in — come and try it on",
    "Poll: which colour should the next model be?",
    "Behind the scenes: a day at our workshop",
    "Ten-minute morning stretch you can do anywhere",
    "Weekend sale: 20% off everything in the store",
    "Customer story: from the couch to a marathon in a year",
    "What we learned from 1,000 of your reviews",
)
FORMATS = ("text", "photo", "photo", "video", "poll", "link")
#: Engagement by local hour (a daily rhythm): evenings engage more.
RHYTHM = [0.3] * 7 + [0.7, 0.9, 1.0, 1.0, 1.1, 1.2, 1.0, 0.9, 0.9, 1.0, 1.2, 1.5, 1.7, 1.6, 1.3, 0.9, 0.5]


def fill(
    workspace_id: int, *, days: int = 60, posts_per_day: int = 2, seed: int = 12, end: dt.date | None = None
) -> int:
    """Write ``days`` days of posts and channel days for every live channel of the workspace,
    ending ``end`` (default today, UTC). Returns how many posts were written."""
    rnd = random.Random(seed)
    last = end or clock.now().date()
    first = last - dt.timedelta(days=days - 1)
    rubrics = planning.rubric_facts(workspace_id)
    posts: list[PostStat] = []
    chan_days: list[ChannelDay] = []
    for ch in channels.workspace_channels(workspace_id):
        reactions_only = ch.network == "telegram"
        members = rnd.randint(2_000, 20_000)
        for i in range(days + 1):
            day = first + dt.timedelta(days=i - 1)
            joins, leaves = rnd.randint(5, 60), rnd.randint(2, 30)
            members += joins - leaves
            known = ch.network != "ok"
            chan_days.append(
                ChannelDay(
                    workspace_id=workspace_id,
                    channel_id=ch.id,
                    day=day,
                    members=members,
                    joins=joins if known else None,
                    leaves=leaves if known else None,
                    source="stats" if known else "",
                )
            )
            if i == 0:
                continue
            for n in range(rnd.randint(max(0, posts_per_day - 1), posts_per_day + 1)):
                hour = rnd.choice((8, 9, 10, 12, 13, 15, 17, 18, 19, 20, 21))
                when = dt.datetime.combine(day, dt.time(hour, rnd.randint(0, 59)), tzinfo=dt.UTC)
                rubric = rnd.choice(rubrics) if rubrics and rnd.random() < 0.9 else None
                fmt = rnd.choice(FORMATS)
                boost = (
                    RHYTHM[hour]
                    * (1.6 if fmt == "video" else 1.0)
                    * (0.6 if rubric and rubric.is_selling else 1.0)
                )
                views = int(members * rnd.uniform(0.15, 0.6) * boost)
                likes = int(views * rnd.uniform(0.01, 0.06))
                text = rnd.choice(TEXTS)
                posts.append(
                    PostStat(
                        workspace_id=workspace_id,
                        channel_id=ch.id,
                        remote_post_id=f"{day:%Y%m%d}-{n}",
                        rubric_id=rubric.id if rubric else None,
                        content_format=fmt,
                        text_length=len(text) * rnd.choice((1, 1, 3, 8, 20)),
                        text_excerpt=text,
                        published_at=when,
                        read_at=when + dt.timedelta(days=1),
                        likes=likes,
                        reposts=None if reactions_only else int(likes * rnd.uniform(0.05, 0.3)),
                        comments=None if reactions_only else int(likes * rnd.uniform(0.05, 0.4)),
                        views=None if reactions_only and rnd.random() < 0.5 else views,
                        reach=None if reactions_only or ch.network == "ok" else int(views * 0.7),
                        complaints=rnd.randint(0, 2) if ch.network == "vk" else None,
                        reactions_only=reactions_only,
                        followers=members,
                        readings=3,
                    )
                )
    PostStat.objects.bulk_create(posts, batch_size=2000)
    ChannelDay.objects.bulk_create(chan_days, batch_size=2000, ignore_conflicts=True)
    rollup.rebuild(workspace_id)  # the posts were written directly, past collection
    return len(posts)
