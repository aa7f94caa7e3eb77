"""Rubrics, the content-mix meter, gap warnings and the ideas backlog.

Formulas (the UI shows these names):

* **Share of a rubric** in a channel and period = posts of that rubric / all planned posts of the
  channel in the period * 100. Planned posts are those with a time in the period that are not
  cancelled or rejected; a post counts once per channel it goes to.
* **Selling share** = the sum of the shares of rubrics marked *selling*. It warns when it is above
  the sum of their target shares, or above 20 % when no selling rubric has a target (the 80/20 rule).
* **Gap**: a stretch longer than the channel's cadence (``cadence_hours``, 48 h by default) without a
  planned post, measured inside the period, starting from the last post before it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.channels import service as channels
from rupor.planning.models import Post, PostVariant, Rubric
from rupor.planning.service import PlanningError

DEFAULT_CADENCE_HOURS = 48
DEFAULT_SELLING_SHARE = 20
NOT_PLANNED = (Post.Status.CANCELLED, Post.Status.REJECTED)


# -- rubrics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RubricInput:
    name: str
    color: str = "#6b7280"
    target_share: int = 0
    is_selling: bool = False
    position: int | None = None


def list_rubrics(workspace_id: int) -> QuerySet[Rubric]:
    return Rubric.objects.filter(workspace_id=workspace_id).order_by("position", "name")


def _require(actor: Actor) -> None:
    if not actor.can(Perm.POSTS_PUBLISH):
        raise PlanningError(_("Only managers, admins and owners can change rubrics."), status=403)


def _check(workspace_id: int, data: RubricInput, exclude_id: int | None = None) -> None:
    name = data.name.strip()
    if not name:
        raise PlanningError(_("A rubric needs a name."), "name")
    if len(name) > 80:
        raise PlanningError(_("A rubric name has at most 80 characters."), "name")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", data.color or ""):
        raise PlanningError(_("A colour is written like #2563eb."), "color")
    if not 0 <= data.target_share <= 100:
        raise PlanningError(_("A target share is between 0 and 100 %."), "target_share")
    others = Rubric.objects.filter(workspace_id=workspace_id)
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    if others.filter(name__iexact=name).exists():
        raise PlanningError(
            _("There is already a rubric called %(name)s.") % {"name": repr(name)}, "name", 409
        )
    total = (others.aggregate(total=Sum("target_share"))["total"] or 0) + data.target_share
    if total > 100:
        raise PlanningError(
            _(
                "Target shares would add up to %(total)s %%; they may add up to at most 100 %%. Lower another rubric first."
            )
            % {"total": total},
            "target_share",
        )


def create_rubric(actor: Actor, data: RubricInput) -> Rubric:
    _require(actor)
    _check(actor.workspace_id, data)
    position = data.position
    if position is None:
        position = Rubric.objects.filter(workspace_id=actor.workspace_id).count()
    try:
        with transaction.atomic():
            rubric = Rubric.objects.create(
                workspace_id=actor.workspace_id,
                name=data.name.strip(),
                color=data.color.lower(),
                target_share=data.target_share,
                is_selling=data.is_selling,
                position=position,
            )
    except IntegrityError as exc:
        raise PlanningError(
            _("There is already a rubric called %(name)s.") % {"name": repr(data.name.strip())},
            "name",
            409,
        ) from exc
    record(
        actor.workspace_id,
        actor,
        "rubric.create",
        "rubric",
        rubric.pk,
        f"{rubric.name} ({rubric.target_share} %)",
    )
    return rubric


def update_rubric(actor: Actor, rubric_id: int, data: RubricInput) -> Rubric:
    _require(actor)
    rubric = Rubric.objects.filter(workspace_id=actor.workspace_id, pk=rubric_id).first()
    if rubric is None:
        raise PlanningError(_("No such rubric."), status=404)
    _check(actor.workspace_id, data, exclude_id=rubric.pk)
    rubric.name = data.name.strip()
    rubric.color = data.color.lower()
    rubric.target_share = data.target_share
    rubric.is_selling = data.is_selling
    if data.position is not None:
        rubric.position = data.position
    rubric.save()
    record(
        actor.workspace_id,
        actor,
        "rubric.update",
        "rubric",
        rubric.pk,
        f"{rubric.name} ({rubric.target_share} %)",
    )
    return rubric


def delete_rubric(actor: Actor, rubric_id: int) -> None:
    """Delete a rubric; its posts keep existing without a rubric."""
    _require(actor)
    rubric = Rubric.objects.filter(workspace_id=actor.workspace_id, pk=rubric_id).first()
    if rubric is None:
        raise PlanningError(_("No such rubric."), status=404)
    name = rubric.name
    rubric.delete()
    record(actor.workspace_id, actor, "rubric.delete", "rubric", rubric_id, name)


# -- the mix meter ------------------------------------------------------------------------


@dataclass(frozen=True)
class RubricShare:
    rubric_id: int | None  # None: posts without a rubric
    name: str
    posts: int
    share: float  # % of the channel's planned posts in the period
    target_share: int
    is_selling: bool
    over_target: bool


@dataclass(frozen=True)
class ChannelMix:
    channel_id: int
    channel_name: str
    network: str
    total: int
    rubrics: tuple[RubricShare, ...]
    selling_share: float
    selling_target: int
    warnings: tuple[str, ...]


def _channels(workspace_id: int, channel_id: int | None) -> list[channels.ChannelRef]:
    found = channels.workspace_channels(workspace_id)
    if channel_id is not None:
        found = [c for c in found if c.id == channel_id]
        if not found:
            raise PlanningError(
                _("Channel %(id)s does not exist in this workspace.") % {"id": channel_id}, "channel_id", 404
            )
    return found


def _check_period(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise PlanningError(_("The period ends before it starts."), "end")
    if end - start > dt.timedelta(days=400):
        raise PlanningError(_("A period is at most 400 days long."), "end")


def mix(
    workspace_id: int, start: dt.datetime, end: dt.datetime, channel_id: int | None = None
) -> list[ChannelMix]:
    """Share of each rubric per channel in ``[start, end)`` against its target."""
    _check_period(start, end)
    rubrics = list(list_rubrics(workspace_id))
    selling = [r for r in rubrics if r.is_selling]
    selling_target = (
        sum(r.target_share for r in selling)
        if any(r.target_share for r in selling)
        else DEFAULT_SELLING_SHARE
    )
    out = []
    for channel in _channels(workspace_id, channel_id):
        counts: dict[int | None, int] = {}
        rows = (
            PostVariant.objects.filter(
                channel_id=channel.id,
                post__scheduled_at__gte=start,
                post__scheduled_at__lt=end,
            )
            .exclude(post__status__in=NOT_PLANNED)
            .values_list("post__rubric_id", flat=True)
        )
        for rubric_id in rows:
            counts[rubric_id] = counts.get(rubric_id, 0) + 1
        total = sum(counts.values())

        def share(n: int, total: int = total) -> float:
            return round(100.0 * n / total, 1) if total else 0.0

        shares = []
        warnings = []
        for r in rubrics:
            n = counts.get(r.pk, 0)
            over = r.is_selling and total > 0 and share(n) > r.target_share and r.target_share > 0
            shares.append(RubricShare(r.pk, r.name, n, share(n), r.target_share, r.is_selling, over))
        if counts.get(None):
            shares.append(RubricShare(None, "", counts[None], share(counts[None]), 0, False, False))
        selling_share = round(sum(s.share for s in shares if s.is_selling), 1)
        if total and selling_share > selling_target:
            warnings.append(
                _(
                    "Selling posts are %(share)s %% of %(channel)s's plan, above the %(target)s %% target: "
                    "add useful, entertaining or engagement posts."
                )
                % {"share": f"{selling_share:g}", "channel": channel.name, "target": selling_target}
            )
        for s in shares:
            if s.over_target:
                warnings.append(
                    _("%(rubric)s is %(share)s %% of the plan, above its %(target)s %% target.")
                    % {"rubric": s.name, "share": f"{s.share:g}", "target": s.target_share}
                )
        out.append(
            ChannelMix(
                channel.id,
                channel.name,
                channel.network,
                total,
                tuple(shares),
                selling_share,
                selling_target,
                tuple(warnings),
            )
        )
    return out


# -- gaps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    channel_id: int
    channel_name: str
    start: dt.datetime  # the last post before the gap (or the period start)
    end: dt.datetime  # the next post (or the period end)
    hours: float
    cadence_hours: int
    message: str


def _planned_times(channel: channels.ChannelRef) -> QuerySet[PostVariant]:
    return PostVariant.objects.filter(channel_id=channel.id, post__scheduled_at__isnull=False).exclude(
        post__status__in=NOT_PLANNED
    )


def gaps(workspace_id: int, start: dt.datetime, end: dt.datetime, channel_id: int | None = None) -> list[Gap]:
    """Stretches inside ``[start, end]`` longer than each channel's cadence without a planned post."""
    _check_period(start, end)
    out = []
    for channel in _channels(workspace_id, channel_id):
        cadence = channel.cadence_hours or DEFAULT_CADENCE_HOURS
        limit = dt.timedelta(hours=cadence)
        before = _planned_times(channel).filter(post__scheduled_at__lt=start).order_by("-post__scheduled_at")
        last = before.values_list("post__scheduled_at", flat=True).first()
        times: list[dt.datetime] = sorted(
            {
                t
                for t in _planned_times(channel)
                .filter(post__scheduled_at__gte=start, post__scheduled_at__lt=end)
                .values_list("post__scheduled_at", flat=True)
                if t is not None
            }
        )
        previous = last if last is not None and start - last < limit else start
        for moment in [*times, end]:
            if moment - previous > limit:
                hours = round((moment - previous).total_seconds() / 3600, 1)
                # A fraction of an hour takes the plural form of 2 in English, Russian and Korean.
                count = int(hours) if hours.is_integer() else 2
                out.append(
                    Gap(
                        channel.id,
                        channel.name,
                        previous,
                        moment,
                        hours,
                        cadence,
                        ngettext(
                            "%(channel)s has no post for %(hours)s hour (its cadence is %(cadence)s h).",
                            "%(channel)s has no post for %(hours)s hours (its cadence is %(cadence)s h).",
                            count,
                        )
                        % {"channel": channel.name, "hours": f"{hours:g}", "cadence": cadence},
                    )
                )
            previous = max(previous, moment)
    return out


# -- ideas backlog ------------------------------------------------------------------------


def ideas(workspace_id: int) -> QuerySet[Post]:
    """Drafts without a date: the backlog the plan is filled from."""
    return (
        Post.objects.filter(workspace_id=workspace_id, status=Post.Status.DRAFT, scheduled_at__isnull=True)
        .select_related("rubric", "author")
        .prefetch_related("variants__channel")
        .order_by("-updated_at", "-id")
    )
