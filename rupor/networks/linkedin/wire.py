"""LinkedIn's wire format: versioned REST headers, little text format, URNs, error codes.

Everything here follows LinkedIn's Marketing API documentation on Microsoft Learn:

* every ``/rest/`` call carries ``Authorization: Bearer <token>``, ``LinkedIn-Version: YYYYMM``
  and ``X-Restli-Protocol-Version: 2.0.0``; a call without the version header is refused with
  400 ``VERSION_MISSING``, one naming a version that is not active with 426
  ``NONEXISTENT_VERSION`` (https://learn.microsoft.com/en-us/linkedin/marketing/versioning);
* ``POST /rest/posts`` answers 201 with an empty body and the new post's URN in the
  ``x-restli-id`` header
  (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api);
* a post's ``commentary`` is "little text format": the reserved characters
  ``| { } @ [ ] ( ) < > # \\ * _ ~`` must be escaped with a backslash, or LinkedIn cuts the text
  at the first unescaped one (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format);
  comments (``/rest/socialActions/{urn}/comments``) are plain text and must not be escaped;
* errors are JSON ``{"status": 401, "serviceErrorCode": 65602, "code": "EXPIRED_ACCESS_TOKEN",
  "message": "..."}``; the adapter maps them by ``code`` (and HTTP status), never by message.

Raw payloads never leave ``rupor/networks/linkedin/``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from rupor.networks.errors import AuthExpired, CodeRule, RateLimited, Rejected, Transient, UnknownOutcome

DEFAULT_API_ROOT = "https://api.linkedin.com"
#: The OAuth token endpoint lives on www.linkedin.com, not on the API host.
DEFAULT_OAUTH_ROOT = "https://www.linkedin.com"
TOKEN_PATH = "/oauth/v2/accessToken"
#: The Marketing API version Rupor speaks (``LinkedIn-Version``); versions live about a year.
API_VERSION = "202511"
RESTLI_PROTOCOL = "2.0.0"
#: ``commentary`` is at most 3,000 characters (the API's own validation message names the number).
COMMENTARY_MAX = 3000
#: Comments take up to 1,250 characters.
COMMENT_MAX = 1250
#: Access tokens live 60 days, programmatic refresh tokens 365 days from the first authorization
#: (refreshing does not extend them): learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
ACCESS_TOKEN_TTL_S = 60 * 24 * 3600
REFRESH_TOKEN_TTL_S = 365 * 24 * 3600
#: Images the Images API takes; documents the Documents API takes (up to 100 MB, 300 pages).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
DOCUMENT_TYPES = (
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/msword",
)
IMAGE_MAX_BYTES = 36_152_320  # 36 MP decoded limit is the documented one; bytes are capped like this
DOCUMENT_MAX_BYTES = 100 * 1024 * 1024

#: Little text format's reserved characters (backslash first: it escapes the others).
RESERVED = "\\|{}@[]()<>#*_~"


def escape_commentary(text: str) -> str:
    """``text`` with every reserved little-text character backslash-escaped (for ``commentary``)."""
    return "".join(f"\\{ch}" if ch in RESERVED else ch for ch in text)


def unescape_commentary(text: str) -> str:
    """The plain text of an escaped commentary (the reverse of :func:`escape_commentary`)."""
    out: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            out.append(next(chars, ""))
        else:
            out.append(ch)
    return "".join(out)


def headers(access_token: str) -> dict[str, str]:
    """The headers of every versioned REST call."""
    return {
        "Authorization": f"Bearer {access_token}",
        "LinkedIn-Version": API_VERSION,
        "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
    }


def organization_urn(remote_id: str) -> str:
    """``urn:li:organization:N`` for a page id given as ``N`` or already as the URN."""
    remote_id = remote_id.strip()
    return remote_id if remote_id.startswith("urn:li:organization:") else f"urn:li:organization:{remote_id}"


def organization_id(remote_id: str) -> str:
    return organization_urn(remote_id).rsplit(":", 1)[-1]


def path_urn(urn: str) -> str:
    """A URN as a path or query segment: URL-encoded, colons included (Rest.li 2.0)."""
    return quote(urn, safe="")


def post_url(urn: str) -> str:
    """The public address of a post (``urn:li:share:N`` or ``urn:li:ugcPost:N``)."""
    return f"https://www.linkedin.com/feed/update/{urn}/"


def page_url(remote_id: str) -> str:
    return f"https://www.linkedin.com/company/{organization_id(remote_id)}/"


def post_body(
    author: str,
    commentary: str,
    *,
    media: dict[str, Any] | None = None,
    article: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``POST /rest/posts`` body of an organisation's public feed post (``commentary`` already
    escaped)."""
    body: dict[str, Any] = {
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if media is not None:
        body["content"] = {"media": media}
    elif article is not None:
        body["content"] = {"article": article}
    return body


def error_payload(status: int, code: str, message: str, service_code: int | None = None) -> dict[str, Any]:
    """LinkedIn's error envelope."""
    out: dict[str, Any] = {"status": status, "code": code, "message": message}
    if service_code is not None:
        out["serviceErrorCode"] = service_code
    return out


# -- error codes ------------------------------------------------------------------------------
#: ``serviceErrorCode`` of the token errors (LinkedIn's 401 answers).
INVALID_ACCESS_TOKEN = 65600
REVOKED_ACCESS_TOKEN = 65601
EXPIRED_ACCESS_TOKEN = 65602
#: The numeric keys of :data:`ERRORS`: LinkedIn's ``code`` strings, numbered for the shared table.
CODES: dict[str, int] = {
    "INVALID_ACCESS_TOKEN": INVALID_ACCESS_TOKEN,
    "REVOKED_ACCESS_TOKEN": REVOKED_ACCESS_TOKEN,
    "EXPIRED_ACCESS_TOKEN": EXPIRED_ACCESS_TOKEN,
    "ACCESS_DENIED": 100,
    "UNPROCESSABLE_ENTITY": 422,
    "INVALID_PARAMS": 400,
    "VERSION_MISSING": 4001,
    "NONEXISTENT_VERSION": 426,
    "NOT_FOUND": 404,
    "TOO_MANY_REQUESTS": 429,
    "INTERNAL_SERVER_ERROR": 500,
    "invalid_grant": 4002,
}

_PERSON = {"needs_person": True}
ERRORS: dict[int, CodeRule] = {
    INVALID_ACCESS_TOKEN: CodeRule(
        AuthExpired, "LinkedIn did not accept the access token; reconnect LinkedIn.", **_PERSON
    ),
    REVOKED_ACCESS_TOKEN: CodeRule(
        AuthExpired,
        "The LinkedIn token was revoked (the member withdrew access); reconnect LinkedIn.",
        **_PERSON,
    ),
    EXPIRED_ACCESS_TOKEN: CodeRule(AuthExpired, "The token has expired; reconnect LinkedIn.", **_PERSON),
    4002: CodeRule(
        AuthExpired,
        "LinkedIn no longer accepts the refresh token (it expired or was revoked); reconnect LinkedIn.",
        **_PERSON,
    ),
    100: CodeRule(
        Rejected,
        "The connected LinkedIn member cannot post for this page: they need a page role such as "
        "administrator or content admin, and the application the w_organization_social permission.",
        **_PERSON,
    ),
    422: CodeRule(Rejected, "LinkedIn did not accept the post: {detail}", **_PERSON),
    400: CodeRule(Rejected, "LinkedIn refused the request as malformed: {detail}", **_PERSON),
    4001: CodeRule(Rejected, "LinkedIn needs an API version with every call; Rupor sent none.", **_PERSON),
    426: CodeRule(
        Rejected,
        "LinkedIn no longer supports the API version Rupor speaks ({detail}); update Rupor.",
        **_PERSON,
    ),
    401: CodeRule(AuthExpired, "LinkedIn did not accept the access token; reconnect LinkedIn.", **_PERSON),
    403: CodeRule(
        Rejected, "LinkedIn does not allow the connected member to do this for the page.", **_PERSON
    ),
    404: CodeRule(Rejected, "LinkedIn cannot find that post or comment; it may have been deleted."),
    # LinkedIn answers 429 for its daily caps and, now and then, to protect itself; it sends no
    # Retry-After, so no wait is invented here: the engine's backoff grows with each refusal.
    429: CodeRule(
        RateLimited,
        "LinkedIn is limiting calls for this application or member (a daily cap, or a short throttle); "
        "Rupor will try again later.",
    ),
    500: CodeRule(UnknownOutcome, "LinkedIn answered with a server error."),
    503: CodeRule(Transient, "LinkedIn is temporarily unavailable; Rupor will try again."),
}
OTHER_ERROR = CodeRule(Rejected, "LinkedIn refused the request (HTTP {code}): {detail}", **_PERSON)


def error_code(payload: Any, status: int) -> int:
    """The numeric key of an error answer: ``serviceErrorCode`` for token errors, else the
    ``code`` string's number, else the HTTP status."""
    if isinstance(payload, dict):
        service = payload.get("serviceErrorCode")
        if isinstance(service, int) and service in ERRORS:
            return service
        code = payload.get("code") or payload.get("error")
        if isinstance(code, str) and code in CODES:
            return CODES[code]
    return status
