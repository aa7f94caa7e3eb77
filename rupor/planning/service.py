"""Public actions of the planning domain: rubrics, posts and their per-channel variants."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.core.timezones import LocalTimeError, to_utc
from rupor.core.urls import url_problem
from rupor.links import service as links
from rupor.networks import registry
from rupor.networks.base import Capability, Content, Poll, Problem
from rupor.networks.base import Media as MediaItem
from rupor.networks.thread import thread_problems
from rupor.planning import polls, public_media
from rupor.planning.models import Media, Post, PostVariant, QueueSlot, Rubric, VariantMedia
from rupor.publishing import service as publishing

DEFAULT_RUBRICS = [
    # name, colour, target share %, selling
    (gettext_noop("Useful"), "#2563eb", 40, False),
    (gettext_noop("Selling"), "#dc2626", 20, True),
    (gettext_noop("Entertaining"), "#f59e0b", 15, False),
    (gettext_noop("Engagement"), "#16a34a", 15, False),
    (gettext_noop("News"), "#7c3aed", 5, False),
    (gettext_noop("Behind the scenes"), "#0d9488", 5, False),
]


def create_default_rubrics(workspace_id: int) -> None:
    Rubric.objects.bulk_create(
        [
            Rubric(
                workspace_id=workspace_id,
                name=name,
                color=color,
                target_share=share,
                is_selling=selling,
                position=i,
            )
            for i, (name, color, share, selling) in enumerate(DEFAULT_RUBRICS)
        ]
    )


# -- posts -------------------------------------------------------------------------------


#: How far in the past a "scheduled" time may be and still count as "now" (clock skew, typing).
PAST_GRACE = dt.timedelta(minutes=1)


class PlanningError(DomainError):
    """A request the planning domain refuses."""


@dataclass(frozen=True)
class VariantInput:
    channel_id: int
    text: str | None = None  # None: use the post's shared text
    link: str = ""
    poll: dict[str, Any] | None = None
    first_comment: str = ""
    media_ids: tuple[int, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PostInput:
    title: str = ""
    text: str = ""
    rubric_id: int | None = None
    status: str = Post.Status.DRAFT
    scheduled_at: dt.datetime | None = None
    publish_now: bool = False
    publish_late: bool = False
    notes: str = ""
    variants: tuple[VariantInput, ...] | None = None  # None on update: keep the variants


#: Every status a person may see or filter by: where the post is in the plan, then what happened
#: to it on its channels (see :func:`with_publication`).
SHOWN_STATUSES: list[tuple[str, Any]] = [*Post.Status.choices, *publishing.PostPublication.choices]


def publication_by_post(workspace_id: int) -> dict[int, str]:
    """Post id → publication status, for the workspace's posts whose publishing has started."""
    started = publishing.started_variant_ids(workspace_id)
    post_ids = set(PostVariant.objects.filter(pk__in=started).values_list("post_id", flat=True))
    groups: dict[int, list[int]] = {}
    for post_id, variant_id in PostVariant.objects.filter(post_id__in=post_ids).values_list("post_id", "pk"):
        groups.setdefault(post_id, []).append(variant_id)
    return {k: v for k, v in publishing.publication_statuses(groups).items() if v is not None}


def with_publication(posts: Sequence[Post]) -> Sequence[Post]:
    """Set each post's ``publication`` (and its label) from its targets, in one query."""
    groups = {p.pk: [v.pk for v in p.variants.all()] for p in posts}
    found = publishing.publication_statuses(groups)
    labels = dict(publishing.PostPublication.choices)
    for post in posts:
        post.publication = found.get(post.pk)
        post.publication_label = str(labels[post.publication]) if post.publication else ""
    return posts


def list_posts(
    workspace_id: int,
    *,
    status: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    channel_id: int | None = None,
) -> QuerySet[Post]:
    """The workspace's posts; ``status`` is any of :data:`SHOWN_STATUSES` (a plan status matches
    only posts whose publishing has not started: a published post is not "scheduled")."""
    qs = Post.objects.filter(workspace_id=workspace_id).select_related("rubric", "author")
    if status in publishing.PostPublication.values:
        found = publication_by_post(workspace_id)
        qs = qs.filter(pk__in=[pk for pk, shown in found.items() if shown == status])
    elif status:
        qs = qs.filter(status=status).exclude(pk__in=list(publication_by_post(workspace_id)))
    if start:
        qs = qs.filter(scheduled_at__gte=start)
    if end:
        qs = qs.filter(scheduled_at__lt=end)
    if channel_id:
        qs = qs.filter(variants__channel_id=channel_id).distinct()
    return qs.prefetch_related("variants__channel", "variants__variantmedia_set__media")


def post_of_variant(workspace_id: int, variant_id: int) -> Post | None:
    """The post a variant belongs to (``None`` when it is not this workspace's)."""
    return Post.objects.filter(workspace_id=workspace_id, variants__pk=variant_id).first()


def get_post(workspace_id: int, post_id: int) -> Post:
    post = list_posts(workspace_id).filter(pk=post_id).first()
    if post is None:
        raise PlanningError(_("No such post."), status=404)
    return post


def media_reference(media: Media) -> MediaItem:
    """A library item as adapters take it: the stored facts, a way to open the file and a way to
    give its public, signed address (``link``) to networks that fetch media themselves.

    Nothing here opens the file: size, type, dimensions and the first bytes were stored when it
    was uploaded; the adapter streams the file from storage only while it uploads it, and a link
    is signed (and a conversion made) only when the adapter asks for one."""
    storage, name = media.file.storage, media.file.name

    def open_file() -> IO[bytes]:
        # A django File: read, seek, fileno (httpx sends its length) and a context manager.
        return cast("IO[bytes]", storage.open(name, "rb"))

    return MediaItem(
        media.kind,
        media.original_name,
        media.content_type,
        media.size,
        open_file,
        bytes(media.head),
        media.width,
        media.height,
        media.alt_text,
        link=public_media.linker(media),
    )


def variant_content(variant: PostVariant) -> Content:
    """The network-neutral content of a variant, as adapters take it (media by reference)."""
    items = [media_reference(vm.media) for vm in variant.variantmedia_set.all()]
    poll = poll_from(variant.poll)
    content = Content(
        text=variant.text,
        media=tuple(items),
        poll=poll,
        link=variant.link or None,
        first_comment=variant.first_comment or None,
        options=variant.options or {},
    )
    # A network without polls gets the poll written into the text (answered in comments).
    return polls.as_published(variant.channel.network, content)


def variant_problems(variant: PostVariant) -> list[Problem]:
    """Everything that keeps a variant from fitting its network (empty when it fits)."""
    network = variant.channel.network
    if network not in registry.available():
        return [
            Problem(
                "channel",
                _("Rupor cannot publish to %(network)s yet.")
                % {"network": registry.DISPLAY_NAMES.get(network, network)},
            )
        ]
    adapter = registry.adapter(network)
    content = variant_content(variant)
    return adapter.validate(content)


def _check_thread(variant: PostVariant, index: int) -> None:
    """``options["thread"]`` must be posts the channel's network can take: a list of at most 25
    non-empty texts, each within the network's text limit (a 422 naming the first bad part)."""
    if "thread" not in variant.options:
        return
    if not variant.options["thread"]:  # an empty thread is no thread
        del variant.options["thread"]
        return
    network = variant.channel.network
    if network not in registry.available():
        raise PlanningError(
            _("%(network)s cannot post threads.") % {"network": registry.DISPLAY_NAMES.get(network, network)},
            f"variants[{index}].options.thread",
            422,
        )
    from rupor.planning.content import channel_limits

    problems = thread_problems(registry.adapter(network), variant.options, channel_limits(variant.channel))
    if problems:
        errors = [Problem(f"variants[{index}].{p.field}", p.message) for p in problems]
        raise PlanningError(problems[0].message, errors[0].field, 422, errors)


def poll_from(poll: Mapping[str, Any] | None) -> Poll | None:
    """The stored poll of a variant (``PostVariant.poll``) as adapters take it."""
    if not poll:
        return None
    correct = poll.get("correct_option")
    minutes = poll.get("minutes")
    return Poll(
        question=str(poll.get("question", "")).strip(),
        options=tuple(str(o).strip() for o in poll.get("options", []) or []),
        multiple=bool(poll.get("multiple", False)),
        anonymous=bool(poll.get("anonymous", True)),
        correct_option=correct if isinstance(correct, int) and not isinstance(correct, bool) else None,
        explanation=str(poll.get("explanation") or "").strip(),
        minutes=minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else None,
    )


def _optional_int(value: Any, field: str, message: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PlanningError(message, field, 422)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise PlanningError(message, field, 422)
    return value


def _check_poll(poll: dict[str, Any] | None, index: int) -> dict[str, Any] | None:
    """The shape of a variant's poll: question, options, multiple, anonymous, and optionally a
    quiz's ``correct_option`` (0-based) and ``explanation``, and ``minutes`` open. Whether the
    network takes them is the content check's (``networks/text.py``), refused with a 422."""
    if poll is None:
        return None
    if not isinstance(poll, dict):
        raise PlanningError(_("A poll is an object with a question and options."), f"variants[{index}].poll")
    question = str(poll.get("question", "")).strip()
    options = poll.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise PlanningError(_("Poll options are a list of texts."), f"variants[{index}].poll.options")
    correct = _optional_int(
        poll.get("correct_option"),
        f"variants[{index}].poll.correct_option",
        _("The right answer is the number of an option, counted from 0."),
    )
    minutes = _optional_int(
        poll.get("minutes"),
        f"variants[{index}].poll.minutes",
        _("How long a poll stays open is a whole number of minutes."),
    )
    if minutes is not None and minutes < 1:
        raise PlanningError(
            _("How long a poll stays open is a whole number of minutes."),
            f"variants[{index}].poll.minutes",
            422,
        )
    explanation = poll.get("explanation") or ""
    if not isinstance(explanation, str):
        raise PlanningError(_("A quiz's explanation is a text."), f"variants[{index}].poll.explanation", 422)
    out: dict[str, Any] = {
        "question": question,
        "options": [o.strip() for o in options],
        "multiple": bool(poll.get("multiple", False)),
        "anonymous": bool(poll.get("anonymous", True)),
    }
    if correct is not None:
        out["correct_option"] = correct
    if explanation.strip():
        out["explanation"] = explanation.strip()
    if minutes is not None:
        out["minutes"] = minutes
    return out


def _check_poll_fits(variant: PostVariant, index: int) -> None:
    """A poll's own rules on its channel's network, on every save (a 422 naming the field)."""
    poll = poll_from(variant.poll)
    if poll is None:
        return
    from rupor.planning.content import channel_limits

    if variant.channel.network not in registry.available():
        return  # a network Rupor has no adapter for: the content check says so
    problems = polls.poll_problems(variant.channel.network, poll, channel_limits(variant.channel))
    if problems:
        errors = [Problem(f"variants[{index}].{p.field}", p.message) for p in problems]
        raise PlanningError(problems[0].message, errors[0].field, 422, errors)


def _resolve_time(workspace: accounts.WorkspaceInfo, data: PostInput) -> dt.datetime | None:
    if data.publish_now:
        return clock.now()
    if data.scheduled_at is None:
        return None
    try:
        return to_utc(data.scheduled_at, workspace.timezone)
    except LocalTimeError as exc:
        raise PlanningError(str(exc), "scheduled_at") from exc


def _require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise PlanningError(_("Your role does not allow this."), status=403)


def _write_variants(workspace_id: int, post: Post, variants: Sequence[VariantInput]) -> None:
    seen: set[int] = set()
    live = {c.id for c in channels.workspace_channels(workspace_id)}
    for index, v in enumerate(variants):
        if v.channel_id not in live:
            raise PlanningError(
                _("Channel %(id)s does not exist in this workspace.") % {"id": v.channel_id},
                f"variants[{index}].channel_id",
            )
        if v.channel_id in seen:
            raise PlanningError(
                _("A post has one variant per channel; this channel is listed twice."),
                f"variants[{index}].channel_id",
            )
        seen.add(v.channel_id)
    media_ids = {m for v in variants for m in v.media_ids}
    media = {m.pk: m for m in Media.objects.filter(workspace_id=workspace_id, pk__in=media_ids)}
    for index, v in enumerate(variants):
        missing = [m for m in v.media_ids if m not in media]
        if missing:
            raise PlanningError(
                _("Media %(id)s does not exist in this workspace.") % {"id": missing[0]},
                f"variants[{index}].media_ids",
            )
    keep = {v.channel_id for v in variants}
    removed = list(post.variants.exclude(channel_id__in=keep).values_list("pk", flat=True))
    if removed:
        if publishing.has_started(removed):
            raise PlanningError(
                _("A channel this post was already published to cannot be removed from it."), "variants", 409
            )
        PostVariant.objects.filter(pk__in=removed).delete()
    for index, v in enumerate(variants):
        variant, _created = PostVariant.objects.get_or_create(post=post, channel_id=v.channel_id)
        variant.text = post.text if v.text is None else v.text
        link = (v.link or "").strip()
        problem = url_problem(link) if link else None
        if problem:
            raise PlanningError(problem, f"variants[{index}].link")
        variant.link = link
        variant.poll = _check_poll(v.poll, index)
        _check_poll_fits(variant, index)
        variant.first_comment = v.first_comment or ""
        variant.options = dict(v.options or {})
        _check_thread(variant, index)
        variant.save()
        VariantMedia.objects.filter(variant=variant).delete()
        VariantMedia.objects.bulk_create(
            [VariantMedia(variant=variant, media_id=m, position=i) for i, m in enumerate(v.media_ids)]
        )


def _validate_for_schedule(post: Post) -> None:
    variants = list(post.variants.select_related("channel").prefetch_related("variantmedia_set__media"))
    if not variants:
        raise PlanningError(_("Choose at least one channel before scheduling."), "variants")
    errors: list[Problem] = []
    for index, variant in enumerate(variants):
        for problem in variant_problems(variant):
            errors.append(
                Problem(f"variants[{index}].{problem.field}", f"{variant.channel.name}: {problem.message}")
            )
    if errors:
        raise PlanningError(_("Some variants do not fit their networks."), errors[0].field, 422, errors)


def _sync(post: Post, actor: Actor) -> None:
    plans = [publishing.VariantPlan(v.pk, v.channel_id) for v in post.variants.all()]
    publishing.sync_targets(
        post.workspace_id,
        plans,
        scheduled=post.status == Post.Status.SCHEDULED,
        due_at=post.scheduled_at,
        publish_late=post.publish_late,
        actor=actor.label,
    )


def create_post(actor: Actor, data: PostInput) -> Post:
    _require(actor, Perm.POSTS_EDIT)
    workspace = accounts.workspace_info(actor.workspace_id)
    with transaction.atomic():
        post = Post(workspace_id=workspace.id, author_id=actor.user_id)
        _apply(actor, workspace, post, data, creating=True)
    return get_post(workspace.id, post.pk)


def update_post(actor: Actor, post_id: int, data: PostInput, fields: set[str]) -> Post:
    """Apply the ``fields`` of ``data`` that the caller actually sent."""
    _require(actor, Perm.POSTS_EDIT)
    workspace = accounts.workspace_info(actor.workspace_id)
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(workspace_id=workspace.id, pk=post_id).first()
        if post is None:
            raise PlanningError(_("No such post."), status=404)
        if post.status == Post.Status.SCHEDULED and not actor.can(Perm.POSTS_PUBLISH):
            raise PlanningError(_("This post is scheduled; only a manager can change it now."), status=403)
        variant_ids = list(post.variants.values_list("pk", flat=True))
        out = publishing.published_variants(variant_ids)
        if publishing.has_started(variant_ids):
            fields = _keep_time_of_started(workspace, post, data, fields)
        before = _sent_content(out)
        merged = PostInput(
            title=data.title if "title" in fields else post.title,
            text=data.text if "text" in fields else post.text,
            rubric_id=data.rubric_id if "rubric_id" in fields else post.rubric_id,
            status=data.status if "status" in fields else post.status,
            scheduled_at=data.scheduled_at if "scheduled_at" in fields else post.scheduled_at,
            publish_now=data.publish_now,
            publish_late=data.publish_late if "publish_late" in fields else post.publish_late,
            notes=data.notes if "notes" in fields else post.notes,
            variants=data.variants if "variants" in fields else None,
        )
        _apply(
            actor,
            workspace,
            post,
            merged,
            creating=False,
            time_changed="scheduled_at" in fields or data.publish_now,
            content_changed=bool(fields & {"title", "text", "variants"}),
        )
        if out:
            _edit_published(actor, post, before)
    return get_post(workspace.id, post.pk)


def _keep_time_of_started(
    workspace: accounts.WorkspaceInfo, post: Post, data: PostInput, fields: set[str]
) -> set[str]:
    """A post that is being or has been published stays at the time it went out: the same time
    sent back (as a form does) is no change; another time, or "publish now", is refused."""
    if not data.publish_now and "scheduled_at" not in fields:
        return fields
    same = False
    if not data.publish_now and data.scheduled_at is not None and post.scheduled_at is not None:
        try:
            same = abs(to_utc(data.scheduled_at, workspace.timezone) - post.scheduled_at) < dt.timedelta(
                minutes=1
            )
        except LocalTimeError:
            same = False
    if not same:
        raise PlanningError(
            _("This post is being or has been published; it stays at the time it went out."),
            "scheduled_at",
            409,
        )
    return fields - {"scheduled_at"}


def _sent_content(out: dict[int, str]) -> dict[int, Content]:
    return {
        v.pk: variant_content(v)
        for v in PostVariant.objects.filter(pk__in=list(out))
        .select_related("channel")
        .prefetch_related("variantmedia_set__media")
    }


def _edit_published(actor: Actor, post: Post, before: dict[int, Content]) -> None:
    """Send what changed in the published variants out as edits (docs/decisions/0007-published-posts.md).

    A network that cannot edit a published post refuses the whole save: the person is told
    that the copy on that network cannot change, rather than the plan quietly differing from it.
    """
    changed = [
        v
        for v in PostVariant.objects.filter(pk__in=list(before))
        .select_related("channel")
        .prefetch_related("variantmedia_set__media")
        if variant_content(v) != before[v.pk]
    ]
    if not changed:
        return
    for variant in changed:
        network = variant.channel.network
        if (
            network not in registry.available()
            or Capability.EDIT not in registry.adapter(network).capabilities
        ):
            raise PlanningError(
                _(
                    "%(network)s does not let a published post be edited, so the post on %(channel)s cannot change. "
                    "Nothing was saved; to say something new there, write a new post."
                )
                % {"network": registry.DISPLAY_NAMES.get(network, network), "channel": variant.channel.name},
                "text",
                409,
            )
        problems = variant_problems(variant)
        if problems:
            raise PlanningError(f"{variant.channel.name}: {problems[0].message}", "text", 422)
    if post.status != Post.Status.SCHEDULED:
        raise PlanningError(
            _(
                "This post has been published. In this workspace a change needs approval before it goes out, "
                "and a published post cannot wait for it: nothing was saved."
            ),
            "text",
            403,
        )
    publishing.request_edits([v.pk for v in changed], actor=actor.label)


def _apply(
    actor: Actor,
    workspace: accounts.WorkspaceInfo,
    post: Post,
    data: PostInput,
    *,
    creating: bool,
    time_changed: bool = True,
    content_changed: bool = True,
) -> None:
    from rupor.planning import approvals  # approvals builds on this module

    status = data.status
    if status not in Post.Status.values:
        raise PlanningError(_("%(status)s is not a post status.") % {"status": repr(status)}, "status")
    if status == Post.Status.SCHEDULED and not actor.can(Perm.POSTS_PUBLISH):
        raise PlanningError(
            _("Your role can write drafts but not schedule them; ask a manager."), "status", 403
        )
    if status not in (Post.Status.DRAFT, Post.Status.SCHEDULED, Post.Status.CANCELLED) and creating:
        raise PlanningError(_("A new post is a draft or scheduled."), "status")
    approvals.check_status_change(actor, post, status, creating=creating)
    if len(data.title) > 200:
        raise PlanningError(_("The internal title has at most 200 characters."), "title")
    when = _resolve_time(workspace, data)
    if (
        when is not None
        and time_changed
        and status == Post.Status.SCHEDULED
        and when < clock.now() - PAST_GRACE
    ):
        raise PlanningError(
            _("This time is in the past; choose a later time or publish now."), "scheduled_at"
        )
    if status == Post.Status.SCHEDULED and when is None:
        raise PlanningError(_("A scheduled post needs a time (or publish now)."), "scheduled_at")
    if (
        data.rubric_id is not None
        and not Rubric.objects.filter(workspace_id=workspace.id, pk=data.rubric_id).exists()
    ):
        raise PlanningError(
            _("Rubric %(id)s does not exist in this workspace.") % {"id": data.rubric_id}, "rubric_id"
        )
    # Approval (docs/decisions/0005-approvals.md): changed content withdraws an approval, and a
    # request to schedule becomes what the workspace's approval mode allows.
    review = None
    seen_by_client = approvals.fingerprint_before_edit(post, creating=creating)
    if workspace.approval != accounts.Approval.NONE and content_changed and post.approved_at is not None:
        post.approved_at = None
        if status == Post.Status.APPROVED:
            status = Post.Status.DRAFT
    if status == Post.Status.SCHEDULED:
        status, review = approvals.gate_schedule(
            actor, workspace.approval, post, content_changed=content_changed
        )
    post.title = data.title.strip()
    post.text = data.text
    post.rubric_id = data.rubric_id
    post.scheduled_at = when
    post.publish_late = data.publish_late
    post.notes = data.notes
    post.status = status
    post.updated_at = clock.now()
    post.save()
    if data.variants is not None:
        _write_variants(workspace.id, post, data.variants)
    edited = approvals.after_content_edit(actor, post, seen_by_client)
    if edited is not None:
        status, review = post.status, edited
    if status == Post.Status.SCHEDULED or review is not None:
        _validate_for_schedule(post)
    approvals.after_save(actor, post, review)
    if status == Post.Status.CANCELLED:
        publishing.cancel_targets(list(post.variants.values_list("pk", flat=True)), actor=actor.label)
    else:
        _sync(post, actor)
    record(
        workspace.id,
        actor,
        "post.create" if creating else "post.update",
        "post",
        post.pk,
        f"{status}: {post}",
    )


def delete_post(actor: Actor, post_id: int) -> None:
    _require(actor, Perm.POSTS_EDIT)
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(workspace_id=actor.workspace_id, pk=post_id).first()
        if post is None:
            raise PlanningError(_("No such post."), status=404)
        if post.status == Post.Status.SCHEDULED and not actor.can(Perm.POSTS_PUBLISH):
            raise PlanningError(_("This post is scheduled; only a manager can delete it."), status=403)
        variant_ids = list(post.variants.values_list("pk", flat=True))
        if publishing.has_started(variant_ids):
            raise PlanningError(
                _(
                    "This post is being or has been published; it stays in the plan as a record. "
                    "Cancel what has not gone out instead."
                ),
                status=409,
            )
        label = str(post)
        post.delete()
        record(actor.workspace_id, actor, "post.delete", "post", post_id, label)


def link_ref(variant: PostVariant) -> links.VariantRef:
    """What a variant's links are tagged with: its network, post, rubric, title and own switch."""
    post = variant.post
    return links.VariantRef(
        workspace_id=post.workspace_id,
        post_id=post.pk,
        variant_id=variant.pk,
        channel_id=variant.channel_id,
        network=variant.channel.network,
        rubric=post.rubric.name if post.rubric_id and post.rubric else "",
        title=post.title,
        enabled=(variant.options or {}).get(links.VARIANT_SWITCH, True) is not False,
        html=(variant.options or {}).get("format") == "html",
    )


def published_content(variant: PostVariant, conv: links.Conventions | None = None) -> Content:
    """The content that goes out: :func:`variant_content` with the links tagged and shortened by
    the workspace's conventions (links.track, which falls back to the long address)."""
    content = variant_content(variant)
    tracked = links.track(
        link_ref(variant),
        text=content.text,
        link=content.link,
        first_comment=content.first_comment,
        conv=conv,
    )
    if not tracked.changes:
        return content
    return dataclasses.replace(
        content, text=tracked.text, link=tracked.link, first_comment=tracked.first_comment
    )


def content_for_variant(variant_id: int) -> tuple[str, Content]:
    """(network, content) of a variant, for the publishing engine (links as published)."""
    variant = (
        PostVariant.objects.select_related("channel", "post__rubric")
        .prefetch_related("variantmedia_set__media")
        .get(pk=variant_id)
    )
    return variant.channel.network, published_content(variant)


def text_only_contents(variant_ids: list[int]) -> dict[int, tuple[str, Content]]:
    """(network, content) of each variant without media, read together (for a claimed batch).

    Variants with media are left out: each is read when its attempt starts
    (:func:`content_for_variant`).
    """
    if not variant_ids:
        return {}
    variants = (
        PostVariant.objects.filter(pk__in=variant_ids)
        .select_related("channel", "post__rubric")
        .prefetch_related("variantmedia_set")
    )
    conv: dict[int, links.Conventions] = {}
    out: dict[int, tuple[str, Content]] = {}
    for v in variants:
        if v.variantmedia_set.all():
            continue
        workspace_id = v.post.workspace_id
        if workspace_id not in conv:
            conv[workspace_id] = links.conventions(workspace_id)
        out[v.pk] = (v.channel.network, published_content(v, conv[workspace_id]))
    return out


def reschedule_post(actor: Actor, post_id: int, when: dt.datetime) -> Post:
    """Move a post (or an idea) to another time, as the calendar's drag and drop does.

    ``when`` is wall-clock time in the workspace zone (naive) or an aware instant. A post that is
    being or has been published stays where it went out; a time in the past is refused whatever
    the post's status; an approved post that gets a future time is scheduled by those who may.
    Everything else (DST gaps, roles, approvals) is :func:`update_post`'s.
    """
    _require(actor, Perm.POSTS_EDIT)
    post = Post.objects.filter(workspace_id=actor.workspace_id, pk=post_id).first()
    if post is None:
        raise PlanningError(_("No such post."), status=404)
    if publishing.has_started(list(post.variants.values_list("pk", flat=True))):
        raise PlanningError(
            _("This post is being or has been published; it stays at the time it went out."),
            "scheduled_at",
            409,
        )
    workspace = accounts.workspace_info(actor.workspace_id)
    try:
        instant = to_utc(when, workspace.timezone)
    except LocalTimeError as exc:
        raise PlanningError(str(exc), "scheduled_at") from exc
    if instant < clock.now() - PAST_GRACE:
        raise PlanningError(_("This time is in the past; choose a later time."), "scheduled_at")
    fields = {"scheduled_at"}
    data = PostInput(scheduled_at=when)
    if post.status == Post.Status.APPROVED and actor.can(Perm.POSTS_PUBLISH):
        fields.add("status")
        data = PostInput(scheduled_at=when, status=Post.Status.SCHEDULED)
    return update_post(actor, post_id, data, fields)


# -- facts analytics compares posts by -------------------------------------------------------


@dataclass(frozen=True)
class VariantFacts:
    """What a published variant was, as analytics slices results by it (one per variant)."""

    variant_id: int
    post_id: int
    rubric_id: int | None
    #: "poll", "video", "photo", "link" or "text" (the first that applies, in that order).
    content_format: str
    #: Length of the text in characters (Unicode code points).
    text_length: int
    text_excerpt: str


def content_format(*, poll: bool, media_kinds: Sequence[str], link: bool) -> str:
    """The one format a post is counted under: a poll, else video, else photo, else link, else text."""
    if poll:
        return "poll"
    if "video" in media_kinds:
        return "video"
    if "photo" in media_kinds:
        return "photo"
    if link:
        return "link"
    return "text"


def variant_facts(variant_ids: Sequence[int]) -> dict[int, VariantFacts]:
    """Format, rubric and text length of each variant (for analytics' per-post rows)."""
    if not variant_ids:
        return {}
    variants = (
        PostVariant.objects.filter(pk__in=list(variant_ids))
        .select_related("post")
        .prefetch_related("variantmedia_set__media")
    )
    out = {}
    for v in variants:
        text = v.text or ""
        out[v.pk] = VariantFacts(
            variant_id=v.pk,
            post_id=v.post_id,
            rubric_id=v.post.rubric_id,
            content_format=content_format(
                poll=bool(v.poll),
                media_kinds=[vm.media.kind for vm in v.variantmedia_set.all()],
                link=bool(v.link),
            ),
            text_length=len(text),
            text_excerpt=" ".join(text.split())[:280],
        )
    return out


# -- queue slots (the door other domains use; planning.slots holds the queue's own logic) ------

#: English weekday names for the audit trail.
_WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class QueueSlotsAdded:
    """What :func:`add_queue_slots` did: (weekday, local time) pairs added and already there."""

    channel_id: int
    added: list[tuple[int, dt.time]]
    existing: list[tuple[int, dt.time]]


def create_queue_slot(actor: Actor, channel_id: int, weekday: int, time: dt.time) -> QueueSlot | None:
    """Write one weekly slot (the one place a slot is created) and audit it; ``None`` when the
    channel already has a slot at that weekday and time. The caller has checked the role and
    that the channel is the actor's."""
    try:
        with transaction.atomic():
            slot = QueueSlot.objects.create(channel_id=channel_id, weekday=weekday, time=time)
    except IntegrityError:
        return None
    record(
        actor.workspace_id,
        actor,
        "queue.slot.add",
        "channel",
        channel_id,
        f"{_WEEKDAY_KEYS[weekday]} {time:%H:%M}",
    )
    return slot


def add_queue_slots(actor: Actor, channel_id: int, wanted: Sequence[tuple[int, dt.time]]) -> QueueSlotsAdded:
    """Add weekly queue slots (weekday 0 = Monday, wall-clock time in the workspace zone) to a
    channel, keeping those it already has. Needs the role that edits the queue."""
    if not actor.can(Perm.POSTS_PUBLISH):
        raise PlanningError(_("Your role does not allow changing the queue."), status=403)
    channel = channels.find_channel(channel_id)
    if channel is None or channel.workspace_id != actor.workspace_id:
        raise PlanningError(
            _("Channel %(id)s does not exist in this workspace.") % {"id": channel_id}, "channel_id", 404
        )
    added: list[tuple[int, dt.time]] = []
    existing: list[tuple[int, dt.time]] = []
    for weekday, time in wanted:
        if not 0 <= weekday <= 6:
            raise PlanningError(_("A weekday is 0 (Monday) to 6 (Sunday), or its English name."), "weekday")
        local = time.replace(second=0, microsecond=0, tzinfo=None)
        made = create_queue_slot(actor, channel.id, weekday, local)
        (added if made is not None else existing).append((weekday, local))
    return QueueSlotsAdded(channel.id, added, existing)


@dataclass(frozen=True)
class RubricFacts:
    """A rubric as other domains compare by it (analytics' "what works" and its 80/20 mix)."""

    id: int
    name: str
    color: str
    target_share: int
    is_selling: bool


def rubric_facts(workspace_id: int) -> list[RubricFacts]:
    """The workspace's rubrics in their planned order, with target share and selling flag."""
    return [
        RubricFacts(*row)
        for row in Rubric.objects.filter(workspace_id=workspace_id)
        .order_by("position", "name")
        .values_list("pk", "name", "color", "target_share", "is_selling")
    ]


def variant_polls(variant_ids: Sequence[int]) -> dict[int, Poll]:
    """The polls of these variants (those that have one), for counting their votes."""
    out: dict[int, Poll] = {}
    for pk, stored in PostVariant.objects.filter(pk__in=variant_ids, poll__isnull=False).values_list(
        "pk", "poll"
    ):
        poll = poll_from(stored)
        if poll is not None and poll.options:
            out[pk] = poll
    return out
