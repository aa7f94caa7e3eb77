"""What a post will look like on its network, and whether it fits: the context of
``web/_preview.html``.

Two entry points, both returning the dict the template takes as ``p``::

    {% include "web/_preview.html" with p=preview %}

* :func:`variant_preview` for a saved :class:`~rupor.planning.models.PostVariant`;
* :func:`content_preview` for content being typed (the composer's live check).

The template is self-contained; a page that includes it loads ``static/web/composer.css``.

Nothing a person typed reaches the page unescaped. Telegram HTML (``options["format"] ==
"html"``) is parsed with the Telegram adapter's own parser (the Bot API's rules) and rebuilt
from the resulting entities with a fixed set of tags, so only what Telegram would render is
rendered, and markup Telegram refuses is shown as the problem it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from rupor.channels.models import Channel
from rupor.core.urls import url_problem
from rupor.networks import registry
from rupor.networks.base import Content
from rupor.networks.thread import supports_thread
from rupor.networks.youtube import adapter as youtube
from rupor.planning import content as planned
from rupor.planning import polls as planned_polls
from rupor.planning.models import Media, PostVariant

#: VK folds a long wall post after about this many characters or lines behind "Show more…".
VK_FOLD_CHARS = 300
VK_FOLD_LINES = 6
#: LinkedIn shows about the first three lines (some 210 characters) of a post, then "…see more".
LINKEDIN_FOLD_CHARS = 210
LINKEDIN_FOLD_LINES = 3
#: Facebook shows about the first 480 characters (or five lines) of a Page post, then "See more".
FACEBOOK_FOLD_CHARS = 480
FACEBOOK_FOLD_LINES = 5

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)
_TAG = re.compile(r"(?<![\w#])#[\w]+", re.UNICODE)
_TOKEN = re.compile(f"{_URL.pattern}|{_TAG.pattern}", re.IGNORECASE | re.UNICODE)


# -- content and checks ----------------------------------------------------------------------

# What the content is and whether it fits is planning's (the compose action checks the same).
build_content = planned.build_content
problems_for = planned.content_problems


# -- text rendering ------------------------------------------------------------------------


def _linkify(text: str, *, links: bool = True) -> str:
    """Escape ``text``; web addresses become links and hashtags are marked, as networks show them."""
    if not links:
        return str(escape(text))
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(str(escape(text[pos : match.start()])))
        token = match.group(0)
        if token.startswith("#"):
            out.append(str(format_html('<span class="pv-tag">{}</span>', token)))
        else:
            out.append(
                str(
                    format_html(
                        '<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>', token, token
                    )
                )
            )
        pos = match.end()
    out.append(str(escape(text[pos:])))
    return "".join(out)


def _bluesky_text(text: str) -> SafeString:
    """Escape ``text`` and mark its links, mentions and hashtags where the Bluesky adapter will
    put facets (the same detection), as the Bluesky app shows them."""
    from rupor.networks.bluesky import wire

    out: list[str] = []
    pos = 0
    for span in wire.detect(text):
        out.append(str(escape(text[pos : span.start])))
        shown = text[span.start : span.end]
        if span.kind == "link":
            out.append(
                str(
                    format_html(
                        '<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>',
                        span.value,
                        shown,
                    )
                )
            )
        else:
            out.append(str(format_html('<span class="pv-tag">{}</span>', shown)))
        pos = span.end
    out.append(str(escape(text[pos:])))
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


_ENTITY_TAGS = {
    "bold": ("<strong>", "</strong>"),
    "italic": ("<em>", "</em>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="tg-spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre><code>", "</code></pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ('<blockquote class="expandable">', "</blockquote>"),
}


def _open_close(entity: Mapping[str, Any]) -> tuple[str, str]:
    kind = entity.get("type")
    if kind == "text_link":
        url = str(entity.get("url", ""))
        if urlsplit(url).scheme in ("http", "https"):
            return str(
                format_html('<a href="{}" target="_blank" rel="noopener noreferrer nofollow">', url)
            ), "</a>"
        return '<span class="pv-link">', "</span>"
    return _ENTITY_TAGS.get(str(kind), ("", ""))


def render_entities(plain: str, entities: Sequence[Mapping[str, Any]]) -> SafeString:
    """HTML of ``plain`` text with Telegram ``MessageEntity`` dicts (UTF-16 offsets) applied.

    Only the fixed tags of :data:`_ENTITY_TAGS` (and safe links) are produced; every character
    of the text is escaped.
    """
    index_of: dict[int, int] = {}
    unit = 0
    for i, char in enumerate(plain):
        index_of[unit] = i
        unit += 2 if ord(char) > 0xFFFF else 1
    index_of[unit] = len(plain)
    spans: list[tuple[int, int, Mapping[str, Any]]] = []
    for entity in entities:
        start = index_of.get(int(entity.get("offset", 0)))
        end = index_of.get(int(entity.get("offset", 0)) + int(entity.get("length", 0)))
        if start is not None and end is not None and end > start:
            spans.append((start, end, entity))
    spans.sort(key=lambda s: (s[0], -s[1]))

    def render(lo: int, hi: int, items: list[tuple[int, int, Mapping[str, Any]]], links: bool) -> str:
        out: list[str] = []
        pos = lo
        i = 0
        while i < len(items):
            start, end, entity = items[i]
            if start < pos:  # overlaps what was rendered already (malformed nesting): ignore it
                i += 1
                continue
            out.append(_linkify(plain[pos:start], links=links))
            inner: list[tuple[int, int, Mapping[str, Any]]] = []
            j = i + 1
            while j < len(items) and items[j][0] < end:
                inner.append((items[j][0], min(items[j][1], end), items[j][2]))
                j += 1
            kind = entity.get("type")
            opening, closing = _open_close(entity)
            nested_links = links and kind not in ("text_link", "code", "pre")
            out.append(opening + render(start, end, inner, nested_links) + closing)
            pos = end
            i = j
        out.append(_linkify(plain[pos:hi], links=links))
        return "".join(out)

    return mark_safe(render(0, len(plain), spans, True))  # noqa: S308 - built from escaped text and fixed tags


def _telegram_text(text: str, options: Mapping[str, Any]) -> tuple[str, SafeString]:
    """(plain text as Telegram counts it, HTML to show). Markup Telegram would refuse is shown as
    typed; the refusal itself is one of the variant's problems (``problems_for``)."""
    if options.get("format") == "html":
        from rupor.networks.telegram.formatting import EntityParseError, parse_html

        try:
            plain, entities = parse_html(text)
        except EntityParseError:
            return text, mark_safe(_linkify(text))  # noqa: S308 - escaped by _linkify
        return plain, render_entities(plain, entities)
    return text, mark_safe(_linkify(text))  # noqa: S308 - escaped by _linkify


def _fold(text: str, chars: int = VK_FOLD_CHARS, max_lines: int = VK_FOLD_LINES) -> tuple[str, str]:
    """A network's fold (VK's by default): (shown, hidden behind "Show more…")."""
    lines = text.split("\n")
    cut = len(text)
    if len(lines) > max_lines:
        cut = len("\n".join(lines[:max_lines]))
    if cut > chars:
        cut = chars
        space = text.rfind(" ", 0, cut)
        if space > chars // 2:
            cut = space
    if cut >= len(text.rstrip()):
        return text, ""
    return text[:cut].rstrip(), text[cut:].lstrip(" ")


# -- the preview -----------------------------------------------------------------------------


def _media_view(media: Media) -> dict[str, Any]:
    thumb = (
        media.thumbnail.url
        if media.thumbnail
        else (media.file.url if media.kind == "photo" and media.file else "")
    )
    return {
        "id": media.pk,
        "kind": media.kind,
        "name": media.original_name,
        "thumb": thumb,
        "url": media.file.url if media.file else "",
        "width": media.width,
        "height": media.height,
    }


def _layout(count: int) -> str:
    return f"n{count}" if count <= 4 else "many"


def _initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").replace("_", " ").split() if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def content_preview(
    channel: Channel,
    *,
    text: str,
    media: Sequence[Media] = (),
    link: str = "",
    poll: Mapping[str, Any] | None = None,
    first_comment: str = "",
    when: dt.datetime | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The context of ``web/_preview.html`` for content typed for ``channel``.

    ``media`` are library items in their order; ``poll`` is ``{"question", "options",
    "multiple", "anonymous"}`` or ``None``; ``when`` is an aware time (shown in the active
    zone) or ``None`` for "not scheduled"; ``options`` are the variant's options
    (``{"format": "html"}`` makes Telegram text HTML). Also returns the live counter's values
    (``length``, ``limit``, ``unit``, ``over``), ``problems`` (what the network refuses, in
    plain language) and ``advice`` (its conventions' soft warnings).
    """
    options = dict(options or {})
    link = (link or "").strip()
    network = channel.network
    supported = network in registry.available()
    content = build_content(
        text=text, media=media, link=link, poll=poll, first_comment=first_comment, options=options
    )
    problems = problems_for(channel, content)
    if content.poll is not None and not planned_polls.native(network):
        # A network without polls gets the poll written under the text: preview and count that.
        content = planned_polls.as_published(network, content)
        text = content.text
    measured = text
    more: SafeString = mark_safe("")
    if network == "telegram":
        measured, body = _telegram_text(text, options)
    elif network == "bluesky":
        body = _bluesky_text(text)
    elif network in ("vk", "linkedin", "facebook"):
        folds = {
            "linkedin": (LINKEDIN_FOLD_CHARS, LINKEDIN_FOLD_LINES),
            "facebook": (FACEBOOK_FOLD_CHARS, FACEBOOK_FOLD_LINES),
        }
        shown, hidden = _fold(text, *folds.get(network, (VK_FOLD_CHARS, VK_FOLD_LINES)))
        body = mark_safe(_linkify(shown))  # noqa: S308 - escaped by _linkify
        more = mark_safe(_linkify(hidden))  # noqa: S308 - escaped by _linkify
    else:
        body = mark_safe(_linkify(text))  # noqa: S308 - escaped by _linkify
    length = len(measured)
    limit: int | None = None
    can_split = False
    thread_counts: list[dict[str, Any]] = []
    unit = "chars"
    if supported:
        adapter = registry.adapter(network)
        limits = planned.channel_limits(channel)
        length = adapter.text_length(measured)
        limit = limits.caption_max if media and limits.caption_max is not None else limits.text_max
        unit = limits.text_unit.value
        if network == "mastodon":  # characters, with every link counted as 23 (the adapter's text_length)
            unit = "chars_links23"
        if supports_thread(adapter):
            can_split = limits.text_max is not None and length > limits.text_max and not media
            for n, part in enumerate(_thread_parts(options), start=2):
                size = adapter.text_length(part)
                over = limits.text_max is not None and size > limits.text_max
                thread_counts.append({"n": n, "length": size, "limit": limits.text_max, "over": over})
    advice = planned.content_advice(channel, text=measured, media=media, link=link)
    parsed_poll = content.poll
    items = [_media_view(m) for m in media]
    link_view = None
    if link and not url_problem(link):
        parts = urlsplit(link)
        link_view = {
            "url": link,
            "domain": parts.netloc.lower().removeprefix("www."),
            "path": parts.path.strip("/"),
        }
    # Telegram appends the link to the text when the text does not contain it (the adapter's _body).
    link_appended = network == "telegram" and bool(link) and link not in text
    return {
        "network": network,
        "network_name": registry.DISPLAY_NAMES.get(network, network),
        "channel_id": channel.pk,
        "channel_name": channel.name,
        "initials": _initials(channel.name),
        "when": when,
        "body": body,
        "more": more,
        "has_text": bool(text.strip()),
        "media": items,
        "layout": _layout(len(items)),
        "poll": {
            "question": parsed_poll.question,
            "options": list(parsed_poll.options),
            "multiple": parsed_poll.multiple,
            "anonymous": parsed_poll.anonymous,
        }
        if parsed_poll
        else None,
        "link": link_view,
        "link_appended": link_appended,
        "first_comment": first_comment.strip(),
        "empty": not text.strip() and not items and parsed_poll is None and not link,
        "supported": supported,
        "length": length,
        "limit": limit,
        "unit": unit,
        "over": limit is not None and length > limit,
        "can_split": can_split,
        "thread_counts": thread_counts,
        "problems": [p.message for p in problems],
        # soft warnings from the network's conventions (planning/conventions.py): never a refusal
        "advice": [a.message for a in advice],
        "html": options.get("format") == "html",
        "handle": str((channel.settings or {}).get("username") or _handle(channel.name)),
        "alts": _alts(options, len(items)),
        "thread": [mark_safe(_linkify(str(t))) for t in options.get("thread") or () if str(t).strip()]  # noqa: S308 - escaped by _linkify
        if isinstance(options.get("thread"), list)
        else [],
        # Instagram: the feed shows the first picture in its own shape within 4:5..1.91:1 (Rupor
        # crops it into that range), the caption folded after its first lines, links as plain text.
        "ig_ratio": _ig_ratio(items),
        "ig_caption": text.strip(),
        "ig_folds": len(text.strip()) > INSTAGRAM_FOLD_CHARS or text.strip().count("\n") >= 2,
        # Mastodon: the content warning the text hides behind, who may see it, and the instance.
        "spoiler": str(options.get("spoiler_text") or "").strip(),
        "visibility": str(options.get("visibility") or ""),
        "instance": urlsplit(channel.base_url or "https://mastodon.social").netloc
        if network == "mastodon"
        else "",
        "yt": _youtube_view(content, items) if network == "youtube" else None,
    }


def _youtube_view(content: Content, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A YouTube watch page's parts: the player (the thumbnail picture where one is attached),
    the title, privacy or the time YouTube makes it public, the description and its tags."""
    title, description = youtube.title_and_description(content)
    video = next((m for m in items if m["kind"] == "video"), None)
    picture = next((m for m in items if m["kind"] == "photo"), None)
    return {
        "title": title,
        "description": mark_safe(_linkify(description)),  # noqa: S308 - escaped by _linkify
        "has_description": bool(description),
        "privacy": str(content.options.get("privacy") or "public"),
        "publish_at": youtube.publish_at_of(content),
        "thumb": picture["thumb"] if picture else (video["thumb"] if video else ""),
        "video_name": video["name"] if video else "",
        "tags": youtube.tags_of(content),
    }


#: Instagram folds a caption behind "more" after about this many characters (or two lines).
INSTAGRAM_FOLD_CHARS = 125


def _ig_ratio(items: list[dict[str, Any]]) -> str:
    """The first picture's shape as Instagram's feed shows it: its own, held within 4:5..1.91:1."""
    first = items[0] if items else {}
    width, height = first.get("width"), first.get("height")
    if not width or not height:
        return "1 / 1"
    ratio = min(max(width / height, 0.8), 1.91)
    return f"{ratio:.3f} / 1"


def _handle(name: str) -> str:
    """An @handle-looking form of a channel's name, where the account's own is not stored."""
    return re.sub(r"[^A-Za-z0-9_]", "", name.replace(" ", "_"))[:15] or "account"


def _alts(options: Mapping[str, Any], count: int) -> list[str]:
    raw = options.get("alt")
    alts = [str(a) for a in raw] if isinstance(raw, list) else []
    return (alts + [""] * count)[:count]


def variant_preview(variant: PostVariant) -> dict[str, Any]:
    """The context of ``web/_preview.html`` for a saved variant (its post's time included).

    Prefetch ``variantmedia_set__media`` and select ``channel``/``post`` to avoid extra queries.
    """
    media = [vm.media for vm in variant.variantmedia_set.all()]
    return content_preview(
        variant.channel,
        text=variant.text,
        media=media,
        link=variant.link,
        poll=variant.poll,
        first_comment=variant.first_comment,
        when=variant.post.scheduled_at,
        options=variant.options or {},
    )


def _thread_parts(options: Mapping[str, Any]) -> list[str]:
    raw = options.get("thread")
    return [str(t) for t in raw if str(t).strip()] if isinstance(raw, list) else []
