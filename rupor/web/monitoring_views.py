"""The monitoring page (/inbox/monitoring/): the workspace's watched keywords, whether each search
works, and a form to add one. Anyone who reads the inbox sees it; managers and up change it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rupor.accounts.roles import Perm, can
from rupor.core.errors import DomainError
from rupor.inbox import monitoring
from rupor.web import forms
from rupor.web.base import _actor, workspace_request, workspace_view

#: Languages offered in the form (any ISO 639-1 code is accepted by the API and the CLI).
LANGUAGES = (("en", "English"), ("ru", "Русский"), ("ko", "한국어"))


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    here = workspace_request(request)
    ws_id = here.workspace.pk
    searchers = monitoring.search_channels(ws_id)
    return {
        "keywords": list(monitoring.list_keywords(ws_id)),
        "searchers": searchers,
        "ready": [c for c in searchers if not c.problem],
        "can_manage": can(here.role, Perm.INBOX_MONITOR),
        "keyword_languages": LANGUAGES,
        "interval_min": int(monitoring.INTERVAL.total_seconds() // 60),
        "form": {"phrase": "", "minus_words": "", "language": "", "channel": ""},
        "problem": "",
        "problem_field": "",
        **extra,
    }


@workspace_view(Perm.INBOX_VIEW)
@require_http_methods(["GET", "POST"])
def monitoring_page(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        here = workspace_request(request)
        if not can(here.role, Perm.INBOX_MONITOR):
            raise PermissionDenied(_("Your role in this workspace does not allow this."))
        if request.POST.get("action") == "remove":
            return _remove(request)
        return _add(request)
    return render(request, "web/inbox_monitoring.html", _context(request))


def _add(request: HttpRequest) -> HttpResponseBase:
    typed = {
        "phrase": request.POST.get("phrase", "")[:200],
        "minus_words": request.POST.get("minus_words", "")[:1000],
        "language": request.POST.get("language", "")[:8],
        "channel": request.POST.get("channel", "")[:20],
    }
    channel_id = forms.parse_id(typed["channel"]) if typed["channel"] else None
    try:
        if typed["channel"] and channel_id is None:
            raise monitoring.MonitoringError(
                _("Choose a channel of this workspace whose network can search posts."), "channel", 422
            )
        keyword = monitoring.add_keyword(
            _actor(request),
            typed["phrase"],
            minus_words=typed["minus_words"],
            language=typed["language"],
            channel_id=channel_id,
        )
    except DomainError as exc:
        context = _context(request, form=typed, problem=str(exc), problem_field=exc.field or "")
        return render(request, "web/inbox_monitoring.html", context, status=exc.status)
    messages.success(request, _("Rupor now watches “%(phrase)s”.") % {"phrase": keyword.phrase})
    return redirect("web:inbox_monitoring")


def _remove(request: HttpRequest) -> HttpResponseBase:
    keyword_id = forms.parse_id(request.POST.get("keyword"))
    try:
        if keyword_id is None:
            raise monitoring.MonitoringError(_("No such keyword."), status=404)
        monitoring.remove_keyword(_actor(request), keyword_id)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The keyword is no longer watched; what it found stays in the inbox."))
    return redirect("web:inbox_monitoring")


urlpatterns: list[URLPattern] = [
    path("inbox/monitoring/", monitoring_page, name="inbox_monitoring"),
]
