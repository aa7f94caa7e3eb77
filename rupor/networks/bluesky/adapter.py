"""The Bluesky adapter: posts with facets, images, link cards, replies and threads; notifications
into the inbox; likes, reposts, replies and quotes as metrics.

It speaks XRPC to the account's PDS itself (:mod:`rupor.networks.bluesky.wire`):

* **one session, refreshed**: ``createSession`` with the handle and an app password happens once;
  the access and refresh JWTs are kept in the channel's credentials (``session``, written through
  :func:`rupor.networks.base.rotate_credentials` under the channel's lock) and renewed with
  ``refreshSession`` when the access JWT expires. A login happens again only when the refresh
  JWT itself is dead (90 days); a refused app password holds the channel's posts;
* **idempotent posts**: each post's record key is a TID decided from the target's idempotency key
  (created with the target) and the record itself is kept in the attempt's progress before the
  first call, then written with ``putRecord``: a retry after an unknown outcome writes the same
  record under the same key, which the PDS treats as a no-op (a create on a taken key is a bare
  500 on the reference PDS, so ``createRecord`` is never used for posts).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
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
    rotate_credentials,
)
from rupor.networks.bluesky import wire
from rupor.networks.text import kind_name

#: Calls that create something visible: an ambiguous failure is an unknown outcome.
CREATES = frozenset(
    {"com.atproto.repo.putRecord", "com.atproto.repo.createRecord", "com.atproto.repo.applyWrites"}
)
#: Refresh the access JWT this long before it says it expires.
REFRESH_MARGIN_S = 60
PROFILES_PER_CALL = 25
POSTS_PER_CALL = 25
SESSION_KEY = "session"


class BlueskyAdapter(Adapter):
    network = "bluesky"
    display_name = "Bluesky"
    default_base_url = wire.DEFAULT_PDS
    idempotent_publish = True
    managed_credentials = frozenset({SESSION_KEY})
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.THREAD,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_ALBUM,
            Capability.PUBLISH_LINK,
            Capability.FIRST_COMMENT,
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
        text_unit=TextUnit.GRAPHEMES,
        text_max=wire.TEXT_MAX_GRAPHEMES,
        media_max=wire.IMAGES_MAX,
        album_max=wire.IMAGES_MAX,
        photo_max_bytes=wire.IMAGE_MAX_BYTES,
        photo_types=wire.IMAGE_TYPES,
        video_types=(),
        comment_max=wire.TEXT_MAX_GRAPHEMES,
    )
    credential_fields = (
        CredentialField(
            "handle",
            gettext_lazy("Handle"),
            secret=False,
            help=gettext_lazy("The account's handle, such as yourbrand.bsky.social, or its DID."),
        ),
        CredentialField(
            "app_password",
            gettext_lazy("App password"),
            help=gettext_lazy(
                "An app password made for Rupor in Bluesky: Settings → Privacy and security → App "
                "passwords. Not the account's own password; it can be revoked there at any time."
            ),
        ),
    )

    def __init__(self) -> None:
        self._sessions: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._dids: dict[str, str] = {}

    # -- transport -------------------------------------------------------------------------------
    def _root(self, channel: ChannelAccess) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

    def _timeout(self, channel: ChannelAccess) -> float | None:
        value = channel.settings.get("timeout")
        return float(value) if value is not None else None

    def _raw(
        self,
        channel: ChannelAccess,
        verb: str,
        nsid: str,
        *,
        token: str | None,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        creates = nsid in CREATES
        headers = {"authorization": f"Bearer {token}"} if token else {}
        url = f"{self._root(channel)}/xrpc/{nsid}"
        with call_window(self.rate_limits(channel) if creates else ()):
            if content is not None:
                headers["content-type"] = content_type or "application/octet-stream"
            response = transport.send(
                "Bluesky",
                verb,
                url,
                creates=creates,
                what=nsid,
                timeout=self._timeout(channel),
                headers=headers,
                params=params,
                json=body,
                content=content,
            )
        return self._decode(response, creates=creates)

    def _decode(self, response: httpx.Response, *, creates: bool) -> Any:
        excerpt = _excerpt(response.text)
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = None
            if isinstance(payload, dict) and payload.get("error"):
                retry = _retry_after(response)
                raise wire.error_for(
                    response.status_code, payload, creates=creates, excerpt=excerpt, retry_after=retry
                )
            failed = transport.status_error(
                response,
                network="Bluesky",
                creates=creates,
                excerpt=excerpt,
                retry_after=_retry_after(response),
            )
            if failed is not None:
                raise failed
        return transport.json_body(response, network="Bluesky", creates=creates, excerpt=excerpt)

    def _call(self, channel: ChannelAccess, verb: str, nsid: str, **kwargs: Any) -> Any:
        """An authenticated call; an expired access JWT is renewed once and the call repeated
        (``ExpiredToken`` means the PDS did nothing)."""
        session = self._session(channel)
        try:
            return self._raw(channel, verb, nsid, token=session["accessJwt"], **kwargs)
        except errors.AuthExpired as exc:
            if exc.code not in wire.AUTH_ERRORS:
                raise
            session = self._renew(channel, session)
            return self._raw(channel, verb, nsid, token=session["accessJwt"], **kwargs)

    # -- the session -----------------------------------------------------------------------------
    def _identity(self, channel: ChannelAccess) -> str:
        creds = channel.credentials
        raw = f"{self._root(channel)}|{creds.get('handle', '')}|{creds.get('app_password', '')}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def _session(self, channel: ChannelAccess) -> dict[str, str]:
        key = self._identity(channel)
        with self._lock:
            session = self._sessions.get(key)
        if session is None:
            session = _load(channel.credentials.get(SESSION_KEY))
        if session is None:
            session = self._login(channel, None)
        elif _expires(session["accessJwt"]) < clock.now().timestamp() + REFRESH_MARGIN_S:
            session = self._renew(channel, session)
        with self._lock:
            self._sessions[key] = session
        return session

    def _login(self, channel: ChannelAccess, stale: Mapping[str, str] | None) -> dict[str, str]:
        """A new session, under the channel's lock: one another worker stored meanwhile (one not
        ``stale``) is taken instead of logging in again."""
        creds = channel.credentials
        if not creds.get("handle") or not creds.get("app_password"):
            raise errors.AuthExpired(
                _("The Bluesky connection is missing its handle or app password; reconnect Bluesky."),
                needs_person=True,
            )
        made: dict[str, str] = {}

        def change(current: Mapping[str, str]) -> Mapping[str, str] | None:
            stored = _load(current.get(SESSION_KEY))
            if stored is not None and (stale is None or stored.get("refreshJwt") != stale.get("refreshJwt")):
                made.update(stored)
                return None
            answer = self._raw(
                channel,
                "POST",
                "com.atproto.server.createSession",
                token=None,
                body={"identifier": creds["handle"].lstrip("@"), "password": creds["app_password"]},
            )
            made.update(_session_of(answer))
            return {**current, SESSION_KEY: json.dumps(made)}

        rotate_credentials(channel, change)
        self._remember(channel, made)
        return made

    def _renew(self, channel: ChannelAccess, session: Mapping[str, str]) -> dict[str, str]:
        """Rotate the session with ``refreshSession`` under the channel's lock (a session another
        worker already rotated is taken as it is); a dead refresh JWT means a new login."""
        renewed: dict[str, str] = {}

        def change(current: Mapping[str, str]) -> Mapping[str, str] | None:
            stored = _load(current.get(SESSION_KEY))
            if stored is not None and stored.get("refreshJwt") != session.get("refreshJwt"):
                renewed.update(stored)  # rotated by someone else meanwhile
                return None
            answer = self._raw(
                channel, "POST", "com.atproto.server.refreshSession", token=session["refreshJwt"]
            )
            renewed.update(_session_of(answer))
            return {**current, SESSION_KEY: json.dumps(renewed)}

        try:
            rotate_credentials(channel, change)
        except errors.AuthExpired:
            return self._login(channel, session)
        self._remember(channel, renewed)
        return renewed

    def _remember(self, channel: ChannelAccess, session: dict[str, str]) -> None:
        with self._lock:
            self._sessions[self._identity(channel)] = session

    def _did(self, channel: ChannelAccess) -> str:
        return self._session(channel)["did"]

    # -- connection --------------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        session = self._session(channel)
        did = session["did"]
        try:
            profile = self._call(channel, "GET", "app.bsky.actor.getProfile", params={"actor": did})
        except errors.Rejected:
            profile = {}
        notes = [
            _(
                "Rupor keeps one Bluesky session and renews it itself; revoking the app password in "
                "Bluesky disconnects Rupor."
            )
        ]
        if channel.remote_id and channel.remote_id not in (did, session.get("handle")):
            notes.append(
                _("The app password belongs to %(handle)s, not to %(account)s.")
                % {"handle": session.get("handle", did), "account": channel.remote_id}
            )
            return ChannelInfo(
                remote_id=did,
                name=str(profile.get("displayName") or session.get("handle") or did),
                can_publish=False,
                notes=tuple(notes),
            )
        return ChannelInfo(
            remote_id=did,
            name=str(profile.get("displayName") or session.get("handle") or did),
            url=f"https://bsky.app/profile/{session.get('handle') or did}",
            members=_int(profile.get("followersCount")),
            notes=tuple(notes),
        )

    def refresh(self, channel: ChannelAccess) -> Mapping[str, str] | None:
        session = self._session(channel)
        renewed = self._renew(channel, session)
        return {**channel.credentials, SESSION_KEY: json.dumps(renewed)}

    # -- publishing ---------------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        size = len(content.text.encode())
        if size > wire.TEXT_MAX_BYTES:
            problems.append(
                Problem(
                    "text", _("Bluesky takes at most 3000 bytes of text; this one has %(n)s.") % {"n": size}
                )
            )
        for index, item in enumerate(content.media):
            if item.kind != "photo":
                problems.append(
                    Problem(
                        f"media[{index}]",
                        _("Rupor posts images to %(network)s, not a %(kind)s.")
                        % {"network": self.display_name, "kind": kind_name(item.kind)},
                    )
                )
        if content.poll is not None:
            problems.append(Problem("poll", _("Bluesky has no polls.")))
        if content.pin:
            problems.append(
                Problem("pin", _("Rupor cannot pin posts on %(network)s.") % {"network": self.display_name})
            )
        return problems

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """Record writes: 5000 points an hour per account, a create costs 3 (one post = one
        create, plus one per thread reply and first comment)."""
        who = hashlib.sha256(
            f"{self._root(channel)}|{channel.credentials.get('handle', '')}".encode()
        ).hexdigest()[:16]
        creates = 1
        if content is not None:
            creates += (1 if content.first_comment else 0) + len(_thread(content))
        return (
            RateLimit(
                key=f"bluesky:writes:{who}",
                limit=wire.WRITE_POINTS_PER_HOUR // wire.CREATE_POINTS,
                per_s=3600.0,
                cost=creates,
            ),
        )

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content)
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        did = self._did(channel)
        root = self._put_post(
            channel,
            did,
            "post",
            request.idempotency_key,
            progress,
            lambda: self._build(channel, did, content),
        )
        parent = root
        for index, text in enumerate(_thread(content)):
            parent = self._put_post(
                channel,
                did,
                f"thread:{index}",
                f"{request.idempotency_key}:thread:{index}",
                progress,
                lambda text=text, parent=parent: {
                    **self._text_record(channel, text, content),
                    "reply": {"root": root, "parent": parent},
                },
            )
        if content.first_comment:
            self._put_post(
                channel,
                did,
                "first_comment",
                f"{request.idempotency_key}:first_comment",
                progress,
                lambda: {
                    **self._text_record(channel, content.first_comment or "", content),
                    "reply": {"root": root, "parent": parent},
                },
            )
        rkey = wire.parse_at_uri(root["uri"]).rkey
        return Published(
            remote_id=root["uri"],
            url=wire.post_url(self._session(channel).get("handle") or did, rkey),
            published_at=clock.now(),
            excerpt=f"{root['uri']} {root['cid'][:16]}",
        )

    def _put_post(
        self, channel: ChannelAccess, did: str, part: str, key: str, progress: Progress, build: Any
    ) -> dict[str, str]:
        """Write one post record under the key decided for it; the record is built once and kept
        in ``progress`` first, so a retry sends the very same bytes (a no-op on the PDS)."""
        done = progress.get(f"{part}:ref")
        if isinstance(done, dict):
            return {"uri": str(done["uri"]), "cid": str(done["cid"])}
        rkey = progress.get(f"{part}:rkey") or rkey_for(key)
        progress.save(f"{part}:rkey", rkey)
        record = progress.get(f"{part}:record")
        if not isinstance(record, dict):
            record = build()
            progress.save(f"{part}:record", record)
        answer = self._call(
            channel,
            "POST",
            "com.atproto.repo.putRecord",
            body={"repo": did, "collection": wire.POST, "rkey": rkey, "record": record},
        )
        ref = {"uri": str(answer["uri"]), "cid": str(answer["cid"])}
        progress.save(f"{part}:ref", ref)
        return ref

    def _text_record(self, channel: ChannelAccess, text: str, content: Content) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": wire.POST, "text": text, "createdAt": wire.iso(clock.now())}
        found = self._facets(channel, text)
        if found:
            record["facets"] = found
        langs = content.options.get("langs")
        if isinstance(langs, list) and langs:
            record["langs"] = [str(x) for x in langs[:3]]
        return record

    def _facets(self, channel: ChannelAccess, text: str) -> list[dict[str, Any]]:
        spans = wire.detect(text)
        dids: dict[str, str] = {}
        for span in spans:
            if span.kind == "mention" and span.value not in dids:
                did = self._resolve(channel, span.value)
                if did:
                    dids[span.value] = did
        return wire.facets(text, spans, dids)

    def _resolve(self, channel: ChannelAccess, handle: str) -> str | None:
        if handle in self._dids:
            return self._dids[handle]
        try:
            answer = self._call(
                channel, "GET", "com.atproto.identity.resolveHandle", params={"handle": handle}
            )
        except errors.Rejected:
            return None  # an unknown handle stays plain text, as in the official app
        did = str(answer.get("did", ""))
        if did:
            self._dids[handle] = did
        return did or None

    def _build(self, channel: ChannelAccess, did: str, content: Content) -> dict[str, Any]:  # noqa: ARG002 - the repo is the session's
        record = self._text_record(channel, content.text, content)
        images = []
        for index, item in enumerate(content.media):
            blob = self._upload(channel, item)
            image: dict[str, Any] = {"image": blob, "alt": content.alt_text(index)}
            if item.width and item.height:
                image["aspectRatio"] = {"width": item.width, "height": item.height}
            images.append(image)
        if images:
            record["embed"] = {"$type": "app.bsky.embed.images", "images": images}
        elif content.link:
            options = content.options
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": content.link,
                    "title": str(options.get("link_title") or content.link),
                    "description": str(options.get("link_description") or ""),
                },
            }
        quote = content.options.get("quote")
        reply_to = content.options.get("reply_to")
        if isinstance(quote, str) and quote and "embed" not in record:
            record["embed"] = {"$type": "app.bsky.embed.record", "record": self._ref(channel, quote)}
        if isinstance(reply_to, str) and reply_to:
            parent = self._ref(channel, reply_to)
            value = self._get_record(channel, reply_to)
            root = ((value.get("value") or {}).get("reply") or {}).get("root") or parent
            record["reply"] = {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent}
        return record

    def _get_record(self, channel: ChannelAccess, uri: str) -> dict[str, Any]:
        at = wire.parse_at_uri(uri)
        answer: dict[str, Any] = self._call(
            channel,
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": at.repo, "collection": at.collection, "rkey": at.rkey},
        )
        return answer

    def _ref(self, channel: ChannelAccess, uri: str) -> dict[str, str]:
        answer = self._get_record(channel, uri)
        return {"uri": str(answer["uri"]), "cid": str(answer["cid"])}

    def _upload(self, channel: ChannelAccess, item: Any) -> dict[str, Any]:
        with item.open() as handle:
            data = handle.read()
        answer = self._call(
            channel, "POST", "com.atproto.repo.uploadBlob", content=data, content_type=item.content_type
        )
        blob: dict[str, Any] = answer["blob"]
        return blob

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """The record under the post's key, if the PDS has it."""
        did = self._did(channel)
        uri = wire.at_uri(did, wire.POST, rkey_for(request.idempotency_key))
        try:
            answer = self._get_record(channel, uri)
        except errors.Rejected:
            return None
        return Published(
            remote_id=str(answer["uri"]),
            url=wire.post_url(self._session(channel).get("handle") or did, wire.parse_at_uri(uri).rkey),
            excerpt=f"found {uri} by its record key",
        )

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        at = wire.parse_at_uri(remote_id)
        self._call(
            channel,
            "POST",
            "com.atproto.repo.deleteRecord",
            body={"repo": self._did(channel), "collection": at.collection, "rkey": at.rkey},
        )

    # -- conversation -------------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        try:
            answer = self._call(
                channel, "GET", "app.bsky.feed.getPostThread", params={"uri": post_remote_id, "depth": 20}
            )
        except errors.Rejected as exc:
            if exc.code == "NotFound":
                return []  # deleted on Bluesky: no comments left
            raise
        out: list[Comment] = []

        def walk(node: Mapping[str, Any], parent: str | None) -> None:
            for child in node.get("replies") or ():
                post = child.get("post") if isinstance(child, Mapping) else None
                if not post:
                    continue
                comment = _comment(post, post_remote_id, parent)
                if since is None or comment.created_at > since:
                    out.append(comment)
                walk(child, str(post["uri"]))

        walk(answer.get("thread") or {}, None)
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
        did = self._did(channel)
        root = self._ref(channel, post_remote_id)
        parent = self._ref(channel, reply_to) if reply_to else root
        progress: dict[str, Any] = {}

        class _Progress(dict[str, Any]):
            def save(self, key: str, value: Any) -> None:
                self[key] = value

        ref = self._put_post(
            channel,
            did,
            "reply",
            f"reply:{idempotency_key}",
            _Progress(progress),
            lambda: {
                **self._text_record(channel, text, Content(text=text)),
                "reply": {"root": root, "parent": parent},
            },
        )
        return Comment(
            remote_id=ref["uri"],
            post_remote_id=post_remote_id,
            author=Person(remote_id=did, name=self._session(channel).get("handle", "")),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def people(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[Person]:
        actors = sorted({r for r in remote_ids if r.startswith("did:")})
        out: list[Person] = []
        for start in range(0, len(actors), PROFILES_PER_CALL):
            answer = self._call(
                channel,
                "GET",
                "app.bsky.actor.getProfiles",
                params={"actors": actors[start : start + PROFILES_PER_CALL]},
            )
            for raw in answer.get("profiles") or ():
                out.append(_person(raw, followers=True))
        return out

    def poll_updates(self, channel: ChannelAccess, cursor: str | None) -> UpdatesPage:
        """Replies, mentions and quotes from ``listNotifications``, newest first; ``cursor`` is
        the ``indexedAt`` of the newest one already taken (likes and reposts are counts)."""
        events: list[Event] = []
        newest = cursor
        page_cursor: str | None = None
        me = self._did(channel)
        for _page in range(10):
            params: dict[str, Any] = {"limit": 50}
            if page_cursor:
                params["cursor"] = page_cursor
            answer = self._call(channel, "GET", "app.bsky.notification.listNotifications", params=params)
            notes = answer.get("notifications") or []
            reached = False
            for note in notes:
                at = str(note.get("indexedAt", ""))
                if cursor and at <= cursor:
                    reached = True
                    break
                if newest is None or at > newest:
                    newest = at
                event = _event(note, me)
                if event is not None:
                    events.append(event)
            page_cursor = answer.get("cursor")
            if reached or not page_cursor or not notes:
                break
        return UpdatesPage(events=tuple(reversed(events)), cursor=newest)

    # -- measurement --------------------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        out: list[PostMetrics] = []
        uris = [r for r in remote_ids if r.startswith("at://")]
        for start in range(0, len(uris), POSTS_PER_CALL):
            answer = self._call(
                channel,
                "GET",
                "app.bsky.feed.getPosts",
                params={"uris": uris[start : start + POSTS_PER_CALL]},
            )
            for post in answer.get("posts") or ():
                out.append(
                    PostMetrics(
                        remote_id=str(post["uri"]),
                        read_at=clock.now(),
                        likes=_int(post.get("likeCount")),
                        reposts=_int(post.get("repostCount")),
                        comments=_int(post.get("replyCount")),
                        extra={"quotes": int(post.get("quoteCount") or 0)},
                    )
                )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        profile = self._call(
            channel, "GET", "app.bsky.actor.getProfile", params={"actor": self._did(channel)}
        )
        return ChannelMetrics(
            read_at=clock.now(),
            members=_int(profile.get("followersCount")),
            extra={"posts": int(profile.get("postsCount") or 0)},
        )


# -- helpers ---------------------------------------------------------------------------------------------
def rkey_for(idempotency_key: str) -> str:
    """The TID a post is written under, decided by the target's idempotency key.

    A key that starts with a millisecond timestamp (Rupor's keys do: 12 hex digits of the time
    the target was made) gives a TID of that moment; any other key a TID of a moment in 2021-2024
    drawn from its hash. Either way the same key always gives the same TID.
    """
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    low = int.from_bytes(digest[:4], "big")
    head = idempotency_key[:12]
    ms = int(head, 16) if len(head) == 12 and all(c in "0123456789abcdef" for c in head) else 0
    if 1_600_000_000_000 <= ms <= 4_000_000_000_000:
        us = ms * 1000 + low % 1000
    else:
        us = 1_610_000_000_000_000 + int.from_bytes(digest[4:12], "big") % 100_000_000_000_000
    return wire.tid(us, low >> 22)


def _thread(content: Content) -> list[str]:
    raw = content.options.get("thread")
    return [str(t) for t in raw if str(t).strip()] if isinstance(raw, list) else []


def _load(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict) or not value.get("accessJwt") or not value.get("refreshJwt"):
        return None
    return {str(k): str(v) for k, v in value.items()}


def _session_of(answer: Any) -> dict[str, str]:
    return {k: str(answer[k]) for k in ("accessJwt", "refreshJwt", "did", "handle") if k in answer}


def _expires(jwt: str) -> float:
    """The ``exp`` claim of a JWT (not verified: it only decides when to renew)."""
    try:
        payload = jwt.split(".")[1]
        return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("exp", 0))
    except (IndexError, ValueError, TypeError):
        return 0.0


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("retry-after", "")
    if header.isdigit():
        return float(header)
    reset = response.headers.get("ratelimit-reset", "")
    if reset.isdigit():
        return max(1.0, float(reset) - clock.now().timestamp())
    return None


def _person(raw: Mapping[str, Any], *, followers: bool = False) -> Person:
    handle = str(raw.get("handle") or raw.get("did"))
    avatar = raw.get("avatar")
    return Person(
        remote_id=str(raw.get("did")),
        name=str(raw.get("displayName") or handle),
        url=f"https://bsky.app/profile/{handle}",
        avatar_url=avatar if isinstance(avatar, str) and avatar.startswith("https://") else None,
        followers=_int(raw.get("followersCount")) if followers else None,
    )


def _comment(post: Mapping[str, Any], root: str, parent: str | None) -> Comment:
    record = post.get("record") or {}
    return Comment(
        remote_id=str(post["uri"]),
        post_remote_id=root,
        author=_person(post.get("author") or {}),
        text=str(record.get("text", "")),
        created_at=_time(record.get("createdAt") or post.get("indexedAt")),
        parent_remote_id=parent,
    )


def _event(note: Mapping[str, Any], me: str) -> Event | None:
    reason = note.get("reason")
    record = note.get("record") or {}
    author = _person(note.get("author") or {})
    uri = str(note.get("uri"))
    at = _time(note.get("indexedAt"))
    url = wire.post_url(
        str((note.get("author") or {}).get("handle") or author.remote_id), uri.rsplit("/", 1)[-1]
    )
    if reason == "reply":
        reply = record.get("reply") or {}
        root = str((reply.get("root") or {}).get("uri", ""))
        parent = str((reply.get("parent") or {}).get("uri", ""))
        if not root.startswith(f"at://{me}/"):
            # A reply under someone else's thread to one of our replies: a mention of sorts.
            reason = "mention"
        else:
            comment = Comment(
                remote_id=uri,
                post_remote_id=root,
                author=author,
                text=str(record.get("text", "")),
                created_at=at,
                parent_remote_id=parent if parent != root else None,
            )
            return Event(
                EventKind.COMMENT_NEW, uri, me, at, comment=comment, post_remote_id=root, person=author
            )
    if reason in ("mention", "quote"):
        message = Message(
            remote_id=uri, conversation_id=uri, author=author, text=str(record.get("text", "")), created_at=at
        )
        return Event(EventKind.MENTION, uri, me, at, message=message, person=author, url=url)
    return None  # likes, reposts, follows: counted by post_metrics and channel_metrics


def _time(value: Any) -> dt.datetime:
    try:
        return wire.parse_time(str(value))
    except ValueError:
        return clock.now()


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _excerpt(text: str) -> str:
    import re

    return re.sub(r"(eyJ[\w-]+\.[\w-]+\.[\w-]+|\"password\"\s*:\s*\"[^\"]*\")", "***", text)[:300]
