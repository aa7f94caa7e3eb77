"""Attach the current workspace and the user's role in it to each browser request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SESSION_KEY = "rupor_workspace"


class CurrentWorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from rupor.accounts import service

        request.workspace = None  # type: ignore[attr-defined]
        request.role = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            slug = request.session.get(SESSION_KEY)
            ctx = service.resolve_membership(user, slug)
            if ctx is not None:
                request.workspace, request.role = ctx  # type: ignore[attr-defined]
                if slug != ctx[0].slug:
                    request.session[SESSION_KEY] = ctx[0].slug
        return self.get_response(request)
