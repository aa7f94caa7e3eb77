from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from rupor.accounts.models import Workspace
    from rupor.accounts.roles import Role

#: The sidebar: (url name, label, icon, permission needed). Later pages (analytics) add a row
#: here; the order is the order people work in.
NAVIGATION: list[tuple[str, Any, str, str]] = [
    ("web:dashboard", _("Dashboard"), "home", "workspace.view"),
    ("web:calendar", _("Calendar"), "calendar", "posts.view"),
    ("web:posts", _("Posts"), "edit", "posts.view"),
    ("web:plan", _("Plan"), "layers", "posts.view"),
    ("web:queue", _("Queue"), "clock", "posts.view"),
    ("web:media", _("Media"), "image", "posts.view"),
    (
        "web:publishing",
        pgettext_lazy("section", "Publishing"),
        "refresh",
        "posts.view",
    ),  # the section, not the state
    ("web:inbox", _("Inbox"), "mail", "inbox.view"),
    ("web:inbox_report", _("Response times"), "clock", "inbox.report"),
    ("web:newsletters", _("Newsletters"), "mail", "newsletters.view"),
    ("web:analytics", _("Analytics"), "chart", "reports.view"),
    ("web:smo", _("SMO kit"), "share", "posts.edit"),  # beside Analytics, where the links are
    ("web:channels", _("Channels"), "radio", "channels.view"),
    ("web:reports", _("Reports"), "report", "reports.view"),
    ("web:giveaways", _("Giveaways"), "gift", "giveaways.view"),
]
ADMIN_NAVIGATION: list[tuple[str, Any, str, str]] = [
    ("web:members", _("Members"), "users", "members.view"),
    ("web:api_keys", _("API keys"), "key", "apikeys.manage"),
    ("web:workspace_settings", _("Settings"), "settings", "workspace.manage"),
    ("web:audit", _("Audit trail"), "book", "audit.view"),
    # Workers, queues, lag, errors and disk: for the people who run this Rupor.
    ("web:operations", _("Operations"), "activity", "workspace.manage"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    from rupor.accounts import service
    from rupor.accounts.roles import PERMISSIONS, ROLE_LABELS
    from rupor.inbox import service as inbox
    from rupor.notifications import service as notifications

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # RuporRequest's attributes, read with a default: a page rendered before
    # CurrentWorkspaceMiddleware ran (an early refusal) has neither.
    role: Role | None = getattr(request, "role", None)
    workspace: Workspace | None = getattr(request, "workspace", None)
    perms = {p.value for p in PERMISSIONS.get(role, frozenset())} if role else set()
    match = getattr(request, "resolver_match", None)
    here = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    section = here.split("_")[0] if here else ""

    # The inbox's counter: what the audience wrote that still waits for an answer.
    counts = {"web:inbox": inbox.waiting_count(workspace.pk)} if workspace and "inbox.view" in perms else {}

    # The bell: one COUNT of the person's unread notifications in this workspace.
    unread_notifications = notifications.unread_count(workspace.pk, user.pk) if workspace and role else 0

    def items(rows: list[tuple[str, Any, str, str]]) -> list[dict[str, Any]]:
        out = []
        for name, label, icon, perm in rows:
            if perm in perms:
                active = (
                    here == name
                    or (name != "web:dashboard" and section.startswith(name.rstrip("s")))
                    or (name.startswith("web:analytics") and section == "web:analytics")
                )
                out.append(
                    {
                        "url_name": name,
                        "label": label,
                        "icon": icon,
                        "active": active,
                        "count": counts.get(name),
                    }
                )
        return out

    return {
        "current_workspace": workspace,
        "current_role": role,
        "current_role_label": ROLE_LABELS[role] if role else "",
        "perms_in_workspace": perms,
        "my_workspaces": service.workspaces_for(user),
        "nav_main": items(NAVIGATION),
        "nav_admin": items(ADMIN_NAVIGATION),
        "unread_notifications": unread_notifications,
        "here_notifications": here == "web:notifications",
    }
