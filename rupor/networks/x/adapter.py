"""The X (Twitter) adapter: posts and threads, media, polls, replies, mentions and public metrics.

It speaks X API v2 itself (see :mod:`rupor.networks.x.wire`) with an OAuth 2.0 user token. The
access token lives two hours; it is renewed with the refresh token, which X rotates on every use,
so a renewal runs under a per-channel lock and the new pair is stored at once
(:func:`rupor.networks.base.rotate_credentials`).

X has no idempotency key. A post whose creation has an unknown outcome is looked for in the
account's own timeline (same text, same reply target), never simply sent again; X's 403
"duplicate content" answer is taken as evidence of an earlier success and reconciled the same way.
A thread is several posts, each a reply to the one before: the ids already posted are kept in the
target's progress, and a retry continues after the last of them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

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
    latest_credentials,
    rotate_credentials,
)
from rupor.networks.text import weighted_length
from rupor.networks.x import wire

NAME = "X"
#: ``POST /2/tweets``: 100 requests per 15 minutes per user (docs.x.com "Rate limits"); the live
#: figure is read from ``x-rate-limit-limit`` once X has answered.
DOCUMENTED_POSTS_PER_WINDOW = 100
WINDOW_S = 900.0
#: Renew the access token this long before it expires.
RENEW_MARGIN_S = 120
#: How far back reconciliation looks in the account's timeline, and how many pages of 100.
RECONCILE_WINDOW = dt.timedelta(hours=48)
RECONCILE_PAGES = 8
#: Longest wait for X to finish processing one video within one attempt.
PROCESSING_WAIT_S = 120.0
DEFAULT_POLL_MINUTES = 24 * 60
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"
_URL = re.compile(r"https?://\S+", re.IGNORECASE)

#: What X's answers told about each user's limits (``x-rate-limit-*`` and the 24-hour caps), by
#: user id: the 24-hour caps are honoured from here, never assumed.
LAST_LIMITS: dict[str, wire.Limits] = {}


class DuplicateContent(errors.Duplicate):
    """X's 403: the account already has a post with this exact text."""


def _thread(content: Content) -> list[str]:
    """The texts of the posts: the variant's text, then ``options["thread"]`` (a thread)."""
    text = content.text
    if content.link and content.link not in text:
        text = f"{text}\n{content.link}".strip()
    more = content.options.get("thread") if isinstance(content.options, Mapping) else None
    extra = [str(t) for t in more if str(t).strip()] if isinstance(more, (list, tuple)) else []
    return [text, *extra]


def _same_text(a: str, b: str) -> bool:
    """X stores text NFC-normalised and wraps links in t.co: compare with links as placeholders."""

    def norm(s: str) -> str:
        return _URL.sub("<url>", unicodedata.normalize("NFC", s)).strip()

    return norm(a) == norm(b)


class XAdapter(Adapter):
    network = "x"
    display_name = NAME
    default_base_url = wire.DEFAULT_API_ROOT
    idempotent_publish = False
    no_hide_reason = gettext_lazy(
        "X's API v2 can hide replies only to conversations the account started, and Rupor does not use it yet."
    )
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.THREAD,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_POLL,
            Capability.POLL_RESULTS,
            Capability.PUBLISH_LINK,
            Capability.DELETE,
            Capability.RECONCILE,
            Capability.READ_COMMENTS,
            Capability.REPLY_COMMENT,
            Capability.LOOKUP_PEOPLE,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.POLL_UPDATES,
            Capability.VERIFY,
            Capability.REFRESH,
        }
    )
    limits = Limits(
        text_unit=TextUnit.WEIGHTED,
        text_max=wire.MAX_WEIGHTED,
        media_max=4,
        album_max=4,
        photo_max_bytes=wire.IMAGE_MAX_BYTES,
        video_max_bytes=wire.VIDEO_MAX_BYTES,
        photo_types=wire.PHOTO_TYPES,
        video_types=wire.VIDEO_TYPES,
        poll_options_min=2,
        poll_options_max=4,
        poll_option_max=wire.POLL_OPTION_MAX,
        poll_minutes_min=wire.POLL_MIN_MINUTES,
        poll_minutes_max=wire.POLL_MAX_MINUTES,
        comment_max=wire.MAX_WEIGHTED,
    )
    credential_fields = (
        CredentialField(
            "client_id",
            gettext_lazy("OAuth 2.0 client ID"),
            secret=False,
            help=gettext_lazy("The Client ID of your app in the X developer portal (Keys and tokens)."),
        ),
        CredentialField(
            "client_secret",
            gettext_lazy("OAuth 2.0 client secret"),
            required=False,
            help=gettext_lazy("Only for a confidential client (a web app); leave empty for a public client."),
        ),
        CredentialField(
            "access_token",
            gettext_lazy("User access token"),
            help=gettext_lazy(
                "From the OAuth 2.0 authorization with PKCE, with the scopes tweet.read, tweet.write, "
                "users.read, media.write and offline.access. It lives two hours; Rupor renews it."
            ),
        ),
        CredentialField(
            "refresh_token",
            gettext_lazy("Refresh token"),
            required=False,
            help=gettext_lazy(
                "Comes with the access token when offline.access is allowed. X replaces it on every "
                "renewal; Rupor stores the new one each time."
            ),
        ),
    )

    # -- transport ---------------------------------------------------------------------------
    def _root(self, channel: ChannelAccess) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

    def _timeout(self, channel: ChannelAccess) -> float | None:
        value = channel.settings.get("timeout")
        return float(value) if value is not None else None

    def _token(self, channel: ChannelAccess) -> str:
        creds = latest_credentials(channel)
        expires = str(creds.get("expires_at", "") or "")
        if (
            creds.get("refresh_token")
            and expires.isdigit()
            and int(expires) - RENEW_MARGIN_S < clock.now().timestamp()
        ):
            creds = self._renew(channel, creds.get("access_token", ""))
        token = creds.get("access_token", "")
        if not token:
            raise errors.AuthExpired(
                _("The X connection has no access token; reconnect X."), needs_person=True
            )
        return token

    def refresh(self, channel: ChannelAccess) -> Mapping[str, str] | None:
        """Renew the access token with the refresh token (rotated; stored under the channel's lock)."""
        if not latest_credentials(channel).get("refresh_token"):
            return None
        return self._renew(channel, latest_credentials(channel).get("access_token", ""))

    def _renew(self, channel: ChannelAccess, failed_token: str) -> Mapping[str, str]:
        def renew(current: Mapping[str, str]) -> Mapping[str, str] | None:
            expires = str(current.get("expires_at", "") or "")
            still_good = expires.isdigit() and int(expires) - RENEW_MARGIN_S > clock.now().timestamp()
            if current.get("access_token") != failed_token and still_good:
                return None  # another worker renewed it already
            refresh = current.get("refresh_token", "")
            if not refresh:
                raise errors.AuthExpired(_("The token has expired; reconnect X."), needs_person=True)
            form = {"grant_type": "refresh_token", "refresh_token": refresh}
            headers = {}
            if current.get("client_secret"):
                headers["Authorization"] = wire.basic_auth(
                    current.get("client_id", ""), current["client_secret"]
                )
            else:
                form["client_id"] = current.get("client_id", "")
            response = transport.send(
                NAME,
                "POST",
                f"{self._root(channel)}/2/oauth2/token",
                creates=False,
                what="token refresh",
                timeout=self._timeout(channel),
                headers=headers,
                data=form,
            )
            if response.status_code in (400, 401):
                raise errors.AuthExpired(
                    _("X no longer accepts the refresh token; reconnect X."),
                    code=response.status_code,
                    excerpt=_excerpt(response.text),
                    needs_person=True,
                )
            payload = self._decode(response, creates=False)
            return wire.token_credentials(payload, clock.now(), current)

        return rotate_credentials(channel, renew)

    def _call(
        self,
        channel: ChannelAccess,
        method: str,
        path: str,
        *,
        creates: bool = False,
        endpoint: str = "",
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        what = endpoint or f"{method} {path}"
        for attempt in (1, 2):
            token = self._token(channel)
            with call_window(self._window(channel, what)):
                response = transport.send(
                    NAME,
                    method,
                    f"{self._root(channel)}{path}",
                    creates=creates,
                    what=what,
                    timeout=self._timeout(channel),
                    headers={"Authorization": f"Bearer {token}"},
                    params=params,
                    json=json_body,
                    data=data,
                    files=files,
                )
            if (
                response.status_code == 401
                and attempt == 1
                and latest_credentials(channel).get("refresh_token")
            ):
                self._renew(channel, token)  # nothing happened: renew and send once more
                continue
            return self._decode(response, creates=creates, channel=channel)
        raise AssertionError("unreachable")  # pragma: no cover

    def _window(self, channel: ChannelAccess, what: str) -> Sequence[RateLimit]:
        return self.rate_limits(channel) if what == "POST /2/tweets" else ()

    def _decode(
        self, response: httpx.Response, *, creates: bool, channel: ChannelAccess | None = None
    ) -> Any:
        excerpt = _excerpt(response.text)
        status = response.status_code
        if channel is not None and "x-rate-limit-limit" in response.headers:
            LAST_LIMITS[channel.remote_id] = wire.limits(response.headers)
        payload: Any = None
        if response.content:
            try:
                payload = response.json()
            except ValueError:
                payload = None
        if 200 <= status < 300:
            if payload is None and status != 204:
                return transport.json_body(response, network=NAME, creates=creates, excerpt=excerpt)
            return payload if payload is not None else {}
        raise error_for(status, payload, response.headers, creates=creates, excerpt=excerpt)

    # -- connection -----------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        me = self._call(
            channel, "GET", "/2/users/me", params={"user.fields": "public_metrics,profile_image_url"}
        )
        user = me["data"]
        uid = str(user["id"])
        if channel.remote_id and str(channel.remote_id) != uid:
            raise errors.Rejected(
                _(
                    "This X token belongs to @%(username)s, not to the account %(id)s; reconnect with that account."
                )
                % {"username": user.get("username", ""), "id": channel.remote_id},
                code=403,
                needs_person=True,
            )
        notes = [_("The access token lives two hours; Rupor renews it with the refresh token.")]
        if not latest_credentials(channel).get("refresh_token"):
            notes = [
                _("There is no refresh token (offline.access was not allowed): reconnect X every two hours.")
            ]
        try:
            self._call(channel, "GET", f"/2/users/{uid}/mentions", params={"max_results": 5})
        except errors.NotSupported as exc:
            notes.append(exc.message)
        return ChannelInfo(
            remote_id=uid,
            name=str(user.get("name") or user.get("username") or uid),
            url=f"https://x.com/{user.get('username', '')}",
            members=_int((user.get("public_metrics") or {}).get("followers_count")),
            notes=tuple(notes),
        )

    # -- publishing -------------------------------------------------------------------------------
    def text_length(self, text: str) -> int:
        return weighted_length(text)

    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        if content.link and content.link not in content.text:
            joined = f"{content.text}\n{content.link}".strip()
            if weighted_length(joined) > wire.MAX_WEIGHTED and not any(p.field == "text" for p in problems):
                problems.append(
                    Problem("text", _("With the link the text is over X's 280 weighted characters."))
                )
        videos = [m for m in content.media if m.kind == "video"]
        if videos and len(content.media) > 1:
            problems.append(Problem("media", _("An X post takes one video, or up to four images, not both.")))
        if content.poll is not None and content.media:
            problems.append(Problem("poll", _("An X post cannot have both a poll and media.")))
        if content.pin:
            problems.append(Problem("pin", _("Rupor cannot pin posts on X.")))
        if content.first_comment:
            problems.append(Problem("first_comment", _("On X, write a thread instead of a first comment.")))
        return problems

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """``POST /2/tweets`` per user: the window X last told (``x-rate-limit-limit``), else the
        documented 100 per 15 minutes; one publish costs one call per post of its thread."""
        seen = LAST_LIMITS.get(channel.remote_id)
        limit = seen.limit if seen is not None and seen.limit else DOCUMENTED_POSTS_PER_WINDOW
        cost = len(_thread(content)) if content is not None else 1
        return (RateLimit(key=f"x:user:{channel.remote_id}", limit=limit, per_s=WINDOW_S, cost=cost),)

    def _day_cap(self, channel: ChannelAccess) -> None:
        """Refuse before sending when X's own headers said a 24-hour cap is spent until later."""
        seen = LAST_LIMITS.get(channel.remote_id)
        if seen is None:
            return
        now = clock.now().timestamp()
        for remaining, reset, whose in (
            (seen.user_day_remaining, seen.user_day_reset, _("the account's")),
            (seen.app_day_remaining, seen.app_day_reset, _("the app's")),
        ):
            if remaining == 0 and reset is not None and reset > now:
                raise errors.RateLimited(
                    _("X's 24-hour limit on posts (%(whose)s) is used up; Rupor will post after it resets.")
                    % {"whose": whose},
                    code=429,
                    retry_after=reset - now,
                )

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content)
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        parts = _thread(content)
        posted = [str(i) for i in progress.get("thread_ids") or []]
        media_ids = self._upload_media(channel, content.media, progress) if not posted else []
        for index in range(len(posted), len(parts)):
            reply_to = posted[-1] if posted else None
            if progress.get("pending") == index:
                # The last attempt sent this post and never heard back: look before sending again.
                found = self._find(channel, parts[index], reply_to)
                if found is not None:
                    posted.append(found)
                    progress.save("thread_ids", posted)
                    progress.save("pending", None)
                    continue
            self._day_cap(channel)
            poll = None
            if index == 0 and content.poll is not None:
                minutes = int(
                    content.poll.minutes or content.options.get("poll_minutes", DEFAULT_POLL_MINUTES)
                )
                poll = (content.poll.options, max(wire.POLL_MIN_MINUTES, min(wire.POLL_MAX_MINUTES, minutes)))
            body = wire.tweet_body(
                parts[index], reply_to=reply_to, media_ids=media_ids if index == 0 else (), poll=poll
            )
            progress.save("pending", index)
            try:
                answer = self._call(
                    channel, "POST", "/2/tweets", creates=True, endpoint="POST /2/tweets", json_body=body
                )
                tweet_id = str(answer["data"]["id"])
            except DuplicateContent as exc:
                found = self._find(channel, parts[index], reply_to)
                if found is None:
                    raise errors.UnknownOutcome(
                        _(
                            "X says this text is already posted on the account, but Rupor cannot find the post; "
                            "please check the account."
                        ),
                        code=403,
                        excerpt=exc.excerpt,
                    ) from exc
                tweet_id = found
            except errors.SHAPE_ERRORS as exc:
                raise errors.UnknownOutcome(
                    _("X answered the post in a form Rupor does not understand."),
                    excerpt=str(type(exc).__name__),
                ) from exc
            posted.append(tweet_id)
            progress.save("thread_ids", posted)
            progress.save("pending", None)
        return Published(
            remote_id=posted[0],
            url=self._url(channel, posted[0]),
            published_at=clock.now(),
            excerpt=f"post {posted[0]}"
            + (f" and {len(posted) - 1} more in the thread" if len(posted) > 1 else ""),
        )

    def _url(self, channel: ChannelAccess, tweet_id: str) -> str:
        handle = str(channel.settings.get("username") or "i/web")
        return wire.tweet_url(handle, tweet_id)

    def _upload_media(self, channel: ChannelAccess, media: Sequence[Media], progress: Progress) -> list[str]:
        """Chunked upload of each file (INIT, APPEND per 4 MB, FINALIZE, then STATUS while X
        processes a video); each finished id is kept, so a retry never uploads it again."""
        out: list[str] = []
        for index, item in enumerate(media):
            key = f"media:{index}"
            done = progress.get(key)
            if isinstance(done, dict) and done.get("ready"):
                out.append(str(done["id"]))
                continue
            media_id = str(done["id"]) if isinstance(done, dict) and done.get("id") else ""
            if not media_id:
                category = (
                    "tweet_video"
                    if item.kind == "video"
                    else ("tweet_gif" if item.content_type == "image/gif" else "tweet_image")
                )
                init = self._call(
                    channel,
                    "POST",
                    "/2/media/upload",
                    data={
                        "command": "INIT",
                        "media_type": item.content_type,
                        "total_bytes": str(item.size),
                        "media_category": category,
                    },
                )
                media_id = str(init["data"]["id"])
                with item.open() as handle:
                    segment = 0
                    while chunk := handle.read(wire.MEDIA_CHUNK):
                        self._call(
                            channel,
                            "POST",
                            "/2/media/upload",
                            data={"command": "APPEND", "media_id": media_id, "segment_index": str(segment)},
                            files={"media": (item.filename, chunk, "application/octet-stream")},
                        )
                        segment += 1
                final = self._call(
                    channel,
                    "POST",
                    "/2/media/upload",
                    data={"command": "FINALIZE", "media_id": media_id},
                )
                progress.save(key, {"id": media_id, "ready": False})
                info = (final.get("data") or {}).get("processing_info")
            else:
                info = {"state": "pending", "check_after_secs": 0}
            self._wait_processing(channel, media_id, info, item)
            progress.save(key, {"id": media_id, "ready": True})
            out.append(media_id)
        return out

    def _wait_processing(self, channel: ChannelAccess, media_id: str, info: Any, item: Media) -> None:
        waited = 0.0
        while isinstance(info, dict) and info.get("state") in ("pending", "in_progress"):
            pause = float(info.get("check_after_secs") or 1)
            if waited + pause > PROCESSING_WAIT_S:
                raise errors.MediaProcessing(
                    _("X is still processing %(file)s; Rupor will try again shortly.")
                    % {"file": item.filename},
                    retry_after=pause,
                )
            time.sleep(pause)
            waited += pause
            status = self._call(
                channel, "GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id}
            )
            info = (status.get("data") or {}).get("processing_info")
        if isinstance(info, dict) and info.get("state") == "failed":
            raise errors.Rejected(
                _("X could not process %(file)s.") % {"file": item.filename},
                excerpt=_excerpt(json.dumps(info)),
                needs_person=True,
            )

    def _find(self, channel: ChannelAccess, text: str, reply_to: str | None) -> str | None:
        """The id of the account's own recent post with this text (replying to ``reply_to``).

        ``None`` only when the timeline reaches posts older than :data:`RECONCILE_WINDOW`
        without a match; a timeline too long to read through cannot tell, which is an unknown
        outcome (a person checks), never "not there"."""
        since = clock.now() - RECONCILE_WINDOW
        token: str | None = None
        for _page in range(RECONCILE_PAGES):
            params: dict[str, Any] = {"max_results": 100, "tweet.fields": "created_at,referenced_tweets"}
            if token:
                params["pagination_token"] = token
            page = self._call(channel, "GET", f"/2/users/{channel.remote_id}/tweets", params=params)
            for tweet in page.get("data") or ():
                created = wire.parse_time(str(tweet.get("created_at")))
                if created < since:
                    return None
                replied = next(
                    (
                        str(r.get("id"))
                        for r in tweet.get("referenced_tweets") or ()
                        if r.get("type") == "replied_to"
                    ),
                    None,
                )
                if _same_text(str(tweet.get("text", "")), text) and replied == reply_to:
                    return str(tweet["id"])
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                return None
        raise errors.UnknownOutcome(
            _("The account has too many recent posts for Rupor to check whether this one went out."),
            excerpt=f"searched {RECONCILE_PAGES * 100} posts",
        )

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """The whole thread on the account (each post replying to the one before), else ``None``:
        then publishing again resumes after the posts that are there (it looks first)."""
        parts = _thread(request.content)
        root = self._find(channel, parts[0], None)
        if root is None:
            return None
        previous = root
        for text in parts[1:]:
            found = self._find(channel, text, previous)
            if found is None:
                return None
            previous = found
        return Published(
            remote_id=root, url=self._url(channel, root), excerpt=f"found post {root} by its text"
        )

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        self._call(channel, "DELETE", f"/2/tweets/{remote_id}", endpoint="DELETE /2/tweets/:id")

    # -- conversation -------------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        alive = self._call(channel, "GET", "/2/tweets", params={"ids": post_remote_id})
        if not alive.get("data"):
            return []  # deleted on X: no replies are left to read
        out: list[Comment] = []
        token: str | None = None
        for _page in range(10):
            params: dict[str, Any] = {
                "query": f"conversation_id:{post_remote_id}",
                "max_results": 100,
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id",
                "user.fields": "profile_image_url",
            }
            if token:
                params["next_token"] = token
            page = self._call(channel, "GET", "/2/tweets/search/recent", params=params)
            users = _users(page)
            for raw in page.get("data") or ():
                comment = _comment(raw, post_remote_id, users)
                if since is None or comment.created_at > since:
                    out.append(comment)
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                break
        return out

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,  # noqa: ARG002 - the port passes it; X has no idempotency key
    ) -> Comment:
        answer = self._call(
            channel,
            "POST",
            "/2/tweets",
            creates=True,
            endpoint="POST /2/tweets",
            json_body=wire.tweet_body(text, reply_to=reply_to or post_remote_id),
        )
        return Comment(
            remote_id=str(answer["data"]["id"]),
            post_remote_id=post_remote_id,
            author=Person(remote_id=channel.remote_id),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def people(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[Person]:
        ids = sorted({r for r in remote_ids if r.isdigit()})
        out: list[Person] = []
        for start in range(0, len(ids), 100):
            page = self._call(
                channel,
                "GET",
                "/2/users",
                params={
                    "ids": ",".join(ids[start : start + 100]),
                    "user.fields": "profile_image_url,public_metrics",
                },
            )
            for raw in page.get("data") or ():
                out.append(_person(raw))
        return out

    def poll_updates(self, channel: ChannelAccess, cursor: str | None) -> UpdatesPage:
        """Replies and mentions from the account's mentions timeline, newer than ``cursor`` (a
        post id). Access tiers without it (Free) get a plain sentence saying so."""
        params: dict[str, Any] = {
            "max_results": 100,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "profile_image_url,public_metrics",
        }
        if cursor:
            params["since_id"] = cursor
        page = self._call(channel, "GET", f"/2/users/{channel.remote_id}/mentions", params=params)
        users = _users(page)
        events: list[Event] = []
        for raw in reversed(page.get("data") or []):
            created = wire.parse_time(str(raw.get("created_at")))
            author = users.get(str(raw.get("author_id")), Person(str(raw.get("author_id", ""))))
            if str(raw.get("in_reply_to_user_id", "")) == str(channel.remote_id):
                comment = _comment(raw, str(raw.get("conversation_id") or raw["id"]), users)
                events.append(
                    Event(
                        EventKind.COMMENT_NEW,
                        comment.remote_id,
                        channel.remote_id,
                        created,
                        comment=comment,
                        person=author,
                        post_remote_id=comment.post_remote_id,
                    )
                )
            else:
                message = Message(
                    str(raw["id"]),
                    str(raw.get("conversation_id") or raw["id"]),
                    author,
                    str(raw.get("text", "")),
                    created,
                )
                events.append(
                    Event(
                        EventKind.MENTION,
                        message.remote_id,
                        channel.remote_id,
                        created,
                        message=message,
                        person=author,
                        url=wire.tweet_url(author.name, message.remote_id),
                    )
                )
        newest = (page.get("meta") or {}).get("newest_id")
        return UpdatesPage(events=tuple(events), cursor=str(newest) if newest else cursor)

    # -- measurement ---------------------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        out: list[PostMetrics] = []
        ids = list(dict.fromkeys(remote_ids))
        for start in range(0, len(ids), 100):
            page = self._call(
                channel,
                "GET",
                "/2/tweets",
                params={
                    "ids": ",".join(ids[start : start + 100]),
                    "tweet.fields": "public_metrics,attachments",
                    "expansions": "attachments.poll_ids",
                    "poll.fields": "options,voting_status,end_datetime,duration_minutes",
                },
            )
            polls = {
                str(p.get("id")): p
                for p in (page.get("includes") or {}).get("polls") or ()
                if isinstance(p, Mapping)
            }
            for raw in page.get("data") or ():
                poll_ids = (raw.get("attachments") or {}).get("poll_ids") or ()
                poll = next((polls[str(i)] for i in poll_ids if str(i) in polls), None)
                m = raw.get("public_metrics") or {}
                out.append(
                    PostMetrics(
                        remote_id=str(raw["id"]),
                        read_at=clock.now(),
                        likes=_int(m.get("like_count")),
                        reposts=_int(m.get("retweet_count")),
                        comments=_int(m.get("reply_count")),
                        views=_int(m.get("impression_count")),
                        extra={
                            k: int(m[k])
                            for k in ("quote_count", "bookmark_count")
                            if _int(m.get(k)) is not None
                        },
                        poll=wire.poll_tally(poll) if poll is not None else None,
                    )
                )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        me = self._call(channel, "GET", "/2/users/me", params={"user.fields": "public_metrics"})
        return ChannelMetrics(
            read_at=clock.now(),
            members=_int(((me.get("data") or {}).get("public_metrics") or {}).get("followers_count")),
        )


# -- errors -----------------------------------------------------------------------------------------
def error_for(
    status: int, payload: Any, headers: Mapping[str, str], *, creates: bool, excerpt: str
) -> errors.NetworkError:
    """Map an X error answer by its status and problem type (never its wording, except X's one
    documented sign of a duplicate)."""
    detail = wire.problem_text(payload)
    if status == 429:
        wait = wire.limits(headers).wait_s(clock.now().timestamp())
        if wire.is_usage_capped(payload):
            message = _("X's usage cap for this account or app is reached; Rupor will post after it resets.")
        else:
            message = _("X asks Rupor to slow down; Rupor will wait until the limit resets.")
        return errors.RateLimited(message, code=429, excerpt=excerpt, retry_after=wait)
    if status == 401:
        return errors.AuthExpired(
            _("The token has expired; reconnect X."), code=401, excerpt=excerpt, needs_person=True
        )
    if wire.is_duplicate(status, payload):
        return DuplicateContent(_("X already has a post with this exact text."), code=403, excerpt=excerpt)
    if wire.is_not_enrolled(status, payload):
        return errors.NotSupported(
            _(
                "The X app's access tier does not include this (for example, the Free tier cannot read mentions "
                "or replies), so they do not reach Rupor's inbox."
            ),
            code=403,
            excerpt=excerpt,
            needs_person=True,
        )
    if status >= 500:
        return errors.ambiguous(
            creates,
            _("X answered with a server error (%(status)s).") % {"status": status},
            code=status,
            excerpt=excerpt,
        )
    if status == 403:
        return errors.Rejected(
            _("X refused: %(detail)s") % {"detail": detail or _("the account or app may not do this")},
            code=403,
            excerpt=excerpt,
            needs_person=True,
        )
    if status == 404:
        return errors.Rejected(
            _("X cannot find that post; it may have been deleted."), code=404, excerpt=excerpt
        )
    return errors.Rejected(
        _("X did not accept the request: %(detail)s") % {"detail": detail or status},
        code=status,
        excerpt=excerpt,
        needs_person=True,
    )


# -- helpers ------------------------------------------------------------------------------------------
def _person(raw: Mapping[str, Any]) -> Person:
    username = str(raw.get("username") or "")
    picture = raw.get("profile_image_url")
    return Person(
        remote_id=str(raw["id"]),
        name=str(raw.get("name") or username),
        url=f"https://x.com/{username}" if username else None,
        avatar_url=picture if isinstance(picture, str) and picture.startswith("https://") else None,
        followers=_int((raw.get("public_metrics") or {}).get("followers_count")),
    )


def _users(page: Mapping[str, Any]) -> dict[str, Person]:
    return {str(u["id"]): _person(u) for u in (page.get("includes") or {}).get("users") or () if u.get("id")}


def _comment(raw: Mapping[str, Any], post_remote_id: str, users: Mapping[str, Person]) -> Comment:
    author_id = str(raw.get("author_id", ""))
    parent = next(
        (str(r.get("id")) for r in raw.get("referenced_tweets") or () if r.get("type") == "replied_to"), None
    )
    return Comment(
        remote_id=str(raw["id"]),
        post_remote_id=post_remote_id,
        author=users.get(author_id, Person(author_id)),
        text=str(raw.get("text", "")),
        created_at=wire.parse_time(str(raw["created_at"])) if raw.get("created_at") else clock.now(),
        parent_remote_id=parent if parent and parent != post_remote_id else None,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _excerpt(text: str) -> str:
    return re.sub(r"(access_token|refresh_token|Bearer)[\"=:\s]+[^&\s\"]+", r"\1=***", text)[:300]


def exchange_code(
    *,
    client_id: str,
    code: str,
    pkce: wire.Pkce,
    redirect_uri: str,
    client_secret: str = "",
    base_url: str | None = None,
) -> dict[str, str]:
    """The last step of connecting with OAuth 2.0 and PKCE: trade the authorization ``code`` (with
    the ``code_verifier`` of the same authorization) for the credentials Rupor stores."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": pkce.verifier,
    }
    headers = {}
    if client_secret:
        headers["Authorization"] = wire.basic_auth(client_id, client_secret)
    else:
        form["client_id"] = client_id
    response = transport.send(
        NAME,
        "POST",
        f"{(base_url or wire.DEFAULT_API_ROOT).rstrip('/')}/2/oauth2/token",
        creates=False,
        what="authorization code",
        headers=headers,
        data=form,
    )
    if response.status_code in (400, 401):
        raise errors.AuthExpired(
            _("X did not accept the authorization; start connecting X again."),
            code=response.status_code,
            excerpt=_excerpt(response.text),
            needs_person=True,
        )
    payload = XAdapter()._decode(response, creates=False)
    creds = {"client_id": client_id, **({"client_secret": client_secret} if client_secret else {})}
    return wire.token_credentials(payload, clock.now(), creds)
