"""Site traffic of tracked links over the API: the workspace's web analytics sources (Yandex
Metrica, Google Analytics 4: connect, test, read now, disconnect) and the sessions, users and
conversions they counted by post, network, campaign or day (``links.traffic``). Credentials go
in and never come out."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.links import traffic

router = Router(tags=["links"])

SourceKind = Literal["metrica", "ga4"]


class SourceIn(Schema):
    account_id: str = Field(
        max_length=20, description="The Metrica counter number, or the GA4 property id (digits)"
    )
    secret: str = Field(
        "",
        max_length=traffic.MAX_SECRET,
        description="Metrica: the OAuth token; GA4: the service account key file (JSON). Empty: keep the stored one",
    )
    goal: str = Field(
        "",
        max_length=60,
        description="The conversion counted: a Metrica goal id or a GA4 key event; empty: all",
    )
    base_url: str = Field("", max_length=300, description="The service's address when not its own (a proxy)")
    verify: bool = Field(True, description="Ask the service first; nothing is saved when it refuses")


class SourceOut(Schema):
    kind: str
    display_name: str
    account_id: str
    goal: str
    goal_name: str
    base_url: str
    status: str = Field(description="active, or reconnect: the service refused the credentials")
    name: str = Field(description="The counter's or property's name, from the last connection test")
    timezone: str = Field(description="The days of its reports are its local days")
    goals: list[tuple[str, str]] = Field(description="[id, name] of each goal or key event")
    client_email: str = Field(description="GA4: the service account, to be given Viewer access")
    verified_at: dt.datetime | None
    collected_at: dt.datetime | None
    collected_through: dt.date | None
    next_run_at: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None


class TrafficOut(Schema):
    sessions: int
    users: int = Field(description="Added up day by day: a person who came on two days counts twice")
    conversions: int


class LineOut(Schema):
    post_id: int | None
    network: str = Field(description="utm_source")
    campaign: str = Field(description="utm_campaign")
    day: dt.date | None
    traffic: TrafficOut


class CollectedOut(Schema):
    first: dt.date | None
    last: dt.date | None
    rows: int


class TrafficQuery(Schema):
    source: str = Field("", description="metrica or ga4; empty: Metrica when connected, else GA4")
    by: Literal["post", "campaign", "network", "day"] = Field("post", description="Group by")
    days: int = Field(30, ge=0, le=3650, description="The last N days (the workspace's days); 0: all")
    post_id: int | None = Field(None, ge=1, description="Only this post")
    network: str = Field("", max_length=100, description="Only this utm_source")
    campaign: str = Field("", max_length=100, description="Only this utm_campaign")


def _lines(who: Actor, query: TrafficQuery) -> list[traffic.TrafficLine]:
    kind = query.source or traffic.default_kind(who.workspace_id)
    if not kind:
        return []
    first, last = traffic.period(who.workspace_id, query.days)
    return traffic.table(
        who,
        kind=kind,
        by=query.by,
        first=first,
        last=last,
        post_id=query.post_id,
        network=query.network,
        campaign=query.campaign,
    )


@router.get(
    "/links/traffic",
    response={200: list[LineOut], **ERRORS},
    summary="Sessions, users and conversions of tracked links by post, campaign, network or day",
)
def traffic_table(request: HttpRequest, query: Query[TrafficQuery]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [dataclasses.asdict(line) for line in _lines(who, query)]


@router.get(
    "/links/traffic/export.csv",
    response={200: None, **ERRORS},
    summary="The traffic table as CSV (the same filters as /links/traffic)",
)
def traffic_export(request: HttpRequest, query: Query[TrafficQuery]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    out = HttpResponse(traffic.traffic_csv(_lines(who, query)), content_type="text/csv; charset=utf-8")
    out["Content-Disposition"] = 'attachment; filename="traffic.csv"'
    return out


@router.get(
    "/links/traffic/sources",
    response={200: list[SourceOut], **ERRORS},
    summary="The workspace's web analytics sources (never their credentials)",
)
def list_sources(request: HttpRequest) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [dataclasses.asdict(row) for row in traffic.sources(who)]


@router.put(
    "/links/traffic/sources/{source}",
    response={200: SourceOut, **ERRORS},
    summary="Connect or change Yandex Metrica or GA4 (owners and admins)",
)
def put_source(request: HttpRequest, source: SourceKind, payload: SourceIn) -> Any:
    who = _need(request, Perm.WORKSPACE_MANAGE)
    row = traffic.connect(
        who,
        traffic.SourceInput(source, payload.account_id, payload.secret, payload.goal, payload.base_url),
        verify=payload.verify,
    )
    return dataclasses.asdict(row)


@router.delete(
    "/links/traffic/sources/{source}",
    response={204: None, **ERRORS},
    summary="Disconnect a source: its credentials and the traffic read from it are deleted",
)
def delete_source(request: HttpRequest, source: SourceKind) -> Any:
    who = _need(request, Perm.WORKSPACE_MANAGE)
    traffic.disconnect(who, source)
    return Status(204, None)


@router.post(
    "/links/traffic/sources/{source}/test",
    response={200: SourceOut, **ERRORS},
    summary="Test the connection now (the service's name, time zone and goals)",
)
def test_source(request: HttpRequest, source: SourceKind) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    return dataclasses.asdict(traffic.check_connection(who, source))


@router.post(
    "/links/traffic/sources/{source}/collect",
    response={200: CollectedOut, **ERRORS},
    summary="Read the source now (the days since the last reading, and the few before)",
)
def collect_source(request: HttpRequest, source: SourceKind) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    done = traffic.collect_now(who, source)
    return {"first": done.first, "last": done.last, "rows": done.rows}
