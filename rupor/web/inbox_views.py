"""The inbox, as people see it: every comment and message of the workspace with filters (refreshed
in place every few seconds), one item's thread, and the answers and moderation the inbox service
does (reply, hide, delete, ban, status, assignee)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem, ItemStatus, Label
from rupor.networks import registry
from rupor.planning.models import Post
from rupor.web import forms
from rupor.web.base import _actor, _ws, workspace_request, workspace_view

#: How often the list asks for what is new, in seconds.
REFRESH_S = 15
#: At most this many items are shown at once (the newest).
PAGE = 200


@dataclass(frozen=True)
class ListQuery:
    """The list's filters as the address gives them (anything unknown is ignored)."""

    channel_id: int | None
    network: str
    status: str
    assignee: int | None
    mine: bool
    unanswered: bool
    label: str = ""
    newest: bool = False  # newest first, instead of complaints and questions first

    @property
    def filtered(self) -> bool:
        return bool(
            self.channel_id
            or self.network
            or self.status
            or self.assignee
            or self.mine
            or self.unanswered
            or self.label
        )


def _int(value: str | None) -> int | None:
    return forms.parse_id(value)


def _query(params: QueryDict) -> ListQuery:
    status = params.get("status", "")
    network = params.get("network", "")
    label = params.get("label", "")
    return ListQuery(
        channel_id=_int(params.get("channel")),
        network=network if network in registry.DISPLAY_NAMES else "",
        status=status if status in ItemStatus.values else "",
        assignee=_int(params.get("assignee")),
        mine=params.get("mine") == "1",
        unanswered=params.get("unanswered") == "1",
        label=label if label in Label.values else "",
        newest=params.get("sort") == "newest",
    )


def _post_titles(workspace_id: int, items: list[InboxItem]) -> dict[int, str]:
    ids = {i.post_id for i in items if i.post_id}
    rows = Post.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("pk", "title", "text")
    return {pk: (title or text or "")[:120] for pk, title, text in rows}


def _list_context(request: HttpRequest) -> dict[str, Any]:
    here = workspace_request(request)
    q = _query(request.GET)
    assignee = here.user.pk if q.mine else q.assignee
    filters = inbox.Filters(
        status=q.status or None,
        channel_id=q.channel_id,
        network=q.network or None,
        assigned_to_id=assignee,
        unanswered=q.unanswered,
        label=q.label or None,
        urgent_first=not q.newest,
        include_outgoing=False,
    )
    items = list(inbox.list_items(here.workspace.pk, filters).select_related("assigned_to")[:PAGE])
    return {
        "items": items,
        "q": q,
        "titles": _post_titles(here.workspace.pk, items),
        "refresh_s": REFRESH_S,
        "list_url": f"{reverse('web:inbox_list')}?{request.GET.urlencode()}",
    }


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def inbox_page(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    in_use = sorted({c.network for c in channels.workspace_channels(ws.pk)})
    return render(
        request,
        "web/inbox.html",
        {
            **_list_context(request),
            "channels": channels.list_channels(ws.pk),
            "networks": [(n, registry.DISPLAY_NAMES.get(n, n)) for n in in_use],
            "statuses": ItemStatus.choices,
            "labels": Label.choices,
            "members": accounts.members(ws.pk),
        },
    )


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def inbox_list(request: HttpRequest) -> HttpResponseBase:
    """The list alone, which the page asks for every REFRESH_S seconds."""
    return render(request, "web/_inbox_list.html", _list_context(request))


def _item(request: HttpRequest, item_id: int) -> InboxItem:
    try:
        return inbox.get_item(_ws(request).pk, item_id)
    except inbox.InboxError as exc:
        raise Http404 from exc


def _nested(conversation: list[InboxItem]) -> list[InboxItem]:
    """The thread in reading order: each comment followed by the replies to it (and theirs).
    Anything whose parents go round in a circle comes last, in time order, never lost."""
    known = {m.remote_id for m in conversation}
    children: dict[str, list[InboxItem]] = {}
    for m in conversation:
        nested = m.kind == "comment" and m.parent_remote_id in known and m.parent_remote_id != m.remote_id
        children.setdefault(m.parent_remote_id if nested else "", []).append(m)
    out: list[InboxItem] = []
    seen: set[int] = set()
    stack = list(reversed(children.get("", [])))
    while stack:
        m = stack.pop()
        if m.pk in seen:
            continue
        seen.add(m.pk)
        out.append(m)
        stack.extend(reversed(children.get(m.remote_id, [])))
    return out + [m for m in conversation if m.pk not in seen]


def _render_item(
    request: HttpRequest,
    item: InboxItem,
    *,
    text: str = "",
    key: str = "",
    seen: int | None = None,
    problem: str = "",
    answered_meanwhile: bool = False,
    status: int = 200,
) -> HttpResponseBase:
    here = workspace_request(request)
    ws_id = here.workspace.pk
    conversation = _nested(inbox.thread(ws_id, item.pk))
    return render(
        request,
        "web/inbox_item.html",
        {
            "item": item,
            "conversation": conversation,
            "post_title": _post_titles(ws_id, [item]).get(item.post_id or 0, ""),
            "can_act": can(here.role, Perm.INBOX_REPLY),
            "members": accounts.members(ws_id),
            "work_statuses": [(s.value, s.label) for s in inbox.WORK_STATUSES],
            "work_status_values": [s.value for s in inbox.WORK_STATUSES],
            "text": text,
            "key": key or uuid.uuid4().hex,
            "seen": inbox.replies_to(ws_id, item.pk) if seen is None else seen,
            "problem": problem,
            "answered_meanwhile": answered_meanwhile,
            "moderation": inbox.moderation(item.channel.network),
        },
        status=status,
    )


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def inbox_item(request: HttpRequest, item_id: int) -> HttpResponseBase:
    return _render_item(request, _item(request, item_id))


def _reply(request: HttpRequest, item: InboxItem) -> HttpResponseBase:
    """Send a reply once: the page carries an idempotency key (a second press sends nothing
    again) and how many replies it showed (a teammate's reply since then is shown first)."""
    text = request.POST.get("text", "")
    key = request.POST.get("key", "")[:64]
    seen = _int(request.POST.get("seen")) or 0
    now = inbox.replies_to(_ws(request).pk, item.pk, besides_key=key)
    if now > seen and request.POST.get("confirm") != "1":
        return _render_item(request, item, text=text, key=key, seen=now, answered_meanwhile=True, status=409)
    try:
        inbox.reply(_actor(request), item.pk, text, idempotency_key=key or None)
    except DomainError as exc:
        return _render_item(request, item, text=text, key=key, seen=seen, problem=str(exc), status=exc.status)
    messages.success(request, _("Your reply was sent."))
    return redirect("web:inbox_item", item_id=item.pk)


@workspace_view(Perm.INBOX_REPLY)
@require_POST
def inbox_act(request: HttpRequest, item_id: int) -> HttpResponseBase:
    item = _item(request, item_id)
    action = request.POST.get("action", "")
    if action == "reply":
        return _reply(request, item)
    actor = _actor(request)
    done = {
        "hide": _("The comment is hidden."),
        "delete": _("The comment is deleted."),
        "restore": _("The comment is back on the network."),
        "ban": _("The author is banned from the channel."),
        "status": _("Status changed."),
        "assign": _("Assignee changed."),
    }
    if action not in done:
        messages.error(request, _("Choose what to do with this item."))
        return redirect("web:inbox_item", item_id=item.pk)
    try:
        if action == "hide":
            inbox.hide(actor, item.pk)
        elif action == "delete":
            inbox.delete(actor, item.pk)
        elif action == "restore":
            inbox.restore(actor, item.pk)
        elif action == "ban":
            inbox.ban(actor, item.pk)
        elif action == "status":
            inbox.set_status(actor, item.pk, request.POST.get("status", ""))
        else:
            raw = request.POST.get("assigned_to", "")
            if raw and _int(raw) is None:  # not "nobody", and no one's id
                raise inbox.InboxError(
                    _("Only a member of this workspace can take an item."), "assigned_to", 422
                )
            inbox.assign(actor, item.pk, _int(raw))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done[action])
    return redirect("web:inbox_item", item_id=item.pk)


urlpatterns: list[URLPattern] = [
    path("inbox/", inbox_page, name="inbox"),
    path("inbox/list/", inbox_list, name="inbox_list"),
    path("inbox/<int:item_id>/", inbox_item, name="inbox_item"),
    path("inbox/<int:item_id>/act/", inbox_act, name="inbox_act"),
]
