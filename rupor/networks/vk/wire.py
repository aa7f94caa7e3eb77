"""VK API wire format: envelopes, error codes and the raw payloads the adapter reads.

Everything here is VK-specific and stays inside ``rupor.networks.vk``. Facts come from the
vendored schema (``schema_5199.json``, trimmed from VKCOM/vk-api-schema 5.199, MIT) and
``docs/networks.md`` section 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from rupor.networks import errors, transport
from rupor.networks.base import AudienceCount, ChannelDayStats, Person, PollTally
from rupor.networks.errors import AuthExpired, CodeRule, RateLimited, Rejected, UnknownOutcome, Unreachable

API_VERSION = "5.199"
DEFAULT_BASE_URL = "https://api.vk.com"

#: Calls that create something visible and carry VK's own dedupe key (guid / random_id): an
#: ambiguous failure there is an unknown outcome, which the engine may retry with the same key.
KEYED_CREATES = frozenset({"wall.post", "wall.createComment", "messages.send"})
#: Calls that change something but are harmless to repeat (edits, deletes, bans, orphan
#: uploads and polls that are never attached): an ambiguous failure is safe to retry.
SAFE_WRITES = frozenset(
    {
        "wall.edit",
        "wall.delete",
        "wall.deleteComment",
        "wall.restoreComment",
        "groups.ban",
        "photos.saveWallPhoto",
        "photos.getWallUploadServer",
        "polls.create",
        "video.save",
    }
)


class Code(IntEnum):
    """VK's error codes (the schema's ``errors``), by the schema's names."""

    UNKNOWN = 1
    APP_DISABLED = 2
    UNKNOWN_METHOD = 3
    AUTH = 5
    TOO_MANY = 6
    PERMISSION = 7
    INVALID_REQUEST = 8
    FLOOD = 9
    SERVER = 10
    CAPTCHA = 14
    ACCESS = 15
    VALIDATION_REQUIRED = 17
    USER_DELETED = 18
    BLOCKED = 19
    UPLOAD = 22
    METHOD_DISABLED = 23
    GROUP_AUTH = 27
    APP_AUTH = 28
    RATE_LIMIT = 29
    PARAM = 100
    INVALID_USER_ID = 113
    PARAM_GROUP_ID = 125
    PARAM_PHOTO = 129
    ACCESS_GROUP = 203
    ACCESS_VIDEO = 204
    WALL_ACCESS_POST = 210
    WALL_ACCESS_COMMENT = 211
    WALL_ACCESS_REPLIES = 212
    WALL_ADD_REPLY = 213
    WALL_ADD_POST = 214
    WALL_ADS_PUBLISHED = 219
    WALL_COMMENT_NOT_DELETED = 243
    WALL_LINKS_FORBIDDEN = 222
    WALL_REPLY_FLOOD = 223
    WALL_ADS_POST_LIMIT = 224
    GROUP_NEED_2FA = 703
    MESSAGES_BLACKLIST = 900
    MESSAGES_DENY = 901
    MESSAGES_PRIVACY = 902
    MESSAGES_TOO_LONG = 914


@cache
def schema() -> dict[str, Any]:
    """The vendored, trimmed VK API schema: ``methods`` (token types, parameters) and ``errors``."""
    data: dict[str, Any] = json.loads((Path(__file__).with_name("schema_5199.json")).read_text("utf-8"))
    return data


def error_description(code: int) -> str:
    entry = schema()["errors"].get(str(code))
    return str(entry["description"]) if entry else "Unknown error occurred"


@dataclass(frozen=True)
class ApiError:
    """VK's error envelope: ``{"error": {"error_code", "error_msg", "request_params", ...}}``."""

    code: int
    msg: str
    subcode: int | None = None
    captcha_img: str | None = None
    redirect_uri: str | None = None

    @classmethod
    def parse(cls, error: dict[str, Any]) -> ApiError:
        return cls(
            code=int(error.get("error_code", 0)),
            msg=str(error.get("error_msg", "")),
            subcode=int(error["error_subcode"]) if isinstance(error.get("error_subcode"), int) else None,
            captcha_img=error.get("captcha_img"),
            redirect_uri=error.get("redirect_uri"),
        )


def unwrap(payload: Any) -> tuple[Any, ApiError | None]:
    """Split a decoded VK body into (response, error)."""
    if not isinstance(payload, dict):
        return None, ApiError(code=0, msg="the answer is not a VK envelope")
    if "error" in payload and isinstance(payload["error"], dict):
        return None, ApiError.parse(payload["error"])
    if "response" in payload:
        return payload["response"], None
    return None, ApiError(code=0, msg="the answer has neither response nor error")


_PERSON = {"needs_person": True}

#: What each VK error code means (never its text). ``UnknownOutcome`` rows are ambiguous: an
#: unknown outcome on a create, transient on anything else.
ERRORS: dict[int, CodeRule] = {
    Code.AUTH: CodeRule(
        AuthExpired, "The VK {token} is invalid or has expired; reconnect the community in Rupor.", **_PERSON
    ),
    Code.TOO_MANY: CodeRule(RateLimited, "Too many requests to VK per second.", retry_after=1.0),
    Code.FLOOD: CodeRule(
        RateLimited,
        "VK flood control: too many similar actions; Rupor will wait before trying again.",
        retry_after=600.0,
    ),
    Code.RATE_LIMIT: CodeRule(
        RateLimited, "VK's quota for this action is used up for now.", retry_after=3600.0
    ),
    Code.WALL_ADS_PUBLISHED: CodeRule(
        RateLimited, "VK limits advertising posts; Rupor will try again later.", retry_after=3600.0
    ),
    Code.WALL_ADS_POST_LIMIT: CodeRule(
        RateLimited, "VK limits advertising posts; Rupor will try again later.", retry_after=3600.0
    ),
    Code.WALL_REPLY_FLOOD: CodeRule(
        RateLimited, "Too many replies in a row; VK asks to wait.", retry_after=600.0
    ),
    Code.CAPTCHA: CodeRule(
        Rejected,
        "VK asks for a captcha: a person must sign in on vk.com with the administrator's "
        "account, solve it, and then retry.",
        **_PERSON,
    ),
    Code.VALIDATION_REQUIRED: CodeRule(
        Rejected, "VK asks the administrator to confirm their account on vk.com before continuing.", **_PERSON
    ),
    Code.GROUP_NEED_2FA: CodeRule(
        Rejected, "VK asks the administrator to confirm their account on vk.com before continuing.", **_PERSON
    ),
    Code.UNKNOWN: CodeRule(UnknownOutcome, "VK had an internal error ({code}) during {method}."),
    Code.SERVER: CodeRule(UnknownOutcome, "VK had an internal error ({code}) during {method}."),
    Code.PARAM: CodeRule(Rejected, "VK rejected a parameter of {method}: {detail}"),
    Code.PERMISSION: CodeRule(
        Rejected, "VK refused: the token lacks a permission this action needs.", **_PERSON
    ),
    Code.ACCESS: CodeRule(
        Rejected, "VK denied access: the token's user or community may not do this.", **_PERSON
    ),
    Code.GROUP_AUTH: CodeRule(
        Rejected,
        "VK refused the community token for this action; it needs the administrator's user token.",
        **_PERSON,
    ),
    Code.ACCESS_GROUP: CodeRule(Rejected, "VK denied access to the community.", **_PERSON),
    Code.WALL_ACCESS_POST: CodeRule(
        Rejected, "The post is not available: it was deleted or the token may not see it.", **_PERSON
    ),
    Code.WALL_ACCESS_COMMENT: CodeRule(
        Rejected, "The comment is not available or may not be changed with this token.", **_PERSON
    ),
    Code.WALL_ACCESS_REPLIES: CodeRule(
        Rejected, "Comments on this post are not available to the token.", **_PERSON
    ),
    Code.WALL_COMMENT_NOT_DELETED: CodeRule(Rejected, "The comment is not deleted on VK.", **_PERSON),
    Code.WALL_ADD_REPLY: CodeRule(
        Rejected, "Comments on this post are closed or the author is not allowed to comment.", **_PERSON
    ),
    Code.WALL_ADD_POST: CodeRule(
        Rejected,
        "VK does not allow this user to post on the community wall: check that the user is an editor or "
        "administrator and the wall is not closed.",
        **_PERSON,
    ),
    Code.WALL_LINKS_FORBIDDEN: CodeRule(Rejected, "VK does not allow links in this post.", **_PERSON),
    Code.APP_DISABLED: CodeRule(
        Rejected, "The VK application is disabled; check it on dev.vk.com.", **_PERSON
    ),
    Code.UNKNOWN_METHOD: CodeRule(
        Rejected, "VK does not know this method (Rupor needs an update).", **_PERSON
    ),
    Code.USER_DELETED: CodeRule(Rejected, "The VK user was deleted or banned.", **_PERSON),
    Code.BLOCKED: CodeRule(Rejected, "VK has blocked this content.", **_PERSON),
    Code.INVALID_USER_ID: CodeRule(Rejected, "VK does not know this user.", **_PERSON),
    Code.PARAM_GROUP_ID: CodeRule(Rejected, "VK does not know this community.", **_PERSON),
    Code.PARAM_PHOTO: CodeRule(Rejected, "VK rejected the photo.", **_PERSON),
    Code.ACCESS_VIDEO: CodeRule(
        Rejected,
        "VK does not let this user add videos to the community: check that the user is an editor or "
        "administrator.",
        **_PERSON,
    ),
    Code.MESSAGES_BLACKLIST: CodeRule(
        Unreachable, "This person has blocked messages from the community.", **_PERSON
    ),
    Code.MESSAGES_DENY: CodeRule(
        Unreachable, "This person has not allowed the community to send them messages.", **_PERSON
    ),
    Code.MESSAGES_PRIVACY: CodeRule(
        Unreachable, "This person's privacy settings do not allow messages from the community.", **_PERSON
    ),
    Code.MESSAGES_TOO_LONG: CodeRule(
        Rejected, "The message is too long for VK (9000 characters at most).", **_PERSON
    ),
    Code.APP_AUTH: CodeRule(Rejected, "VK refused the application's authorization.", **_PERSON),
    Code.METHOD_DISABLED: CodeRule(Rejected, "VK has disabled this method.", **_PERSON),
    Code.UPLOAD: CodeRule(Rejected, "VK could not take the uploaded file.", **_PERSON),
}
#: Any other code: refused, nothing happened.
OTHER_ERROR = CodeRule(Rejected, "VK refused {method} (error {code}).")


def excerpt_of(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=False) if not isinstance(payload, str) else payload
    return text[:300]


def parse(method: str, answer: httpx.Response, *, creates: bool, token: str) -> Any:
    """The ``response`` of a method call, or the taxonomy error its answer means.

    ``token`` names the token used ("administrator's user token", "community token") for the
    sentence a person reads when VK refuses it.
    """
    failed = transport.status_error(
        answer, network="VK", creates=creates, excerpt=answer.text[:200], retry_after=1.0
    )
    if failed is not None:
        raise failed
    payload = transport.json_body(answer, network="VK", creates=creates, excerpt=answer.text[:200])
    response, error = unwrap(payload)
    if error is None:
        return response
    raise errors.from_code(
        ERRORS,
        error.code,
        default=OTHER_ERROR,
        creates=creates,
        excerpt=excerpt_of(payload),
        method=method,
        detail=error.msg,
        token=token,
    )


def error_envelope(code: int, msg: str, params: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Build VK's error envelope (used by the emulator)."""
    request_params = [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
    return {"error": {"error_code": code, "error_msg": msg, "request_params": request_params, **extra}}


def timestamp(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return dt.datetime.fromtimestamp(0, dt.UTC)


def count_of(item: dict[str, Any], key: str) -> int | None:
    """``likes``, ``reposts``, ``views`` and ``comments`` are ``{"count": N}`` objects on posts."""
    value = item.get(key)
    if isinstance(value, dict) and isinstance(value.get("count"), int):
        return int(value["count"])
    return None


#: A wall post's attachment types and the format they make a post, strongest first.
_FORMATS = (("video", "video"), ("clip", "video"), ("photo", "photo"), ("poll", "poll"), ("link", "link"))


def post_format(item: dict[str, Any]) -> str:
    """What a wall post mostly is ("video", "photo", "poll", "link" or "text"), from the types of
    its ``attachments``."""
    kinds = {a.get("type") for a in item.get("attachments") or () if isinstance(a, dict)}
    return next((fmt for kind, fmt in _FORMATS if kind in kinds), "text")


def post_remote_id(owner_id: int, post_id: int) -> str:
    """Our remote id of a wall post: VK's own ``{owner_id}_{post_id}`` form."""
    return f"{owner_id}_{post_id}"


def split_post_id(remote_id: str) -> tuple[int, int]:
    owner, _, post = remote_id.rpartition("_")
    return int(owner), int(post)


def post_url(owner_id: int, post_id: int) -> str:
    return f"https://vk.com/wall{owner_id}_{post_id}"


def comment_remote_id(owner_id: int, comment_id: int) -> str:
    return f"{owner_id}_{comment_id}"


def split_comment_id(remote_id: str) -> int:
    return int(remote_id.rpartition("_")[2])


def names_of(profiles: list[dict[str, Any]] | None, groups: list[dict[str, Any]] | None) -> dict[int, str]:
    """Author names from an ``extended=1`` answer: users by positive id, communities by negative."""
    names: dict[int, str] = {}
    for p in profiles or ():
        if isinstance(p, dict) and "id" in p:
            names[int(p["id"])] = f"{p.get('first_name', '')} {p.get('last_name', '')}".strip()
    for g in groups or ():
        if isinstance(g, dict) and "id" in g:
            names[-int(g["id"])] = str(g.get("name", ""))
    return names


#: Video containers VK's upload server takes (vk.com/faq: AVI, MP4, 3GP, MPEG, MOV, FLV, F4V, WMV,
#: MKV, WEBM, VOB, RM, RMVB, M4V, MPG, OGV, TS, M2TS, MTS), as the MIME types Rupor sees.
VIDEO_TYPES = (
    "video/mp4",
    "video/quicktime",
    "video/x-msvideo",
    "video/avi",
    "video/3gpp",
    "video/mpeg",
    "video/x-flv",
    "video/x-ms-wmv",
    "video/x-matroska",
    "video/webm",
    "video/ogg",
    "video/mp2t",
    "video/x-m4v",
)


def video_attachment(owner_id: int, video_id: int) -> str:
    """The ``attachments`` item of an uploaded video: ``video{owner_id}_{video_id}``."""
    return f"video{owner_id}_{video_id}"


#: ``users.get`` takes at most 1000 ids a call (schema: user_ids maxItems); ``groups.getById``
#: documents no maximum, and 500 keeps the request well under VK's URL and body limits.
USERS_PER_CALL = 1000
GROUPS_PER_CALL = 500


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def user_person(raw: Mapping[str, Any]) -> Person:
    """A ``users.get`` profile: a deleted or banned one (``deactivated``) carries no photo or
    followers, so none are read from it."""
    uid = int(raw["id"])
    alive = not raw.get("deactivated")
    photo = raw.get("photo_100") or raw.get("photo_50")
    return Person(
        str(uid),
        f"{raw.get('first_name', '')} {raw.get('last_name', '')}".strip(),
        owner_url(uid),
        avatar_url=str(photo) if alive and isinstance(photo, str) else None,
        followers=_count(raw.get("followers_count")) if alive else None,
    )


def group_person(raw: Mapping[str, Any]) -> Person:
    """A ``groups.getById`` community: its members are its reach."""
    gid = int(raw["id"])
    photo = raw.get("photo_100") or raw.get("photo_50")
    return Person(
        str(-gid),
        str(raw.get("name", "")),
        owner_url(-gid),
        avatar_url=str(photo) if isinstance(photo, str) else None,
        followers=_count(raw.get("members_count")),
    )


#: VK numbers group chats from here: a ``peer_id`` at or above it is a chat, not a person.
CHAT_PEER_BASE = 2000000000
#: newsfeed.search's largest ``count`` (schema: maximum 200).
SEARCH_PAGE_MAX = 200


def chat_message_id(peer_id: int, conversation_message_id: int) -> str:
    """Our remote id of a message in a chat: a community's bot sees only its number in the chat."""
    return f"{peer_id}:{conversation_message_id}"


def split_chat_message_id(remote_id: str) -> tuple[int, int]:
    peer, _, cmid = remote_id.partition(":")
    return int(peer), int(cmid)


def names_community(text: str, group_id: int) -> bool:
    """Whether a text mentions the community: VK writes a mention as ``[club<id>|...]`` (or
    ``[public<id>|...]``, ``@club<id>``), whatever name the person typed."""
    return bool(re.search(rf"\[(?:club|public|event){group_id}\|", text)) or bool(
        re.search(rf"@(?:club|public){group_id}\b", text)
    )


def random_id(key: str) -> int:
    """The ``messages.send`` ``random_id`` for an idempotency key: a decimal key within VK's
    positive int32 is used as it is (a sequence never collides), any other key is hashed to
    31 bits (fine for a few messages, not for a newsletter's thousands)."""
    if key.isdigit() and 0 < int(key) < 2**31:
        return int(key)
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF or 1


def owner_url(owner_id: int) -> str:
    return f"https://vk.com/id{owner_id}" if owner_id > 0 else f"https://vk.com/club{-owner_id}"


def _audience_rows(basis: str, section: Mapping[str, Any]) -> list[AudienceCount]:
    """The sex / age / sex_age / cities / countries lists of one ``stats.get`` section."""
    out: list[AudienceCount] = []
    for name, dimension in (("sex", "sex"), ("age", "age"), ("sex_age", "sex_age")):
        for row in section.get(name) or []:
            if isinstance(row, dict) and isinstance(row.get("count"), int) and row.get("value") is not None:
                out.append(AudienceCount(basis, dimension, str(row["value"])[:100], int(row["count"])))
    for row in section.get("cities") or []:
        if isinstance(row, dict) and isinstance(row.get("count"), int):
            key = str(row.get("value", row.get("name", "")))[:100]
            out.append(AudienceCount(basis, "city", key, int(row["count"]), str(row.get("name", ""))[:100]))
    for row in section.get("countries") or []:
        if isinstance(row, dict) and isinstance(row.get("count"), int):
            key = str(row.get("code") or row.get("value", ""))[:100]
            out.append(
                AudienceCount(basis, "country", key, int(row["count"]), str(row.get("name", ""))[:100])
            )
    return out


def stats_day(period: Mapping[str, Any]) -> ChannelDayStats | None:
    """One day of ``stats.get`` (``interval=day``): joins and leaves (``activity.subscribed`` /
    ``unsubscribed``), reach, views, and the audience breakdowns of the visitors and the reach
    sections; devices from ``mobile_reach`` of ``reach`` (mobile vs the rest)."""
    start = period.get("period_from")
    if not isinstance(start, int):
        return None
    activity = period.get("activity") or {}
    reach = period.get("reach") or {}
    visitors = period.get("visitors") or {}

    def _int(section: Mapping[str, Any], key: str) -> int | None:
        value = section.get(key)
        return int(value) if isinstance(value, int) else None

    audience = _audience_rows("visitors", visitors) + _audience_rows("reach", reach)
    total, mobile = _int(reach, "reach"), _int(reach, "mobile_reach")
    if total and mobile is not None:  # no reach that day: no devices to tell
        audience.append(AudienceCount("reach", "device", "mobile", mobile))
        audience.append(AudienceCount("reach", "device", "other", max(0, total - mobile)))
    return ChannelDayStats(
        day=dt.datetime.fromtimestamp(start, dt.UTC).date(),
        # VK leaves a zero out of ``activity``: the day was reported, so a missing count is 0.
        joins=_int(activity, "subscribed") or 0,
        leaves=_int(activity, "unsubscribed") or 0,
        reach=total,
        views=_int(visitors, "views"),
        audience=tuple(audience),
    )


#: groups.isMember takes at most 500 ``user_ids``; groups.getMembers and likes.getList give at
#: most 1000 ids a call (the schema's ``count`` maximum).
IS_MEMBER_BATCH = 500
LIST_PAGE = 1000


def id_list(page: Any) -> list[str]:
    """The ids of a ``{"count", "items"}`` answer (plain ids, or objects with an ``id``)."""
    items = page.get("items", []) if isinstance(page, dict) else []
    out: list[str] = []
    for item in items:
        value = item.get("id") if isinstance(item, dict) else item
        if isinstance(value, int):
            out.append(str(value))
    return out


def memberships(answer: Any) -> dict[str, bool]:
    """``groups.isMember`` with ``user_ids``: ``[{"member": 0|1, "user_id"}]`` → id → member."""
    out: dict[str, bool] = {}
    for row in answer if isinstance(answer, list) else []:
        if isinstance(row, dict) and isinstance(row.get("user_id"), int):
            out[str(row["user_id"])] = bool(row.get("member"))
    return out


def poll_tally(poll: Mapping[str, Any]) -> PollTally:
    """A VK Poll object (``polls.getById``): each answer's ``votes``; ``votes`` is the number of
    votes, which VK counts per person, so it is also the voters; ``closed``; ``end_date`` (0: no end)."""
    answers = [a for a in poll.get("answers") or () if isinstance(a, Mapping)]
    end = poll.get("end_date")
    return PollTally(
        remote_poll_id=f"{poll.get('owner_id')}_{poll.get('id')}",
        options=tuple(str(a.get("text", "")) for a in answers),
        votes=tuple(int(a.get("votes") or 0) for a in answers),
        voters=int(poll["votes"]) if isinstance(poll.get("votes"), int) else None,
        closed=bool(poll.get("closed")),
        closes_at=dt.datetime.fromtimestamp(end, dt.UTC) if isinstance(end, int) and end > 0 else None,
    )
