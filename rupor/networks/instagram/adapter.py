"""The Instagram adapter: professional accounts through the Graph API (Instagram API with Facebook
Login), on the Graph core Facebook shares (``rupor/networks/graph/``).

Publishing is Meta's two steps: a *container* is created from a file Meta fetches by URL (Rupor's
signed :meth:`Media.link`, JPEG and cropped into 4:5..1.91:1 for pictures), its ``status_code``
is polled until ``FINISHED``, then ``media_publish`` makes the post. A carousel is one container
per child plus a parent; a video is a reel. Each container id is written to :class:`Progress`
before the next step, and *before* ``media_publish`` is sent, so an attempt after an unknown
outcome reuses the same container: a container is published at most once by Meta, and one that
says ``PUBLISHED`` is looked up instead of published again. A video still processing after a
short wait hands the engine the second step (``waiting_on_platform`` → :meth:`complete`).

The publishing quota is read from ``content_publishing_limit`` (``config.quota_total``), never
assumed: on verify (cached as the channel's ``posts_per_day``, which the engine spaces publishes
by) and before each ``media_publish``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.core import clock
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
    Media,
    Person,
    PostMetrics,
    Problem,
    Progress,
    Published,
    PublishRequest,
    RateLimit,
    TextUnit,
)
from rupor.networks.graph import client as graph_client
from rupor.networks.graph import wire as graph
from rupor.networks.instagram import wire

NETWORK = wire.NETWORK
#: How long a publish waits for Meta to process a container before it hands the engine the
#: second step (pictures are ready at once; reels take longer).
PROCESSING_WAIT_S = 20.0
PROCESSING_POLL_S = 2.0
#: How far back a lookup after an unknown outcome searches the account's posts.
LOOKUP_WINDOW = dt.timedelta(hours=25)
LOOKUP_PAGE = 50
#: Pages of comments read per post (50 each).
COMMENT_PAGES = 10
CONVERTED_TYPES = ("image/png", "image/webp")


class InstagramAdapter(Adapter):
    network = "instagram"
    display_name = NETWORK
    default_base_url = graph.DEFAULT_BASE_URL
    idempotent_publish = False
    capabilities = frozenset(
        {
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_VIDEO,
            Capability.FIRST_COMMENT,
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
        # Instagram has captions only (no text-only posts): its limit is the caption's.
        caption_max=wire.CAPTION_MAX,
        media_max=wire.CAROUSEL_MAX,
        album_min=wire.CAROUSEL_MIN,
        album_max=wire.CAROUSEL_MAX,
        photo_max_bytes=wire.IMAGE_MAX_BYTES,
        video_max_bytes=wire.VIDEO_MAX_BYTES,
        # Instagram takes JPEG only; Rupor converts PNG and WebP to JPEG on the way (Media.link).
        photo_types=(*wire.IMAGE_TYPES, *CONVERTED_TYPES),
        video_types=wire.VIDEO_TYPES,
        comment_max=wire.CAPTION_MAX,
    )
    credential_fields = (
        CredentialField(
            "access_token",
            gettext_lazy("Access token"),
            help=gettext_lazy(
                "A long-lived access token of Rupor's Meta app (Facebook Login for Business) with "
                "instagram_basic, instagram_content_publish, instagram_manage_comments, "
                "instagram_manage_insights and pages_read_engagement. Put the Instagram professional account's id (not its @name) "
                "in the channel id field: the Graph API Explorer shows it for GET "
                "me/accounts?fields=instagram_business_account. Instagram fetches pictures and videos from "
                "Rupor's address, so RUPOR_BASE_URL must be reachable from the internet."
            ),
        ),
        CredentialField(
            "app_secret",
            gettext_lazy("App secret (optional)"),
            required=False,
            help=gettext_lazy(
                "When the Meta app requires appsecret_proof on every call, its App Secret; otherwise leave empty."
            ),
        ),
    )

    # -- transport -----------------------------------------------------------------------------
    def _user(self, channel: ChannelAccess) -> str:
        """The Instagram professional account's id (the channel's remote id)."""
        return channel.remote_id or "me"

    def _call(
        self,
        channel: ChannelAccess,
        method: str,
        path: str,
        *,
        creates: bool = False,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Any:
        """One Graph call: the shared core's pause, transport and usage headers, with Instagram's
        own subcodes (``wire.SUBCODES``) read before the shared table of codes."""
        token = channel.credentials.get("access_token", "")
        if not token:
            raise errors.AuthExpired(
                _("The Instagram connection has no access token; reconnect the channel."), needs_person=True
            )
        base = channel.base_url or self.default_base_url
        # ``pace: False`` (tests that inject throttles one call at a time) keeps no pause here.
        pace = bool(channel.settings.get("pace", True))
        left = graph_client.paused_for(base, token) if pace else 0.0
        if left > 0:
            raise errors.RateLimited(
                _("Instagram's usage is near its limit; Rupor waits %(s)s s before calling again.")
                % {"s": int(left) + 1},
                code="usage_pause",
                retry_after=left,
            )
        query = dict(params or {})
        secret = channel.credentials.get("app_secret", "")
        if secret:
            query["appsecret_proof"] = graph_client.appsecret_proof(token, secret)
        timeout = channel.settings.get("timeout")
        response = transport.send(
            NETWORK,
            method,
            graph_client.url(base, path),
            creates=creates,
            what=f"{method} {path.split('/')[-1]}",
            timeout=float(timeout) if timeout is not None else None,
            headers={"Authorization": f"Bearer {token}"},
            params=query or None,
            data=data,
        )
        excerpt = response.text[:300]
        try:
            payload = response.json()
        except ValueError:
            payload = None
        usages = graph.parse_usage(response.headers)
        error = graph.parse_error(payload)
        if error is not None:
            mapped = error_for(
                error, creates=creates, excerpt=excerpt, retry_after=graph.throttle_wait(usages)
            )
            if pace and isinstance(mapped, errors.RateLimited) and usages:
                # As the core's call(): the headers say how far over the limit it is, so every call
                # of this token waits, not only the refused one.
                graph_client._note(  # the core keeps the pause; it has no public setter yet
                    base,
                    token,
                    max(graph.pause_for(usages), graph.throttle_wait(usages) or 0.0),
                    app_wide=error.code == 4,
                )
            raise mapped
        graph_client._note(base, token, graph.pause_for(usages), app_wide=False)
        failed = transport.status_error(response, network=NETWORK, creates=creates, excerpt=excerpt)
        if failed is not None:
            raise failed
        if not isinstance(payload, Mapping):
            raise errors.ambiguous(
                creates, _("Instagram sent an answer Rupor could not read."), excerpt=excerpt
            )
        return payload

    # -- connection ------------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        user = self._user(channel)
        me = self._call(channel, "GET", user, params={"fields": wire.USER_FIELDS})
        granted = self._permissions(channel)
        notes: list[str] = []
        can_publish = True
        if granted is None:
            # A Page token has no /me/permissions; the first publish will say what is missing.
            notes.append(
                _("Rupor could not read this token's permissions; it needs instagram_content_publish.")
            )
        elif wire.PUBLISH_PERMISSION not in granted:
            can_publish = False
            notes.append(
                _("The token lacks %(perms)s: reconnect and grant it so Rupor can publish.")
                % {"perms": wire.PUBLISH_PERMISSION}
            )
        if granted is not None and wire.COMMENTS_PERMISSION not in granted:
            notes.append(_("Without instagram_manage_comments Rupor cannot answer or hide comments."))
        if granted is not None and wire.INSIGHTS_PERMISSION not in granted:
            notes.append(_("Without instagram_manage_insights Rupor cannot read views and reach."))
        stated: dict[str, Any] = {}
        if can_publish:
            _used, total, _window = self.quota(channel)
            stated["posts_per_day"] = total
            notes.append(
                _("Instagram lets this account publish %(n)s posts through the API in 24 hours.")
                % {"n": total}
            )
        username = str(me.get("username") or "")
        return ChannelInfo(
            remote_id=str(me["id"]),
            name=str(me.get("name") or username or me["id"]),
            url=f"https://www.instagram.com/{username}/" if username else None,
            members=_int(me.get("followers_count")),
            can_publish=can_publish,
            notes=tuple(notes),
            limits=stated,
        )

    def _permissions(self, channel: ChannelAccess) -> set[str] | None:
        """The permissions granted to the token (``GET /me/permissions``, a user token's edge);
        ``None`` when the token has no such edge (a Page token)."""
        try:
            found = self._call(channel, "GET", "me/permissions")
        except errors.Rejected:
            return None
        return {
            str(p.get("permission"))
            for p in found.get("data") or ()
            if isinstance(p, Mapping) and p.get("status") == "granted"
        }

    def quota(self, channel: ChannelAccess) -> tuple[int, int, int]:
        """``(used, total, window_s)`` of the account's publishing limit, as Instagram states it."""
        found = self._call(
            channel,
            "GET",
            f"{self._user(channel)}/content_publishing_limit",
            params={"fields": "quota_usage,config"},
        )
        return wire.quota(found)

    # -- publishing ------------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = [p for p in super().validate(content, limits) if p.field != "text" or content.media]
        if not content.media:
            problems.append(
                Problem("media", _("Instagram has no text-only posts: attach a picture or a video."))
            )
        if content.poll is not None:
            problems.append(Problem("poll", _("Instagram posts cannot have polls.")))
        if len(content.media) > 1 and any(m.kind not in ("photo", "video") for m in content.media):
            problems.append(Problem("media", _("An Instagram carousel takes pictures and videos only.")))
        caption = _caption(content)
        if wire.hashtags(caption) > wire.HASHTAGS_MAX:
            problems.append(
                Problem(
                    "text",
                    _("Instagram allows at most %(n)s hashtags in a caption.") % {"n": wire.HASHTAGS_MAX},
                )
            )
        if wire.mentions(caption) > wire.MENTIONS_MAX:
            problems.append(
                Problem(
                    "text",
                    _("Instagram allows at most %(n)s @-mentions in a caption.") % {"n": wire.MENTIONS_MAX},
                )
            )
        for index, item in enumerate(content.media):
            problems.extend(_media_problems(index, item))
        if content.pin:
            problems.append(
                Problem("pin", _("Rupor cannot pin posts on %(network)s.") % {"network": NETWORK})
            )
        return problems

    def advice(self, content: Content) -> list[Problem]:
        """What Instagram will do to the files (converted, cropped, enlarged): soft notes the
        composer shows, never a refusal."""
        notes: list[Problem] = []
        for index, item in enumerate(content.media):
            if item.kind != "photo":
                continue
            name = item.filename
            if item.content_type in CONVERTED_TYPES:
                notes.append(
                    Problem(
                        f"media[{index}]",
                        _("%(file)s will be converted to JPEG for Instagram, which takes no other pictures.")
                        % {"file": name},
                    )
                )
            if item.width and item.height and not wire.ratio_fits(item.width, item.height):
                notes.append(
                    Problem(
                        f"media[{index}]",
                        _(
                            "%(file)s is %(w)s x %(h)s: Instagram takes shapes from 4:5 (portrait) to 1.91:1 "
                            "(landscape), so Rupor crops it to the middle."
                        )
                        % {"file": name, "w": item.width, "h": item.height},
                    )
                )
            if item.width and item.width < wire.IMAGE_MIN_WIDTH:
                notes.append(
                    Problem(
                        f"media[{index}]",
                        _(
                            "%(file)s is %(w)s pixels wide; Instagram enlarges it to 320 and it will look soft."
                        )
                        % {"file": name, "w": item.width},
                    )
                )
        return notes

    def rate_limits(
        self,
        channel: ChannelAccess,
        content: Content | None = None,  # noqa: ARG002 - the base class's signature; every post counts one
    ) -> Sequence[RateLimit]:
        """The account's publishing quota as Instagram stated it on verify (``posts_per_day``,
        from ``content_publishing_limit``); none until it has been read."""
        per_day = self.limits_for(channel.settings).posts_per_day
        if not per_day:
            return ()
        return (
            RateLimit(
                key=f"instagram:publish:{self._user(channel)}", limit=per_day, per_s=wire.QUOTA_WINDOW_S
            ),
        )

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        problems = self.validate(request.content, self.limits_for(channel.settings))
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        return self._run(channel, request, progress, second_step=False)

    def complete(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        return self._run(channel, request, progress, second_step=True)

    def _run(
        self, channel: ChannelAccess, request: PublishRequest, progress: Progress, *, second_step: bool
    ) -> Published:
        done = progress.get("media_id")
        if done:
            return self._published(channel, str(done), request, progress)
        container = progress.get("container")
        if container:
            # An earlier attempt made it: reuse it. Meta publishes a container at most once, so one
            # that says PUBLISHED is looked up, never published again.
            status, detail = self._status(channel, str(container))
            if status == wire.Status.PUBLISHED:
                return self._look_up(channel, request, progress)
            if status in (wire.Status.ERROR, wire.Status.EXPIRED):
                self._forget(progress)
                container = None
            if status == wire.Status.ERROR:
                raise errors.Rejected(
                    _("Instagram could not process the media: %(detail)s") % {"detail": detail},
                    needs_person=True,
                )
        if not container:
            container = self._create(channel, request.content, progress)
        container = str(container)
        status = self._wait(channel, container, wait=not second_step)
        if status == wire.Status.IN_PROGRESS:
            if second_step:
                raise errors.MediaProcessing(_("Instagram is still processing the video."), retry_after=30.0)
            return Published(
                remote_id=f"container:{container}",
                excerpt=f"container {container} in progress",
                waiting_on_platform=True,
            )
        return self._publish_container(channel, request, container, progress)

    def _look_up(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        """The post a container that says PUBLISHED became (an earlier attempt's publish went
        through, and its answer was lost)."""
        found = self._find_after(channel, request.content, float(progress.get("container_at") or 0))
        if found is None:
            raise errors.UnknownOutcome(
                _(
                    "Instagram says the post was published, but Rupor cannot find it among the "
                    "account's posts; please check the account."
                ),
                needs_person=True,
            )
        progress.save("media_id", found.remote_id)
        return self._after_publish(channel, request, found, progress)

    def _forget(self, progress: Progress) -> None:
        for key in ("container", "container_at", "publish_sent"):
            progress.save(key, None)
        index = 0
        while progress.get(f"child:{index}"):
            progress.save(f"child:{index}", None)
            index += 1

    def _create(self, channel: ChannelAccess, content: Content, progress: Progress) -> str:
        user = self._user(channel)
        caption = _caption(content)
        started = clock.now().timestamp()
        if len(content.media) == 1:
            params = self._media_params(content, 0, caption=caption, carousel_item=False)
            container = str(self._call(channel, "POST", f"{user}/media", creates=True, data=params)["id"])
        else:
            children = []
            for index in range(len(content.media)):
                saved = progress.get(f"child:{index}")
                if not saved:
                    params = self._media_params(content, index, caption=None, carousel_item=True)
                    saved = str(self._call(channel, "POST", f"{user}/media", creates=True, data=params)["id"])
                    progress.save(f"child:{index}", saved)
                children.append(str(saved))
            for child in children:
                self._wait(channel, child, wait=True)
            params = wire.carousel_params(children, caption)
            container = str(self._call(channel, "POST", f"{user}/media", creates=True, data=params)["id"])
        # Kept before anything else is sent: a later attempt reuses this container.
        progress.save("container", container)
        progress.save("container_at", started)
        return container

    def _media_params(
        self, content: Content, index: int, *, caption: str | None, carousel_item: bool
    ) -> dict[str, str]:
        item = content.media[index]
        if item.link is None:
            raise errors.Rejected(
                _(
                    "Instagram fetches files from an address, and Rupor has none to give for %(file)s: set "
                    "RUPOR_BASE_URL to an address the internet can reach."
                )
                % {"file": item.filename},
                code="no_media_link",
                needs_person=True,
            )
        if item.kind == "video":
            return wire.video_params(item.link(None), caption=caption, carousel_item=carousel_item)
        return wire.image_params(
            item.link(wire.LINK_FORMAT),
            caption=caption,
            alt_text=content.alt_text(index),
            carousel_item=carousel_item,
        )

    def _status(self, channel: ChannelAccess, container: str) -> tuple[wire.Status, str]:
        found = self._call(channel, "GET", container, params={"fields": "status_code,status"})
        return wire.status_of(found), str(found.get("status") or "")

    def _wait(self, channel: ChannelAccess, container: str, *, wait: bool) -> wire.Status:
        """Poll the container until it is no longer in progress (or the short wait is over)."""
        deadline = time.monotonic() + float(channel.settings.get("processing_wait_s", PROCESSING_WAIT_S))
        while True:
            status, detail = self._status(channel, container)
            if status == wire.Status.ERROR:
                raise errors.Rejected(
                    _("Instagram could not process the media: %(detail)s") % {"detail": detail},
                    needs_person=True,
                )
            if status == wire.Status.EXPIRED:
                raise errors.Transient(_("The prepared Instagram media expired; Rupor prepares it again."))
            if status != wire.Status.IN_PROGRESS or not wait or time.monotonic() > deadline:
                return status
            time.sleep(PROCESSING_POLL_S)

    def _publish_container(
        self, channel: ChannelAccess, request: PublishRequest, container: str, progress: Progress
    ) -> Published:
        used, total, window = self.quota(channel)
        if used >= total:
            raise errors.RateLimited(
                _(
                    "The Instagram account has published %(used)s of its %(total)s posts for 24 hours; Rupor waits for room."
                )
                % {"used": used, "total": total},
                code=wire.Code.QUOTA_REACHED,
                retry_after=self._quota_wait(channel, used, total, window),
            )
        progress.save("publish_sent", True)
        answer = self._call(
            channel,
            "POST",
            f"{self._user(channel)}/media_publish",
            creates=True,
            data={"creation_id": container},
        )
        media_id = str(answer["id"])
        progress.save("media_id", media_id)
        return self._published(channel, media_id, request, progress)

    def _quota_wait(self, channel: ChannelAccess, used: int, total: int, window: int) -> float:
        """Until the oldest post of the window leaves it (the account's recent posts' times)."""
        try:
            found = self._call(
                channel,
                "GET",
                f"{self._user(channel)}/media",
                params={"fields": "timestamp", "limit": min(max(total, 1), 100)},
            )
        except errors.NetworkError:
            return 3600.0
        times = sorted(t for t in (wire.parse_time(m.get("timestamp")) for m in found.get("data") or ()) if t)
        cutoff = clock.now() - dt.timedelta(seconds=window)
        inside = [t for t in times if t > cutoff]
        if not inside or used - total >= len(inside):
            return 3600.0
        frees = inside[used - total] + dt.timedelta(seconds=window)
        return max(60.0, (frees - clock.now()).total_seconds())

    def _published(
        self, channel: ChannelAccess, media_id: str, request: PublishRequest, progress: Progress
    ) -> Published:
        try:
            found = self._call(channel, "GET", media_id, params={"fields": "id,permalink,timestamp"})
        except errors.NetworkError:
            found = {}
        published = Published(
            remote_id=media_id,
            url=str(found.get("permalink") or "") or None,
            published_at=wire.parse_time(found.get("timestamp")) or clock.now(),
            excerpt=f"media {media_id}",
        )
        return self._after_publish(channel, request, published, progress)

    def _after_publish(
        self, channel: ChannelAccess, request: PublishRequest, published: Published, progress: Progress
    ) -> Published:
        first = request.content.first_comment
        if first and not progress.get("first_comment_id"):
            # The post is out: a failing first comment must not make the engine publish again.
            try:
                answer = self._call(
                    channel, "POST", f"{published.remote_id}/comments", creates=True, data={"message": first}
                )
                progress.save("first_comment_id", str(answer["id"]))
            except errors.NetworkError as exc:
                progress.save("first_comment_error", exc.message[:300])
        return published

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """After an unknown outcome: the account's post of the last day with this caption (and
        kind), newest first. A repeat attempt reuses the stored container anyway, which Meta
        publishes at most once."""
        return self._find_after(channel, request.content, (clock.now() - LOOKUP_WINDOW).timestamp())

    def _find_after(self, channel: ChannelAccess, content: Content, since: float) -> Published | None:
        found = self._call(
            channel,
            "GET",
            f"{self._user(channel)}/media",
            params={"fields": "id,caption,media_type,permalink,timestamp", "limit": LOOKUP_PAGE},
        )
        caption = _caption(content)
        kind = _media_type(content)
        for raw in found.get("data") or ():
            when = wire.parse_time(raw.get("timestamp"))
            if when is None or when.timestamp() < since - 60:
                continue
            if not wire.same_caption(str(raw.get("caption") or ""), caption):
                continue
            if kind and raw.get("media_type") and raw.get("media_type") != kind:
                continue
            return Published(
                remote_id=str(raw["id"]),
                url=str(raw.get("permalink") or "") or None,
                published_at=when,
                excerpt=f"found media {raw['id']}",
            )
        return None

    # -- conversation ----------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        if post_remote_id.startswith("container:"):
            return []
        fields = f"{wire.COMMENT_FIELDS},replies{{{wire.COMMENT_FIELDS}}}"
        params: dict[str, Any] = {"fields": fields, "limit": 50}
        out: list[Comment] = []
        for _page in range(COMMENT_PAGES):
            try:
                found = self._call(channel, "GET", f"{post_remote_id}/comments", params=params)
            except errors.Rejected as exc:
                if exc.code == wire.NOT_FOUND:  # deleted on Instagram: no comments are left
                    return []
                raise
            for raw in found.get("data") or ():
                out.append(_comment(raw, post_remote_id))
                out.extend(_comment(r, post_remote_id) for r in (raw.get("replies") or {}).get("data") or ())
            after = ((found.get("paging") or {}).get("cursors") or {}).get("after")
            if not (found.get("paging") or {}).get("next") or not after:
                break
            params = {**params, "after": after}
        return [c for c in out if since is None or c.created_at > since]

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,  # noqa: ARG002 - the Graph API takes no key; a comment create is not repeated
    ) -> Comment:
        path = f"{reply_to}/replies" if reply_to else f"{post_remote_id}/comments"
        answer = self._call(channel, "POST", path, creates=True, data={"message": text})
        me = self._call(channel, "GET", self._user(channel), params={"fields": "id,username"})
        return Comment(
            remote_id=str(answer["id"]),
            post_remote_id=post_remote_id,
            author=_person({"id": me.get("id"), "username": me.get("username")}),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def hide_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,  # noqa: ARG002 - the base class's signature; a comment id is enough here
        comment_remote_id: str,
    ) -> None:
        self._call(channel, "POST", comment_remote_id, data={"hide": "true"})

    def delete_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,  # noqa: ARG002 - the base class's signature; a comment id is enough here
        comment_remote_id: str,
    ) -> None:
        try:
            self._call(channel, "DELETE", comment_remote_id)
        except errors.Rejected as exc:
            if exc.code != wire.NOT_FOUND:  # already gone
                raise

    # -- measurement -----------------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        out = []
        for remote_id in remote_ids:
            if not remote_id.isdigit():
                continue
            try:
                found = self._call(
                    channel, "GET", f"{remote_id}/insights", params={"metric": ",".join(wire.POST_METRICS)}
                )
            except errors.Rejected as exc:
                # Deleted, or too few viewers yet (#10): no reading this time, not a channel failure.
                if exc.code in (wire.NOT_FOUND, wire.Code.MEDIA_NOT_FOUND, wire.NOT_ENOUGH_VIEWERS):
                    continue
                raise
            values = wire.insight_values(found)
            out.append(
                PostMetrics(
                    remote_id=remote_id,
                    read_at=clock.now(),
                    likes=values.get("likes"),
                    reposts=values.get("shares"),
                    comments=values.get("comments"),
                    views=values.get("views"),
                    reach=values.get("reach"),
                    extra={k: values[k] for k in ("saved", "total_interactions") if k in values},
                )
            )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        user = self._user(channel)
        me = self._call(channel, "GET", user, params={"fields": "followers_count,media_count"})
        extra: dict[str, int] = {}
        if isinstance(me.get("media_count"), int):
            extra["media"] = int(me["media_count"])
        try:
            found = self._call(
                channel,
                "GET",
                f"{user}/insights",
                params={
                    "metric": ",".join(wire.ACCOUNT_METRICS),
                    "period": "day",
                    "metric_type": "total_value",
                },
            )
            extra.update({f"{k}_day": v for k, v in wire.insight_values(found).items()})
        except errors.Rejected:
            pass  # without instagram_manage_insights the followers still count
        return ChannelMetrics(read_at=clock.now(), members=_int(me.get("followers_count")), extra=extra)


# -- helpers ----------------------------------------------------------------------------------
def error_for(
    error: graph.GraphError, *, creates: bool, excerpt: str, retry_after: float | None = None
) -> errors.NetworkError:
    """Rupor's class for a Graph error: Instagram's subcode first (``wire.SUBCODES``), then the
    shared table of Graph codes (190 reconnect, 4/17/32/613/800xx throttled, ...)."""
    if error.subcode is not None and error.subcode in wire.SUBCODES:
        rule = wire.SUBCODES[error.subcode]
        return errors.from_code(
            wire.SUBCODES, error.subcode, default=rule, creates=creates, excerpt=excerpt, detail=error.detail
        )
    return graph.to_network_error(error, creates=creates, excerpt=excerpt, retry_after=retry_after)


def _caption(content: Content) -> str:
    """The caption: the text, and a link of the variant after it unless the text has it (a link
    in a caption is not clickable; the composer says so)."""
    if not content.link or content.link in content.text:
        return content.text
    return f"{content.text.rstrip()}\n\n{content.link}" if content.text.strip() else content.link


def _media_type(content: Content) -> str:
    if len(content.media) > 1:
        return "CAROUSEL_ALBUM"
    if content.media and content.media[0].kind == "video":
        return "VIDEO"
    return "IMAGE" if content.media else ""


def _media_problems(index: int, item: Media) -> list[Problem]:
    field = f"media[{index}]"
    if item.kind not in ("photo", "video"):
        return [
            Problem(
                field, _("Instagram takes pictures and videos only, not %(file)s.") % {"file": item.filename}
            )
        ]
    return []


def _person(raw: Mapping[str, Any]) -> Person:
    username = str(raw.get("username") or "")
    return Person(
        remote_id=str(raw.get("id") or username),
        name=username,
        url=f"https://www.instagram.com/{username}/" if username else None,
    )


def _comment(raw: Mapping[str, Any], post_remote_id: str) -> Comment:
    author = dict(raw.get("from") or {})
    author.setdefault("username", raw.get("username"))
    return Comment(
        remote_id=str(raw["id"]),
        post_remote_id=post_remote_id,
        author=_person(author),
        text=str(raw.get("text") or ""),
        created_at=wire.parse_time(raw.get("timestamp")) or clock.now(),
        parent_remote_id=str(raw.get("parent_id") or "") or None,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
