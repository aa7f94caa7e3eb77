"""The SMO kit for the company's site (/smo/): share buttons with a live preview, the networks'
community widgets for the workspace's channels, and the link-preview checker. They parse, call
``smo.service`` and render; whoever writes content may use them (``Perm.POSTS_EDIT``).

The share buttons' preview is the snippet itself, served by :func:`smo_preview` into a sandboxed
iframe (an opaque origin: its script reaches nothing of Rupor's) under a policy of its own that
allows its inline style and script and nothing else; the widgets' previews are placeholders,
because their scripts load from the networks, which Rupor's policy (and an offline server) stop.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import get_language
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from rupor.accounts.roles import Perm
from rupor.smo import service as smo
from rupor.web.base import _actor, workspace_view

#: The preview document's own policy: its inline style and script, pictures as data: URIs, and
#: nothing fetched; framed by Rupor only; sandboxed like its iframe.
PREVIEW_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "script-src 'unsafe-inline'",
        "img-src data:",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox allow-forms",
    )
)
#: The query keys the kit's form sends (the preview gets the same).
KIT_KEYS = (
    "networks",
    "style",
    "size",
    "colour",
    "mono_colour",
    "page",
    "url",
    "title",
    "utm",
    "campaign",
    "language",
    "instance",
)


def _ui_language() -> str:
    lang = (get_language() or "en").split("-")[0]
    return lang if lang in ("en", "ru", "ko") else "en"


def _kit_data(request: HttpRequest) -> dict[str, Any] | None:
    """The kit's options as the form sent them; None on a first visit (the defaults apply)."""
    query = request.GET
    if "form" not in query:
        return None
    data: dict[str, Any] = {key: query.get(key) for key in KIT_KEYS if key != "networks"}
    data["networks"] = query.getlist("networks")
    data["utm"] = "1" if query.get("utm") else "0"
    return data


def _kit(request: HttpRequest) -> tuple[smo.ShareKit | None, smo.SmoError | None, dict[str, Any]]:
    data = _kit_data(request)
    try:
        options = smo.parse_share_options(data or {}, language=_ui_language())
        return smo.share_kit(_actor(request), options), None, data or {}
    except smo.SmoError as exc:
        return None, exc, data or {}


@workspace_view(Perm.POSTS_EDIT)
@require_GET
def smo_share(request: HttpRequest) -> HttpResponseBase:
    kit, error, data = _kit(request)
    shown = kit.options if kit is not None else smo.parse_share_options({}, language=_ui_language())
    if error is not None:
        # Show what was typed, with the refusal next to its field.
        shown = smo.ShareOptions(
            networks=tuple(n for n in smo.share_keys() if n in (data.get("networks") or [])),
            style=str(data.get("style") or shown.style),
            size=str(data.get("size") or shown.size),
            colour=str(data.get("colour") or shown.colour),
            mono_colour=str(data.get("mono_colour") or shown.mono_colour)[:7],
            page=str(data.get("page") or shown.page),
            url=str(data.get("url") or "")[:2000],
            title=str(data.get("title") or "")[:300],
            utm=data.get("utm") == "1",
            campaign=str(data.get("campaign") or "")[:100],
            language=str(data.get("language") or shown.language),
            instance=str(data.get("instance") or shown.instance)[:253],
        )
    preview_query = request.GET.urlencode() if kit is not None and data else ""
    return render(
        request,
        "web/smo_share.html",
        {
            "tab": "share",
            "kit": kit,
            "error": error,
            "o": shown,
            "keys": smo.share_keys(),
            "names": smo.share_names(),
            "preview_query": preview_query,
        },
    )


@workspace_view(Perm.POSTS_EDIT)
@require_GET
@xframe_options_sameorigin
def smo_preview(request: HttpRequest) -> HttpResponseBase:
    """The snippet alone, as a page, for the kit's sandboxed preview."""
    kit, error, _data = _kit(request)
    if kit is None:
        message = error.message if error is not None else ""
        body = f'<!doctype html><meta charset="utf-8"><p style="font:14px system-ui;color:#8f1f1b">{_escape(message)}</p>'
        response = HttpResponse(body, status=400)
    else:
        response = HttpResponse(
            '<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<style>body{{margin:16px;font-family:system-ui,sans-serif;background:#fff}}</style></head>"
            "<body>\n{snippet}</body></html>".format(
                lang=kit.options.language, title=_escape(kit.options.title or "Preview"), snippet=kit.snippet
            )
        )
    response["Content-Security-Policy"] = PREVIEW_POLICY
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _escape(text: str) -> str:
    from django.utils.html import escape

    return str(escape(text))


@workspace_view(Perm.POSTS_EDIT)
@require_GET
def smo_widgets(request: HttpRequest) -> HttpResponseBase:
    overrides = {k: str(v) for k, v in request.GET.items() if "-" in k and k.split("-", 1)[0].isdigit()}
    found = smo.community_widgets(_actor(request), overrides, language=_ui_language())
    return render(request, "web/smo_widgets.html", {"tab": "widgets", "widgets": found})


@workspace_view(Perm.POSTS_EDIT)
@require_GET
def smo_check(request: HttpRequest) -> HttpResponseBase:
    url = request.GET.get("url", "")
    result = error = None
    if "url" in request.GET:
        try:
            result = smo.check_link(_actor(request), url)
        except smo.SmoError as exc:
            error = exc
    return render(
        request,
        "web/smo_check.html",
        {"tab": "check", "url": url[:2000], "result": result, "error": error},
    )


urlpatterns: list[URLPattern] = [
    path("smo/", smo_share, name="smo"),
    path("smo/preview/", smo_preview, name="smo_preview"),
    path("smo/widgets/", smo_widgets, name="smo_widgets"),
    path("smo/check/", smo_check, name="smo_check"),
]
