"""The LinkedIn adapter: organisation page posts, images, documents, comments and statistics.

It speaks LinkedIn's versioned REST API itself (see :mod:`rupor.networks.linkedin.wire`). LinkedIn
has no idempotency key, so a post whose creation has an unknown outcome is reconciled by looking
for its exact commentary among the page's recent posts (:meth:`LinkedInAdapter.find_published`),
never by posting again. Access tokens live 60 days; :meth:`LinkedInAdapter.refresh` trades the
refresh token for a new one (``rupor/channels/tokens.py`` does it ahead of time, under a lock on the
channel, and warns the channel's people a week before the connection ends).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
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
)
from rupor.networks.linkedin import wire
from rupor.networks.text import kind_name

#: Endpoints whose repetition could duplicate something visible.
CREATE_ENDPOINTS = frozenset({"posts.create", "comments.create"})
#: LinkedIn publishes no per-second numbers (only daily caps, per app and member, seen in the
#: Developer Portal); Rupor spaces its calls per token at this rate so bursts stay polite.
ASSUMED_REQUESTS_PER_SECOND = 10
#: How long an uploaded image or document may stay PROCESSING before Rupor tries again later.
ASSET_WAIT_S = 20.0
#: Statistics take at most this many posts a call (``shares=List(...)``).
STATS_PER_CALL = 20


def _expiry(value: str | None) -> dt.datetime | None:
    """A stored expiry (ISO 8601) as a time, ``None`` when not known."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class LinkedInAdapter(Adapter):
    network = "linkedin"
    display_name = "LinkedIn"
    default_base_url = wire.DEFAULT_API_ROOT
    idempotent_publish = False
    no_hide_reason = gettext_lazy(
        "LinkedIn's API has no way to hide a comment on a page's post: it can only delete one, for everyone."
    )
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_PHOTO,
            Capability.PUBLISH_LINK,
            Capability.FIRST_COMMENT,
            Capability.DELETE,
            Capability.RECONCILE,
            Capability.READ_COMMENTS,
            Capability.REPLY_COMMENT,
            Capability.DELETE_COMMENT,
            Capability.POST_METRICS,
            Capability.CHANNEL_METRICS,
            Capability.VERIFY,
            Capability.REFRESH,
        }
    )
    limits = Limits(
        text_unit=TextUnit.CHARS,
        text_max=wire.COMMENTARY_MAX,
        media_max=1,
        photo_types=wire.IMAGE_TYPES,
        photo_max_bytes=wire.IMAGE_MAX_BYTES,
        comment_max=wire.COMMENT_MAX,
    )
    credential_fields = (
        CredentialField(
            "access_token",
            gettext_lazy("Access token"),
            help=gettext_lazy(
                "A member access token with the w_organization_social, r_organization_social and "
                "rw_organization_admin permissions, from your LinkedIn application (Community Management API). "
                "The member must be an administrator or content admin of the page. It lives 60 days."
            ),
        ),
        CredentialField(
            "refresh_token",
            gettext_lazy("Refresh token"),
            required=False,
            help=gettext_lazy(
                "LinkedIn gives refresh tokens to approved partners only; with one, Rupor renews the access "
                "token itself until the refresh token ends (365 days after the first authorization)."
            ),
        ),
        CredentialField(
            "client_id",
            gettext_lazy("Client ID"),
            secret=False,
            required=False,
            help=gettext_lazy("Your LinkedIn application's Client ID (needed to renew the token)."),
        ),
        CredentialField(
            "client_secret",
            gettext_lazy("Client secret"),
            required=False,
            help=gettext_lazy(
                "Your LinkedIn application's Primary Client Secret (needed to renew the token)."
            ),
        ),
        CredentialField(
            "access_token_expires_at",
            gettext_lazy("Access token expires"),
            secret=False,
            required=False,
            help=gettext_lazy(
                "When the access token ends (ISO 8601, e.g. 2026-03-01T12:00:00Z); 60 days from its issue."
            ),
        ),
        CredentialField(
            "refresh_token_expires_at",
            gettext_lazy("Refresh token expires"),
            secret=False,
            required=False,
            help=gettext_lazy(
                "When the refresh token ends (ISO 8601); 365 days from the first authorization."
            ),
        ),
    )
    reconcile_window = dt.timedelta(hours=48)
    reconcile_pages = 10  # of 100 posts

    # -- transport ---------------------------------------------------------------------------
    def _root(self, channel: ChannelAccess) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

    def _timeout(self, channel: ChannelAccess) -> float | None:
        value = channel.settings.get("timeout")
        return float(value) if value is not None else None

    def _send(
        self,
        channel: ChannelAccess,
        method: str,
        path: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        token = channel.credentials.get("access_token", "")
        if not token:
            raise errors.AuthExpired(
                _("The LinkedIn connection has no access token; reconnect LinkedIn."), needs_person=True
            )
        create = endpoint in CREATE_ENDPOINTS
        headers = wire.headers(token)
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        with call_window(self.rate_limits(channel)):
            response = transport.send(
                "LinkedIn", method, f"{self._root(channel)}{path}", creates=create, what=endpoint,
                timeout=self._timeout(channel), headers=headers, params=params, content=content,
            )  # fmt: skip
        if response.status_code >= 400:
            raise error_for(response, create=create)
        return response

    def _json(self, channel: ChannelAccess, method: str, path: str, endpoint: str, **kwargs: Any) -> Any:
        response = self._send(channel, method, path, endpoint, **kwargs)
        return transport.json_body(
            response,
            network="LinkedIn",
            creates=endpoint in CREATE_ENDPOINTS,
            excerpt=_excerpt(response.text),
        )

    # -- connection ---------------------------------------------------------------------------
    def verify(self, channel: ChannelAccess) -> ChannelInfo:
        """The page and whether the member may post there; without a page id, the first page the
        member administers (``organizationAcls``)."""
        acls = self._json(
            channel,
            "GET",
            "/rest/organizationAcls",
            "organizationAcls.get",
            params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
        )
        pages = [str(a.get("organization", "")) for a in acls.get("elements") or ()]
        if not channel.remote_id.strip():
            if not pages:
                raise errors.Rejected(
                    _("The connected LinkedIn member administers no page; give the page id."),
                    needs_person=True,
                )
            channel = ChannelAccess(
                channel.network, pages[0], channel.credentials, channel.base_url, channel.settings
            )
        org_id = wire.organization_id(channel.remote_id)
        org_urn = wire.organization_urn(channel.remote_id)
        try:
            org = self._json(channel, "GET", f"/rest/organizations/{org_id}", "organizations.get")
        except errors.Rejected as exc:
            if exc.code == 404:
                raise errors.Rejected(
                    _("There is no LinkedIn page with the id %(id)s.") % {"id": org_id},
                    code=404,
                    needs_person=True,
                ) from exc
            raise
        can_publish = org_urn in pages
        notes = [_("LinkedIn access tokens live 60 days; Rupor warns a week before the connection ends.")]
        if not can_publish:
            notes.append(
                _("The connected member is not an administrator of this page, so Rupor cannot publish here.")
            )
        expires = self.connection_expires(channel.credentials)
        return ChannelInfo(
            remote_id=org_id,
            name=str(org.get("localizedName") or org_id),
            url=wire.page_url(org_id),
            can_publish=can_publish,
            notes=tuple(notes),
            expires_at=expires,
        )

    def connection_expires(self, credentials: Mapping[str, str]) -> dt.datetime | None:
        """When the connection ends unless a person reconnects: the refresh token's end when one
        can renew the access token, else the access token's."""
        if (
            credentials.get("refresh_token")
            and credentials.get("client_id")
            and credentials.get("client_secret")
        ):
            return _expiry(credentials.get("refresh_token_expires_at")) or _expiry(
                credentials.get("access_token_expires_at")
            )
        return _expiry(credentials.get("access_token_expires_at"))

    def access_expires(self, credentials: Mapping[str, str]) -> dt.datetime | None:
        return _expiry(credentials.get("access_token_expires_at"))

    def refresh(self, channel: ChannelAccess) -> Mapping[str, str] | None:
        """A new 60-day access token for the refresh token (``None`` without one). The refresh
        token keeps its end date; an ``invalid_grant`` means a person must reconnect."""
        creds = channel.credentials
        if not (creds.get("refresh_token") and creds.get("client_id") and creds.get("client_secret")):
            return None
        root = self._root(channel) if channel.base_url else wire.DEFAULT_OAUTH_ROOT
        response = transport.send(
            "LinkedIn", "POST", f"{root}{wire.TOKEN_PATH}", creates=False, what="token refresh",
            timeout=self._timeout(channel),
            data={"grant_type": "refresh_token", "refresh_token": creds["refresh_token"],
                  "client_id": creds["client_id"], "client_secret": creds["client_secret"]},
        )  # fmt: skip
        if response.status_code >= 400:
            raise error_for(response, create=False)
        payload = transport.json_body(response, network="LinkedIn", creates=False, excerpt="")
        now = clock.now()
        out = dict(creds)
        out["access_token"] = str(payload["access_token"])
        out["access_token_expires_at"] = (
            now + dt.timedelta(seconds=int(payload.get("expires_in", wire.ACCESS_TOKEN_TTL_S)))
        ).isoformat()
        if payload.get("refresh_token"):
            out["refresh_token"] = str(payload["refresh_token"])
        if payload.get("refresh_token_expires_in") is not None:
            out["refresh_token_expires_at"] = (
                now + dt.timedelta(seconds=int(payload["refresh_token_expires_in"]))
            ).isoformat()
        return out

    # -- publishing ---------------------------------------------------------------------------
    def validate(self, content: Content, limits: Limits | None = None) -> list[Problem]:
        problems = super().validate(content, limits)
        for index, item in enumerate(content.media):
            if item.kind == "document":
                if item.content_type not in wire.DOCUMENT_TYPES:
                    problems.append(
                        Problem(
                            f"media[{index}]", _("LinkedIn takes documents as PDF, PowerPoint or Word files.")
                        )
                    )
                elif item.size > wire.DOCUMENT_MAX_BYTES:
                    problems.append(
                        Problem(
                            f"media[{index}]",
                            _("%(file)s is larger than LinkedIn's 100 MB for documents.")
                            % {"file": item.filename},
                        )
                    )
            elif item.kind != "photo":
                problems.append(
                    Problem(f"media[{index}]", _("%(network)s posts from Rupor take one image or one document, not a %(kind)s.")
                            % {"network": self.display_name, "kind": kind_name(item.kind)})
                )  # fmt: skip
        if content.media and content.link:
            problems.append(
                Problem(
                    "link",
                    _("A LinkedIn post carries either an image or document, or a link card, not both."),
                )
            )
        if content.poll is not None:
            problems.append(Problem("poll", _("Rupor cannot publish polls on LinkedIn.")))
        if content.pin:
            problems.append(
                Problem("pin", _("Rupor cannot pin posts on %(network)s.") % {"network": self.display_name})
            )
        return problems

    def rate_limits(self, channel: ChannelAccess, content: Content | None = None) -> Sequence[RateLimit]:
        """One bucket per access token at :data:`ASSUMED_REQUESTS_PER_SECOND`; ``cost`` counts one
        publish's API calls (initializeUpload and a status check per asset, the post, a first comment)."""
        token = channel.credentials.get("access_token", "")
        cost = 1
        if content is not None:
            cost += 2 * len(content.media) + (1 if content.first_comment else 0)
        key = f"linkedin:token:{hashlib.sha256(token.encode()).hexdigest()[:16]}"
        return (RateLimit(key=key, limit=ASSUMED_REQUESTS_PER_SECOND, per_s=1.0, cost=cost),)

    def publish(self, channel: ChannelAccess, request: PublishRequest, progress: Progress) -> Published:
        content = request.content
        problems = self.validate(content)
        if problems:
            raise errors.Rejected(problems[0].message, needs_person=True)
        author = wire.organization_urn(channel.remote_id)
        urn = progress.get("post_urn")
        if not urn:
            media: dict[str, Any] | None = None
            article: dict[str, Any] | None = None
            if content.media:
                item = content.media[0]
                asset = self._upload(channel, author, item, progress)
                media = {"id": asset}
                if item.kind == "document":
                    media["title"] = _document_title(item)
                else:
                    media["altText"] = content.alt_text(0)[:4086]
            elif content.link:
                article = {
                    "source": content.link,
                    "title": str(content.options.get("link_title") or content.link)[:400],
                }
            body = wire.post_body(author, wire.escape_commentary(content.text), media=media, article=article)
            response = self._send(channel, "POST", "/rest/posts", "posts.create", body=body)
            urn = response.headers.get("x-restli-id", "")
            if not urn:
                raise errors.UnknownOutcome(
                    "LinkedIn answered without the new post's id (x-restli-id).",
                    excerpt=_excerpt(response.text),
                )
            progress.save("post_urn", urn)
        if content.first_comment and not progress.get("first_comment_id"):
            comment = self.reply_comment(
                channel, urn, content.first_comment, idempotency_key=request.idempotency_key
            )
            progress.save("first_comment_id", comment.remote_id)
        return Published(
            remote_id=urn, url=wire.post_url(urn), published_at=clock.now(), excerpt=f"post {urn}"
        )

    def _upload(self, channel: ChannelAccess, author: str, item: Media, progress: Progress) -> str:
        """initializeUpload, PUT the bytes, wait until the asset is AVAILABLE; the URN is kept in
        ``progress`` once uploaded, so a retry does not upload it again (an unused asset is harmless)."""
        kind = "document" if item.kind == "document" else "image"
        saved = progress.get(f"{kind}_urn")
        if not saved:
            started = self._json(channel, "POST", f"/rest/{kind}s", f"{kind}s.initializeUpload",
                                 params={"action": "initializeUpload"},
                                 body={"initializeUploadRequest": {"owner": author}})["value"]  # fmt: skip
            with item.open() as handle:
                data = handle.read()
            response = transport.send(
                "LinkedIn", "PUT", str(started["uploadUrl"]), creates=False, what=f"{kind} upload",
                timeout=self._timeout(channel), headers={"Content-Type": "application/octet-stream"}, content=data,
            )  # fmt: skip
            if response.status_code >= 500 or response.status_code == 429:
                raise errors.Transient(
                    f"LinkedIn's upload server answered {response.status_code}; Rupor will try again.",
                    code=response.status_code,
                )
            if response.status_code >= 400:
                raise errors.Rejected(
                    _("LinkedIn did not accept %(file)s.") % {"file": item.filename},
                    code=response.status_code, excerpt=_excerpt(response.text), needs_person=True,
                )  # fmt: skip
            saved = str(started[kind])
            progress.save(f"{kind}_urn", saved)
        deadline = time.monotonic() + ASSET_WAIT_S
        while True:
            status = self._json(channel, "GET", f"/rest/{kind}s/{wire.path_urn(saved)}", f"{kind}s.get").get(
                "status"
            )
            if status == "AVAILABLE":
                return str(saved)
            if status in ("PROCESSING_FAILED", "FAILED"):
                progress.save(f"{kind}_urn", None)
                raise errors.Rejected(
                    _("LinkedIn could not process %(file)s.") % {"file": item.filename}, needs_person=True
                )
            if time.monotonic() > deadline:
                raise errors.MediaProcessing(
                    _("LinkedIn is still processing %(file)s; Rupor will try again.")
                    % {"file": item.filename}
                )
            time.sleep(0.1)

    def find_published(self, channel: ChannelAccess, request: PublishRequest) -> Published | None:
        """The page's post with this commentary among those of the last :attr:`reconcile_window`;
        ``None`` only when the listing reaches older posts without a match, :class:`UnknownOutcome`
        when it is too long to read through (never "not there", which would post twice)."""
        text = wire.escape_commentary(request.content.text.strip())
        if not text:
            return None
        author = wire.organization_urn(channel.remote_id)
        since = (request.publish_at or clock.now()) - self.reconcile_window
        for page in range(self.reconcile_pages):
            found = self._json(channel, "GET", "/rest/posts", "posts.finder",
                               params={"q": "author", "author": author, "count": 100, "start": page * 100, "sortBy": "LAST_MODIFIED"})  # fmt: skip
            elements = found.get("elements") or []
            for post in elements:
                created = dt.datetime.fromtimestamp(int(post.get("createdAt", 0)) / 1000, dt.UTC)
                if created < since:
                    return None
                if str(post.get("commentary", "")).strip() == text:
                    urn = str(post["id"])
                    return Published(
                        remote_id=urn,
                        url=wire.post_url(urn),
                        published_at=created,
                        excerpt=f"found {urn} by its text",
                    )
            if len(elements) < 100:
                return None
        raise errors.UnknownOutcome(
            "The page has too many recent posts for Rupor to check whether the post went out.",
            excerpt=f"searched {self.reconcile_pages * 100} posts",
        )

    def delete(self, channel: ChannelAccess, remote_id: str) -> None:
        try:
            self._send(channel, "DELETE", f"/rest/posts/{wire.path_urn(remote_id)}", "posts.delete")
        except errors.Rejected as exc:
            if exc.code != 404:
                raise

    # -- conversation ---------------------------------------------------------------------------
    def read_comments(
        self, channel: ChannelAccess, post_remote_id: str, *, since: dt.datetime | None = None
    ) -> Sequence[Comment]:
        out: list[Comment] = []
        for page in range(50):
            try:
                found = self._json(channel, "GET", f"/rest/socialActions/{wire.path_urn(post_remote_id)}/comments",
                                   "comments.get", params={"start": page * 100, "count": 100})  # fmt: skip
            except errors.Rejected as exc:
                if exc.code == 404:  # the post was deleted on LinkedIn: no comments are left
                    return []
                raise
            elements = found.get("elements") or []
            for raw in elements:
                comment = _comment(raw, post_remote_id)
                if since is None or comment.created_at > since:
                    out.append(comment)
            if len(elements) < 100:
                break
        return out

    def reply_comment(
        self,
        channel: ChannelAccess,
        post_remote_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        idempotency_key: str,  # noqa: ARG002 - the port passes it; LinkedIn has no idempotency key
    ) -> Comment:
        """A comment as the page; plain text, never escaped (comments are not little text format)."""
        body: dict[str, Any] = {
            "actor": wire.organization_urn(channel.remote_id),
            "object": post_remote_id,
            "message": {"text": text},
        }
        if reply_to:
            activity = post_remote_id.rsplit(":", 1)[-1]
            body["parentComment"] = f"urn:li:comment:(urn:li:activity:{activity},{reply_to})"
        raw = self._json(
            channel,
            "POST",
            f"/rest/socialActions/{wire.path_urn(post_remote_id)}/comments",
            "comments.create",
            body=body,
        )
        comment_id = str(raw.get("id") or "") if isinstance(raw, dict) else ""
        if not comment_id:
            raise errors.UnknownOutcome(
                "LinkedIn did not return the new comment's id.", excerpt=_excerpt(json.dumps(raw))
            )
        return Comment(
            remote_id=comment_id,
            post_remote_id=post_remote_id,
            author=Person(remote_id=wire.organization_urn(channel.remote_id)),
            text=text,
            created_at=clock.now(),
            parent_remote_id=reply_to,
        )

    def delete_comment(self, channel: ChannelAccess, post_remote_id: str, comment_remote_id: str) -> None:
        try:
            self._send(channel, "DELETE",
                       f"/rest/socialActions/{wire.path_urn(post_remote_id)}/comments/{wire.path_urn(comment_remote_id)}",
                       "comments.delete", params={"actor": wire.organization_urn(channel.remote_id)})  # fmt: skip
        except errors.Rejected as exc:
            if exc.code != 404:
                raise

    # -- measurement ------------------------------------------------------------------------------
    def post_metrics(self, channel: ChannelAccess, remote_ids: Sequence[str]) -> Sequence[PostMetrics]:
        out: list[PostMetrics] = []
        org = wire.organization_urn(channel.remote_id)
        ids = list(dict.fromkeys(remote_ids))
        for start in range(0, len(ids), STATS_PER_CALL):
            chunk = ids[start : start + STATS_PER_CALL]
            params: dict[str, Any] = {"q": "organizationalEntity", "organizationalEntity": org}
            shares = [u for u in chunk if not u.startswith("urn:li:ugcPost:")]
            ugc = [u for u in chunk if u.startswith("urn:li:ugcPost:")]
            if shares:
                params["shares"] = f"List({','.join(shares)})"
            if ugc:
                params["ugcPosts"] = f"List({','.join(ugc)})"
            found = self._json(
                channel,
                "GET",
                "/rest/organizationalEntityShareStatistics",
                "organizationalEntityShareStatistics.get",
                params=params,
            )
            for element in found.get("elements") or ():
                urn = str(element.get("share") or element.get("ugcPost") or "")
                stats = element.get("totalShareStatistics") or {}
                if not urn:
                    continue
                out.append(
                    PostMetrics(
                        remote_id=urn,
                        read_at=clock.now(),
                        likes=_int(stats.get("likeCount")),
                        reposts=_int(stats.get("shareCount")),
                        comments=_int(stats.get("commentCount")),
                        views=_int(stats.get("impressionCount")),
                        reach=_int(stats.get("uniqueImpressionsCount")),
                        extra={
                            k: v for k, v in (("clicks", _int(stats.get("clickCount"))),) if v is not None
                        },
                    )
                )
        return out

    def channel_metrics(self, channel: ChannelAccess) -> ChannelMetrics:
        org = wire.organization_urn(channel.remote_id)
        size = self._json(channel, "GET", f"/rest/networkSizes/{wire.path_urn(org)}", "networkSizes.get",
                          params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"})  # fmt: skip
        return ChannelMetrics(read_at=clock.now(), members=_int(size.get("firstDegreeSize")))


# -- helpers ------------------------------------------------------------------------------------
def error_for(response: httpx.Response, *, create: bool) -> errors.NetworkError:
    """Map an error answer to the taxonomy by LinkedIn's ``serviceErrorCode``/``code`` and the
    HTTP status (never the message text)."""
    excerpt = _excerpt(response.text)
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    if payload is None or response.status_code >= 500:
        failed = transport.status_error(
            response, network="LinkedIn", creates=create, excerpt=excerpt, retry_after=3600.0
        )
        if failed is not None:
            return failed
    code = wire.error_code(payload, response.status_code)
    detail = (
        str(payload.get("message") or payload.get("error_description") or "")[:200]
        if isinstance(payload, dict)
        else ""
    )
    error = errors.from_code(
        wire.ERRORS, code, default=wire.OTHER_ERROR, creates=create, excerpt=excerpt, detail=detail
    )
    if isinstance(error, errors.RateLimited) and response.headers.get("retry-after", "").isdigit():
        error.retry_after = float(response.headers["retry-after"])
    return error


def _comment(raw: Mapping[str, Any], post_remote_id: str) -> Comment:
    created = raw.get("created") or {}
    at = (
        dt.datetime.fromtimestamp(int(created.get("time", 0)) / 1000, dt.UTC)
        if created.get("time")
        else clock.now()
    )
    actor = str(raw.get("actor", ""))
    parent = str(raw.get("parentComment", ""))
    return Comment(
        remote_id=str(raw["id"]),
        post_remote_id=post_remote_id,
        # The Comments API names the author by URN only; reading a member's profile needs that
        # member's own consent, so Rupor shows "LinkedIn member" rather than the URN.
        author=Person(
            remote_id=actor,
            name=_("LinkedIn page") if actor.startswith("urn:li:organization:") else _("LinkedIn member"),
            url=_person_url(actor),
        ),
        text=str((raw.get("message") or {}).get("text", "")),
        created_at=at,
        parent_remote_id=parent.rstrip(")").rsplit(",", 1)[-1] if parent else None,
    )


def _person_url(actor: str) -> str | None:
    if actor.startswith("urn:li:organization:"):
        return wire.page_url(actor)
    return None


def _document_title(item: Media) -> str:
    return re.sub(r"\.[A-Za-z0-9]{1,5}$", "", item.filename) or item.filename


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _excerpt(text: str) -> str:
    return re.sub(r"(access_token|refresh_token|client_secret)=[^&\s\"]+", r"\1=***", text)[:300]
