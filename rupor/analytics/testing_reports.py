"""A small workspace with hand-countable figures for the report tests and the screenshots:
Russian and Korean names and texts, two channels, posts in the period and in the one before."""

from __future__ import annotations

import datetime as dt

from rupor.accounts.models import Workspace
from rupor.analytics.models import ChannelDay, PostStat
from rupor.channels.models import Channel

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 7)
COMMENTARY = "Охват вырос благодаря видео. 동영상 덕분에 도달이 늘었습니다."


def at(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def fill(workspace: Workspace) -> tuple[Channel, Channel]:
    """Posts in 2026-03-01..07 (engagements 15 + 30 = 45, views 1300, reach 650) and one in the
    week before (engagements 10); followers 1000 -> 1012 on the VK page."""
    vk = Channel.objects.create(workspace=workspace, network="vk", name="Страница ВКонтакте", remote_id="-1")
    tg = Channel.objects.create(workspace=workspace, network="telegram", name="텔레그램 채널", remote_id="@tg")

    def post(channel: Channel, remote: str, when: dt.datetime, text: str, **figures: object) -> None:
        PostStat.objects.create(
            workspace=workspace,
            channel=channel,
            remote_post_id=remote,
            published_at=when,
            text_excerpt=text,
            text_length=len(text),
            read_at=when + dt.timedelta(days=1),
            **figures,
        )

    post(vk, "p1", at(2, 10), "Новая коллекция весны", likes=10, reposts=2, comments=3, views=300, reach=150,
         followers=1000)
    post(vk, "p2", at(5, 10), "봄 신상품 영상", likes=20, reposts=5, comments=5, views=1000, reach=500,
         followers=1000, content_format="video")
    post(tg, "t1", at(3, 12), "=SUM(A1) реакции", likes=40, reactions_only=True, followers=2000)
    post(vk, "old", at(25, 9, month=2), "Старый пост", likes=5, reposts=1, comments=4, views=500, reach=200,
         followers=990)
    ChannelDay.objects.create(workspace=workspace, channel=vk, day=dt.date(2026, 2, 28), members=990)
    for i in range(7):
        ChannelDay.objects.create(
            workspace=workspace, channel=vk, day=START + dt.timedelta(days=i), members=1000 + 2 * i,
            joins=3, leaves=1, source="stats",
        )
    return vk, tg
