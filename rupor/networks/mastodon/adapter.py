"""The Mastodon adapter: statuses (media, polls, content warnings, visibility, language) on any
instance, replies, mentions and direct messages into the inbox, favourites/boosts/replies as metrics.

One channel is one account on one instance: ``base_url`` is the instance (any server, including
self-hosted ones on private addresses, which is what ``RUPOR_ALLOW_PRIVATE_URLS`` is for), the
credential is the OAuth bearer token of Rupor's application registered on that instance
(:func:`register_app`, :func:`authorize_url`, :func:`exchange_code`). The instance's limits are
read from ``/api/v2/instance`` when the channel is verified and cached on it
(:attr:`ChannelInfo.limits`); nothing here hard-codes 500 characters.

Every create sends an ``Idempotency-Key`` derived from the target's key, so an attempt after an
unknown outcome returns the status the first one made instead of posting twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
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
    Event,
    EventKind,
    Limits,
    Media,
    Message,
    Person,
    PostMetrics,
    Problem,
    Progress,
    Published,
    PublishRequest,
    RateLimit,
    TextUnit,
    UpdatesPage,
    call_window,
)
from rupor.networks.mastodon import wire

NETWORK = "Mastodon"
#: How long a publish waits for media the instance is still processing before it gives the
#: engine back a transient failure (the uploaded ids are kept; the next attempt polls again).
MEDIA_WAIT_S = 30.0
MEDIA_POLL_S = 1.0
#: A poll lasts a day unless the variant says otherwise.
POLL_EXPIRES_S = 24 * 3600
#: Ids per ``GET /api/v1/statuses?id[]=`` and ``GET /api/v1/accounts?id[]=`` (Mastodon 4.3).
IDS_PER_CALL = 20
#: Calls one media attachment costs: the upload, and (usually) one look at its processing.
CALLS_PER_MEDIA = 2


def _defaults() -> Limits:
    conf = wire.DEFAULT_CONFIGURATION
    fields = wire.limits_from_instance({"configuration": conf})
    fields["photo_types"] = tuple(fields["photo_types"])
    fields["video_types"] = tuple(fields["video_types"])
    return Limits(text_unit=TextUnit.CHARS, poll_options_min=2, **fields)


class MastodonAdapter(Adapter):
    network = "mastodon"
    display_name = NETWORK
    default_base_url = wire.DEFAULT_INSTANCE
    idempotent_publish = True
    no_hide_reason = gettext_lazy(
        "Mastodon's API cannot hide a reply to your post; you can only block or mute its author."
    )
    capabilities = frozenset(
        {
            Capability.THREAD,
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_POLL,
            Capability.POLL_RESULTS,
            Capability.PUBLISH_LINK,
            Capability.FIRST_COMMENT,
            Capability.DELETE,
            Capability.READ_COMMENTS,
            Capability.REPLY_COMMENT,
            Capability.LOOKUP_PEOPLE,
            Capability.READ_MESSAGES,
            Capability.POLL_UPDATES,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.VERIFY,
        }
    )
    #: A stock instance's limits, until the channel's own instance has been asked.
    limits = _defaults()
    credential_fields = (
        CredentialField(
            "access_token",
            gettext_lazy("Access token"),
            help=gettext_lazy(
                "The OAuth access token of Rupor's application on your instance, with the read and write "
                "scopes. Put the instance's address (https://mastodon.social, or your own server) in the API "
                "base URL field. On the instance: Preferences → Development → New application, or let "
                "Rupor register one with “rupor channel mastodon-login”. Mastodon tokens do not expire; "
                "they last until revoked."
            ),
        ),
    )

    def text_length(self, text: str) -> int:
        """Characters as Mastodon counts them: every link is 23, a mention of someone on another
        instance counts without its domain."""
        return wire.length(text)

    # -- transport -----------------------------------------------------------------------------
    def _root(self, channel: ChannelAccess) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

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
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        token = channel.credentials.get("access_token", "")
        if not token:
            raise errors.AuthExpired(
                _("The Mastodon connection has no access token; reconnect the account."), needs_person=True
            )
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        with call_window(self.rate_limits(channel)):
            response = transport.send(
                NETWORK,
                method,
                f"{self._root(channel)}{path}",
                creates=creates,
                what=f"{method} {path}",
                timeout=self._timeout(channel),
                headers=sent,
                params=params,
                data=data,
                json=json,
                files=files,
            )
        return response.status_code, self._decode(response, creates=creates, ok=ok)

    def _decode(self, response: httpx.Response, *, creates: bool, ok: tuple[int, ...]) -> Any:
        excerpt = response.text[:300]
        if response.status_code in ok:
            return transport.json_body(response, network=NETWORK, creates=creates, excerpt=excerpt)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return_error = error_for(
            response.status_code, payload, response.headers, creates=creates, excerpt=excerpt
        )
        raise return_error

    # -- connection -----------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        _code, me = self._call(channel, "GET", "/api/v1/accounts/verify_credentials")
        account_id = str(me["id"])
        _code, app = self._call(channel, "GET", "/api/v1/apps/verify_credentials")
        scopes = {str(s) for s in app.get("scopes") or ()} if isinstance(app, Mapping) else set()
        instance = self.instance(channel)
        stated = wire.limits_from_instance(instance)
        notes = [_("Mastodon tokens do not expire; Rupor keeps working until the token is revoked.")]
        can_publish = True
        if scopes and not scopes & {"write", "write:statuses"}:
            can_publish = False
            notes.append(
                _(
                    "The access token may only read (scopes: %(scopes)s); Rupor needs the write scope to "
                    "publish. Create a token with the read and write scopes."
                )
                % {"scopes": ", ".join(sorted(scopes))}
            )
        if channel.remote_id and channel.remote_id != account_id:
            can_publish = False
            notes.append(
                _("The token belongs to another account (@%(acct)s) than this channel.")
                % {"acct": me.get("acct")}
            )
        if "text_max" in stated:
            notes.append(
                _("This instance allows %(max)s characters and %(media)s attachments per post.")
                % {"max": stated["text_max"], "media": stated.get("media_max", "?")}
            )
        return ChannelInfo(
            remote_id=account_id,
            name=str(me.get("display_name") or me.get("username") or account_id),
            url=str(me.get("url") or "") or None,
            members=_int(me.get("followers_count")),
            can_publish=can_publish,
            notes=tuple(notes),
            limits=stated,
        )

    def instance(self, channel: ChannelAccess) -> Mapping[str, Any]:
        """``GET /api/v2/instance`` (public; no token needed)."""
        try:
            response = transport.send(
                NETWORK,
                "GET",
                f"{self._root(channel)}/api/v2/instance",
                creates=False,
                what="instance",
                timeout=self._timeout(channel),
            )
        except errors.NetworkError:
            raise
        payload = self._decode(response, creates=False, ok=(200,))
        return payload if isinstance(payload, Mapping) else {}

    # -- publishing -----------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        if content.media and content.poll is not None:
            problems.append(Problem("poll", _("A Mastodon post can have media or a poll, not both.")))
        if content.options.get("thread") and content.options.get("native_schedule"):
            problems.append(
                Problem(
                    "options.thread",
                    _("A thread cannot be scheduled on the instance; Rupor posts it on time."),
                )
            )
        visibility = content.options.get("visibility")
        if visibility and visibility not in wire.VISIBILITIES:
            problems.append(
                Problem("visibility", _("Mastodon's visibility is public, unlisted, private or direct."))
            )
        limit = (limits or self.limits).poll_option_max
        if content.poll is not None and limit:
            for option in content.poll.options:
                if len(option) > limit:
                    problems.append(
                        Problem(
                            "poll.options",
                            _(
                                "A poll option on this instance may have at most %(max)s characters: %(option)s"
                            )
                            % {"max": limit, "option": option[:60]},
                        )
                    )
        if content.pin:
            problems.append(
                Problem("pin", _("Rupor cannot pin posts on %(network)s.") % {"network": NETWORK})
            )
        text_max = (limits or self.limits).text_max
        if content.link and content.link not in content.text and text_max:
            length = self.text_length(_with_link(content))
            if length > text_max:
                problems.append(
                    Problem(
                        "text",
                        _(
                            "With the link after it, the text has %(length)s characters; this instance allows %(max)s."
                        )
                        % {"length": length, "max": text_max},
                    )
                )
        return problems

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """300 requests per 5 minutes per account, and 30 media uploads per 30 minutes
        (https://docs.joinmastodon.org/api/rate-limits/). The bucket is the account on its
        instance (by the token's hash: channels sharing a token share it)."""
        token = channel.credentials.get("access_token", "")
        host = urlsplit(self._root(channel)).netloc
        key = f"mastodon:{host}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"
        media = len(content.media) if content is not None else 0
        out = [
            RateLimit(
                key=key,
                limit=wire.REQUESTS_PER_WINDOW,
                per_s=wire.REQUEST_WINDOW_S,
                cost=1 + media * CALLS_PER_MEDIA,
            )
        ]
        if media:
            out.append(
                RateLimit(
                    key=f"{key}:media", limit=wire.MEDIA_PER_WINDOW, per_s=wire.MEDIA_WINDOW_S, cost=media
                )
            )
        return tuple(out)

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content, self.limits_for(channel.settings))
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        media_ids = [
            self._upload(channel, item, index, content, progress) for index, item in enumerate(content.media)
        ]
        self._wait_for_media(channel, media_ids, progress)
        options = content.options
        scheduled = None
        if (
            request.publish_at
            and options.get("native_schedule")
            and request.publish_at > clock.now() + dt.timedelta(seconds=wire.SCHEDULE_MIN_OFFSET_S)
        ):
            scheduled = request.publish_at
        poll = content.poll
        body = wire.status_body(
            text=_with_link(content),
            media_ids=media_ids,
            poll_options=poll.options if poll else (),
            poll_expires_in=(
                poll.minutes * 60 if poll.minutes else int(options.get("poll_expires_in") or POLL_EXPIRES_S)
            )
            if poll
            else None,
            poll_multiple=poll.multiple if poll else False,
            visibility=str(options.get("visibility") or "") or None,
            spoiler_text=str(options.get("spoiler_text") or ""),
            sensitive=bool(options.get("sensitive")),
            language=str(options.get("language") or ""),
            scheduled_at=scheduled,
        )
        _code, status = self._call(
            channel,
            "POST",
            "/api/v1/statuses",
            creates=True,
            json=body,
            headers={"Idempotency-Key": wire.idempotency_key(request.idempotency_key)},
        )
        if scheduled is not None or ("scheduled_at" in status and "content" not in status):
            sid = f"scheduled:{status['id']}"
            return Published(
                remote_id=sid, published_at=scheduled, excerpt=f"scheduled status {status['id']}"
            )
        self._thread(channel, request, str(status["id"]), progress)
        if content.first_comment and not progress.get("first_comment_id"):
            # The first reply of the account's own thread; its key is the target's, one step on.
            reply = self.reply_comment(
                channel,
                str(status["id"]),
                content.first_comment,
                idempotency_key=f"{request.idempotency_key}:first-reply",
            )
            progress.save("first_comment_id", reply.remote_id)
        return Published(
            remote_id=str(status["id"]),
            url=str(status.get("url") or "") or None,
            published_at=wire.parse_time(status.get("created_at")) or clock.now(),
            excerpt=f"status {status['id']}",
        )

    def _thread(
        self, channel: ChannelAccess, request: PublishRequest, first_id: str, progress: Progress
    ) -> None:
        """``options["thread"]``: each part a status replying to the one before, with the first's
        visibility and language; each part's own ``Idempotency-Key`` makes a retry return the
        status already made, and the posted ids are kept so a retry goes on after the last."""
        raw = request.content.options.get("thread")
        parts = [str(t) for t in raw if str(t).strip()] if isinstance(raw, list) else []
        posted = [str(i) for i in progress.get("thread_ids") or []]
        options = request.content.options
        for index, text in enumerate(parts):
            if index < len(posted):
                continue
            _code, status = self._call(
                channel,
                "POST",
                "/api/v1/statuses",
                creates=True,
                json=wire.status_body(
                    text=text,
                    in_reply_to_id=posted[-1] if posted else first_id,
                    visibility=str(options.get("visibility") or "") or None,
                    language=str(options.get("language") or ""),
                ),
                headers={
                    "Idempotency-Key": wire.idempotency_key(f"{request.idempotency_key}:thread:{index}")
                },
            )
            posted.append(str(status["id"]))
            progress.save("thread_ids", posted)

    def _upload(
        self, channel: ChannelAccess, item: Media, index: int, content: Content, progress: Progress
    ) -> str:
        key = f"media:{index}"
        saved = progress.get(key)
        if saved:
            return str(saved)
        alt = content.alt_text(index)
        data = {"description": alt} if alt else None
        with item.open() as handle:
            _code, media = self._call(
                channel,
                "POST",
                "/api/v2/media",
                files={"file": (item.filename, handle, item.content_type)},
                data=data,
                ok=(200, 202),
            )
        media_id = str(media["id"])
        progress.save(key, media_id)  # an unattached upload is harmless; the next attempt reuses it
        progress.save(f"{key}:ready", bool(media.get("url")))
        return media_id

    def _wait_for_media(self, channel: ChannelAccess, media_ids: Sequence[str], progress: Progress) -> None:
        """Poll ``GET /api/v1/media/:id`` (206 while processing) until each has its ``url``."""
        deadline = time.monotonic() + float(channel.settings.get("media_wait_s", MEDIA_WAIT_S))
        for index, media_id in enumerate(media_ids):
            if progress.get(f"media:{index}:ready"):
                continue
            while True:
                code, media = self._call(channel, "GET", f"/api/v1/media/{media_id}", ok=(200, 206))
                if code == 200 and media.get("url"):
                    progress.save(f"media:{index}:ready", True)
                    break
                if time.monotonic() > deadline:
                    raise errors.Transient(
                        _("The Mastodon instance is still processing the media; Rupor will try again."),
                        code=206,
                        retry_after=30.0,
                    )
                time.sleep(MEDIA_POLL_S)

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        path = (
            f"/api/v1/scheduled_statuses/{remote_id.removeprefix('scheduled:')}"
            if remote_id.startswith("scheduled:")
            else f"/api/v1/statuses/{remote_id}"
        )
        try:
            self._call(channel, "DELETE", path)
        except errors.Rejected as exc:
            if exc.code != 404:
                raise

    # -- conversation ---------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        if post_remote_id.startswith("scheduled:"):
            return []
        try:
            _code, thread = self._call(channel, "GET", f"/api/v1/statuses/{post_remote_id}/context")
        except errors.Rejected as exc:
            if exc.code == 404:  # deleted on the instance: no replies are left
                return []
            raise
        out = []
        for raw in thread.get("descendants") or ():
            comment = _comment(raw, post_remote_id)
            if since is None or comment.created_at > since:
                out.append(comment)
        return out

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,
    ) -> Comment:
        target = reply_to or post_remote_id
        body = text
        if reply_to:
            # A reply addresses its author (as every Mastodon client does), so they are notified.
            _code, parent = self._call(channel, "GET", f"/api/v1/statuses/{reply_to}")
            acct = str((parent.get("account") or {}).get("acct") or "")
            if (
                acct
                and str((parent.get("account") or {}).get("id")) != channel.remote_id
                and f"@{acct}" not in text
            ):
                body = f"@{acct} {text}"
        _code, status = self._call(
            channel,
            "POST",
            "/api/v1/statuses",
            creates=True,
            json=wire.status_body(text=body, in_reply_to_id=target),
            headers={"Idempotency-Key": wire.idempotency_key(idempotency_key)},
        )
        return _comment(status, post_remote_id)

    def people(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[Person]:
        ids = sorted({r for r in remote_ids if r.isdigit()})
        out: list[Person] = []
        for start in range(0, len(ids), IDS_PER_CALL):
            _code, found = self._call(
                channel, "GET", "/api/v1/accounts", params={"id[]": ids[start : start + IDS_PER_CALL]}
            )
            out += [_person(raw) for raw in found or () if isinstance(raw, Mapping) and raw.get("id")]
        return out

    def read_messages(self, channel: ChannelAccess, *, since: dt.datetime | None = None) -> Sequence[Message]:
        """The last status of each direct conversation (``GET /api/v1/conversations``)."""
        _code, found = self._call(channel, "GET", "/api/v1/conversations", params={"limit": 40})
        out = []
        for conv in found or ():
            last = conv.get("last_status")
            if not last:
                continue
            message = _message(last, channel.remote_id)
            if since is None or message.created_at > since:
                out.append(message)
        return out

    def poll_updates(self, channel: ChannelAccess, cursor: str | None) -> UpdatesPage:
        """Mentions since ``cursor`` (``GET /api/v1/notifications?types[]=mention``): a reply to
        one of the channel's statuses is a comment, a direct status a message, any other a mention."""
        params: dict[str, Any] = {"types[]": ["mention"], "limit": 40}
        if cursor:
            params["since_id"] = cursor
        _code, found = self._call(channel, "GET", "/api/v1/notifications", params=params)
        events: list[Event] = []
        newest = cursor
        for note in sorted(found or (), key=lambda n: int(n["id"])):
            newest = str(note["id"])
            status = note.get("status")
            if not status:
                continue
            events.append(_event(status, channel.remote_id))
        return UpdatesPage(events=tuple(events), cursor=newest)

    # -- measurement ----------------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        ids = [r for r in remote_ids if r.isdigit()]
        out = []
        for start in range(0, len(ids), IDS_PER_CALL):
            _code, found = self._call(
                channel, "GET", "/api/v1/statuses", params={"id[]": ids[start : start + IDS_PER_CALL]}
            )
            for raw in found or ():
                out.append(
                    PostMetrics(
                        remote_id=str(raw["id"]),
                        read_at=clock.now(),
                        likes=_int(raw.get("favourites_count")),
                        reposts=_int(raw.get("reblogs_count")),
                        comments=_int(raw.get("replies_count")),
                        extra={"quotes": int(raw["quotes_count"])}
                        if isinstance(raw.get("quotes_count"), int)
                        else {},
                        poll=wire.poll_tally(raw["poll"]) if isinstance(raw.get("poll"), Mapping) else None,
                    )
                )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        _code, me = self._call(channel, "GET", "/api/v1/accounts/verify_credentials")
        return ChannelMetrics(
            read_at=clock.now(),
            members=_int(me.get("followers_count")),
            extra={"statuses": int(me["statuses_count"])}
            if isinstance(me.get("statuses_count"), int)
            else {},
        )


# -- OAuth: registering Rupor on an instance --------------------------------------------------
def register_app(
    instance: str, *, redirect_uri: str = wire.OOB_REDIRECT, website: str | None = None
) -> dict[str, str]:
    """``POST /api/v1/apps``: Rupor's application on ``instance``; returns client id and secret."""
    data = {"client_name": "Rupor", "redirect_uris": redirect_uri, "scopes": wire.SCOPES}
    if website:
        data["website"] = website
    response = transport.send(
        NETWORK, "POST", f"{instance.rstrip('/')}/api/v1/apps", creates=False, data=data
    )
    payload = MastodonAdapter()._decode(response, creates=False, ok=(200,))
    return {"client_id": str(payload["client_id"]), "client_secret": str(payload["client_secret"])}


def authorize_url(
    instance: str, client_id: str, *, redirect_uri: str = wire.OOB_REDIRECT, state: str = ""
) -> str:
    """Where the account's owner approves Rupor (the instance shows or redirects with a code and
    the ``state`` given here)."""
    params = {
        "client_id": client_id,
        "scope": wire.SCOPES,
        "redirect_uri": redirect_uri,
        "response_type": "code",
    }
    if state:
        params["state"] = state
    query = urlencode(params)
    return f"{instance.rstrip('/')}/oauth/authorize?{query}"


def exchange_code(
    instance: str, client_id: str, client_secret: str, code: str, *, redirect_uri: str = wire.OOB_REDIRECT
) -> str:
    """``POST /oauth/token`` with ``grant_type=authorization_code``: the access token."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        "scope": wire.SCOPES,
    }
    response = transport.send(
        NETWORK, "POST", f"{instance.rstrip('/')}/oauth/token", creates=False, data=data
    )
    payload = MastodonAdapter()._decode(response, creates=False, ok=(200,))
    return str(payload["access_token"])


# -- helpers --------------------------------------------------------------------------------
def error_for(
    status: int, payload: Any, headers: Mapping[str, str], *, creates: bool, excerpt: str
) -> errors.NetworkError:
    """Map an answer's HTTP status by ``wire.ERRORS`` (never the text); a 429 waits until
    ``X-RateLimit-Reset``."""
    detail = wire.error_text(payload) or _("no reason given")
    if status == 429:
        wait = wire.retry_after(headers, clock.now())
        return errors.RateLimited(
            _("The Mastodon instance asks Rupor to slow down; it will try again later."),
            code=429,
            excerpt=excerpt,
            retry_after=wait if wait is not None else wire.ERRORS[429].retry_after,
        )
    if status >= 500 and status not in wire.ERRORS:
        return errors.ambiguous(
            creates, f"The Mastodon instance failed ({status}).", code=status, excerpt=excerpt
        )
    return errors.from_code(
        wire.ERRORS, status, default=wire.OTHER_ERROR, creates=creates, excerpt=excerpt, detail=detail
    )


def _person(raw: Mapping[str, Any]) -> Person:
    avatar = raw.get("avatar_static") or raw.get("avatar")
    return Person(
        remote_id=str(raw["id"]),
        name=str(raw.get("display_name") or raw.get("username") or raw.get("acct") or ""),
        url=str(raw.get("url") or "") or None,
        avatar_url=avatar if isinstance(avatar, str) and avatar.startswith("https://") else None,
        followers=_int(raw.get("followers_count")),
    )


def _text(status: Mapping[str, Any]) -> str:
    return wire.without_leading_mentions(wire.plain_text(str(status.get("content") or "")))


def _comment(raw: Mapping[str, Any], post_remote_id: str) -> Comment:
    parent = str(raw.get("in_reply_to_id") or "") or None
    return Comment(
        remote_id=str(raw["id"]),
        post_remote_id=post_remote_id,
        author=_person(raw.get("account") or {"id": ""}),
        text=_text(raw),
        created_at=wire.parse_time(raw.get("created_at")) or clock.now(),
        parent_remote_id=parent if parent != post_remote_id else None,
    )


def _message(raw: Mapping[str, Any], me: str) -> Message:
    author = _person(raw.get("account") or {"id": ""})
    mentions = [str(m.get("id")) for m in raw.get("mentions") or () if str(m.get("id")) != me]
    other = author.remote_id if author.remote_id != me else (mentions[0] if mentions else author.remote_id)
    return Message(
        remote_id=str(raw["id"]),
        conversation_id=other,
        author=author,
        text=_text(raw),
        created_at=wire.parse_time(raw.get("created_at")) or clock.now(),
        outgoing=author.remote_id == me,
    )


def _event(status: Mapping[str, Any], me: str) -> Event:
    when = wire.parse_time(status.get("created_at")) or clock.now()
    if status.get("visibility") == "direct":
        message = _message(status, me)
        return Event(
            EventKind.MESSAGE_NEW, message.remote_id, me, when, message=message, person=message.author
        )
    reply_to = str(status.get("in_reply_to_id") or "")
    if reply_to and str(status.get("in_reply_to_account_id") or "") == me:
        comment = _comment(status, reply_to)
        return Event(
            EventKind.COMMENT_NEW,
            comment.remote_id,
            me,
            when,
            comment=comment,
            person=comment.author,
            post_remote_id=reply_to,
        )
    author = _person(status.get("account") or {"id": ""})
    message = Message(str(status["id"]), str(status["id"]), author, _text(status), when)
    return Event(
        EventKind.MENTION,
        message.remote_id,
        me,
        when,
        message=message,
        person=author,
        url=str(status.get("url") or "") or None,
    )


def _with_link(content: Content) -> str:
    """The status text: a link of the variant goes after the text unless the text has it
    (Mastodon makes the preview card from the first link of a status)."""
    if not content.link or content.link in content.text:
        return content.text
    return f"{content.text.rstrip()}\n\n{content.link}" if content.text.strip() else content.link


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
