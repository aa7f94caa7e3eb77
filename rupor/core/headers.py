"""Security headers on every response: the Content-Security-Policy and, behind https, HSTS.

Why the policy is what it is (and why style attributes are allowed): docs/decisions/0008-content-security-policy.md.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from rupor.core import config

#: Scripts and styles come from Rupor's own static files only; no inline script, no plugins, no
#: framing, forms post only to Rupor. ``style-src-attr 'unsafe-inline'``: the plan's meters,
#: rubric colours and the calendar's "now" line are data-driven style attributes;
#: ``style-src-elem 'self'`` still refuses any injected <style> element.
#: Where the inbox's author avatars come from (the networks' own picture hosts: VK's userapi
#: and vk.com, OK's mycdn and okcdn); pages load them with ``referrerpolicy="no-referrer"``.
AVATAR_HOSTS = "https://*.userapi.com https://vk.com https://*.vk.com https://*.mycdn.me https://*.okcdn.ru"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "style-src-elem 'self'",
        "style-src-attr 'unsafe-inline'",
        f"img-src 'self' data: blob: {AVATAR_HOSTS}",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)

#: django-ninja's interactive API docs load Swagger UI from a CDN with an inline start-up script.
DOCS_PATH = "/api/v1/docs"

HSTS = "max-age=31536000"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(DOCS_PATH):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        # Behind a TLS-terminating proxy the request looks like plain http, so the configured
        # address decides (browsers ignore the header on plain http anyway).
        if config.base_url().startswith("https://"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
