"""The composer's one action: a post written with the button a person pressed, checked by the
same rules wherever a post is written (the web composer, the API, the plan import).

:func:`compose` takes a :class:`ComposeRequest` (the post's fields, one variant per channel, the
:class:`Intent` and the actor) and returns a :class:`ComposeResult`: where the post ended up
(:class:`Outcome`: a draft, sent for approval, waiting for the client, approved, scheduled) or
why it was refused, field by field. Roles, the approval gate (``approvals.py``,
``docs/decisions/0005-approvals.md``), links (``core/urls.py``) and each network's limits
(``content.py``) are checked here and in the service it calls, never by an entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.channels import service as channels
from rupor.networks import registry
from rupor.networks.base import Capability, Problem
from rupor.planning import approvals, content, slots
from rupor.planning.models import Media, Post
from rupor.planning.service import PlanningError, PostInput, VariantInput, create_post, get_post, update_post
from rupor.publishing import service as publishing


class Intent(StrEnum):
    """The composer's buttons."""

    SAVE = "save"  # keep the post where it is (or move it to the status asked for)
    DRAFT = "draft"  # take it back to a draft
    SCHEDULE = "schedule"  # schedule it for its time (through the approval gate)
    NOW = "now"  # publish it now (through the approval gate)
    QUEUE = "queue"  # give it the next free queue slot of its channels
    SUBMIT = "submit"  # send it for review


#: Intents that ask for the post to go out: it needs channels and variants that fit them.
GOING_OUT = (Intent.SCHEDULE, Intent.NOW, Intent.QUEUE, Intent.SUBMIT)
#: What an author's post may be sent back into review from (else it starts over as a draft).
REWORKABLE = (Post.Status.DRAFT, Post.Status.CHANGES_REQUESTED, Post.Status.REJECTED)
#: The fields the composer sends on every save of an existing post.
COMPOSER_FIELDS = frozenset({"title", "text", "rubric_id", "scheduled_at", "variants"})


class Outcome(StrEnum):
    """Where the post is after :func:`compose` (the approvals outcome)."""

    DRAFT = "draft"
    SENT_FOR_APPROVAL = "sent_for_approval"
    AWAITING_CLIENT = "awaiting_client"
    APPROVED = "approved"  # approved, with no time ahead yet
    SCHEDULED = "scheduled"
    SAVED = "saved"  # any other status it keeps (changes requested, rejected, cancelled)
    REFUSED = "refused"


class Reason(StrEnum):
    """Why a request was refused."""

    NO_CHANNELS = "no_channels"  # a post that goes out needs a channel
    UNFIT = "unfit"  # a variant does not fit its network (``Refusal.channel_id`` says which)
    NO_QUEUE_SLOT = "no_queue_slot"  # the channels have no free queue slot ahead
    REFUSED = "refused"  # the planning service refused it (``ComposeResult.error``)


@dataclass(frozen=True)
class Refusal:
    """One reason a request was refused: the field (as the API names it: ``title``,
    ``scheduled_at``, ``variants[0].link``…; empty for the post as a whole) and a message a
    person understands; ``channel_id`` names the variant's channel where the reason is one."""

    field: str
    message: str
    channel_id: int | None = None


@dataclass(frozen=True)
class ComposeRequest:
    """A post as written, the button pressed and who pressed it.

    ``post.status`` is the status asked for explicitly (the API, the import, the composer's status
    list); it counts with :attr:`Intent.SAVE` when creating or when ``"status"`` is in ``fields``.
    ``fields`` are the fields sent on an update (``None``: the composer's own)."""

    actor: Actor
    post: PostInput
    intent: Intent = Intent.SAVE
    post_id: int | None = None
    fields: frozenset[str] | None = None


@dataclass(frozen=True)
class ComposeResult:
    outcome: Outcome
    post: Post | None = None
    refusals: tuple[Refusal, ...] = ()
    reason: Reason | None = None
    status: int = 200  # as HTTP would say it: 400, 403, 404, 409, 422 when refused
    error: PlanningError | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != Outcome.REFUSED

    def raise_if_refused(self) -> Post:
        """The saved post, or the refusal raised as the :class:`PlanningError` it is."""
        if self.post is not None and self.ok:
            return self.post
        if self.error is not None:
            raise self.error
        first = self.refusals[0]  # a refused result always says why
        errors = [Problem(r.field, r.message) for r in self.refusals] if len(self.refusals) > 1 else []
        raise PlanningError(first.message, first.field or None, self.status, errors)


def status_for(intent: Intent, current: str, asked: str, *, status_sent: bool) -> str:
    """The status a button asks for, from where the post is (``current``)."""
    if intent == Intent.SAVE:
        return asked if status_sent else current
    if intent == Intent.DRAFT:
        return Post.Status.DRAFT
    if intent in (Intent.SCHEDULE, Intent.NOW):
        return Post.Status.SCHEDULED
    return current if current in REWORKABLE else Post.Status.DRAFT


def outcome_of(status: str) -> Outcome:
    outcomes: dict[str, Outcome] = {
        Post.Status.DRAFT: Outcome.DRAFT,
        Post.Status.IN_REVIEW: Outcome.SENT_FOR_APPROVAL,
        Post.Status.CLIENT_REVIEW: Outcome.AWAITING_CLIENT,
        Post.Status.APPROVED: Outcome.APPROVED,
        Post.Status.SCHEDULED: Outcome.SCHEDULED,
    }
    return outcomes.get(status, Outcome.SAVED)


def statuses_offered(actor: Actor, current: str | None = None) -> list[tuple[str, Any]]:
    """The statuses a person may pick for a post (a draft; scheduled for those who may publish;
    and the post's own status, whatever it is)."""
    out: list[tuple[str, Any]] = [(Post.Status.DRAFT.value, Post.Status.DRAFT.label)]
    if actor.can(Perm.POSTS_PUBLISH):
        out.append((Post.Status.SCHEDULED.value, Post.Status.SCHEDULED.label))
    if current and current not in dict(out):
        out.append((current, Post.Status(current).label))
    return out


@dataclass(frozen=True)
class Offer:
    """Which of the composer's buttons a person may press for a post, and why (the approval gate
    as the composer shows it; :func:`compose` enforces the same rules whatever is pressed)."""

    mode: str  # the workspace's approval mode (accounts.Approval)
    status: str  # the post's status (a draft for a new post)
    may_publish: bool
    may_approve: bool
    approved: bool  # approved, and not changed since
    needs_review: bool  # the workspace approves posts and this one is not approved yet
    schedule: bool  # schedule (or approve and schedule, or send to the client)
    now: bool
    queue: bool
    submit: bool
    unschedule: bool
    published: bool = False  # publishing has started: the post keeps its time
    fixed_networks: tuple[str, ...] = ()  # networks of its published variants that cannot edit them

    @property
    def by_client(self) -> bool:
        return self.mode == accounts.Approval.CLIENT


def offer(actor: Actor, post: Post | None) -> Offer:
    """The buttons the composer offers ``actor`` for ``post`` (``None``: a new post)."""
    mode = accounts.approval_mode(actor.workspace_id)
    may_publish = actor.can(Perm.POSTS_PUBLISH)
    may_approve = actor.can(Perm.POSTS_APPROVE)
    status = post.status if post else Post.Status.DRAFT
    approved = post is not None and post.approved_at is not None
    needs_review = mode != accounts.Approval.NONE and not approved
    base = Offer(
        mode=mode,
        status=status,
        may_publish=may_publish,
        may_approve=may_approve,
        approved=approved,
        needs_review=needs_review,
        schedule=False,
        now=False,
        queue=False,
        submit=False,
        unschedule=False,
    )
    variants = list(post.variants.all()) if post is not None else []
    if variants and publishing.has_started([v.pk for v in variants]):
        out = publishing.published_variants([v.pk for v in variants])
        fixed = {
            registry.DISPLAY_NAMES.get(v.channel.network, v.channel.network)
            for v in variants
            if v.pk in out
            and (
                v.channel.network not in registry.available()
                or Capability.EDIT not in registry.adapter(v.channel.network).capabilities
            )
        }
        return replace(base, published=True, fixed_networks=tuple(sorted(fixed)))
    schedule = may_publish and (not needs_review or may_approve)
    return replace(
        base,
        schedule=schedule,
        now=schedule and not (needs_review and mode == accounts.Approval.CLIENT),
        queue=schedule,
        submit=needs_review and not may_approve and status in approvals.SUBMITTABLE,
        unschedule=post is not None and status == Post.Status.SCHEDULED and may_publish,
    )


def variant_refusals(
    workspace_id: int, variants: tuple[VariantInput, ...], shared_text: str
) -> list[Refusal]:
    """Why each variant does not fit its channel's network (media not in the workspace's
    library, the network's limits, the link); empty when all fit. Checked before anything is
    saved, so nothing half-done is left behind."""
    chosen = {
        c.pk: c for c in channels.list_channels(workspace_id).filter(pk__in=[v.channel_id for v in variants])
    }
    wanted = {m for v in variants for m in v.media_ids}
    library = {m.pk: m for m in Media.objects.filter(workspace_id=workspace_id, pk__in=wanted)}
    out: list[Refusal] = []
    for index, v in enumerate(variants):
        channel = chosen.get(v.channel_id)
        if channel is None:
            out.append(
                Refusal(
                    f"variants[{index}].channel_id",
                    _("Channel %(id)s does not exist in this workspace.") % {"id": v.channel_id},
                    v.channel_id,
                )
            )
            continue
        missing = [m for m in v.media_ids if m not in library]
        if missing:
            out.append(
                Refusal(
                    f"variants[{index}].media_ids",
                    _("Media %(id)s is not in this workspace's library.") % {"id": missing[0]},
                    channel.pk,
                )
            )
        built = content.build_content(
            text=shared_text if v.text is None else v.text,
            media=[library[m] for m in v.media_ids if m in library],
            link=v.link,
            poll=v.poll,
            first_comment=v.first_comment,
            options=v.options,
        )
        out.extend(
            Refusal(f"variants[{index}].{p.field}", f"{channel.name}: {p.message}", channel.pk)
            for p in content.content_problems(channel, built)
        )
    return out


def _precheck(request: ComposeRequest) -> ComposeResult | None:
    """What refuses a post that asks to go out before anything is saved."""
    actor, data, intent = request.actor, request.post, request.intent
    if intent not in GOING_OUT:
        return None
    variants = data.variants or ()
    if not variants:
        return _refused(Reason.NO_CHANNELS, [Refusal("variants", _("Choose at least one channel first."))])
    unfit = variant_refusals(actor.workspace_id, variants, data.text)
    if unfit:
        return _refused(Reason.UNFIT, unfit, 422)
    if (
        intent == Intent.QUEUE
        and slots.next_free_slot(
            actor.workspace_id, [v.channel_id for v in variants], exclude_post_id=request.post_id
        )
        is None
    ):
        message = _(
            "None of this post's channels has a free queue slot in the next 12 weeks; add queue slots first."
        )
        return _refused(Reason.NO_QUEUE_SLOT, [Refusal("channel_id", message)], 409)
    return None


def _refused(reason: Reason, refusals: list[Refusal], status: int = 400) -> ComposeResult:
    return ComposeResult(Outcome.REFUSED, refusals=tuple(refusals), reason=reason, status=status)


def compose(request: ComposeRequest) -> ComposeResult:
    """Write the post as the button asks, or refuse with the reasons (nothing is saved then)."""
    actor, intent = request.actor, request.intent
    current: str = Post.Status.DRAFT
    if request.post_id is not None:
        try:
            current = get_post(actor.workspace_id, request.post_id).status
        except PlanningError as exc:
            return _from_error(exc)
    fields = set(COMPOSER_FIELDS if request.fields is None else request.fields)
    status = status_for(
        intent, current, request.post.status, status_sent="status" in fields or request.post_id is None
    )
    data = replace(
        request.post,
        status=status,
        publish_now=request.post.publish_now or intent == Intent.NOW,
        scheduled_at=None if intent in (Intent.NOW, Intent.QUEUE) else request.post.scheduled_at,
    )
    refused = _precheck(replace(request, post=data))
    if refused is not None:
        return refused
    if status != current:
        fields.add("status")
    try:
        with transaction.atomic():
            if request.post_id is None:
                saved = create_post(actor, data)
            else:
                saved = update_post(actor, request.post_id, data, fields)
            if intent == Intent.QUEUE:
                saved = slots.add_to_queue(actor, saved.pk)
            elif intent == Intent.SUBMIT:
                saved = approvals.submit(actor, saved.pk)
    except PlanningError as exc:
        if intent == Intent.QUEUE and exc.field == "channel_id":
            return _refused(Reason.NO_QUEUE_SLOT, [Refusal("channel_id", exc.message)], exc.status)
        return _from_error(exc)
    return ComposeResult(outcome_of(saved.status), saved)


def _from_error(exc: PlanningError) -> ComposeResult:
    refusals = [Refusal(p.field, p.message) for p in exc.errors] or [Refusal(exc.field or "", exc.message)]
    return ComposeResult(
        Outcome.REFUSED, refusals=tuple(refusals), reason=Reason.REFUSED, status=exc.status, error=exc
    )
