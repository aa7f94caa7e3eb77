"""Request checks every entry point shares."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RefuseNulMiddleware:
    """A query or form field with a NUL character is refused with a clear 400 before any view.

    No database keeps U+0000 in text (PostgreSQL refuses it with an error), and Django's form
    fields already reject it; this covers the fields views read directly and the API's forms.
    Uploaded files are not fields and may hold any bytes. JSON bodies are the API parser's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = list(request.GET.lists())
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += list(request.POST.lists())
        for key, values in fields:
            if "\x00" in key or any("\x00" in v for v in values):
                message = _("Text must not contain NUL characters (\\u0000).")
                if request.path.startswith("/api/"):
                    field = key.replace("\x00", "")
                    return JsonResponse({"detail": message, "errors": [{"field": field, "message": message}]}, status=400)
                return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
