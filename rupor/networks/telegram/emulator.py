"""A local Telegram Bot API server that behaves like ``api.telegram.org``.

Built from the Bot API 10.1 spec (``api.json``, vendored beside this file with its license)
and the server's documented behaviour, not from our adapter:

* routes ``/bot<token>/<method>`` (GET query string, POST urlencoded, JSON or multipart; method
  names are case-insensitive) and ``/file/bot<token>/<file_path>``;
* the ``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code", "description",
  "parameters"}`` envelope, 401 ``Unauthorized`` for an unknown token, 404 ``Not Found`` for an
  unknown method, the spec's required parameters with the server's own messages;
* HTML entity parsing with the real ``can't parse entities`` errors and the 4096/1024 limits
  counted in UTF-16 on the parsed text; polls, photos (real image headers are read), videos,
  albums with ``attach://``;
* channels and supergroups with ``-100`` ids and ``@username``; the bot's administrator rights;
  a discussion group linked to the demo channel receiving automatic forwards
  (``is_automatic_forward``) of every channel post; a basic group upgraded to a supergroup
  (``migrate_to_chat_id``);
* the FAQ's flood limits (about 30 messages/s per bot, about 1 message/s per chat after a short
  burst, 20 messages per minute per group) answered with 429 and ``parameters.retry_after``;
* no idempotency at all: every send creates a new message;
* group messages: a bot that is an administrator of a group receives all of them; an ordinary
  member with privacy mode on (``can_read_all_group_messages`` false, the default) receives only
  commands, messages that mention it (``@username``, ``text_mention``) and replies to its own
  messages (``privacy_mode=False`` turns it off: every message, and ``getMe`` says so); the
  server marks ``mention``, ``bot_command``, ``hashtag`` and ``url`` entities itself (UTF-16
  offsets). ``POST /_emulator/group_message`` ``{"chat_id", "text", "user_id"?,
  "reply_to"?, "text_mention"?: {"offset", "length", "user_id"}, "message_thread_id"?}`` makes a
  member write one; "Coffee Talk" (``@coffee_talk``) is a supergroup where the demo bot is a
  plain member;
* ``getChatMember`` for a reader: ``member`` unless a ``chat_member`` update said otherwise
  (``POST /_emulator/audience/membership`` ``{"chat_id"?, "user_id", "action": "join"|"leave"}``
  sends one, as the hourly subscriber flow does);
* private chats: ``POST /_emulator/private_message`` ``{"user_id", "text"}`` makes a person
  write to the demo bot (``/start`` first; their chat's id is their user id), ``POST
  /_emulator/block_bot`` ``{"user_id"}`` has them block it (``my_chat_member`` ``kicked``); a
  bot writes only to people who started it ("Forbidden: bot can't initiate conversation with a
  user") and never after a block ("Forbidden: bot was blocked by the user"), both 403;
  writing again unblocks it;
* the 48-hour delete window, "message is not modified", pinning;
* updates: ``getUpdates`` with offsets and remembered ``allowed_updates``, 409 while a webhook is
  set, webhook delivery from a background thread with the ``X-Telegram-Bot-Api-Secret-Token``
  header and retries; a simulated audience (comments in the discussion group replying to the
  automatic forward, subscribers joining, reactions growing with emulator time, all derived
  from the seed).

Where it knowingly differs: webhooks may use plain ``http://`` on loopback hosts (the real
server demands HTTPS), photo URLs are not fetched, and methods of the spec it does not model
answer ``400 Bad Request: method is not implemented by the emulator`` after the spec's required
parameters are checked. MarkdownV2 and legacy Markdown are parsed with the common rules (escapes,
reserved characters, unclosed entities), not every corner of TDLib's parser.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import itertools
import json
import math
import random
import re
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.telegram.formatting import EntityParseError, parse_html, parse_markdown, parse_markdown_v2
from rupor.networks.text import utf16_length

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("api.json").read_text("utf-8"))
#: lower-case method name -> spec entry (the Bot API treats method names case-insensitively)
METHODS: dict[str, dict[str, Any]] = {name.lower(): spec for name, spec in SPEC["methods"].items()}
CANONICAL: dict[str, str] = {name.lower(): name for name in SPEC["methods"]}

DEMO_BOT_ID = 7000000001
DEMO_TOKEN = f"{DEMO_BOT_ID}:AAE-rupor-demo-bot-token-0123456789ab"
OTHER_BOT_ID = 7000000002
OTHER_TOKEN = f"{OTHER_BOT_ID}:AAF-second-bot-token-nowhere-admin-42"
DEMO_CHANNEL_ID = -1001000000001
DISCUSSION_GROUP_ID = -1001000000002
OTHER_CHANNEL_ID = -1001000000003
UPGRADED_SUPERGROUP_ID = -1001000000004
OLD_GROUP_ID = -4000000001
#: A public supergroup where the demo bot is an ordinary member (privacy mode applies there).
COFFEE_TALK_ID = -1001000000005

TEXT_MAX = 4096
CAPTION_MAX = 1024
PHOTO_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_MAX_BYTES = 50 * 1024 * 1024
DELETE_WINDOW_S = 48 * 3600
UPDATE_TTL_S = 24 * 3600
DEFAULT_UPDATES = frozenset(
    f["name"] for f in SPEC["types"]["Update"]["fields"] if f["name"] != "update_id"
) - {"chat_member", "message_reaction", "message_reaction_count"}
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "sendvideo", "sendmediagroup", "sendpoll"})

_AUDIENCE_NAMES = (
    "Anna",
    "Boris",
    "Chen",
    "Dasha",
    "Elif",
    "Farid",
    "Gleb",
    "Hana",
    "Igor",
    "Jae-won",
    "Katya",
    "Lev",
    "Mina",
    "Nikita",
    "Olga",
    "Pavel",
    "Rustam",
    "Sofia",
    "Timur",
    "Yulia",
)
_COMMENTS = (
    "Great post, thanks!",
    "Интересно, расскажите подробнее?",
    "Where can I read more?",
    "👍👍",
    "Согласен полностью",
    "좋은 정보 감사합니다",
    "When is the next one?",
    "Отличная новость 🔥",
)
_ADMIN_FLAGS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
#: Subscribers who join and leave the demo channel per day on average (networks/engagement.py).
CHANNEL_JOINS_PER_DAY = 16.0
CHANNEL_LEAVES_PER_DAY = 8.0
_REACTIONS = ("👍", "❤", "🔥", "🎉", "👏")

# Messages the server gives for a missing required parameter, where it is not "<name> is empty".
_MISSING: dict[tuple[str, str], str] = {
    ("sendmessage", "text"): "message text is empty",
    ("editmessagetext", "text"): "message text is empty",
    ("sendphoto", "photo"): "there is no photo in the request",
    ("sendvideo", "video"): "there is no video in the request",
    ("sendmediagroup", "media"): 'parameter "media" is required',
    ("sendpoll", "question"): "poll question must be non-empty",
    ("sendpoll", "options"): "can't parse options JSON object",
    ("deletemessage", "chat_id"): "chat identifier is not specified",
    ("deletemessage", "message_id"): "message identifier is not specified",
    ("pinchatmessage", "message_id"): "message to pin not found",
    ("getchatmember", "user_id"): "invalid user_id specified",
    ("getfile", "file_id"): "invalid file_id",
}
# Required in the spec, but the server accepts their absence (setWebhook with no url deletes it).
_NOT_ENFORCED = {("setwebhook", "url")}


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters or {}


def _bad(description: str, **parameters: Any) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters or None)


def error_body(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def too_many(retry_after: int) -> JSONResponse:
    retry_after = max(1, int(retry_after))
    return JSONResponse(
        error_body(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}),
        status_code=429,
    )


# -- request parameters -----------------------------------------------------------------------


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


class Params:
    """Parameters of one call, from the query string and the body, as the server merges them."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        value = self.values.get(name)
        if name in self.files:
            return True
        return value is not None and value != ""

    def text(self, name: str) -> str:
        value = self.values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    def integer(self, name: str, default: int = 0) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            return 0  # the server's to_integer: garbage reads as 0

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value != 0
        return str(value or "").strip().lower() in ("true", "1")

    def json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise _bad(error) from exc
        return value


async def read_params(request: Request, body: bytes) -> Params:
    values: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and body:
        if content_type == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise _bad("can't parse JSON object") from exc
            if isinstance(decoded, dict):
                values.update(decoded)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form(max_files=100, max_fields=1000, max_part_size=UPLOAD_MAX_BYTES)
            for key, item in form.multi_items():
                if isinstance(item, UploadFile):
                    data = await item.read()
                    files[key] = Upload(
                        item.filename or key, item.content_type or "application/octet-stream", data
                    )
                else:
                    values[key] = item
    return Params(values, files)


# -- images -----------------------------------------------------------------------------------


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, JPEG or GIF header; ``None`` when it is not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


# -- state ------------------------------------------------------------------------------------


@dataclass
class Chat:
    id: int
    type: str  # "channel" | "supergroup" | "group" | "private"
    title: str
    username: str | None = None
    description: str = ""
    linked_chat_id: int | None = None
    members: int = 0
    migrated_to: int | None = None
    bot_status: dict[int, str] = field(default_factory=dict)  # bot id -> administrator|member|left|kicked
    bot_rights: dict[int, dict[str, bool]] = field(default_factory=dict)
    #: People whose membership changed (chat_member updates): user id -> member|left|kicked.
    statuses: dict[int, str] = field(default_factory=dict)
    next_message_id: int = 1
    pinned: int | None = None
    created: float = 0.0

    def short(self) -> dict[str, Any]:
        if self.type == "private":  # a person's chat with the bot: its id is theirs, no title
            return {"id": self.id, "type": "private", "first_name": self.title}
        out: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            out["username"] = self.username
        return out


def _format(payload: dict[str, Any]) -> str:
    """A message's format for the engagement model: video, photo, poll or link."""
    for key, name in (("video", "video"), ("animation", "video"), ("photo", "photo"), ("poll", "poll")):
        if key in payload:
            return name
    entities = payload.get("entities") or []
    return "link" if any(e.get("type") in ("url", "text_link") for e in entities) else "text"


@dataclass
class Stored:
    chat_id: int
    message_id: int
    date: float
    payload: dict[str, Any]
    by_bot: int | None = None  # the bot that sent it
    deleted: bool = False
    forward_of: tuple[int, int] | None = None  # (channel id, post id) for automatic forwards
    forward_id: int | None = None  # for channel posts: the automatic forward's id in the discussion group


@dataclass
class BotState:
    id: int
    token: str
    username: str
    first_name: str
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    allowed: frozenset[str] = DEFAULT_UPDATES
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    revoked: bool = False

    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}


class Emulator:
    """All state of one emulated Bot API server. Every public method takes the lock."""

    def __init__(self, seed: int = 0, rate_limits: bool = True, **options: Any) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.chat_burst = int(options.get("chat_burst", 20))
        self.group_per_minute = int(options.get("group_per_minute", 20))
        self.global_per_second = int(options.get("global_per_second", 30))
        self.audience = bool(options.get("audience", True))
        #: Privacy mode (BotFather's /setprivacy, on by default): off, a member bot gets every message.
        self.privacy_mode = bool(options.get("privacy_mode", True))
        self.webhook_retry_s = float(options.get("webhook_retry_s", 0.2))
        self.clock = EmulatorClock()
        self.lock = threading.RLock()
        self._update_ids = itertools.count(100_000_000 + seed * 1000)
        self._file_ids = itertools.count(1)
        self._poll_ids = itertools.count(5_000_000_000_000_000_000 + seed)
        self._media_group_ids = itertools.count(13_000_000_000_000_000 + seed)
        self.ledger: list[dict[str, Any]] = []
        self._webhook_threads: dict[int, BotState] = {}  # bot id -> the BotState a delivery thread serves
        self._stop = threading.Event()
        self._build()

    # -- seeding -------------------------------------------------------------------------------

    def _build(self) -> None:
        now = self.clock.timestamp()
        self.started = now
        self.bots: dict[str, BotState] = {}
        for bot in (
            BotState(DEMO_BOT_ID, DEMO_TOKEN, "rupor_demo_bot", "Rupor Demo Bot"),
            BotState(OTHER_BOT_ID, OTHER_TOKEN, "rupor_other_bot", "Rupor Other Bot"),
        ):
            self.bots[bot.token] = bot
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], Stored] = {}
        self.files: dict[str, tuple[str, bytes, str]] = {}  # file_id -> (file_path, data, unique id)
        self.users: dict[int, dict[str, Any]] = {}
        for index, name in enumerate(_AUDIENCE_NAMES):
            uid = 100_000_001 + index
            self.users[uid] = {"id": uid, "is_bot": False, "first_name": name, "language_code": "en"}
        channel_rights = {
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": False,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_post_messages": True,
            "can_edit_messages": True,
        }
        group_rights = {
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": False,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": False,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_pin_messages": True,
            "can_manage_topics": False,
        }
        rng = random.Random(self.seed)
        self._add_chat(
            Chat(
                DEMO_CHANNEL_ID,
                "channel",
                "Rupor Demo",
                "rupor_demo",
                "News from the Rupor demo",
                linked_chat_id=DISCUSSION_GROUP_ID,
                members=1200 + rng.randint(0, 300),
                next_message_id=101,
                bot_status={DEMO_BOT_ID: "administrator", OTHER_BOT_ID: "left"},
                bot_rights={DEMO_BOT_ID: channel_rights},
                created=now,
            )
        )
        self._add_chat(
            Chat(
                DISCUSSION_GROUP_ID,
                "supergroup",
                "Rupor Demo Chat",
                "rupor_demo_chat",
                "Comments on @rupor_demo",
                linked_chat_id=DEMO_CHANNEL_ID,
                members=180 + rng.randint(0, 40),
                next_message_id=501,
                bot_status={DEMO_BOT_ID: "administrator", OTHER_BOT_ID: "left"},
                bot_rights={DEMO_BOT_ID: group_rights},
                created=now,
            )
        )
        self._add_chat(
            Chat(
                OTHER_CHANNEL_ID,
                "channel",
                "Someone Else's Channel",
                "rupor_other",
                "A channel where the bot only reads",
                members=5400,
                next_message_id=2001,
                bot_status={DEMO_BOT_ID: "member", OTHER_BOT_ID: "left"},
                created=now,
            )
        )
        self._add_chat(
            Chat(
                UPGRADED_SUPERGROUP_ID,
                "supergroup",
                "Rupor Team",
                None,
                "Upgraded from a basic group",
                members=42,
                next_message_id=31,
                bot_status={DEMO_BOT_ID: "administrator", OTHER_BOT_ID: "left"},
                bot_rights={DEMO_BOT_ID: group_rights},
                created=now,
            )
        )
        self._add_chat(
            Chat(
                OLD_GROUP_ID,
                "group",
                "Rupor Team",
                None,
                migrated_to=UPGRADED_SUPERGROUP_ID,
                members=42,
                bot_status={DEMO_BOT_ID: "member", OTHER_BOT_ID: "left"},
                created=now,
            )
        )
        self._add_chat(
            Chat(
                COFFEE_TALK_ID,
                "supergroup",
                "Coffee Talk",
                "coffee_talk",
                "People talking about coffee",
                members=950,
                next_message_id=7001,
                bot_status={DEMO_BOT_ID: "member", OTHER_BOT_ID: "left"},
                created=now,
            )
        )
        self._joined = 0  # simulated subscribers who joined the demo channel so far
        self._left = 0  # ... and who left it again
        self._member_hour = int(now // 3600)  # the last hour whose joins and leaves are applied
        self._audience: dict[tuple[int, int], int] = {}  # channel post -> members when posted
        self._comments_made: set[tuple[int, int, int]] = set()
        self._reported_reactions: dict[tuple[int, int], tuple[float, dict[str, int]]] = {}
        self._buckets: dict[Any, tuple[float, float]] = {}
        self._channel_posts: list[Stored] = []  # the bot's posts in the demo channel (audience targets)
        self._plans: dict[tuple[int, int], tuple[list[tuple[float, int, str]], float]] = {}
        self._last_simulated = 0.0
        self._windows: dict[int, deque[float]] = {}

    def _add_chat(self, chat: Chat) -> None:
        self.chats[chat.id] = chat

    def reset(self) -> None:
        with self.lock:
            for bot in self.bots.values():
                bot.webhook_url = ""
            self.ledger.clear()
            self._build()

    def close(self) -> None:
        self._stop.set()

    # -- helpers -------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.timestamp()

    def record(self, kind: str, **details: Any) -> None:
        self.ledger.append({"kind": kind, "at": int(self.now()), **details})

    def bot_for(self, token: str) -> BotState:
        bot = self.bots.get(token)
        if bot is None or bot.revoked:
            raise ApiError(401, "Unauthorized")
        return bot

    def resolve(
        self, raw: str, bot: BotState, *, write: bool = False, missing: str = "chat_id is empty"
    ) -> Chat:
        raw = raw.strip()
        if not raw:
            raise _bad(missing)
        chat: Chat | None = None
        if raw.startswith("@"):
            wanted = raw[1:].lower()
            chat = next((c for c in self.chats.values() if c.username and c.username.lower() == wanted), None)
        else:
            try:
                chat = self.chats.get(int(raw))
            except ValueError:
                chat = None
        if chat is None and write and raw.isdigit() and int(raw) in self.users:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat is None:
            raise _bad("chat not found")
        status = chat.bot_status.get(bot.id, "left")
        if chat.type == "private":
            # A bot may write only to people who started it, and not after they blocked it.
            if status == "kicked":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if status == "left":
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return chat
        if chat.type == "group" and chat.migrated_to is not None and write:
            raise _bad("group chat was upgraded to a supergroup chat", migrate_to_chat_id=chat.migrated_to)
        if status == "kicked":
            kind = (
                "channel"
                if chat.type == "channel"
                else ("supergroup" if chat.type == "supergroup" else "group")
            )
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if status == "left" and (write or not chat.username):
            kind = (
                "channel"
                if chat.type == "channel"
                else ("supergroup" if chat.type == "supergroup" else "group")
            )
            if not chat.username and not write:
                raise _bad("chat not found")
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def can(self, chat: Chat, bot: BotState, right: str) -> bool:
        return chat.bot_status.get(bot.id) == "administrator" and chat.bot_rights.get(bot.id, {}).get(
            right, False
        )

    def check_can_send(self, chat: Chat, bot: BotState) -> None:
        if chat.type == "channel" and not self.can(chat, bot, "can_post_messages"):
            raise _bad("need administrator rights in the channel chat")

    def text_and_entities(
        self, text: str, parse_mode: str, entities: Any, *, limit: int, caption: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        mode = parse_mode.strip().lower()
        if mode and mode != "none" and text:
            if mode == "html":
                try:
                    plain, parsed = parse_html(text)
                except EntityParseError as exc:
                    raise _bad(f"can't parse entities: {exc}") from exc
            elif mode in ("markdown", "markdownv2"):
                try:
                    plain, parsed = (parse_markdown_v2 if mode == "markdownv2" else parse_markdown)(text)
                except EntityParseError as exc:
                    raise _bad(f"can't parse entities: {exc}") from exc
            else:
                raise _bad("unsupported parse_mode")
        else:
            plain = text
            parsed = entities if isinstance(entities, list) else []
        # The server strips leading and trailing whitespace before counting.
        stripped = plain.strip()
        if not caption and not stripped:
            raise _bad("message must be non-empty" if text else "message text is empty")
        if utf16_length(plain) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return plain, parsed

    def take_rate(self, bot: BotState, chat: Chat, count: int = 1, *, paid: bool = False) -> None:
        """Flood control from the Bot FAQ, on the emulator's clock; raises 429 when over."""
        if not self.rate_limits:
            return
        now = self.now()
        waits: list[float] = []
        global_rate = 1000 if paid else self.global_per_second
        checks: list[tuple[Any, float, float]] = [
            (("global", bot.id), float(global_rate), float(global_rate))
        ]
        if not paid:
            checks.append((("chat", bot.id, chat.id), float(self.chat_burst), 1.0))
        for key, capacity, rate in checks:
            level, stamp = self._buckets.get(key, (capacity, now))
            level = min(capacity, level + (now - stamp) * rate)
            if level < count:
                waits.append((count - level) / rate)
            self._buckets[key] = (level, now)
        if chat.type in ("group", "supergroup") and not paid:
            window = self._windows.setdefault(chat.id, deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) + count > self.group_per_minute:
                waits.append(window[0] + 60 - now if window else 60.0)
        if waits:
            raise ApiError(429, "", {"retry_after": max(1, math.ceil(max(waits)))})
        for key, _capacity, _rate in checks:
            level, stamp = self._buckets[key]
            self._buckets[key] = (level - count, stamp)
        if chat.type in ("group", "supergroup") and not paid:
            self._windows[chat.id].extend([now] * count)

    def new_file_id(self, kind: str, data: bytes, extension: str) -> tuple[str, str]:
        number = next(self._file_ids)
        digest = hashlib.sha256(f"{self.seed}:{kind}:{number}".encode()).digest()
        file_id = {"photo": "AgACAgIAAxkBAA", "video": "BAACAgIAAxkBAA"}.get(
            kind, "BQACAgIAAxkBAA"
        ) + base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
        unique = "AQAD" + base64.urlsafe_b64encode(digest[24:32]).decode().rstrip("=")
        path = f"{kind}s/file_{number}.{extension}"
        self.files[file_id] = (path, data, unique)
        return file_id, unique

    # -- messages ------------------------------------------------------------------------------

    def store(
        self, chat: Chat, payload: dict[str, Any], *, bot: BotState | None, date: float | None = None
    ) -> Stored:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        when = self.now() if date is None else date
        body = {"message_id": message_id, **payload, "chat": chat.short(), "date": int(when)}
        if bot is not None:
            if chat.type == "channel":
                body["sender_chat"] = chat.short()
            else:
                body["from"] = bot.user()
        stored = Stored(chat.id, message_id, when, body, by_bot=bot.id if bot else None)
        self.messages[(chat.id, message_id)] = stored
        return stored

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        only_admin_of: Chat | None = None,
        only_bot: int | None = None,
    ) -> None:
        for bot in self.bots.values():
            if kind not in bot.allowed or bot.revoked or (only_bot is not None and bot.id != only_bot):
                continue
            chat_id = payload.get("chat", {}).get("id")
            chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
            if chat is not None and chat.bot_status.get(bot.id, "left") not in ("administrator", "member"):
                continue
            if only_admin_of is not None and only_admin_of.bot_status.get(bot.id) != "administrator":
                continue
            bot.updates.append({"update_id": next(self._update_ids), kind: payload, "_at": self.now()})

    def post_to_chat(
        self, bot: BotState, chat: Chat, payload: dict[str, Any], reply_to: Stored | None = None
    ) -> Stored:
        extra: dict[str, Any] = {}
        if reply_to is not None:
            thread = reply_to.payload.get("message_thread_id")
            if reply_to.forward_of is not None:
                thread = reply_to.message_id
            if thread is not None:
                extra["message_thread_id"] = thread
            extra["reply_to_message"] = {k: v for k, v in reply_to.payload.items() if k != "reply_to_message"}
        stored = self.store(chat, {**extra, **payload}, bot=bot)
        self.record("message_sent", chat_id=chat.id, message_id=stored.message_id, bot_id=bot.id)
        if chat.type == "channel" and chat.linked_chat_id in self.chats:
            self.forward_to_discussion(chat, stored)
        if chat.id == DEMO_CHANNEL_ID:
            self._channel_posts.append(stored)
            self._audience[(chat.id, stored.message_id)] = chat.members
        return stored

    def forward_to_discussion(self, channel: Chat, post: Stored) -> None:
        group = self.chats[channel.linked_chat_id or 0]
        content = {
            k: v for k, v in post.payload.items() if k not in ("message_id", "chat", "date", "sender_chat")
        }
        origin = {
            "type": "channel",
            "chat": channel.short(),
            "message_id": post.message_id,
            "date": int(post.date),
        }
        forward = self.store(
            group,
            {
                "sender_chat": channel.short(),
                "is_automatic_forward": True,
                "forward_origin": origin,
                **content,
            },
            bot=None,
            date=post.date,
        )
        forward.forward_of = (channel.id, post.message_id)
        post.forward_id = forward.message_id
        self.enqueue("message", forward.payload)

    def comment(self, post: Stored, user_id: int, text: str) -> Stored:
        """An audience member comments on a channel post (a reply to its automatic forward)."""
        if post.forward_id is None:
            raise ValueError("this post has no discussion thread")
        channel = self.chats[post.chat_id]
        group = self.chats[channel.linked_chat_id or 0]
        forward = self.messages[(group.id, post.forward_id)]
        user = self.users[user_id]
        stored = self.store(
            group,
            {
                "from": user,
                "message_thread_id": forward.message_id,
                "reply_to_message": {k: v for k, v in forward.payload.items() if k != "reply_to_message"},
                "text": text,
            },
            bot=None,
        )
        self.record(
            "comment_created", chat_id=group.id, message_id=stored.message_id, post_message_id=post.message_id
        )
        self.enqueue("message", stored.payload)
        return stored

    @staticmethod
    def auto_entities(text: str) -> list[dict[str, Any]]:
        """The entities the server marks in plain text by itself (offsets in UTF-16 units)."""
        found: list[dict[str, Any]] = []
        patterns = (
            ("bot_command", r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?"),
            ("mention", r"(?<![\w@])@[A-Za-z0-9_]{5,32}"),
            ("hashtag", r"(?<![\w#])#\w+"),
            ("url", r"https?://[^\s]+"),
        )
        for kind, pattern in patterns:
            for match in re.finditer(pattern, text):
                if kind == "bot_command" and match.start() != 0:
                    continue
                before = len(text[: match.start()].encode("utf-16-le")) // 2
                length = len(match.group(0).encode("utf-16-le")) // 2
                found.append({"offset": before, "length": length, "type": kind})
        return sorted(found, key=lambda e: e["offset"])

    def private_message(self, user_id: int, text: str, *, bot_id: int = DEMO_BOT_ID) -> Stored:
        """A person writes to the bot in their private chat (``/start`` first opens it).

        Their chat exists from their first message; writing to a bot they blocked unblocks it
        (Telegram has them press *Restart*), which the bot learns as ``my_chat_member``.
        """
        user = self.users[user_id]
        bot = next(b for b in self.bots.values() if b.id == bot_id)
        chat = self.chats.get(user_id)
        if chat is None:
            chat = Chat(user_id, "private", str(user.get("first_name", "")), created=self.now())
            self.chats[user_id] = chat
        if chat.bot_status.get(bot.id) == "kicked":
            self._private_status(chat, bot, user, "member")
        chat.bot_status[bot.id] = "member"
        entities = self.auto_entities(text)
        payload: dict[str, Any] = {"from": user, "text": text}
        if entities:
            payload["entities"] = entities
        stored = self.store(chat, payload, bot=None)
        if "message" in bot.allowed and not bot.revoked:
            bot.updates.append(
                {"update_id": next(self._update_ids), "message": stored.payload, "_at": self.now()}
            )
        return stored

    def block_bot(self, user_id: int, *, bot_id: int = DEMO_BOT_ID) -> None:
        """A person blocks the bot (or deletes the chat with it): the bot gets ``my_chat_member``
        with the status ``kicked`` and every later message to them is a 403."""
        bot = next(b for b in self.bots.values() if b.id == bot_id)
        chat = self.chats.get(user_id)
        if chat is None or chat.type != "private":
            raise ValueError("this person never started the bot")
        if chat.bot_status.get(bot.id) != "kicked":
            self._private_status(chat, bot, self.users[user_id], "kicked")
            chat.bot_status[bot.id] = "kicked"

    def _private_status(self, chat: Chat, bot: BotState, user: dict[str, Any], new: str) -> None:
        old = chat.bot_status.get(bot.id, "member")
        if "my_chat_member" not in bot.allowed or bot.revoked:
            return
        bot.updates.append(
            {
                "update_id": next(self._update_ids),
                "my_chat_member": {
                    "chat": chat.short(),
                    "from": user,
                    "date": int(self.now()),
                    "old_chat_member": {"user": bot.user(), "status": old},
                    "new_chat_member": {"user": bot.user(), "status": new},
                },
                "_at": self.now(),
            }
        )

    def group_message(
        self,
        chat: Chat,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        text_mention: dict[str, Any] | None = None,
        thread_id: int | None = None,
    ) -> Stored:
        """A member writes in a group; each bot in it gets the update its rights allow."""
        if chat.type not in ("group", "supergroup"):
            raise ValueError("not a group")
        user = self.users[user_id]
        entities = self.auto_entities(text)
        payload: dict[str, Any] = {"from": user, "text": text}
        if text_mention:
            mentioned = next((b for b in self.bots.values() if b.id == int(text_mention["user_id"])), None)
            target = mentioned.user() if mentioned else self.users[int(text_mention["user_id"])]
            entities.append(
                {
                    "offset": int(text_mention["offset"]),
                    "length": int(text_mention["length"]),
                    "type": "text_mention",
                    "user": target,
                }
            )
        if entities:
            payload["entities"] = sorted(entities, key=lambda e: e["offset"])
        parent = None
        if reply_to is not None:
            parent = self.messages.get((chat.id, reply_to))
            if parent is None or parent.deleted:
                raise ValueError("message to be replied not found")
            payload["reply_to_message"] = {k: v for k, v in parent.payload.items() if k != "reply_to_message"}
        if thread_id is not None:
            payload["message_thread_id"] = thread_id
            payload["is_topic_message"] = True
        stored = self.store(chat, payload, bot=None)
        for bot in self.bots.values():
            if "message" not in bot.allowed or bot.revoked:
                continue
            status = chat.bot_status.get(bot.id, "left")
            if status not in ("administrator", "member"):
                continue
            addressed = (
                status == "administrator"
                or not self.privacy_mode
                or (parent is not None and parent.by_bot == bot.id)
                or any(
                    _utf16(text, e["offset"], e["length"]).lower() == f"@{bot.username}".lower()
                    for e in entities
                    if e["type"] == "mention"
                )
                or any(e["type"] == "bot_command" for e in entities)
                or any(e["type"] == "text_mention" and e["user"].get("id") == bot.id for e in entities)
            )
            if addressed:
                bot.updates.append(
                    {"update_id": next(self._update_ids), "message": stored.payload, "_at": self.now()}
                )
        self.record("group_message", chat_id=chat.id, message_id=stored.message_id)
        return stored

    def edit_comment(self, chat_id: int, message_id: int, text: str) -> Stored:
        """The comment's author edits it: Telegram sends the whole message again as
        ``edited_message``, with ``edit_date``."""
        stored = self.messages[(chat_id, message_id)]
        stored.payload["text"] = text
        stored.payload["edit_date"] = int(self.now())
        self.record("comment_edited", chat_id=chat_id, message_id=message_id)
        self.enqueue("edited_message", dict(stored.payload))
        return stored

    # -- the simulated audience ----------------------------------------------------------------

    def simulate(self) -> None:
        """Bring the audience up to the emulator's now: comments, joins, reactions."""
        if not self.audience:
            return
        now = self.now()
        channel = self.chats[DEMO_CHANNEL_ID]
        # Subscribers join and leave hour by hour (networks/engagement.py's member flow), each
        # as a chat_member update; the member count moves by exactly those joins and leaves.
        hour = int(now // 3600)
        while self._member_hour < hour:
            self._member_hour += 1
            joins, leaves = engagement.member_flow(
                self.seed,
                f"telegram:{channel.id}",
                self._member_hour,
                joins_per_day=CHANNEL_JOINS_PER_DAY,
                leaves_per_day=CHANNEL_LEAVES_PER_DAY,
            )
            at = self._member_hour * 3600
            for _ in range(joins):
                self._joined += 1
                self._member_change(channel, 200_000_000 + self._joined, "left", "member", at)
            for _ in range(min(leaves, self._joined - self._left)):
                self._left += 1  # the longest-subscribed simulated readers leave first
                self._member_change(channel, 200_000_000 + self._left, "member", "left", at)
        if now - self._last_simulated < 0.5:
            return  # the per-post work below is throttled; joins above are cheap
        self._last_simulated = now
        for post in self._channel_posts:
            if post.deleted:
                continue
            chat_id, message_id = post.chat_id, post.message_id
            plan = self._plans.get((chat_id, message_id))
            if plan is None:
                rng = random.Random(f"{self.seed}:{chat_id}:{message_id}")
                comments = [
                    (
                        rng.uniform(300, 7200),
                        100_000_001 + rng.randrange(len(_AUDIENCE_NAMES)),
                        rng.choice(_COMMENTS),
                    )
                    for _ in range(rng.randint(0, 3))
                ]
                plan = self._plans[(chat_id, message_id)] = (comments, rng.uniform(5, 60))
            elapsed = max(0.0, now - post.date)
            if elapsed > 30 * 24 * 3600:
                continue  # old posts are settled
            for index, (delay, author, text) in enumerate(plan[0]):
                key = (chat_id, message_id, index)
                if elapsed >= delay and key not in self._comments_made and post.forward_id is not None:
                    self._comments_made.add(key)
                    self.comment(post, author, text)
            if "poll" in post.payload and self.count_votes(post, now):
                # Bots hear only of the polls they sent (the Update's "poll" field).
                self.enqueue("poll", dict(post.payload["poll"]), only_bot=post.by_bot)
            counts = self.reactions(post, now)
            last_at, last = self._reported_reactions.get((chat_id, message_id), (post.date, {}))
            if counts != last and now - last_at >= 60:
                self._reported_reactions[(chat_id, message_id)] = (now, counts)
                self.enqueue(
                    "message_reaction_count",
                    {
                        "chat": channel.short(),
                        "message_id": message_id,
                        "date": int(now),
                        "reactions": [
                            {"type": {"type": "emoji", "emoji": e}, "total_count": n}
                            for e, n in counts.items()
                            if n
                        ],
                    },
                    only_admin_of=channel,
                )

    def _member_change(self, channel: Chat, uid: int, old: str, new: str, at: float) -> None:
        channel.members += 1 if new == "member" else -1
        channel.statuses[uid] = new
        user = self.users.get(uid) or {
            "id": uid,
            "is_bot": False,
            "first_name": f"Reader {uid - 200_000_000}",
        }
        self.users[uid] = user
        self.enqueue(
            "chat_member",
            {
                "chat": channel.short(),
                "from": user,
                "date": int(at),
                "old_chat_member": {"status": old, "user": user},
                "new_chat_member": {"status": new, "user": user},
            },
        )
        self.record("member_joined" if new == "member" else "member_left", chat_id=channel.id, user_id=uid)

    def reactions(self, post: Stored, now: float) -> dict[str, int]:
        """The post's reaction counts now: the engagement model's likes (networks/engagement.py:
        age, quality, hour, format), shared out over the emoji, the first most popular."""
        total = engagement.post_counts(
            self.seed,
            f"telegram:{post.chat_id}_{post.message_id}",
            published=post.date,
            now=now,
            audience=self._audience.get((post.chat_id, post.message_id), 100),
            content_format=_format(post.payload),
        ).likes
        weights = [1 / (rank + 1) for rank in range(len(_REACTIONS))]
        out: dict[str, int] = {}
        for emoji, weight in zip(_REACTIONS, weights, strict=True):
            share = int(total * weight / sum(weights))
            if share:
                out[emoji] = share
        return out

    def count_votes(self, post: Stored, now: float) -> bool:
        """Bring an open poll's votes up to ``now`` (seeded audience votes: about as many voters
        as the engagement model's likes, twice over; a quiz's right answer chosen most often);
        True when they changed. A closed poll keeps its votes."""
        poll = post.payload.get("poll")
        if not isinstance(poll, dict) or poll.get("is_closed"):
            return False
        close_date = poll.get("close_date")
        if isinstance(close_date, int) and now >= close_date:
            now = float(close_date)
        voters = (
            2
            * engagement.post_counts(
                self.seed,
                f"telegram:{post.chat_id}_{post.message_id}",
                published=post.date,
                now=now,
                audience=self._audience.get((post.chat_id, post.message_id), 100),
                content_format="poll",
            ).likes
        )
        rng = random.Random(f"{self.seed}:poll:{post.chat_id}:{post.message_id}")
        options = poll["options"]
        weights = [rng.uniform(0.5, 3.0) for _ in options]
        for right in poll.get("correct_option_ids") or ():
            weights[right] *= 2.5
        shares = [int(voters * w / sum(weights)) for w in weights]
        shares[weights.index(max(weights))] += voters - sum(shares)
        changed = poll.get("total_voter_count") != voters
        for option, n in zip(options, shares, strict=True):
            option["voter_count"] = n
        poll["total_voter_count"] = voters
        if isinstance(close_date, int) and self.now() >= close_date:
            poll["is_closed"] = True
            changed = True
        return changed

    # -- views for tests -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "now": int(self.now()),
                "chats": {
                    str(c.id): {
                        **c.short(),
                        "members": c.members,
                        "linked_chat_id": c.linked_chat_id,
                        "pinned": c.pinned,
                    }
                    for c in self.chats.values()
                },
                "messages": [
                    {
                        "chat_id": m.chat_id,
                        "message_id": m.message_id,
                        "deleted": m.deleted,
                        "text": m.payload.get("text") or m.payload.get("caption"),
                        "automatic_forward": m.forward_of is not None,
                    }
                    for m in self.messages.values()
                ],
                "pending_updates": {str(b.id): len(b.updates) for b in self.bots.values()},
                "webhooks": {str(b.id): b.webhook_url for b in self.bots.values() if b.webhook_url},
            }


# -- method handlers ----------------------------------------------------------------------------


def _utf16(text: str, offset: int, length: int) -> str:
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="ignore")


def _message_for(emu: Emulator, chat: Chat, message_id: int, what: str) -> Stored:
    stored = emu.messages.get((chat.id, message_id))
    if stored is None or stored.deleted:
        raise _bad(f"{what} not found")
    return stored


def _reply_target(emu: Emulator, params: Params, chat: Chat) -> Stored | None:
    reply = params.json("reply_parameters", "can't parse reply parameters JSON object")
    message_id = 0
    if isinstance(reply, dict):
        message_id = int(reply.get("message_id") or 0)
    elif params.has("reply_to_message_id"):
        message_id = params.integer("reply_to_message_id")
    elif reply is not None:
        raise _bad("object expected as reply parameters")
    if not message_id:
        return None
    stored = emu.messages.get((chat.id, message_id))
    if stored is None or stored.deleted:
        if isinstance(reply, dict) and reply.get("allow_sending_without_reply"):
            return None
        raise _bad("message to be replied not found")
    return stored


def m_getme(emu: Emulator, bot: BotState, params: Params) -> Any:
    return {
        **bot.user(),
        "can_join_groups": True,
        "can_read_all_group_messages": not emu.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def m_sendmessage(emu: Emulator, bot: BotState, params: Params) -> Any:
    text, entities = emu.text_and_entities(
        params.text("text"),
        params.text("parse_mode"),
        params.json("entities", "can't parse entities JSON object"),
        limit=TEXT_MAX,
        caption=False,
    )
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    emu.check_can_send(chat, bot)
    reply_to = _reply_target(emu, params, chat)
    emu.take_rate(bot, chat, paid=params.flag("allow_paid_broadcast"))
    payload: dict[str, Any] = {"text": text}
    if entities:
        payload["entities"] = entities
    preview = params.json("link_preview_options", "can't parse link preview options JSON object")
    if isinstance(preview, dict) and preview:
        payload["link_preview_options"] = preview
    return emu.post_to_chat(bot, chat, payload, reply_to).payload


def _caption(emu: Emulator, params: Params, prefix: str = "") -> dict[str, Any]:
    caption = params.text(prefix + "caption") if not prefix else ""
    if not caption:
        return {}
    plain, entities = emu.text_and_entities(
        caption,
        params.text("parse_mode"),
        params.json("caption_entities", "can't parse entities JSON object"),
        limit=CAPTION_MAX,
        caption=True,
    )
    out: dict[str, Any] = {"caption": plain} if plain else {}
    if entities:
        out["caption_entities"] = entities
    return out


def _photo_sizes(emu: Emulator, data: bytes, extension: str) -> list[dict[str, Any]]:
    if len(data) > PHOTO_MAX_BYTES:
        raise _bad("file is too big")
    size = image_size(data)
    if size is None:
        raise _bad("IMAGE_PROCESS_FAILED")
    width, height = size
    if width == 0 or height == 0 or width + height > 10000 or max(width, height) / min(width, height) > 20:
        raise _bad("PHOTO_INVALID_DIMENSIONS")
    sizes = []
    for box in (90, 320, 800, 1280, 2560):
        scale = min(1.0, box / max(width, height))
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        file_id, unique = emu.new_file_id("photo", data, extension)
        sizes.append(
            {
                "file_id": file_id,
                "file_unique_id": unique,
                "file_size": len(data) if scale == 1 else len(data) // 2,
                "width": w,
                "height": h,
            }
        )
        if scale == 1.0:
            break
    return sizes


def _input_file(emu: Emulator, params: Params, value: str, field_name: str) -> Upload | str | None:
    """An upload (``attach://`` or the field itself), a known file_id / URL, or ``None``."""
    if value.startswith("attach://"):
        return params.files.get(value[len("attach://") :])
    if value:
        return value
    return params.files.get(field_name)


def _photo(emu: Emulator, source: Upload | str) -> list[dict[str, Any]]:
    if isinstance(source, Upload):
        extension = "png" if source.data.startswith(b"\x89PNG") else "jpg"
        return _photo_sizes(emu, source.data, extension)
    if source in emu.files:
        _path, data, unique = emu.files[source]
        size = image_size(data) or (1280, 720)
        return [
            {
                "file_id": source,
                "file_unique_id": unique,
                "width": size[0],
                "height": size[1],
                "file_size": len(data),
            }
        ]
    if source.startswith(("http://", "https://")):
        file_id, unique = emu.new_file_id("photo", b"", "jpg")
        return [{"file_id": file_id, "file_unique_id": unique, "width": 1280, "height": 720}]
    raise _bad("wrong file identifier/HTTP URL specified")


def _video(emu: Emulator, source: Upload | str, params: dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, Upload):
        if len(source.data) > UPLOAD_MAX_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        file_id, unique = emu.new_file_id("video", source.data, "mp4")
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "width": int(params.get("width") or 0),
            "height": int(params.get("height") or 0),
            "duration": int(params.get("duration") or 0),
            "file_name": source.filename,
            "mime_type": source.content_type,
            "file_size": len(source.data),
        }
    if source in emu.files or source.startswith(("http://", "https://")):
        file_id, unique = (
            (source, emu.files[source][2]) if source in emu.files else emu.new_file_id("video", b"", "mp4")
        )
        return {"file_id": file_id, "file_unique_id": unique, "width": 0, "height": 0, "duration": 0}
    raise _bad("wrong file identifier/HTTP URL specified")


def m_sendphoto(emu: Emulator, bot: BotState, params: Params) -> Any:
    source = _input_file(emu, params, params.text("photo"), "photo")
    if source is None:
        raise _bad("there is no photo in the request")
    caption = _caption(emu, params)
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    emu.check_can_send(chat, bot)
    reply_to = _reply_target(emu, params, chat)
    photo = _photo(emu, source)
    emu.take_rate(bot, chat, paid=params.flag("allow_paid_broadcast"))
    return emu.post_to_chat(bot, chat, {"photo": photo, **caption}, reply_to).payload


def m_sendvideo(emu: Emulator, bot: BotState, params: Params) -> Any:
    source = _input_file(emu, params, params.text("video"), "video")
    if source is None:
        raise _bad("there is no video in the request")
    caption = _caption(emu, params)
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    emu.check_can_send(chat, bot)
    reply_to = _reply_target(emu, params, chat)
    video = _video(emu, source, {k: params.integer(k) for k in ("width", "height", "duration")})
    emu.take_rate(bot, chat, paid=params.flag("allow_paid_broadcast"))
    return emu.post_to_chat(bot, chat, {"video": video, **caption}, reply_to).payload


def m_sendmediagroup(emu: Emulator, bot: BotState, params: Params) -> Any:
    if not params.has("media"):
        raise _bad('parameter "media" is required')
    items = params.json("media", "can't parse media JSON object")
    if not isinstance(items, list):
        raise _bad("expected an Array of InputMedia")
    prepared: list[tuple[str, Upload | str, dict[str, Any], dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            raise _bad("can't parse InputMedia: expected an Object")
        kind = str(item.get("type", ""))
        if kind not in ("photo", "video", "document", "audio"):
            raise _bad("can't parse InputMedia: type must be one of photo, video, document, audio")
        source = _input_file(emu, params, str(item.get("media", "")), "")
        if source is None:
            raise _bad("can't parse InputMedia: media not found")
        caption: dict[str, Any] = {}
        if item.get("caption"):
            plain, entities = emu.text_and_entities(
                str(item["caption"]),
                str(item.get("parse_mode", "")),
                item.get("caption_entities"),
                limit=CAPTION_MAX,
                caption=True,
            )
            caption = {"caption": plain, **({"caption_entities": entities} if entities else {})}
        prepared.append((kind, source, item, caption))
    kinds = {kind for kind, *_ in prepared}
    if ("document" in kinds or "audio" in kinds) and len(kinds) > 1:
        raise _bad("can't use the media of the specified type in the album")
    if len(prepared) > 10:
        raise _bad("too many messages to send as an album")
    if len(prepared) < 2:
        raise _bad("media must include 2-10 items")
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    emu.check_can_send(chat, bot)
    reply_to = _reply_target(emu, params, chat)
    contents = []
    for kind, source, item, caption in prepared:
        if kind == "photo":
            contents.append({"photo": _photo(emu, source), **caption})
        elif kind == "video":
            contents.append({"video": _video(emu, source, item), **caption})
        else:
            if isinstance(source, Upload):
                file_id, unique = emu.new_file_id(kind, source.data, "bin")
                contents.append(
                    {
                        kind: {
                            "file_id": file_id,
                            "file_unique_id": unique,
                            "file_name": source.filename,
                            "mime_type": source.content_type,
                            "file_size": len(source.data),
                        },
                        **caption,
                    }
                )
            else:
                contents.append(
                    {kind: {"file_id": source, "file_unique_id": "AQAD" + source[-8:]}, **caption}
                )
    emu.take_rate(bot, chat, len(contents), paid=params.flag("allow_paid_broadcast"))
    group_id = str(next(emu._media_group_ids))
    return [
        emu.post_to_chat(bot, chat, {"media_group_id": group_id, **content}, reply_to).payload
        for content in contents
    ]


def m_sendpoll(emu: Emulator, bot: BotState, params: Params) -> Any:  # noqa: C901 - every sendPoll rule of the Bot API, in the spec's order
    question = params.text("question").strip()
    if not question:
        raise _bad("poll question must be non-empty")
    if not params.has("options"):
        raise _bad("can't parse options JSON object")
    options = params.json("options", "can't parse options JSON object")
    if not isinstance(options, list):
        raise _bad("expected an Array of String as options")
    texts = []
    for option in options:
        if isinstance(option, dict) and isinstance(option.get("text"), str):
            texts.append(option["text"])
        elif isinstance(option, str):
            texts.append(option)
        else:
            raise _bad("expected an option to be of type String")
    if utf16_length(question) > 300:
        raise _bad("poll question length must not exceed 300")
    if len(texts) < 1:
        raise _bad("poll must have at least 1 option")
    if len(texts) > 12:
        raise _bad("poll can't have more than 12 options")
    for text in texts:
        if not text.strip():
            raise _bad("poll options must be non-empty")
        if utf16_length(text) > 100:
            raise _bad("poll options length must not exceed 100")
    poll_type = params.text("type") or "regular"
    if poll_type not in ("regular", "quiz"):
        raise _bad("unsupported poll type specified")
    multiple = params.flag("allows_multiple_answers")
    correct: list[int] = []
    explanation = ""
    if poll_type == "quiz":
        correct = _quiz_answers(params, len(texts), multiple)
        explanation = params.text("explanation")
        if utf16_length(explanation) > 200:
            raise _bad("poll explanation length must not exceed 200")
        if explanation.count("\n") > 2:
            raise _bad("poll explanation must contain at most 2 line feeds")
    if params.has("open_period") and params.has("close_date"):
        raise _bad("can't use open_period and close_date together")
    is_anonymous = params.flag("is_anonymous") if params.has("is_anonymous") else True
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    if chat.type == "channel" and not is_anonymous:
        raise _bad("non-anonymous polls can't be sent to channel chats")
    emu.check_can_send(chat, bot)
    open_period = params.integer("open_period")
    if params.has("open_period") and not 5 <= open_period <= 2628000:
        raise _bad("POLL_CLOSE_PERIOD_INVALID" if open_period else "poll open period is invalid")
    reply_to = _reply_target(emu, params, chat)
    emu.take_rate(bot, chat, paid=params.flag("allow_paid_broadcast"))
    poll: dict[str, Any] = {
        "id": str(next(emu._poll_ids)),
        "question": question,
        "options": [{"persistent_id": str(i), "text": t, "voter_count": 0} for i, t in enumerate(texts)],
        "total_voter_count": 0,
        "is_closed": params.flag("is_closed"),
        "is_anonymous": is_anonymous,
        "type": poll_type,
        "allows_multiple_answers": multiple,
        "allows_revoting": params.flag("allows_revoting")
        if params.has("allows_revoting")
        else poll_type != "quiz",
        "members_only": params.flag("members_only"),
    }
    if open_period:
        poll["open_period"] = open_period
    if params.has("close_date"):
        close_date = params.integer("close_date")
        if not 5 <= close_date - int(emu.now()) <= 2628000:
            raise _bad("poll close date is invalid")
        poll["close_date"] = close_date
    elif open_period:
        poll["close_date"] = int(emu.now()) + open_period
    if poll_type == "quiz":
        poll["correct_option_ids"] = correct  # the bot sent it, so it sees the answer
        if explanation:
            poll["explanation"] = explanation
    return emu.post_to_chat(bot, chat, {"poll": poll}, reply_to).payload


def _quiz_answers(params: Params, count: int, multiple: bool) -> list[int]:
    """A quiz's right answers: ``correct_option_ids`` (a JSON list, monotonically increasing,
    0-based), or the older single ``correct_option_id``; required, within the options, and more
    than one only where several answers are allowed."""
    if params.has("correct_option_ids"):
        ids = params.json("correct_option_ids", "can't parse correct option ids JSON object")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise _bad("expected an Array of Integer as correct_option_ids")
    elif params.has("correct_option_id"):
        ids = [params.integer("correct_option_id", -1)]
    else:
        ids = []
    if not ids:
        raise _bad("QUIZ_CORRECT_ANSWERS_EMPTY")
    if any(not 0 <= i < count for i in ids) or any(a >= b for a, b in itertools.pairwise(ids)):
        raise _bad("QUIZ_CORRECT_ANSWER_INVALID")
    if len(ids) > 1 and not multiple:
        raise _bad("QUIZ_CORRECT_ANSWERS_TOO_MUCH")
    return list(ids)


def m_stoppoll(emu: Emulator, bot: BotState, params: Params) -> Any:
    """``stopPoll``: closes a poll the bot sent and returns the stopped Poll with its votes."""
    if not params.has("message_id"):
        raise _bad("message identifier is not specified")
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    stored = _message_for(emu, chat, params.integer("message_id"), "message with poll to stop")
    poll = stored.payload.get("poll")
    if not isinstance(poll, dict):
        raise _bad("message with poll to stop not found")
    if stored.by_bot != bot.id:
        raise _bad("message can't be edited")
    if poll.get("is_closed"):
        raise _bad("poll has already been closed")
    emu.count_votes(stored, emu.now())
    poll["is_closed"] = True
    emu.record("poll_stopped", chat_id=chat.id, message_id=stored.message_id)
    return poll


def _editable(emu: Emulator, bot: BotState, params: Params) -> tuple[Chat, Stored]:
    if not params.has("chat_id") and not params.has("message_id"):
        if params.has("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        raise _bad("message identifier is not specified")
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    stored = _message_for(emu, chat, params.integer("message_id"), "message to edit")
    if stored.by_bot != bot.id:
        raise _bad("message can't be edited")
    if (
        chat.type == "channel"
        and not emu.can(chat, bot, "can_edit_messages")
        and not emu.can(chat, bot, "can_post_messages")
    ):
        raise _bad("need administrator rights in the channel chat")
    return chat, stored


def _edited(emu: Emulator, chat: Chat, stored: Stored) -> Any:
    stored.payload["edit_date"] = int(emu.now())
    emu.record("message_edited", chat_id=chat.id, message_id=stored.message_id)
    if stored.forward_id is not None and chat.linked_chat_id in emu.chats:
        forward = emu.messages.get((chat.linked_chat_id or 0, stored.forward_id))
        if forward is not None:
            for key in ("text", "entities", "caption", "caption_entities"):
                forward.payload.pop(key, None)
                if key in stored.payload:
                    forward.payload[key] = stored.payload[key]
    return stored.payload


def m_editmessagetext(emu: Emulator, bot: BotState, params: Params) -> Any:
    text, entities = emu.text_and_entities(
        params.text("text"),
        params.text("parse_mode"),
        params.json("entities", "can't parse entities JSON object"),
        limit=TEXT_MAX,
        caption=False,
    )
    chat, stored = _editable(emu, bot, params)
    if "text" not in stored.payload:
        raise _bad("there is no text in the message to edit")
    if stored.payload.get("text") == text and stored.payload.get("entities", []) == entities:
        raise _bad(
            "message is not modified: specified new message content and reply markup are exactly the same "
            "as a current content and reply markup of the message"
        )
    stored.payload["text"] = text
    stored.payload.pop("entities", None)
    if entities:
        stored.payload["entities"] = entities
    return _edited(emu, chat, stored)


def m_editmessagecaption(emu: Emulator, bot: BotState, params: Params) -> Any:
    caption = _caption(emu, params)
    chat, stored = _editable(emu, bot, params)
    if not any(k in stored.payload for k in ("photo", "video", "document", "audio", "animation")):
        raise _bad("there is no caption in the message to edit")
    if stored.payload.get("caption") == caption.get("caption") and stored.payload.get(
        "caption_entities"
    ) == caption.get("caption_entities"):
        raise _bad(
            "message is not modified: specified new message content and reply markup are exactly the same "
            "as a current content and reply markup of the message"
        )
    stored.payload.pop("caption", None)
    stored.payload.pop("caption_entities", None)
    stored.payload.update(caption)
    return _edited(emu, chat, stored)


def m_deletemessage(emu: Emulator, bot: BotState, params: Params) -> Any:
    if not params.has("chat_id"):
        raise _bad("chat identifier is not specified")
    message_id = params.integer("message_id")
    if message_id <= 0:
        raise _bad("message identifier is not specified")
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    stored = _message_for(emu, chat, message_id, "message to delete")
    own = stored.by_bot == bot.id
    allowed = emu.can(chat, bot, "can_delete_messages") or (
        own and (chat.type != "channel" or emu.can(chat, bot, "can_post_messages"))
    )
    if not allowed or emu.now() - stored.date > DELETE_WINDOW_S:
        raise _bad("message can't be deleted")
    stored.deleted = True
    if chat.pinned == stored.message_id:
        chat.pinned = None
    emu.record("message_deleted", chat_id=chat.id, message_id=message_id)
    return True


def m_pinchatmessage(emu: Emulator, bot: BotState, params: Params) -> Any:
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    stored = _message_for(emu, chat, params.integer("message_id"), "message to pin")
    right = "can_edit_messages" if chat.type == "channel" else "can_pin_messages"
    if not emu.can(chat, bot, right):
        raise _bad("not enough rights to manage pinned messages in the chat")
    chat.pinned = stored.message_id
    emu.record("message_pinned", chat_id=chat.id, message_id=stored.message_id)
    return True


def m_unpinchatmessage(emu: Emulator, bot: BotState, params: Params) -> Any:
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    right = "can_edit_messages" if chat.type == "channel" else "can_pin_messages"
    if not emu.can(chat, bot, right):
        raise _bad("not enough rights to manage pinned messages in the chat")
    chat.pinned = None
    return True


def m_getchat(emu: Emulator, bot: BotState, params: Params) -> Any:
    chat = emu.resolve(params.text("chat_id"), bot)
    info: dict[str, Any] = {
        **chat.short(),
        "accent_color_id": abs(chat.id) % 7,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }
    if chat.username:
        info["active_usernames"] = [chat.username]
    if chat.description:
        info["description"] = chat.description
    if chat.linked_chat_id is not None:
        info["linked_chat_id"] = chat.linked_chat_id
    if chat.pinned is not None and (chat.id, chat.pinned) in emu.messages:
        info["pinned_message"] = emu.messages[(chat.id, chat.pinned)].payload
    if chat.type in ("group", "supergroup"):
        info["permissions"] = {
            "can_send_messages": True,
            "can_send_polls": True,
            "can_add_web_page_previews": True,
        }
    return info


def m_getchatmembercount(emu: Emulator, bot: BotState, params: Params) -> Any:
    chat = emu.resolve(params.text("chat_id"), bot)
    return chat.members


def m_getchatmember(emu: Emulator, bot: BotState, params: Params) -> Any:
    user_id = params.integer("user_id")
    if user_id <= 0:
        raise _bad("invalid user_id specified")
    chat = emu.resolve(params.text("chat_id"), bot)
    for other in emu.bots.values():
        if other.id == user_id:
            status = chat.bot_status.get(other.id, "left")
            if status == "administrator":
                rights = chat.bot_rights.get(other.id, {})
                return {
                    "status": "administrator",
                    "user": other.user(),
                    "can_be_edited": False,
                    "is_anonymous": False,
                    **dict.fromkeys(_ADMIN_FLAGS, False),
                    **rights,
                }
            if status == "kicked":
                return {"status": "kicked", "user": other.user(), "until_date": 0}
            return {"status": status, "user": other.user()}
    user = emu.users.get(user_id)
    if user is None:
        raise _bad("user not found")
    # A person the emulator knows is a member unless a chat_member update said otherwise.
    return {"status": chat.statuses.get(user_id, "member"), "user": user}


def m_getupdates_sync(emu: Emulator, bot: BotState, params: Params) -> list[dict[str, Any]]:
    if bot.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        )
    if params.has("allowed_updates"):
        allowed = params.json("allowed_updates", "can't parse allowed_updates JSON object")
        if isinstance(allowed, list):
            bot.allowed = frozenset(str(a) for a in allowed) if allowed else DEFAULT_UPDATES
    offset = params.integer("offset")
    limit = min(100, max(1, params.integer("limit", 100)))
    now = emu.now()
    while bot.updates and now - bot.updates[0]["_at"] > UPDATE_TTL_S:
        bot.updates.popleft()
    if offset < 0:
        keep = -offset
        while len(bot.updates) > keep:
            bot.updates.popleft()
    elif offset > 0:
        while bot.updates and bot.updates[0]["update_id"] < offset:
            bot.updates.popleft()
    return [{k: v for k, v in u.items() if k != "_at"} for u in itertools.islice(bot.updates, limit)]


def m_setwebhook(emu: Emulator, bot: BotState, params: Params) -> Any:
    url = params.text("url").strip()
    if params.flag("drop_pending_updates"):
        bot.updates.clear()
    if not url:
        bot.webhook_url = ""
        return True
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _bad("invalid webhook URL specified")
    if parts.scheme == "http" and not loopback:
        raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if len(secret) > 256:
        raise _bad("secret token is too long")
    if secret and not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in secret):
        raise _bad("secret token contains unallowed characters")
    max_connections = params.integer("max_connections", 40)
    if params.has("allowed_updates"):
        allowed = params.json("allowed_updates", "can't parse allowed_updates JSON object")
        if isinstance(allowed, list):
            bot.allowed = frozenset(str(a) for a in allowed) if allowed else DEFAULT_UPDATES
    bot.webhook_url = url
    bot.webhook_secret = secret
    bot.webhook_max_connections = min(100, max(1, max_connections))
    bot.last_error_date = bot.last_error_message = None
    emu.record("webhook_set", bot_id=bot.id)
    return True


def m_deletewebhook(emu: Emulator, bot: BotState, params: Params) -> Any:
    if params.flag("drop_pending_updates"):
        bot.updates.clear()
    bot.webhook_url = ""
    return True


def m_getwebhookinfo(emu: Emulator, bot: BotState, params: Params) -> Any:
    info: dict[str, Any] = {
        "url": bot.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if bot.webhook_url:
        info["max_connections"] = bot.webhook_max_connections
        if bot.allowed != DEFAULT_UPDATES:
            info["allowed_updates"] = sorted(bot.allowed)
    if bot.last_error_date:
        info["last_error_date"] = bot.last_error_date
        info["last_error_message"] = bot.last_error_message
    return info


def m_getfile(emu: Emulator, bot: BotState, params: Params) -> Any:
    file_id = params.text("file_id")
    if file_id not in emu.files:
        raise _bad("invalid file_id")
    path, data, unique = emu.files[file_id]
    return {"file_id": file_id, "file_unique_id": unique, "file_size": len(data), "file_path": path}


def m_banchatmember(emu: Emulator, bot: BotState, params: Params) -> Any:
    chat = emu.resolve(params.text("chat_id"), bot, write=True)
    if not emu.can(chat, bot, "can_restrict_members"):
        raise _bad("not enough rights to restrict/unrestrict chat member")
    user_id = params.integer("user_id")
    if user_id not in emu.users:
        raise _bad("PARTICIPANT_ID_INVALID")
    emu.record("member_banned", chat_id=chat.id, user_id=user_id)
    return True


HANDLERS = {
    "getme": m_getme,
    "sendmessage": m_sendmessage,
    "sendphoto": m_sendphoto,
    "sendvideo": m_sendvideo,
    "sendmediagroup": m_sendmediagroup,
    "sendpoll": m_sendpoll,
    "stoppoll": m_stoppoll,
    "editmessagetext": m_editmessagetext,
    "editmessagecaption": m_editmessagecaption,
    "deletemessage": m_deletemessage,
    "pinchatmessage": m_pinchatmessage,
    "unpinchatmessage": m_unpinchatmessage,
    "getchat": m_getchat,
    "getchatmembercount": m_getchatmembercount,
    "getchatmember": m_getchatmember,
    "getupdates": m_getupdates_sync,
    "setwebhook": m_setwebhook,
    "deletewebhook": m_deletewebhook,
    "getwebhookinfo": m_getwebhookinfo,
    "getfile": m_getfile,
    "banchatmember": m_banchatmember,
}


def check_required(method: str, params: Params) -> None:
    """The spec's required parameters, checked the way the server reports them (chat last)."""
    fields = [
        f
        for f in METHODS[method].get("fields", [])
        if f["required"] and (method, f["name"]) not in _NOT_ENFORCED
    ]
    fields.sort(key=lambda f: f["name"] == "chat_id")
    for spec_field in fields:
        name = spec_field["name"]
        if not params.has(name):
            raise _bad(_MISSING.get((method, name), f"{name} is empty"))


# -- webhook delivery ---------------------------------------------------------------------------


def _deliver_loop(emu: Emulator, bot: BotState) -> None:
    from rupor.core import http

    failures = 0
    while not emu._stop.is_set():
        with emu.lock:
            url, secret = bot.webhook_url, bot.webhook_secret
            if not url:
                if emu._webhook_threads.get(bot.id) is bot:
                    del emu._webhook_threads[bot.id]
                return
            emu.simulate()
            update = dict(bot.updates[0]) if bot.updates else None
        if update is None:
            time.sleep(0.05)
            continue
        update.pop("_at", None)
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        error: str | None = None
        try:
            with http.client(timeout=5.0) as client:
                response = client.post(
                    url, content=json.dumps(update, ensure_ascii=False).encode(), headers=headers
                )
            if not 200 <= response.status_code < 300:
                error = f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
        except (
            httpx.HTTPError,
            OSError,
        ) as exc:  # a failed delivery is recorded and retried, like the real server
            error = f"Connection failed: {type(exc).__name__}"
        with emu.lock:
            if error is None:
                failures = 0
                if bot.updates and bot.updates[0]["update_id"] == update["update_id"]:
                    bot.updates.popleft()
                emu.record("webhook_delivered", bot_id=bot.id, update_id=update["update_id"])
                continue
            failures += 1
            bot.last_error_date = int(emu.now())
            bot.last_error_message = error
        time.sleep(min(5.0, emu.webhook_retry_s * 2 ** min(failures, 5)))


def _ensure_delivery(emu: Emulator, bot: BotState) -> None:
    if bot.webhook_url and emu._webhook_threads.get(bot.id) is not bot:
        emu._webhook_threads[bot.id] = bot
        threading.Thread(
            target=_deliver_loop, args=(emu, bot), daemon=True, name=f"tg-webhook-{bot.id}"
        ).start()


# -- the ASGI app -------------------------------------------------------------------------------


def _split_path(path: str) -> tuple[str, str] | None:
    if not path.startswith("/bot"):
        return None
    rest = path[4:]
    token, _, method = rest.partition("/")
    if not token or not method or "/" in method:
        return None
    return token, method


def method_of(scope: Scope, _body: bytes) -> str | None:
    split = _split_path(scope["path"])
    if split is None:
        return None
    return CANONICAL.get(split[1].lower(), split[1])


def _answer(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _fail(error: ApiError) -> JSONResponse:
    if error.code == 429:
        return too_many(int(error.parameters.get("retry_after", 1)))
    return JSONResponse(error_body(error.code, error.description, error.parameters), status_code=error.code)


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Starlette:  # noqa: C901 - the emulator's route table
    """The emulated Bot API as an ASGI app; ``app.state.emulator`` and ``app.state.injector`` for tests.

    Options: ``chat_burst`` (messages a chat tolerates in a burst, default 20),
    ``group_per_minute`` (20), ``global_per_second`` (30), ``audience`` (simulate readers, default
    True), ``webhook_retry_s`` (first retry delay of webhook delivery, default 0.2).
    """
    emu = Emulator(seed=seed, rate_limits=rate_limits, **options)
    injector = FaultInjector(seed=seed)

    async def api(request: Request) -> Response:
        split = _split_path(request.url.path)
        if split is None:
            return JSONResponse(error_body(404, "Not Found"), status_code=404)
        token, method_name = split
        method = method_name.lower()
        body = await request.body()
        try:
            with emu.lock:
                bot = emu.bot_for(token)
            if method not in METHODS:
                raise ApiError(404, "Not Found")
            if len(body) > UPLOAD_MAX_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            params = await read_params(request, body)
            if method == "getupdates":
                return await _get_updates(emu, bot, params)
            with emu.lock:
                emu.simulate()
                check_required(method, params)
                handler = HANDLERS.get(method)
                if handler is None:
                    raise _bad("method is not implemented by the emulator")
                result = handler(emu, bot, params)
                if method in ("setwebhook",):
                    _ensure_delivery(emu, bot)
            return _answer(result)
        except ApiError as error:
            return _fail(error)

    async def file_route(request: Request) -> Response:
        token = request.path_params["token"]
        path = request.path_params["path"]
        with emu.lock:
            if token not in emu.bots or emu.bots[token].revoked:
                return JSONResponse(error_body(401, "Unauthorized"), status_code=401)
            for stored_path, data, _unique in emu.files.values():
                if stored_path == path:
                    return Response(data, media_type="application/octet-stream")
        return JSONResponse(error_body(404, "Not Found"), status_code=404)

    async def audience_comment(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            post = emu.messages.get((int(spec.get("chat_id", DEMO_CHANNEL_ID)), int(spec["message_id"])))
            if post is None or post.deleted or post.forward_id is None:
                return JSONResponse(
                    {"error": "no such channel post with a discussion thread"}, status_code=404
                )
            user_id = int(spec.get("user_id", 100_000_001))
            if user_id not in emu.users:
                return JSONResponse({"error": "unknown user"}, status_code=400)
            stored = emu.comment(post, user_id, str(spec.get("text", "")))
            return JSONResponse({"chat_id": stored.chat_id, "message_id": stored.message_id})

    async def group_message(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            chat = emu.chats.get(int(spec.get("chat_id", COFFEE_TALK_ID)))
            user_id = int(spec.get("user_id", 100_000_001))
            if chat is None or user_id not in emu.users:
                return JSONResponse({"error": "unknown chat or user"}, status_code=404)
            try:
                stored = emu.group_message(
                    chat,
                    user_id,
                    str(spec.get("text", "")),
                    reply_to=int(spec["reply_to"]) if spec.get("reply_to") is not None else None,
                    text_mention=spec.get("text_mention"),
                    thread_id=int(spec["message_thread_id"]) if spec.get("message_thread_id") else None,
                )
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"chat_id": stored.chat_id, "message_id": stored.message_id})

    async def private_message(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            user_id = int(spec.get("user_id", 100_000_001))
            if user_id not in emu.users:
                return JSONResponse({"error": "unknown user"}, status_code=404)
            stored = emu.private_message(user_id, str(spec.get("text", "")))
            return JSONResponse({"chat_id": stored.chat_id, "message_id": stored.message_id})

    async def block_bot(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            try:
                emu.block_bot(int(spec.get("user_id", 100_000_001)))
            except (ValueError, KeyError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse({"ok": True})

    async def audience_edit(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            key = (int(spec["chat_id"]), int(spec["message_id"]))
            stored = emu.messages.get(key)
            if stored is None or stored.deleted or stored.by_bot is not None:
                return JSONResponse({"error": "no such comment by a reader"}, status_code=404)
            emu.edit_comment(key[0], key[1], str(spec.get("text", "")))
            return JSONResponse({"ok": True})

    async def audience_membership(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            chat = emu.chats.get(int(spec.get("chat_id", DEMO_CHANNEL_ID)))
            user_id = int(spec.get("user_id", 100_000_001))
            if chat is None or user_id not in emu.users:
                return JSONResponse({"error": "unknown chat or user"}, status_code=404)
            new = "left" if spec.get("action") == "leave" else "member"
            old = chat.statuses.get(user_id, "member" if new == "left" else "left")
            if old != new:
                emu._member_change(chat, user_id, old, new, emu.clock.timestamp())
            return JSONResponse({"ok": True})

    async def revoke(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            bot = emu.bots.get(str(spec.get("token", "")))
            if bot is None:
                return JSONResponse({"error": "unknown token"}, status_code=404)
            bot.revoked = True
        return JSONResponse({"ok": True})

    async def bot_status(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emu.lock:
            chat = emu.chats.get(int(spec["chat_id"]))
            if chat is None:
                return JSONResponse({"error": "unknown chat"}, status_code=404)
            bot_id = int(spec.get("bot_id", DEMO_BOT_ID))
            chat.bot_status[bot_id] = str(spec["status"])
            if "rights" in spec:
                chat.bot_rights[bot_id] = {**chat.bot_rights.get(bot_id, {}), **spec["rights"]}
        return JSONResponse({"ok": True})

    def ledger() -> list[dict[str, Any]]:
        with emu.lock:
            return list(emu.ledger)

    async def post_page(request: Request) -> Response:
        # The public page of a channel post, at the address the adapter returns (t.me/<username>/<id>
        # or t.me/c/<id>/<id>), so the demo's "open on the network" leads somewhere. Read-only.
        name, message_id = str(request.path_params.get("name", "")), int(request.path_params["message_id"])
        with emu.lock:
            if "internal" in request.path_params:
                chat = emu.chats.get(int(f"-100{request.path_params['internal']}"))
            else:
                chat = next(
                    (c for c in emu.chats.values() if c.username and c.username.lower() == name.lower()), None
                )
            stored = emu.messages.get((chat.id, message_id)) if chat is not None else None
            if chat is None or stored is None or stored.deleted:
                return PlainTextResponse("Not found", status_code=404)
            title = chat.title
            text = str(stored.payload.get("text") or stored.payload.get("caption") or "")
            edited = "edit_date" in stored.payload
        body = html.escape(text).replace("\n", "<br>")
        note = "<p><small>edited</small></p>" if edited else ""
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<h1>Telegram (emulator): {html.escape(title)}</h1><article>{body}</article>{note}"
        )

    routes = [
        *control_routes(injector, emu.clock, emu.snapshot, ledger, emu.reset),
        Route("/_emulator/audience/comment", audience_comment, methods=["POST"]),
        Route("/_emulator/audience/edit", audience_edit, methods=["POST"]),
        Route("/_emulator/audience/membership", audience_membership, methods=["POST"]),
        Route("/_emulator/revoke", revoke, methods=["POST"]),
        Route("/_emulator/group_message", group_message, methods=["POST"]),
        Route("/_emulator/bot_status", bot_status, methods=["POST"]),
        Route("/_emulator/private_message", private_message, methods=["POST"]),
        Route("/_emulator/block_bot", block_bot, methods=["POST"]),
        Route("/file/bot{token}/{path:path}", file_route, methods=["GET"]),
        Route("/c/{internal:int}/{message_id:int}", post_page, methods=["GET"]),
        Route("/{name}/{message_id:int}", post_page, methods=["GET"]),
        Route("/{rest:path}", api, methods=["GET", "POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                FaultMiddleware, injector=injector, method_of=method_of, rate_limited=lambda _m: too_many(5)
            ),
        ],
    )
    app.state.emulator = emu
    app.state.injector = injector
    app.state.clock = emu.clock
    return app


async def _get_updates(emu: Emulator, bot: BotState, params: Params) -> Response:
    timeout = min(50, max(0, params.integer("timeout")))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with emu.lock:
                emu.simulate()
                result = m_getupdates_sync(emu, bot, params)
        except ApiError as error:
            return _fail(error)
        if result or time.monotonic() >= deadline:
            return _answer(result)
        await asyncio.sleep(0.05)
