"""Best time to post: a channel's 168 hours of the week scored from its own history, and the
best of them turned into queue slots (analytics/besttime.py; the method in docs/analytics.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.analytics import besttime
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS

router = Router(tags=["analytics"])


class SlotOut(Schema):
    weekday: int = Field(description="0 = Monday … 6 = Sunday, in the workspace's time zone")
    hour: int = Field(description="0..23, wall-clock hour in the workspace's time zone")
    posts: int = Field(description="Posts published in this hour of the week (the evidence)")
    nearby: int = Field(
        description="Posts in this hour and the hour either side (what the smoothed score rests on)"
    )
    mean: float | None = Field(
        description="Their mean engagement at 24 h as a multiple of the channel's median; null: no posts"
    )
    prior: float = Field(description="The hour of day's shrunk mean, which the slot is pulled toward")
    shrunk: float = Field(description="(n·mean + k·prior) / (n + k)")
    score: float = Field(
        description="shrunk, smoothed ¼·previous + ½·this + ¼·next hour (circular over the week)"
    )


class BestTimeOut(Schema):
    channel_id: int
    channel_name: str
    network: str
    timezone: str
    weeks: int
    posts: int = Field(description="Posts with a reading near 24 h that were used")
    skipped: int = Field(description="Posts in the period left out (no reading near 24 h)")
    typical_engagements: float = Field(
        description="The channel's median engagements at 24 h (its mean if the median is 0)"
    )
    mean_ratio: float
    k: float = Field(description="Credibility constant: a slot's own mean weighs n / (n + k)")
    signal: str = Field(description="none (too few posts to rank), thin, ok")
    top: list[SlotOut]
    slots: list[SlotOut] = Field(description="168 slots, Monday 00:00 first")
    method: str


class BestTimeQuery(Schema):
    weeks: int = Field(besttime.DEFAULT_WEEKS, ge=1, le=104, description="History to look at, in weeks")


class ApplyIn(Schema):
    count: int = Field(besttime.TOP, ge=1, le=besttime.TOP, description="How many of the best hours to add")
    weeks: int = Field(besttime.DEFAULT_WEEKS, ge=1, le=104)


class QueueSlotOut(Schema):
    weekday: int
    time: dt.time


class ApplyOut(Schema):
    channel_id: int
    added: list[QueueSlotOut]
    existing: list[QueueSlotOut] = Field(description="Best hours the queue already had")


METHOD = (
    "Engagements about 24 h after publishing (18-36 h reading), divided by the channel's median; "
    "grouped into 168 hour-of-week slots in the workspace time zone; each slot shrunk toward its "
    "hour of day's mean with weight n/(n+k); smoothed 1/4-1/2-1/4 across neighbouring hours, "
    "circular over the week. See docs/analytics.md."
)


def _slot(s: besttime.Slot) -> dict[str, Any]:
    return {
        "weekday": s.weekday,
        "hour": s.hour,
        "posts": s.posts,
        "nearby": s.nearby,
        "mean": s.mean,
        "prior": s.prior,
        "shrunk": s.shrunk,
        "score": s.score,
    }


@router.get(
    "/channels/{channel_id}/best-time",
    response={200: BestTimeOut, **ERRORS},
    summary="The channel's best hours of the week to post, from its own history",
)
def best_time(request: HttpRequest, channel_id: int, query: Query[BestTimeQuery]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    r = besttime.best_time(who, channel_id, query.weeks)
    e = r.estimate
    return {
        "channel_id": r.channel_id,
        "channel_name": r.channel_name,
        "network": r.network,
        "timezone": r.timezone,
        "weeks": r.weeks,
        "posts": e.posts,
        "skipped": r.skipped,
        "typical_engagements": e.typical,
        "mean_ratio": e.mean_ratio,
        "k": e.k,
        "signal": e.signal,
        "top": [_slot(s) for s in e.top],
        "slots": [_slot(s) for s in e.slots],
        "method": METHOD,
    }


@router.post(
    "/channels/{channel_id}/best-time/apply",
    response={200: ApplyOut, **ERRORS},
    summary="Add the channel's best hours to its queue as weekly slots",
)
def apply(request: HttpRequest, channel_id: int, payload: ApplyIn) -> Any:
    who = _need(request, Perm.POSTS_PUBLISH)
    done = besttime.apply_best_time(who, channel_id, payload.count, payload.weeks)
    return {
        "channel_id": done.channel_id,
        "added": [{"weekday": d, "time": t} for d, t in done.added],
        "existing": [{"weekday": d, "time": t} for d, t in done.existing],
    }
