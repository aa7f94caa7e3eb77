"""Request checks every entry point shares."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseNulMiddleware:
    """A query or form field with a NUL character is refused with a clear 400 before any view.

    No database keeps U+0000 in text (PostgreSQL refuses it with an error), and Django's form
    fields already reject it; this covers the fields views read directly and the API's forms.
    Uploaded files are not fields and may hold any bytes. API bodies (JSON or forms) are the
    API's own: its parser refuses NUL in JSON.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = list(request.GET.lists())
        # The API reads its own bodies (and answers a malformed one in its error shape); webhooks
        # read theirs raw (reading it here as a form would leave them nothing to read).
        if (
            request.method == "POST"
            and not request.path.startswith(("/api/", "/hooks/"))
            and request.content_type in FORM_TYPES
        ):
            # A malformed or oversized body is not this check's to answer: Django's own handling
            # (an empty form, or its 400) applies as it would without this middleware.
            with contextlib.suppress(
                MultiPartParserError, UnreadablePostError, RequestDataTooBig, TooManyFieldsSent
            ):
                fields += list(request.POST.lists())
        for key, values in fields:
            if "\x00" in key or any("\x00" in v for v in values):
                message = _("Text must not contain NUL characters (\\u0000).")
                if request.path.startswith("/api/"):
                    field = key.replace("\x00", "")
                    return JsonResponse(
                        {"detail": message, "errors": [{"field": field, "message": message}]}, status=400
                    )
                return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
