"""What a variant's content is, and whether it fits its network: the one check the composer's
live preview, the compose action and the plan import share (network limits, polls, media, link);
and the soft advice of the network's conventions (``planning/conventions.py``), which never refuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from django.utils.translation import gettext as _

from rupor.core.urls import url_problem
from rupor.networks import registry
from rupor.networks.base import Content, Limits, Poll, Problem
from rupor.planning import conventions, polls
from rupor.planning.models import Media
from rupor.planning.service import media_reference, poll_from


class OnNetwork(Protocol):
    """A channel as the content check needs it (a row or a ``channels.ChannelRef``)."""

    @property
    def network(self) -> str: ...


def poll_of(poll: Mapping[str, Any] | None) -> Poll | None:
    return poll_from(poll)


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
        media=tuple(media_reference(m) for m in media),
        poll=poll_of(poll),
        link=(link or "").strip() or None,
        first_comment=first_comment or None,
        options=dict(options or {}),
    )


def channel_limits(channel: OnNetwork) -> Limits:
    """The limits of this channel: its network's, with what its own server stated (a Mastodon
    instance's characters, attachments and poll options, cached when the channel was verified)."""
    adapter = registry.adapter(channel.network)
    settings = getattr(channel, "settings", None)
    return adapter.limits_for(settings if isinstance(settings, Mapping) else None)


def content_problems(channel: OnNetwork, content: Content) -> list[Problem]:
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
    adapter = registry.adapter(network)
    limits = channel_limits(channel)
    problems = []
    if content.poll is not None:
        problems.extend(polls.poll_problems(network, content.poll, limits))
    content = polls.as_published(network, content)
    problems.extend(p for p in adapter.validate(content, limits) if p not in problems)
    why = url_problem(content.link) if content.link else None
    if why:
        problems.append(Problem("link", why))
    return problems


def content_advice(
    channel: OnNetwork, *, text: str, media: Sequence[Media] = (), link: str = ""
) -> list[conventions.Advice]:
    """The network's conventions applied to what was typed (soft warnings, never a refusal);
    lengths in the network's own unit where its adapter is registered."""
    network = channel.network
    if network not in registry.available():
        return conventions.advice(network, text=text, media=media, link=link)
    adapter = registry.adapter(network)
    out = conventions.advice(network, text=text, media=media, link=link, length=adapter.text_length)
    # What the network will do to the files on the way (Instagram: converted to JPEG, cropped).
    notes = adapter.advice(Content(text=text, media=tuple(media_reference(m) for m in media)))
    return out + [conventions.Advice("media_changed", note.message) for note in notes]
