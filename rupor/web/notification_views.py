"""Outgoing webhooks on the workspace settings page: register, send a test event, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rupor.accounts.roles import Perm
from rupor.notifications import service as notifications
from rupor.web import forms
from rupor.web.accounts_views import settings_page
from rupor.web.base import WorkspaceRequest, _bind_error, workspace_view


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_create(request: WorkspaceRequest) -> HttpResponseBase:
    form = forms.WebhookForm(request.POST, events=notifications.EVENTS)
    if form.is_valid():
        data = form.cleaned_data
        try:
            new = notifications.create_endpoint(
                request.workspace.pk, data["url"], events=data["events"], description=data["description"]
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
        notifications.remove_endpoint(request.workspace.pk, endpoint_id)
    except notifications.NotificationsError as exc:
        raise Http404 from exc
    messages.success(request, _("The webhook endpoint was deleted; Rupor sends it nothing more."))
    return redirect("web:workspace_settings")


@workspace_view(Perm.WEBHOOKS_MANAGE)
@require_POST
def webhook_test(request: WorkspaceRequest, endpoint_id: int) -> HttpResponseBase:
    try:
        result = notifications.send_test(request.workspace.pk, endpoint_id)
    except notifications.NotificationsError as exc:
        raise Http404 from exc
    if result.state == "sent":
        messages.success(request, _("The test event was delivered."))
    else:
        messages.error(
            request, _("The test event was not delivered: %(error)s") % {"error": result.last_error}
        )
    return redirect("web:workspace_settings")
