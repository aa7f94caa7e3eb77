"""Channel pages: the connected accounts, connecting one, editing and removing it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from rupor.accounts.roles import Perm
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.networks import registry
from rupor.networks.base import CredentialField
from rupor.web import forms
from rupor.web.base import WorkspaceRequest, _actor, _bind_error, _get_channel, workspace_view


def _credential_fields(network: str) -> tuple[CredentialField, ...] | None:
    """The network's credential fields, or ``None`` when Rupor has no adapter for it yet."""
    if network not in registry.available():
        return None
    return registry.adapter(network).credential_fields


def _networks() -> list[dict[str, Any]]:
    available = set(registry.available())
    return [
        {"key": key, "name": name, "available": key in available}
        for key, name in registry.DISPLAY_NAMES.items()
    ]


@workspace_view(Perm.CHANNELS_VIEW)
@require_GET
def channel_list(request: WorkspaceRequest) -> HttpResponseBase:
    items = list(channels.list_channels(request.workspace.pk))
    return render(request, "web/channels.html", {"channels": items, "networks": _networks()})


@workspace_view(Perm.CHANNELS_MANAGE)
@require_http_methods(["GET", "POST"])
def channel_connect(request: WorkspaceRequest, network: str) -> HttpResponseBase:
    if network not in registry.DISPLAY_NAMES:
        raise Http404
    fields = _credential_fields(network)
    if fields is None:
        messages.info(
            request,
            _("Rupor cannot connect to %(network)s yet.") % {"network": registry.DISPLAY_NAMES[network]},
        )
        return redirect("web:channels")
    form = forms.ChannelForm(request.POST or None, fields=fields)
    if request.method == "POST" and form.is_valid():
        data = channels.ChannelInput(
            network=network,
            name=form.cleaned_data["name"],
            remote_id=form.cleaned_data["remote_id"],
            credentials=form.credentials(),
            base_url=form.cleaned_data["base_url"],
        )
        try:
            channel = channels.connect(_actor(request), data)
        except channels.ChannelError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            messages.success(request, _("%(name)s is connected.") % {"name": channel.name})
            return redirect("web:channels")
    return render(
        request,
        "web/channel_form.html",
        {"form": form, "network": network, "network_name": registry.DISPLAY_NAMES[network], "channel": None},
        status=400 if form.is_bound and form.errors else 200,
    )


@workspace_view(Perm.CHANNELS_MANAGE)
@require_http_methods(["GET", "POST"])
def channel_edit(request: WorkspaceRequest, channel_id: int) -> HttpResponseBase:
    channel = _get_channel(request, channel_id)
    fields = _credential_fields(channel.network) or ()
    initial = {
        "name": channel.name,
        "base_url": channel.base_url,
        "status": "paused" if channel.status == Channel.Status.PAUSED else "active",
    }
    for f in fields:
        if not f.secret:
            initial[forms.CRED_PREFIX + f.name] = channel.get_credentials().get(f.name, "")
    form = forms.ChannelForm(request.POST or None, fields=fields, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes: dict[str, Any] = {"name": form.cleaned_data["name"] or channel.name}
        if (form.cleaned_data["base_url"] or "").rstrip("/") != channel.base_url:
            changes["base_url"] = form.cleaned_data["base_url"]  # a new address is verified again
        creds = form.credentials()
        if creds:
            changes["credentials"] = creds
        if channel.status != Channel.Status.RECONNECT or form.cleaned_data["status"] == "paused":
            changes["status"] = form.cleaned_data["status"]
        try:
            channels.update(_actor(request), channel.pk, changes)
        except channels.ChannelError as exc:
            _bind_error(form, exc.field, exc.message)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": changes["name"]})
            return redirect("web:channels")
    return render(
        request,
        "web/channel_form.html",
        {
            "form": form,
            "network": channel.network,
            "network_name": registry.DISPLAY_NAMES.get(channel.network, channel.network),
            "channel": channel,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@workspace_view(Perm.CHANNELS_MANAGE)
@require_http_methods(["GET", "POST"])
def channel_remove(request: WorkspaceRequest, channel_id: int) -> HttpResponseBase:
    channel = _get_channel(request, channel_id)
    if request.method == "POST":
        try:
            channels.remove(_actor(request), channel.pk)
        except channels.ChannelError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s was removed.") % {"name": channel.name})
        return redirect("web:channels")
    return render(
        request,
        "web/confirm.html",
        {
            "title": _("Remove %(name)s?") % {"name": channel.name},
            "text": _(
                "Posts not published yet on this channel are cancelled. Published posts keep their history."
            ),
            "action": _("Remove channel"),
            "cancel_url": reverse("web:channels"),
        },
    )
