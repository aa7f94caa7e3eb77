"""The Odnoklassniki (OK.ru) adapter: group topics, photos, polls, comments and statistics.

It speaks OK's REST API (``fb.do``) itself: every call is a signed POST form (see
:mod:`rupor.networks.ok.wire`). OK has no idempotency key, so a topic whose creation has an
unknown outcome is reconciled by looking for its exact text among the group's recent topics
(:meth:`OkAdapter.find_published`), never by posting again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.core import clock, http
from rupor.networks import errors, transport
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
    Person,
    PostMetrics,
    Problem,
    Progress,
    PublicPage,
    PublicPost,
    Published,
    PublishRequest,
    RateLimit,
    TextUnit,
    call_window,
    looks_like_video,
)
from rupor.networks.ok import wire
from rupor.networks.text import kind_name

#: Methods whose repetition could duplicate something visible: an ambiguous failure is
#: an unknown outcome, never "nothing happened".
CREATE_METHODS = frozenset({"mediatopic.post", "discussions.addDiscussionComment"})
STAT_FIELDS = "COMMENTS,LIKES,RESHARES,VIEWS,REACH"
#: OK publishes no request rate limit (docs/networks.md §3.2: "Rate limits are not published; expect
#: errors 8 and 11"). Rupor assumes this many API calls per second per access token, and the
#: emulator throttles at the same rate (8 FLOOD_BLOCKED), so the two stay consistent.
ASSUMED_REQUESTS_PER_SECOND = 20
#: ``users.getInfo`` takes at most 100 ids a call.
USERS_PER_CALL = 100
MANAGER_STATUSES = frozenset({"ADMIN", "MODERATOR", "EDITOR", "SUPER_MODERATOR", "ANALYST"})
PUBLISHER_STATUSES = frozenset({"ADMIN", "MODERATOR", "EDITOR", "SUPER_MODERATOR"})


class OkAdapter(Adapter):
    network = "ok"
    display_name = "Odnoklassniki"
    default_base_url = wire.DEFAULT_API_SERVER
    idempotent_publish = False
    # OK's discussions methods read, add and delete comments; none hides one, and none brings a
    # deleted one back (apiok.ru; docs/decisions/0013-hiding-comments.md).
    no_hide_reason = gettext_lazy(
        "OK's API has no way to hide a comment: it can only delete one, for everyone, and a "
        "deleted comment cannot be brought back."
    )
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_POLL,
            Capability.PUBLISH_LINK,
            Capability.FIRST_COMMENT,
            Capability.DELETE,
            Capability.RECONCILE,
            Capability.READ_COMMENTS,
            Capability.LOOKUP_PEOPLE,
            Capability.REPLY_COMMENT,
            Capability.DELETE_COMMENT,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.PUBLIC_PAGES,
            Capability.VERIFY,
        }
    )
    # OK publishes no hard text limit for topics; these are the limits we know of.
    limits = Limits(
        text_unit=TextUnit.CHARS,
        photo_types=("image/jpeg", "image/png", "image/gif"),
        video_types=wire.VIDEO_TYPES,
        video_max_bytes=wire.VIDEO_MAX_BYTES,
        poll_options_min=2,
    )
    credential_fields = (
        CredentialField(
            "application_key",
            gettext_lazy("Application public key"),
            secret=False,
            help=gettext_lazy(
                "The public key of your OK application. OK e-mails it when the application is registered; "
                "it is also shown in the application's settings on ok.ru."
            ),
        ),
        CredentialField(
            "application_secret_key",
            gettext_lazy("Application secret key"),
            help=gettext_lazy(
                "The secret key of the same OK application, from the same e-mail or settings page. "
                "Rupor only uses it to sign requests and never sends it to OK."
            ),
        ),
        CredentialField(
            "access_token",
            gettext_lazy("Access token"),
            help=gettext_lazy(
                "The long-lived access token of a group administrator, obtained when they allowed the "
                "application (permissions VALUABLE_ACCESS, GROUP_CONTENT and LONG_ACCESS_TOKEN). It lives "
                "30 days and every request extends it, so a group Rupor posts to or checks regularly stays "
                "connected."
            ),
        ),
    )
    #: How far back reconciliation looks for a topic with the same text.
    reconcile_window = dt.timedelta(hours=48)
    reconcile_pages = 20  # of 100 topics

    # -- transport ---------------------------------------------------------------------------
    def _api_root(self, channel: ChannelAccess) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

    def _timeout(self, channel: ChannelAccess) -> float | None:
        value = channel.settings.get("timeout")
        return float(value) if value is not None else None

    def _call(self, channel: ChannelAccess, method: str, params: Mapping[str, Any]) -> Any:
        creds = channel.credentials
        try:
            data = wire.signed_params(
                method,
                params,
                application_key=creds["application_key"],
                application_secret_key=creds["application_secret_key"],
                access_token=creds["access_token"],
            )
        except KeyError as exc:
            raise errors.AuthExpired(
                f"The OK connection is missing its {exc.args[0]}; reconnect the group."
            ) from exc
        create = method in CREATE_METHODS
        with call_window(self.rate_limits(channel)):
            response = transport.send(
                "OK",
                "POST",
                f"{self._api_root(channel)}/fb.do",
                creates=create,
                what=method,
                timeout=self._timeout(channel),
                data=data,
            )
        return self._decode(response, create=create)

    def _decode(self, response: httpx.Response, *, create: bool) -> Any:
        excerpt = _excerpt(response.text)
        failed = transport.status_error(response, network="OK", creates=create, excerpt=excerpt)
        if failed is not None:
            raise failed
        payload = transport.json_body(response, network="OK", creates=create, excerpt=excerpt)
        if wire.is_error(payload):
            raise error_for(payload, create=create)
        return payload

    # -- connection ---------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        gid = channel.remote_id
        me = self._call(channel, "users.getCurrentUser", {})
        uid = str(me.get("uid", ""))
        groups = self._call(
            channel, "group.getInfo", {"uids": gid, "fields": "uid,name,shortname,members_count"}
        )
        if not groups:
            raise errors.Rejected(
                _("There is no OK group with the id %(id)s, or it is closed to this account.") % {"id": gid},
                code=wire.Code.NOT_FOUND,
                needs_person=True,
            )
        group = groups[0]
        relations = self._call(channel, "group.getUserGroupsByIds", {"group_id": gid, "uids": uid})
        status = next(
            (str(r.get("status", "")).upper() for r in relations or () if str(r.get("userId")) == uid), ""
        )
        can_post = bool(self._call(channel, "users.hasAppPermission", {"ext_perm": "GROUP_CONTENT"}))
        notes = [
            _(
                "The access token lives 30 days and every request extends it; reconnect if the group is left idle "
                "for a month."
            )
        ]
        if status not in PUBLISHER_STATUSES:
            notes.append(
                _(
                    "%(account)s is not an administrator or moderator of this group, so Rupor cannot publish here."
                )
                % {"account": me.get("name") or _("The connected account")}
            )
        if not can_post:
            notes.append(
                _("The OK application has not been granted GROUP_CONTENT, so it cannot post to groups.")
            )
        return ChannelInfo(
            remote_id=gid,
            name=str(group.get("name", gid)),
            url=_group_url(gid, group.get("shortname")),
            members=_int(group.get("members_count")),
            can_publish=status in PUBLISHER_STATUSES and can_post,
            notes=tuple(notes),
        )

    # -- publishing ---------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        for index, item in enumerate(content.media):
            if item.kind not in ("photo", "video"):
                problems.append(
                    Problem(
                        f"media[{index}]",
                        _("%(network)s posts take photos and videos, not a %(kind)s.")
                        % {"network": self.display_name, "kind": kind_name(item.kind)},
                    )
                )
            elif item.kind == "video" and item.content_type in wire.VIDEO_TYPES:
                if item.size < wire.VIDEO_MIN_BYTES:
                    problems.append(
                        Problem(
                            f"media[{index}]",
                            _("%(file)s is too small: %(network)s takes videos of 16 KB or more.")
                            % {"file": item.filename, "network": self.display_name},
                        )
                    )
                elif not looks_like_video(item.head):
                    problems.append(
                        Problem(
                            f"media[{index}]",
                            _("%(file)s does not look like a video file %(network)s can play.")
                            % {"file": item.filename, "network": self.display_name},
                        )
                    )
        if content.pin:
            problems.append(
                Problem("pin", _("Rupor cannot pin posts on %(network)s.") % {"network": self.display_name})
            )
        return problems

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """One bucket per access token (OK throttles per session with 8 FLOOD_BLOCKED).

        OK publishes no numbers, so the rate is :data:`ASSUMED_REQUESTS_PER_SECOND`, the rate the
        emulator enforces. ``cost`` counts the ``fb.do`` calls of one publish: one
        ``photosV2.getUploadUrl`` for all photos (the multipart upload itself goes to the upload
        server, not the API), one ``video.getUploadUrl`` per video (its upload goes to the video
        upload server), ``mediatopic.post``, and ``discussions.addDiscussionComment`` for a first
        comment.
        """
        token = channel.credentials.get("access_token", "")
        cost = 1  # mediatopic.post
        if content is not None:
            cost += 1 if any(m.kind == "photo" for m in content.media) else 0
            cost += sum(1 for m in content.media if m.kind == "video")
            cost += 1 if content.first_comment else 0
        key = f"ok:token:{hashlib.sha256(token.encode()).hexdigest()[:16]}"
        return (RateLimit(key=key, limit=ASSUMED_REQUESTS_PER_SECOND, per_s=1.0, cost=cost),)

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content)
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        gid = channel.remote_id
        topic_id = progress.get("topic_id")
        if not topic_id:
            tokens = self._upload_photos(channel, content, progress)
            videos = self._upload_videos(channel, content, progress)
            poll = None
            if content.poll is not None:
                poll = wire.poll_block(
                    content.poll.question,
                    content.poll.options,
                    multiple=content.poll.multiple,
                    anonymous=content.poll.anonymous,
                )
            publish_at = (
                request.publish_at if request.publish_at and request.publish_at > clock.now() else None
            )
            attachment = wire.attachment_json(
                text=content.text,
                photo_tokens=tokens,
                video_ids=videos,
                poll=poll,
                link=content.link,
                publish_at=publish_at,
            )
            result = self._call(
                channel, "mediatopic.post", {"type": "GROUP_THEME", "gid": gid, "attachment": attachment}
            )
            topic_id = str(result or "")
            if topic_id in ("", "0"):
                # OK answers 0 to applications it has not approved: nothing was published.
                raise errors.Rejected(
                    "OK did not create the post: the application is not approved for publishing yet.",
                    excerpt=_excerpt(json.dumps(result)),
                    needs_person=True,
                )
            progress.save("topic_id", topic_id)
        if content.first_comment and not progress.get("first_comment_id"):
            comment = self.reply_comment(
                channel, topic_id, content.first_comment, idempotency_key=request.idempotency_key
            )
            progress.save("first_comment_id", comment.remote_id)
        return Published(
            remote_id=topic_id,
            url=_topic_url(gid, topic_id),
            published_at=request.publish_at
            if request.publish_at and request.publish_at > clock.now()
            else clock.now(),
            excerpt=f"topic {topic_id}",
        )

    def _upload_photos(self, channel: ChannelAccess, content: Content, progress: Progress) -> list[str]:
        photos = [m for m in content.media if m.kind == "photo"]
        if not photos:
            return []
        saved = progress.get("photo_tokens")
        if isinstance(saved, list) and len(saved) == len(photos):
            return [str(t) for t in saved]
        slot = self._call(channel, "photosV2.getUploadUrl", {"gid": channel.remote_id, "count": len(photos)})
        upload_url = str(slot.get("upload_url", ""))
        photo_ids = [str(p) for p in slot.get("photo_ids", ())]
        if not upload_url or len(photo_ids) != len(photos):
            raise errors.Transient(
                "OK did not hand out an upload address for the photos.", excerpt=_excerpt(json.dumps(slot))
            )
        try:
            with http.client(timeout=self._timeout(channel)) as client, ExitStack() as opened:
                files = [
                    (f"pic{i + 1}", (m.filename, opened.enter_context(m.open()), m.content_type))
                    for i, m in enumerate(photos)
                ]
                response = client.post(upload_url, files=files)
        except httpx.TransportError as exc:
            # Uploading again is harmless: an upload is not visible until a topic uses it.
            raise _transport_error(exc, create=False, what="photo upload") from exc
        payload = self._decode(response, create=False)
        uploaded = payload.get("photos") or {}
        try:
            tokens = [str(uploaded[pid]["token"]) for pid in photo_ids]
        except (KeyError, TypeError) as exc:
            raise errors.Transient(
                "OK did not confirm every uploaded photo.", excerpt=_excerpt(json.dumps(payload))
            ) from exc
        progress.save("photo_tokens", tokens)
        return tokens

    def _upload_videos(self, channel: ChannelAccess, content: Content, progress: Progress) -> list[str]:
        """``video.getUploadUrl`` (``post_form``: the upload belongs to a post) → POST the file to
        ``upload_url`` → the video id goes into the topic's ``movie`` block. Each finished video
        is saved under ``video:<n>``, so a retry of the topic never uploads it again."""
        out: list[str] = []
        for index, media in enumerate(m for m in content.media if m.kind == "video"):
            key = f"video:{index}"
            done = progress.get(key)
            if done:
                out.append(str(done))
                continue
            slot = progress.get(f"{key}:slot")
            if not isinstance(slot, dict) or not slot.get("upload_url"):
                answer = self._call(
                    channel,
                    "video.getUploadUrl",
                    {
                        "gid": channel.remote_id,
                        "file_name": media.filename,
                        "file_size": media.size,
                        "post_form": True,
                    },
                )
                if not isinstance(answer, dict) or not answer.get("upload_url") or not answer.get("video_id"):
                    raise errors.Transient(
                        "OK did not hand out an upload address for the video.",
                        excerpt=_excerpt(json.dumps(answer)),
                    )
                slot = {"upload_url": str(answer["upload_url"]), "video_id": str(answer["video_id"])}
                progress.save(f"{key}:slot", slot)
            try:
                with http.client(timeout=self._timeout(channel)) as client, media.open() as handle:
                    response = client.post(
                        str(slot["upload_url"]),
                        files={"file": (media.filename, handle, media.content_type)},
                    )
            except httpx.TransportError as exc:
                # The video is not visible until a topic uses it: uploading again is harmless.
                raise _transport_error(exc, create=False, what="video upload") from exc
            if response.status_code >= 500 or response.status_code == 429:
                raise errors.Transient(
                    f"OK's video upload server answered {response.status_code}; Rupor will try again.",
                    code=response.status_code,
                )
            payload: Any = None
            if response.content.strip():
                try:
                    payload = response.json()
                except ValueError:
                    payload = None
            if response.status_code != 200 or wire.is_error(payload):
                progress.save(f"{key}:slot", None)  # that upload address is spent; a retry asks for a new one
                code = payload.get("error_code") if isinstance(payload, dict) else response.status_code
                raise errors.Rejected(
                    f"OK did not accept {media.filename} as a video.",
                    code=code,
                    excerpt=_excerpt(response.text),
                    needs_person=True,
                )
            progress.save(key, slot["video_id"])
            out.append(str(slot["video_id"]))
        return out

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """The group's topic with this text among those of the last :attr:`reconcile_window`.

        ``None`` only when the listing reaches topics older than that without a match: then the
        post certainly is not there. A listing too long to read through within
        :attr:`reconcile_pages` pages cannot tell, so that is :class:`UnknownOutcome` (the
        engine checks again later and finally asks a person) — never "not there", which would
        send the post a second time.
        """
        text = request.content.text.strip()
        if not text:
            return None  # nothing distinctive to recognise the topic by
        since = (request.publish_at or clock.now()) - self.reconcile_window
        anchor: str | None = None
        for _page in range(self.reconcile_pages):
            params: dict[str, Any] = {"gid": channel.remote_id, "count": 100}
            if anchor:
                params["anchor"] = anchor
            page = self._call(channel, "mediatopic.getTopics", params)
            topics = page.get("media_topics") or []
            for topic in topics:
                created = wire.from_ms(topic.get("created_ms", 0))
                if created < since:
                    return None
                if wire.topic_text(topic.get("media")).strip() == text:
                    tid = str(topic["id"])
                    return Published(
                        remote_id=tid,
                        url=_topic_url(channel.remote_id, tid),
                        published_at=created,
                        excerpt=f"found topic {tid} by its text",
                    )
            anchor = page.get("anchor")
            if not page.get("has_more") or not anchor:
                return None
        raise errors.UnknownOutcome(
            "The group has too many recent topics for Rupor to check whether the post went out.",
            excerpt=f"searched {self.reconcile_pages * 100} topics",
        )

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        try:
            self._call(channel, "mediatopic.deleteTopic", {"topic_id": remote_id, "gid": channel.remote_id})
        except errors.Rejected as exc:
            if exc.code != wire.Code.NOT_FOUND:
                raise

    # -- conversation ---------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        out: list[Comment] = []
        anchor: str | None = None
        for _page in range(50):
            params: dict[str, Any] = {
                "discussionId": post_remote_id,
                "discussionType": "GROUP_TOPIC",
                "count": 100,
            }
            if anchor:
                params["anchor"] = anchor
            try:
                page = self._call(channel, "discussions.getComments", params)
            except errors.Rejected as exc:
                if exc.code == wire.Code.NOT_FOUND:  # the topic was deleted on OK: no comments are left
                    return []
                raise
            names = {
                str(u.get("uid")): str(
                    u.get("name") or " ".join(filter(None, (u.get("first_name"), u.get("last_name"))))
                )
                for u in (page.get("entities") or {}).get("users", ())
            }
            for raw in page.get("comments") or ():
                comment = _comment(raw, post_remote_id, names)
                if since is None or comment.created_at > since:
                    out.append(comment)
            anchor = page.get("anchor")
            if not page.get("has_more") or not anchor or not page.get("comments"):
                break
        return out

    def people(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[Person]:
        """``users.getInfo`` (100 ids a call): name, profile link and picture; OK gives no
        follower count for people, so ``followers`` stays unknown."""
        uids = sorted({r for r in remote_ids if r.isdigit()})
        out: list[Person] = []
        for start in range(0, len(uids), USERS_PER_CALL):
            found = self._call(
                channel,
                "users.getInfo",
                {
                    "uids": ",".join(uids[start : start + USERS_PER_CALL]),
                    "fields": "uid,name,first_name,last_name,pic128x128,pic50x50,url_profile",
                },
            )
            for raw in found if isinstance(found, list) else ():
                if not isinstance(raw, dict) or not raw.get("uid"):
                    continue
                uid = str(raw["uid"])
                picture = raw.get("pic128x128") or raw.get("pic50x50")
                out.append(
                    Person(
                        uid,
                        str(
                            raw.get("name")
                            or " ".join(filter(None, (raw.get("first_name"), raw.get("last_name"))))
                        ),
                        str(raw.get("url_profile") or f"https://ok.ru/profile/{uid}"),
                        avatar_url=picture if isinstance(picture, str) else None,
                    )
                )
        return out

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,  # noqa: ARG002 - the port passes it; OK has no idempotency key for comments
    ) -> Comment:
        # OK has no idempotency key for comments; the engine treats an unknown outcome accordingly.
        params: dict[str, Any] = {
            "entityId": post_remote_id,
            "entityType": "GROUP_TOPIC",
            "comment": text,
            "as_admin": True,
        }
        if reply_to:
            params["reply_to_comment_id"] = reply_to
        result = self._call(channel, "discussions.addDiscussionComment", params)
        comment_id = (
            str(result.get("id") or result.get("comment_id") or "")
            if isinstance(result, dict)
            else str(result or "")
        )
        if not comment_id:
            raise errors.UnknownOutcome(
                "OK did not return the new comment's id.", excerpt=_excerpt(json.dumps(result))
            )
        return Comment(
            remote_id=comment_id,
            post_remote_id=post_remote_id,
            author=Person(remote_id=channel.remote_id),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def delete_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:
        try:
            self._call(
                channel,
                "discussions.deleteDiscussionComment",
                {"entityId": post_remote_id, "entityType": "GROUP_TOPIC", "comment_id": comment_remote_id},
            )
        except errors.Rejected as exc:
            if exc.code != wire.Code.NOT_FOUND:
                raise

    # -- measurement ------------------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        out: list[PostMetrics] = []
        for remote_id in remote_ids:
            try:
                stat = self._call(
                    channel, "group.getStatTopic", {"topic_id": remote_id, "fields": STAT_FIELDS}
                )
            except errors.Rejected as exc:
                if exc.code == wire.Code.NOT_FOUND:
                    continue
                raise
            topic = stat.get("topic") or {}
            out.append(
                PostMetrics(
                    remote_id=remote_id,
                    read_at=clock.now(),
                    likes=_int(topic.get("likes")),
                    reposts=_int(topic.get("reshares")),
                    comments=_int(topic.get("comments")),
                    views=_int(topic.get("views")),
                    reach=_int(topic.get("reach")),
                )
            )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        groups = self._call(
            channel, "group.getInfo", {"uids": channel.remote_id, "fields": "uid,members_count"}
        )
        if not groups:
            raise errors.Rejected(
                f"There is no OK group with the id {channel.remote_id}.",
                code=wire.Code.NOT_FOUND,
                needs_person=True,
            )
        return ChannelMetrics(read_at=clock.now(), members=_int(groups[0].get("members_count")))

    def public_page(self, channel: ChannelAccess, handle: str, *, limit: int = 20) -> PublicPage:
        gid = self._resolve_group(channel, handle)
        groups = self._call(
            channel, "group.getInfo", {"uids": gid, "fields": "uid,name,shortname,members_count"}
        )
        if not groups:
            raise errors.Rejected(f"There is no public OK group {handle!r}.", code=wire.Code.NOT_FOUND)
        group = groups[0]
        page = self._call(channel, "mediatopic.getTopics", {"gid": gid, "count": max(1, min(limit, 100))})
        posts = []
        for topic in (page.get("media_topics") or [])[:limit]:
            tid = str(topic["id"])
            posts.append(
                PublicPost(
                    remote_id=tid,
                    text=wire.topic_text(topic.get("media")),
                    published_at=wire.from_ms(topic.get("created_ms", 0)),
                    likes=_int((topic.get("like_summary") or {}).get("count")),
                    reposts=_int((topic.get("reshare_summary") or {}).get("count")),
                    comments=_int((topic.get("discussion_summary") or {}).get("comments_count")),
                    url=_topic_url(gid, tid),
                    content_format=wire.topic_format(topic.get("media")),
                )
            )
        return PublicPage(
            remote_id=gid,
            name=str(group.get("name", gid)),
            members=_int(group.get("members_count")),
            posts=tuple(posts),
            url=_group_url(gid, group.get("shortname")),
        )

    def _resolve_group(self, channel: ChannelAccess, handle: str) -> str:
        handle = handle.strip()
        if handle.isdigit():
            return handle
        match = re.search(r"(?:^|/)group/(\d+)", handle)
        if match:
            return match.group(1)
        parts = urlsplit(handle if "://" in handle else f"https://ok.ru/{handle.lstrip('@/')}")
        url = (
            f"https://ok.ru{parts.path}"
            if "ok.ru" in (parts.hostname or "") or "://" not in handle
            else handle
        )
        info = self._call(channel, "url.getInfo", {"url": url})
        if str(info.get("type", "")).upper() != "GROUP" or not info.get("objectId"):
            raise errors.Rejected(f"{handle!r} is not an OK group.", code=wire.Code.NOT_FOUND)
        return str(info["objectId"])


# -- helpers ------------------------------------------------------------------------------------
def error_for(payload: Mapping[str, Any], *, create: bool) -> errors.NetworkError:
    """Map OK's ``error_code`` to the error taxonomy by ``wire.ERRORS`` (never the message text)."""
    try:
        code = int(payload.get("error_code", wire.Code.UNKNOWN))
    except (TypeError, ValueError):
        code = wire.Code.UNKNOWN
    excerpt = _excerpt(json.dumps(payload, ensure_ascii=False))
    return errors.from_code(wire.ERRORS, code, default=wire.OTHER_ERROR, creates=create, excerpt=excerpt)


def _transport_error(exc: httpx.TransportError, *, create: bool, what: str) -> errors.NetworkError:
    return transport.transport_error(exc, network="OK", creates=create, what=what)


def _comment(raw: Mapping[str, Any], post_remote_id: str, names: Mapping[str, str]) -> Comment:
    if raw.get("date_ms"):
        created = wire.from_ms(raw["date_ms"])
    elif raw.get("date"):
        created = wire.from_ok_datetime(str(raw["date"]))
    else:
        created = clock.now()
    author_id = str(raw.get("author_id", ""))
    return Comment(
        remote_id=str(raw["id"]),
        post_remote_id=post_remote_id,
        author=Person(
            remote_id=author_id,
            name=str(raw.get("author_name") or names.get(author_id, "")),
            url=f"https://ok.ru/profile/{author_id}"
            if raw.get("author_type", "USER") == "USER" and author_id
            else None,
        ),
        text=str(raw.get("text", "")),
        created_at=created,
        parent_remote_id=str(raw["reply_to_comment_id"]) if raw.get("reply_to_comment_id") else None,
        deleted=bool(raw.get("deleted", False)),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _excerpt(text: str) -> str:
    return re.sub(r"(access_token|session_key|sig)=[^&\s\"]+", r"\1=***", text)[:300]


def _group_url(gid: str, shortname: Any) -> str:
    return f"https://ok.ru/{shortname}" if shortname else f"https://ok.ru/group/{gid}"


def _topic_url(gid: str, topic_id: str) -> str:
    return f"https://ok.ru/group/{gid}/topic/{topic_id}"
