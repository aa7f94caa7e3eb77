"""The one shape of a refusal by a domain action, which every entry point renders its own way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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
