"""The notification centre (/notifications/: a member's own notifications, open one, mark all
read) and outgoing webhooks on the workspace settings page: register, send a test event, delete."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts.roles import Perm
from rupor.notifications import service as notifications
from rupor.web import forms
from rupor.web.accounts_views import settings_page
from rupor.web.base import SignedInRequest, WorkspaceRequest, _actor, _bind_error, workspace_view

#: Notifications on one page of the centre; "Show more" pages on.
PAGE_SIZE = 50


def _safe_link(request: WorkspaceRequest, link: str) -> str | None:
    """``link`` when it is a path of this site ("/inbox/3/"); anything else (another host,
    "//host", a scheme, a backslash trick) is refused: no open redirect."""
    if not link.startswith("/") or link.startswith("//") or "\\" in link:
        return None
    if not url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return None
    return link


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 10_000 else 1


@workspace_view(Perm.WORKSPACE_VIEW)
@require_GET
def notifications_page(request: WorkspaceRequest) -> HttpResponseBase:
    unread_only = request.GET.get("unread") == "1"
    page = _page_number(request.GET.get("page", ""))
    rows = notifications.list_notifications(
        request.workspace.pk,
        request.user.pk,
        unread_only=unread_only,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "web/notifications.html",
        {
            "notifications": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "page": page,
            "next_page": page + 1,
            "unread_only": unread_only,
            "unread_total": notifications.unread_count(request.workspace.pk, request.user.pk),
        },
    )


@workspace_view(Perm.WORKSPACE_VIEW)
@require_POST
def notification_open(request: WorkspaceRequest, notification_id: int) -> HttpResponseBase:
    try:
        link = notifications.open_notification(request.workspace.pk, request.user.pk, notification_id)
    except notifications.NotificationsError as exc:
        raise Http404 from exc
    return redirect(_safe_link(request, link) or reverse("web:notifications"))


@workspace_view(Perm.WORKSPACE_VIEW)
@require_POST
def notifications_read_all(request: WorkspaceRequest) -> HttpResponseBase:
    marked = notifications.mark_read(request.workspace.pk, request.user.pk)
    if marked:
        messages.success(request, _("All notifications are marked as read."))
    return redirect("web:notifications")


def _back_to_list(request: WorkspaceRequest) -> HttpResponseBase:
    """Back to the page of the list the person was on (the filter and page they had)."""
    query = {k: v for k in ("unread", "page") if (v := request.POST.get(k, "")).isdigit()}
    url = reverse("web:notifications")
    return redirect(f"{url}?{urlencode(query)}" if query else url)


@workspace_view(Perm.WORKSPACE_VIEW)
@require_POST
def notification_read(request: WorkspaceRequest, notification_id: int) -> HttpResponseBase:
    """Mark one of the person's notifications read without opening it."""
    _own_notification(request, notification_id)
    notifications.mark_read(request.workspace.pk, request.user.pk, [notification_id])
    return _back_to_list(request)


@workspace_view(Perm.WORKSPACE_VIEW)
@require_POST
def notification_unread(request: WorkspaceRequest, notification_id: int) -> HttpResponseBase:
    """Mark one of the person's notifications unread again, to come back to it."""
    _own_notification(request, notification_id)
    notifications.mark_unread(request.workspace.pk, request.user.pk, [notification_id])
    return _back_to_list(request)


def _own_notification(request: WorkspaceRequest, notification_id: int) -> None:
    """Someone else's notification, or another workspace's, is a 404."""
    if not notifications.is_mine(request.workspace.pk, request.user.pk, notification_id):
        raise Http404


#: Where the email preferences form keeps what was sent when it is refused, for the profile
#: page to show it again with the reason (the page belongs to accounts; the form to us).
POSTED_KEY = "rupor_email_prefs_posted"


@login_required
@require_POST
def email_preferences(request: SignedInRequest) -> HttpResponseBase:
    """Save the person's email preferences (the card on the profile page)."""
    emailed = {kind: request.POST.get(f"email_{kind}") == "1" for kind in notifications.EVENTS}
    raw_hour = request.POST.get("digest_hour", "")
    timezone = request.POST.get("timezone", "").strip()[:64]
    digest = request.POST.get("digest") == "daily"
    try:
        hour = int(raw_hour) if raw_hour.strip().isdigit() else -1
        notifications.save_email_preferences(
            request.user.pk, emailed=emailed, digest=digest, digest_hour=hour, timezone=timezone
        )
    except notifications.NotificationsError as exc:
        request.session[POSTED_KEY] = {
            "emailed": [k for k, on in emailed.items() if on],
            "digest": digest,
            "digest_hour": raw_hour[:4],
            "timezone": timezone,
            "error": exc.message,
            "field": exc.field or "",
        }
        return redirect(reverse("web:profile") + "#email-prefs")
    messages.success(request, _("Your email preferences are saved."))
    return redirect(reverse("web:profile") + "#email-prefs")


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_create(request: WorkspaceRequest) -> HttpResponseBase:
    form = forms.WebhookForm(request.POST, events=notifications.EVENTS)
    if form.is_valid():
        data = form.cleaned_data
        try:
            new = notifications.create_endpoint(
                request.workspace.pk,
                data["url"],
                events=data["events"],
                description=data["description"],
                by=_actor(request),
            )
        except notifications.NotificationsError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            return settings_page(request, new_endpoint=new)
    return settings_page(request, webhook_form=form, status=400)


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_delete(request: WorkspaceRequest, endpoint_id: int) -> HttpResponseBase:
    try:
        notifications.remove_endpoint(request.workspace.pk, endpoint_id, by=_actor(request))
    except notifications.NotificationsError as exc:
        raise Http404 from exc
    messages.success(request, _("The webhook endpoint was deleted; Rupor sends it nothing more."))
    return redirect("web:workspace_settings")


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_test(request: WorkspaceRequest, endpoint_id: int) -> HttpResponseBase:
    try:
        result = notifications.send_test(request.workspace.pk, endpoint_id, by=_actor(request))
    except notifications.NotificationsError as exc:
        raise Http404 from exc
    if result.state == "sent":
        messages.success(request, _("The test event was delivered."))
    else:
        messages.error(
            request, _("The test event was not delivered: %(error)s") % {"error": result.last_error}
        )
    return redirect("web:workspace_settings")
