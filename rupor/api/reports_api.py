"""Client reports: saved reports (list, create, commentary, delete), their PDF/XLSX downloads,
a one-off report of any period, and the email schedules (CRUD). Reading needs reports.view
(analysts and clients too); changing needs reports.manage (managers and up)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.analytics import reports
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS

router = Router(tags=["reports"])

FILE_RESPONSE = {
    "description": "The report file",
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        reports.CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    },
}


class ReportOut(Schema):
    id: int
    start: dt.date
    end: dt.date
    commentary: str
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by: str = Field(description="Email of who made it; empty for a schedule's report")
    scheduled: bool = Field(description="Made by an email schedule")


class ReportIn(Schema):
    start: dt.date = Field(description="First local day of the period (the workspace's time zone)")
    end: dt.date = Field(description="Last local day, included; at most 366 days after start")
    commentary: str = Field("", max_length=reports.MAX_COMMENTARY)


class CommentaryIn(Schema):
    commentary: str = Field(max_length=reports.MAX_COMMENTARY)


class FileQuery(Schema):
    format: Literal["pdf", "xlsx"] = "pdf"
    language: Literal["en", "ru", "ko"] | None = Field(
        None, description="The report's language; default: the request's (Accept-Language)"
    )


class PeriodQuery(FileQuery):
    start: dt.date = Field(alias="from", description="First local day of the period")
    end: dt.date = Field(alias="to", description="Last local day, included")


class ScheduleIn(Schema):
    frequency: Literal["weekly", "monthly"]
    recipients: list[str] = Field(description="At least one, at most 20 email addresses")
    format: Literal["pdf", "xlsx", "both"] = "pdf"
    language: Literal["en", "ru", "ko"] = "en"
    active: bool = True


class ScheduleOut(Schema):
    id: int
    frequency: str
    recipients: list[str]
    format: str
    language: str
    active: bool
    created_at: dt.datetime
    last_sent: dt.date | None = Field(description="The last day of the latest period emailed")
    last_state: str = Field(description="sending, sent, failed, or empty before the first")
    last_error: str


def _file(rendered: reports.Rendered) -> HttpResponse:
    out = HttpResponse(rendered.content, content_type=rendered.content_type)
    out["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return out


def _in_language(language: str | None) -> Any:
    return translation.override(language) if language else translation.override(translation.get_language())


@router.get("/reports", response={200: list[ReportOut], **ERRORS}, summary="The workspace's saved reports")
def list_reports(request: HttpRequest) -> Any:
    return [dataclasses.asdict(r) for r in reports.list_reports(_need(request, Perm.REPORTS_VIEW))]


@router.post(
    "/reports",
    response={201: ReportOut, 200: ReportOut, **ERRORS},
    summary="Save a report for a period (200 with the existing one when the period has one)",
)
def create_report(request: HttpRequest, payload: ReportIn) -> Any:
    who = _need(request, Perm.REPORTS_MANAGE)
    report, created = reports.create_report(who, payload.start, payload.end, payload.commentary)
    return Status(201 if created else 200, dataclasses.asdict(report))


@router.get(
    "/reports/file",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: FILE_RESPONSE}},
    summary="A report of any period as PDF or XLSX, made now and not saved",
)
def period_file(request: HttpRequest, q: Query[PeriodQuery]) -> Any:
    who = _need(request, Perm.REPORTS_VIEW)
    with _in_language(q.language):
        return _file(reports.render_period(who, q.start, q.end, q.format))


@router.get("/reports/{report_id}", response={200: ReportOut, **ERRORS}, summary="One saved report")
def get_report(request: HttpRequest, report_id: int) -> Any:
    return dataclasses.asdict(reports.get_report(_need(request, Perm.REPORTS_VIEW), report_id))


@router.get(
    "/reports/{report_id}/file",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: FILE_RESPONSE}},
    summary="Download a saved report as PDF or XLSX",
)
def report_file(request: HttpRequest, report_id: int, q: Query[FileQuery]) -> Any:
    who = _need(request, Perm.REPORTS_VIEW)
    with _in_language(q.language):
        return _file(reports.download(who, report_id, q.format))


@router.put(
    "/reports/{report_id}/commentary",
    response={200: ReportOut, **ERRORS},
    summary="Set the manager's commentary",
)
def set_commentary(request: HttpRequest, report_id: int, payload: CommentaryIn) -> Any:
    who = _need(request, Perm.REPORTS_MANAGE)
    return dataclasses.asdict(reports.set_commentary(who, report_id, payload.commentary))


@router.delete("/reports/{report_id}", response={204: None, **ERRORS}, summary="Delete a saved report")
def delete_report(request: HttpRequest, report_id: int) -> Any:
    reports.delete_report(_need(request, Perm.REPORTS_MANAGE), report_id)
    return Status(204, None)


def _schedule(s: reports.ScheduleInfo) -> dict[str, Any]:
    return {**dataclasses.asdict(s), "recipients": list(s.recipients)}


@router.get(
    "/report-schedules", response={200: list[ScheduleOut], **ERRORS}, summary="Email schedules of reports"
)
def list_schedules(request: HttpRequest) -> Any:
    return [_schedule(s) for s in reports.list_schedules(_need(request, Perm.REPORTS_VIEW))]


@router.post(
    "/report-schedules",
    response={201: ScheduleOut, **ERRORS},
    summary="Email the previous week's or month's report after each period ends",
)
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> Any:
    who = _need(request, Perm.REPORTS_MANAGE)
    return Status(201, _schedule(reports.save_schedule(who, **payload.dict())))


@router.get("/report-schedules/{schedule_id}", response={200: ScheduleOut, **ERRORS}, summary="One schedule")
def get_schedule(request: HttpRequest, schedule_id: int) -> Any:
    return _schedule(reports.get_schedule(_need(request, Perm.REPORTS_VIEW), schedule_id))


@router.put(
    "/report-schedules/{schedule_id}", response={200: ScheduleOut, **ERRORS}, summary="Change a schedule"
)
def update_schedule(request: HttpRequest, schedule_id: int, payload: ScheduleIn) -> Any:
    who = _need(request, Perm.REPORTS_MANAGE)
    return _schedule(reports.save_schedule(who, schedule_id=schedule_id, **payload.dict()))


@router.delete("/report-schedules/{schedule_id}", response={204: None, **ERRORS}, summary="Delete a schedule")
def delete_schedule(request: HttpRequest, schedule_id: int) -> Any:
    reports.delete_schedule(_need(request, Perm.REPORTS_MANAGE), schedule_id)
    return Status(204, None)
