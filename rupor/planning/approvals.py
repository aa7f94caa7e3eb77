"""Approvals: internal review, client review through an expiring magic link, and the history.

The rules (see ``docs/decisions/0005-approvals.md``):

* ``workspace.approval == "none"``: no approval step; managers schedule directly.
* ``"internal"``: editors :func:`submit` (draft → in_review); reviewers (``Perm.POSTS_APPROVE``)
  :func:`approve`, :func:`request_changes` (comment required) or :func:`reject`. A reviewer who
  schedules a post themselves approves it by doing so (recorded as an approval).
* ``"client"``: as internal, but an internally approved post goes to ``client_review`` and the
  client approves — with a client account (``Perm.POSTS_CLIENT_REVIEW``, :func:`client_review`) or
  through a magic link without one (:func:`client_link_for`, :func:`client_decide`).

Only a fully approved post is scheduled for publishing: on final approval it becomes ``scheduled``
when it has a future time, otherwise ``approved`` (waiting for a time). Changing the content of
an approved post withdraws the approval. Every decision lands in :class:`Review` and the audit trail.

Approved means approved: review statuses change only through the actions below (never by editing a
post's status), and what a reviewer or the client approves is what they saw. A change to the content
of a post waiting for the client sends it back to internal review (:func:`after_content_edit`; a
reviewer's own change counts as their approval again), and a decision may carry the
:func:`content_fingerprint` of what the page showed: approving content that changed since is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, Role
from rupor.accounts.service import Actor, record
from rupor.core import clock, config
from rupor.planning.models import ClientLink, Post, PostVariant, Review, VariantMedia
from rupor.planning.service import PAST_GRACE, PlanningError, _sync, _validate_for_schedule, get_post

CLIENT_LINK_TTL = dt.timedelta(days=7)
CLIENT_LINK_MAX_TTL = dt.timedelta(days=60)
CLIENT_LABEL = "client (review link)"

#: Statuses from which a post may be submitted for review.
SUBMITTABLE = (Post.Status.DRAFT, Post.Status.CHANGES_REQUESTED, Post.Status.REJECTED)
#: Statuses in which a post waits for a reviewer's or the client's decision.
AWAITING_DECISION = (Post.Status.IN_REVIEW, Post.Status.CLIENT_REVIEW)
#: Statuses only the approval actions set (an edit of a post never does).
REVIEW_STATUSES = (
    Post.Status.IN_REVIEW,
    Post.Status.CLIENT_REVIEW,
    Post.Status.CHANGES_REQUESTED,
    Post.Status.REJECTED,
    Post.Status.APPROVED,
)
DECISIONS = ("approve", "request_changes", "reject")


@dataclass(frozen=True)
class ReviewView:
    id: int
    post_id: int
    stage: str
    decision: str
    comment: str
    actor: str
    at: dt.datetime


@dataclass(frozen=True)
class ClientLinkView:
    id: int
    workspace_id: int
    post_ids: tuple[int, ...]  # posts the link covers that wait for the client now
    expires_at: dt.datetime
    url: str = ""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require(actor: Actor, perm: Perm, message: str = gettext_noop("Your role does not allow this.")) -> None:
    """``message`` is an untranslated English text (marked with ``gettext_noop``), translated here."""
    if not actor.can(perm):
        raise PlanningError(_(message), status=403)


def _mode(workspace_id: int) -> str:
    return accounts.approval_mode(workspace_id)


def _locked(workspace_id: int, post_id: int) -> Post:
    post = Post.objects.select_for_update().filter(workspace_id=workspace_id, pk=post_id).first()
    if post is None:
        raise PlanningError(_("No such post."), status=404)
    return post


def _log(
    post: Post, actor: Actor | None, stage: str, decision: str, comment: str, *, label: str = ""
) -> None:
    who = actor.label if actor else label
    Review.objects.create(
        post=post,
        stage=stage,
        decision=decision,
        comment=comment,
        actor_id=actor.user_id if actor else None,
        actor_label=who[:200],
    )
    summary = f"{stage} {decision}: {post}" + (f" — {comment}" if comment else "")
    # A client deciding through a review link has no account: the entry keeps the link's label.
    by = actor if actor is not None else Actor(post.workspace_id, Role.CLIENT, label=who[:200])
    record(post.workspace_id, by, f"post.review.{decision}", "post", post.pk, summary)


def _set_status(post: Post, status: str) -> None:
    post.status = status
    post.updated_at = clock.now()
    post.save(update_fields=["status", "approved_at", "updated_at"])


def _finish_approval(post: Post, actor: Actor) -> None:
    """Every required step passed: schedule the post if its time is still ahead, else park it."""
    post.approved_at = clock.now()
    if post.scheduled_at is not None and post.scheduled_at >= clock.now() - PAST_GRACE:
        _set_status(post, Post.Status.SCHEDULED)
    else:
        _set_status(post, Post.Status.APPROVED)
    _sync(post, actor)


# -- what was seen ------------------------------------------------------------------------


def content_fingerprint(post: Post) -> str:
    """A digest of everything a reviewer judges: the title, the shared text and each variant's
    channel, text, link, poll, first comment, options and media (by their bytes' hash).

    Pages that ask for a decision send it back with the decision, so that an approval is of
    exactly what was shown; read from the database, never from a prefetched cache.
    """
    variants = []
    for v in PostVariant.objects.filter(post_id=post.pk).order_by("channel_id"):
        media = list(
            VariantMedia.objects.filter(variant_id=v.pk)
            .order_by("position", "id")
            .values_list("media_id", "media__sha256")
        )
        variants.append([v.channel_id, v.text, v.link, v.poll, v.first_comment, v.options, media])
    seen = {"title": post.title, "text": post.text, "variants": variants}
    return hashlib.sha256(
        json.dumps(seen, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:32]


def _check_seen(post: Post, seen: str | None) -> None:
    if seen is not None and seen != content_fingerprint(post):
        raise PlanningError(
            _("This post changed after you opened it. Look at it again before you approve it."),
            "fingerprint",
            409,
        )


# -- the hook planning.service calls ------------------------------------------------------


def check_status_change(actor: Actor, post: Post, status: str, *, creating: bool) -> None:
    """An edit never moves a post into or between review statuses: that is what submit, approve
    and the client's decision are for (an editor could otherwise mark their own post approved)."""
    if creating or status == post.status or status not in REVIEW_STATUSES:
        return
    raise PlanningError(
        _(
            "A post is sent for review, approved or sent back only through the review actions, not by setting its status."
        ),
        "status",
        403 if not actor.can(Perm.POSTS_APPROVE) else 409,
    )


def fingerprint_before_edit(post: Post, *, creating: bool) -> str | None:
    """What the client is looking at, for a post that waits for them (``None`` otherwise)."""
    if creating or post.pk is None or post.status != Post.Status.CLIENT_REVIEW:
        return None
    return content_fingerprint(post)


def after_content_edit(actor: Actor, post: Post, before: str | None) -> str | None:
    """A post waiting for the client whose content an edit changed: back to internal review, or,
    when the person who changed it may approve, approved again by them (recorded either way).
    Returns the review to log (see :func:`after_save`), or ``None`` when nothing changed."""
    if before is None or post.status != Post.Status.CLIENT_REVIEW or content_fingerprint(post) == before:
        return None
    if actor.can(Perm.POSTS_APPROVE):
        return "reapproved"
    post.approved_at = None
    _set_status(post, Post.Status.IN_REVIEW)
    return "resubmitted"


def gate_schedule(actor: Actor, mode: str, post: Post, *, content_changed: bool) -> tuple[str, str | None]:
    """What a request to schedule ``post`` becomes under the workspace's approval ``mode``.

    Returns ``(status, review_to_log)``: ``review_to_log`` is ``"self_approved"`` when the
    actor's own scheduling counts as the internal approval (logged after the post is saved).
    """
    if mode == accounts.Approval.NONE:
        return Post.Status.SCHEDULED, None
    if post.approved_at is not None and not content_changed:
        return Post.Status.SCHEDULED, None
    if not actor.can(Perm.POSTS_APPROVE):
        return Post.Status.IN_REVIEW, "submitted"
    if mode == accounts.Approval.CLIENT:
        return Post.Status.CLIENT_REVIEW, "self_approved"
    return Post.Status.SCHEDULED, "self_approved"


def after_save(actor: Actor, post: Post, review: str | None) -> None:
    """Record what :func:`gate_schedule` decided (the post now has an id)."""
    if review == "self_approved":
        if post.status == Post.Status.SCHEDULED:
            Post.objects.filter(pk=post.pk).update(approved_at=clock.now())
            post.approved_at = clock.now()
        _log(post, actor, Review.Stage.INTERNAL, Review.Decision.APPROVED, "Approved by scheduling it.")
    elif review == "submitted":
        _log(post, actor, Review.Stage.INTERNAL, Review.Decision.SUBMITTED, "")
    elif review == "resubmitted":
        _log(
            post,
            actor,
            Review.Stage.INTERNAL,
            Review.Decision.SUBMITTED,
            "Changed while waiting for the client: back in internal review.",
        )
    elif review == "reapproved":
        _log(
            post,
            actor,
            Review.Stage.INTERNAL,
            Review.Decision.APPROVED,
            "Changed while waiting for the client, and approved by the reviewer who changed it.",
        )


# -- internal review ----------------------------------------------------------------------


def submit(actor: Actor, post_id: int, comment: str = "") -> Post:
    """An author asks for review: draft / changes requested / rejected → in review."""
    _require(actor, Perm.POSTS_EDIT)
    with transaction.atomic():
        post = _locked(actor.workspace_id, post_id)
        if _mode(actor.workspace_id) == accounts.Approval.NONE:
            raise PlanningError(
                _("This workspace has no approval step; a manager can schedule the post directly."),
                "status",
                409,
            )
        if post.status not in SUBMITTABLE:
            raise PlanningError(
                _("A post that is %(status)s cannot be submitted for review.")
                % {"status": post.get_status_display().lower()},
                "status",
                409,
            )
        _validate_for_schedule(post)
        post.approved_at = None
        _set_status(post, Post.Status.IN_REVIEW)
        _sync(post, actor)
        _log(post, actor, Review.Stage.INTERNAL, Review.Decision.SUBMITTED, comment.strip())
    return get_post(actor.workspace_id, post_id)


def approve(actor: Actor, post_id: int, comment: str = "", *, seen: str | None = None) -> Post:
    """A reviewer approves; with client review the post then waits for the client. ``seen``: the
    :func:`content_fingerprint` of what the reviewer looked at (refused when the post changed)."""
    _require(
        actor,
        Perm.POSTS_APPROVE,
        gettext_noop("Only reviewers (managers, admins, owners) can approve posts."),
    )
    with transaction.atomic():
        post = _locked(actor.workspace_id, post_id)
        if post.status != Post.Status.IN_REVIEW:
            raise PlanningError(_("Only a post in review can be approved."), "status", 409)
        _check_seen(post, seen)
        _validate_for_schedule(post)
        _log(post, actor, Review.Stage.INTERNAL, Review.Decision.APPROVED, comment.strip())
        if _mode(actor.workspace_id) == accounts.Approval.CLIENT:
            _set_status(post, Post.Status.CLIENT_REVIEW)
            _sync(post, actor)
        else:
            _finish_approval(post, actor)
    return get_post(actor.workspace_id, post_id)


def _decline(
    actor: Actor | None, post: Post, decision: str, comment: str, stage: str, label: str = ""
) -> None:
    if decision == Review.Decision.CHANGES_REQUESTED and not comment.strip():
        raise PlanningError(_("Say what should change: a comment is required."), "comment")
    post.approved_at = None
    _set_status(post, decision)  # the decision names the status it leads to
    _sync(post, actor or _link_actor(post.workspace_id))
    _log(post, actor, stage, decision, comment.strip(), label=label)


def request_changes(actor: Actor, post_id: int, comment: str) -> Post:
    """A reviewer sends the post back to its author with a comment."""
    _require(
        actor,
        Perm.POSTS_APPROVE,
        gettext_noop("Only reviewers (managers, admins, owners) can request changes."),
    )
    with transaction.atomic():
        post = _locked(actor.workspace_id, post_id)
        if post.status not in (
            Post.Status.IN_REVIEW,
            Post.Status.CLIENT_REVIEW,
            Post.Status.APPROVED,
            Post.Status.SCHEDULED,
        ):
            raise PlanningError(
                _("Changes can be requested only for a post in review or approved."), "status", 409
            )
        _decline(actor, post, Review.Decision.CHANGES_REQUESTED, comment, Review.Stage.INTERNAL)
    return get_post(actor.workspace_id, post_id)


def reject(actor: Actor, post_id: int, comment: str = "") -> Post:
    _require(
        actor, Perm.POSTS_APPROVE, gettext_noop("Only reviewers (managers, admins, owners) can reject posts.")
    )
    with transaction.atomic():
        post = _locked(actor.workspace_id, post_id)
        if post.status not in (Post.Status.IN_REVIEW, Post.Status.CLIENT_REVIEW):
            raise PlanningError(_("Only a post in review can be rejected."), "status", 409)
        _decline(actor, post, Review.Decision.REJECTED, comment, Review.Stage.INTERNAL)
    return get_post(actor.workspace_id, post_id)


# -- client review ------------------------------------------------------------------------


def _link_actor(workspace_id: int) -> Actor:
    return Actor(workspace_id, Role.CLIENT, label=CLIENT_LABEL)


def _client_decision(
    actor: Actor | None, post: Post, decision: str, comment: str, label: str, seen: str | None = None
) -> None:
    if decision not in DECISIONS:
        raise PlanningError(
            _("%(decision)s is not a decision; use one of: %(decisions)s.")
            % {
                "decision": repr(decision),
                "decisions": ", ".join(DECISIONS),
            },
            "decision",
        )
    if post.status != Post.Status.CLIENT_REVIEW:
        raise PlanningError(_("This post is not waiting for the client's decision."), "status", 409)
    if decision == "approve":
        _check_seen(post, seen)
        _log(post, actor, Review.Stage.CLIENT, Review.Decision.APPROVED, comment.strip(), label=label)
        _finish_approval(post, actor or _link_actor(post.workspace_id))
    elif decision == "request_changes":
        _decline(actor, post, Review.Decision.CHANGES_REQUESTED, comment, Review.Stage.CLIENT, label)
    else:
        _decline(actor, post, Review.Decision.REJECTED, comment, Review.Stage.CLIENT, label)


def client_review(
    actor: Actor, post_id: int, decision: str, comment: str = "", *, seen: str | None = None
) -> Post:
    """A client with an account decides on a post waiting for them (``seen``: see :func:`approve`)."""
    _require(
        actor,
        Perm.POSTS_CLIENT_REVIEW,
        gettext_noop("Only the client (or an owner) decides in client review."),
    )
    with transaction.atomic():
        post = _locked(actor.workspace_id, post_id)
        _client_decision(actor, post, decision, comment, actor.label, seen)
    return get_post(actor.workspace_id, post_id)


def _base_url() -> str:
    return config.base_url()


def client_link_for(
    actor: Actor,
    *,
    post_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    ttl: dt.timedelta = CLIENT_LINK_TTL,
) -> ClientLinkView:
    """Create a magic link for one post or for the posts of a period; the URL is shown once."""
    _require(
        actor,
        Perm.POSTS_APPROVE,
        gettext_noop("Only reviewers (managers, admins, owners) can send posts to the client."),
    )
    if _mode(actor.workspace_id) != accounts.Approval.CLIENT:
        raise PlanningError(
            _("This workspace does not use client approval; turn it on in the workspace settings."),
            "approval",
            409,
        )
    if ttl <= dt.timedelta(0) or ttl > CLIENT_LINK_MAX_TTL:
        days = CLIENT_LINK_MAX_TTL.days
        raise PlanningError(
            ngettext(
                "A review link lives between 1 hour and %(days)s day.",
                "A review link lives between 1 hour and %(days)s days.",
                days,
            )
            % {"days": days},
            "expires_in_hours",
        )
    if post_id is None and (start is None or end is None):
        raise PlanningError(_("Name a post, or a period with a start and an end."), "post_id")
    if start is not None and end is not None and end <= start:
        raise PlanningError(_("The period ends before it starts."), "end")
    if post_id is not None:
        post = Post.objects.filter(workspace_id=actor.workspace_id, pk=post_id).first()
        if post is None:
            raise PlanningError(_("No such post."), "post_id", 404)
        if post.status != Post.Status.CLIENT_REVIEW:
            raise PlanningError(
                _("This post is not waiting for the client; approve it internally first."), "post_id", 409
            )
    token = secrets.token_urlsafe(32)
    link = ClientLink.objects.create(
        workspace_id=actor.workspace_id,
        post_id=post_id,
        period_start=None if post_id else start,
        period_end=None if post_id else end,
        token_hash=_hash(token),
        created_by_id=actor.user_id,
        expires_at=clock.now() + ttl,
    )
    record(
        actor.workspace_id,
        actor,
        "post.review.link",
        "client_link",
        link.pk,
        f"review link for post {post_id}" if post_id else f"review link for {start:%Y-%m-%d}..{end:%Y-%m-%d}",
    )
    return ClientLinkView(
        link.pk, actor.workspace_id, _pending(link), link.expires_at, f"{_base_url()}/review/{token}"
    )


def _covered(link: ClientLink) -> list[Post]:
    qs = Post.objects.filter(workspace_id=link.workspace_id)
    if link.post_id is not None:
        qs = qs.filter(pk=link.post_id)
    else:
        qs = qs.filter(scheduled_at__gte=link.period_start, scheduled_at__lt=link.period_end)
    return list(qs.order_by("scheduled_at", "id"))


def _pending(link: ClientLink) -> tuple[int, ...]:
    return tuple(p.pk for p in _covered(link) if p.status == Post.Status.CLIENT_REVIEW)


def _live_link(token: str) -> ClientLink | None:
    link = ClientLink.objects.filter(token_hash=_hash(token or "")).first()
    if link is None or link.revoked_at is not None or link.expires_at <= clock.now():
        return None
    return link


def find_client_link(token: str) -> ClientLinkView | None:
    """The link behind a token, or ``None`` when it is unknown, revoked or expired."""
    link = _live_link(token)
    if link is None:
        return None
    return ClientLinkView(link.pk, link.workspace_id, _pending(link), link.expires_at)


def link_posts(token: str) -> list[Post]:
    """Every post a live link covers (decided ones included), for the review page."""
    link = _live_link(token)
    return [] if link is None else _covered(link)


def client_decide(
    token: str, decision: str, comment: str = "", post_id: int | None = None, *, seen: str | None = None
) -> Post:
    """The client's decision through a magic link. ``post_id`` is needed for period links;
    ``seen`` is the :func:`content_fingerprint` the review page showed (see :func:`approve`)."""
    with transaction.atomic():
        link = _live_link(token)
        if link is None:
            raise PlanningError(
                _("This review link is invalid or has expired; ask for a new one."), status=404
            )
        target = link.post_id if link.post_id is not None else post_id
        if target is None:
            raise PlanningError(_("Choose the post you decide on."), "post_id")
        if target not in {p.pk for p in _covered(link)}:
            raise PlanningError(_("This link does not cover that post."), "post_id", 404)
        post = _locked(link.workspace_id, target)
        _client_decision(None, post, decision, comment, CLIENT_LABEL, seen)
    return get_post(link.workspace_id, target)


def revoke_client_link(actor: Actor, link_id: int) -> None:
    _require(actor, Perm.POSTS_APPROVE)
    updated = ClientLink.objects.filter(
        pk=link_id, workspace_id=actor.workspace_id, revoked_at__isnull=True
    ).update(revoked_at=clock.now())
    if not updated:
        raise PlanningError(_("No such review link."), status=404)
    record(actor.workspace_id, actor, "post.review.link_revoke", "client_link", link_id, "")


# -- history ------------------------------------------------------------------------------


def reviews(workspace_id: int, post_id: int) -> list[ReviewView]:
    """The approval history of a post, oldest first."""
    if not Post.objects.filter(workspace_id=workspace_id, pk=post_id).exists():
        raise PlanningError(_("No such post."), status=404)
    return [
        ReviewView(r.pk, r.post_id, r.stage, r.decision, r.comment, r.actor_label, r.at)
        for r in Review.objects.filter(post_id=post_id)
    ]
