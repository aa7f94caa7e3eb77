"""The audit trail page (/audit/): who changed what in the workspace, filtered by person or API
key, action, object, dates and words, walked page by page, and exported as CSV with the same
filters (streamed). Owners and admins only (``audit.view``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import translation
from django.views.decorators.http import require_GET

from rupor.accounts import audit
from rupor.accounts.roles import Perm
from rupor.web.base import WorkspaceRequest, workspace_view

#: Where an entry's object can be looked at: object type -> (URL name, its parameter).
OBJECT_PAGES = {
    "post": ("web:post_edit", "post_id"),
    "channel": ("web:channel_edit", "channel_id"),
    "publication": ("web:publishing_target", "target_id"),
    "inbox_item": ("web:inbox_item", "item_id"),
    "giveaway": ("web:giveaway", "giveaway_id"),
    "newsletter": ("web:newsletter", "newsletter_id"),
    "newsletter_list": ("web:newsletter_list", "list_id"),
    "report": ("web:report", "report_id"),
    "abtest": ("web:analytics_ab_test", "test_id"),
    "saved_reply": ("web:saved_reply_edit", "saved_reply_id"),
}
#: Actions after which the object is gone: no link to it.
_GONE = (".delete", ".remove")


def object_link(entry: audit.EntryView) -> str:
    """The page of the entry's object, or "" (no page, or the action deleted it)."""
    found = OBJECT_PAGES.get(entry.object_type)
    if found is None or not entry.object_id.isdigit() or entry.action.endswith(_GONE):
        return ""
    try:
        return reverse(found[0], kwargs={found[1]: int(entry.object_id)})
    except NoReverseMatch:
        return ""


_FIELDS = ("who", "action", "object_type", "object_id", "from", "to", "q")


def _raw(request: WorkspaceRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "")[:300] for k in _FIELDS}


def _filters(request: WorkspaceRequest) -> tuple[audit.Filters, dict[str, str]]:
    """The filters from the query string, and the refusals per field (the filters then fall
    back to none, so the page still shows the trail)."""
    raw = _raw(request)
    try:
        return audit.parse_filters(raw), {}
    except audit.AuditError as exc:
        return audit.Filters(), {exc.field or "q": exc.message}


@workspace_view(Perm.AUDIT_VIEW)
@require_GET
def audit_page(request: WorkspaceRequest) -> HttpResponseBase:
    f, errors = _filters(request)
    before, after = request.GET.get("before", "")[:200], request.GET.get("after", "")[:200]
    try:
        found = audit.page(request.workspace.pk, f, before=before, after=after)
    except audit.AuditError as exc:
        errors[exc.field or "q"] = exc.message
        found = audit.page(request.workspace.pk, f)
    query = f.as_query()
    rows: list[dict[str, Any]] = [{"e": e, "link": object_link(e)} for e in found.entries]
    raw = _raw(request)
    return render(
        request,
        "web/audit.html",
        {
            "rows": rows,
            "f": f,
            "raw": raw if errors else {**raw, **query},
            "errors": errors,
            "who_choices": audit.who_choices(request.workspace.pk),
            "action_groups": audit.action_choices(),
            "object_types": audit.object_type_choices(),
            "query": urlencode(query),
            "older": urlencode({**query, "before": found.older}) if found.older else "",
            "newer": urlencode({**query, "after": found.newer}) if found.newer else "",
            "filtered": bool(query),
            "paged": bool(before or after),
        },
        status=400 if errors else 200,
    )


@workspace_view(Perm.AUDIT_VIEW)
@require_GET
def audit_export(request: WorkspaceRequest) -> HttpResponseBase:
    """The filtered trail as CSV, streamed (a refused filter answers 400 with the reason)."""
    f, errors = _filters(request)
    if errors:
        return render(
            request,
            "web/audit.html",
            {
                "rows": [],
                "f": f,
                "raw": _raw(request),
                "errors": errors,
                "who_choices": audit.who_choices(request.workspace.pk),
                "action_groups": audit.action_choices(),
                "object_types": audit.object_type_choices(),
                "query": "",
            },
            status=400,
        )
    lines = audit.csv_lines(request.workspace.pk, f, language=translation.get_language() or "")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{request.workspace.slug}.csv"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("audit/", audit_page, name="audit"),
    path("audit/export.csv", audit_export, name="audit_export"),
]
