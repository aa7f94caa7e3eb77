"""Facebook Pages through the Graph API (the shared core is :mod:`rupor.networks.graph`).

Connecting takes a long-lived *user* token of someone with a role on the Page; Rupor reads the
Page's own token from it (``GET /{page-id}?fields=access_token``), keeps it beside the user token
(a managed credential) and makes every Page call with it. A Page token read from a long-lived
user token does not expire; it stops working when the person changes their password, loses
their role or removes the app (code 190: Rupor reads a fresh one once, then asks to reconnect).

Publishing: text and links go to ``POST /{page-id}/feed``; pictures are given by their public
address (``Media.link``), uploaded unpublished to ``POST /{page-id}/photos`` (``published=false``),
each id kept in the target's progress, then attached to one feed post with ``attached_media``.
The Graph API has no idempotency key: after an unknown outcome the feed is searched for the post
(:meth:`FacebookAdapter.find_published`), never sent again blindly. Native scheduling
(``published=false`` + ``scheduled_publish_time``) is used only when the variant asks for it
(``options["native_schedule"]``) and the time is 10 minutes to 30 days ahead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.core import clock
from rupor.networks import errors
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
    Person,
    PostMetrics,
    Problem,
    Progress,
    Published,
    PublishRequest,
    RateLimit,
    TextUnit,
    call_window,
    latest_credentials,
    rotate_credentials,
)
from rupor.networks.facebook import wire
from rupor.networks.graph import client
from rupor.networks.graph import wire as graph

log = logging.getLogger(__name__)

COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},is_hidden"
#: How far back the Page's feed is searched after an unknown outcome: pages of posts, newest first.
RECONCILE_PAGES = 5
RECONCILE_PAGE_SIZE = 100
#: Ids per ``GET /?ids=`` call (the Graph API allows 50).
IDS_PER_CALL = 50

#: Metrics a call of this process learned are gone (the API refused them one by one).
_gone: set[str] = set()
_gone_lock = threading.Lock()


def gone_metrics() -> frozenset[str]:
    """Metrics Rupor stopped asking for: those known retired and those the API refused at run time."""
    with _gone_lock:
        return frozenset(wire.RETIRED_METRICS) | _gone


def _with_link(content: Content) -> str:
    """The text, with the link appended when the post carries pictures (a feed post shows either
    a link preview or pictures; the address stays readable in the text)."""
    if content.link and content.media and content.link not in content.text:
        return f"{content.text}\n\n{content.link}".strip()
    return content.text


class FacebookAdapter(Adapter):
    network = "facebook"
    display_name = wire.NETWORK
    default_base_url = graph.DEFAULT_BASE_URL
    idempotent_publish = False
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_LINK,
            Capability.FIRST_COMMENT,
            Capability.EDIT,
            Capability.DELETE,
            Capability.PIN,
            Capability.RECONCILE,
            Capability.READ_COMMENTS,
            Capability.REPLY_COMMENT,
            Capability.HIDE_COMMENT,
            Capability.DELETE_COMMENT,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.VERIFY,
        }
    )
    limits = Limits(
        text_unit=TextUnit.CHARS,
        text_max=wire.TEXT_MAX,
        caption_max=wire.TEXT_MAX,
        media_max=wire.PHOTOS_MAX,
        album_max=wire.PHOTOS_MAX,
        photo_max_bytes=wire.PHOTO_MAX_BYTES,
        photo_types=wire.PHOTO_TYPES,
        video_types=(),
        links_max=None,
        comment_max=wire.COMMENT_MAX,
    )
    credential_fields = (
        CredentialField(
            "user_access_token",
            gettext_lazy("User access token"),
            help=gettext_lazy(
                "A long-lived user access token (about 60 days) of someone with a role on the Page that "
                "allows creating content, with the pages_show_list, pages_manage_posts, "
                "pages_read_engagement, pages_manage_engagement and read_insights permissions. Rupor "
                "reads the Page's own token from it, which does not expire. Put the Page's numeric id in "
                "the remote id field."
            ),
        ),
        CredentialField(
            "app_secret",
            gettext_lazy("App secret"),
            required=False,
            help=gettext_lazy(
                "Your Meta app's secret, when the app requires appsecret_proof on calls (Settings → "
                "Advanced → Require App Secret). Leave empty otherwise."
            ),
        ),
    )
    managed_credentials = frozenset({"page_access_token"})

    # -- transport -------------------------------------------------------------------------------
    def _timeout(self, channel: ChannelAccess) -> float | None:
        value = channel.settings.get("timeout")
        return float(value) if value is not None else None

    def _call(
        self,
        channel: ChannelAccess,
        method: str,
        path: str,
        *,
        creates: bool = False,
        what: str = "",
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        user: bool = False,
    ) -> Any:
        """A Graph call with the Page token (``user=True``: the user token). A Page token that no
        longer works is read again from the user token once before giving up."""
        creds = latest_credentials(channel)
        secret = creds.get("app_secret", "")
        token = creds.get("user_access_token", "") if user else self._page_token(channel)
        with call_window(self.rate_limits(channel)):
            try:
                return client.call(
                    wire.NETWORK,
                    method,
                    channel.base_url,
                    path,
                    token,
                    creates=creates,
                    what=what,
                    params=params,
                    data=data,
                    app_secret=secret,
                    timeout=self._timeout(channel),
                )
            except errors.AuthExpired:
                if user:
                    raise
            token = self._page_token(channel, fresh=True)
            return client.call(
                wire.NETWORK,
                method,
                channel.base_url,
                path,
                token,
                creates=creates,
                what=what,
                params=params,
                data=data,
                app_secret=secret,
                timeout=self._timeout(channel),
            )

    def _page_token(self, channel: ChannelAccess, *, fresh: bool = False) -> str:
        """The Page token kept with the credentials, or one read from the user token."""
        creds = latest_credentials(channel)
        if creds.get("page_access_token") and not fresh:
            return creds["page_access_token"]
        stale = creds.get("page_access_token", "")

        def renew(current: Mapping[str, str]) -> Mapping[str, str] | None:
            if current.get("page_access_token") and current.get("page_access_token") != stale:
                return None  # another worker already read a new one
            token = self.derive_page_token(channel, current)
            return {**current, "page_access_token": token}

        return rotate_credentials(channel, renew)["page_access_token"]

    def derive_page_token(self, channel: ChannelAccess, creds: Mapping[str, str]) -> str:
        """``GET /{page-id}?fields=access_token`` with the user token: the Page token, or
        :class:`~rupor.networks.errors.AuthExpired` when the person no longer manages the Page."""
        answer = client.call(
            wire.NETWORK,
            "GET",
            channel.base_url,
            channel.remote_id,
            creds.get("user_access_token", ""),
            creates=False,
            params={"fields": "id,name,access_token"},
            app_secret=creds.get("app_secret", ""),
            timeout=self._timeout(channel),
        )
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not token:
            raise errors.AuthExpired(
                "Facebook gave no Page token: the connected person has no role on this Page any more; "
                "reconnect.",
                needs_person=True,
            )
        return str(token)

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """Pages Business Use Case limit: 4,800 calls per 24 hours per engaged user; Rupor assumes
        one (the floor) and lets the usage headers pause it earlier when Meta says so."""
        key = "facebook:page:" + hashlib.sha256(channel.remote_id.encode()).hexdigest()[:16]
        photos = len(content.media) if content is not None else 0
        return (RateLimit(key=key, limit=4800, per_s=86400, cost=1 + photos),)

    # -- checks ----------------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        if content.poll is not None:
            problems.append(Problem("poll", _("The Facebook Pages API cannot create polls.")))
        return problems

    # -- connection ------------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        creds = latest_credentials(channel)
        try:
            accounts = client.call(
                wire.NETWORK,
                "GET",
                channel.base_url,
                "me/accounts",
                creds.get("user_access_token", ""),
                creates=False,
                params={"fields": "id,name,tasks", "limit": "100"},
                app_secret=creds.get("app_secret", ""),
                timeout=self._timeout(channel),
            )
            page = next((p for p in accounts.get("data", []) if str(p.get("id")) == channel.remote_id), None)
            if page is None:
                raise errors.Rejected(
                    _("The connected Facebook account does not manage the Page %(id)s.")
                    % {"id": channel.remote_id},
                    needs_person=True,
                )
            self._page_token(channel, fresh=True)
            info = self._call(
                channel, "GET", channel.remote_id, params={"fields": "id,name,link,followers_count,fan_count"}
            )
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, wire.NETWORK) from exc
        tasks = [str(t) for t in page.get("tasks") or []]
        notes: list[str] = [
            _(
                "The Page token Rupor read does not expire. Facebook fetches pictures from Rupor's public "
                "address (RUPOR_BASE_URL), which must be reachable from the internet."
            )
        ]
        can_publish = wire.TASK_CREATE in tasks
        if not can_publish:
            notes.append(
                _("Your role on this Page cannot create content; ask an admin for the Create content task.")
            )
        if wire.TASK_MODERATE not in tasks:
            notes.append(
                _("Your role on this Page cannot moderate comments; answering and hiding them will fail.")
            )
        return ChannelInfo(
            remote_id=str(info["id"]),
            name=str(info.get("name") or page.get("name") or ""),
            url=str(info.get("link") or "") or None,
            members=int(info["followers_count"]) if isinstance(info.get("followers_count"), int) else None,
            can_publish=can_publish,
            notes=tuple(notes),
        )

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content, self.limits_for(channel.settings))
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        photo_ids = [
            self._photo(channel, item, index, content, progress) for index, item in enumerate(content.media)
        ]
        data: dict[str, Any] = {}
        text = _with_link(content)
        if text:
            data["message"] = text
        if content.link and not photo_ids:
            data["link"] = content.link
        for index, photo_id in enumerate(photo_ids):
            data[f"attached_media[{index}]"] = f'{{"media_fbid":"{photo_id}"}}'
        scheduled = self._schedule(request)
        if scheduled is not None:
            data["published"] = "false"
            data["scheduled_publish_time"] = str(int(scheduled.timestamp()))
        answer = self._call(
            channel, "POST", f"{channel.remote_id}/feed", creates=True, what="creating the post", data=data
        )
        post_id = str(answer["id"])
        progress.save("post_id", post_id)
        if content.pin and not progress.get("pinned"):
            self.pin(channel, post_id)
            progress.save("pinned", True)
        if content.first_comment and not progress.get("first_comment_id"):
            reply = self.reply_comment(
                channel, post_id, content.first_comment, idempotency_key=f"{request.idempotency_key}:first"
            )
            progress.save("first_comment_id", reply.remote_id)
        return Published(
            remote_id=post_id,
            url=wire.post_url(post_id),
            published_at=scheduled or clock.now(),
            excerpt=f"post {post_id}" + (" (scheduled on Facebook)" if scheduled else ""),
        )

    @staticmethod
    def _schedule(request: PublishRequest) -> dt.datetime | None:
        if not request.publish_at or not request.content.options.get("native_schedule"):
            return None
        ahead = (request.publish_at - clock.now()).total_seconds()
        if wire.SCHEDULE_MIN_S < ahead < wire.SCHEDULE_MAX_S:
            return request.publish_at
        return None

    def _photo(
        self, channel: ChannelAccess, item: Media, index: int, content: Content, progress: Progress
    ) -> str:
        """Upload one picture unpublished, by its public address; its id is kept so a retry reuses it."""
        key = f"photo:{index}"
        saved = progress.get(key)
        if saved:
            return str(saved)
        if item.link is None:
            raise errors.Rejected(
                f"Facebook fetches pictures from a public address, and {item.filename} has none: set "
                "RUPOR_BASE_URL to an address Facebook can reach.",
                needs_person=True,
            )
        data: dict[str, Any] = {"url": item.link(None), "published": "false", "temporary": "true"}
        alt = content.alt_text(index)
        if alt:
            data["alt_text_custom"] = alt
        # An unpublished photo is invisible: if the answer is lost, another upload only leaves an
        # orphan Facebook discards (temporary=true), never a second post.
        answer = self._call(
            channel, "POST", f"{channel.remote_id}/photos", what="uploading a photo", data=data
        )
        photo_id = str(answer["id"])
        progress.save(key, photo_id)
        return photo_id

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """The Page's recent and scheduled posts, searched for this one's text (or its pictures)."""
        content = request.content
        text = _with_link(content).strip()
        try:
            for edge in ("feed", "scheduled_posts"):
                after: str | None = None
                for _page in range(RECONCILE_PAGES):
                    params = {
                        "fields": "id,message,created_time,attachments",
                        "limit": str(RECONCILE_PAGE_SIZE),
                    }
                    if after:
                        params["after"] = after
                    answer = self._call(channel, "GET", f"{channel.remote_id}/{edge}", params=params)
                    for post in answer.get("data", []):
                        if text and str(post.get("message") or "").strip() == text:
                            return self._found(post)
                        if not text and content.media and post.get("attachments"):
                            return self._found(post)
                    paging = answer.get("paging") or {}
                    after = (paging.get("cursors") or {}).get("after")
                    if not after or not paging.get("next"):
                        break
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, wire.NETWORK) from exc
        return None

    @staticmethod
    def _found(post: Mapping[str, Any]) -> Published:
        post_id = str(post["id"])
        return Published(
            remote_id=post_id,
            url=wire.post_url(post_id),
            published_at=wire.parse_time(post.get("created_time")) or clock.now(),
            excerpt=f"found post {post_id}",
        )

    def edit(self, channel: ChannelAccess, remote_id: str, content: Content) -> None:
        """A new text for the post (``POST /{post-id}`` ``message``); pictures and links stay."""
        self._call(channel, "POST", remote_id, what="editing the post", data={"message": _with_link(content)})

    def pin(self, channel: ChannelAccess, remote_id: str) -> None:
        """Pin the post to the top of the Page (``is_pinned``); the one pinned before is unpinned."""
        self._call(channel, "POST", remote_id, what="pinning the post", data={"is_pinned": "true"})

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        self._call(channel, "DELETE", remote_id, what="deleting the post")

    # -- comments --------------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        out: list[Comment] = []
        after: str | None = None
        try:
            for _page in range(20):
                params = {
                    "fields": COMMENT_FIELDS,
                    "filter": "stream",
                    "order": "reverse_chronological",
                    "limit": "100",
                }
                if after:
                    params["after"] = after
                try:
                    answer = self._call(channel, "GET", f"{post_remote_id}/comments", params=params)
                except errors.Rejected as exc:
                    if exc.code == 100:  # the post is gone (deleted on Facebook)
                        return out
                    raise
                stop = False
                for raw in answer.get("data", []):
                    comment = self._comment(raw, post_remote_id)
                    if since is not None and comment.created_at <= since:
                        stop = True
                        break
                    out.append(comment)
                after = (answer.get("paging") or {}).get("cursors", {}).get("after")
                if stop or not (answer.get("paging") or {}).get("next"):
                    break
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, wire.NETWORK) from exc
        return out

    @staticmethod
    def _comment(raw: Mapping[str, Any], post_remote_id: str) -> Comment:
        author = raw.get("from") or {}
        parent = (raw.get("parent") or {}).get("id")
        return Comment(
            remote_id=str(raw["id"]),
            post_remote_id=post_remote_id,
            author=Person(
                remote_id=str(author.get("id") or ""),
                name=str(author.get("name") or ""),
                url=f"https://www.facebook.com/{author['id']}" if author.get("id") else None,
            ),
            text=str(raw.get("message") or ""),
            created_at=wire.parse_time(raw.get("created_time")) or clock.now(),
            parent_remote_id=str(parent) if parent else None,
        )

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,  # noqa: ARG002 - the port passes it; the Graph API has no idempotency key
    ) -> Comment:
        target = reply_to or post_remote_id
        answer = self._call(
            channel, "POST", f"{target}/comments", creates=True, what="replying", data={"message": text}
        )
        return Comment(
            remote_id=str(answer["id"]),
            post_remote_id=post_remote_id,
            author=Person(remote_id=channel.remote_id, name=""),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def hide_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:  # noqa: ARG002 - a comment id is global
        self._call(channel, "POST", comment_remote_id, what="hiding the comment", data={"is_hidden": "true"})

    def delete_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:  # noqa: ARG002 - a comment id is global
        self._call(channel, "DELETE", comment_remote_id, what="deleting the comment")

    # -- measurement -----------------------------------------------------------------------------
    def insights(
        self, channel: ChannelAccess, object_id: str, metrics: Sequence[str], period: str
    ) -> dict[str, int]:
        """The latest value of each metric; never asks for a retired one. If the API still refuses
        the set (a metric retired since Rupor was released), each is asked alone once, and those
        refused are remembered and left out from then on (:func:`gone_metrics`)."""
        wanted = [m for m in metrics if m not in gone_metrics()]
        if not wanted:
            return {}
        try:
            return self._insights(channel, object_id, wanted, period)
        except errors.Rejected as exc:
            if exc.code != 100:
                raise
        values: dict[str, int] = {}
        for metric in wanted:
            try:
                values.update(self._insights(channel, object_id, [metric], period))
            except errors.Rejected as exc:
                if exc.code != 100:
                    raise
                with _gone_lock:
                    _gone.add(metric)
                log.warning("Facebook refused the insights metric %s; Rupor stops asking for it", metric)
        return values

    def _insights(
        self, channel: ChannelAccess, object_id: str, metrics: Sequence[str], period: str
    ) -> dict[str, int]:
        answer = self._call(
            channel, "GET", f"{object_id}/insights", params={"metric": ",".join(metrics), "period": period}
        )
        out: dict[str, int] = {}
        for entry in answer.get("data", []):
            values = entry.get("values") or []
            value = values[-1].get("value") if values else None
            if isinstance(value, int):
                out[str(entry["name"])] = value
        return out

    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        out: list[PostMetrics] = []
        try:
            for start in range(0, len(remote_ids), IDS_PER_CALL):
                ids = list(remote_ids[start : start + IDS_PER_CALL])
                answer = self._call(
                    channel,
                    "GET",
                    "",
                    params={
                        "ids": ",".join(ids),
                        "fields": "id,shares,reactions.limit(0).summary(true),comments.limit(0).summary(true)",
                    },
                )
                for post_id in ids:
                    raw = answer.get(post_id)
                    if not isinstance(raw, Mapping):
                        continue
                    insights = self.insights(channel, post_id, wire.POST_METRICS, "lifetime")
                    out.append(
                        PostMetrics(
                            remote_id=post_id,
                            read_at=clock.now(),
                            likes=int(
                                ((raw.get("reactions") or {}).get("summary") or {}).get("total_count", 0)
                            ),
                            comments=int(
                                ((raw.get("comments") or {}).get("summary") or {}).get("total_count", 0)
                            ),
                            reposts=int((raw.get("shares") or {}).get("count", 0)),
                            views=insights.get("post_media_view"),
                            reach=insights.get("post_total_media_view_unique"),
                            extra={
                                k: v
                                for k, v in insights.items()
                                if k not in ("post_media_view", "post_total_media_view_unique")
                            },
                        )
                    )
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, wire.NETWORK) from exc
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        try:
            page = self._call(
                channel, "GET", channel.remote_id, params={"fields": "id,followers_count,fan_count"}
            )
            insights = self.insights(channel, channel.remote_id, wire.PAGE_METRICS, "day")
        except errors.SHAPE_ERRORS as exc:
            raise errors.as_network_error(exc, wire.NETWORK) from exc
        followers = page.get("followers_count")
        return ChannelMetrics(
            read_at=clock.now(),
            members=int(followers) if isinstance(followers, int) else None,
            joins=insights.get("page_daily_follows_unique"),
            leaves=insights.get("page_daily_unfollows_unique"),
            extra=insights,
        )
