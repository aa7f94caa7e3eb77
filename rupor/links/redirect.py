"""The public redirect of a short link: ``/l/<code>`` answers 302 to the tagged address.

No sign-in, no cookie, no page: an unknown code is a bare 404, and nothing about the workspace,
the post or the click is in the answer. The address is read from ``REMOTE_ADDR`` (what the
server saw), and used only to make the day's keyed hashes (service.click).
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from rupor.links import service

_CODE = re.compile(r"[0-9A-Za-z]{4,16}")


@require_http_methods(["GET", "HEAD"])
def follow(request: HttpRequest, code: str) -> HttpResponseBase:
    if not _CODE.fullmatch(code):
        return HttpResponse(status=404, content_type="text/plain")
    target = service.click(
        code,
        address=str(request.META.get("REMOTE_ADDR", "")),
        user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
        method=request.method or "GET",
    )
    if target is None:
        return HttpResponse(status=404, content_type="text/plain")
    response = HttpResponseRedirect(target)
    # Each click must reach Rupor to be counted; the visited site learns the network's origin, not its page.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
