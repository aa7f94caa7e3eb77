"""What a variant's content is, and whether it fits its network: the one check the composer's
live preview, the compose action and the plan import share (network limits, polls, media, link)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from rupor.channels.service import Channel
from rupor.core.urls import url_problem
from rupor.networks import registry
from rupor.networks.base import Content, Poll, Problem
from rupor.networks.base import Media as MediaItem
from rupor.planning.models import Media

#: Bytes of a video file read to let adapters recognise its container.
HEAD_BYTES = 64


class StoredBytes(bytes):
    """The first bytes of a stored file whose ``len()`` is the whole file's size.

    Adapters check media by type, size (``len(data)``) and, for videos, the container's first
    bytes; reading a whole video on every keystroke of the composer would be wasteful.
    """

    size: int

    def __new__(cls, head: bytes, size: int) -> StoredBytes:
        obj = super().__new__(cls, head)
        obj.size = size
        return obj

    def __len__(self) -> int:
        return self.size


def media_item(media: Media) -> MediaItem:
    """A library item as adapters check it (its size and, for a video, its first bytes)."""
    head = b""
    if media.kind == "video":
        try:
            with media.file.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
        except (FileNotFoundError, ValueError, OSError):
            head = b""
    return MediaItem(
        media.kind,
        media.original_name,
        media.content_type,
        StoredBytes(head, media.size),
        media.width,
        media.height,
    )


def poll_of(poll: Mapping[str, Any] | None) -> Poll | None:
    if not poll:
        return None
    return Poll(
        question=str(poll.get("question", "")).strip(),
        options=tuple(str(o).strip() for o in poll.get("options", []) or []),
        multiple=bool(poll.get("multiple", False)),
        anonymous=bool(poll.get("anonymous", True)),
    )


def build_content(
    *,
    text: str,
    media: Sequence[Media] = (),
    link: str = "",
    poll: Mapping[str, Any] | None = None,
    first_comment: str = "",
    options: Mapping[str, Any] | None = None,
) -> Content:
    """The network-neutral :class:`Content` of what was typed, as the publishing engine will build it."""
    return Content(
        text=text,
        media=tuple(media_item(m) for m in media),
        poll=poll_of(poll),
        link=(link or "").strip() or None,
        first_comment=first_comment or None,
        options=dict(options or {}),
    )


def content_problems(channel: Channel, content: Content) -> list[Problem]:
    """Everything that keeps ``content`` from fitting ``channel``'s network (empty when it fits):
    the network's own limits and the one link check (``core/urls.py``)."""
    network = channel.network
    if network not in registry.available():
        return [
            Problem(
                "channel",
                _("Rupor cannot publish to %(network)s yet.")
                % {"network": registry.DISPLAY_NAMES.get(network, network)},
            )
        ]
    problems = registry.adapter(network).validate(content)
    why = url_problem(content.link) if content.link else None
    if why:
        problems.append(Problem("link", why))
    return problems
