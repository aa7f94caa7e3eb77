"""Queue slots: recurring weekly posting times per channel, and "add to queue".

A slot is a weekday and a wall-clock time in the workspace's time zone, so a 10:00 slot stays
10:00 local across daylight-saving changes. A wall-clock time that does not exist on a given day
(inside a spring-forward gap) is moved forward by the gap, as calendars do; an ambiguous one
(autumn overlap) is its first occurrence.

"Add to queue" takes the earliest slot of any of the post's channels, after now, at which none of
those channels has a post planned yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.timezones import zone
from rupor.planning.models import Post, PostVariant, QueueSlot
from rupor.planning.service import PlanningError, PostInput, create_queue_slot, get_post, update_post

#: How far ahead "next free slot" looks.
HORIZON_DAYS = 7 * 12
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Weekday names as they stand inside a sentence ("… already has a slot on Monday at 10:00.").
WEEKDAY_NAMES = (
    pgettext_lazy("weekday in a sentence", "Monday"),
    pgettext_lazy("weekday in a sentence", "Tuesday"),
    pgettext_lazy("weekday in a sentence", "Wednesday"),
    pgettext_lazy("weekday in a sentence", "Thursday"),
    pgettext_lazy("weekday in a sentence", "Friday"),
    pgettext_lazy("weekday in a sentence", "Saturday"),
    pgettext_lazy("weekday in a sentence", "Sunday"),
)
#: Posts in these states do not occupy a slot.
NOT_OCCUPYING = (Post.Status.CANCELLED, Post.Status.REJECTED)


@dataclass(frozen=True)
class SlotView:
    id: int
    channel_id: int
    weekday: int  # Monday = 0
    time: dt.time


def _channel(workspace_id: int, channel_id: int, field: str = "channel_id") -> channels.ChannelRef:
    channel = channels.find_channel(channel_id)
    if channel is None or channel.workspace_id != workspace_id:
        raise PlanningError(
            _("Channel %(id)s does not exist in this workspace.") % {"id": channel_id}, field, 404
        )
    return channel


def list_slots(workspace_id: int, channel_id: int | None = None) -> list[SlotView]:
    qs = QueueSlot.objects.filter(channel__workspace_id=workspace_id).exclude(
        channel__status=channels.Status.ARCHIVED
    )
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    return [
        SlotView(s.pk, s.channel_id, s.weekday, s.time) for s in qs.order_by("channel_id", "weekday", "time")
    ]


def parse_weekday(value: int | str) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        day = int(value)
        if 0 <= day <= 6:
            return day
    elif isinstance(value, str):
        name = value.strip().lower()
        for index, full in enumerate(WEEKDAYS):
            if len(name) >= 2 and full.startswith(name):
                return index
    raise PlanningError(_("A weekday is 0 (Monday) to 6 (Sunday), or its English name."), "weekday")


def add_slot(actor: Actor, channel_id: int, weekday: int | str, time: dt.time) -> SlotView:
    if not actor.can(Perm.POSTS_PUBLISH):
        raise PlanningError(_("Your role does not allow changing the queue."), status=403)
    channel = _channel(actor.workspace_id, channel_id)
    day = parse_weekday(weekday)
    time = time.replace(second=0, microsecond=0, tzinfo=None)
    slot = create_queue_slot(actor, channel.id, day, time)
    if slot is None:
        raise PlanningError(
            _("%(channel)s already has a slot on %(weekday)s at %(time)s.")
            % {"channel": channel.name, "weekday": WEEKDAY_NAMES[day], "time": f"{time:%H:%M}"},
            "time",
            409,
        )
    return SlotView(slot.pk, channel.id, day, time)


def delete_slot(actor: Actor, slot_id: int) -> None:
    if not actor.can(Perm.POSTS_PUBLISH):
        raise PlanningError(_("Your role does not allow changing the queue."), status=403)
    slot = QueueSlot.objects.filter(pk=slot_id, channel__workspace_id=actor.workspace_id).first()
    if slot is None:
        raise PlanningError(_("No such queue slot."), status=404)
    slot.delete()
    record(
        actor.workspace_id,
        actor,
        "queue.slot.delete",
        "channel",
        slot.channel_id,
        f"{WEEKDAYS[slot.weekday]} {slot.time:%H:%M}",
    )


def slot_instant(day: dt.date, time: dt.time, tz_name: str) -> dt.datetime:
    """The UTC instant of wall-clock ``time`` on ``day`` in ``tz_name`` (gap times move forward)."""
    tz = zone(tz_name)
    # fold=0: an ambiguous time is its first occurrence; a time inside a spring-forward gap is
    # read with the offset before the jump, which lands the same length past the gap (02:30 → 03:30).
    return dt.datetime.combine(day, time).replace(tzinfo=tz, fold=0).astimezone(dt.UTC)


def next_free_slot(
    workspace_id: int,
    channel_ids: list[int],
    *,
    after: dt.datetime | None = None,
    exclude_post_id: int | None = None,
) -> dt.datetime | None:
    """Earliest slot of any of ``channel_ids`` after ``after`` (default now) that none of them uses."""
    workspace = accounts.workspace_info(workspace_id)
    after = after or clock.now()
    slots = list(QueueSlot.objects.filter(channel_id__in=channel_ids).values_list("weekday", "time"))
    if not slots:
        return None
    by_day: dict[int, list[dt.time]] = {}
    for weekday, time in slots:
        by_day.setdefault(weekday, []).append(time)
    horizon_end = after + dt.timedelta(days=HORIZON_DAYS + 1)
    taken_qs = PostVariant.objects.filter(
        channel_id__in=channel_ids,
        post__scheduled_at__gte=after,
        post__scheduled_at__lt=horizon_end,
    ).exclude(post__status__in=NOT_OCCUPYING)
    if exclude_post_id is not None:
        taken_qs = taken_qs.exclude(post_id=exclude_post_id)
    taken = set(taken_qs.values_list("post__scheduled_at", flat=True))
    start_day = after.astimezone(zone(workspace.timezone)).date()
    for offset in range(HORIZON_DAYS + 1):
        day = start_day + dt.timedelta(days=offset)
        for time in sorted(set(by_day.get(day.weekday(), []))):
            instant = slot_instant(day, time, workspace.timezone)
            if instant > after and instant not in taken:
                return instant
    return None


def add_to_queue(actor: Actor, post_id: int) -> Post:
    """Give the post the next free slot of its channels (scheduling it when the actor may)."""
    if not actor.can(Perm.POSTS_EDIT):
        raise PlanningError(_("Your role does not allow this."), status=403)
    post = get_post(actor.workspace_id, post_id)
    channel_ids = [v.channel_id for v in post.variants.all()]
    if not channel_ids:
        raise PlanningError(_("Choose at least one channel before adding the post to the queue."), "variants")
    when = next_free_slot(actor.workspace_id, channel_ids, exclude_post_id=post.pk)
    if when is None:
        raise PlanningError(
            _(
                "None of this post's channels has a free queue slot in the next 12 weeks; add queue slots first."
            ),
            "channel_id",
            409,
        )
    status = Post.Status.SCHEDULED if actor.can(Perm.POSTS_PUBLISH) else post.status
    if status in (Post.Status.CANCELLED, Post.Status.APPROVED) and not actor.can(Perm.POSTS_PUBLISH):
        status = Post.Status.DRAFT
    data = PostInput(scheduled_at=when, status=status)
    return update_post(actor, post.pk, data, {"scheduled_at", "status"})
