"""The Bot API's wire format: envelopes, errors, and updates turned into plain events.

Raw payloads stay in this package; the adapter hands the rest of Rupor only the dataclasses
of :mod:`rupor.networks.base` and the errors of :mod:`rupor.networks.errors`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import httpx

from rupor.core import http
from rupor.networks import errors, transport
from rupor.networks.base import Comment, Event, EventKind, Message, Person, PollTally
from rupor.networks.errors import AuthExpired, NetworkError, RateLimited, Rejected

#: The update types Rupor asks for. ``message_reaction_count`` and ``chat_member`` are not in
#: Telegram's default set and must be listed explicitly.
ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "chat_member",
    "my_chat_member",
    "message_reaction_count",
)


class Code(IntEnum):
    """The Bot API's ``error_code``: an HTTP status, named by what it means there (the docs advise
    trusting the HTTP status over ``error_code``, which "may change")."""

    BAD_REQUEST = 400
    UNAUTHORIZED = 401  # a wrong or revoked token
    FORBIDDEN = 403  # the bot may not act in this chat
    NOT_FOUND = 404  # a malformed token: the URL names no bot
    CONFLICT = 409  # a webhook is set, or another getUpdates poller runs
    TOO_LARGE = 413
    FLOOD = 429  # with parameters.retry_after
    SERVER_ERROR = 500
    BAD_GATEWAY = 502


@dataclass
class ApiFailure(Exception):
    """A Bot API ``{"ok": false}`` answer (or an unusable HTTP answer), before classification."""

    status: int
    description: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    method: str = ""

    def __str__(self) -> str:
        return f"{self.method}: {self.status} {self.description}"

    def excerpt(self) -> str:
        body: dict[str, Any] = {"error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return json.dumps(body, ensure_ascii=False)[:300]


def unwrap(response: httpx.Response, method: str) -> Any:
    """The ``result`` of a successful call, or :class:`ApiFailure`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("ok") is True and "result" in body:
        return body["result"]
    if isinstance(body, dict) and body.get("ok") is False:
        # The docs advise trusting the HTTP status over error_code, which "may change".
        status = (
            response.status_code
            if response.status_code >= Code.BAD_REQUEST
            else int(body.get("error_code") or Code.SERVER_ERROR)
        )
        raw = body.get("parameters")
        parameters: dict[str, Any] = raw if isinstance(raw, dict) else {}
        raise ApiFailure(status, str(body.get("description", "")), parameters, method)
    text = response.text[:120].replace("\n", " ")
    raise ApiFailure(
        response.status_code if response.status_code >= Code.BAD_REQUEST else Code.BAD_GATEWAY,
        f"unexpected answer: {text}",
        {},
        method,
    )


# Plain sentences for the descriptions people meet most. The error *class* never depends on
# these; they only choose the sentence shown to a person.
_PLAIN: tuple[tuple[str, str], ...] = (
    ("chat not found", "The chat does not exist or the bot was removed from it."),
    ("need administrator rights", "The bot is not an administrator of the channel."),
    ("not enough rights to manage pinned", "The bot's administrator rights do not allow pinning messages."),
    ("not enough rights", "The bot's administrator rights do not allow this."),
    ("bot is not a member", "The bot is not a member of the chat. Add it as an administrator."),
    ("bot was kicked", "The bot was removed from the chat. Add it back as an administrator."),
    ("message caption is too long", "The caption is longer than Telegram allows (1024 characters)."),
    ("message is too long", "The text is longer than Telegram allows (4096 characters)."),
    ("can't parse entities", "The text's formatting is invalid, so Telegram refused it."),
    ("message must be non-empty", "The text is empty once formatting is removed."),
    ("message text is empty", "The text is empty."),
    (
        "message can't be deleted",
        "Telegram no longer allows deleting this message (only within 48 hours of posting).",
    ),
    ("message to delete not found", "The message no longer exists."),
    ("message to edit not found", "The message no longer exists."),
    ("message can't be edited", "Telegram does not allow editing this message."),
    ("message to pin not found", "The message no longer exists."),
    ("message is not modified", "The new content is the same as the current one."),
    ("message to be replied not found", "The message to reply to no longer exists."),
    ("there is no caption in the message", "This message has no caption to edit."),
    ("there is no text in the message", "This message has no text to edit; edit its caption instead."),
    ("poll", "Telegram refused the poll: check the question and the options."),
    ("image_process_failed", "Telegram could not read the image."),
    ("photo_invalid_dimensions", "The image's dimensions are not accepted by Telegram."),
    ("file is too big", "The file is larger than Telegram accepts."),
    ("wrong file identifier", "Telegram could not find the file."),
    ("media must include", "An album needs 2 to 10 photos or videos."),
    ("too many messages to send as an album", "An album needs 2 to 10 photos or videos."),
    ("non-anonymous polls", "Polls in channels must be anonymous."),
)


def plain_message(description: str) -> str:
    lowered = description.lower()
    for needle, sentence in _PLAIN:
        if needle in lowered:
            return sentence
    return "Telegram refused the request."


def classify(failure: ApiFailure, *, create: bool) -> NetworkError:
    """Map a Bot API failure to the taxonomy, by HTTP status and ``parameters`` only."""
    excerpt = failure.excerpt()
    status = failure.status
    if status == Code.FLOOD:
        retry_after = failure.parameters.get("retry_after")
        seconds = float(retry_after) if isinstance(retry_after, (int, float)) else 5.0
        return RateLimited(
            f"Telegram asked to slow down; retry in {int(seconds)} s.",
            code=Code.FLOOD,
            excerpt=excerpt,
            retry_after=seconds,
        )
    if status in (Code.UNAUTHORIZED, Code.NOT_FOUND):
        # 401: wrong or revoked token; 404: the token is malformed (the URL names no bot).
        return AuthExpired(
            "The bot token is invalid or was revoked.", code=status, excerpt=excerpt, needs_person=True
        )
    if "migrate_to_chat_id" in failure.parameters:
        new_id = failure.parameters["migrate_to_chat_id"]
        return Rejected(
            f"This group was upgraded to a supergroup with the new chat id {new_id}; update the channel to use it.",
            code="migrate_to_chat_id",
            excerpt=f"migrate_to_chat_id={new_id} {excerpt}",
            needs_person=True,
        )
    if status == Code.FORBIDDEN:
        return Rejected(
            plain_message(failure.description)
            if "bot" in failure.description.lower()
            else "The bot may not act in this chat.",
            code=Code.FORBIDDEN,
            excerpt=excerpt,
            needs_person=True,
        )
    if status == Code.CONFLICT:
        return Rejected(
            "Another program receives this bot's updates (a webhook is set or another poller runs).",
            code=Code.CONFLICT,
            excerpt=excerpt,
            needs_person=True,
        )
    if status == Code.TOO_LARGE:
        return Rejected(
            "The upload is larger than Telegram accepts (50 MB).", code=Code.TOO_LARGE, excerpt=excerpt
        )
    if status >= Code.SERVER_ERROR:
        return errors.ambiguous(
            create, "Telegram answered with a server error.", code=status, excerpt=excerpt
        )
    return Rejected(
        plain_message(failure.description),
        code=status,
        excerpt=excerpt,
        needs_person=status == Code.BAD_REQUEST and "rights" in failure.description,
    )


def send(url: str, *, create: bool, timeout: Any = None, **body: Any) -> httpx.Response:
    """One Bot API request on the shared pool; a transport failure is a taxonomy error (with the
    cause dropped: the URL carries the bot token)."""
    try:
        return http.request("POST", url, timeout=float(timeout) if timeout else None, **body)
    except httpx.HTTPError as exc:
        raise transport.transport_error(exc, network="Telegram", creates=create) from None


# -- updates ------------------------------------------------------------------------------------


def _when(timestamp: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(timestamp or 0), dt.UTC)


def _person(user: Mapping[str, Any] | None, sender_chat: Mapping[str, Any] | None = None) -> Person:
    if user:
        name = " ".join(str(p) for p in (user.get("first_name"), user.get("last_name")) if p)
        username = user.get("username")
        return Person(str(user.get("id")), name, f"https://t.me/{username}" if username else None)
    if sender_chat:
        username = sender_chat.get("username")
        return Person(
            str(sender_chat.get("id")),
            str(sender_chat.get("title", "")),
            f"https://t.me/{username}" if username else None,
        )
    return Person("", "")


def comment_id(chat_id: Any, message_id: Any) -> str:
    return f"{chat_id}:{message_id}"


def parse_comment_id(remote_id: str) -> tuple[str, int]:
    chat, _, message = remote_id.rpartition(":")
    if not chat or not message.lstrip("-").isdigit():
        raise ValueError(f"not a Telegram comment id: {remote_id!r}")
    return chat, int(message)


def post_of(message: Mapping[str, Any]) -> str | None:
    """The channel post a discussion-group message belongs to, when the payload says so."""
    reply = message.get("reply_to_message") or {}
    if reply.get("is_automatic_forward"):
        origin = reply.get("forward_origin") or {}
        if origin.get("type") == "channel" and origin.get("message_id") is not None:
            return str(origin["message_id"])
    return None


def to_comment(message: Mapping[str, Any]) -> Comment:
    chat_id = (message.get("chat") or {}).get("id")
    reply = message.get("reply_to_message") or {}
    post = post_of(message)
    parent = None
    if reply and not reply.get("is_automatic_forward"):
        parent = comment_id(chat_id, reply.get("message_id"))
    return Comment(
        remote_id=comment_id(chat_id, message.get("message_id")),
        post_remote_id=post or "",
        author=_person(message.get("from"), message.get("sender_chat")),
        text=str(message.get("text") or message.get("caption") or ""),
        created_at=_when(message.get("edit_date") or message.get("date")),
        parent_remote_id=parent,
    )


def _utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity covers (offsets count UTF-16 code units)."""
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="ignore")


def is_command(message: Mapping[str, Any]) -> bool:
    """A ``/command`` (a bot_command entity at the start): for bots, never for the inbox."""
    entities = message.get("entities") or ()
    return any(
        isinstance(e, dict) and e.get("type") == "bot_command" and e.get("offset") == 0 for e in entities
    ) or str(message.get("text") or "").startswith("/")


def mentions_bot(message: Mapping[str, Any], bot_id: int | None, bot_username: str | None) -> bool:
    """Whether a group message is addressed to the bot: an ``@username`` mention entity, a
    ``text_mention`` of the bot (a mention of someone without a username), or a reply to one of
    the bot's own messages."""
    reply = message.get("reply_to_message") or {}
    if bot_id is not None and (reply.get("from") or {}).get("id") == bot_id:
        return True
    text = str(message.get("text") or message.get("caption") or "")
    entities = message.get("entities") or message.get("caption_entities") or ()
    wanted = f"@{bot_username}".casefold() if bot_username else None
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        if entity.get("type") == "text_mention" and bot_id is not None:
            if (entity.get("user") or {}).get("id") == bot_id:
                return True
        elif entity.get("type") == "mention" and wanted is not None:
            part = _utf16_slice(text, int(entity.get("offset", 0)), int(entity.get("length", 0)))
            if part.casefold() == wanted:
                return True
    return False


def message_url(chat: Mapping[str, Any], message_id: Any) -> str | None:
    """The t.me address of a message in a public (username) or private supergroup."""
    username = chat.get("username")
    if username:
        return f"https://t.me/{username}/{message_id}"
    chat_id = str(chat.get("id", ""))
    if chat.get("type") == "supergroup" and chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None


def _group_event(message: Mapping[str, Any], channel_remote_id: str, *, mentioned: bool) -> Event:
    chat = message.get("chat") or {}
    sender = message.get("from") or {}
    remote = comment_id(chat.get("id"), message.get("message_id"))
    person = _person(sender, message.get("sender_chat"))
    when = _when(message.get("date"))
    return Event(
        kind=EventKind.MENTION if mentioned else EventKind.CHATTER,
        remote_id=remote,
        channel_remote_id=channel_remote_id,
        occurred_at=when,
        message=Message(
            remote,
            str(chat.get("id")),
            person,
            str(message.get("text") or message.get("caption") or ""),
            when,
        ),
        person=person,
        url=message_url(chat, message.get("message_id")),
    )


def is_comment(message: Mapping[str, Any]) -> bool:
    """A comment under a channel post: in the discussion thread of its automatic forward (a
    forum topic's messages carry a thread id too, but they are not comments)."""
    if post_of(message) is not None:
        return True
    return bool(message.get("message_thread_id")) and not message.get("is_topic_message")


def update_to_events(
    update: Mapping[str, Any],
    channel_remote_id: str,
    bot_id: int | None = None,
    bot_username: str | None = None,
) -> list[Event]:
    """Turn one Update into zero or more events (unknown kinds are skipped).

    In a group: comments under channel posts are comments; a message addressed to the bot
    (``@username``, ``text_mention``, a reply to the bot) is a mention; commands are dropped;
    anything else is chatter, which the inbox keeps only when it names a monitored keyword.
    """
    events: list[Event] = []
    for kind_key, edited in (("message", False), ("edited_message", True)):
        message = update.get(kind_key)
        if not isinstance(message, dict) or message.get("is_automatic_forward"):
            continue
        sender = message.get("from") or {}
        if bot_id is not None and sender.get("id") == bot_id:
            continue
        chat = message.get("chat") or {}
        if chat.get("type") == "private":
            events.append(
                Event(
                    kind=EventKind.MESSAGE_EDIT if edited else EventKind.MESSAGE_NEW,
                    remote_id=comment_id(chat.get("id"), message.get("message_id")),
                    channel_remote_id=channel_remote_id,
                    occurred_at=_when(message.get("date")),
                    message=Message(
                        comment_id(chat.get("id"), message.get("message_id")),
                        str(chat.get("id")),
                        _person(sender),
                        str(message.get("text") or ""),
                        _when(message.get("date")),
                    ),
                    person=_person(sender),
                )
            )
            continue
        if not is_comment(message):
            if not edited and chat.get("type") in ("group", "supergroup") and not is_command(message):
                mentioned = mentions_bot(message, bot_id, bot_username)
                events.append(_group_event(message, channel_remote_id, mentioned=mentioned))
            continue
        comment = to_comment(message)
        events.append(
            Event(
                kind=EventKind.COMMENT_EDIT if edited else EventKind.COMMENT_NEW,
                remote_id=comment.remote_id + (f"@{message.get('edit_date')}" if edited else ""),
                channel_remote_id=channel_remote_id,
                occurred_at=comment.created_at,
                comment=comment,
                person=comment.author,
                post_remote_id=comment.post_remote_id or None,
            )
        )
    for key in ("channel_post", "edited_channel_post"):
        post = update.get(key)
        if isinstance(post, dict) and key == "channel_post":
            events.append(
                Event(
                    kind=EventKind.POST_NEW,
                    remote_id=str(post.get("message_id")),
                    channel_remote_id=channel_remote_id,
                    occurred_at=_when(post.get("date")),
                    post_remote_id=str(post.get("message_id")),
                )
            )
    member = update.get("chat_member")
    if isinstance(member, dict):
        old = (member.get("old_chat_member") or {}).get("status")
        new = (member.get("new_chat_member") or {}).get("status")
        inside = {"member", "administrator", "creator", "restricted"}
        user = (member.get("new_chat_member") or {}).get("user") or member.get("from")
        kind = None
        if new in inside and old not in inside:
            kind = EventKind.MEMBER_JOIN
        elif old in inside and new not in inside:
            kind = EventKind.MEMBER_LEAVE
        if kind is not None:
            events.append(
                Event(
                    kind=kind,
                    remote_id=f"{(member.get('chat') or {}).get('id')}:{(user or {}).get('id')}:{member.get('date')}",
                    channel_remote_id=channel_remote_id,
                    occurred_at=_when(member.get("date")),
                    person=_person(user),
                )
            )
    events.extend(_private_status(update, channel_remote_id))
    reactions = update.get("message_reaction_count")
    if isinstance(reactions, dict):
        events.append(
            Event(
                kind=EventKind.REACTIONS,
                remote_id=f"{(reactions.get('chat') or {}).get('id')}:{reactions.get('message_id')}:{reactions.get('date')}",
                channel_remote_id=channel_remote_id,
                occurred_at=_when(reactions.get("date")),
                post_remote_id=str(reactions.get("message_id")),
                counts=reaction_counts(reactions),
            )
        )
    return events


def _private_status(update: Mapping[str, Any], channel_remote_id: str) -> list[Event]:
    """A person blocked the bot (``kicked``), from ``my_chat_member`` in their private chat: the
    bot may no longer write to them. Unblocking is no consent of its own: Telegram has them press
    *Restart*, which sends ``/start``, a message like any other."""
    member = update.get("my_chat_member")
    if not isinstance(member, dict) or (member.get("chat") or {}).get("type") != "private":
        return []
    new = (member.get("new_chat_member") or {}).get("status")
    if new != "kicked":
        return []
    user = member.get("from") or {}
    return [
        Event(
            kind=EventKind.MESSAGES_DENY,
            remote_id=f"bot:{user.get('id')}:{member.get('date')}:{new}",
            channel_remote_id=channel_remote_id,
            occurred_at=_when(member.get("date")),
            person=_person(user),
        )
    ]


def reaction_counts(update: Mapping[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in update.get("reactions") or ():
        reaction = item.get("type") or {}
        key = reaction.get("emoji") or (
            f"custom:{reaction.get('custom_emoji_id')}"
            if reaction.get("type") == "custom_emoji"
            else str(reaction.get("type"))
        )
        counts[key] = counts.get(key, 0) + int(item.get("total_count") or 0)
    return counts


def poll_tally(poll: Mapping[str, Any]) -> PollTally:
    """A Bot API ``Poll`` object as votes per option (``voter_count``), voters
    (``total_voter_count``), closed or not, and a quiz's right option (``correct_option_ids``,
    or the older ``correct_option_id``)."""
    options = [o for o in poll.get("options") or () if isinstance(o, Mapping)]
    correct = poll.get("correct_option_ids")
    right: int | None = None
    if isinstance(correct, list) and correct and isinstance(correct[0], int):
        right = correct[0]
    elif isinstance(poll.get("correct_option_id"), int):
        right = int(poll["correct_option_id"])
    closes = poll.get("close_date")
    return PollTally(
        remote_poll_id=str(poll.get("id", "")),
        options=tuple(str(o.get("text", "")) for o in options),
        votes=tuple(int(o.get("voter_count") or 0) for o in options),
        voters=int(poll["total_voter_count"]) if isinstance(poll.get("total_voter_count"), int) else None,
        closed=bool(poll.get("is_closed")),
        closes_at=dt.datetime.fromtimestamp(closes, dt.UTC) if isinstance(closes, int) else None,
        correct_option=right,
    )
