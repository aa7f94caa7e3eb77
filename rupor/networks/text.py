"""Text length in each network's own unit, and limit checks shared by all adapters."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import regex
from django.template.defaultfilters import filesizeformat
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, npgettext, pgettext

from rupor.networks.base import Capability, Content, Limits, Poll, Problem, TextUnit
from rupor.networks.thread import thread_problems

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


def kind_name(kind: str) -> str:
    """A media kind ("photo", "video", "document") in the active language; unknown kinds as given."""
    names = {
        "photo": pgettext("media kind", "photo"),
        "video": pgettext("media kind", "video"),
        "document": pgettext("media kind", "document"),
    }
    return names.get(kind, kind)


def number(value: int) -> str:
    """``value`` with the active language's thousands separators (4,096 / 4 096); English when no
    language is active (the worker)."""
    if translation.get_language() is None:
        with translation.override("en"):
            return formats.number_format(value, force_grouping=True)
    return formats.number_format(value, force_grouping=True)


def unit_name(unit: TextUnit, count: int) -> str:
    """The unit's name for ``count`` of it in plain words, in the active language."""
    if unit == TextUnit.BYTES:
        return npgettext("text length unit", "byte", "bytes", count)
    return npgettext("text length unit", "character", "characters", count)


def unit_caveat(unit: TextUnit) -> str:
    """How the network counts when it is not one per character, in plain words ("" when it is)."""
    if unit == TextUnit.UTF16:
        return _("emoji count as 2")
    if unit == TextUnit.GRAPHEMES:
        return _("an emoji or a letter with accents counts as 1")
    if unit == TextUnit.BYTES:
        return _("a Latin letter takes 1 byte, a Cyrillic letter 2, an emoji 4")
    if unit == TextUnit.WEIGHTED:
        return _("a link counts as 23; emoji and Chinese, Japanese or Korean characters as 2")
    return ""


def text_limit_message(network: str, unit: TextUnit, limit: int, length: int, *, caption: bool) -> str:
    """The text-length problem in the user's words: "Telegram allows 4,096 characters in a text
    (emoji count as 2); this one has 4,100." — network, grouped numbers, unit, and how it counts."""
    args = {
        "network": network,
        "max": number(limit),
        "unit": unit_name(unit, limit),
        "length": number(length),
        "caveat": unit_caveat(unit),
    }
    if caption and args["caveat"]:
        return (
            _("%(network)s allows %(max)s %(unit)s in a caption (%(caveat)s); this one has %(length)s.")
            % args
        )
    if caption:
        return _("%(network)s allows %(max)s %(unit)s in a caption; this one has %(length)s.") % args
    if args["caveat"]:
        return (
            _("%(network)s allows %(max)s %(unit)s in a text (%(caveat)s); this one has %(length)s.") % args
        )
    return _("%(network)s allows %(max)s %(unit)s in a text; this one has %(length)s.") % args


def validate_against_limits(  # noqa: C901 - one check per kind of limit a network declares
    adapter: Adapter, content: Content, limits: Limits | None = None
) -> list[Problem]:
    """Generic checks from :class:`Limits`; adapters add their own rules on top.

    Messages are in the active language (English when none is active, as in the worker).
    """
    limits = limits or adapter.limits
    problems: list[Problem] = []
    name = adapter.display_name
    unit = limits.text_unit
    length = adapter.text_length(content.text)
    caption = bool(content.media) and limits.caption_max is not None
    text_max = limits.caption_max if caption else limits.text_max
    if text_max is not None and length > text_max:
        problems.append(Problem("text", text_limit_message(name, unit, text_max, length, caption=caption)))
    if not content.text.strip() and not content.media and content.poll is None and not content.link:
        problems.append(Problem("text", _("The post is empty: add text, media, a poll or a link.")))
    problems.extend(thread_problems(adapter, content.options, limits))
    media_count = len(content.media)
    if limits.media_max is not None and media_count > limits.media_max:
        problems.append(
            Problem(
                "media",
                ngettext(
                    "%(network)s allows at most %(max)s media item; this post has %(count)s.",
                    "%(network)s allows at most %(max)s media items; this post has %(count)s.",
                    limits.media_max,
                )
                % {"network": name, "max": number(limits.media_max), "count": number(media_count)},
            )
        )
    for index, item in enumerate(content.media):
        allowed = limits.photo_types if item.kind == "photo" else limits.video_types
        if item.kind in ("photo", "video") and item.content_type not in allowed:
            args = {"network": name, "type": item.content_type}
            if item.kind == "photo":
                message = _("%(network)s does not accept %(type)s as a photo.") % args
            else:
                message = _("%(network)s does not accept %(type)s as a video.") % args
            problems.append(Problem(f"media[{index}]", message))
        cap = limits.photo_max_bytes if item.kind == "photo" else limits.video_max_bytes
        if cap is not None and item.size > cap:
            problems.append(
                Problem(
                    f"media[{index}]",
                    _("%(file)s is %(size)s; %(network)s allows at most %(max)s.")
                    % {
                        "file": item.filename,
                        "size": filesizeformat(item.size),
                        "network": name,
                        "max": filesizeformat(cap),
                    },
                )
            )
    if content.poll is not None:
        poll = content.poll
        n = len(poll.options)
        if limits.poll_options_min is not None and n < limits.poll_options_min:
            problems.append(
                Problem(
                    "poll.options",
                    ngettext(
                        "%(network)s needs at least %(min)s poll option.",
                        "%(network)s needs at least %(min)s poll options.",
                        limits.poll_options_min,
                    )
                    % {"network": name, "min": number(limits.poll_options_min)},
                )
            )
        if limits.poll_options_max is not None and n > limits.poll_options_max:
            problems.append(
                Problem(
                    "poll.options",
                    ngettext(
                        "%(network)s allows at most %(max)s poll option.",
                        "%(network)s allows at most %(max)s poll options.",
                        limits.poll_options_max,
                    )
                    % {"network": name, "max": number(limits.poll_options_max)},
                )
            )
        if limits.poll_question_max is not None and len(poll.question) > limits.poll_question_max:
            problems.append(
                Problem(
                    "poll.question",
                    ngettext(
                        "%(network)s allows %(max)s character in a poll question.",
                        "%(network)s allows %(max)s characters in a poll question.",
                        limits.poll_question_max,
                    )
                    % {"network": name, "max": number(limits.poll_question_max)},
                )
            )
        if not poll.question.strip():
            problems.append(Problem("poll.question", _("The poll needs a question.")))
        for index, option in enumerate(poll.options):
            if limits.poll_option_max is not None and len(option) > limits.poll_option_max:
                problems.append(
                    Problem(
                        f"poll.options[{index}]",
                        ngettext(
                            "%(network)s allows %(max)s character in a poll option.",
                            "%(network)s allows %(max)s characters in a poll option.",
                            limits.poll_option_max,
                        )
                        % {"network": name, "max": number(limits.poll_option_max)},
                    )
                )
            if not option.strip():
                problems.append(Problem(f"poll.options[{index}]", _("Poll options cannot be empty.")))
        problems.extend(poll_extra_problems(adapter, poll, limits))
    if limits.links_max is not None:
        links = count_links(content.text) + (1 if content.link else 0)
        if links > limits.links_max:
            problems.append(
                Problem(
                    "link",
                    ngettext(
                        "%(network)s allows at most %(max)s link in a post.",
                        "%(network)s allows at most %(max)s links in a post.",
                        limits.links_max,
                    )
                    % {"network": name, "max": number(limits.links_max)},
                )
            )
    return problems


def poll_extra_problems(adapter: Adapter, poll: Poll, limits: Limits) -> list[Problem]:
    """A quiz's and a closing time's rules: a quiz only where the network has quizzes
    (``Capability.PUBLISH_QUIZ``), one right answer among the options, a single-answer poll, an
    explanation within the network's length; the open time within its range."""

    problems: list[Problem] = []
    name = adapter.display_name
    if poll.correct_option is not None:
        if Capability.PUBLISH_QUIZ not in adapter.capabilities:
            problems.append(
                Problem(
                    "poll.correct_option",
                    _("%(network)s has no quizzes: leave the right answer unmarked.") % {"network": name},
                )
            )
        elif not 0 <= poll.correct_option < len(poll.options):
            problems.append(
                Problem("poll.correct_option", _("The right answer must be one of the poll's options."))
            )
        if poll.multiple:
            problems.append(
                Problem("poll.multiple", _("A quiz has one right answer: it cannot allow several answers."))
            )
    if poll.explanation:
        if poll.correct_option is None:
            problems.append(Problem("poll.explanation", _("Only a quiz has an explanation of its answer.")))
        elif limits.quiz_explanation_max is not None and len(poll.explanation) > limits.quiz_explanation_max:
            problems.append(
                Problem(
                    "poll.explanation",
                    ngettext(
                        "%(network)s allows %(max)s character in a quiz explanation.",
                        "%(network)s allows %(max)s characters in a quiz explanation.",
                        limits.quiz_explanation_max,
                    )
                    % {"network": name, "max": number(limits.quiz_explanation_max)},
                )
            )
    if poll.minutes is not None:
        low, high = limits.poll_minutes_min, limits.poll_minutes_max
        if low is None and high is None:
            problems.append(
                Problem("poll.minutes", _("%(network)s polls take no closing time.") % {"network": name})
            )
        elif (low is not None and poll.minutes < low) or (high is not None and poll.minutes > high):
            problems.append(
                Problem(
                    "poll.minutes",
                    _("A %(network)s poll stays open from %(min)s to %(max)s minutes.")
                    % {"network": name, "min": number(low or 1), "max": number(high) if high else "∞"},
                )
            )
    return problems
