"""The workspace's audit trail: the filtered list, page by page, and the same list as CSV
(streamed). Owners and admins (``audit.view``), and API keys with their role."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import translation
from ninja import Query, Router, Schema
from pydantic import Field

from rupor.accounts import audit
from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS, ApiError

router = Router(tags=["audit"])


class AuditQuery(Schema):
    who: str = Field(
        "",
        max_length=30,
        description='"user:<id>" (a person), "key:<id>" (an API key) or "system" (Rupor by itself).',
    )
    action: str = Field(
        "", max_length=64, description='An action code ("post.delete"), or a group ("post.*").'
    )
    object_type: str = Field(
        "", max_length=40, description="What the entries are about: " + ", ".join(audit.OBJECT_TYPES)
    )
    object_id: str = Field("", max_length=40, description="The object's id (with object_type).")
    from_: dt.date | None = Field(None, alias="from", description="First day, in the workspace's time zone.")
    to: dt.date | None = Field(None, description="Last day (included), in the workspace's time zone.")
    q: str = Field(
        "", max_length=audit.MAX_QUERY, description="Words in the summary, the actor, the action or the id."
    )


class PageQuery(AuditQuery):
    before: str = Field("", max_length=200, description="The `older` cursor of a previous page.")
    after: str = Field("", max_length=200, description="The `newer` cursor of a previous page.")
    limit: int = Field(audit.DEFAULT_PAGE, ge=1, le=audit.MAX_PAGE)


class EntryOut(Schema):
    id: int
    at: dt.datetime
    actor_kind: str = Field(..., description='"person", "api_key" or "system".')
    actor_user_id: int | None
    actor_api_key_id: int | None
    actor: str
    action: str
    action_label: str
    object_type: str
    object_type_label: str
    object_id: str
    summary: str


class AuditPageOut(Schema):
    items: list[EntryOut]
    older: str = Field(..., description="Pass as `before` for the next, older page; blank on the last.")
    newer: str = Field(..., description="Pass as `after` for the previous, newer page; blank on the first.")


def _filters(q: AuditQuery) -> audit.Filters:
    raw = {
        "who": q.who,
        "action": q.action,
        "object_type": q.object_type,
        "object_id": q.object_id,
        "from": q.from_.isoformat() if q.from_ else "",
        "to": q.to.isoformat() if q.to else "",
        "q": q.q,
    }
    try:
        return audit.parse_filters(raw)
    except audit.AuditError as exc:
        raise ApiError(422, exc.message, field=exc.field) from exc


@router.get(
    "/audit",
    response={200: AuditPageOut, **ERRORS},
    summary="The audit trail: who changed what, newest first, filtered and paged",
)
def audit_list(request: HttpRequest, query: Query[PageQuery]) -> Any:
    who = _need(request, Perm.AUDIT_VIEW)
    f = _filters(query)
    try:
        found = audit.page(who.workspace_id, f, before=query.before, after=query.after, limit=query.limit)
    except audit.AuditError as exc:
        raise ApiError(422, exc.message, field=exc.field) from exc
    return {
        "items": [dataclasses.asdict(e) for e in found.entries],
        "older": found.older,
        "newer": found.newer,
    }


@router.get(
    "/audit/export.csv",
    response={200: None, **ERRORS},
    summary="The audit trail as CSV, with the same filters as /audit (streamed)",
    description="Every entry that passes the filters, newest first; times in the workspace's zone and "
    "in UTC; cells a spreadsheet would run as a formula start with a quote.",
)
def audit_csv(request: HttpRequest, query: Query[AuditQuery]) -> Any:
    who = _need(request, Perm.AUDIT_VIEW)
    f = _filters(query)
    lines = audit.csv_lines(who.workspace_id, f, language=translation.get_language() or "")
    out = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    out["Content-Disposition"] = 'attachment; filename="audit.csv"'
    out["Cache-Control"] = "no-store"
    return out
