"""Answering in the inbox, as people see it: the saved replies page, a saved reply filled into an
item's reply form, internal notes, and approving or sending back replies that wait for approval.
The thread page itself (``inbox_views``) asks :func:`thread_context` for what it shows of these."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, can
from rupor.core.errors import DomainError
from rupor.inbox import answering
from rupor.inbox import service as inbox
from rupor.inbox.models import DraftState, InboxItem
from rupor.web import forms
from rupor.web.base import _actor, _ws, workspace_request, workspace_view


def thread_context(request: HttpRequest, item: InboxItem, text: str) -> dict[str, Any]:
    """What the thread page shows of answering: saved replies to pick, the team's notes, replies
    waiting for approval (approvers may edit, approve or send them back), and the signed-in
    person's own reply that waits or was sent back (its text fills their form)."""
    here = workspace_request(request)
    ws_id = here.workspace.pk
    actor = _actor(request)
    drafts = list(answering.drafts(ws_id, item_id=item.pk).exclude(state=DraftState.SENT))
    mine = next((d for d in drafts if d.author_id == here.user.pk), None)
    waiting = [d for d in drafts if d.state in (DraftState.PENDING, DraftState.APPROVING)]
    return {
        "saved_replies": answering.saved_replies(ws_id),
        "notes": answering.notes(ws_id, item.pk),
        "can_approve": can(here.role, Perm.INBOX_APPROVE),
        "can_manage_saved": can(here.role, Perm.INBOX_MANAGE),
        "needs_approval": can(here.role, Perm.INBOX_REPLY) and accounts.replies_need_approval(actor),
        "waiting_drafts": waiting,
        "my_draft": mine,
        "text": text or (mine.text if mine is not None else ""),
    }


# -- a saved reply in the reply form ------------------------------------------------------------


@workspace_view(Perm.INBOX_REPLY)
@require_GET
def saved_reply_fill(request: HttpRequest, item_id: int) -> HttpResponseBase:
    """The reply box filled with a saved reply for this item: the textarea alone for HTMX (the
    select in the form asks on change), else the item page with it in the box."""
    ws_id = _ws(request).pk
    chosen = forms.parse_id(request.GET.get("saved"))
    try:
        item = inbox.get_item(ws_id, item_id)
        text = answering.render_saved_reply(_actor(request), chosen, item.pk) if chosen else ""
    except DomainError as exc:
        raise Http404 from exc
    if request.headers.get("HX-Request") == "true":
        return render(request, "web/_reply_text.html", {"text": text})
    return redirect(f"{reverse('web:inbox_item', args=[item.pk])}?saved={chosen or ''}")


# -- internal notes -------------------------------------------------------------------------------


@workspace_view(Perm.INBOX_VIEW)
@require_POST
def note_add(request: HttpRequest, item_id: int) -> HttpResponseBase:
    try:
        answering.add_note(_actor(request), item_id, request.POST.get("text", ""))
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc))  # only an empty note: the box caps the length
        return redirect(f"{reverse('web:inbox_item', args=[item_id])}#notes")
    messages.success(request, _("Note added; only your team sees it."))
    return redirect(f"{reverse('web:inbox_item', args=[item_id])}#notes")


# -- approving ------------------------------------------------------------------------------------


def _draft_item(request: HttpRequest, draft_id: int) -> int:
    try:
        return answering.get_draft(_ws(request).pk, draft_id).item_id
    except DomainError as exc:
        raise Http404 from exc


@workspace_view(Perm.INBOX_APPROVE)
@require_POST
def draft_approve(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    item_id = _draft_item(request, draft_id)
    try:
        answering.approve(_actor(request), draft_id, text=request.POST.get("text"))
    except DomainError as exc:
        messages.error(request, _("The reply was not sent: %(problem)s") % {"problem": exc})
    else:
        messages.success(request, _("Approved: the reply was sent."))
    return redirect("web:inbox_item", item_id=item_id)


@workspace_view(Perm.INBOX_APPROVE)
@require_POST
def draft_reject(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    item_id = _draft_item(request, draft_id)
    try:
        answering.reject(_actor(request), draft_id, request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The reply was sent back to its author."))
    return redirect("web:inbox_item", item_id=item_id)


# -- the saved replies page -----------------------------------------------------------------------


def _saved_page(
    request: HttpRequest,
    *,
    editing: answering.SavedReplyView | None = None,
    title: str = "",
    body: str = "",
    problem: DomainError | None = None,
    status: int = 200,
) -> HttpResponseBase:
    return render(
        request,
        "web/saved_replies.html",
        {
            "replies": answering.saved_replies(_ws(request).pk),
            "editing": editing,
            "title": title if problem or not editing else editing.title,
            "body": body if problem or not editing else editing.body,
            "problem": problem,
            "variables": list(answering.VARIABLES),
        },
        status=status,
    )


@workspace_view(Perm.INBOX_MANAGE)
@require_http_methods(["GET", "POST"])
def saved_replies(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":
        return _saved_page(request)
    title, body = request.POST.get("title", ""), request.POST.get("body", "")
    try:
        answering.create_saved_reply(_actor(request), title, body)
    except DomainError as exc:
        return _saved_page(request, title=title, body=body, problem=exc, status=exc.status)
    messages.success(request, _("Saved reply added."))
    return redirect("web:saved_replies")


@workspace_view(Perm.INBOX_MANAGE)
@require_http_methods(["GET", "POST"])
def saved_reply_edit(request: HttpRequest, saved_reply_id: int) -> HttpResponseBase:
    try:
        editing = answering.get_saved_reply(_ws(request).pk, saved_reply_id)
    except DomainError as exc:
        raise Http404 from exc
    if request.method == "GET":
        return _saved_page(request, editing=editing)
    title, body = request.POST.get("title", ""), request.POST.get("body", "")
    try:
        answering.update_saved_reply(_actor(request), saved_reply_id, title, body)
    except DomainError as exc:
        return _saved_page(request, editing=editing, title=title, body=body, problem=exc, status=exc.status)
    messages.success(request, _("Saved reply changed."))
    return redirect("web:saved_replies")


@workspace_view(Perm.INBOX_MANAGE)
@require_POST
def saved_reply_delete(request: HttpRequest, saved_reply_id: int) -> HttpResponseBase:
    try:
        answering.delete_saved_reply(_actor(request), saved_reply_id)
    except DomainError as exc:
        raise Http404 from exc
    messages.success(request, _("Saved reply deleted."))
    return redirect("web:saved_replies")


urlpatterns: list[URLPattern] = [
    path("inbox/saved-replies/", saved_replies, name="saved_replies"),
    path("inbox/saved-replies/<int:saved_reply_id>/", saved_reply_edit, name="saved_reply_edit"),
    path("inbox/saved-replies/<int:saved_reply_id>/delete/", saved_reply_delete, name="saved_reply_delete"),
    path("inbox/<int:item_id>/saved-reply/", saved_reply_fill, name="saved_reply_fill"),
    path("inbox/<int:item_id>/notes/", note_add, name="inbox_note"),
    path("inbox/drafts/<int:draft_id>/approve/", draft_approve, name="draft_approve"),
    path("inbox/drafts/<int:draft_id>/reject/", draft_reject, name="draft_reject"),
]
