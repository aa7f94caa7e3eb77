"""The one shape of a refusal by a domain action, which every entry point renders its own way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rupor.networks import errors as network_errors

#: HTTP status for a network failure reported to a person: wait and retry (429), the network is
#: unreachable or silent (502), or it refused (422).
_NETWORK_STATUS: dict[type[network_errors.NetworkError], int] = {
    network_errors.RateLimited: 429,
    network_errors.Transient: 502,
    network_errors.UnknownOutcome: 502,
}


class DomainError(Exception):
    """A request a domain refuses: a sentence for a person, the offending ``field``, an HTTP-like
    ``status`` (400 bad input, 403 role, 404 not here, 409 state, 422 does not fit), and optional
    per-field ``errors`` (objects with ``field`` and ``message``)."""

    def __init__(
        self, message: str, field: str | None = None, status: int = 400, errors: Sequence[Any] = ()
    ) -> None:
        message = str(message)  # a lazily translated text becomes the plain str the API serialises
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
        self.errors = list(errors)

    @classmethod
    def from_network(cls, exc: network_errors.NetworkError) -> DomainError:
        return cls(exc.message, status=_NETWORK_STATUS.get(type(exc), 422))
