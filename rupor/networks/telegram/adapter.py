"""Telegram channels and groups through a bot, over the Bot API (``/bot<token>/<method>``).

What the Bot API allows and what it does not shapes this adapter:

* Posting needs the bot to be an administrator of the channel with ``can_post_messages``.
* There is **no idempotency key**: a send whose answer is lost may or may not have happened,
  and the Bot API cannot read channel history to check, so ``find_published`` is not
  supported and such attempts end as unconfirmed for a person to look at.
* A channel has no comments of its own: its linked discussion group receives an automatic
  forward of every post, and comments are replies to that forward. The first comment is sent
  there. Comments, subscribers joining and reaction totals arrive only as updates (webhook or
  ``getUpdates``); view counts and history cannot be read at all.

Text is sent with ``parse_mode=HTML``: plain text is escaped, or ``Content.options["format"]
== "html"`` passes Telegram HTML through. Limits count UTF-16 units after entity parsing.
Post remote ids are the message id, or comma-joined ids for albums and for a text sent before a
poll; comment remote ids are ``"<group chat id>:<message id>"``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.core import clock
from rupor.networks.base import (
    Adapter,
    Capability,
    ChannelAccess,
    ChannelInfo,
    ChannelMetrics,
    Comment,
    Content,
    CredentialField,
    Limits,
    Media,
    Message,
    Person,
    PollTally,
    PostMetrics,
    Problem,
    Progress,
    PublicPage,
    Published,
    PublishRequest,
    RateLimit,
    TextUnit,
    UpdatesPage,
    WebhookResult,
    call_window,
)
from rupor.networks.errors import NetworkError, NotSupported, Rejected, Unreachable
from rupor.networks.telegram import wire
from rupor.networks.telegram.formatting import EntityParseError, escape, parse_html

DEFAULT_BASE_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Bot FAQ "My bot is hitting limits" (docs/networks.md §2.3): about 30 messages/s per bot, about 1
#: message/s in one chat (channels are chats too), at most 20 messages per minute in a group.
BOT_PER_SECOND = 30
CHAT_PER_SECOND = 1
GROUP_PER_MINUTE = 20

#: Bots' usernames by (API root, bot id), read once with getMe (see TelegramAdapter._bot_username).
_USERNAMES: dict[tuple[str, int | None], str | None] = {}


class TelegramAdapter(Adapter):
    network: ClassVar[str] = "telegram"
    display_name: ClassVar[str] = "Telegram"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    idempotent_publish: ClassVar[bool] = False
    # The Bot API deletes messages (deleteMessage, within 48 hours for others' messages) and has
    # no way to hide one (docs/decisions/0013-hiding-comments.md).
    no_hide_reason = gettext_lazy(
        "Telegram's Bot API has no way to hide a comment: it can only delete one, for everyone, "
        "and only within 48 hours of when it was written."
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_POLL,
            Capability.PUBLISH_QUIZ,
            Capability.POLL_RESULTS,
            Capability.PUBLISH_LINK,
            Capability.FIRST_COMMENT,
            Capability.EDIT,
            Capability.DELETE,
            Capability.PIN,
            Capability.REPLY_COMMENT,
            Capability.DELETE_COMMENT,
            Capability.BAN_USER,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.WEBHOOKS,
            Capability.POLL_UPDATES,
            Capability.VERIFY,
            Capability.CHECK_MEMBER,
            Capability.REPLY_MENTION,
        }
    )
    limits: ClassVar[Limits] = Limits(
        text_unit=TextUnit.UTF16,
        text_max=4096,
        caption_max=1024,
        media_max=10,
        album_min=2,
        album_max=10,
        photo_max_bytes=10 * 1024 * 1024,
        video_max_bytes=50 * 1024 * 1024,
        photo_types=("image/jpeg", "image/png"),
        video_types=("video/mp4",),
        poll_options_min=1,
        poll_options_max=12,
        poll_question_max=300,
        poll_option_max=100,
        # Rupor closes the poll itself with stopPoll (which returns the final votes); the range is
        # the Bot API's open_period, 5 s to 2,628,000 s (about a month), in whole minutes.
        poll_minutes_min=1,
        poll_minutes_max=43800,
        quiz_explanation_max=200,
        comment_max=4096,
        message_max=4096,
        delete_window=dt.timedelta(hours=48),
    )
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField(
            "bot_token", gettext_lazy("Bot token"), help=gettext_lazy("From @BotFather, like 123456:ABC-DEF…")
        ),
        CredentialField(
            "webhook_secret",
            gettext_lazy("Webhook secret"),
            required=False,
            help=gettext_lazy(
                "Optional: 1 to 256 letters, digits, _ or -. Telegram sends it with every update so Rupor "
                "can tell real deliveries from forged ones."
            ),
        ),
    )

    # -- plumbing -----------------------------------------------------------------------------

    def _call(
        self,
        channel: ChannelAccess,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        create: bool = False,
        files: Mapping[str, Media] | None = None,
    ) -> Any:
        token = channel.credentials.get("bot_token", "")
        base = (channel.base_url or self.default_base_url).rstrip("/")
        timeout = channel.settings.get("timeout")
        url = f"{base}/bot{token}/{method}"
        if files:
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}
            with ExitStack() as opened:
                upload = {
                    name: (m.filename, opened.enter_context(m.open()), m.content_type)
                    for name, m in files.items()
                }
                response = wire.send(url, create=create, timeout=timeout, data=form, files=upload)
        else:
            response = wire.send(url, create=create, timeout=timeout, json=dict(params or {}))
        try:
            return wire.unwrap(response, method)
        except wire.ApiFailure as failure:
            raise wire.classify(failure, create=create) from None

    def _chat(self, channel: ChannelAccess) -> str:
        return channel.remote_id

    def _me(self, channel: ChannelAccess) -> dict[str, Any]:
        result: dict[str, Any] = self._call(channel, "getMe")
        return result

    # -- text ---------------------------------------------------------------------------------

    @staticmethod
    def _html(content_text: str, options: Mapping[str, Any]) -> str:
        return content_text if options.get("format") == "html" else escape(content_text)

    def _body(self, content: Content) -> str:
        html = self._html(content.text, content.options)
        if content.link and content.link not in content.text:
            html = f"{html}\n\n{escape(content.link)}" if html.strip() else escape(content.link)
        return html

    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        del limits  # the Bot API's limits are the same for every chat
        problems: list[Problem] = []
        plain = content.text
        if content.options.get("format") == "html":
            try:
                plain = parse_html(content.text)[0]
            except EntityParseError as exc:
                problems.append(Problem("text", _("The formatting is invalid: %(error)s.") % {"error": exc}))
        measured = dataclasses.replace(content, text=plain)
        problems.extend(super().validate(measured))
        if content.poll is not None and content.media:
            problems.append(
                Problem("poll", _("Telegram cannot attach photos or videos to a poll; post them separately."))
            )
        for index, item in enumerate(content.media):
            if item.kind not in ("photo", "video"):
                problems.append(
                    Problem(f"media[{index}]", _("Telegram posts from Rupor support photos and videos only."))
                )
        if content.poll is not None and not content.poll.anonymous:
            problems.append(Problem("poll.anonymous", _("Polls in Telegram channels must be anonymous.")))
        return problems

    # -- connection ---------------------------------------------------------------------------

    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        me = self._me(channel)
        chat = self._call(channel, "getChat", {"chat_id": self._chat(channel)})
        member = self._call(channel, "getChatMember", {"chat_id": chat["id"], "user_id": me["id"]})
        status = member.get("status")
        is_channel = chat.get("type") == "channel"
        if status not in ("administrator", "creator") and (is_channel or status in ("left", "kicked")):
            raise Rejected(
                _("The bot is not an administrator of the channel."),
                code="not_admin",
                excerpt=f"status={status}",
                needs_person=True,
            )
        if is_channel and status == "administrator" and not member.get("can_post_messages"):
            raise Rejected(
                _(
                    "The bot is an administrator of the channel but may not post messages; "
                    "turn on “Post messages” in its administrator rights."
                ),
                code="no_post_rights",
                excerpt="can_post_messages=false",
                needs_person=True,
            )
        members = self._call(channel, "getChatMemberCount", {"chat_id": chat["id"]})
        notes = [
            _(
                "The Telegram Bot API cannot read view counts or channel history; Rupor shows reactions and "
                "subscriber counts only."
            )
        ]
        if is_channel:
            if chat.get("linked_chat_id"):
                notes.append(
                    _(
                        "Comments come from the channel's linked discussion group; the bot must be a member of it."
                    )
                )
            else:
                notes.append(
                    _(
                        "The channel has no linked discussion group, so it has no comments and first comments "
                        "cannot be posted."
                    )
                )
        username = chat.get("username")
        return ChannelInfo(
            remote_id=str(chat["id"]),
            name=str(chat.get("title") or username or chat["id"]),
            url=f"https://t.me/{username}" if username else None,
            members=int(members),
            can_publish=True,
            notes=tuple(notes),
        )

    # -- publishing ---------------------------------------------------------------------------

    def _url(self, chat: Mapping[str, Any], message_id: int) -> str:
        username = chat.get("username")
        if username:
            return f"https://t.me/{username}/{message_id}"
        return f"https://t.me/c/{str(chat.get('id', ''))[4:]}/{message_id}"

    @staticmethod
    def _messages(content: Content | None) -> int:
        """How many messages one publish of ``content`` puts into the chat.

        ``sendMediaGroup`` counts once per item: it creates one Message per photo or video (the
        result is an array of Messages) and the FAQ limits count messages, not API calls; the
        emulator's flood control charges it the same way. A text before a poll is a message of
        its own. ``pinChatMessage``, ``getChat`` and ``getUpdates`` send nothing.
        """
        if content is None:
            return 1
        if content.poll is not None:
            return 2 if content.text.strip() or content.link else 1
        return max(1, len(content.media))

    def _is_group(self, channel: ChannelAccess) -> bool:
        """Whether the chat is a group (20 messages a minute). ``settings["chat_type"]`` decides when
        known; otherwise a negative id without the ``-100`` prefix is a basic group, and ``-100…``
        ids and ``@usernames`` are taken for channels (Rupor's usual target): a supergroup then
        meets Telegram's 429, which the engine honours for every worker."""
        kind = str(channel.settings.get("chat_type", "")).lower()
        if kind:
            return kind in ("group", "supergroup")
        chat = channel.remote_id.strip()
        return chat.startswith("-") and not chat.startswith("-100")

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """Per bot (30 messages/s), per chat (1 message/s), per group (20 messages/minute), and for
        a first comment the same per-chat and per-group limits in the linked discussion group
        (always a supergroup). Keys name the bot by a SHA-256 prefix of its token, never the token."""
        token = channel.credentials.get("bot_token", "")
        bot = hashlib.sha256(token.encode()).hexdigest()[:16]
        chat = channel.remote_id.strip()
        messages = self._messages(content)
        comment = 1 if content is not None and content.first_comment else 0
        limits = [
            RateLimit(f"telegram:bot:{bot}", BOT_PER_SECOND, 1.0, messages + comment),
            RateLimit(f"telegram:chat:{bot}:{chat}", CHAT_PER_SECOND, 1.0, messages),
        ]
        if self._is_group(channel):
            limits.append(RateLimit(f"telegram:group:{bot}:{chat}", GROUP_PER_MINUTE, 60.0, messages))
        if comment:
            limits.append(RateLimit(f"telegram:discussion:{bot}:{chat}", CHAT_PER_SECOND, 1.0, comment))
            limits.append(
                RateLimit(f"telegram:discussion-group:{bot}:{chat}", GROUP_PER_MINUTE, 60.0, comment)
            )
        return limits

    def send_message(
        self,
        channel: ChannelAccess,
        conversation_id: str,
        text: str,
        *,
        idempotency_key: str,  # noqa: ARG002 - the base class's signature; the Bot API has no key
    ) -> Message:
        """A direct message to a person who started the bot (their chat id is their user id).

        The Bot API has no idempotency key (``idempotency_key`` is unused): an ambiguous failure
        is an :class:`UnknownOutcome` the caller must not repeat. A 403 here means the person never
        started the bot or blocked it: :class:`Unreachable`. Each call holds a slot of the bot's
        30 messages/s and of the chat's 1 message/s.
        """
        token = channel.credentials.get("bot_token", "")
        bot = hashlib.sha256(token.encode()).hexdigest()[:16]
        limits = [
            RateLimit(f"telegram:bot:{bot}", BOT_PER_SECOND, 1.0),
            RateLimit(f"telegram:chat:{bot}:{conversation_id}", CHAT_PER_SECOND, 1.0),
        ]
        try:
            with call_window(limits):
                sent = self._call(
                    channel, "sendMessage", {"chat_id": conversation_id, "text": text}, create=True
                )
        except Rejected as exc:
            if exc.code == wire.Code.FORBIDDEN:
                raise Unreachable(
                    _("This person has not started the bot or has blocked it."),
                    code=exc.code,
                    excerpt=exc.excerpt,
                ) from None
            raise
        me = channel.settings.get("bot_id", "")
        return Message(
            remote_id=wire.comment_id(conversation_id, sent.get("message_id")),
            conversation_id=conversation_id,
            author=Person(str(me)),
            text=text,
            created_at=clock.now(),
            outgoing=True,
        )

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content)
        if problems:
            raise Rejected(
                problems[0].message, code="invalid_content", excerpt="; ".join(p.message for p in problems)
            )
        chat_id = self._chat(channel)
        linked: int | None = progress.get("linked_chat_id")
        if content.first_comment and linked is None and not progress.get("message_ids"):
            chat = self._call(channel, "getChat", {"chat_id": chat_id})
            linked = chat.get("linked_chat_id")
            if not linked:
                raise Rejected(
                    "The channel has no linked discussion group, so a first comment cannot be posted.",
                    code="no_discussion_group",
                    needs_person=True,
                )
            progress.save("linked_chat_id", linked)
            progress.save("channel_chat", {"id": chat["id"], "username": chat.get("username")})
        ids: list[int] | None = progress.get("message_ids")
        if ids is None:
            sent = self._send(channel, chat_id, content, progress)
            ids = [int(m["message_id"]) for m in sent]
            progress.save("message_ids", ids)
            progress.save("chat", {"id": sent[0]["chat"]["id"], "username": sent[0]["chat"].get("username")})
        chat_info: dict[str, Any] = progress.get("chat") or {}
        excerpt = f"message_ids={','.join(map(str, ids))}"
        if content.pin and not progress.get("pinned"):
            self._call(
                channel,
                "pinChatMessage",
                {"chat_id": chat_id, "message_id": ids[0], "disable_notification": True},
            )
            progress.save("pinned", True)
        if content.first_comment and not progress.get("first_comment"):
            note = self._first_comment(channel, chat_info, ids[0], content, progress)
            if note:
                excerpt += f"; {note}"
        return Published(
            remote_id=",".join(str(i) for i in ids),
            url=self._url(chat_info, ids[0]),
            published_at=clock.now(),
            excerpt=excerpt,
        )

    def _send(
        self, channel: ChannelAccess, chat_id: str, content: Content, progress: Progress
    ) -> list[dict[str, Any]]:
        html = self._body(content)
        base: dict[str, Any] = {"chat_id": chat_id, "parse_mode": "HTML"}
        if content.options.get("silent"):
            base["disable_notification"] = True
        media = content.media
        if content.poll is not None:
            sent: list[dict[str, Any]] = list(progress.get("intro", []) or [])
            if html.strip() and not sent:
                intro = self._call(channel, "sendMessage", {**base, "text": html}, create=True)
                sent = [{"message_id": intro["message_id"], "chat": intro["chat"]}]
                progress.save("intro", sent)
            poll = content.poll
            params = {
                "chat_id": chat_id,
                "question": poll.question,
                "options": [{"text": o} for o in poll.options],
                "is_anonymous": poll.anonymous,
                "allows_multiple_answers": poll.multiple,
            }
            if poll.correct_option is not None:
                params["type"] = "quiz"
                params["correct_option_ids"] = [poll.correct_option]
                if poll.explanation:
                    params["explanation"] = poll.explanation
            message = self._call(channel, "sendPoll", params, create=True)
            return [*sent, message]
        if not media:
            params = {**base, "text": html}
            if content.link:
                params["link_preview_options"] = {"url": content.link}
            return [self._call(channel, "sendMessage", params, create=True)]
        if len(media) == 1:
            item = media[0]
            method, field = ("sendPhoto", "photo") if item.kind == "photo" else ("sendVideo", "video")
            params = {**base}
            if html.strip():
                params["caption"] = html
            if item.kind == "video":
                params["supports_streaming"] = True
                if item.width and item.height:
                    params.update(width=item.width, height=item.height)
            return [self._call(channel, method, params, create=True, files={field: item})]
        described = []
        files: dict[str, Media] = {}
        for index, item in enumerate(media):
            name = f"file{index}"
            files[name] = item
            entry: dict[str, Any] = {"type": item.kind, "media": f"attach://{name}"}
            if index == 0 and html.strip():
                entry.update(caption=html, parse_mode="HTML")
            described.append(entry)
        params = {"chat_id": chat_id, "media": described}
        if content.options.get("silent"):
            params["disable_notification"] = True
        result: list[dict[str, Any]] = self._call(channel, "sendMediaGroup", params, create=True, files=files)
        return result

    def _first_comment(
        self,
        channel: ChannelAccess,
        chat: Mapping[str, Any],
        post_id: int,
        content: Content,
        progress: Progress,
    ) -> str:
        """Reply to the post's automatic forward in the discussion group; returns a note if it could not."""
        linked = progress.get("linked_chat_id")
        forward_id = progress.get("forward_id")
        if forward_id is None:
            forward_id = self._find_forward(channel, chat.get("id"), post_id)
            if forward_id is None:
                return "first comment not posted: the post's copy in the discussion group did not arrive"
            progress.save("forward_id", forward_id)
        text = self._html(content.first_comment or "", content.options)
        message = self._call(
            channel,
            "sendMessage",
            {
                "chat_id": linked,
                "text": text,
                "parse_mode": "HTML",
                "reply_parameters": {"message_id": forward_id},
            },
            create=True,
        )
        progress.save("first_comment", wire.comment_id(linked, message["message_id"]))
        return f"first_comment={linked}:{message['message_id']}"

    def _find_forward(self, channel: ChannelAccess, channel_chat_id: Any, post_id: int) -> int | None:
        """Find the automatic forward without confirming any update (no ``offset`` is sent)."""
        attempts = int(channel.settings.get("forward_attempts", 5))
        for attempt in range(attempts):
            try:
                updates = self._call(
                    channel,
                    "getUpdates",
                    {
                        "limit": 100,
                        "timeout": 0,
                        "allowed_updates": list(wire.ALLOWED_UPDATES),
                    },
                )
            except Rejected as exc:
                if exc.code == wire.Code.CONFLICT:  # a webhook receives the forward instead
                    return None
                raise
            for update in updates:
                message = update.get("message") or {}
                origin = message.get("forward_origin") or {}
                if (
                    message.get("is_automatic_forward")
                    and origin.get("message_id") == post_id
                    and (channel_chat_id is None or (origin.get("chat") or {}).get("id") == channel_chat_id)
                ):
                    return int(message["message_id"])
            if attempt + 1 < attempts:
                time.sleep(float(channel.settings.get("forward_wait_s", 0.5)))
        return None

    # -- changing posts -----------------------------------------------------------------------

    @staticmethod
    def _ids(remote_id: str) -> list[int]:
        try:
            return [int(part) for part in remote_id.split(",") if part.strip()]
        except ValueError:
            raise Rejected(f"{remote_id!r} is not a Telegram message id.", code="bad_remote_id") from None

    def edit(self, channel: ChannelAccess, remote_id: str, content: Content) -> None:
        problems = [p for p in self.validate(content) if p.field == "text"]
        if problems:
            raise Rejected(problems[0].message, code="invalid_content")
        first = self._ids(remote_id)[0]
        html = self._body(content)
        method, params = ("editMessageText", {"text": html})
        if content.media or content.options.get("caption"):
            method, params = ("editMessageCaption", {"caption": html})
        try:
            self._call(
                channel,
                method,
                {"chat_id": self._chat(channel), "message_id": first, "parse_mode": "HTML", **params},
            )
        except Rejected as exc:
            # Editing to the same content is "not modified": the edit is already in place.
            if "not modified" in exc.excerpt:
                return
            raise

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        for message_id in self._ids(remote_id):
            try:
                self._call(
                    channel, "deleteMessage", {"chat_id": self._chat(channel), "message_id": message_id}
                )
            except Rejected as exc:
                if "message to delete not found" in exc.excerpt:
                    continue  # already gone: deleting is done
                raise

    def pin(self, channel: ChannelAccess, remote_id: str) -> None:
        self._call(
            channel,
            "pinChatMessage",
            {
                "chat_id": self._chat(channel),
                "message_id": self._ids(remote_id)[0],
                "disable_notification": True,
            },
        )

    # -- conversation -------------------------------------------------------------------------

    def _discussion(self, channel: ChannelAccess) -> int:
        chat = self._call(channel, "getChat", {"chat_id": self._chat(channel)})
        if chat.get("type") in ("group", "supergroup"):
            return int(chat["id"])
        linked = chat.get("linked_chat_id")
        if not linked:
            raise Rejected(
                "The channel has no linked discussion group, so it has no comments.",
                code="no_discussion_group",
                needs_person=True,
            )
        return int(linked)

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,  # noqa: ARG002 - the port's signature; the Bot API takes no such parameter
    ) -> Comment:
        if reply_to is None:
            raise Rejected(
                "Choose a comment to reply to: the Bot API cannot find a post's thread on its own.",
                code="reply_to_required",
            )
        group, message_id = wire.parse_comment_id(reply_to)
        sent = self._call(
            channel,
            "sendMessage",
            {
                "chat_id": group,
                "text": escape(text),
                "parse_mode": "HTML",
                "reply_parameters": {"message_id": message_id},
            },
            create=True,
        )
        comment = wire.to_comment(sent)
        return dataclasses.replace(
            comment, post_remote_id=comment.post_remote_id or post_remote_id, parent_remote_id=reply_to
        )

    def reply_mention(
        self,
        channel: ChannelAccess,
        conversation_id: str,  # noqa: ARG002 - the port's signature; the mention's id names its chat
        mention_remote_id: str,
        text: str,
        *,
        idempotency_key: str,  # noqa: ARG002 - the port's signature; the Bot API takes no such parameter
    ) -> Message:
        """A reply to the message in its chat (and so in its forum topic, where it has one)."""
        chat, message_id = wire.parse_comment_id(mention_remote_id)
        sent = self._call(
            channel,
            "sendMessage",
            {
                "chat_id": chat,
                "text": escape(text),
                "parse_mode": "HTML",
                "reply_parameters": {"message_id": message_id},
            },
            create=True,
        )
        return Message(
            wire.comment_id(chat, sent.get("message_id")),
            chat,
            Person(
                str((sent.get("from") or {}).get("id", "")),
                str((sent.get("from") or {}).get("first_name", "")),
            ),
            text,
            clock.now(),
            outgoing=True,
        )

    def delete_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:  # noqa: ARG002 - the port's signature; the Bot API takes no such parameter
        group, message_id = wire.parse_comment_id(comment_remote_id)
        try:
            self._call(channel, "deleteMessage", {"chat_id": group, "message_id": message_id})
        except Rejected as exc:
            if "message to delete not found" not in exc.excerpt:
                raise

    def ban_user(self, channel: ChannelAccess, user_remote_id: str, *, reason: str = "") -> None:  # noqa: ARG002 - the port's signature; the Bot API takes no such parameter
        group = self._discussion(channel)
        self._call(channel, "banChatMember", {"chat_id": group, "user_id": int(user_remote_id)})

    # -- measurement --------------------------------------------------------------------------

    def stop_poll(self, channel: ChannelAccess, remote_id: str) -> PollTally:
        """``stopPoll`` on the post's poll (its last message): the final Poll, votes and all."""
        message_id = self._ids(remote_id)[-1]
        poll = self._call(channel, "stopPoll", {"chat_id": self._chat(channel), "message_id": message_id})
        return wire.poll_tally(poll)

    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        """Reaction totals still waiting in the update queue; views are never readable by bots.

        Reaction totals normally reach Rupor as ``REACTIONS`` events from webhooks or polling;
        this reads the pending ``message_reaction_count`` updates without confirming them.
        """
        wanted = {self._ids(r)[0]: r for r in remote_ids}
        latest: dict[int, dict[str, int]] = {}
        try:
            updates = self._call(
                channel,
                "getUpdates",
                {
                    "limit": 100,
                    "timeout": 0,
                    "allowed_updates": list(wire.ALLOWED_UPDATES),
                },
            )
        except Rejected as exc:
            if exc.code != wire.Code.CONFLICT:
                raise
            updates = []
        for update in updates:
            counts = update.get("message_reaction_count")
            if isinstance(counts, dict) and counts.get("message_id") in wanted:
                latest[int(counts["message_id"])] = wire.reaction_counts(counts)
        now = clock.now()
        out = []
        for message_id, remote_id in wanted.items():
            reactions = latest.get(message_id)
            out.append(
                PostMetrics(
                    remote_id=remote_id,
                    read_at=now,
                    views=None,
                    likes=sum(reactions.values()) if reactions is not None else None,
                    reactions=reactions or {},
                )
            )
        return out

    def membership(self, channel: ChannelAccess, user_ids: Sequence[str]) -> Mapping[str, bool]:
        """``getChatMember`` per person (the Bot API has no batch and no member list): a member,
        an administrator, the creator, or restricted but still ``is_member``."""
        out: dict[str, bool] = {}
        for uid in user_ids:
            if not uid.lstrip("-").isdigit():
                continue
            try:
                member = self._call(
                    channel, "getChatMember", {"chat_id": self._chat(channel), "user_id": uid}
                )
            except Rejected:
                out[uid] = False  # "user not found": never in the chat
                continue
            status = member.get("status") if isinstance(member, dict) else None
            out[uid] = status in ("creator", "administrator", "member") or (
                status == "restricted" and bool(member.get("is_member"))
            )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        members = self._call(channel, "getChatMemberCount", {"chat_id": self._chat(channel)})
        return ChannelMetrics(read_at=clock.now(), members=int(members))

    def public_page(self, channel: ChannelAccess, handle: str, *, limit: int = 20) -> PublicPage:  # noqa: ARG002 - the port's signature; the Bot API takes no such parameter
        raise NotSupported(
            "The Telegram Bot API cannot read other channels' posts or view counts; that needs a Telegram "
            "user account (MTProto client), which Rupor does not use."
        )

    # -- intake -------------------------------------------------------------------------------

    def _bot_id(self, channel: ChannelAccess) -> int | None:
        token = channel.credentials.get("bot_token", "")
        head = token.split(":", 1)[0]
        return int(head) if head.isdigit() else None

    def _bot_username(self, channel: ChannelAccess) -> str | None:
        """The bot's @username (``getMe``), read once per bot and kept: group messages mention it
        by name. Unknown (None) when ``getMe`` fails; replies and text mentions still count."""
        bot_id = self._bot_id(channel)
        base = channel.base_url or self.default_base_url
        key = (base, bot_id)
        if key not in _USERNAMES:
            try:
                me = self._me(channel)
            except NetworkError:
                return None
            _USERNAMES[key] = str(me.get("username") or "") or None
        return _USERNAMES[key]

    def handle_webhook(
        self, channel: ChannelAccess, headers: Mapping[str, str], body: bytes
    ) -> WebhookResult:
        expected = channel.credentials.get("webhook_secret", "")
        if expected:
            given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER.lower()), "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return WebhookResult(status=403, body=b"forbidden")
        try:
            update = json.loads(body)
        except ValueError:
            return WebhookResult(status=400, body=b"bad request")
        if not isinstance(update, dict):
            return WebhookResult(status=400, body=b"bad request")
        events = wire.update_to_events(
            update, channel.remote_id, self._bot_id(channel), self._username_if_needed(channel, update)
        )
        return WebhookResult(events=tuple(events))

    def _username_if_needed(self, channel: ChannelAccess, update: Mapping[str, Any]) -> str | None:
        """Ask for the bot's username only when a group message carries a mention entity."""
        message = update.get("message")
        if not isinstance(message, dict):
            return None
        entities = message.get("entities") or message.get("caption_entities") or ()
        if any(isinstance(e, dict) and e.get("type") == "mention" for e in entities):
            return self._bot_username(channel)
        return None

    def set_webhook(self, channel: ChannelAccess, url: str) -> None:
        """Point the bot's updates at ``url`` (with the channel's secret, if any)."""
        params: dict[str, Any] = {"url": url, "allowed_updates": list(wire.ALLOWED_UPDATES)}
        secret = channel.credentials.get("webhook_secret")
        if secret:
            params["secret_token"] = secret
        self._call(channel, "setWebhook", params)

    def poll_updates(self, channel: ChannelAccess, cursor: str | None) -> UpdatesPage:
        params: dict[str, Any] = {"timeout": 0, "limit": 100, "allowed_updates": list(wire.ALLOWED_UPDATES)}
        if cursor:
            params["offset"] = int(cursor)
        updates = self._call(channel, "getUpdates", params)
        bot_id = self._bot_id(channel)
        events = []
        next_cursor = cursor
        for update in updates:
            username = self._username_if_needed(channel, update)
            events.extend(wire.update_to_events(update, channel.remote_id, bot_id, username))
            next_cursor = str(int(update["update_id"]) + 1)
        return UpdatesPage(events=tuple(events), cursor=next_cursor)
