"""The demo's past: weeks of posts and readings, made by Rupor's own publishing and collection.

``rupor serve --demo`` calls :func:`build` once per demo workspace (the first start; a workspace
that already holds readings is left alone), before it serves anything. Nothing is written into
the analytics tables directly:

1. the emulators' and Rupor's clocks are wound back to :func:`history_start` (a Monday, 00:00 in
   the workspace's zone, ``HISTORY_WEEKS`` whole weeks before this week) and frozen there, and
   each emulator's world is made anew at that moment (:func:`rewind`, before the demo channels
   are checked, so their state is the new world's);
2. the history's posts (:func:`history_plan`: one or two a day, at hours drawn from a fixed seed,
   text, photo and link posts, across the default rubrics) are scheduled through
   ``planning.create_post`` on every demo channel, as a manager would have done;
3. the clocks then move forward together an hour at a time: at each step the publishing worker
   publishes what fell due (``run_worker(once=True)``) and the worker's own periodic jobs of
   analytics and inbox polling run (the emulators' counters and members have moved with their
   clock: ``networks/engagement.py``), so every reading is one the collection path took;
4. at the present hour the clocks are let go (Rupor's to real time; the emulators' running
   from now on).

The same seed, the same start and the same "now" give the same history, number for number.
Rate limits count real seconds, so while emulated weeks pass in seconds the publishing limiter
and the emulators' own limits are switched off, and both are restored afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rupor.cli.demo import MEDIA_BY_URL
from rupor.core import clock, config
from rupor.core.errors import DomainError
from rupor.networks.emulation import RunningEmulator, load_state, save_state

log = logging.getLogger(__name__)

#: Whole weeks of history before the current one.
HISTORY_WEEKS = 6
#: The seed of the history's plan (which days, hours, texts and formats).
HISTORY_SEED = 12
#: Local hours a post may go out at: mornings, midday, afternoons, evenings and late evenings,
#: so "best time to post" has every part of the day to compare.
POST_HOURS = (8, 9, 11, 13, 15, 17, 19, 20, 21, 22)
#: The demo workspace's zone (``ensure_demo`` makes it so).
DEMO_TIMEZONE = "Europe/Moscow"
#: Each emulator's world begins this long before the history (its seeded members and posts).
WORLD_LEAD = dt.timedelta(days=1)

#: The history's posts: title, text, default rubric, format ("text", "photo" or "link").
HISTORY_POSTS: tuple[tuple[str, str, str, str], ...] = (
    ("Bean of the week", "This week's bean: a washed Ethiopian with notes of bergamot and apricot.", "Useful", "photo"),
    ("Pour-over basics", "Pour-over in four steps: rinse the filter, bloom for 30 seconds, pour in circles, wait. "
     "Water at 92-96 °C, 60 g of coffee per litre, a medium-fine grind. Taste, then change one thing at a time.",
     "Useful", "text"),
    ("Weekend offer", "This weekend only: a second cappuccino for half price.", "Selling", "photo"),
    ("Latte art fail", "Our barista tried a swan. The swan had other plans.", "Entertaining", "photo"),
    ("Meet the roaster", "Meet Dasha, who roasts every bean we sell, and hear why she never skips breakfast.",
     "Behind the scenes", "photo"),
    ("New opening hours", "From Monday we open at 7:30 on weekdays.", "News", "text"),
    ("Your morning cup", "Which cup starts your morning: espresso, flat white or filter? Tell us in the comments.",
     "Engagement", "text"),
    ("Grind size guide", "Read our guide: the grind size for every way of brewing, with photos.", "Useful", "link"),
    ("Beans to go", "Order beans online and pick them up on your way: ready in 15 minutes.", "Selling", "link"),
    ("Monday mood", "Monday. Coffee. In that order.", "Entertaining", "text"),
    ("Cupping session", "Saturday cupping: we taste six new coffees together. Free, 12 seats.", "News", "photo"),
    ("Milk matters", "Why the same espresso tastes different with oat, almond and cow's milk, explained by our head "
     "barista, with a tasting you can repeat at home.", "Useful", "text"),
    ("Behind the counter", "A day behind the counter: 412 cups, 3 kilos of beans, one broken grinder.",
     "Behind the scenes", "text"),
    ("Guess the origin", "Guess the origin from the tasting notes: chocolate, hazelnut, low acidity.", "Engagement",
     "photo"),
)  # fmt: skip

#: The images the photo posts use (made here, so the demo needs no files): name and colour.
PHOTOS = (("beans.png", (111, 78, 55)), ("cup.png", (200, 160, 120)), ("shop.png", (70, 110, 90)))
#: Where the link posts point (the demo's own made-up site; nothing is fetched).
LINK = "https://example.com/rupor-demo/coffee"


@dataclass(frozen=True)
class Planned:
    at: dt.datetime  # UTC
    title: str
    text: str
    rubric: str
    content_format: str


@dataclass(frozen=True)
class HistoryResult:
    posts: int
    targets_published: int
    steps: int
    seconds: float


def history_start(now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Monday 00:00 (in ``tz``) ``HISTORY_WEEKS`` weeks before the week of ``now``, in UTC."""
    local = now.astimezone(tz)
    monday = local.date() - dt.timedelta(days=local.weekday() + 7 * HISTORY_WEEKS)
    return dt.datetime.combine(monday, dt.time(0, 0), tzinfo=tz).astimezone(dt.UTC)


def history_plan(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> list[Planned]:
    """The history's posts between ``start`` and ``end``: one or two a day (none on some
    Sundays), each at an hour of :data:`POST_HOURS` drawn from the day's seed; the same days
    from ``start`` give the same posts."""
    out: list[Planned] = []
    day = start.astimezone(tz).date()
    index = 0
    while True:
        rng = random.Random(f"{HISTORY_SEED}:{index}")
        count = rng.choice((1, 1, 2, 2, 2)) if not (day.weekday() == 6 and rng.random() < 0.5) else 0
        for hour in sorted(rng.sample(POST_HOURS, count)):
            at = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=tz).astimezone(dt.UTC)
            if at >= end:
                return out
            title, text, rubric, content_format = HISTORY_POSTS[(index * 5 + len(out)) % len(HISTORY_POSTS)]
            out.append(Planned(at, title, text, rubric, content_format))
        day += dt.timedelta(days=1)
        index += 1
        if dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz) >= end:
            return out


def _png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1080, 1080), color)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, c + 70) for c in color)
    draw.ellipse((290, 290, 790, 790), fill=light)
    draw.rectangle((0, 900, 1080, 1080), fill=tuple(max(0, c - 40) for c in color))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def emulator_clocks(running: dict[str, RunningEmulator]) -> list[Any]:
    return [_state(e).clock for e in running.values()]


def _state(running: RunningEmulator) -> Any:
    """The emulator's state object (VK, OK and Telegram all keep it at ``app.state.emulator``)."""
    return running.app.state.emulator  # type: ignore[attr-defined]  # set by each emulator's create_app


def rewind(running: dict[str, RunningEmulator], start: dt.datetime) -> None:
    """Make each emulator's world anew at ``start - WORLD_LEAD`` with its clock frozen there."""
    for emulator in running.values():
        state = _state(emulator)
        state.clock.set((start - WORLD_LEAD).timestamp(), frozen=True)
        state.reset()


def needs_history(workspace: Any) -> bool:
    """Whether the demo workspace has no collected figures yet (the first ``serve --demo``)."""
    from rupor.analytics.models import PostMetricReading

    return not PostMetricReading.objects.filter(workspace=workspace).exists()


def pending(now: dt.datetime | None = None) -> dt.datetime | None:
    """Where the history would start, when the demo workspace (made now if missing) has none yet."""
    from rupor.cli.demo import _demo_workspace

    workspace = _demo_workspace()
    if workspace is not None and not needs_history(workspace):
        return None
    tz = ZoneInfo(workspace.timezone if workspace is not None else DEMO_TIMEZONE)
    return history_start(now or clock.now(), tz)


def _rate_limits(running: dict[str, RunningEmulator], on: bool, saved: dict[str, bool]) -> None:
    for network, emulator in running.items():
        state = _state(emulator)
        if not hasattr(state, "rate_limits"):
            continue
        if on:
            state.rate_limits = saved.get(network, state.rate_limits)
        else:
            saved[network] = state.rate_limits
            state.rate_limits = False


#: Networks that fetch pictures from Rupor's public address (Media.link) rather than taking them in
#: the call: the history is built with no web server to fetch from, so their variants of picture
#: posts go out as text.
FETCHES_MEDIA_BY_URL = ("facebook", "instagram")


def schedule_history(owner: Any, workspace: Any, plan: Sequence[Planned]) -> int:
    """Schedule the plan's posts on every live demo channel, as the workspace's owner."""
    from rupor.channels.models import Channel
    from rupor.cli.demo import video_post
    from rupor.planning import media
    from rupor.planning import service as planning
    from rupor.planning.models import Rubric

    # Networks that fetch pictures from Rupor's own address (Instagram) have no past here: no web
    # server serves RUPOR_BASE_URL while `rupor demo` builds it. Their posts begin with the demo.
    demo_channels = [
        c for c in Channel.live.filter(workspace=workspace).order_by("pk") if c.network not in MEDIA_BY_URL
    ]
    rubrics = {r.name: r.pk for r in Rubric.objects.filter(workspace=workspace)}
    photos = [media.save_media(owner, name, _png(color)).pk for name, color in PHOTOS]
    for i, item in enumerate(plan):
        link = LINK if item.content_format == "link" else ""
        picture = (photos[i % len(photos)],) if item.content_format == "photo" else ()
        variants = tuple(
            planning.VariantInput(
                channel_id=c.pk,
                link=link,
                **{
                    **_fitted(c.network, item.text, link),
                    **video_post(
                        owner, c.network, item.title, picture if c.network not in FETCHES_MEDIA_BY_URL else ()
                    ),
                },
            )
            for c in demo_channels
        )
        planning.create_post(
            owner,
            planning.PostInput(
                title=item.title,
                text=item.text,
                rubric_id=rubrics.get(item.rubric),
                status="scheduled",
                scheduled_at=item.at,
                variants=variants,
            ),
        )
    return len(plan)


def _fitted(network: str, text: str, link: str) -> dict[str, Any]:
    """The variant's own text where the shared one is too long for the network, as a person adapts
    it: a thread where the network has threads (X, Bluesky), else nothing of its own."""
    from rupor.networks import registry
    from rupor.networks import thread as threads

    adapter = registry.adapter(network)
    limit = adapter.limits.text_max

    def measure(part: str) -> int:  # the link goes out with the first post
        return adapter.text_length(f"{part}\n{link}" if link else part)

    if limit is None or measure(text) <= limit or not threads.supports_thread(adapter):
        return {}
    parts = threads.split_text(text, measure, limit)
    return {"text": parts[0], "options": {"thread": parts[1:]}} if len(parts) > 1 else {}


#: How often the history polls the inbox (Telegram's reactions and joins come as its updates):
#: less often than the running worker, which the figures do not need and the start-up time does.
INBOX_EVERY = dt.timedelta(hours=6)


def _poll_inbox(at: dt.datetime) -> object:
    from rupor.inbox import jobs as inbox_jobs

    return inbox_jobs.run_due(at, interval=INBOX_EVERY - dt.timedelta(minutes=1))


def history_jobs() -> list[Callable[[dt.datetime], object]]:
    """The worker's periodic jobs that take figures in: inbox polling (every
    :data:`INBOX_EVERY`) and every analytics job of :func:`rupor.cli.jobs.periodic_jobs`;
    triage, monitoring and alerts are left to the running demo."""
    from rupor.cli.jobs import periodic_jobs

    return [_poll_inbox, *(job for job in periodic_jobs() if job.__module__.startswith("rupor.analytics"))]


def _schedules() -> list[Any]:
    """What the collection path keeps a next reading time on: our posts, watched pages and
    their posts (``next_read_at`` on each)."""
    from rupor.analytics.models import PostStat, WatchedPage, WatchedPost

    return [m.objects.exclude(next_read_at=None) for m in (PostStat, WatchedPage, WatchedPost)]


def _next_step(at: dt.datetime, due: Sequence[dt.datetime]) -> dt.datetime:
    """The next moment anything can happen: a post falls due, a reading on the collection
    schedule (``next_read_at`` of our posts, watched pages and their posts), or the next whole
    ``INBOX_EVERY`` (the inbox poll and the channels' daily figures). While none of our posts
    has a schedule (nothing published yet), the next whole hour."""
    from rupor.analytics.models import PostStat

    hour = at + dt.timedelta(hours=1)
    if not PostStat.objects.exclude(next_read_at=None).exists():
        return hour
    every = int(INBOX_EVERY.total_seconds())
    options = [dt.datetime.fromtimestamp((int(at.timestamp()) // every + 1) * every, dt.UTC)]
    options += [t for t in due if t > at][:1]
    for scheduled in _schedules():
        later = scheduled.filter(next_read_at__gt=at).order_by("next_read_at")
        options += list(later.values_list("next_read_at", flat=True)[:1])
        if scheduled.filter(next_read_at__lte=at).exists():
            options.append(hour)  # read late (a failure, or the quota): try again in an hour
    return min(options)


def watch_pages(owner: Any) -> int:
    """Watch the emulated competitors' public pages (VK's Competitor Coffee and Bean Brothers,
    OK's rival group) through the demo's own channels, as a manager would on the page."""
    from rupor.analytics import competitors
    from rupor.cli.demo import _testing

    watched = 0
    for network, names in (("vk", ("COMPETITOR_HANDLE", "RIVAL_HANDLE")), ("ok", ("COMPETITOR_HANDLE",))):
        testing = _testing(network)
        for name in names:
            handle = getattr(testing, name, None)
            if handle is None:
                continue
            try:
                competitors.add_page(owner, str(handle), network=network)
                watched += 1
            except DomainError as exc:  # the page or the network said no: the demo goes on without it
                log.warning("the demo cannot watch %s on %s: %s", handle, network, exc.message)
    return watched


def build(
    running: dict[str, RunningEmulator],
    *,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> HistoryResult | None:
    """Make the demo workspace's past (see the module's text); ``None`` when it already has one."""
    from rupor.accounts import service as accounts
    from rupor.accounts.models import User
    from rupor.cli.demo import DEMO_EMAIL, _demo_workspace
    from rupor.publishing import ratelimit
    from rupor.publishing.models import PublicationTarget
    from rupor.publishing.worker import _Unlimited, run_worker

    workspace = _demo_workspace()
    if workspace is None or not needs_history(workspace):
        return None
    user = User.objects.get(email=DEMO_EMAIL)
    owner = accounts.actor_for_user(user, workspace)
    assert owner is not None
    tz = ZoneInfo(workspace.timezone)
    real_now = now or clock.now()
    end = real_now.replace(minute=0, second=0, microsecond=0)
    start = history_start(real_now, tz)
    say = progress or (lambda _line: None)
    say(f"Making the demo's past ({HISTORY_WEEKS} weeks of posts and readings)...")
    began = time.monotonic()
    saved: dict[str, bool] = {}
    previous_limiter = ratelimit.use(_Unlimited())
    _rate_limits(running, False, saved)
    clocks = emulator_clocks(running)
    published_before = PublicationTarget.objects.filter(state="published").count()
    steps = 0
    try:
        clock.freeze(start - dt.timedelta(hours=1))
        for c in clocks:
            c.set((start - dt.timedelta(hours=1)).timestamp(), frozen=True)
        plan = history_plan(start, end, tz)
        schedule_history(owner, workspace, plan)
        watch_pages(owner)
        due = sorted({p.at for p in plan})
        jobs = history_jobs()
        at, week, worked = start, -1, start - dt.timedelta(days=1)
        while at <= end:
            clock.freeze(at)
            for c in clocks:
                c.set(at.timestamp(), frozen=True)
            if any(worked < t <= at for t in due) or at - worked >= dt.timedelta(days=1):
                run_worker(once=True, concurrency=3)  # the posts due now (and, daily, any retry)
                worked = at
            for job in jobs:
                job(at)
            steps += 1
            if progress is not None and (at - start).days // 7 != week:
                week = (at - start).days // 7
                progress(f"  week of {at.astimezone(tz):%Y-%m-%d}")
            at = _next_step(at, due)
    finally:
        clock.reset()
        for c in clocks:
            c.set(time.time())
        _rate_limits(running, True, saved)
        ratelimit.use(previous_limiter)
    return HistoryResult(
        posts=len(plan),
        targets_published=PublicationTarget.objects.filter(state="published").count() - published_before,
        steps=steps,
        seconds=round(time.monotonic() - began, 1),
    )


def state_path(network: str) -> Path:
    """Where the demo keeps an emulator's world between processes (under ``RUPOR_HOME``)."""
    return config.home() / "demo-emulators" / f"{network}.state"


def save_worlds(running: dict[str, RunningEmulator]) -> None:
    """Keep each emulator's world for the next process (``serve --demo`` calls it on the way out)."""
    for network, emulator in running.items():
        try:
            save_state(_state(emulator), state_path(network))
        except OSError as exc:
            log.warning("the %s emulator's world could not be kept: %s", network, exc)


def restore_worlds(running: dict[str, RunningEmulator]) -> int:
    """Give each emulator the world the last process kept (its posts, members, comments);
    returns how many were restored."""
    return sum(1 for network, e in running.items() if load_state(_state(e), state_path(network)))


def forget_poll_servers() -> int:
    """Make the demo channels' inbox cursors ask for their long-poll server again (VK keeps its
    address in the cursor): the emulators serve on another port in the next process. The
    position (``ts``) stays, so nothing is read twice or missed."""
    from rupor.cli.demo import _demo_workspace
    from rupor.inbox.models import IntakeCursor

    changed = 0
    for cursor in IntakeCursor.objects.filter(channel__workspace=_demo_workspace()):
        try:
            state = json.loads(cursor.cursor or "{}")
        except ValueError:
            continue
        if isinstance(state, dict) and "server" in state:
            cursor.cursor = json.dumps({"ts": state["ts"]} if "ts" in state else {})
            cursor.save(update_fields=["cursor"])
            changed += 1
    return changed


def start_demo(running: dict[str, RunningEmulator], *, say: Callable[[str], None]) -> dict[str, str]:
    """``serve --demo``'s start once its emulators run: the worlds the last process kept are
    restored (``rupor demo`` builds the history and keeps them), then the demo workspace is made
    or checked. It never builds the history itself: that takes a minute or more, and the server
    should answer at once."""
    from rupor.cli import demo as demo_mod

    if restore_worlds(running):
        forget_poll_servers()
    info = demo_mod.ensure_demo(verify=True, urls={n: e.url for n, e in running.items()})
    if pending() is not None:
        say("The demo has no history yet: stop here and run 'rupor demo' to make weeks of it.")
    return info


def build_offline(*, say: Callable[[str], None]) -> HistoryResult | None:
    """``rupor demo``: build the demo workspace's past against emulators of this process (on
    free ports) and keep their worlds for ``serve --demo``; ``None`` when it has one already."""
    from rupor.cli import demo as demo_mod
    from rupor.networks import registry

    history_due = pending()
    if history_due is None:
        return None
    running = {
        network: RunningEmulator(
            registry.emulator_factory(network)(seed=demo_mod.EMULATOR_SEED, rate_limits=True)
        )
        for network in registry.available()
    }
    try:
        for emulator in running.values():
            emulator.start()
        rewind(running, history_due)
        demo_mod.ensure_demo(verify=True, urls={n: e.url for n, e in running.items()})
        made = build(running, progress=say)
        save_worlds(running)
        forget_poll_servers()
    finally:
        for emulator in running.values():
            emulator.stop()
    _report(made, say)
    return made


def _report(made: HistoryResult | None, say: Callable[[str], None]) -> None:
    if made is not None:
        say(
            f"Demo history: {made.posts} posts ({made.targets_published} publications), "
            f"{made.steps} steps of the clock, {made.seconds} s."
        )
