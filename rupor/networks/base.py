"""The adapter contract: one interface for every network, by capability.

A network package (``rupor/networks/<name>/``) provides an :class:`Adapter` subclass and
registers it in :mod:`rupor.networks.registry`. Domains use only the plain frozen dataclasses
below; raw payloads never leave the network's package.

Every method that talks to the network raises only :mod:`rupor.networks.errors` classes.
Methods a network cannot do keep the default implementation, which raises
:class:`~rupor.networks.errors.NotSupported`; ``capabilities`` must list exactly the methods
that are implemented.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import io
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, ClassVar, Protocol

from rupor.networks.errors import NotSupported

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class Capability(enum.StrEnum):
    PUBLISH_TEXT = "publish_text"
    PUBLISH_PHOTO = "publish_photo"
    PUBLISH_ALBUM = "publish_album"
    PUBLISH_VIDEO = "publish_video"
    PUBLISH_POLL = "publish_poll"
    #: A poll with one correct answer (Telegram's quiz mode); Rupor shows who answered right.
    PUBLISH_QUIZ = "publish_quiz"
    #: Reads a native poll's votes back (``PostMetrics.poll``).
    POLL_RESULTS = "poll_results"
    PUBLISH_LINK = "publish_link"
    FIRST_COMMENT = "first_comment"
    EDIT = "edit"
    DELETE = "delete"
    PIN = "pin"
    RECONCILE = "reconcile"  # can look a post up by its idempotency key / content after an unknown outcome
    READ_COMMENTS = "read_comments"
    REPLY_COMMENT = "reply_comment"
    HIDE_COMMENT = "hide_comment"
    DELETE_COMMENT = "delete_comment"
    RESTORE_COMMENT = "restore_comment"  # bring back a comment the channel deleted (VK wall.restoreComment)
    BAN_USER = "ban_user"
    READ_MESSAGES = "read_messages"
    SEND_MESSAGE = "send_message"
    POST_METRICS = "post_metrics"
    CHANNEL_METRICS = "channel_metrics"
    PUBLIC_PAGES = "public_pages"
    WEBHOOKS = "webhooks"
    POLL_UPDATES = "poll_updates"
    VERIFY = "verify"
    REFRESH = "refresh"
    LOOKUP_PEOPLE = "lookup_people"  # profiles (avatar, followers) of commenters, in batches
    #: Search public posts of the whole network for a phrase (VK ``newsfeed.search``).
    SEARCH_POSTS = "search_posts"
    #: Answer a mention in the chat or thread where it was made (:meth:`Adapter.reply_mention`).
    REPLY_MENTION = "reply_mention"
    #: Publish ``options["thread"]``: more posts, each a reply to the one before (see ``rupor.networks.thread``).
    THREAD = "thread"
    #: Giveaways (rupor/giveaways): which conditions on an entrant the network lets Rupor check.
    CHECK_MEMBER = "check_member"  # is this person a member / subscriber now (membership)
    LIST_MEMBERS = "list_members"  # every member of the community (community_members)
    LIST_STAFF = "list_staff"  # the community's managers (community_staff)
    LIST_LIKERS = "list_likers"  # who liked a post (post_likers)
    LIST_REPOSTERS = "list_reposters"  # who reposted a post (post_reposters)
    #: Newsletters: which of the messages the channel sent a person has read (message_reads).
    READ_RECEIPTS = "read_receipts"


#: The channel setting where a channel's own limits are cached (:meth:`Adapter.limits_for`).
LIMITS_SETTING = "network_limits"


class TextUnit(enum.StrEnum):
    CHARS = "chars"  # Unicode code points
    UTF16 = "utf16"  # UTF-16 code units (Telegram)
    GRAPHEMES = "graphemes"  # extended grapheme clusters (Bluesky)
    BYTES = "bytes"  # UTF-8 bytes
    WEIGHTED = "weighted"  # X's weighted characters


@dataclass(frozen=True)
class Limits:
    """Hard limits of a network, in its own units. ``None`` means "no limit known"."""

    text_unit: TextUnit = TextUnit.CHARS
    text_max: int | None = None
    caption_max: int | None = None  # text limit when media is attached
    media_max: int | None = None
    album_min: int | None = None
    album_max: int | None = None
    photo_max_bytes: int | None = None
    video_max_bytes: int | None = None
    photo_types: tuple[str, ...] = ("image/jpeg", "image/png")
    video_types: tuple[str, ...] = ("video/mp4",)
    poll_options_min: int | None = None
    poll_options_max: int | None = None
    poll_question_max: int | None = None
    poll_option_max: int | None = None
    #: How long a poll may stay open, in minutes (``None``: the network takes no closing time).
    poll_minutes_min: int | None = None
    poll_minutes_max: int | None = None
    #: The longest explanation of a quiz's answer.
    quiz_explanation_max: int | None = None
    links_max: int | None = None
    comment_max: int | None = None
    message_max: int | None = None
    delete_window: dt.timedelta | None = None
    edit_window: dt.timedelta | None = None
    posts_per_day: int | None = None


@dataclass(frozen=True)
class CredentialField:
    """One field a person fills in to connect a channel (shown in the UI and API docs).

    ``label`` and ``help`` are usually ``gettext_lazy`` strings, translated when rendered; call
    ``str()`` on them where a plain string is needed (JSON, pydantic).
    """

    name: str
    label: _StrOrPromise
    secret: bool = True
    required: bool = True
    help: _StrOrPromise = ""


@dataclass(frozen=True)
class ChannelAccess:
    """Everything an adapter needs to act for one connected channel.

    ``credentials`` is the decrypted mapping (never logged, never returned by the API);
    ``base_url`` overrides the network's default API root (self-hosted endpoints, proxies,
    emulators); ``settings`` holds non-secret per-channel options.
    """

    network: str
    remote_id: str
    credentials: Mapping[str, str]
    base_url: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # credentials must never reach a log line
        return f"ChannelAccess(network={self.network!r}, remote_id={self.remote_id!r}, base_url={self.base_url!r})"


#: Bytes of a file's beginning a :class:`Media` carries for recognising its container.
HEAD_BYTES = 256

#: Opens one media file for reading: returns a binary file object that is also a context manager
#: (``with media.open() as handle``). Each call opens the file afresh.
MediaOpener = Callable[[], IO[bytes]]

#: Gives a public address of one media file for networks that fetch media themselves (the Graph
#: API takes pictures and videos by URL, not in the call): ``link(None)`` serves the file as
#: stored, ``link("jpeg")`` the file converted to JPEG, ``link("jpeg:0.8-1.91")`` converted to
#: JPEG and centre-cropped into that range of width/height ratios (Instagram's feed). The address
#: is signed and expires; it is built from ``RUPOR_BASE_URL``, which must then be reachable by the
#: network.
MediaLinker = Callable[[str | None], str]


@dataclass(frozen=True)
class Media:
    """One attached file, by reference: its facts, its first bytes and a way to open it.

    Checks read ``size``, ``width``/``height`` and ``head`` (the first :data:`HEAD_BYTES` bytes,
    enough for :func:`looks_like_video`); only an upload opens the file, with ``open()``, and
    streams it. ``open`` takes no part in equality: two references to the same facts are equal.
    """

    kind: str  # "photo" | "video" | "document"
    filename: str
    content_type: str
    size: int
    open: MediaOpener = field(compare=False)
    head: bytes = b""
    width: int | None = None
    height: int | None = None
    #: What a picture shows, for screen readers (networks that take alt text send it).
    alt: str = ""
    #: A public address of the file (:data:`MediaLinker`); ``None`` where none can be given.
    link: MediaLinker | None = field(default=None, compare=False)

    @classmethod
    def from_bytes(
        cls,
        kind: str,
        filename: str,
        content_type: str,
        data: bytes,
        width: int | None = None,
        height: int | None = None,
    ) -> Media:
        """A reference to bytes already in memory (tests, small generated files)."""
        return cls(
            kind,
            filename,
            content_type,
            len(data),
            lambda: io.BytesIO(data),
            data[:HEAD_BYTES],
            width,
            height,
        )

    def __repr__(self) -> str:
        return f"Media({self.kind!r}, {self.filename!r}, {self.size} bytes)"


@dataclass(frozen=True)
class Poll:
    question: str
    options: tuple[str, ...]
    multiple: bool = False
    anonymous: bool = True
    #: The index of the right answer: the poll is a quiz (``Capability.PUBLISH_QUIZ``).
    correct_option: int | None = None
    #: Shown to who answers a quiz wrongly (Telegram's lamp icon).
    explanation: str = ""
    #: How long the poll stays open after publishing; ``None``: the network's default.
    minutes: int | None = None

    @property
    def is_quiz(self) -> bool:
        return self.correct_option is not None


@dataclass(frozen=True)
class PollTally:
    """A native poll's votes as the network reports them (read with the post's metrics)."""

    remote_poll_id: str
    options: tuple[str, ...]
    votes: tuple[int, ...]
    #: People who voted (with multiple answers fewer than the sum of the votes); ``None``: unknown.
    voters: int | None
    closed: bool
    closes_at: dt.datetime | None = None
    #: For quizzes: the right option, when the network says it.
    correct_option: int | None = None


@dataclass(frozen=True)
class Content:
    """What one variant publishes on one channel."""

    text: str = ""
    media: tuple[Media, ...] = ()
    poll: Poll | None = None
    link: str | None = None
    first_comment: str | None = None
    pin: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    def alt_text(self, index: int) -> str:
        """What the ``index``-th picture shows, for screen readers: the variant's own description
        (``options["alt"]``, one per picture, as the composer writes them) or else the one kept
        with the picture in the media library; "" when neither says."""
        own = self.options.get("alt")
        if isinstance(own, (list, tuple)) and index < len(own) and str(own[index]).strip():
            return str(own[index]).strip()
        return self.media[index].alt if index < len(self.media) else ""


class Progress(Protocol):
    """Durable scratch space for multi-part publishing (uploads, album parts, first comment).

    An adapter records each finished part with :meth:`save` *before* moving on, and on the next
    attempt reads it back with :meth:`get` to resume instead of redoing the part.
    """

    def get(self, key: str, default: Any = None) -> Any: ...

    def save(self, key: str, value: Any) -> None: ...


class MemoryProgress(dict[str, Any]):
    """In-memory :class:`Progress` for tests and one-off calls."""

    def save(self, key: str, value: Any) -> None:
        self[key] = value


@dataclass(frozen=True)
class PublishRequest:
    content: Content
    idempotency_key: str  # created when the target was scheduled; stable across attempts
    publish_at: dt.datetime | None = None  # native delayed publishing, where supported


@dataclass(frozen=True)
class RateLimit:
    """One published limit the engine must respect for a channel (ARCHITECTURE.md, engine invariant 5).

    ``key`` names the bucket the limit counts against — per token, app, account or group, e.g.
    ``"vk:community-token:<hash>"``; channels that share a token share the key. Never put a secret
    in it (the engine hashes keys anyway). ``limit`` calls per ``per_s`` seconds; ``cost`` is how
    many of those calls one publish makes (photo upload + post = 3, say).
    """

    key: str
    limit: int
    per_s: float
    cost: int = 1


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str | None = None
    published_at: dt.datetime | None = None
    excerpt: str = ""
    #: True when the network needs a second step later (e.g. Instagram container processing).
    waiting_on_platform: bool = False


@dataclass(frozen=True)
class ChannelInfo:
    """What verifying a connection learned about the channel."""

    remote_id: str
    name: str
    url: str | None = None
    members: int | None = None
    can_publish: bool = True
    notes: tuple[str, ...] = ()  # plain-language remarks ("The bot cannot read view counts")
    expires_at: dt.datetime | None = None
    #: Limits this channel's server states for itself (a Mastodon instance's ``/api/v2/instance``):
    #: :class:`Limits` field names and values, cached on the channel (``settings["network_limits"]``)
    #: and read back by :meth:`Adapter.limits_for`. Empty: the network's limits are the same for all.
    limits: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Person:
    remote_id: str
    name: str = ""
    url: str | None = None
    #: A small square picture of the person, where the network gives a public one.
    avatar_url: str | None = None
    #: How many people follow them (their reach), where the network says; None when it does not.
    followers: int | None = None


@dataclass(frozen=True)
class Comment:
    remote_id: str
    post_remote_id: str
    author: Person
    text: str
    created_at: dt.datetime
    parent_remote_id: str | None = None  # replied-to comment, for threads
    deleted: bool = False


@dataclass(frozen=True)
class Message:
    remote_id: str
    conversation_id: str
    author: Person
    text: str
    created_at: dt.datetime
    outgoing: bool = False


@dataclass(frozen=True)
class PostMetrics:
    remote_id: str
    read_at: dt.datetime
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    views: int | None = None
    reach: int | None = None
    reactions: Mapping[str, int] = field(default_factory=dict)
    extra: Mapping[str, int] = field(default_factory=dict)
    #: The post's native poll, where it has one and the network reports its votes.
    poll: PollTally | None = None


@dataclass(frozen=True)
class AudienceCount:
    """One bar of an audience breakdown the network reports (VK community statistics).

    ``basis`` says who was counted ("visitors" of the community, or people "reach"ed by its
    posts); ``dimension`` is "sex", "age", "sex_age", "city", "country" or "device"; ``key`` the
    network's value ("f", "18-21", "f;18-21", a city or country id, "mobile"/"other"); ``label``
    a name to show where the key is an id.
    """

    basis: str
    dimension: str
    key: str
    count: int
    label: str = ""


@dataclass(frozen=True)
class ChannelDayStats:
    """A calendar day (UTC) of the network's own channel statistics; ``None``: not reported."""

    day: dt.date
    joins: int | None = None
    leaves: int | None = None
    reach: int | None = None
    views: int | None = None
    audience: tuple[AudienceCount, ...] = ()


@dataclass(frozen=True)
class ChannelMetrics:
    read_at: dt.datetime
    members: int | None = None
    joins: int | None = None
    leaves: int | None = None
    extra: Mapping[str, int] = field(default_factory=dict)
    #: Per-day statistics where the network keeps them (VK ``stats.get``), oldest first.
    days: tuple[ChannelDayStats, ...] = ()


@dataclass(frozen=True)
class PublicPost:
    remote_id: str
    text: str
    published_at: dt.datetime
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    views: int | None = None
    url: str | None = None
    #: What the post mostly is: "text", "photo", "video", "poll" or "link" (its first media
    #: attachment decides; none: "text").
    content_format: str = "text"


@dataclass(frozen=True)
class PublicPage:
    remote_id: str
    name: str
    members: int | None
    posts: tuple[PublicPost, ...] = ()
    url: str | None = None


class EventKind(enum.StrEnum):
    COMMENT_NEW = "comment_new"
    COMMENT_EDIT = "comment_edit"
    COMMENT_DELETE = "comment_delete"
    COMMENT_RESTORE = "comment_restore"  # a deleted comment brought back (VK wall_reply_restore)
    MESSAGE_NEW = "message_new"
    MESSAGE_EDIT = "message_edit"  # a direct message edited by its author (Telegram edited_message)
    MEMBER_JOIN = "member_join"
    MEMBER_LEAVE = "member_leave"
    POST_NEW = "post_new"
    REACTIONS = "reactions"
    #: Someone addressed the channel where the network tells it: an @mention, a reply to the
    #: channel's own message in a group chat, a post on its wall naming it (``Event.message``).
    MENTION = "mention"
    #: A message in a group chat the channel is in that is not addressed to it (``Event.message``);
    #: the inbox keeps it only when it names one of the workspace's monitored keywords.
    CHATTER = "chatter"
    #: A person allowed the channel to message them (VK ``message_allow``); ``Event.key`` is the
    #: subscription key a widget passed (``messages.allowMessagesFromGroup``), if any.
    MESSAGES_ALLOW = "messages_allow"
    #: A person withdrew it (VK ``message_deny``, Telegram: the bot blocked).
    MESSAGES_DENY = "messages_deny"


@dataclass(frozen=True)
class Event:
    """One thing that happened on a channel, from a webhook or from polling."""

    kind: EventKind
    remote_id: str  # unique per (network, kind) — the inbox stores each once
    channel_remote_id: str
    occurred_at: dt.datetime
    comment: Comment | None = None
    message: Message | None = None
    person: Person | None = None
    post_remote_id: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    #: Where a person can see it on the network (mentions and chatter), when the network has one.
    url: str | None = None
    #: The key a subscription widget or deep link passed with a ``MESSAGES_ALLOW``.
    key: str = ""


@dataclass(frozen=True)
class FoundPost:
    """One public post a network search found (:meth:`Adapter.search_posts`)."""

    remote_id: str
    text: str
    published_at: dt.datetime
    author: Person
    url: str | None = None


@dataclass(frozen=True)
class SearchPage:
    """One page of search results, newest first; ``cursor`` asks for the next page (``None``: no more)."""

    posts: tuple[FoundPost, ...]
    cursor: str | None
    total: int | None = None


@dataclass(frozen=True)
class WebhookResult:
    """What a webhook delivery meant, and what to answer the network."""

    events: tuple[Event, ...] = ()
    status: int = 200
    body: bytes = b"ok"
    content_type: str = "text/plain"


@dataclass(frozen=True)
class UpdatesPage:
    events: tuple[Event, ...]
    cursor: str | None  # persist it; pass it back on the next call


@dataclass(frozen=True)
class Problem:
    """One reason a piece of content does not fit a network."""

    field: str
    message: str


class Adapter:
    """Base class of every network adapter. Subclasses set the class attributes and
    override the methods named in ``capabilities``."""

    network: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    limits: ClassVar[Limits] = Limits()
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    #: Whether :meth:`send_message` honours its ``idempotency_key`` on the network (VK's
    #: ``random_id``): a send whose outcome is unknown may then be repeated with the same key.
    idempotent_messages: ClassVar[bool] = False
    default_base_url: ClassVar[str]
    #: True when the network honours an idempotency key on create calls (VK guid, Mastodon
    #: Idempotency-Key, Bluesky rkey): then an unknown outcome may be retried with the same key.
    idempotent_publish: ClassVar[bool] = False
    #: The credential field :meth:`search_posts` needs (VK: the administrator's user token); a
    #: channel without it cannot search, and the monitoring page says so.
    search_credential: ClassVar[str] = ""
    #: Without HIDE_COMMENT: why, in words for people (which of the network's methods exist).
    no_hide_reason: ClassVar[_StrOrPromise] = ""
    #: Credential keys the adapter itself writes through :func:`rotate_credentials` (a session it
    #: created); never typed by a person, dropped when a person changes the credentials.
    managed_credentials: ClassVar[frozenset[str]] = frozenset()

    # -- text ---------------------------------------------------------------------------
    def text_length(self, text: str) -> int:
        from rupor.networks.text import measure

        return measure(text, self.limits.text_unit)

    def limits_for(self, settings: Mapping[str, Any] | None) -> Limits:
        """The limits of one channel: the network's, with what its server stated for itself when
        the channel was verified (``settings["network_limits"]``, see :attr:`ChannelInfo.limits`)."""
        stated = (settings or {}).get(LIMITS_SETTING)
        if not isinstance(stated, Mapping) or not stated:
            return self.limits
        names = {f.name: f for f in dataclasses.fields(Limits)}
        changes: dict[str, Any] = {}
        for key, value in stated.items():
            if key not in names or key == "text_unit":
                continue
            if key.endswith("_types") and isinstance(value, (list, tuple)) and value:
                changes[key] = tuple(str(v) for v in value)
            elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
                changes[key] = value
        return dataclasses.replace(self.limits, **changes)

    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        """Check content against this network's limits (or one channel's, from
        :meth:`limits_for`) without any I/O."""
        from rupor.networks.text import validate_against_limits

        return validate_against_limits(self, content, limits)

    def advice(self, content: Content) -> list[Problem]:
        """Soft notes on what the network will do to ``content`` on the way (a picture converted
        or cropped): the composer shows them beside the conventions' advice; never a refusal, and
        no I/O."""
        return []

    # -- connection ---------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        raise NotSupported(f"{self.display_name} cannot verify credentials")

    def refresh(self, channel: ChannelAccess) -> Mapping[str, str] | None:
        """Return new credentials, or ``None`` when they do not expire."""
        return None

    def access_expires(self, credentials: Mapping[str, str]) -> dt.datetime | None:
        """When the stored access token ends (``None``: never, or not known); :meth:`refresh`
        renews it ahead of that (``Capability.REFRESH``)."""
        return None

    def connection_expires(self, credentials: Mapping[str, str]) -> dt.datetime | None:
        """When the connection ends unless a person reconnects (no refresh can extend it):
        people are warned ahead of it (``None``: never, or not known)."""
        return None

    # -- publishing ---------------------------------------------------------------------
    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        raise NotSupported(f"{self.display_name} cannot publish")

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """The limits one publish of ``content`` on ``channel`` counts against (none by default).

        The engine spaces calls so that no declared limit is ever reached, across all workers.
        """
        return ()

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """After an unknown outcome: the post if the network shows it exists, else ``None``."""
        raise NotSupported(f"{self.display_name} cannot look up a post after an unknown outcome")

    def complete(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        """Second step of two-step publishing (``Published.waiting_on_platform``)."""
        raise NotSupported(f"{self.display_name} has no second publishing step")

    def edit(self, channel: ChannelAccess, remote_id: str, content: Content) -> None:
        raise NotSupported(f"{self.display_name} cannot edit posts")

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        raise NotSupported(f"{self.display_name} cannot delete posts")

    def pin(self, channel: ChannelAccess, remote_id: str) -> None:
        raise NotSupported(f"{self.display_name} cannot pin posts")

    # -- conversation -------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        """The post's comments (newer than ``since`` when given). A post deleted on the network
        has none: that is an empty list, not an error of the channel."""
        raise NotSupported(f"{self.display_name} cannot read comments")

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,
    ) -> Comment:
        raise NotSupported(f"{self.display_name} cannot reply to comments")

    def hide_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:
        raise NotSupported(f"{self.display_name} cannot hide comments")

    def delete_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:
        raise NotSupported(f"{self.display_name} cannot delete comments")

    def restore_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:
        raise NotSupported(f"{self.display_name} cannot restore deleted comments")

    def ban_user(self, channel: ChannelAccess, user_remote_id: str, *, reason: str = "") -> None:
        raise NotSupported(f"{self.display_name} cannot ban users")

    def people(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[Person]:
        """Profiles of these people (name, link, avatar, followers where the network gives them),
        in as few calls as the network allows; people it does not know are left out."""
        raise NotSupported(f"{self.display_name} cannot look people up")

    def read_messages(self, channel: ChannelAccess, *, since: dt.datetime | None = None) -> Sequence[Message]:
        raise NotSupported(f"{self.display_name} cannot read direct messages")

    def send_message(
        self, channel: ChannelAccess, conversation_id: str, text: str, *, idempotency_key: str
    ) -> Message:
        raise NotSupported(f"{self.display_name} cannot send direct messages")

    def message_reads(self, channel: ChannelAccess, conversation_ids: Sequence[str]) -> Mapping[str, str]:
        """For each conversation, the id of the last message the channel sent that the person has
        read ("" when none); conversations the network does not know are left out. Messages are
        read in order, so every message of ours up to that id is read (READ_RECEIPTS)."""
        raise NotSupported(f"{self.display_name} does not tell whether a message was read")

    # -- measurement --------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        raise NotSupported(f"{self.display_name} cannot read post metrics")

    def stop_poll(self, channel: ChannelAccess, remote_id: str) -> PollTally:
        """Close the post's native poll now and return its final votes (Telegram ``stopPoll``);
        networks that close polls themselves at the closing time do not need it."""
        raise NotSupported(f"{self.display_name} cannot stop polls")

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        raise NotSupported(f"{self.display_name} cannot read channel metrics")

    def public_page(self, channel: ChannelAccess, handle: str, *, limit: int = 20) -> PublicPage:
        raise NotSupported(f"{self.display_name} cannot read other public pages")

    # -- intake -------------------------------------------------------------------------
    def handle_webhook(
        self, channel: ChannelAccess, headers: Mapping[str, str], body: bytes
    ) -> WebhookResult:
        """Check a delivery's authenticity (secret), parse it, and say what to answer."""
        raise NotSupported(f"{self.display_name} does not deliver webhooks")

    def poll_updates(self, channel: ChannelAccess, cursor: str | None) -> UpdatesPage:
        raise NotSupported(f"{self.display_name} cannot be polled for updates")

    # -- giveaways -----------------------------------------------------------------------
    def membership(self, channel: ChannelAccess, user_ids: Sequence[str]) -> Mapping[str, bool]:
        """Whether each of these people is a member (subscriber) of the channel's community now."""
        raise NotSupported(f"{self.display_name} cannot check membership")

    def community_members(self, channel: ChannelAccess) -> Sequence[str]:
        """Every member of the channel's community now (their remote ids)."""
        raise NotSupported(f"{self.display_name} cannot list its members")

    def community_staff(self, channel: ChannelAccess) -> Sequence[str]:
        """The people who manage the channel's community (administrators, editors, moderators)."""
        raise NotSupported(f"{self.display_name} cannot list its managers")

    def post_likers(self, channel: ChannelAccess, post_remote_id: str) -> Sequence[str]:
        """Everyone who likes the post now."""
        raise NotSupported(f"{self.display_name} cannot list who liked a post")

    def post_reposters(self, channel: ChannelAccess, post_remote_id: str) -> Sequence[str]:
        """Everyone who reposted (shared) the post."""
        raise NotSupported(f"{self.display_name} cannot list who reposted a post")

    # -- monitoring ---------------------------------------------------------------------
    def search_posts(
        self,
        channel: ChannelAccess,
        query: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> SearchPage:
        """Public posts of the whole network that contain ``query``, published between ``since``
        and ``until``, newest first, a page at a time (``cursor`` from the previous page)."""
        raise NotSupported(f"{self.display_name} does not let Rupor search public posts")

    def reply_mention(
        self,
        channel: ChannelAccess,
        conversation_id: str,
        mention_remote_id: str,
        text: str,
        *,
        idempotency_key: str,
    ) -> Message:
        """Answer a mention (a ``MENTION`` event's message) in the same chat or thread."""
        raise NotSupported(f"{self.display_name} cannot answer mentions")


CallWindow = Callable[[Sequence[RateLimit]], AbstractContextManager[None]]
_call_window: CallWindow | None = None


def install_call_window(window: CallWindow | None) -> None:
    """Install the shared limiter every network call goes through (the publishing app installs
    :func:`rupor.publishing.ratelimit.window` when Django starts; ``None`` removes it)."""
    global _call_window
    _call_window = window


def call_window(limits: Sequence[RateLimit]) -> AbstractContextManager[None]:
    """Hold one call's place in ``limits`` (``cost`` ignored) for as long as the call is in
    flight, waiting for room first; the network then never counts more than ``limit`` calls in
    ``per_s``. Without an installed limiter (a bare adapter outside Rupor), calls go unpaced."""
    return _call_window(limits) if _call_window is not None else nullcontext()


def looks_like_video(data: bytes) -> bool:
    """True when ``data`` starts like a video container (ISO BMFF/MP4/MOV, Matroska/WebM, AVI,
    MPEG program/transport stream, FLV, ASF/WMV, Ogg, RealMedia). The first 189 bytes are
    enough (a :class:`Media`'s ``head``)."""
    head = data[:16]
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")
        or head[:4] == b"\x1a\x45\xdf\xa3"
        or (head[:4] == b"RIFF" and head[8:11] == b"AVI")
        or head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3", b"OggS", b".RMF")
        or (head[:1] == b"G" and data[188:189] == b"G")
        or head[:3] == b"FLV"
        or head[:4] == b"\x30\x26\xb2\x75"
    )


#: Renews a channel's credentials: given the newest stored ones, returns replacements to store, or
#: ``None`` when those are still good (another worker already renewed them).
Renewal = Callable[[Mapping[str, str]], Mapping[str, str] | None]
#: Renews under a lock where the credentials are kept; ``None`` when it keeps nothing for this
#: access (a probe before the channel is saved): then this process's memory keeps them.
CredentialStore = Callable[[ChannelAccess, Renewal], Mapping[str, str] | None]
_credential_store: CredentialStore | None = None
_rotated: dict[tuple[str, str, str, str], Mapping[str, str]] = {}
_rotation_locks: dict[tuple[str, str], threading.Lock] = {}
_rotation_guard = threading.Lock()


def install_credential_store(store: CredentialStore | None) -> None:
    """Install where rotated credentials are kept (the channels app installs one that locks the
    channel's row and saves them encrypted; ``None`` keeps them in this process only)."""
    global _credential_store
    _credential_store = store


def _secret_key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def latest_credentials(channel: ChannelAccess) -> Mapping[str, str]:
    """The newest credentials this process knows for ``channel``: those it was given, or what
    they were rotated into since (a refresh token works once, so the old ones are spent)."""
    creds = channel.credentials
    for _step in range(100):
        newer = _rotated.get(_memory_key(channel, creds))
        if newer is None or newer is creds:
            return creds
        creds = newer
    return creds


def _memory_key(channel: ChannelAccess, creds: Mapping[str, str]) -> tuple[str, str, str, str]:
    """Which credentials these are: all of them but those the adapter writes itself (a session),
    so a rotated refresh token (X) leads on to its successor, and a session written beside the
    same handle and password (Bluesky) is found again, but never another password's."""
    from rupor.networks import registry

    managed = (
        registry.adapter(channel.network).managed_credentials if channel.network in registry.NETWORKS else ()
    )
    own = "\n".join(f"{k}={v}" for k, v in sorted(creds.items()) if k not in managed)
    return (channel.network, channel.remote_id, channel.base_url or "", _secret_key(own))


def rotate_credentials(channel: ChannelAccess, renew: Renewal) -> Mapping[str, str]:
    """Renew ``channel``'s credentials under a per-channel lock and keep the result: ``renew``
    sees the newest stored credentials and returns new ones, or ``None`` when they are fresh.
    Only one renewal runs at a time for a channel, so a rotating refresh token is used once."""
    with _rotation_guard:
        lock = _rotation_locks.setdefault((channel.network, channel.remote_id), threading.Lock())
    with lock:
        kept = _credential_store(channel, renew) if _credential_store is not None else None
        if kept is not None:
            current = kept
        else:
            current = latest_credentials(channel)
            fresh = renew(current)
            if fresh is not None:
                current = fresh
        start = channel.credentials
        for creds in {
            id(start): start,
            id(latest_credentials(channel)): latest_credentials(channel),
        }.values():
            # A refresh token that changed (X), or a session written beside the same ones (Bluesky).
            if creds is not current and dict(creds) != dict(current):
                _rotated[_memory_key(channel, creds)] = current
        return current
