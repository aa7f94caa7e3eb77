"""Text length in each network's own unit, and limit checks shared by all adapters."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import regex

from rupor.networks.base import Content, Limits, Problem, TextUnit

if TYPE_CHECKING:
    from rupor.networks.base import Adapter

_GRAPHEME = regex.compile(r"\X")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def grapheme_length(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def weighted_length(text: str) -> int:
    """X's weighted length: URLs count 23; code points in the light ranges count 1, others 2."""
    total = 0
    pos = 0
    for match in _URL.finditer(text):
        total += _weigh(text[pos : match.start()]) + 23
        pos = match.end()
    return total + _weigh(text[pos:])


def _weigh(chunk: str) -> int:
    # twitter-text v3 config: weight 100 (=1) for these ranges, 200 (=2) elsewhere.
    light = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
    total = 0
    for grapheme in _GRAPHEME.findall(chunk):
        if any(ord(ch) >= 0x1F000 for ch in grapheme):  # emoji sequence counts as 2
            total += 2
            continue
        for ch in grapheme:
            cp = ord(ch)
            total += 1 if any(lo <= cp <= hi for lo, hi in light) else 2
    return total


def measure(text: str, unit: TextUnit) -> int:
    if unit is TextUnit.UTF16:
        return utf16_length(text)
    if unit is TextUnit.GRAPHEMES:
        return grapheme_length(text)
    if unit is TextUnit.BYTES:
        return len(text.encode("utf-8"))
    if unit is TextUnit.WEIGHTED:
        return weighted_length(text)
    return len(text)


def count_links(text: str) -> int:
    return len(_URL.findall(text))


def validate_against_limits(adapter: Adapter, content: Content) -> list[Problem]:
    """Generic checks from :class:`Limits`; adapters add their own rules on top."""
    limits: Limits = adapter.limits
    problems: list[Problem] = []
    name = adapter.display_name
    unit = limits.text_unit
    length = adapter.text_length(content.text)
    text_max = limits.caption_max if content.media and limits.caption_max is not None else limits.text_max
    if text_max is not None and length > text_max:
        what = "caption" if content.media and limits.caption_max is not None else "text"
        problems.append(Problem("text", f"{name} allows {text_max} {unit.value} in a {what}; this one has {length}."))
    if not content.text.strip() and not content.media and content.poll is None and not content.link:
        problems.append(Problem("text", "The post is empty: add text, media, a poll or a link."))
    media_count = len(content.media)
    if limits.media_max is not None and media_count > limits.media_max:
        problems.append(Problem("media", f"{name} allows at most {limits.media_max} media items; this post has {media_count}."))
    for index, item in enumerate(content.media):
        allowed = limits.photo_types if item.kind == "photo" else limits.video_types
        if item.kind in ("photo", "video") and item.content_type not in allowed:
            problems.append(Problem(f"media[{index}]", f"{name} does not accept {item.content_type} as a {item.kind}."))
        cap = limits.photo_max_bytes if item.kind == "photo" else limits.video_max_bytes
        if cap is not None and len(item.data) > cap:
            problems.append(Problem(f"media[{index}]", f"{item.filename} is {len(item.data)} bytes; {name} allows {cap}."))
    if content.poll is not None:
        poll = content.poll
        n = len(poll.options)
        if limits.poll_options_min is not None and n < limits.poll_options_min:
            problems.append(Problem("poll.options", f"{name} needs at least {limits.poll_options_min} poll options."))
        if limits.poll_options_max is not None and n > limits.poll_options_max:
            problems.append(Problem("poll.options", f"{name} allows at most {limits.poll_options_max} poll options."))
        if limits.poll_question_max is not None and len(poll.question) > limits.poll_question_max:
            problems.append(Problem("poll.question", f"{name} allows {limits.poll_question_max} characters in a poll question."))
        if not poll.question.strip():
            problems.append(Problem("poll.question", "The poll needs a question."))
        for index, option in enumerate(poll.options):
            if limits.poll_option_max is not None and len(option) > limits.poll_option_max:
                problems.append(Problem(f"poll.options[{index}]", f"{name} allows {limits.poll_option_max} characters in a poll option."))
            if not option.strip():
                problems.append(Problem(f"poll.options[{index}]", "Poll options cannot be empty."))
    if limits.links_max is not None:
        links = count_links(content.text) + (1 if content.link else 0)
        if links > limits.links_max:
            problems.append(Problem("link", f"{name} allows at most {limits.links_max} link(s) in a post."))
    return problems
