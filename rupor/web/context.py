from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    from rupor.accounts import service
    from rupor.accounts.roles import PERMISSIONS, Role

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = getattr(request, "role", None)
    return {
        "current_workspace": getattr(request, "workspace", None),
        "current_role": role,
        "perms_in_workspace": {p.value for p in PERMISSIONS.get(Role(role), frozenset())} if role else set(),
        "my_workspaces": service.workspaces_for(user),
    }
