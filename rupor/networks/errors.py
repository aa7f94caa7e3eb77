"""The one error taxonomy every adapter maps its failures to (ARCHITECTURE.md, "Rules of the road").

The engine decides what to do from the *class* of the error alone, never from message text:

===================  ===========================================  ======================
class                meaning                                      engine reaction
===================  ===========================================  ======================
RateLimited          the network refused because of a limit;      retry after
                     nothing happened                             ``retry_after``
Transient            failed before the request had any effect     retry with backoff
                     (connect error, 5xx that says "not done")
AuthExpired          token expired/revoked; nothing happened      hold, ask to reconnect
Rejected             the request is wrong or not allowed;         fail, tell a person
                     nothing happened; retrying will not help
Unreachable          (a Rejected) this person does not accept      stop writing to them
                     messages from the channel: never allowed,
                     denied or blocked it; nothing was sent
Duplicate            the network says this exact thing exists     treat as published if
                                                                  ``remote_id`` is known
MediaProcessing      media still processing / failed processing   wait (two-step) or fail
UnknownOutcome       the request may or may not have had effect   reconcile or
                     (timeout after sending, reset, 5xx mid-way)  unconfirmed; never resend
NotSupported         the network (or this channel) cannot do it   fail, tell a person
===================  ===========================================  ======================

``message`` is always a sentence a person understands ("The bot is not an administrator of
the channel"); ``code`` is the network's own error code; ``excerpt`` is a short, redacted
piece of the response for the attempt log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _


class NetworkError(Exception):
    """Base of every adapter error."""

    kind = "error"
    #: True when the request certainly had no effect on the network.
    nothing_happened = True

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        excerpt: str = "",
        retry_after: float | None = None,
        needs_person: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.excerpt = excerpt[:500]
        self.retry_after = retry_after
        self.needs_person = needs_person


class RateLimited(NetworkError):
    kind = "rate_limited"


class Transient(NetworkError):
    kind = "transient"


class AuthExpired(NetworkError):
    kind = "auth_expired"


class Rejected(NetworkError):
    kind = "rejected"


class Unreachable(Rejected):
    """A direct message refused because the person does not (or no longer) accept the channel's
    messages: VK 900/901/902, Telegram's 403 in a private chat. Nothing was sent."""

    kind = "unreachable"


class Duplicate(NetworkError):
    kind = "duplicate"

    def __init__(self, message: str, *, remote_id: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]  # kwargs are NetworkError's keyword fields, passed through
        self.remote_id = remote_id


class MediaProcessing(NetworkError):
    kind = "media_processing"


class UnknownOutcome(NetworkError):
    kind = "unknown_outcome"
    nothing_happened = False


class NotSupported(NetworkError):
    kind = "not_supported"


def ambiguous(
    creates: bool,
    message: str,
    *,
    code: str | int | None = None,
    excerpt: str = "",
    needs_person: bool = False,
) -> NetworkError:
    """An answer that does not say whether the call had effect: on a call that creates something
    an :class:`UnknownOutcome` (reconciled, never sent again blindly), on any other call (a read,
    an edit, a delete: safe to repeat) a :class:`Transient`."""
    if creates:
        message += " It may or may not have been done."
        return UnknownOutcome(message, code=code, excerpt=excerpt, needs_person=needs_person)
    return Transient(message, code=code, excerpt=excerpt, needs_person=needs_person)


@dataclass(frozen=True)
class CodeRule:
    """What one of a network's error codes means: a row of the network's table in its ``wire.py``.

    ``kind`` is the class to raise; :class:`UnknownOutcome` there means *ambiguous* (see
    :func:`ambiguous`): an unknown outcome on a create, transient on anything else. ``message``
    may name ``{method}``, ``{code}``, ``{detail}`` (the network's own text) and any field the
    adapter passes to :func:`from_code`.
    """

    kind: type[NetworkError]
    message: str
    retry_after: float | None = None
    needs_person: bool = False


def from_code(
    rules: Mapping[int, CodeRule],
    code: int,
    *,
    default: CodeRule,
    creates: bool,
    excerpt: str = "",
    **fields: object,
) -> NetworkError:
    """The taxonomy error of a network error ``code`` by the network's table (never its text)."""
    rule = rules.get(code, default)
    message = rule.message.format(code=code, **fields)
    if rule.kind is UnknownOutcome:
        return ambiguous(creates, message, code=int(code), excerpt=excerpt, needs_person=rule.needs_person)
    return rule.kind(
        message,
        code=int(code),
        excerpt=excerpt,
        retry_after=rule.retry_after,
        needs_person=rule.needs_person,
    )


class MalformedAnswer(Transient):
    """The network answered, but not in the shape its API documents (an API change, a wrong base
    URL, a proxy's page): decided from the exception class the parsing raised, never its text.
    Raised around *reads* (verify, polling, metrics), where nothing happened; an answer like that
    to a create is an unknown outcome, which the engine decides."""


#: What adapter code raises when an answer has the wrong shape (a missing key, a string where an
#: object was expected, a number out of range, JSON nested too deep).
SHAPE_ERRORS: tuple[type[Exception], ...] = (
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)

#: A taxonomy error or an answer of the wrong shape: what a read from a network may raise.
READ_ERRORS: tuple[type[Exception], ...] = (NetworkError, *SHAPE_ERRORS)


def as_network_error(exc: Exception, network: str) -> NetworkError:
    """``exc`` itself when it is already in the taxonomy, else a :class:`MalformedAnswer`."""
    if isinstance(exc, NetworkError):
        return exc
    return MalformedAnswer(
        _(
            "%(network)s answered in a form Rupor does not understand (%(kind)s); check the channel's API base URL."
        )
        % {"network": network, "kind": type(exc).__name__},
        needs_person=True,
    )


ERROR_KINDS = {
    cls.kind: cls
    for cls in (
        RateLimited,
        Transient,
        AuthExpired,
        Rejected,
        Duplicate,
        MediaProcessing,
        UnknownOutcome,
        NotSupported,
    )
}


#: HTTP status for a network failure reported to a person: wait and retry (429), the network is
#: unreachable or silent (502), or it refused (422).
_HTTP_STATUS: dict[type[NetworkError], int] = {
    RateLimited: 429,
    Transient: 502,
    UnknownOutcome: 502,
}


def http_status(exc: NetworkError) -> int:
    """The status a person's request gets when ``exc`` ends it (a domain raises its own
    ``DomainError`` with it; the exact class counts, so a malformed answer is a 422)."""
    return _HTTP_STATUS.get(type(exc), 422)
