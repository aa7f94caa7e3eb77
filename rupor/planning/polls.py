"""Polls as a post type (docs/decisions/0034-polls-and-quizzes.md).

A variant's poll goes out in one of three ways, decided by its channel's network:

* **native** — the network's own poll (``Capability.PUBLISH_POLL``: VK, Telegram, Mastodon, X,
  OK), its votes read back with the post's metrics where the network reports them;
* **quiz** — a native poll with one right answer (``Capability.PUBLISH_QUIZ``: Telegram);
* **keyword** — everywhere else (Facebook, Instagram, LinkedIn, Bluesky, YouTube): the poll is
  written into the post's text from the ``planning/keyword_poll.txt`` template, in the post's
  language ("Reply 1 for …"), and ``rupor.analytics.polls`` counts the replies collected in the
  inbox (one vote per author, the latest valid reply wins, none after the closing time).
"""

from __future__ import annotations

import dataclasses
import enum

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rupor.networks import registry
from rupor.networks.base import Capability, Content, Limits, Poll, Problem
from rupor.networks.text import poll_extra_problems

#: Keyword polls number their options 1 to 9 (a reply's digit is the vote; 10 would read as 1).
KEYWORD_OPTIONS_MAX = 9
#: The longest a keyword poll counts votes for (the same month as Telegram's longest poll).
KEYWORD_MINUTES_MAX = 43800
#: How long a poll without a closing time of its own is counted (Mastodon's and X's default).
DEFAULT_MINUTES = 24 * 60
#: The languages the keyword text is written in (the interface's).
LANGUAGES = ("en", "ru", "ko")


class Kind(enum.StrEnum):
    NATIVE = "native"
    QUIZ = "quiz"
    KEYWORD = "keyword"


def native(network: str) -> bool:
    return (
        network in registry.available() and Capability.PUBLISH_POLL in registry.adapter(network).capabilities
    )


def quizzes(network: str) -> bool:
    return (
        network in registry.available() and Capability.PUBLISH_QUIZ in registry.adapter(network).capabilities
    )


def results(network: str) -> bool:
    """Whether Rupor reads the network's native poll votes back (``Capability.POLL_RESULTS``)."""
    return (
        network in registry.available() and Capability.POLL_RESULTS in registry.adapter(network).capabilities
    )


def kind_for(network: str, poll: Poll | None = None) -> Kind:
    """How a poll on ``network`` goes out (a quiz only where it is one and the network has quizzes)."""
    if not native(network):
        return Kind.KEYWORD
    if poll is not None and poll.is_quiz and quizzes(network):
        return Kind.QUIZ
    return Kind.NATIVE


def language_of(text: str) -> str:
    """The post's language as far as the keyword text needs it: Hangul is Korean, Cyrillic is
    Russian, anything else English (the interface's three languages)."""
    hangul = sum(1 for c in text if "\uac00" <= c <= "\ud7a3" or "\u1100" <= c <= "\u11ff")
    cyrillic = sum(1 for c in text if "\u0400" <= c <= "\u04ff")
    if hangul and hangul >= cyrillic:
        return "ko"
    if cyrillic:
        return "ru"
    return "en"


def _duration(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}


def keyword_text(poll: Poll, language: str) -> str:
    """The poll written out for a network without native polls, in ``language``."""
    lang = language if language in LANGUAGES else "en"
    with translation.override(lang):
        return render_to_string(
            "planning/keyword_poll.txt",
            {
                "question": poll.question,
                "options": poll.options,
                "multiple": poll.multiple,
                "duration": _duration(poll.minutes) if poll.minutes else "",
            },
        ).strip()


def as_published(network: str, content: Content) -> Content:
    """``content`` as it goes out on ``network``: unchanged where the network has polls (or there
    is none); otherwise the poll moves into the text (after it, a blank line apart)."""
    poll = content.poll
    if poll is None or native(network):
        return content
    language = str(content.options.get("language") or "") or language_of(f"{content.text} {poll.question}")
    written = keyword_text(poll, language)
    text = f"{content.text.rstrip()}\n\n{written}" if content.text.strip() else written
    return dataclasses.replace(content, text=text, poll=None)


def poll_problems(network: str, poll: Poll, limits: Limits | None = None) -> list[Problem]:
    """The poll's own rules on ``network``, checked when a variant is saved (drafts too): a
    quiz's answer and explanation, the closing time; for keyword polls 2 to 9 options, a
    question, and no quiz."""
    if network not in registry.available():
        return []
    adapter = registry.adapter(network)
    if native(network):
        return poll_extra_problems(adapter, poll, limits or adapter.limits)
    problems: list[Problem] = []
    name = adapter.display_name
    if not poll.question.strip():
        problems.append(Problem("poll.question", _("The poll needs a question.")))
    if not 2 <= len(poll.options) <= KEYWORD_OPTIONS_MAX:
        problems.append(
            Problem(
                "poll.options",
                _("%(network)s has no native polls: a poll answered in comments has 2 to %(max)s options.")
                % {"network": name, "max": KEYWORD_OPTIONS_MAX},
            )
        )
    for index, option in enumerate(poll.options):
        if not option.strip():
            problems.append(Problem(f"poll.options[{index}]", _("Poll options cannot be empty.")))
    if poll.is_quiz:
        problems.append(
            Problem(
                "poll.correct_option",
                _("%(network)s has no quizzes: leave the right answer unmarked.") % {"network": name},
            )
        )
    if poll.minutes is not None and not 1 <= poll.minutes <= KEYWORD_MINUTES_MAX:
        problems.append(
            Problem(
                "poll.minutes",
                _("A %(network)s poll stays open from %(min)s to %(max)s minutes.")
                % {"network": name, "min": 1, "max": KEYWORD_MINUTES_MAX},
            )
        )
    return problems
