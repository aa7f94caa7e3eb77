"""Roles and what each may do. The one table every entry point (UI, API, CLI) checks."""

from __future__ import annotations

import enum

from django.utils.translation import gettext_lazy as _


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    EDITOR = "editor"
    MODERATOR = "moderator"
    ANALYST = "analyst"
    CLIENT = "client"


ROLE_LABELS = {
    Role.OWNER: _("Owner"),
    Role.ADMIN: _("Admin"),
    Role.MANAGER: _("Manager"),
    Role.EDITOR: _("Editor"),
    Role.MODERATOR: _("Moderator"),
    Role.ANALYST: _("Analyst"),
    Role.CLIENT: _("Client"),
}

ROLE_HELP = {
    Role.OWNER: _("Everything, including deleting the workspace and managing owners."),
    Role.ADMIN: _("Everything except managing owners: channels, members, API keys, settings."),
    Role.MANAGER: _("Plans, publishes, approves and answers the audience."),
    Role.EDITOR: _("Writes drafts; cannot schedule, publish or approve."),
    Role.MODERATOR: _("Works in the inbox only."),
    Role.ANALYST: _("Reads analytics and reports; changes nothing."),
    Role.CLIENT: _("Sees the plan and reports; approves or requests changes."),
}


class Perm(enum.StrEnum):
    WORKSPACE_VIEW = "workspace.view"
    WORKSPACE_MANAGE = "workspace.manage"
    WORKSPACE_DELETE = "workspace.delete"
    WORKSPACE_SECURITY = "workspace.security"  # require two-factor sign-in of the members (owners only)
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    APIKEYS_MANAGE = "apikeys.manage"
    WEBHOOKS_MANAGE = "webhooks.manage"  # outgoing notification webhooks: register, test, delete
    CHANNELS_VIEW = "channels.view"
    CHANNELS_MANAGE = "channels.manage"
    POSTS_VIEW = "posts.view"
    POSTS_INTERNAL = "posts.internal"  # internal notes, authors' and reviewers' emails, attempt logs
    POSTS_EDIT = "posts.edit"  # create and edit drafts
    POSTS_PUBLISH = "posts.publish"  # schedule, publish now, cancel, retry
    POSTS_APPROVE = "posts.approve"
    POSTS_CLIENT_REVIEW = "posts.client_review"
    INBOX_VIEW = "inbox.view"
    INBOX_REPLY = "inbox.reply"
    INBOX_REPORT = "inbox.report"  # response times and rates of the team (inbox or analytics roles)
    INBOX_SETTINGS = "inbox.settings"  # business hours and the inbox's alerts
    INBOX_MONITOR = "inbox.monitor"  # the monitored keywords: add, remove
    INBOX_APPROVE = "inbox.approve"  # approve or reject replies of members whose replies need approval
    INBOX_MANAGE = "inbox.manage"  # the workspace's saved replies
    ANALYTICS_VIEW = "analytics.view"
    ANALYTICS_MANAGE = "analytics.manage"  # watched competitor pages; create, edit and delete A/B tests
    REPORTS_VIEW = "reports.view"
    REPORTS_MANAGE = "reports.manage"  # client reports: create, comment, schedule by email
    GIVEAWAYS_VIEW = "giveaways.view"
    GIVEAWAYS_MANAGE = "giveaways.manage"  # create, announce, close, draw and cancel giveaways
    NEWSLETTERS_VIEW = "newsletters.view"  # lists, newsletters and their delivery statistics
    NEWSLETTERS_DRAFT = "newsletters.draft"  # write and edit newsletter drafts
    NEWSLETTERS_SEND = "newsletters.send"  # lists, imports, segments, welcome chains; schedule and send
    AUDIT_VIEW = "audit.view"  # the workspace's audit trail: who changed what, and its CSV


_ALL = frozenset(Perm)
_MANAGER = frozenset(
    {
        Perm.WORKSPACE_VIEW,
        Perm.MEMBERS_VIEW,
        Perm.CHANNELS_VIEW,
        Perm.POSTS_VIEW,
        Perm.POSTS_INTERNAL,
        Perm.POSTS_EDIT,
        Perm.POSTS_PUBLISH,
        Perm.POSTS_APPROVE,
        Perm.INBOX_VIEW,
        Perm.INBOX_REPLY,
        Perm.INBOX_REPORT,
        Perm.INBOX_SETTINGS,
        Perm.INBOX_MONITOR,
        Perm.INBOX_APPROVE,
        Perm.INBOX_MANAGE,
        Perm.ANALYTICS_VIEW,
        Perm.ANALYTICS_MANAGE,
        Perm.REPORTS_VIEW,
        Perm.REPORTS_MANAGE,
        Perm.GIVEAWAYS_VIEW,
        Perm.GIVEAWAYS_MANAGE,
        Perm.NEWSLETTERS_VIEW,
        Perm.NEWSLETTERS_DRAFT,
        Perm.NEWSLETTERS_SEND,
    }
)

PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL - {Perm.WORKSPACE_DELETE, Perm.POSTS_CLIENT_REVIEW, Perm.WORKSPACE_SECURITY},
    Role.MANAGER: _MANAGER,
    Role.EDITOR: frozenset(
        {
            Perm.WORKSPACE_VIEW,
            Perm.CHANNELS_VIEW,
            Perm.POSTS_VIEW,
            Perm.POSTS_INTERNAL,
            Perm.POSTS_EDIT,
            Perm.GIVEAWAYS_VIEW,
            Perm.NEWSLETTERS_VIEW,
            Perm.NEWSLETTERS_DRAFT,
        }
    ),
    Role.MODERATOR: frozenset(
        {
            Perm.WORKSPACE_VIEW,
            Perm.CHANNELS_VIEW,
            Perm.INBOX_VIEW,
            Perm.INBOX_REPLY,
            Perm.INBOX_REPORT,
            Perm.GIVEAWAYS_VIEW,
        }
    ),
    Role.ANALYST: frozenset(
        {
            Perm.WORKSPACE_VIEW,
            Perm.CHANNELS_VIEW,
            Perm.POSTS_VIEW,
            Perm.POSTS_INTERNAL,
            Perm.ANALYTICS_VIEW,
            Perm.REPORTS_VIEW,
            Perm.INBOX_REPORT,
            Perm.GIVEAWAYS_VIEW,
            Perm.NEWSLETTERS_VIEW,
        }
    ),
    Role.CLIENT: frozenset(
        {
            Perm.WORKSPACE_VIEW,
            Perm.POSTS_VIEW,
            Perm.POSTS_CLIENT_REVIEW,
            Perm.REPORTS_VIEW,
            Perm.GIVEAWAYS_VIEW,
            Perm.NEWSLETTERS_VIEW,
        }
    ),
}

#: Roles an actor of a given role may grant (and so also revoke).
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.OWNER: frozenset(Role),
    Role.ADMIN: frozenset(Role) - {Role.OWNER},
}


def can(role: Role | str | None, perm: Perm) -> bool:
    if role is None:
        return False
    return perm in PERMISSIONS.get(Role(role), frozenset())


def may_grant(actor: Role | str, role: Role | str) -> bool:
    return Role(role) in GRANTABLE.get(Role(actor), frozenset())
