"""Keyword trends and spike alerts (docs/analytics.md, "Trend alerts").

For each keyword the workspace watches (``MonitoredKeyword``) Rupor counts, per clock hour, the
texts that name it: what the audience wrote (every inbox item: comments, messages, mentions,
the team's own replies left out) and the posts of the watched competitor pages. An hour is
scored against the same hour of the previous :data:`BASELINE_DAYS` days (the daily cycle
removed) with the shared detector of :mod:`rupor.core.spikes`; an hour with at least
:data:`MIN_COUNT` texts and a score of :data:`Z_ALERT` or more is a spike. Each spiking hour is
stored once (``TrendSpike``); only the first hour of a run alerts, in the app and — where the
workspace's alert settings say so — by email, to the people who get the inbox's alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.analytics import service as analytics
from rupor.core import clock, spikes, timezones
from rupor.core.errors import DomainError
from rupor.inbox import monitoring, response
from rupor.inbox.models import InboxItem, MonitoredKeyword, ResponseSettings, TrendSpike
from rupor.notifications import service as notifications

log = logging.getLogger(__name__)

EVENT = "trend_spike"
BASELINE_DAYS = 7
MIN_COUNT = 5
Z_ALERT = 3.0
SD_FLOOR = 1.0
#: The sparkline's length: the last day, hour by hour.
SPARK_HOURS = 24
#: A workspace's keywords are counted again at most this often by the worker (the counts are
#: hourly; the stored spikes make a repeated check harmless).
CHECK_EVERY = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Trend:
    """A keyword's last day: counts per hour (oldest first), the current hour's score, and
    whether it is spiking now."""

    keyword_id: int
    phrase: str
    hourly: tuple[int, ...]
    hours_start: dt.datetime
    total: int  # over the sparkline's day
    inbox: int  # of which in the inbox
    pages: int  # of which in watched pages' posts
    count: int  # in the current hour
    baseline: float  # the mean of the same hour on the baseline days
    z: float
    spiking: bool
    last_spike: dt.datetime | None


@dataclass(frozen=True)
class Text:
    at: dt.datetime
    text: str
    source: str  # "inbox" or "pages"
    #: ISO 639-1 as triage found it; blank when not read yet (then detected when a keyword asks).
    language: str = ""


def _texts(workspace_id: int, since: dt.datetime) -> list[Text]:
    rows = (
        InboxItem.objects.filter(workspace_id=workspace_id, occurred_at__gte=since, outgoing=False)
        .exclude(text="")
        .values_list("occurred_at", "text", "language")
    )
    out = [Text(at, text, "inbox", language) for at, text, language in rows.iterator()]
    out += [Text(at, text, "pages") for at, text in analytics.watched_post_texts(workspace_id, since)]
    return out


def keyword_times(keywords: Sequence[MonitoredKeyword], texts: Sequence[Text]) -> dict[int, list[Text]]:
    """Which texts name each keyword (its minus-words and its language filter heeded)."""
    found: dict[int, list[Text]] = {}
    detected: dict[int, str] = {}  # a text's language, detected once whatever the keywords

    def language(index: int, text: Text) -> str:
        if text.language:
            return text.language
        if index not in detected:
            from rupor.inbox.triage import detect_language  # as monitoring.language_fits does

            detected[index] = detect_language(text.text)
        return detected[index]

    for k in keywords:
        found[k.pk] = [
            t
            for i, t in enumerate(texts)
            if monitoring.matches(t.text, k.phrase, k.minus_words)
            and (not k.language or language(i, t) == k.language)
        ]
    return found


def _score(times: Sequence[dt.datetime], hour: dt.datetime, zone: str, now: dt.datetime) -> spikes.Score:
    return spikes.score_hour(
        times, hour, zone, days=BASELINE_DAYS, until=now + dt.timedelta(seconds=1), sd_floor=SD_FLOOR
    )


def is_spike(found: spikes.Score) -> bool:
    return found.spike(min_count=MIN_COUNT, z_alert=Z_ALERT)


def _zone(workspace_id: int) -> str:
    return response.settings_for(workspace_id).zone


def trends(workspace_id: int, now: dt.datetime | None = None) -> list[Trend]:
    """Every watched keyword's last day and current score, the hottest first."""
    now = now or clock.now()
    keywords = list(MonitoredKeyword.objects.filter(workspace_id=workspace_id))
    if not keywords:
        return []
    zone = _zone(workspace_id)
    current = spikes.hour_of(now)
    since = current - dt.timedelta(days=BASELINE_DAYS + 1)
    found = keyword_times(keywords, _texts(workspace_id, since))
    start = current - dt.timedelta(hours=SPARK_HOURS - 1)
    last = dict(
        TrendSpike.objects.filter(workspace_id=workspace_id, notified=True)
        .order_by("keyword_id", "hour_start")  # the newest of each keyword wins
        .values_list("keyword_id", "hour_start")
    )
    out = []
    for keyword in keywords:
        texts = found[keyword.pk]
        times = [t.at for t in texts]
        recent = [t for t in texts if t.at >= start]
        score = _score(times, current, zone, now)
        out.append(
            Trend(
                keyword_id=keyword.pk,
                phrase=keyword.phrase,
                hourly=tuple(spikes.hourly_counts(times, start, SPARK_HOURS)),
                hours_start=start,
                total=len(recent),
                inbox=sum(1 for t in recent if t.source == "inbox"),
                pages=sum(1 for t in recent if t.source == "pages"),
                count=score.count,
                baseline=score.mean,
                z=score.z,
                spiking=is_spike(score),
                last_spike=last.get(keyword.pk),
            )
        )
    out.sort(key=lambda t: (not t.spiking, -t.z, t.phrase))
    return out


# -- alerts --------------------------------------------------------------------------------

_checked: dict[int, dt.datetime] = {}
_checked_lock = threading.Lock()


def check_workspace(workspace_id: int, now: dt.datetime) -> int:
    """Store each spiking hour (the current and the previous one) of each keyword once, and
    alert at the first hour of a run. Returns how many alerts went out."""
    row = ResponseSettings.objects.filter(workspace_id=workspace_id).first()
    if row is not None and not row.trend_alerts:
        return 0
    keywords = list(MonitoredKeyword.objects.filter(workspace_id=workspace_id))
    if not keywords:
        return 0
    zone = _zone(workspace_id)
    current = spikes.hour_of(now)
    found = keyword_times(keywords, _texts(workspace_id, current - dt.timedelta(days=BASELINE_DAYS + 1)))
    sent = 0
    for keyword in keywords:
        times = [t.at for t in found[keyword.pk]]
        for hour in (current - spikes.HOUR, current):
            if TrendSpike.objects.filter(keyword=keyword, hour_start=hour).exists():
                continue
            score = _score(times, hour, zone, now)
            if is_spike(score) and _record(
                keyword, hour, score, zone, email=row.trend_email if row else True
            ):
                sent += 1
    return sent


def _record(
    keyword: MonitoredKeyword, hour: dt.datetime, found: spikes.Score, zone: str, *, email: bool
) -> bool:
    continues = TrendSpike.objects.filter(keyword=keyword, hour_start=hour - spikes.HOUR).exists()
    try:
        with transaction.atomic():
            TrendSpike.objects.create(
                workspace_id=keyword.workspace_id,
                keyword=keyword,
                hour_start=hour,
                count=found.count,
                baseline=found.mean,
                score=found.z,
                notified=not continues,
                created_at=clock.now(),
            )
            if continues:
                return False
            local = timezones.to_local(hour, zone)
            body = _(
                "“%(keyword)s” was named %(count)s times in the hour from %(hour)s (comments, messages, "
                "mentions and competitors' posts); usually %(mean)s at this hour."
            ) % {
                "keyword": keyword.phrase,
                "count": found.count,
                "hour": f"{local:%Y-%m-%d %H:%M}",
                "mean": f"{found.mean:.1f}",
            }
            notifications.notify_event(
                keyword.workspace_id,
                EVENT,
                body,
                target_id=keyword.pk,
                link="/analytics/trends/",
                user_ids=response.alert_recipients(keyword.workspace_id),
                email=email,
            )
    except IntegrityError:
        return False  # another worker stored this hour first
    return True


def run_alerts(now: dt.datetime) -> int:
    """The worker's periodic job: check each workspace with keywords (at most every
    :data:`CHECK_EVERY`); how many alerts went out."""
    sent = 0
    for ws in MonitoredKeyword.objects.values_list("workspace_id", flat=True).distinct():
        with _checked_lock:
            last = _checked.get(ws)
            if last is not None and last <= now < last + CHECK_EVERY:
                continue
            _checked[ws] = now
        try:
            sent += check_workspace(ws, now)
        except Exception:
            log.exception("checking keyword trends of workspace %s failed", ws)
    return sent


# -- settings ------------------------------------------------------------------------------


class TrendError(DomainError):
    """A refused change of the trend alerts' settings."""


def settings(workspace_id: int) -> tuple[bool, bool]:
    """(alerts on, email too) for the workspace's keyword trend alerts."""
    row = ResponseSettings.objects.filter(workspace_id=workspace_id).first()
    return (row.trend_alerts, row.trend_email) if row else (True, True)


def set_settings(actor: Actor, *, alerts: bool, email: bool) -> None:
    """Turn the keyword trend alerts, and their emails, on or off (inbox settings' managers)."""
    if not actor.can(Perm.INBOX_SETTINGS):
        raise TrendError(_("Your role does not allow this."), status=403)
    ResponseSettings.objects.update_or_create(
        workspace_id=actor.workspace_id, defaults={"trend_alerts": alerts, "trend_email": email}
    )
    record(
        actor.workspace_id,
        actor,
        "inbox.trend_settings",
        "workspace",
        actor.workspace_id,
        f"alerts {'on' if alerts else 'off'}, email {'on' if email else 'off'}",
    )
