"""The inbox, as people see it: every comment and message of the workspace with filters (refreshed
in place every few seconds), one item's thread, and the answers and moderation the inbox service
does (reply, hide, delete, ban, status, assignee)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.inbox import answering, monitoring
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem, ItemStatus, Label
from rupor.networks import registry
from rupor.notifications import service as notifications
from rupor.planning.models import Post
from rupor.web import answering_views, forms
from rupor.web.base import _actor, _ws, workspace_request, workspace_view

#: How often the list asks for what is new, in seconds.
REFRESH_S = 15
#: Items shown per page; "Show more" brings the next page, keyed on the order (inbox.page_items).
PAGE = 50
#: The list's filters as query parameters (a saved view keeps exactly these).
FILTER_KEYS = inbox.VIEW_KEYS


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
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: What was typed in a date field and is not a date (shown, and the field ignored).
    bad_dates: tuple[str, ...] = ()

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
            or self.date_from
            or self.date_to
        )


def _int(value: str | None) -> int | None:
    return forms.parse_id(value)


def _date(value: str) -> dt.date | None:
    """A day of the filter, or None when it is not one (nor a day the list can hold: one whose
    start in the workspace's zone is outside what dates can express, like 0001-01-01)."""
    try:
        day = dt.date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None
    return day if day is None or dt.date(1970, 1, 1) <= day <= dt.date(9000, 12, 31) else None


def _query(params: QueryDict) -> ListQuery:
    status = params.get("status", "")
    network = params.get("network", "")
    label = params.get("label", "")
    raw_from, raw_to = params.get("from", "")[:40], params.get("to", "")[:40]
    date_from, date_to = _date(raw_from), _date(raw_to)
    bad = tuple(
        raw for raw, parsed in ((raw_from, date_from), (raw_to, date_to)) if raw.strip() and parsed is None
    )
    return ListQuery(
        channel_id=_int(params.get("channel")),
        network=network if network in registry.DISPLAY_NAMES else "",
        status=status if status in ItemStatus.values else "",
        assignee=_int(params.get("assignee")),
        mine=params.get("mine") == "1",
        unanswered=params.get("unanswered") == "1",
        label=label if label in Label.values else "",
        newest=params.get("sort") == "newest",
        date_from=date_from,
        date_to=date_to,
        bad_dates=bad,
    )


def _filter_params(params: QueryDict) -> QueryDict:
    """Only the filters of the address (no page cursor, no saved view's id)."""
    kept = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        value = params.get(key, "")
        if value:
            kept[key] = value
    return kept


def _post_titles(workspace_id: int, items: list[InboxItem]) -> dict[int, str]:
    ids = {i.post_id for i in items if i.post_id}
    rows = Post.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("pk", "title", "text")
    return {pk: (title or text or "")[:120] for pk, title, text in rows}


def _list_context(request: HttpRequest) -> dict[str, Any]:
    here = workspace_request(request)
    q = _query(request.GET)
    assignee = here.user.pk if q.mine else q.assignee
    date_problem = ""
    if q.bad_dates:
        date_problem = _("%(value)s is not a date; use the calendar or write it as YYYY-MM-DD.") % {
            "value": repr(q.bad_dates[0])
        }
    try:
        start, end = inbox.day_bounds(here.workspace.pk, q.date_from, q.date_to)
    except inbox.InboxError as exc:
        date_problem, start, end = str(exc), None, None
    filters = inbox.Filters(
        status=q.status or None,
        channel_id=q.channel_id,
        network=q.network or None,
        assigned_to_id=assignee,
        unanswered=q.unanswered,
        label=q.label or None,
        urgent_first=not q.newest,
        include_outgoing=False,
        occurred_from=start,
        occurred_before=end,
    )
    after = request.GET.get("after", "")[:200]
    try:
        page = inbox.page_items(here.workspace.pk, filters, after=after, limit=PAGE)
    except inbox.InboxError:  # a cursor someone edited by hand: the first page instead
        after, page = "", inbox.page_items(here.workspace.pk, filters, limit=PAGE)
    items = page.items
    kept = _filter_params(request.GET)
    more = ""
    if page.next_cursor:
        more_params = kept.copy()
        more_params["after"] = page.next_cursor
        more = more_params.urlencode()
    return {
        "items": items,
        "q": q,
        "date_problem": date_problem,
        "titles": _post_titles(here.workspace.pk, items),
        "mentions": monitoring.mention_details([i.pk for i in items if i.kind == "mention"]),
        "refresh_s": REFRESH_S,
        "list_url": f"{reverse('web:inbox_list')}?{kept.urlencode()}",
        "filter_query": kept.urlencode(),
        "more_query": more,
        "later_page": bool(after),
        "can_act": can(here.role, Perm.INBOX_REPLY),
        # One query for every row's assignee (the page's rows carry their channel only).
        "assignees": {
            m.user.pk: m.user.display_name for m in accounts.members(here.workspace.pk).select_related("user")
        },
    }


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def inbox_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    ws = here.workspace
    in_use = sorted({c.network for c in channels.workspace_channels(ws.pk)})
    actor = _actor(request)
    views = inbox.saved_views(actor)
    current = _int(request.GET.get("view"))
    # Items teammates gave this person since they last looked: shown once, then read.
    given = notifications.unread_of_kind(ws.pk, here.user.pk, inbox.ASSIGNED_EVENT, limit=5)
    if given:
        notifications.mark_read(ws.pk, here.user.pk, [n.id for n in given])
    return render(
        request,
        "web/inbox.html",
        {
            **_list_context(request),
            "channels": channels.list_channels(ws.pk),
            "networks": [(n, registry.DISPLAY_NAMES.get(n, n)) for n in in_use],
            "statuses": ItemStatus.choices,
            "work_statuses": [(s.value, s.label) for s in inbox.WORK_STATUSES],
            "labels": Label.choices,
            "members": accounts.members(ws.pk),
            "views": [(v, urlencode(v.filters)) for v in views],
            "current_view": next((v for v in views if v.id == current), None),
            "may_share": can(here.role, Perm.POSTS_APPROVE) or can(here.role, Perm.WORKSPACE_MANAGE),
            "given_to_me": given,
        },
    )


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def inbox_list(request: HttpRequest) -> HttpResponseBase:
    """The list alone: the page asks for it every REFRESH_S seconds, and "Show more" for the
    next page (``after``), which it appends."""
    return render(request, "web/_inbox_list.html", _list_context(request))


def _back_to_list(request: HttpRequest) -> str:
    """The list with the filters the person was looking at (only the list's own parameters)."""
    back = QueryDict(request.POST.get("back", "")[:2000])
    kept = _filter_params(back)
    view = _int(back.get("view"))
    if view:
        kept["view"] = str(view)
    query = kept.urlencode()
    return reverse("web:inbox") + (f"?{query}" if query else "")


@workspace_view(Perm.INBOX_REPLY)
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponseBase:
    """Set status, assign or mark done the ticked items, one request; each is checked alone and
    what could not be changed is named with its reason. The keyboard's "e" and "a" on the list
    send one item the same way (with HTMX, which gets the refreshed list back)."""
    action = request.POST.get("action", "")
    ids = forms.read_ids(request.POST.getlist("ids"))
    raw_user = request.POST.get("assigned_to", "")
    user_id = request.user.pk if raw_user == "me" else _int(raw_user)
    problems: list[str] = []
    changed = 0
    try:
        if action == "assign" and raw_user and user_id is None:
            raise inbox.InboxError(_("Only a member of this workspace can take an item."), "assigned_to", 422)
        result = inbox.bulk_apply(
            _actor(request), ids, action, status=request.POST.get("status", ""), user_id=user_id
        )
    except DomainError as exc:
        problems.append(str(exc))
    else:
        changed = len(result.done)
        problems += [
            _("Item %(id)s: %(reason)s") % {"id": f.item_id, "reason": f.message} for f in result.failed
        ]
    if changed:
        messages.success(
            request,
            ngettext("%(n)s item changed.", "%(n)s items changed.", changed) % {"n": changed},
        )
    for problem in problems[:10]:
        messages.error(request, problem)
    if len(problems) > 10:
        messages.error(request, _("…and %(n)s more not changed.") % {"n": len(problems) - 10})
    if request.headers.get("HX-Request"):  # the keyboard's one-item action: the list comes back
        return render(request, "web/_inbox_list.html", {**_list_context(request), "feedback": True})
    return redirect(_back_to_list(request))


@workspace_view(Perm.INBOX_VIEW)
@require_POST
def inbox_view_save(request: HttpRequest) -> HttpResponseBase:
    """Keep the filters the person is looking at under a name (shared: managers and above)."""
    back = QueryDict(request.POST.get("back", "")[:2000])
    try:
        saved = inbox.save_view(
            _actor(request),
            request.POST.get("name", ""),
            dict(_filter_params(back).items()),
            shared=request.POST.get("shared") == "1",
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect(_back_to_list(request))
    messages.success(request, _("View “%(name)s” saved.") % {"name": saved.name})
    kept = QueryDict(mutable=True)
    kept.update(saved.filters)
    kept["view"] = str(saved.id)
    return redirect(f"{reverse('web:inbox')}?{kept.urlencode()}")


@workspace_view(Perm.INBOX_VIEW)
@require_POST
def inbox_view_act(request: HttpRequest, view_id: int) -> HttpResponseBase:
    """Rename or delete a saved view (another workspace's, or someone's personal one, is a 404)."""
    actor = _actor(request)
    try:
        inbox.get_view(actor, view_id)
    except inbox.InboxError as exc:
        raise Http404 from exc
    try:
        if request.POST.get("action") == "delete":
            gone = inbox.get_view(actor, view_id)
            inbox.delete_view(actor, view_id)
            messages.success(request, _("View “%(name)s” deleted.") % {"name": gone.name})
            return redirect("web:inbox")
        renamed = inbox.rename_view(actor, view_id, request.POST.get("name", ""))
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect(_back_to_list(request))
    messages.success(request, _("View renamed to “%(name)s”.") % {"name": renamed.name})
    return redirect(_back_to_list(request))


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
            **answering_views.thread_context(request, item, text),
            "key": key or uuid.uuid4().hex,
            "seen": inbox.replies_to(ws_id, item.pk) if seen is None else seen,
            "problem": problem,
            "answered_meanwhile": answered_meanwhile,
            "mention": monitoring.mention_details([item.pk]).get(item.pk),
            "moderation": inbox.moderation(item.channel.network),
        },
        status=status,
    )


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def inbox_item(request: HttpRequest, item_id: int) -> HttpResponseBase:
    item = _item(request, item_id)
    saved = _int(request.GET.get("saved"))  # a saved reply picked without HTMX
    text = ""
    if saved and can(workspace_request(request).role, Perm.INBOX_REPLY):
        try:
            text = answering.render_saved_reply(_actor(request), saved, item.pk)
        except DomainError as exc:
            messages.error(request, str(exc))
    return _render_item(request, item, text=text)


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
        done = answering.answer(_actor(request), item.pk, text, idempotency_key=key or None)
    except DomainError as exc:
        return _render_item(request, item, text=text, key=key, seen=seen, problem=str(exc), status=exc.status)
    if done.draft is not None:
        messages.success(request, _("Your reply waits for approval; nothing was sent yet."))
    else:
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
    path("inbox/bulk/", inbox_bulk, name="inbox_bulk"),
    path("inbox/views/", inbox_view_save, name="inbox_view_save"),
    path("inbox/views/<int:view_id>/", inbox_view_act, name="inbox_view_act"),
    path("inbox/<int:item_id>/", inbox_item, name="inbox_item"),
    path("inbox/<int:item_id>/act/", inbox_act, name="inbox_act"),
]
