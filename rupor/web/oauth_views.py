"""Connecting a channel by signing in on the network (OAuth): X (authorization code with PKCE) and
Mastodon (an app registered on the instance). Starting is a POST with Django's CSRF token; the
network sends the person back to the callback with ``code`` and ``state``, and ``state`` (kept
server-side by :mod:`rupor.channels.oauth`) is the flow's own CSRF token."""

from __future__ import annotations

import hashlib

from django import forms as djforms
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts.roles import Perm
from rupor.channels import oauth
from rupor.channels import service as channels
from rupor.core.urls import url_problem
from rupor.networks import errors as network_errors
from rupor.networks.mastodon import adapter as mastodon
from rupor.networks.x import adapter as x_adapter
from rupor.networks.x import wire as x_wire
from rupor.web.base import WorkspaceRequest, _actor, workspace_view

NETWORKS = ("x", "mastodon")
APP_CACHE_SECONDS = 30 * 24 * 3600


class XStartForm(djforms.Form):
    client_id = djforms.CharField(max_length=200, label=gettext_lazy("Client ID"))
    client_secret = djforms.CharField(
        max_length=300, required=False, label=gettext_lazy("Client secret (confidential clients only)")
    )
    base_url = djforms.CharField(max_length=300, required=False)
    name = djforms.CharField(max_length=200, required=False)


class MastodonStartForm(djforms.Form):
    instance = djforms.CharField(max_length=300, label=gettext_lazy("Instance address"))
    name = djforms.CharField(max_length=200, required=False)


def _callback_url(request: WorkspaceRequest, network: str) -> str:
    return request.build_absolute_uri(reverse("web:channel_oauth_callback", args=[network]))


def _back(network: str) -> HttpResponseBase:
    return redirect("web:channel_connect", network=network)


def _mastodon_app(instance: str, redirect_uri: str) -> dict[str, str]:
    """Rupor's application on ``instance`` for this callback address: registered once, then cached."""
    key = "rupor:mastodon-app:" + hashlib.sha256(f"{instance}\n{redirect_uri}".encode()).hexdigest()
    app = cache.get(key)
    if not app:
        app = mastodon.register_app(instance, redirect_uri=redirect_uri)
        cache.set(key, app, APP_CACHE_SECONDS)
    return dict(app)


def _begin(request: WorkspaceRequest, network: str, data: dict[str, str]) -> str:
    return oauth.begin(
        request.session,
        network=network,
        workspace_id=request.workspace.pk,
        user_id=request.user.pk,
        data=data,
    )


@workspace_view(Perm.CHANNELS_MANAGE)
@require_POST
def channel_oauth_start(request: WorkspaceRequest, network: str) -> HttpResponseBase:
    if network not in NETWORKS:
        raise Http404
    callback = _callback_url(request, network)
    if network == "x":
        form: djforms.Form = XStartForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Enter the Client ID of your X app."))
            return _back(network)
        base_url = form.cleaned_data["base_url"].strip().rstrip("/")
        problem = url_problem(base_url, max_length=300) if base_url else None
        if problem:
            messages.error(request, problem)
            return _back(network)
        pkce = x_wire.Pkce.new()
        data = {
            "client_id": form.cleaned_data["client_id"].strip(),
            "client_secret": form.cleaned_data["client_secret"].strip(),
            "verifier": pkce.verifier,
            "challenge": pkce.challenge,
            "redirect_uri": callback,
            "base_url": base_url,
            "name": form.cleaned_data["name"].strip(),
        }
        state = _begin(request, network, data)
        authorize = f"{base_url}/i/oauth2/authorize" if base_url else x_wire.AUTHORIZE_URL
        return redirect(x_wire.authorize_url(data["client_id"], callback, state, pkce, base=authorize))
    form = MastodonStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the address of your Mastodon instance."))
        return _back(network)
    instance = form.cleaned_data["instance"].strip().rstrip("/")
    if "://" not in instance:
        instance = "https://" + instance
    problem = url_problem(instance, max_length=300)
    if problem:
        messages.error(request, problem)
        return _back(network)
    try:
        app = _mastodon_app(instance, callback)
    except network_errors.NetworkError as exc:
        messages.error(
            request, _("The instance did not register Rupor: %(reason)s") % {"reason": exc.message}
        )
        return _back(network)
    data = {**app, "instance": instance, "redirect_uri": callback, "name": form.cleaned_data["name"].strip()}
    state = _begin(request, network, data)
    return redirect(mastodon.authorize_url(instance, app["client_id"], redirect_uri=callback, state=state))


@workspace_view(Perm.CHANNELS_MANAGE)
@require_GET
def channel_oauth_callback(request: WorkspaceRequest, network: str) -> HttpResponseBase:
    if network not in NETWORKS:  # no flow starts for it, so no answer can belong to one
        messages.error(request, _("Rupor does not connect this network by signing in."))
        return redirect("web:channels")
    try:
        flow = oauth.take(
            request.session,
            request.GET.get("state", ""),
            network=network,
            workspace_id=request.workspace.pk,
            user_id=request.user.pk,
        )
    except oauth.StateError as exc:
        messages.error(request, exc.message)
        return _back(network)
    if request.GET.get("error"):
        if request.GET["error"] == "access_denied":
            messages.error(request, _("You did not allow Rupor to use the account; nothing was connected."))
        else:
            messages.error(request, _("The network refused the authorization; nothing was connected."))
        return _back(network)
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, _("The network sent no authorization code; nothing was connected."))
        return _back(network)
    data = flow.data
    try:
        if network == "x":
            credentials = x_adapter.exchange_code(
                client_id=data["client_id"],
                client_secret=data["client_secret"],
                code=code,
                pkce=x_wire.Pkce(data["verifier"], data["challenge"]),
                redirect_uri=data["redirect_uri"],
                base_url=data["base_url"] or None,
            )
            base_url = data["base_url"]
        else:
            token = mastodon.exchange_code(
                data["instance"],
                data["client_id"],
                data["client_secret"],
                code,
                redirect_uri=data["redirect_uri"],
            )
            credentials, base_url = {"access_token": token}, data["instance"]
        channel = channels.connect(
            _actor(request),
            channels.ChannelInput(
                network=network, name=data["name"], credentials=credentials, base_url=base_url
            ),
        )
    except network_errors.NetworkError as exc:
        messages.error(request, _("Connecting failed: %(reason)s") % {"reason": exc.message})
        return _back(network)
    except channels.ChannelError as exc:
        messages.error(request, exc.message)
        return _back(network)
    messages.success(request, _("%(name)s is connected.") % {"name": channel.name})
    return redirect("web:channels")
