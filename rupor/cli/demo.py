"""The offline demo: emulated networks on local ports and a workspace whose channels use them."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import logging
import os
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from rupor.core import clock, config, http
from rupor.networks import registry, webanalytics
from rupor.networks.base import Capability
from rupor.networks.drand import emulator as drand_emulator
from rupor.networks.emulation import RunningEmulator

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@rupor.local"
DEMO_PASSWORD = "rupor-demo"  # a local, offline demo: the README says to not expose it
DEMO_WORKSPACE = "Rupor Demo"
#: Queue slots of every demo channel: weekday (Monday = 0) and local time.
DEMO_SLOTS = [
    (0, dt.time(10, 0)),
    (2, dt.time(10, 0)),
    (4, dt.time(10, 0)),
    (1, dt.time(18, 30)),
    (3, dt.time(18, 30)),
]


#: The keyword the demo workspace watches (the VK emulator's public posts mention it).
DEMO_KEYWORD = "Rupor Demo"


#: Networks whose emulator fetches each picture from Rupor's own address (RUPOR_BASE_URL), as the
#: real network does: only a running web server (``rupor serve --demo``) can give them one.
MEDIA_BY_URL = frozenset({"instagram"})

#: The seed of the demo's emulated networks (their audiences, members and counters).
EMULATOR_SEED = 7


def _port_base() -> int:
    return int(os.environ.get("RUPOR_DEMO_PORT_BASE", "8901"))


def demo_urls() -> dict[str, str]:
    return {network: f"http://127.0.0.1:{_port_base() + i}" for i, network in enumerate(registry.NETWORKS)}


def drand_port() -> int:
    """drand's relay: the port after the networks'."""
    return _port_base() + len(registry.NETWORKS)


def web_analytics_urls() -> dict[str, str]:
    """The web analytics emulators (Metrica, GA4): the ports after drand's."""
    return {kind: f"http://127.0.0.1:{drand_port() + 1 + i}" for i, kind in enumerate(webanalytics.SOURCES)}


#: How many ports the demo's emulators take from the base: the networks, drand, web analytics.
def demo_port_count() -> int:
    return len(registry.NETWORKS) + 1 + len(webanalytics.SOURCES)


def _testing(network: str) -> Any | None:
    try:
        return importlib.import_module(f"rupor.networks.{network}.testing")
    except ImportError:
        return None


def start_emulators() -> list[RunningEmulator]:
    running = []
    urls = demo_urls()
    for network in registry.available():
        app = registry.emulator_factory(network)(seed=EMULATOR_SEED, rate_limits=True)
        port = int(urls[network].rsplit(":", 1)[1])
        running.append(RunningEmulator(app, port=port).start())
    # drand's relay, on the port after the networks' (giveaways: RUPOR_DRAND_URL names it).
    drand = drand_emulator.create_app(seed=str(EMULATOR_SEED))
    running.append(RunningEmulator(drand, port=drand_port()).start())
    # The site's web analytics (Metrica, GA4), on the ports after drand's: DemoVisitors tells
    # them the demo's tracked links, whose visitors they then count.
    for kind, url in web_analytics_urls().items():
        factory: Any = webanalytics.emulator_factory(kind)
        app = factory(seed=EMULATOR_SEED, rate_limits=True, sample=False)
        running.append(RunningEmulator(app, port=int(url.rsplit(":", 1)[1])).start())
    # The Facebook emulator fetches pictures from Rupor's own media links, as Meta does; in the
    # demo those are on this machine, which the outbound guard refuses unless told.
    http.allow_origin(config.base_url())
    return running


def ensure_demo(*, verify: bool = False, urls: dict[str, str] | None = None) -> dict[str, str]:
    """Create the demo user, workspace, channels and plan once; later calls keep them pointing at
    the emulators (at ``urls``, by network; the demo ports by default). ``verify`` (the emulators
    are running) checks each channel with its emulator."""
    from rupor.accounts import service as accounts
    from rupor.accounts.models import User, Workspace
    from rupor.channels import service as channels
    from rupor.channels.models import Channel
    from rupor.planning import media as planning_media
    from rupor.planning import service as planning
    from rupor.planning import slots
    from rupor.planning.models import Rubric

    with transaction.atomic():
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, name="Demo Manager")
        workspace = Workspace.objects.filter(memberships__user=user, name=DEMO_WORKSPACE).first()
        if workspace is None:
            workspace = accounts.create_workspace(DEMO_WORKSPACE, user, timezone="Europe/Moscow")
        owner = accounts.actor_for_user(user, workspace)
        assert owner is not None
        urls = urls or demo_urls()
        for network in registry.available():
            testing = _testing(network)
            if testing is None:
                continue
            try:
                with transaction.atomic():
                    _attach_demo_channel(owner, workspace, network, urls[network], verify=verify)
            except channels.ChannelError:
                if not verify:
                    raise
                # An emulator that does not answer as expected: the channel shows "Not verified" and the demo runs.
                _attach_demo_channel(owner, workspace, network, urls[network], verify=False)
        _demo_link_conventions(owner, workspace.pk)
        for channel in Channel.live.filter(workspace=workspace):
            if not channel.queue_slots.exists():  # a weekly rhythm, so "Add to queue" works at once
                for weekday, time in DEMO_SLOTS:
                    slots.add_slot(owner, channel.pk, weekday, time)
        if not workspace.posts.exists():
            demo_channels = list(Channel.live.filter(workspace=workspace))
            rubrics = {r.name: r.pk for r in Rubric.objects.filter(workspace=workspace)}
            # Networks without text-only posts (Instagram) get the demo's picture with each post.
            picture_first = {
                c.pk
                for c in demo_channels
                if Capability.PUBLISH_TEXT not in registry.adapter(c.network).capabilities
            }
            picture: tuple[int, ...] = ()
            if picture_first:
                cup = planning_media.save_media(owner, "rupor-demo-cup.jpg", demo_picture())
                planning_media.set_alt_text(owner, cup.pk, "A white cup of coffee on a saucer, steam rising")
                picture = (cup.pk,)
            for title, text, rubric, when in _samples(clock.now(), ZoneInfo(workspace.timezone)):
                planning.create_post(
                    owner,
                    planning.PostInput(
                        title=title,
                        text=text,
                        rubric_id=rubrics.get(rubric),
                        status="scheduled" if when else "draft",
                        scheduled_at=when,
                        variants=tuple(
                            planning.VariantInput(
                                channel_id=c.pk,
                                **video_post(
                                    owner, c.network, title, picture if c.pk in picture_first else ()
                                ),
                            )
                            for c in demo_channels
                        ),
                    ),
                )
            # A watched keyword, so the inbox shows what monitoring finds on the VK emulator.
            from rupor.inbox import monitoring

            if not monitoring.list_keywords(workspace.pk).exists():
                monitoring.add_keyword(owner, DEMO_KEYWORD)
            _demo_newsletters(owner, workspace.pk)
    return {"workspace": workspace.slug, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}


def _demo_link_conventions(owner: Any, workspace_id: int) -> None:
    """Tag and shorten the links of what the demo publishes (once: a manager's later choice stays),
    so its web analytics have tagged visits to count."""
    from rupor.links import service as links
    from rupor.links.models import LinkSettings

    if not LinkSettings.objects.filter(workspace_id=workspace_id).exists():
        links.save_conventions(owner, links.Conventions(utm_enabled=True, short_links=True))


def ensure_demo_sources(urls: dict[str, str] | None = None, *, verify: bool = True) -> list[str]:
    """Connect the demo workspace to the emulated Metrica counter and GA4 property (at ``urls``,
    by kind; the demo ports by default), or follow them to new ports; the kinds connected."""
    from rupor.accounts import service as accounts
    from rupor.accounts.models import User
    from rupor.links import traffic
    from rupor.links.models import TrafficSource
    from rupor.networks.ga4 import testing as ga4_testing
    from rupor.networks.metrica import testing as metrica_testing

    workspace = _demo_workspace()
    if workspace is None:
        return []
    owner = accounts.actor_for_user(User.objects.get(email=DEMO_EMAIL), workspace)
    assert owner is not None
    urls = urls or web_analytics_urls()
    wanted = {
        "metrica": (metrica_testing.DEMO_COUNTER_ID, metrica_testing.demo_credentials()["token"], ""),
        "ga4": (ga4_testing.DEMO_PROPERTY_ID, ga4_testing.demo_key_text(), "purchase"),
    }
    connected = []
    for kind, (account, secret, goal) in wanted.items():
        existing = TrafficSource.objects.filter(workspace=workspace, kind=kind).first()
        if existing is not None and existing.base_url == urls[kind] and (existing.verified_at or not verify):
            connected.append(kind)
            continue
        if existing is not None and existing.account_id != account:
            continue  # someone connected a counter of their own: the demo leaves it alone
        try:
            traffic.connect(
                owner, traffic.SourceInput(kind, account, secret, goal, urls[kind]), verify=verify
            )
        except traffic.TrafficError as exc:  # an emulator that does not answer: the demo runs without it
            log.warning("the demo cannot connect %s: %s", kind, exc.message)
            continue
        connected.append(kind)
    return connected


class DemoVisitors:
    """A job of the demo's worker (``rupor serve --demo``): the site's visitors. Each tracked link
    the demo published becomes a landing of the emulated Metrica and GA4 (from the moment its short
    link was made), whose visitors they then count; when new links arrived, both sources are read
    at once rather than at their next turn. The emulators keep landings in memory, so a new serve
    process tells them every link again."""

    def __init__(self, running: dict[str, RunningEmulator]) -> None:
        self.running = running
        self.last_link = 0

    def __call__(self, now: dt.datetime) -> int:  # noqa: ARG002 - the worker calls every job with the time
        from rupor.links import traffic
        from rupor.links.models import ShortLink, TrafficSource

        workspace = _demo_workspace()
        if workspace is None or not self.running:
            return 0
        fresh = list(
            ShortLink.objects.filter(workspace=workspace, pk__gt=self.last_link)
            .order_by("pk")
            .values_list("pk", "url", "created_at")[:2000]
        )
        if not fresh:
            return 0
        body = {"landings": [{"url": url, "since": at.timestamp()} for _pk, url, at in fresh]}
        for emulator in self.running.values():
            with http.client(base_url=emulator.url, timeout=10) as client:
                client.post("/_emulator/landings", json=body).raise_for_status()
        self.last_link = fresh[-1][0]
        # The emulated site's past just changed (visits of these links, from when they were made):
        # read the whole backfill again, not only the last days.
        sources = TrafficSource.objects.filter(workspace=workspace)
        sources.update(collected_through=None)
        for source_id in sources.values_list("pk", flat=True):
            traffic.collect(source_id, force=True)
        return len(fresh)


def web_analytics_running(running: list[RunningEmulator]) -> dict[str, RunningEmulator]:
    """The web analytics emulators :func:`start_emulators` started, by kind (found by their ports)."""
    ports = {int(url.rsplit(":", 1)[1]): kind for kind, url in web_analytics_urls().items()}
    return {ports[e.port]: e for e in running if e.port in ports}


def demo_picture() -> bytes:
    """The demo's picture (a cup of coffee, drawn here: 1080 x 1080 JPEG), for networks whose
    posts are pictures first."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1080, 1080), (236, 224, 206))
    draw = ImageDraw.Draw(image)
    draw.ellipse((240, 700, 840, 820), fill=(210, 196, 176))  # the saucer
    draw.rounded_rectangle((330, 420, 750, 760), radius=60, fill=(250, 250, 248))  # the cup
    draw.ellipse((730, 500, 870, 640), outline=(250, 250, 248), width=28)  # its handle
    draw.ellipse((350, 390, 730, 470), fill=(111, 70, 42))  # the coffee
    for x in (450, 540, 630):  # steam
        draw.arc((x - 30, 220, x + 30, 370), 100, 260, fill=(190, 176, 160), width=10)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def _demo_newsletters(owner: Any, workspace_id: int) -> None:
    """A newsletter list on the VK community and on the Telegram bot, each with a welcome
    message: people join by allowing the community's messages, /start or the word "новости"."""
    from rupor.newsletters import service as newsletters

    if newsletters.list_rows(workspace_id):
        return
    for channel in newsletters.messaging_channels(workspace_id):
        list_id = newsletters.create_list(
            owner,
            newsletters.ListInput(channel.id, "Coffee news", "news", keyword="новости", is_default=True),
        )
        newsletters.add_welcome_step(
            owner, list_id, "Welcome! Every Friday: one recipe and the week's news.", 0, "useful"
        )


def needs_video(network: str) -> bool:
    """A network whose every post is a video (YouTube): no text post, a video upload."""
    from rupor.networks.base import Capability

    caps = registry.adapter(network).capabilities
    return Capability.PUBLISH_VIDEO in caps and Capability.PUBLISH_TEXT not in caps


def demo_video_bytes(seconds: int = 2) -> bytes:
    """A small file that starts like an MP4 (an ISO BMFF ``ftyp`` box), the demo's video."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + bytes(range(256)) * (64 * seconds)


def video_post(owner: Any, network: str, title: str, photos: tuple[int, ...] = ()) -> dict[str, Any]:
    """A variant's own media and options where the network's posts are videos: the demo video,
    a picture as its thumbnail, the post's title as the video's; nothing elsewhere."""
    if not needs_video(network):
        return {"media_ids": photos} if photos else {}
    from rupor.planning import media

    video = media.save_media(owner, "demo-video.mp4", demo_video_bytes())  # stored once (same bytes)
    return {"media_ids": (video.pk, *photos[:1]), "options": {"title": title[:100]}}


def _attach_demo_channel(owner: Any, workspace: Any, network: str, url: str, *, verify: bool) -> None:
    """Connect the demo channel of ``network`` to its emulator at ``url`` once; later, follow the
    emulator when it moved (another --demo-port-base) and check it when it was never checked."""
    from rupor.channels import service as channels
    from rupor.channels.models import Channel

    testing = _testing(network)
    assert testing is not None
    live = Channel.live.filter(workspace=workspace, network=network)
    existing = live.filter(remote_id=str(testing.DEMO_REMOTE_ID)).first()
    if existing is None and not live.exists():
        channels.connect(
            owner,
            channels.ChannelInput(
                network=network,
                name=f"{registry.DISPLAY_NAMES[network]} demo",
                remote_id=str(testing.DEMO_REMOTE_ID),
                credentials=testing.demo_credentials(),
                base_url=url,
            ),
            verify=verify,
        )
    elif existing is not None and (existing.base_url != url or (verify and existing.verified_at is None)):
        # A new address needs the secrets again (they are the emulator's own demo credentials).
        channels.update(
            owner, existing.pk, {"base_url": url, "credentials": testing.demo_credentials()}, verify=verify
        )


#: The demo's plan after the welcome post: title, text, rubric (one of the default ones). Three
#: selling posts in nine put selling content past its 20 % share, so the mix meter warns at once.
DEMO_PLAN = [
    (
        "Weekly tips",
        "Three tips for a healthy content plan: mostly useful posts, regular rhythm, answer every question.",
        "Useful",
    ),
    ("House blend", "Our new house blend is here: -15 % on every bag this week.", "Selling"),
    ("How we roast", "From green bean to your cup: how long we roast, and why.", "Useful"),
    ("Espresso mood", "Today, as told by our espresso machine.", "Entertaining"),
    ("Loyalty card", "Every sixth coffee is on us with the new loyalty card.", "Selling"),
    ("Morning prep", "6:30 in the kitchen: what happens before we open.", "Behind the scenes"),
    ("Brewing at home", "Five mistakes that make home coffee bitter, and how to avoid them.", "Useful"),
    ("Gift sets", "Gift sets for the holidays, wrapped and ready.", "Selling"),
]


def _samples(now: dt.datetime, tz: ZoneInfo) -> list[tuple[str, str, str, dt.datetime | None]]:
    """The demo's posts: one in two minutes, then the plan at 10:00 and 18:30 on the coming days,
    inside this month when enough of it is left (the plan page's mix meter shows this month)."""
    local = now.astimezone(tz)
    month_end = (local.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    days_left = (month_end.date() - local.date()).days - 1
    per_day = 2 if days_left * 2 >= len(DEMO_PLAN) or days_left < 2 else 3
    times = [dt.time(10, 0), dt.time(18, 30), dt.time(14, 0)][:per_day]
    planned: list[dt.datetime] = []
    day = local.date() + dt.timedelta(days=1)
    while len(planned) < len(DEMO_PLAN):
        planned += [dt.datetime.combine(day, t, tzinfo=tz).astimezone(dt.UTC) for t in times]
        day += dt.timedelta(days=1)
    out: list[tuple[str, str, str, dt.datetime | None]] = [
        (
            "Welcome to Rupor",
            "Hello from Rupor! This post goes out to every demo channel in two minutes.",
            "News",
            now + dt.timedelta(minutes=2),
        ),
    ]
    out += [
        (title, text, rubric, when)
        for (title, text, rubric), when in zip(DEMO_PLAN, sorted(planned), strict=False)
    ]
    out.append(("Poll idea", "Which topic should we cover next week?", "Engagement", None))
    return out


#: What the demo's audience says, per network: comments under the first post Rupor publishes on
#: each emulated channel (in Russian, English and Korean: a complaint, questions, praise, spam and
#: neutral remarks), and a direct message to the VK community, which needs no post.
DEMO_COMMENTS: dict[str, list[str]] = {
    "vk": [
        "Заказал зерно неделю назад, до сих пор не доставили, и никто не отвечает. Верните деньги!",
        "Do you ship to Almaty? How long does delivery take?",
        "원두 정말 맛있어요! 매일 아침 마시고 있어요 ☕",
    ],
    "telegram": [
        "Подскажите, во сколько вы открываетесь в субботу?",
        "EARN $5000 A WEEK FROM HOME!!! Crypto bonus 100% guaranteed, click the link in my profile",
        "오늘 게시물 잘 봤습니다.",
    ],
    "ok": [
        "Спасибо за капучино, лучший в городе!",
        "The barista was rude to me today and my order was wrong. Very disappointed.",
        "Понятно, посмотрим.",
    ],
    "x": [
        "Is the new single-origin back in stock? Asking for a friend ☕",
        "Ваш сайт не открывается уже второй день, что случилось?",
        "좋은 소식이네요! 주말에 들를게요.",
    ],
    "bluesky": [
        "This looks amazing, is there a vegan option?",
        "Заходил вчера, очередь на полчаса. Может, стоит открыть второй зал?",
        "사진 너무 예뻐요! 🥐",
    ],
    "linkedin": [
        "Great to see a local business sharing how it works. Are you hiring baristas this season?",
        "Интересно, вы поставляете кофе в офисы?",
        "좋은 인사이트 감사합니다. 팀과 공유했어요.",
    ],
    "instagram": [
        "What a cup! Which beans are these? 😍",
        "Ждём вас в гости, но почему доставка так долго? Третий день жду заказ.",
        "분위기 너무 좋아요! 🤎",
    ],
    "mastodon": [
        "Lovely thread! Do you have oat milk options?",
        "Заходил вчера, очень уютно. Спасибо!",
        "이 원두는 어디서 살 수 있나요?",
    ],
    "facebook": [
        "Are you open on Sunday mornings? Planning a family breakfast.",
        "Третий раз заказываю — и снова холодный кофе. Разберитесь, пожалуйста.",
        "분위기 최고예요! 친구들이랑 또 갈게요 😊",
    ],
    "youtube": [
        "Great video! What grinder do you use at 0:45?",
        "Звук очень тихий, ничего не слышно. Переснимите, пожалуйста.",
        "영상 잘 봤어요. 다음 편도 기대할게요!",
    ],
}
DEMO_MESSAGES: dict[str, list[str]] = {
    "vk": ["Здравствуйте! Можно забронировать столик на шестерых в пятницу вечером?"],
}


class DemoAudience:
    """A job of the demo's worker (``rupor serve --demo``): the emulated audience speaks once the
    demo has somewhere to speak. The emulators keep their state in memory, so this runs in the serve
    process beside them: the direct message at once, and the comments as soon as the first post of
    this run is published on each channel (the welcome post, two minutes after the demo is made).
    Everything goes through the emulators' own audience paths; the inbox takes it in by polling,
    exactly as it takes in anything else. A workspace whose inbox already holds such items (an
    earlier run) is left alone."""

    def __init__(self, running: dict[str, RunningEmulator]) -> None:
        self.running = running
        self.started = clock.now()
        self.done: set[tuple[str, str]] = set()  # (network, "comments" | "messages")

    def __call__(self, now: dt.datetime) -> int:  # noqa: ARG002 - the worker calls every job with the time
        from rupor.channels.models import Channel
        from rupor.inbox import service as inbox
        from rupor.publishing import service as publishing

        workspace = _demo_workspace()
        if workspace is None:
            return 0
        spoke = 0
        for channel in Channel.live.filter(workspace=workspace):
            emulator, testing = self.running.get(channel.network), _testing(channel.network)
            if emulator is None or testing is None:
                continue
            placed = 0
            if (channel.network, "messages") not in self.done:
                self.done.add((channel.network, "messages"))
                if not inbox.list_items(
                    workspace.pk, inbox.Filters(channel_id=channel.pk, kind="message")
                ).exists():
                    for text in DEMO_MESSAGES.get(channel.network, []):
                        testing.audience_message(emulator, text)
                        placed += 1
            if (channel.network, "comments") not in self.done:
                if inbox.list_items(
                    workspace.pk, inbox.Filters(channel_id=channel.pk, kind="comment")
                ).exists():
                    self.done.add((channel.network, "comments"))
                else:
                    posts = publishing.published_posts(channel.pk, since=self.started)
                    if posts:  # the first post of this run is out: its readers comment
                        self.done.add((channel.network, "comments"))
                        for text in DEMO_COMMENTS.get(channel.network, []):
                            testing.audience_comment(emulator, posts[-1].remote_id, text)
                            placed += 1
            if placed:
                inbox.poll_channel(channel.pk)  # the intake's own poll, now rather than in two minutes
                spoke += placed
        return spoke


def _demo_workspace() -> Any:
    from rupor.accounts.models import Workspace

    return Workspace.objects.filter(memberships__user__email=DEMO_EMAIL, name=DEMO_WORKSPACE).first()


def running_by_network(running: list[RunningEmulator]) -> dict[str, RunningEmulator]:
    """The emulators :func:`start_emulators` started, by network (it starts them in this order)."""
    return dict(zip(registry.available(), running, strict=False))
