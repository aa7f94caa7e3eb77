"""Response-time endpoints: the team's first-response and resolution times and response rate
(JSON or CSV), and the workspace's business hours and inbox alert settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.core import clock, timezones
from rupor.inbox import response

router = Router(tags=["inbox"])


class StatsOut(Schema):
    count: int
    mean: float | None = Field(description="Seconds (business seconds when business hours are on)")
    median: float | None
    p90: float | None = Field(description="90th percentile, linear interpolation between ranks")


class RowOut(Schema):
    key: str = Field(description="user:<id>, network (answered outside Rupor), nobody, channel:<id> or total")
    name: str
    needing: int = Field(
        description="Items that needed an answer (the audience's, less spam, hidden, deleted)"
    )
    answered: int
    rate: float | None = Field(description="answered / needing, 0-1; null when nothing needed an answer")
    first_response: StatsOut
    resolution: StatsOut


class DayOut(Schema):
    date: dt.date
    needing: int
    answered: int
    median_first_response: float | None


class ReportOut(Schema):
    since: dt.date
    until: dt.date
    zone: str
    business_hours: bool
    total: RowOut
    by_teammate: list[RowOut]
    by_channel: list[RowOut]
    days: list[DayOut]


class ReportQuery(Schema):
    since: dt.date | None = Field(
        None, description="First day (in the business-hours zone); default: 29 days ago"
    )
    until: dt.date | None = Field(None, description="Last day, included; default: today")
    format: Literal["json", "csv"] = "json"


class SettingsIO(Schema):
    business_hours: bool = False
    days: list[int] = Field([0, 1, 2, 3, 4], description="Working days, Monday = 0 … Sunday = 6")
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = Field(dt.time(18, 0), description="Not after day_start: an overnight shift")
    timezone: str = Field("", max_length=64, description="Empty: the workspace's time zone")
    holidays: list[dt.date] = Field([], max_length=response.MAX_HOLIDAYS)
    alert_after_minutes: int = Field(
        60, description="A negative item or complaint waiting longer alerts; 0: never"
    )
    spike_alerts: bool = True
    alert_roles: list[str] = Field(["owner", "admin", "manager"], max_length=10)
    alert_user_ids: list[int] = Field([], max_length=500)


def _row(row: response.Row) -> dict[str, Any]:
    return {**dataclasses.asdict(row), "rate": row.rate}


@router.get(
    "/inbox/response-report",
    response={200: ReportOut, **ERRORS},
    summary="First-response and resolution times and response rate, per teammate, channel and day",
)
def report(request: HttpRequest, q: Query[ReportQuery]) -> Any:
    who = _need(request, Perm.INBOX_REPORT)
    zone = response.settings_for(who.workspace_id).zone
    today = timezones.to_local(clock.now(), zone).date()
    until = q.until or today
    since = q.since or until - dt.timedelta(days=29)
    result = response.report(who, since, until)
    if q.format == "csv":
        out = HttpResponse(response.report_csv(result), content_type="text/csv; charset=utf-8")
        out["Content-Disposition"] = f'attachment; filename="response-times-{since}-{until}.csv"'
        return out
    return {
        "since": result.since,
        "until": result.until,
        "zone": result.zone,
        "business_hours": result.business_hours,
        "total": _row(result.total),
        "by_teammate": [_row(r) for r in result.by_teammate],
        "by_channel": [_row(r) for r in result.by_channel],
        "days": [dataclasses.asdict(d) for d in result.days],
    }


def _settings_out(chosen: response.Settings) -> dict[str, Any]:
    return {
        "business_hours": chosen.business_hours,
        "days": list(chosen.days),
        "day_start": chosen.day_start,
        "day_end": chosen.day_end,
        "timezone": chosen.timezone,
        "holidays": list(chosen.holidays),
        "alert_after_minutes": chosen.alert_after_minutes,
        "spike_alerts": chosen.spike_alerts,
        "alert_roles": list(chosen.alert_roles),
        "alert_user_ids": list(chosen.alert_user_ids),
    }


@router.get(
    "/inbox/response-settings",
    response={200: SettingsIO, **ERRORS},
    summary="Business hours and inbox alert settings",
)
def get_settings(request: HttpRequest) -> Any:
    who = _need(request, Perm.INBOX_REPORT)
    return _settings_out(response.settings_for(who.workspace_id))


@router.put(
    "/inbox/response-settings",
    response={200: SettingsIO, **ERRORS},
    summary="Set business hours and inbox alerts (owners, admins, managers)",
)
def put_settings(request: HttpRequest, payload: SettingsIO) -> Any:
    who = _need(request, Perm.INBOX_SETTINGS)
    current = response.settings_for(who.workspace_id)
    new = response.Settings(
        business_hours=payload.business_hours,
        days=tuple(payload.days),
        day_start=payload.day_start,
        day_end=payload.day_end,
        timezone=payload.timezone.strip(),
        holidays=tuple(payload.holidays),
        alert_after_minutes=payload.alert_after_minutes,
        spike_alerts=payload.spike_alerts,
        alert_roles=tuple(payload.alert_roles),
        alert_user_ids=tuple(payload.alert_user_ids),
        workspace_timezone=current.workspace_timezone,
    )
    return _settings_out(response.save_settings(who, new))
