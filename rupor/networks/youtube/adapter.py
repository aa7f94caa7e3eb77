"""The YouTube adapter: videos by resumable upload, thumbnails, playlists, comments and statistics.

It speaks the YouTube Data API v3 itself (see :mod:`rupor.networks.youtube.wire`) with an OAuth 2.0
user token, renewed with the refresh token an hour at a time.

A publish is one video: the variant's first video file, its title (``options["title"]`` or the
text's first line), description (the rest of the text), ``options["tags"]``, ``["privacy"]``
(public, unlisted, private), ``["publish_at"]`` (YouTube makes the private video public then),
``["playlist"]`` (a playlist id) and, as its custom thumbnail, the variant's picture.

YouTube has no idempotency key: a second ``videos.insert`` is a second video. The upload session's
URI is therefore kept in the target's progress the moment YouTube gives it, and every later
attempt asks that session how far it got (``PUT`` with ``Content-Range: bytes */TOTAL``): it
continues from the last byte YouTube acknowledged, or learns that the video already exists. The
file is read and sent a chunk at a time (8 MiB), so a large video never sits in memory. Without
the session (a lost progress), an unknown outcome is looked up in the channel's uploads by title
and description.

Quota: each publish reserves what its calls cost in the project's daily quota before the upload
starts, and is refused with a plain sentence when it would not fit (:mod:`.quota`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from http import HTTPStatus
from typing import IO, Any

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
    Person,
    PostMetrics,
    Problem,
    Progress,
    Published,
    PublishRequest,
    TextUnit,
    UpdatesPage,
    latest_credentials,
    rotate_credentials,
)
from rupor.networks.youtube import quota, wire
from rupor.networks.youtube.wire import Reason

NAME = "YouTube"
#: Renew the access token this long before it expires.
RENEW_MARGIN_S = 120
#: How many of the channel's newest uploads reconciliation reads (pages of 50).
RECONCILE_PAGES = 4
PAGE = 50
#: What one read of a video file takes while a chunk streams out.
PIECE_BYTES = 1024 * 1024
#: The wait after a per-minute rate limit, when YouTube names none.
RATE_LIMIT_WAIT_S = 60.0
#: Statuses of a resumable upload session's answers (Google's "Resume Incomplete" is 308).
RESUME_INCOMPLETE = HTTPStatus.PERMANENT_REDIRECT
DONE = (HTTPStatus.OK, HTTPStatus.CREATED)
GONE = (HTTPStatus.NOT_FOUND, HTTPStatus.GONE)
_SECRET = re.compile(r"(access_token|refresh_token|client_secret|Bearer)[\"=:\s]+[^&\s\"]+")


def _excerpt(text: str) -> str:
    return _SECRET.sub(r"\1=***", text)[:300]


# -- what a variant publishes ---------------------------------------------------------------------
def title_and_description(content: Content) -> tuple[str, str]:
    """``options["title"]`` and the whole text, or else the text's first line and the rest."""
    own = str(content.options.get("title") or "").strip() if isinstance(content.options, Mapping) else ""
    text = content.text.strip()
    if own:
        title, description = own, text
    else:
        first, _sep, rest = text.partition("\n")
        title, description = first.strip(), rest.strip()
    if content.link and content.link not in description:
        description = f"{description}\n\n{content.link}".strip()
    return title, description


def tags_of(content: Content) -> list[str]:
    raw = content.options.get("tags") if isinstance(content.options, Mapping) else None
    items = raw.split(",") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else []
    return [t for t in (str(i).strip().lstrip("#") for i in items) if t]


def publish_at_of(content: Content, request: PublishRequest | None = None) -> dt.datetime | None:
    raw = content.options.get("publish_at") if isinstance(content.options, Mapping) else None
    if isinstance(raw, str) and raw.strip():
        try:
            at = wire.parse_time(raw.strip())
        except ValueError:
            return None
        return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    return request.publish_at if request is not None else None


def _video(content: Content) -> Media | None:
    return next((m for m in content.media if m.kind == "video"), None)


def _thumbnail(content: Content) -> Media | None:
    return next((m for m in content.media if m.kind == "photo"), None)


class VideoGone(errors.Rejected):
    """YouTube's ``videoNotFound``: the video was deleted (or never existed)."""


class YouTubeAdapter(Adapter):
    network = "youtube"
    display_name = NAME
    default_base_url = wire.DEFAULT_API_ROOT
    idempotent_publish = False
    capabilities = frozenset(
        {
            Capability.PUBLISH_VIDEO,
            Capability.EDIT,
            Capability.DELETE,
            Capability.RECONCILE,
            Capability.READ_COMMENTS,
            Capability.REPLY_COMMENT,
            Capability.HIDE_COMMENT,
            Capability.LOOKUP_PEOPLE,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.POLL_UPDATES,
            Capability.VERIFY,
            Capability.REFRESH,
        }
    )
    limits = Limits(
        text_unit=TextUnit.BYTES,
        text_max=wire.DESCRIPTION_MAX_BYTES,
        media_max=2,
        photo_max_bytes=wire.THUMBNAIL_MAX_BYTES,
        video_max_bytes=wire.VIDEO_MAX_BYTES,
        photo_types=wire.THUMBNAIL_TYPES,
        video_types=wire.VIDEO_TYPES,
        comment_max=wire.COMMENT_MAX,
    )
    credential_fields = (
        CredentialField(
            "client_id",
            gettext_lazy("OAuth client ID"),
            secret=False,
            help=gettext_lazy(
                "The OAuth 2.0 client of your Google Cloud project with the YouTube Data API v3 enabled. "
                "The project's daily quota is counted per client."
            ),
        ),
        CredentialField("client_secret", gettext_lazy("OAuth client secret"), required=False),
        CredentialField(
            "refresh_token",
            gettext_lazy("Refresh token"),
            required=False,
            help=gettext_lazy(
                "From the OAuth consent with the scopes youtube.upload and youtube.force-ssl (offline access). "
                "While the consent screen is in Testing, Google ends it after seven days."
            ),
        ),
        CredentialField(
            "access_token",
            gettext_lazy("Access token"),
            required=False,
            help=gettext_lazy(
                "Optional with a refresh token, from which Rupor gets a fresh one every hour; alone, it works for an hour."
            ),
        ),
    )

    # -- transport ------------------------------------------------------------------------------
    def _root(self, channel: ChannelAccess) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

    def _timeout(self, channel: ChannelAccess) -> float | None:
        value = channel.settings.get("timeout")
        return float(value) if value is not None else None

    def _project(self, channel: ChannelAccess) -> str:
        """Whose quota this is: the OAuth client (one Google Cloud project) at this API root."""
        client = latest_credentials(channel).get("client_id", "")
        who = f"client:{client}" if client else f"channel:{channel.remote_id}"
        return f"{self._root(channel)}|{who}"

    def _token(self, channel: ChannelAccess) -> str:
        creds = latest_credentials(channel)
        expires = str(creds.get("expires_at", "") or "")
        stale = not creds.get("access_token") or (
            expires.isdigit() and int(expires) - RENEW_MARGIN_S < clock.now().timestamp()
        )
        if creds.get("refresh_token") and stale:
            creds = self._renew(channel, creds.get("access_token", ""))
        token = creds.get("access_token", "")
        if not token:
            raise errors.AuthExpired(
                _("The YouTube connection has no access token; reconnect YouTube."), needs_person=True
            )
        return token

    def refresh(self, channel: ChannelAccess) -> Mapping[str, str] | None:
        """A new access token from the refresh token (stored under the channel's lock)."""
        if not latest_credentials(channel).get("refresh_token"):
            return None
        return self._renew(channel, latest_credentials(channel).get("access_token", ""))

    def access_expires(self, credentials: Mapping[str, str]) -> dt.datetime | None:
        expires = str(credentials.get("expires_at", "") or "")
        return dt.datetime.fromtimestamp(int(expires), dt.UTC) if expires.isdigit() else None

    def _renew(self, channel: ChannelAccess, failed_token: str) -> Mapping[str, str]:
        def renew(current: Mapping[str, str]) -> Mapping[str, str] | None:
            expires = str(current.get("expires_at", "") or "")
            still_good = expires.isdigit() and int(expires) - RENEW_MARGIN_S > clock.now().timestamp()
            if current.get("access_token") and current.get("access_token") != failed_token and still_good:
                return None  # another worker renewed it already
            form = {
                "grant_type": "refresh_token",
                "refresh_token": current.get("refresh_token", ""),
                "client_id": current.get("client_id", ""),
                "client_secret": current.get("client_secret", ""),
            }
            response = transport.send(
                NAME,
                "POST",
                f"{self._root(channel)}{wire.TOKEN_PATH}",
                creates=False,
                what="token refresh",
                timeout=self._timeout(channel),
                data=form,
            )
            if response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED):
                raise errors.AuthExpired(
                    _(
                        "Google no longer accepts the refresh token (revoked, unused for six months, or "
                        "seven days old on a consent screen in Testing); reconnect YouTube."
                    ),
                    code=response.status_code,
                    excerpt=_excerpt(response.text),
                    needs_person=True,
                )
            payload = self._decode(channel, response, creates=False)
            return wire.token_credentials(payload, clock.now(), current)

        return rotate_credentials(channel, renew)

    def _send(
        self,
        channel: ChannelAccess,
        method: str,
        url: str,
        *,
        creates: bool,
        what: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | Callable[[], Iterator[bytes]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request with the access token; a 401 renews it once and sends again (nothing
        happened on a 401). ``content`` may be a function giving the body's pieces afresh for
        each sending (a chunk streamed from the file)."""
        for attempt in (1, 2):
            token = self._token(channel)
            response = transport.send(
                NAME,
                method,
                url,
                creates=creates,
                what=what,
                timeout=self._timeout(channel),
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
                params=params,
                json=json_body,
                content=content() if callable(content) else content,
            )
            if (
                response.status_code == HTTPStatus.UNAUTHORIZED
                and attempt == 1
                and latest_credentials(channel).get("refresh_token")
            ):
                self._renew(channel, token)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self,
        channel: ChannelAccess,
        http_method: str,
        api_method: str,
        path: str,
        *,
        creates: bool = False,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        reserved: bool = False,
    ) -> Any:
        """One API call, counted in the project's quota (unless reserved ahead by a publish)."""
        if not reserved:
            quota.charge(self._project(channel), api_method, quota.budget(channel.settings), clock.now())
        response = self._send(
            channel,
            http_method,
            f"{self._root(channel)}{wire.API}{path}",
            creates=creates,
            what=api_method,
            params=params,
            json_body=json_body,
        )
        return self._decode(channel, response, creates=creates)

    def _decode(self, channel: ChannelAccess, response: httpx.Response, *, creates: bool) -> Any:
        excerpt = _excerpt(response.text)
        status = response.status_code
        if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            if status == HTTPStatus.NO_CONTENT or not response.content:
                return {}
            return transport.json_body(response, network=NAME, creates=creates, excerpt=excerpt)
        payload: Any = None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = wire.api_error(status, payload)
        if error.reason == Reason.QUOTA_EXCEEDED:
            quota.mark_spent(self._project(channel), clock.now())
        raise error_for(error, creates=creates, excerpt=excerpt)

    # -- connection -----------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        answer = self._call(
            channel,
            "GET",
            "channels.list",
            "/channels",
            params={"part": "snippet,statistics,contentDetails", "mine": "true"},
        )
        items = answer.get("items") or []
        if not items:
            raise errors.Rejected(
                _("This Google account has no YouTube channel; create one, then reconnect."),
                needs_person=True,
            )
        item = items[0]
        cid = str(item["id"])
        if channel.remote_id and str(channel.remote_id) != cid:
            raise errors.Rejected(
                _(
                    "This token belongs to the YouTube channel %(found)s, not %(id)s; reconnect with that channel."
                )
                % {"found": cid, "id": channel.remote_id},
                needs_person=True,
            )
        stats = item.get("statistics") or {}
        notes = [
            _(
                "Uploads from a Google Cloud project that has not passed YouTube's audit are kept private "
                "by YouTube, whatever the privacy chosen in Rupor."
            ),
            _(
                "YouTube counts each project's calls against a daily quota; Rupor refuses a publish that would go over it."
            ),
        ]
        return ChannelInfo(
            remote_id=cid,
            name=str((item.get("snippet") or {}).get("title") or cid),
            url=wire.channel_url(cid),
            members=None if stats.get("hiddenSubscriberCount") else _int(stats.get("subscriberCount")),
            notes=tuple(notes),
        )

    # -- publishing -------------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        videos = [m for m in content.media if m.kind == "video"]
        photos = [m for m in content.media if m.kind == "photo"]
        if len(videos) != 1:
            problems.append(
                Problem("media", _("A YouTube post is one video: attach exactly one video file."))
            )
        if len(photos) > 1 or len(videos) + len(photos) < len(content.media):
            problems.append(
                Problem("media", _("Besides the video, YouTube takes one picture, used as its thumbnail."))
            )
        title, description = title_and_description(content)
        if not title:
            problems.append(Problem("title", _("A YouTube video needs a title: write it on the first line.")))
        elif len(title) > wire.TITLE_MAX:
            problems.append(
                Problem(
                    "title",
                    _("The title is %(count)s characters; YouTube allows at most %(max)s.")
                    % {"count": len(title), "max": wire.TITLE_MAX},
                )
            )
        if any(c in title for c in wire.FORBIDDEN_CHARS):
            problems.append(Problem("title", _("YouTube does not accept < or > in a title.")))
        if any(c in description for c in wire.FORBIDDEN_CHARS):
            problems.append(Problem("text", _("YouTube does not accept < or > in a description.")))
        if len(description.encode()) > wire.DESCRIPTION_MAX_BYTES and not any(
            p.field == "text" for p in problems
        ):
            problems.append(
                Problem("text", _("The description is over YouTube's 5,000 bytes.")),
            )
        tags = tags_of(content)
        if wire.tags_length(tags) > wire.TAGS_MAX_CHARS:
            problems.append(
                Problem(
                    "tags",
                    _("The tags take %(count)s characters; YouTube allows %(max)s in all.")
                    % {"count": wire.tags_length(tags), "max": wire.TAGS_MAX_CHARS},
                )
            )
        privacy = str(content.options.get("privacy") or "public")
        if privacy not in wire.PRIVACY:
            problems.append(Problem("privacy", _("Privacy must be public, unlisted or private.")))
        raw_at = content.options.get("publish_at")
        if raw_at and publish_at_of(content) is None:
            problems.append(Problem("publish_at", _("The publishing time is not a date and time.")))
        if content.poll is not None:
            problems.append(Problem("poll", _("YouTube videos cannot carry a poll.")))
        if content.first_comment:
            problems.append(Problem("first_comment", _("Rupor does not post first comments on YouTube.")))
        if content.pin:
            problems.append(Problem("pin", _("Rupor cannot pin YouTube videos.")))
        return problems

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content)
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        video = _video(content)
        assert video is not None  # validate() requires one
        video_id = str(progress.get("video_id") or "")
        if not video_id:
            video_id = self._upload(channel, request, video, progress)
            progress.save("video_id", video_id)
        notes = [f"video {video_id}"]
        notes += self._thumbnail_and_playlist(channel, content, video_id, progress)
        return Published(
            remote_id=video_id,
            url=wire.watch_url(video_id),
            published_at=clock.now(),
            excerpt="; ".join(notes),
        )

    def _plan(self, content: Content) -> dict[str, int]:
        plan = {"videos.insert": 1}
        if _thumbnail(content) is not None:
            plan["thumbnails.set"] = 1
        if content.options.get("playlist"):
            plan["playlistItems.insert"] = 1
        return plan

    def _reserve(self, channel: ChannelAccess, content: Content, progress: Progress) -> None:
        """Charge the publish's calls to today's quota before the upload starts, or refuse."""
        if progress.get("quota_reserved"):
            return
        limits = quota.budget(channel.settings)
        short = quota.reserve(self._project(channel), self._plan(content), limits, clock.now())
        if short is not None:
            if short.needed_uploads > short.left_uploads:
                message = _(
                    "YouTube's daily limit of %(max)s uploads for this Google Cloud project is reached; "
                    "Rupor will upload after it resets at midnight Pacific time."
                ) % {"max": limits.uploads_per_day}
            else:
                message = _(
                    "This video would exceed the project's daily YouTube quota: it needs %(needed)s units "
                    "and %(left)s of %(max)s are left today. Rupor will upload after the quota resets at "
                    "midnight Pacific time."
                ) % {"needed": short.needed_units, "left": short.left_units, "max": limits.units_per_day}
            raise errors.RateLimited(
                message,
                code=Reason.QUOTA_EXCEEDED.value,
                retry_after=max(1.0, (short.resets_at - clock.now()).total_seconds()),
            )
        progress.save("quota_reserved", True)

    def _upload(
        self, channel: ChannelAccess, request: PublishRequest, video: Media, progress: Progress
    ) -> str:
        """The resumable upload: continue the stored session from the byte YouTube acknowledged,
        or open a new one; returns the video's id."""
        session = progress.get("upload_session")
        offset = 0
        if isinstance(session, dict) and session.get("total") == video.size:
            answer = self._send(
                channel,
                "PUT",
                str(session["uri"]),
                creates=False,
                what="videos.insert (status)",
                headers={"Content-Range": wire.status_query(video.size)},
            )
            if answer.status_code in DONE:
                return str(self._decode(channel, answer, creates=False)["id"])
            if answer.status_code == RESUME_INCOMPLETE:
                offset = wire.next_offset(answer.headers.get("range"))
            elif answer.status_code in GONE:
                # An expired session: if it had finished, its video is among the uploads; if not,
                # it made none and a new session is safe.
                found = self.find_published(channel, request)
                if found is not None:
                    return found.remote_id
                session = None
            else:
                self._decode(channel, answer, creates=False)
        else:
            session = None
        if session is None:
            session = self._open_session(channel, request, video, progress)
        uri = str(session["uri"])
        with video.open() as handle:
            while True:
                size = min(wire.CHUNK_BYTES, video.size - offset)
                last = offset + size >= video.size
                answer = self._send(
                    channel,
                    "PUT",
                    uri,
                    # Only the last byte makes the video: an earlier chunk lost on the way is resent.
                    creates=last,
                    what="videos.insert (upload)",
                    content=functools.partial(_pieces, handle, offset, size, video.filename),
                    headers={
                        "Content-Length": str(size),
                        "Content-Range": wire.content_range(offset, size, video.size),
                        "Content-Type": video.content_type,
                    },
                )
                if answer.status_code in DONE:
                    try:
                        return str(self._decode(channel, answer, creates=True)["id"])
                    except errors.SHAPE_ERRORS as exc:
                        raise errors.UnknownOutcome(
                            _("YouTube answered the upload in a form Rupor does not understand."),
                            excerpt=type(exc).__name__,
                        ) from exc
                if answer.status_code != RESUME_INCOMPLETE:
                    self._decode(channel, answer, creates=last)
                offset = wire.next_offset(answer.headers.get("range"))

    def _open_session(
        self, channel: ChannelAccess, request: PublishRequest, video: Media, progress: Progress
    ) -> dict[str, Any]:
        content = request.content
        self._reserve(channel, content, progress)
        title, description = title_and_description(content)
        body = wire.video_body(
            title=title,
            description=description,
            tags=tags_of(content),
            privacy=str(content.options.get("privacy") or "public"),
            publish_at=publish_at_of(content, request),
            category=str(content.options.get("category") or wire.DEFAULT_CATEGORY),
            made_for_kids=bool(content.options.get("made_for_kids", False)),
        )
        answer = self._send(
            channel,
            "POST",
            f"{self._root(channel)}{wire.UPLOAD}/videos",
            # Opening a session makes no video: a lost answer is safe to ask again.
            creates=False,
            what="videos.insert (session)",
            params={"uploadType": "resumable", "part": "snippet,status"},
            json_body=body,
            headers={
                "X-Upload-Content-Length": str(video.size),
                "X-Upload-Content-Type": video.content_type,
            },
        )
        if answer.status_code not in DONE:
            self._decode(channel, answer, creates=False)
        location = answer.headers.get("location", "")
        if not location:
            raise errors.Transient(_("YouTube did not give an upload address; Rupor will try again."))
        session = {"uri": location, "total": video.size}
        progress.save("upload_session", session)
        return session

    def _thumbnail_and_playlist(
        self, channel: ChannelAccess, content: Content, video_id: str, progress: Progress
    ) -> list[str]:
        """The custom thumbnail and the playlist, each once. A refusal is noted, not a failure:
        the video is on YouTube already."""
        notes: list[str] = []
        picture = _thumbnail(content)
        if picture is not None and not progress.get("thumbnail"):
            try:
                with picture.open() as handle:
                    data = handle.read(wire.THUMBNAIL_MAX_BYTES + 1)
                answer = self._send(
                    channel,
                    "POST",
                    f"{self._root(channel)}{wire.UPLOAD}/thumbnails/set",
                    creates=False,
                    what="thumbnails.set",
                    params={"videoId": video_id, "uploadType": "media"},
                    content=data,
                    headers={"Content-Type": picture.content_type},
                )
                self._decode(channel, answer, creates=False)
                notes.append("thumbnail set")
            except (errors.Rejected, errors.NotSupported) as exc:
                notes.append(f"thumbnail refused: {exc.message}")
            progress.save("thumbnail", True)
        playlist = str(content.options.get("playlist") or "")
        if playlist and not progress.get("playlist"):
            try:
                self._call(
                    channel,
                    "POST",
                    "playlistItems.insert",
                    "/playlistItems",
                    params={"part": "snippet"},
                    json_body={
                        "snippet": {
                            "playlistId": playlist,
                            "resourceId": {"kind": "youtube#video", "videoId": video_id},
                        }
                    },
                    reserved=True,
                )
                notes.append(f"added to playlist {playlist}")
            except (errors.Rejected, errors.NotSupported) as exc:
                notes.append(f"playlist refused: {exc.message}")
            progress.save("playlist", True)
        return notes

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """The video among the channel's newest uploads with this title and description."""
        title, description = title_and_description(request.content)
        me = self._call(
            channel, "GET", "channels.list", "/channels", params={"part": "contentDetails", "mine": "true"}
        )
        items = me.get("items") or []
        if not items:
            return None
        uploads = ((items[0].get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
        token: str | None = None
        for _page in range(RECONCILE_PAGES):
            params: dict[str, Any] = {"part": "snippet", "playlistId": uploads, "maxResults": PAGE}
            if token:
                params["pageToken"] = token
            page = self._call(channel, "GET", "playlistItems.list", "/playlistItems", params=params)
            for item in page.get("items") or ():
                snippet = item.get("snippet") or {}
                if (
                    snippet.get("title") == title
                    and str(snippet.get("description") or "").strip() == description
                ):
                    vid = str((snippet.get("resourceId") or {}).get("videoId"))
                    return Published(
                        remote_id=vid, url=wire.watch_url(vid), excerpt=f"found video {vid} by its title"
                    )
            token = page.get("nextPageToken")
            if not token:
                return None
        raise errors.UnknownOutcome(
            _("The channel has too many recent uploads for Rupor to check whether this one went out."),
            excerpt=f"searched {RECONCILE_PAGES * PAGE} uploads",
        )

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        self._call(channel, "DELETE", "videos.delete", "/videos", params={"id": remote_id})

    def edit(self, channel: ChannelAccess, remote_id: str, content: Content) -> None:
        """``videos.update(part=snippet)``: title, description and tags (the video stays)."""
        problems = [p for p in self.validate(content) if p.field not in ("media",)]
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        title, description = title_and_description(content)
        snippet: dict[str, Any] = {
            "title": title,
            "description": description,
            "categoryId": str(content.options.get("category") or wire.DEFAULT_CATEGORY),
            "tags": tags_of(content),
        }
        self._call(
            channel,
            "PUT",
            "videos.update",
            "/videos",
            params={"part": "snippet"},
            json_body={"id": remote_id, "snippet": snippet},
        )

    # -- conversation -------------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        out: list[Comment] = []
        token: str | None = None
        for _page in range(20):
            params: dict[str, Any] = {
                "part": "snippet,replies",
                "videoId": post_remote_id,
                "maxResults": 100,
                "textFormat": "plainText",
            }
            if token:
                params["pageToken"] = token
            try:
                page = self._call(channel, "GET", "commentThreads.list", "/commentThreads", params=params)
            except VideoGone:
                return []  # deleted on YouTube: no comments are left to read
            for thread in page.get("items") or ():
                out.extend(self._thread_comments(channel, thread))
            token = page.get("nextPageToken")
            if not token:
                break
        return [c for c in out if since is None or c.created_at > since]

    def _thread_comments(self, channel: ChannelAccess, thread: Mapping[str, Any]) -> list[Comment]:
        snippet = thread.get("snippet") or {}
        top = _comment(snippet.get("topLevelComment") or {}, str(snippet.get("videoId", "")))
        out = [top]
        replies = [(r, top.post_remote_id) for r in (thread.get("replies") or {}).get("comments") or ()]
        if int(snippet.get("totalReplyCount") or 0) > len(replies):
            # A thread carries a few replies only: comments.list(parentId) has all of them.
            page = self._call(
                channel,
                "GET",
                "comments.list",
                "/comments",
                params={
                    "part": "snippet",
                    "parentId": top.remote_id,
                    "maxResults": 100,
                    "textFormat": "plainText",
                },
            )
            replies = [(r, top.post_remote_id) for r in page.get("items") or ()]
        out += [_comment(r, video) for r, video in replies]
        return out

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,  # noqa: ARG002 - the port passes it; YouTube has no idempotency key
    ) -> Comment:
        if reply_to:
            # YouTube threads are one level deep: a reply to a reply goes to its thread.
            parent = reply_to.split(".", 1)[0]
            answer = self._call(
                channel,
                "POST",
                "comments.insert",
                "/comments",
                creates=True,
                params={"part": "snippet"},
                json_body={"snippet": {"parentId": parent, "textOriginal": text}},
            )
        else:
            thread = self._call(
                channel,
                "POST",
                "commentThreads.insert",
                "/commentThreads",
                creates=True,
                params={"part": "snippet"},
                json_body={
                    "snippet": {
                        "videoId": post_remote_id,
                        "topLevelComment": {"snippet": {"textOriginal": text}},
                    }
                },
            )
            answer = (thread.get("snippet") or {}).get("topLevelComment") or {}
        return Comment(
            remote_id=str(answer["id"]),
            post_remote_id=post_remote_id,
            author=Person(remote_id=channel.remote_id),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def hide_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,  # noqa: ARG002 - the port passes it; YouTube moderates a comment by its id
        comment_remote_id: str,
    ) -> None:
        """``comments.setModerationStatus`` with ``rejected``: hidden from the video's page."""
        self._call(
            channel,
            "POST",
            "comments.setModerationStatus",
            "/comments/setModerationStatus",
            params={"id": comment_remote_id, "moderationStatus": "rejected"},
        )

    def people(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[Person]:
        """Commenters' channels, 50 a call: name, link, avatar and subscribers (unless hidden)."""
        ids = sorted({r for r in remote_ids if r.startswith("UC")})
        out: list[Person] = []
        for start in range(0, len(ids), PAGE):
            page = self._call(
                channel,
                "GET",
                "channels.list",
                "/channels",
                params={"part": "snippet,statistics", "id": ",".join(ids[start : start + PAGE])},
            )
            for raw in page.get("items") or ():
                snippet, stats = raw.get("snippet") or {}, raw.get("statistics") or {}
                picture = ((snippet.get("thumbnails") or {}).get("default") or {}).get("url")
                cid = str(raw["id"])
                out.append(
                    Person(
                        remote_id=cid,
                        name=str(snippet.get("title") or cid),
                        url=wire.channel_url(cid),
                        avatar_url=picture
                        if isinstance(picture, str) and picture.startswith("https://")
                        else None,
                        followers=None
                        if stats.get("hiddenSubscriberCount")
                        else _int(stats.get("subscriberCount")),
                    )
                )
        return out

    def poll_updates(self, channel: ChannelAccess, cursor: str | None) -> UpdatesPage:
        """New comments and replies on all the channel's videos (``allThreadsRelatedToChannelId``,
        newest thread first), newer than ``cursor`` (the newest ``publishedAt`` seen)."""
        since = wire.parse_time(cursor) if cursor else None
        events: list[Event] = []
        newest = since
        token: str | None = None
        for _page in range(10):
            params: dict[str, Any] = {
                "part": "snippet,replies",
                "allThreadsRelatedToChannelId": channel.remote_id,
                "maxResults": 100,
                "order": "time",
                "textFormat": "plainText",
            }
            if token:
                params["pageToken"] = token
            page = self._call(channel, "GET", "commentThreads.list", "/commentThreads", params=params)
            fresh = 0
            for thread in page.get("items") or ():
                for comment in self._thread_comments(channel, thread):
                    if comment.author.remote_id == channel.remote_id:
                        continue
                    if since is not None and comment.created_at < since:  # same second: stored once by id
                        continue
                    fresh += 1
                    newest = comment.created_at if newest is None or comment.created_at > newest else newest
                    events.append(
                        Event(
                            EventKind.COMMENT_NEW,
                            comment.remote_id,
                            channel.remote_id,
                            comment.created_at,
                            comment=comment,
                            person=comment.author,
                            post_remote_id=comment.post_remote_id,
                        )
                    )
            token = page.get("nextPageToken")
            if not token or not fresh:
                break
        events.sort(key=lambda e: e.occurred_at)
        return UpdatesPage(events=tuple(events), cursor=wire.format_time(newest) if newest else cursor)

    # -- measurement ---------------------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        out: list[PostMetrics] = []
        ids = list(dict.fromkeys(remote_ids))
        for start in range(0, len(ids), PAGE):
            page = self._call(
                channel,
                "GET",
                "videos.list",
                "/videos",
                params={"part": "statistics", "id": ",".join(ids[start : start + PAGE])},
            )
            for raw in page.get("items") or ():
                stats = raw.get("statistics") or {}
                out.append(
                    PostMetrics(
                        remote_id=str(raw["id"]),
                        read_at=clock.now(),
                        views=_int(stats.get("viewCount")),
                        likes=_int(stats.get("likeCount")),
                        comments=_int(stats.get("commentCount")),
                    )
                )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        answer = self._call(
            channel, "GET", "channels.list", "/channels", params={"part": "statistics", "mine": "true"}
        )
        stats = ((answer.get("items") or [{}])[0]).get("statistics") or {}
        extra = {k: int(stats[k]) for k in ("viewCount", "videoCount") if _int(stats.get(k)) is not None}
        return ChannelMetrics(
            read_at=clock.now(),
            members=None if stats.get("hiddenSubscriberCount") else _int(stats.get("subscriberCount")),
            extra=extra,
        )


# -- errors -----------------------------------------------------------------------------------------
def error_for(error: wire.ApiError, *, creates: bool, excerpt: str) -> errors.NetworkError:
    """Map a YouTube error by its status and ``reason`` (never its wording)."""
    status, reason = error.status, error.reason
    if reason == Reason.QUOTA_EXCEEDED:
        wait = (wire.next_reset(clock.now()) - clock.now()).total_seconds()
        return errors.RateLimited(
            _(
                "The project's daily YouTube quota is spent; Rupor will try again after midnight Pacific time."
            ),
            code=reason,
            excerpt=excerpt,
            retry_after=wait,
        )
    if reason == Reason.UPLOAD_LIMIT_EXCEEDED:
        return errors.RateLimited(
            _("The channel has reached YouTube's own limit on uploads for now; Rupor will try again later."),
            code=reason,
            excerpt=excerpt,
            retry_after=(wire.next_reset(clock.now()) - clock.now()).total_seconds(),
        )
    if status == HTTPStatus.TOO_MANY_REQUESTS or reason in (
        Reason.RATE_LIMIT_EXCEEDED,
        Reason.USER_RATE_LIMIT_EXCEEDED,
    ):
        return errors.RateLimited(
            _("YouTube asks Rupor to slow down; Rupor will try again shortly."),
            code=reason or status,
            excerpt=excerpt,
            retry_after=RATE_LIMIT_WAIT_S,
        )
    if status == HTTPStatus.UNAUTHORIZED:
        if reason == "youtubeSignupRequired":
            return errors.Rejected(
                _("This Google account has no YouTube channel; create one, then reconnect."),
                code=reason,
                excerpt=excerpt,
                needs_person=True,
            )
        return errors.AuthExpired(
            _("The YouTube token has expired or was revoked; reconnect YouTube."),
            code=reason or status,
            excerpt=excerpt,
            needs_person=True,
        )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR or reason == Reason.BACKEND_ERROR:
        return errors.ambiguous(
            creates,
            _("YouTube answered with a server error (%(status)s).") % {"status": status},
            code=reason or status,
            excerpt=excerpt,
        )
    if reason == Reason.INSUFFICIENT_PERMISSIONS:
        return errors.Rejected(
            _(
                "The YouTube connection was allowed too little (it needs youtube.upload and youtube.force-ssl); reconnect YouTube."
            ),
            code=reason,
            excerpt=excerpt,
            needs_person=True,
        )
    if reason == Reason.VIDEO_NOT_FOUND:
        return VideoGone(
            _("YouTube cannot find that video; it may have been deleted."), code=reason, excerpt=excerpt
        )
    if reason == Reason.COMMENTS_DISABLED:
        return errors.NotSupported(_("Comments are turned off on this video."), code=reason, excerpt=excerpt)
    if status == HTTPStatus.NOT_FOUND:
        return errors.Rejected(
            _("YouTube cannot find that; it may have been deleted."), code=reason or status, excerpt=excerpt
        )
    return errors.Rejected(
        _("YouTube refused: %(reason)s.") % {"reason": reason or status},
        code=reason or status,
        excerpt=excerpt,
        needs_person=True,
    )


# -- helpers ------------------------------------------------------------------------------------------
def _pieces(handle: IO[bytes], offset: int, size: int, filename: str) -> Iterator[bytes]:
    """``size`` bytes of the file from ``offset``, a piece at a time: a chunk is streamed to
    YouTube as it is read, so not even one chunk sits whole in memory."""
    handle.seek(offset)
    left = size
    while left:
        piece = handle.read(min(PIECE_BYTES, left))
        if not piece:
            raise errors.Rejected(
                _("The file %(file)s is shorter than it was when uploaded to Rupor.") % {"file": filename},
                needs_person=True,
            )
        left -= len(piece)
        yield piece


def _comment(raw: Mapping[str, Any], video_id: str) -> Comment:
    snippet = raw.get("snippet") or {}
    author_id = str((snippet.get("authorChannelId") or {}).get("value") or "")
    picture = snippet.get("authorProfileImageUrl")
    published = snippet.get("publishedAt")
    return Comment(
        remote_id=str(raw.get("id", "")),
        post_remote_id=str(snippet.get("videoId") or video_id),
        author=Person(
            remote_id=author_id,
            name=str(snippet.get("authorDisplayName") or author_id),
            url=str(snippet.get("authorChannelUrl") or "")
            or (wire.channel_url(author_id) if author_id else None),
            avatar_url=picture if isinstance(picture, str) and picture.startswith("https://") else None,
        ),
        text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
        created_at=wire.parse_time(str(published)) if published else clock.now(),
        parent_remote_id=str(snippet["parentId"]) if snippet.get("parentId") else None,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
