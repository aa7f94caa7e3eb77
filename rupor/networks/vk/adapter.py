"""VKontakte adapter: community walls, comments, community messages, statistics, Callback API.

A VK channel is one community (``remote_id`` = its positive id). VK splits the work between
two tokens (schema ``access_token_type``): ``wall.post``, photo upload, ``polls.create``,
``wall.deleteComment``, ``groups.ban`` and ``stats.*`` accept only a *user* token (of a
community administrator or editor), while messages, long poll and community replies use the
*community* token. Every call is a form-encoded POST with ``v=5.199`` and the token in the
``Authorization: Bearer`` header, so it never appears in VK's echoed ``request_params``.

Idempotency: ``guid`` (from the target's idempotency key) goes on every ``wall.post`` and
``wall.createComment``, ``random_id`` on ``messages.send``; so an ambiguous failure of those
calls is an :class:`UnknownOutcome` that the engine may retry with the same key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any, ClassVar

import httpx
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.core import clock, http
from rupor.networks import errors, transport
from rupor.networks.base import (
    Adapter,
    Capability,
    ChannelAccess,
    ChannelDayStats,
    ChannelInfo,
    ChannelMetrics,
    Comment,
    Content,
    CredentialField,
    Event,
    EventKind,
    FoundPost,
    Limits,
    Media,
    MemoryProgress,
    Message,
    Person,
    PollTally,
    PostMetrics,
    Problem,
    Progress,
    PublicPage,
    PublicPost,
    Published,
    PublishRequest,
    RateLimit,
    SearchPage,
    TextUnit,
    UpdatesPage,
    WebhookResult,
    call_window,
    looks_like_video,
)
from rupor.networks.text import kind_name
from rupor.networks.vk import wire

USER, GROUP = "user_token", "group_token"
_RATES = {USER: 3, GROUP: 20}
#: Callback API / Long Poll updates that carry a whole comment, and what each one is to us
#: (wall_reply_restore: a deleted comment brought back, with its text).
_COMMENT_UPDATES = {
    "wall_reply_new": EventKind.COMMENT_NEW,
    "wall_reply_edit": EventKind.COMMENT_EDIT,
    "wall_reply_restore": EventKind.COMMENT_RESTORE,
}


def _digest(token: str) -> str:
    """A short, non-reversible name for a token (rate-limit keys must never carry a secret)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class VkAdapter(Adapter):
    network = "vk"
    display_name = "VKontakte"
    default_base_url = wire.DEFAULT_BASE_URL
    idempotent_publish = True
    idempotent_messages = True  # messages.send dedupes on random_id
    search_credential = USER  # newsfeed.search takes user and service tokens, never a community's
    # The wall methods on comments are create, edit, delete, restore, report, get, close/open
    # comments (dev.vk.com, the API schema): none hides one (docs/decisions/0013-hiding-comments.md).
    no_hide_reason = gettext_lazy(
        "VK's API has no way to hide a comment: it can only delete one. Deleting removes it for "
        "everyone, and Rupor can undo the deletion while VK still keeps the comment."
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_POLL,
            Capability.POLL_RESULTS,
            Capability.PUBLISH_LINK,
            Capability.FIRST_COMMENT,
            Capability.EDIT,
            Capability.DELETE,
            Capability.RECONCILE,
            Capability.READ_COMMENTS,
            Capability.REPLY_COMMENT,
            Capability.DELETE_COMMENT,
            Capability.RESTORE_COMMENT,
            Capability.BAN_USER,
            Capability.LOOKUP_PEOPLE,
            Capability.READ_MESSAGES,
            Capability.SEND_MESSAGE,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.PUBLIC_PAGES,
            Capability.WEBHOOKS,
            Capability.POLL_UPDATES,
            Capability.VERIFY,
            Capability.SEARCH_POSTS,
            Capability.REPLY_MENTION,
            Capability.CHECK_MEMBER,
            Capability.LIST_MEMBERS,
            Capability.LIST_STAFF,
            Capability.LIST_LIKERS,
            Capability.LIST_REPOSTERS,
            Capability.READ_RECEIPTS,
        }
    )
    limits = Limits(
        text_unit=TextUnit.CHARS,
        text_max=16384,  # [M] widely reported wall limit; VK documents none (docs/networks.md §1.5)
        media_max=10,  # photos + videos per post [V dev.vk.com]
        album_min=2,
        album_max=10,
        photo_max_bytes=50 * 1024 * 1024,
        photo_types=("image/jpeg", "image/png", "image/gif"),
        video_types=wire.VIDEO_TYPES,
        video_max_bytes=256 * 1024**3,  # [M] VK Video's current upload limit (256 GB)
        poll_options_min=1,  # add_answers: 1 to 10 [V]
        poll_options_max=10,
        poll_option_max=100,  # [V dev.vk.com]
        poll_minutes_min=1,  # polls.create end_date: a Unix time in the future, no stated maximum
        links_max=None,  # links in the text are fine; at most one link *attachment* (checked below)
        comment_max=16384,
        message_max=9000,  # messages.send maxLength [V schema]
    )
    credential_fields = (
        CredentialField(
            "user_token",
            gettext_lazy("Administrator's user token"),
            help=gettext_lazy(
                "An access token of a VK user who is an administrator or editor of the community, with the "
                "rights wall, photos, groups, stats and offline. VK lets only user tokens publish on a "
                "community wall, upload photos, create polls and read statistics."
            ),
        ),
        CredentialField(
            "group_token",
            gettext_lazy("Community token"),
            help=gettext_lazy(
                "Created in the community: Manage → Working with API → Access tokens, with the rights to "
                "manage the community, messages and wall. Rupor uses it to answer comments, read and send "
                "community messages and receive events."
            ),
        ),
        CredentialField(
            "callback_confirmation",
            gettext_lazy("Callback API confirmation string"),
            secret=False,
            required=False,
            help=gettext_lazy(
                "Only if VK should send events to Rupor: the 'string to be returned' shown under Manage → "
                "Working with API → Callback API."
            ),
        ),
        CredentialField(
            "callback_secret",
            gettext_lazy("Callback API secret key"),
            required=False,
            help=gettext_lazy(
                "The secret key you set under Callback API; Rupor refuses deliveries that do not carry it."
            ),
        ),
    )

    # -- transport -------------------------------------------------------------------------
    def _base(self, channel: ChannelAccess) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

    def _timeout(self, channel: ChannelAccess) -> float | None:
        value = channel.settings.get("timeout")
        return float(value) if value is not None else None

    def _token(self, channel: ChannelAccess, which: str) -> str:
        token = channel.credentials.get(which, "")
        if not token:
            label = "administrator's user token" if which == USER else "community token"
            raise errors.AuthExpired(
                f"The VK {label} is missing; reconnect the community in Rupor.", needs_person=True
            )
        return token

    def call(
        self, channel: ChannelAccess, method: str, params: Mapping[str, Any], *, token: str = USER
    ) -> Any:
        """One VK API method call; returns ``response`` or raises a taxonomy error."""
        secret = self._token(channel, token)
        bucket = f"vk:{'user' if token == USER else 'community'}:{_digest(secret)}"
        window = (
            call_window([RateLimit(bucket, _RATES[token], 1.0)])
            if channel.settings.get("pace", True)
            else nullcontext()
        )
        data = {k: str(int(v) if isinstance(v, bool) else v) for k, v in params.items() if v is not None}
        data["v"] = wire.API_VERSION
        creates = method in wire.KEYED_CREATES
        with window:
            answer = transport.send(
                "VK",
                "POST",
                f"{self._base(channel)}/method/{method}",
                creates=creates,
                what=method,
                timeout=self._timeout(channel),
                headers={"Authorization": f"Bearer {secret}"},
                data=data,
            )
        label = "administrator's user token" if token == USER else "community token"
        return wire.parse(method, answer, creates=creates, token=label)

    # -- text ------------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        for index, media in enumerate(content.media):
            if media.kind not in ("photo", "video"):
                problems.append(
                    Problem(
                        f"media[{index}]",
                        _("VK posts take photos and videos; %(file)s is a %(kind)s.")
                        % {"file": media.filename, "kind": kind_name(media.kind)},
                    )
                )
            elif (
                media.kind == "video"
                and media.content_type in wire.VIDEO_TYPES
                and not looks_like_video(media.head)
            ):
                problems.append(
                    Problem(
                        f"media[{index}]",
                        _("%(file)s does not look like a video file VK can play.") % {"file": media.filename},
                    )
                )
        if content.poll is not None and not content.text.strip() and not content.media:
            problems.append(
                Problem(
                    "poll",
                    _(
                        "VK does not allow a poll as the only content of a post: add text, a photo or a video."
                    ),
                )
            )
        if content.first_comment is not None and len(content.first_comment) > (self.limits.comment_max or 0):
            problems.append(Problem("first_comment", _("The first comment is too long for VK.")))
        return problems

    # -- connection ------------------------------------------------------------------------
    def _gid(self, channel: ChannelAccess) -> int:
        try:
            return abs(int(channel.remote_id))
        except ValueError as exc:
            raise errors.Rejected(_("The VK community id must be a number."), needs_person=True) from exc

    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        gid = self._gid(channel)
        own = self.call(channel, "groups.getById", {}, token=GROUP)["groups"][0]
        if int(own["id"]) != gid:
            raise errors.Rejected(
                _("The community token belongs to another community (%(name)s).")
                % {"name": own.get("name", own["id"])},
                needs_person=True,
            )
        group = self.call(
            channel, "groups.getById", {"group_id": gid, "fields": "members_count,wall,can_post"}
        )["groups"][0]
        if not group.get("is_admin") or int(group.get("admin_level", 0)) < 2:
            raise errors.Rejected(
                _(
                    "The VK user whose token was given is not an editor or administrator of the "
                    "community, so Rupor cannot publish there."
                ),
                needs_person=True,
                code="not_admin",
            )
        if group.get("wall") == 0:
            raise errors.Rejected(
                _("The community's wall is turned off; turn it on in the community settings."),
                needs_person=True,
                code="wall_off",
            )
        notes = []
        if group.get("wall") == 3:
            notes.append(_("The wall is closed: only the community can post and members cannot comment."))
        if int(group.get("admin_level", 0)) < 3:
            notes.append(
                _("The user is an editor, not an administrator: Rupor cannot manage Callback API servers.")
            )
        return ChannelInfo(
            remote_id=str(gid),
            name=str(group.get("name", "")),
            url=f"https://vk.com/{group.get('screen_name') or f'club{gid}'}",
            members=group.get("members_count"),
            can_publish=True,
            notes=tuple(notes),
        )

    # -- publishing ------------------------------------------------------------------------
    def _upload_photo(self, channel: ChannelAccess, gid: int, media: Media, server: dict[str, Any]) -> str:
        try:
            with http.client(timeout=self._timeout(channel)) as client, media.open() as handle:
                answer = client.post(
                    server["upload_url"], files={"photo": (media.filename, handle, media.content_type)}
                )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise errors.Transient("Could not reach VK's upload server; nothing was sent.") from exc
        except httpx.HTTPError as exc:  # an orphan upload is harmless: safe to redo
            raise errors.Transient(f"The photo upload to VK failed ({type(exc).__name__}).") from exc
        if answer.status_code != 200:
            raise errors.Transient(
                f"VK's upload server answered {answer.status_code}.", code=answer.status_code
            )
        try:
            uploaded = answer.json()
        except ValueError as exc:
            raise errors.Transient("VK's upload server sent an unreadable answer.") from exc
        if not isinstance(uploaded, dict) or uploaded.get("photo") in (None, "", "[]"):
            raise errors.Rejected(
                f"VK did not accept {media.filename} as a photo.",
                code=wire.Code.PARAM_PHOTO,
                excerpt=wire.excerpt_of(uploaded),
            )
        saved = self.call(
            channel,
            "photos.saveWallPhoto",
            {
                "group_id": gid,
                "photo": uploaded["photo"],
                "server": uploaded.get("server"),
                "hash": uploaded.get("hash"),
            },
        )
        photo = saved[0]
        return f"photo{photo['owner_id']}_{photo['id']}"

    def _upload_video(
        self, channel: ChannelAccess, gid: int, media: Media, description: str, progress: Progress, key: str
    ) -> str:
        """``video.save`` → multipart upload (field ``video_file``) → ``video{owner_id}_{video_id}``.

        The ``video.save`` answer is kept under ``{key}:slot`` so a retry after a failed upload
        sends the file to the same video instead of creating another empty one.
        """
        slot = progress.get(f"{key}:slot")
        if not isinstance(slot, dict) or not slot.get("upload_url"):
            title = str(media.filename.rsplit(".", 1)[0] or "Video")[:128]
            slot = self.call(
                channel,
                "video.save",
                {"group_id": gid, "name": title, "description": description or None, "wallpost": 0},
            )
            slot = {k: slot.get(k) for k in ("upload_url", "video_id", "owner_id")}
            progress.save(f"{key}:slot", slot)
        try:
            with http.client(timeout=self._timeout(channel)) as client, media.open() as handle:
                answer = client.post(
                    str(slot["upload_url"]),
                    files={"video_file": (media.filename, handle, media.content_type)},
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, http.BlockedAddress) as exc:
            raise errors.Transient("Could not reach VK's video upload server; nothing was sent.") from exc
        except httpx.HTTPError as exc:  # the video is not on the wall until wall.post: safe to upload again
            raise errors.Transient(f"The video upload to VK failed ({type(exc).__name__}).") from exc
        if answer.status_code != 200:
            raise errors.Transient(
                f"VK's video upload server answered {answer.status_code}.", code=answer.status_code
            )
        try:
            uploaded = answer.json()
        except ValueError as exc:
            raise errors.Transient("VK's video upload server sent an unreadable answer.") from exc
        if not isinstance(uploaded, dict) or "video_id" not in uploaded:
            progress.save(f"{key}:slot", None)  # that upload address is spent; a retry asks for a new one
            raise errors.Rejected(
                f"VK did not accept {media.filename} as a video.",
                code=wire.Code.UPLOAD,
                excerpt=wire.excerpt_of(uploaded),
                needs_person=True,
            )
        owner_id = int(uploaded.get("owner_id", slot.get("owner_id") or -gid))
        return wire.video_attachment(owner_id, int(uploaded["video_id"]))

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """VK's published per-token limits (docs/networks.md §1.3): 3 requests/s for a user token, 20/s
        for a community token; channels sharing a token share the bucket. Keys carry a SHA-256
        prefix of the token, never the token.

        ``cost`` counts one publish's API calls per token: on the user token ``wall.post``, plus
        ``photos.getWallUploadServer`` once and ``photos.saveWallPhoto`` per photo (the multipart
        upload goes to the upload server, not the API), plus ``video.save`` per video (its upload
        goes to the upload server too), plus ``polls.create``; on the community token the first
        comment's ``wall.createComment``.
        """
        user = 1  # wall.post
        community = 0
        if content is not None:
            photos = sum(1 for m in content.media if m.kind == "photo")
            user += (1 + photos) if photos else 0
            user += sum(1 for m in content.media if m.kind == "video")
            user += 1 if content.poll is not None else 0
            community += 1 if content.first_comment else 0
        limits = [RateLimit(f"vk:user:{_digest(channel.credentials.get(USER, ''))}", _RATES[USER], 1.0, user)]
        if community:
            limits.append(
                RateLimit(
                    f"vk:community:{_digest(channel.credentials.get(GROUP, ''))}",
                    _RATES[GROUP],
                    1.0,
                    community,
                )
            )
        return limits

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        gid = self._gid(channel)
        attachments: list[str] = []
        server: dict[str, Any] | None = None
        for index, media in enumerate(content.media):
            key = f"{media.kind}:{index}"
            done = progress.get(key)
            if not done:
                if media.kind == "video":
                    done = self._upload_video(channel, gid, media, content.text, progress, key)
                else:
                    if server is None:
                        server = self.call(channel, "photos.getWallUploadServer", {"group_id": gid})
                    done = self._upload_photo(channel, gid, media, server)
                progress.save(key, done)
            attachments.append(str(done))
        if content.poll is not None:
            done = progress.get("poll")
            if not done:
                poll = content.poll
                created = self.call(
                    channel,
                    "polls.create",
                    {
                        "owner_id": -gid,
                        "question": poll.question,
                        "is_anonymous": poll.anonymous,
                        "is_multiple": poll.multiple,
                        "add_answers": json.dumps(list(poll.options), ensure_ascii=False),
                        **(
                            {"end_date": int(clock.now().timestamp()) + poll.minutes * 60}
                            if poll.minutes
                            else {}
                        ),
                    },
                )
                done = f"poll{created['owner_id']}_{created['id']}"
                progress.save("poll", done)
            attachments.append(str(done))
        if content.link:
            attachments.append(content.link)
        params: dict[str, Any] = {
            "owner_id": -gid,
            "from_group": 1,
            "message": content.text or None,
            "attachments": ",".join(attachments) or None,
            "guid": request.idempotency_key,
        }
        when = request.publish_at
        now = clock.now()
        if when is not None and when > now + dt.timedelta(minutes=2):
            params["publish_date"] = int(when.timestamp())
        else:
            when = None
        post_id = progress.get("post_id")
        if not post_id:
            post_id = int(self.call(channel, "wall.post", params)["post_id"])
            progress.save("post_id", post_id)
        remote = wire.post_remote_id(-gid, int(post_id))
        excerpt = f"post {remote}"
        if content.first_comment and not progress.get("first_comment"):
            try:
                comment = self.call(
                    channel,
                    "wall.createComment",
                    {
                        "owner_id": -gid,
                        "post_id": post_id,
                        "from_group": gid,
                        "message": content.first_comment,
                        "guid": f"{request.idempotency_key}:first-comment",
                    },
                    token=GROUP,
                )
                progress.save("first_comment", comment["comment_id"])
            except errors.Rejected as exc:
                excerpt = f"post {remote}; the first comment failed: {exc.message}"
        return Published(
            remote_id=remote, url=wire.post_url(-gid, int(post_id)), published_at=when or now, excerpt=excerpt
        )

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        gid = self._gid(channel)
        content = request.content
        filters = ["owner"] + (["postponed"] if request.publish_at else [])
        for filt in filters:
            page = self.call(channel, "wall.get", {"owner_id": -gid, "count": 100, "filter": filt})
            for item in page.get("items", []):
                if item.get("text", "") != content.text:
                    continue
                kinds = [a.get("type") for a in item.get("attachments", [])]
                if (
                    kinds.count("photo") != sum(1 for m in content.media if m.kind == "photo")
                    or kinds.count("video") != sum(1 for m in content.media if m.kind == "video")
                    or (content.poll is not None) != ("poll" in kinds)
                ):
                    continue
                return Published(
                    remote_id=wire.post_remote_id(int(item["owner_id"]), int(item["id"])),
                    url=wire.post_url(int(item["owner_id"]), int(item["id"])),
                    published_at=wire.timestamp(item.get("date")),
                    excerpt="found on the wall",
                )
        return None

    def edit(self, channel: ChannelAccess, remote_id: str, content: Content) -> None:
        owner_id, post_id = wire.split_post_id(remote_id)
        current = self.call(channel, "wall.getById", {"posts": remote_id}).get("items", [])
        if not current:
            raise errors.Rejected("The post is no longer on the wall.", code=wire.Code.WALL_ACCESS_POST)
        keep = [
            f"{a['type']}{a[a['type']]['owner_id']}_{a[a['type']]['id']}"
            for a in current[0].get("attachments", [])
            if a.get("type") in ("photo", "poll", "video", "doc") and isinstance(a.get(a["type"]), dict)
        ]
        if content.media:
            progress = MemoryProgress()
            server: dict[str, Any] | None = None
            keep = [a for a in keep if not a.startswith(("photo", "video"))]
            for index, media in enumerate(content.media):
                if media.kind == "video":
                    keep.append(
                        self._upload_video(
                            channel, -owner_id, media, content.text, progress, f"video:{index}"
                        )
                    )
                else:
                    if server is None:
                        server = self.call(channel, "photos.getWallUploadServer", {"group_id": -owner_id})
                    keep.append(self._upload_photo(channel, -owner_id, media, server))
                progress.save(f"{media.kind}:{index}", keep[-1])
        if content.link:
            keep.append(content.link)
        self.call(
            channel,
            "wall.edit",
            {
                "owner_id": owner_id,
                "post_id": post_id,
                "message": content.text,
                "attachments": ",".join(keep) or None,
            },
        )

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        owner_id, post_id = wire.split_post_id(remote_id)
        self.call(channel, "wall.delete", {"owner_id": owner_id, "post_id": post_id})

    # -- conversation ----------------------------------------------------------------------
    def _comment(self, raw: dict[str, Any], owner_id: int, post_id: int, names: Mapping[int, str]) -> Comment:
        author = int(raw.get("from_id", 0))
        parent = raw.get("reply_to_comment") or (raw.get("parents_stack") or [None])[-1]
        return Comment(
            remote_id=wire.comment_remote_id(owner_id, int(raw["id"])),
            post_remote_id=wire.post_remote_id(owner_id, int(raw.get("post_id", post_id))),
            author=Person(str(author), names.get(author, ""), wire.owner_url(author)),
            text=str(raw.get("text", "")),
            created_at=wire.timestamp(raw.get("date")),
            parent_remote_id=wire.comment_remote_id(owner_id, int(parent)) if parent else None,
            deleted=bool(raw.get("deleted")),
        )

    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        owner_id, post_id = wire.split_post_id(post_remote_id)
        out: list[Comment] = []
        offset = 0
        while True:
            try:
                page = self.call(
                    channel,
                    "wall.getComments",
                    {
                        "owner_id": owner_id,
                        "post_id": post_id,
                        "count": 100,
                        "offset": offset,
                        "sort": "asc",
                        "thread_items_count": 10,
                        "extended": 1,
                    },
                )
            except errors.Rejected as exc:
                if exc.code == wire.Code.WALL_ACCESS_POST:  # the post was deleted on VK: no comments are left
                    return []
                raise
            names = wire.names_of(page.get("profiles"), page.get("groups"))
            items = page.get("items", [])
            for raw in items:
                out.append(self._comment(raw, owner_id, post_id, names))
                thread = raw.get("thread") or {}
                replies = thread.get("items", [])
                if thread.get("count", 0) > len(replies):
                    replies = self._thread(channel, owner_id, post_id, int(raw["id"]), names)
                out.extend(self._comment(r, owner_id, post_id, names) for r in replies)
            offset += len(items)
            if not items or offset >= int(page.get("current_level_count", page.get("count", 0))):
                break
        if since is not None:
            out = [c for c in out if c.created_at >= since]
        return out

    def _thread(
        self, channel: ChannelAccess, owner_id: int, post_id: int, comment_id: int, names: dict[int, str]
    ) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = []
        while True:
            page = self.call(
                channel,
                "wall.getComments",
                {
                    "owner_id": owner_id,
                    "post_id": post_id,
                    "comment_id": comment_id,
                    "count": 100,
                    "offset": len(replies),
                    "sort": "asc",
                    "extended": 1,
                },
            )
            names.update(wire.names_of(page.get("profiles"), page.get("groups")))
            items = page.get("items", [])
            replies.extend(items)
            if not items or len(replies) >= int(page.get("count", 0)):
                return replies

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,
    ) -> Comment:
        owner_id, post_id = wire.split_post_id(post_remote_id)
        gid = self._gid(channel)
        params: dict[str, Any] = {
            "owner_id": owner_id,
            "post_id": post_id,
            "from_group": gid,
            "message": text,
            "guid": idempotency_key,
        }
        if reply_to:
            params["reply_to_comment"] = wire.split_comment_id(reply_to)
        created = self.call(channel, "wall.createComment", params, token=GROUP)
        return Comment(
            remote_id=wire.comment_remote_id(owner_id, int(created["comment_id"])),
            post_remote_id=post_remote_id,
            author=Person(str(-gid), "", wire.owner_url(-gid)),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def delete_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:
        owner_id, _ = wire.split_post_id(post_remote_id)
        self.call(
            channel,
            "wall.deleteComment",
            {"owner_id": owner_id, "comment_id": wire.split_comment_id(comment_remote_id)},
        )

    def restore_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:
        owner_id, _ = wire.split_post_id(post_remote_id)
        try:
            self.call(
                channel,
                "wall.restoreComment",
                {"owner_id": owner_id, "comment_id": wire.split_comment_id(comment_remote_id)},
            )
        except errors.Rejected as exc:
            if exc.code != wire.Code.WALL_COMMENT_NOT_DELETED:  # already back: what was asked is done
                raise

    def ban_user(self, channel: ChannelAccess, user_remote_id: str, *, reason: str = "") -> None:
        self.call(
            channel,
            "groups.ban",
            {
                "group_id": self._gid(channel),
                "owner_id": int(user_remote_id),
                "comment": reason or None,
                "comment_visible": 1 if reason else None,
            },
        )

    def people(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[Person]:
        """Users by ``users.get`` (photo_100, followers_count; 1000 ids a call) and communities
        by ``groups.getById`` (photo_100, members_count as their reach; 500 a call)."""
        users = sorted({int(r) for r in remote_ids if r.lstrip("-").isdigit() and int(r) > 0})
        groups = sorted({-int(r) for r in remote_ids if r.lstrip("-").isdigit() and int(r) < 0})
        out: list[Person] = []
        for start in range(0, len(users), wire.USERS_PER_CALL):
            chunk = users[start : start + wire.USERS_PER_CALL]
            try:
                found = self.call(
                    channel,
                    "users.get",
                    {"user_ids": ",".join(map(str, chunk)), "fields": "photo_100,followers_count"},
                    token=GROUP,
                )
            except errors.Rejected as exc:
                if exc.code != wire.Code.INVALID_USER_ID:  # none of them is a VK page (any more)
                    raise
                continue
            out.extend(wire.user_person(raw) for raw in found or () if isinstance(raw, dict) and "id" in raw)
        for start in range(0, len(groups), wire.GROUPS_PER_CALL):
            chunk = groups[start : start + wire.GROUPS_PER_CALL]
            try:
                found = self.call(
                    channel,
                    "groups.getById",
                    {"group_ids": ",".join(map(str, chunk)), "fields": "members_count"},
                    token=GROUP,
                )
            except errors.Rejected as exc:
                if exc.code not in (wire.Code.PARAM, wire.Code.PARAM_GROUP_ID):  # a community is gone
                    raise
                continue
            raws = found.get("groups", ()) if isinstance(found, dict) else found or ()
            out.extend(wire.group_person(raw) for raw in raws if isinstance(raw, dict) and "id" in raw)
        return out

    def _message(self, raw: dict[str, Any], names: Mapping[int, str]) -> Message:
        author = int(raw.get("from_id", 0))
        return Message(
            remote_id=str(raw["id"]),
            conversation_id=str(raw.get("peer_id", author)),
            author=Person(str(author), names.get(author, ""), wire.owner_url(author)),
            text=str(raw.get("text", "")),
            created_at=wire.timestamp(raw.get("date")),
            outgoing=bool(raw.get("out")),
        )

    def read_messages(self, channel: ChannelAccess, *, since: dt.datetime | None = None) -> Sequence[Message]:
        convs = self.call(channel, "messages.getConversations", {"count": 200, "extended": 1}, token=GROUP)
        names = wire.names_of(convs.get("profiles"), convs.get("groups"))
        out: list[Message] = []
        for item in convs.get("items", []):
            last = item.get("last_message") or {}
            if since is not None and wire.timestamp(last.get("date")) < since:
                continue
            peer = item["conversation"]["peer"]["id"]
            history = self.call(channel, "messages.getHistory", {"peer_id": peer, "count": 200}, token=GROUP)
            for raw in history.get("items", []):
                message = self._message(raw, names)
                if since is None or message.created_at >= since:
                    out.append(message)
        out.sort(key=lambda m: (m.created_at, int(m.remote_id)))
        return out

    def send_message(
        self, channel: ChannelAccess, conversation_id: str, text: str, *, idempotency_key: str
    ) -> Message:
        gid = self._gid(channel)
        random_id = wire.random_id(idempotency_key)
        message_id = self.call(
            channel,
            "messages.send",
            {"peer_id": int(conversation_id), "random_id": random_id, "message": text},
            token=GROUP,
        )
        return Message(
            remote_id=str(message_id),
            conversation_id=conversation_id,
            author=Person(str(-gid), "", wire.owner_url(-gid)),
            text=text,
            created_at=clock.now(),
            outgoing=True,
        )

    #: messages.getConversationsById takes at most this many peers a call [V schema: maxItems].
    READS_PER_CALL = 100

    def message_reads(self, channel: ChannelAccess, conversation_ids: Sequence[str]) -> Mapping[str, str]:
        """``messages.getConversationsById`` with the community token: each conversation's
        ``out_read``, the id of the last outgoing message the person has read (what
        ``messages.send`` answered for ours), 100 peers a call."""
        gid = self._gid(channel)
        peers = [c for c in dict.fromkeys(conversation_ids) if c.lstrip("-").isdigit()]
        out: dict[str, str] = {}
        for start in range(0, len(peers), self.READS_PER_CALL):
            chunk = peers[start : start + self.READS_PER_CALL]
            found = self.call(
                channel,
                "messages.getConversationsById",
                {"peer_ids": ",".join(chunk), "group_id": gid},
                token=GROUP,
            )
            for item in found.get("items", []):
                peer = str((item.get("peer") or {}).get("id", ""))
                read = int(item.get("out_read") or 0)
                if peer:
                    out[peer] = str(read) if read > 0 else ""
        return out

    # -- measurement -----------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        now = clock.now()
        items: dict[str, dict[str, Any]] = {}
        for start in range(0, len(remote_ids), 100):
            chunk = remote_ids[start : start + 100]
            for item in self.call(channel, "wall.getById", {"posts": ",".join(chunk)}).get("items", []):
                items[wire.post_remote_id(int(item["owner_id"]), int(item["id"]))] = item
        reach: dict[str, dict[str, Any]] = {}
        gid = self._gid(channel)
        own = [r for r in items if wire.split_post_id(r)[0] == -gid]
        try:
            for start in range(0, len(own), 30):
                chunk = own[start : start + 30]
                stats = self.call(
                    channel,
                    "stats.getPostReach",
                    {"owner_id": -gid, "post_ids": ",".join(str(wire.split_post_id(r)[1]) for r in chunk)},
                )
                for row in stats:
                    reach[wire.post_remote_id(-gid, int(row["post_id"]))] = row
        except errors.Rejected:
            reach = {}  # statistics need admin rights; the counters still count
        out = []
        for remote in remote_ids:
            item = items.get(remote)
            if item is None:
                continue
            row = reach.get(remote, {})
            extra = {
                k: int(row[k])
                for k in (
                    "reach_subscribers",
                    "reach_viral",
                    "reach_ads",
                    "links",
                    "to_group",
                    "join_group",
                    "hide",
                    "unsubscribe",
                    "report",
                )
                if isinstance(row.get(k), int)
            }
            out.append(
                PostMetrics(
                    remote_id=remote,
                    read_at=now,
                    likes=wire.count_of(item, "likes"),
                    reposts=wire.count_of(item, "reposts"),
                    comments=wire.count_of(item, "comments"),
                    views=wire.count_of(item, "views"),
                    reach=int(row["reach_total"]) if isinstance(row.get("reach_total"), int) else None,
                    extra=extra,
                    poll=self._poll_of(channel, item),
                )
            )
        return out

    def _poll_of(self, channel: ChannelAccess, item: Mapping[str, Any]) -> PollTally | None:
        """The votes of the post's attached poll, read with ``polls.getById`` (the wall's copy
        of the poll can lag behind)."""
        for attachment in item.get("attachments") or ():
            poll = attachment.get("poll") if isinstance(attachment, Mapping) else None
            if attachment.get("type") == "poll" and isinstance(poll, Mapping):
                fresh = self.call(
                    channel, "polls.getById", {"owner_id": poll["owner_id"], "poll_id": poll["id"]}
                )
                return wire.poll_tally(fresh)
        return None

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        """Members, plus ``stats.get`` for yesterday and today (joins, leaves, reach, views and
        the visitors' and reach's sex, age, cities, countries and devices), where the token may
        read the community's statistics."""
        gid = self._gid(channel)
        group = self.call(
            channel, "groups.getById", {"group_id": gid, "fields": "members_count"}, token=GROUP
        )["groups"][0]
        joins = leaves = None
        extra: dict[str, int] = {}
        days: list[ChannelDayStats] = []
        try:
            periods = self.call(
                channel, "stats.get", {"group_id": gid, "interval": "day", "intervals_count": 2}
            )
        except errors.Rejected:
            periods = []  # statistics are closed to this user; members still count
        for period in periods or []:
            parsed = wire.stats_day(period)
            if parsed is not None:
                days.append(parsed)
        days.sort(key=lambda d: d.day)
        if periods:
            latest = max(periods, key=lambda p: int(p.get("period_from") or 0))
            activity = latest.get("activity") or {}
            joins, leaves = int(activity.get("subscribed", 0)), int(activity.get("unsubscribed", 0))
            reach = latest.get("reach") or {}
            extra = {
                f"reach_{k}" if k != "reach" else "reach": int(v)
                for k, v in reach.items()
                if isinstance(v, int)
            }
        return ChannelMetrics(
            read_at=clock.now(),
            members=group.get("members_count"),
            joins=joins,
            leaves=leaves,
            extra=extra,
            days=tuple(days),
        )

    def public_page(self, channel: ChannelAccess, handle: str, *, limit: int = 20) -> PublicPage:
        """A community's name, members and latest own posts (``groups.getById`` + ``wall.get``).

        A deleted or blocked community comes back from ``groups.getById`` with ``deactivated``
        and nothing else; a closed or private one (``is_closed`` 1 or 2) shows its name and
        members but refuses ``wall.get`` with error 15 to anyone who is not a member. Both are
        refusals a person must act on, said in words."""
        ref = handle.strip().rstrip("/").rsplit("/", 1)[-1].lstrip("@")
        group = self.call(channel, "groups.getById", {"group_id": ref, "fields": "members_count"})["groups"][
            0
        ]
        gid = int(group["id"])
        if group.get("deactivated"):
            raise errors.Rejected(
                f"The VK community {handle!r} was deleted or blocked ({group['deactivated']}).",
                code=wire.Code.PARAM_GROUP_ID,
                needs_person=True,
            )
        try:
            page = self.call(
                channel, "wall.get", {"owner_id": -gid, "count": max(1, min(limit, 100)), "filter": "owner"}
            )
        except errors.Rejected as exc:
            if exc.code in (wire.Code.ACCESS, wire.Code.BLOCKED) and group.get("is_closed"):
                raise errors.Rejected(
                    f"The VK community {group.get('name') or handle!r} is closed: only its members see its wall.",
                    code=exc.code,
                    needs_person=True,
                ) from exc
            raise
        posts = tuple(
            PublicPost(
                remote_id=wire.post_remote_id(-gid, int(i["id"])),
                text=str(i.get("text", "")),
                published_at=wire.timestamp(i.get("date")),
                likes=wire.count_of(i, "likes"),
                reposts=wire.count_of(i, "reposts"),
                comments=wire.count_of(i, "comments"),
                views=wire.count_of(i, "views"),
                url=wire.post_url(-gid, int(i["id"])),
                content_format=wire.post_format(i),
            )
            for i in page.get("items", [])
        )
        return PublicPage(
            remote_id=str(gid),
            name=str(group.get("name", "")),
            members=group.get("members_count"),
            posts=posts,
            url=f"https://vk.com/{group.get('screen_name') or f'club{gid}'}",
        )

    # -- intake ----------------------------------------------------------------------------
    def events_from(self, channel_id: str, update: Mapping[str, Any]) -> list[Event]:
        """Map one Callback API / Long Poll update to our events (unknown types map to none)."""
        kind = update.get("type")
        obj = update.get("object") or {}
        event_id = str(update.get("event_id", ""))
        now = clock.now()
        if kind in _COMMENT_UPDATES:
            owner_id = int(obj.get("post_owner_id", obj.get("owner_id", -int(channel_id))))
            comment = self._comment(obj, owner_id, int(obj.get("post_id", 0)), {})
            return [
                Event(
                    kind=_COMMENT_UPDATES[kind],
                    remote_id=comment.remote_id
                    if kind == "wall_reply_new"
                    else f"{comment.remote_id}:{event_id or kind}",
                    channel_remote_id=channel_id,
                    occurred_at=comment.created_at,
                    comment=comment,
                    person=comment.author,
                    post_remote_id=comment.post_remote_id,
                )
            ]
        if kind == "wall_reply_delete":
            owner_id = int(obj.get("owner_id", -int(channel_id)))
            remote = wire.comment_remote_id(owner_id, int(obj["id"]))
            post = wire.post_remote_id(owner_id, int(obj.get("post_id", 0)))
            deleter = str(obj.get("deleter_id", obj.get("user_id", "")))
            comment = Comment(
                remote_id=remote,
                post_remote_id=post,
                author=Person(str(obj.get("user_id", ""))),
                text="",
                created_at=now,
                deleted=True,
            )
            return [
                Event(
                    kind=EventKind.COMMENT_DELETE,
                    remote_id=remote,
                    channel_remote_id=channel_id,
                    occurred_at=now,
                    comment=comment,
                    person=Person(deleter),
                    post_remote_id=post,
                )
            ]
        if kind == "message_new":
            raw = obj.get("message", obj)
            if int(raw.get("peer_id", 0) or 0) >= wire.CHAT_PEER_BASE:
                return self._chat_events(channel_id, raw)
            message = self._message(raw, {})
            return [
                Event(
                    kind=EventKind.MESSAGE_NEW,
                    remote_id=message.remote_id,
                    channel_remote_id=channel_id,
                    occurred_at=message.created_at,
                    message=message,
                    person=message.author,
                )
            ]
        if kind in ("message_allow", "message_deny"):
            user = int(obj.get("user_id", 0))
            return [
                Event(
                    kind=EventKind.MESSAGES_ALLOW if kind == "message_allow" else EventKind.MESSAGES_DENY,
                    remote_id=event_id or f"{kind}:{user}:{now.timestamp()}",
                    channel_remote_id=channel_id,
                    occurred_at=now,
                    person=Person(str(user), "", wire.owner_url(user)),
                    key=str(obj.get("key") or "")[:100],
                )
            ]
        if kind in ("group_join", "group_leave"):
            user = int(obj.get("user_id", 0))
            return [
                Event(
                    kind=EventKind.MEMBER_JOIN if kind == "group_join" else EventKind.MEMBER_LEAVE,
                    remote_id=event_id or f"{kind}:{user}:{now.timestamp()}",
                    channel_remote_id=channel_id,
                    occurred_at=now,
                    person=Person(str(user), "", wire.owner_url(user)),
                )
            ]
        if kind == "wall_post_new":
            owner = int(obj.get("owner_id", -int(channel_id)))
            remote = wire.post_remote_id(owner, int(obj.get("id", 0)))
            author = int(obj.get("from_id", owner) or owner)
            if author > 0:  # someone else's post on the community's wall: addressed to it
                return [self._wall_mention(channel_id, obj, owner, author, remote)]
            return [
                Event(
                    kind=EventKind.POST_NEW,
                    remote_id=remote,
                    channel_remote_id=channel_id,
                    occurred_at=wire.timestamp(obj.get("date")),
                    post_remote_id=remote,
                )
            ]
        return []

    def _wall_mention(
        self, channel_id: str, obj: Mapping[str, Any], owner: int, author: int, remote: str
    ) -> Event:
        """A member's post on the community's wall (an open wall, or a suggestion): a mention."""
        when = wire.timestamp(obj.get("date"))
        person = Person(str(author), "", wire.owner_url(author))
        return Event(
            kind=EventKind.MENTION,
            remote_id=remote,
            channel_remote_id=channel_id,
            occurred_at=when,
            message=Message(remote, remote, person, str(obj.get("text", "")), when),
            person=person,
            post_remote_id=remote,
            url=wire.post_url(owner, int(obj.get("id", 0))),
        )

    def _chat_events(self, channel_id: str, raw: Mapping[str, Any]) -> list[Event]:
        """A message in a group chat the community's bot is in: a mention when it names the
        community or answers one of its messages, chatter otherwise (commands are dropped)."""
        text = str(raw.get("text", ""))
        author = int(raw.get("from_id", 0) or 0)
        gid = int(channel_id)
        if author == -gid or text.startswith("/"):
            return []
        peer = int(raw["peer_id"])
        remote = wire.chat_message_id(peer, int(raw.get("conversation_message_id", 0) or 0))
        reply = raw.get("reply_message") or {}
        mentioned = wire.names_community(text, gid) or int(reply.get("from_id", 0) or 0) == -gid
        when = wire.timestamp(raw.get("date"))
        person = Person(str(author), "", wire.owner_url(author))
        return [
            Event(
                kind=EventKind.MENTION if mentioned else EventKind.CHATTER,
                remote_id=remote,
                channel_remote_id=channel_id,
                occurred_at=when,
                message=Message(remote, str(peer), person, text, when),
                person=person,
            )
        ]

    def reply_mention(
        self,
        channel: ChannelAccess,
        conversation_id: str,
        mention_remote_id: str,
        text: str,
        *,
        idempotency_key: str,
    ) -> Message:
        """In a group chat: ``messages.send`` answering the message (``forward`` with
        ``is_reply``); on the community's wall: a comment under the member's post."""
        gid = self._gid(channel)
        ours = Person(str(-gid), "", wire.owner_url(-gid))
        if ":" in mention_remote_id:
            peer, cmid = wire.split_chat_message_id(mention_remote_id)
            forward = json.dumps({"peer_id": peer, "conversation_message_ids": [cmid], "is_reply": True})
            message_id = self.call(
                channel,
                "messages.send",
                {
                    "peer_id": peer,
                    "random_id": wire.random_id(idempotency_key),
                    "message": text,
                    "forward": forward,
                },
                token=GROUP,
            )
            return Message(f"{peer}:sent{message_id}", str(peer), ours, text, clock.now(), outgoing=True)
        owner_id, _post = wire.split_post_id(mention_remote_id)
        if owner_id != -gid:
            raise errors.NotSupported(
                _("Rupor answers only on its own community's wall; open the post on VK to answer there.")
            )
        comment = self.reply_comment(channel, conversation_id, text, idempotency_key=idempotency_key)
        return Message(comment.remote_id, conversation_id, ours, text, comment.created_at, outgoing=True)

    # -- monitoring ------------------------------------------------------------------------
    # -- giveaways ------------------------------------------------------------------------
    def membership(self, channel: ChannelAccess, user_ids: Sequence[str]) -> Mapping[str, bool]:
        """``groups.isMember`` with ``user_ids``, at most 500 people a call."""
        gid = self._gid(channel)
        out: dict[str, bool] = {}
        ids = [u for u in user_ids if u.isdigit()]
        for start in range(0, len(ids), wire.IS_MEMBER_BATCH):
            batch = ids[start : start + wire.IS_MEMBER_BATCH]
            answer = self.call(channel, "groups.isMember", {"group_id": gid, "user_ids": ",".join(batch)})
            out.update(wire.memberships(answer))
        return out

    def _pages(self, channel: ChannelAccess, method: str, params: Mapping[str, Any]) -> list[str]:
        """Every id of a paged ``{"count", "items"}`` list, 1000 a call."""
        out: list[str] = []
        offset = 0
        while True:
            page = self.call(channel, method, {**params, "offset": offset, "count": wire.LIST_PAGE})
            items = wire.id_list(page)
            out.extend(items)
            offset += len(items)
            if not items or offset >= int(page.get("count", 0)):
                return out

    def community_members(self, channel: ChannelAccess) -> Sequence[str]:
        """``groups.getMembers``, every page."""
        return self._pages(channel, "groups.getMembers", {"group_id": self._gid(channel), "sort": "id_asc"})

    def community_staff(self, channel: ChannelAccess) -> Sequence[str]:
        """``groups.getMembers`` with ``filter=managers`` (the administrator's user token)."""
        page = self.call(channel, "groups.getMembers", {"group_id": self._gid(channel), "filter": "managers"})
        return wire.id_list(page)

    def _liked(self, channel: ChannelAccess, post_remote_id: str, what: str) -> list[str]:
        owner_id, post_id = wire.split_post_id(post_remote_id)
        return self._pages(
            channel,
            "likes.getList",
            {"type": "post", "owner_id": owner_id, "item_id": post_id, "filter": what},
        )

    def post_likers(self, channel: ChannelAccess, post_remote_id: str) -> Sequence[str]:
        """``likes.getList`` with ``filter=likes`` (a user token: VK refuses a community's)."""
        return self._liked(channel, post_remote_id, "likes")

    def post_reposters(self, channel: ChannelAccess, post_remote_id: str) -> Sequence[str]:
        """``likes.getList`` with ``filter=copies``: who shared the post."""
        return self._liked(channel, post_remote_id, "copies")

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
        """``newsfeed.search`` with the administrator's user token (VK refuses community tokens
        with error 27), ``extended=1`` for the authors' names."""
        if not channel.credentials.get(USER):
            raise errors.AuthExpired(
                _("Searching VK needs the administrator's user token; add it to the channel."),
                needs_person=True,
                code="no_user_token",
            )
        params: dict[str, Any] = {
            "q": query,
            "extended": 1,
            "count": max(1, min(limit, wire.SEARCH_PAGE_MAX)),
            "start_time": int(since.timestamp()) if since else None,
            "end_time": int(until.timestamp()) if until else None,
            "start_from": cursor or None,
        }
        answer = self.call(channel, "newsfeed.search", params)
        names = wire.names_of(answer.get("profiles"), answer.get("groups"))
        posts = []
        for item in answer.get("items") or ():
            owner, post_id = int(item["owner_id"]), int(item["id"])
            author = int(item.get("from_id", owner) or owner)
            posts.append(
                FoundPost(
                    remote_id=wire.post_remote_id(owner, post_id),
                    text=str(item.get("text", "")),
                    published_at=wire.timestamp(item.get("date")),
                    author=Person(str(author), names.get(author, ""), wire.owner_url(author)),
                    url=wire.post_url(owner, post_id),
                )
            )
        total = answer.get("total_count")
        return SearchPage(
            posts=tuple(posts),
            cursor=str(answer["next_from"]) if answer.get("next_from") else None,
            total=int(total) if isinstance(total, int) else None,
        )

    def handle_webhook(
        self,
        channel: ChannelAccess,
        headers: Mapping[str, str],  # noqa: ARG002 - the port's signature; VK's Callback API signs nothing in headers
        body: bytes,
    ) -> WebhookResult:
        try:
            update = json.loads(body)
        except ValueError:
            return WebhookResult(status=400, body=b"not a VK callback")
        if not isinstance(update, dict) or "type" not in update:
            return WebhookResult(status=400, body=b"not a VK callback")
        gid = self._gid(channel)
        if int(update.get("group_id", 0) or 0) != gid:
            return WebhookResult(status=403, body=b"wrong community")
        secret = channel.credentials.get("callback_secret", "")
        if update["type"] == "confirmation":
            code = channel.credentials.get("callback_confirmation", "") or str(
                channel.settings.get("callback_confirmation", "")
            )
            if not code:
                return WebhookResult(status=403, body=b"no confirmation string configured")
            return WebhookResult(body=code.encode())
        if secret and not hmac.compare_digest(str(update.get("secret", "")).encode(), secret.encode()):
            return WebhookResult(status=403, body=b"wrong secret")
        return WebhookResult(events=tuple(self.events_from(str(gid), update)))

    def poll_updates(self, channel: ChannelAccess, cursor: str | None) -> UpdatesPage:
        gid = self._gid(channel)
        state = json.loads(cursor) if cursor else {}
        if not state.get("key"):
            server = self.call(channel, "groups.getLongPollServer", {"group_id": gid}, token=GROUP)
            state = {"server": server["server"], "key": server["key"], "ts": state.get("ts") or server["ts"]}
        wait = int(channel.settings.get("longpoll_wait", 0))
        timeout = float(self._timeout(channel) or 10) + wait
        try:
            answer = http.request(
                "GET",
                state["server"],
                timeout=timeout,
                params={"act": "a_check", "key": state["key"], "ts": state["ts"], "wait": wait},
            )
            payload = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise errors.Transient(f"VK's long poll server did not answer ({type(exc).__name__}).") from exc
        failed = payload.get("failed")
        if failed == 1:
            state["ts"] = str(payload.get("ts", state["ts"]))
            return UpdatesPage(events=(), cursor=json.dumps(state))
        if failed == 2:
            return UpdatesPage(events=(), cursor=json.dumps({"ts": state["ts"]}))
        if failed == 3:
            return UpdatesPage(events=(), cursor=None)
        events: list[Event] = []
        for update in payload.get("updates", []):
            events.extend(self.events_from(str(gid), update))
        state["ts"] = str(payload.get("ts", state["ts"]))
        return UpdatesPage(events=tuple(events), cursor=json.dumps(state))
