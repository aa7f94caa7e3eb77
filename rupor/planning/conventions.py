"""Adapting, not copying: each network's writing conventions, the soft checks that follow from
them, and the warning when variants for different networks carry the same text.

The conventions are data (one :class:`Convention` per network key of
``networks.registry.DISPLAY_NAMES``), keyed by network name only, so a network gets its advice the
moment its adapter registers. Nothing here refuses a post: what a network itself refuses is its
adapter's ``validate`` (``planning/content.py``); these are warnings a person may ignore.
Sources and reasoning: ``docs/composer-conventions.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rupor.networks import registry

#: Two normalised texts at least this alike (``difflib`` ratio) count as "the same text".
SIMILAR_RATIO = 0.9
#: Only this many words of each text are compared (``SequenceMatcher`` is quadratic in the worst case).
COMPARED_WORDS = 400

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w#&])#\w+", re.UNICODE)
_PUNCT = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+", re.UNICODE)


@dataclass(frozen=True)
class Convention:
    """How posts are written on one network, and the soft limits the checks hold them to."""

    network: str
    #: One line: what works there (shown beside the variant).
    summary: str | Promise
    #: A few concrete pieces of advice.
    tips: tuple[str | Promise, ...] = ()
    #: Past this length (in the network's own unit where an adapter measures it) the text is "far
    #: longer than the network's convention"; ``None``: no such advice.
    long_after: int | None = None
    #: The advice given past ``long_after``.
    long_advice: str | Promise = ""
    #: More hashtags than this are advised against; ``None``: no advice.
    hashtags_max: int | None = None
    #: The network shows alt text to people using screen readers (so a picture without it is advised on).
    alt_text: bool = False
    #: A post there is a picture or a video first (text alone is advised against).
    visual_first: bool = False
    #: Addresses in the text open as links (Instagram captions: they do not).
    links_click: bool = True
    #: The first line is a title (YouTube); its soft length.
    title_max: int | None = None


CONVENTIONS: dict[str, Convention] = {
    "vk": Convention(
        "vk",
        gettext_lazy("Short and visual: a picture or video with a few lines that make people stop."),
        (
            gettext_lazy(
                "VK folds a post after about 300 characters behind “Show more”: put the point first."
            ),
            gettext_lazy("Attach a picture, a video or a poll; a text-only post is easy to scroll past."),
            gettext_lazy("A few hashtags at most, and only ones people actually follow."),
        ),
        long_after=1000,
        long_advice=gettext_lazy(
            "This is long for VK, where a post folds after about 300 characters: shorten it, or link to an article."
        ),
        hashtags_max=5,
    ),
    "facebook": Convention(
        "facebook",
        gettext_lazy("Longer and expert: a useful, well-argued post for professionals (B2B)."),
        (
            gettext_lazy(
                "Explain something: a case, figures, a lesson learned. Length is welcome if it is useful."
            ),
            gettext_lazy("Ask a question at the end to start a discussion."),
            gettext_lazy("Hashtags do little here: one to three at most."),
        ),
        hashtags_max=3,
        alt_text=True,
    ),
    "instagram": Convention(
        "instagram",
        gettext_lazy("Picture first: the image or video is the post, the caption supports it."),
        (
            gettext_lazy("Every post needs a picture or a video."),
            gettext_lazy("Links in a caption do not open: say “link in bio” instead."),
            gettext_lazy("The caption is cut after the first lines: start with the hook."),
            gettext_lazy("A few precise hashtags work better than many (Instagram allows at most 5)."),
        ),
        hashtags_max=5,
        alt_text=True,
        visual_first=True,
        links_click=False,
    ),
    "ok": Convention(
        "ok",
        gettext_lazy("Warm and emotional: family, memories, good news, kind words."),
        (
            gettext_lazy("Write as to friends and family: simple words, feelings, a personal story."),
            gettext_lazy("Bright photos and postcards do well; so do polls and questions."),
        ),
    ),
    "x": Convention(
        "x",
        gettext_lazy("Short: one thought, a quote or an announcement in a single post."),
        (
            gettext_lazy("One idea per post; split a longer story into a thread."),
            gettext_lazy("One or two hashtags at most."),
            gettext_lazy("Describe pictures with alt text."),
        ),
        long_after=280,
        long_advice=gettext_lazy("Longer than one post on X: split it into a thread or shorten it."),
        hashtags_max=2,
        alt_text=True,
    ),
    "telegram": Convention(
        "telegram",
        gettext_lazy("The author's own voice: your insight and opinion, as to subscribers who chose you."),
        (
            gettext_lazy("Say what you think, not only what happened: readers follow the author."),
            gettext_lazy("Use formatting and short paragraphs; one topic per post."),
            gettext_lazy("Hashtags are for navigating the channel, not for reach: a few at most."),
        ),
        long_after=2000,
        long_advice=gettext_lazy(
            "This is long for a channel post: split it into several posts, or publish an article and link to it."
        ),
        hashtags_max=5,
    ),
    "linkedin": Convention(
        "linkedin",
        gettext_lazy("Professional: experience, results and lessons, in the first person."),
        (
            gettext_lazy("Start with a strong first line: the post folds after about three lines."),
            gettext_lazy("Share what you or your company learned; avoid pure advertising."),
            gettext_lazy("Three hashtags at most."),
        ),
        hashtags_max=3,
        alt_text=True,
    ),
    "mastodon": Convention(
        "mastodon",
        gettext_lazy("Conversational: talk with people, not at them; describe every picture."),
        (
            gettext_lazy("Alt text on every picture is expected by the community."),
            gettext_lazy(
                "Hashtags are how people find posts (there is no algorithm): write them in CamelCase."
            ),
            gettext_lazy("Use a content warning for spoilers and sensitive topics."),
        ),
        alt_text=True,
    ),
    "bluesky": Convention(
        "bluesky",
        gettext_lazy("Conversational: short, personal, open to replies; describe every picture."),
        (
            gettext_lazy("Write as in a conversation; split a longer thought into a thread."),
            gettext_lazy("Add alt text to every picture."),
        ),
        alt_text=True,
    ),
    "youtube": Convention(
        "youtube",
        gettext_lazy("A video with a title and a description: the first line is the title."),
        (
            gettext_lazy(
                "Keep the title under about 70 characters so it is not cut in search and on phones."
            ),
            gettext_lazy("Put the key words and links in the first two lines of the description."),
            gettext_lazy("YouTube ignores all hashtags of a video that has more than 15."),
        ),
        hashtags_max=15,
        visual_first=True,
        title_max=70,
    ),
}


def convention(network: str) -> Convention | None:
    """The network's convention; ``None`` for a key nobody wrote one for."""
    return CONVENTIONS.get(network)


# -- the soft checks -----------------------------------------------------------------------------


class MediaLike(Protocol):
    """What the checks need of an attached file (a ``planning.models.Media`` row)."""

    @property
    def kind(self) -> str: ...

    @property
    def alt_text(self) -> str: ...


@dataclass(frozen=True)
class Advice:
    """A soft warning: ``code`` is stable (the API returns it), ``message`` is for people."""

    code: str
    message: str


def hashtags(text: str) -> list[str]:
    """The hashtags in ``text`` (``#word``, not inside a word or an address)."""
    return _HASHTAG.findall(_URL.sub(" ", text))


def advice(
    network: str,
    *,
    text: str,
    media: Sequence[MediaLike] = (),
    link: str = "",
    length: Callable[[str], int] = len,
) -> list[Advice]:
    """The soft warnings for ``text`` with ``media`` on ``network`` (empty for an unknown network).

    ``length`` measures text in the network's own unit (the adapter's ``text_length`` where one
    is registered)."""
    conv = CONVENTIONS.get(network)
    if conv is None:
        return []
    name = registry.display_name(network)
    out: list[Advice] = []
    visual = [m for m in media if m.kind in ("photo", "video")]
    if conv.visual_first and not visual:
        if network == "youtube":
            message = _("YouTube posts are videos: attach one.")
        else:
            message = _("%(network)s is picture first: attach a picture or a video.") % {"network": name}
        out.append(Advice("needs_media", message))
    if conv.alt_text:
        missing = sum(1 for m in media if m.kind == "photo" and not (m.alt_text or "").strip())
        if missing:
            out.append(
                Advice(
                    "alt_missing",
                    ngettext(
                        "%(n)s picture has no alt text: %(network)s shows it to people who cannot see the image. Add it in the media library.",
                        "%(n)s pictures have no alt text: %(network)s shows it to people who cannot see the image. Add it in the media library.",
                        missing,
                    )
                    % {"n": missing, "network": name},
                )
            )
    if not conv.links_click and (_URL.search(text) or link.strip()):
        out.append(
            Advice(
                "link_not_clickable",
                _(
                    "Links in a %(network)s caption do not open: write “link in bio” and put the address in the profile."
                )
                % {"network": name},
            )
        )
    if conv.long_after is not None and length(text) > conv.long_after:
        out.append(Advice("long", str(conv.long_advice)))
    if conv.title_max is not None:
        title = text.strip().split("\n", 1)[0].strip()
        if len(title) > conv.title_max:
            out.append(
                Advice(
                    "long_title",
                    _("The title (the first line) is %(n)s characters; over %(max)s it is cut.")
                    % {"n": len(title), "max": conv.title_max},
                )
            )
    if conv.hashtags_max is not None:
        count = len(hashtags(text))
        if count > conv.hashtags_max:
            out.append(
                Advice(
                    "hashtags",
                    _("%(n)s hashtags; on %(network)s more than %(max)s look like spam and do not help.")
                    % {"n": count, "network": name, "max": conv.hashtags_max},
                )
            )
    return out


# -- the same text everywhere --------------------------------------------------------------------


def normalise(text: str) -> str:
    """``text`` as compared: no addresses, no punctuation, one case, single spaces."""
    text = _URL.sub(" ", text).casefold()
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def similarity(a: str, b: str) -> float:
    """How alike two texts are after :func:`normalise`, 0 to 1: ``difflib``'s ratio over their
    words (twice the matched words over both lengths), the first :data:`COMPARED_WORDS` of each.
    Two empty texts are not alike (nothing was written)."""
    wa, wb = normalise(a).split()[:COMPARED_WORDS], normalise(b).split()[:COMPARED_WORDS]
    if not wa or not wb:
        return 0.0
    if wa == wb:
        return 1.0
    matcher = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR_RATIO or matcher.quick_ratio() < SIMILAR_RATIO:
        return matcher.quick_ratio()  # an upper bound already below the mark: not alike
    return matcher.ratio()


@dataclass(frozen=True)
class VariantText:
    """One variant as the comparison takes it."""

    key: int  # the channel id
    label: str  # "Channel name (Network)"
    network: str
    text: str


@dataclass
class SameText:
    """Variants for different networks whose texts are the same or nearly so."""

    keys: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    #: The least alike pair joined into the group (1.0: identical after normalising).
    similarity: float = 1.0

    @property
    def identical(self) -> bool:
        return self.similarity >= 1.0

    @property
    def message(self) -> str:
        names = ", ".join(self.labels)
        if self.identical:
            return _(
                "The same text goes to %(names)s. Each network has its own style: adapt the text to each one."
            ) % {"names": names}
        return _(
            "Nearly the same text (%(percent)s%% alike) goes to %(names)s. Each network has its own style: adapt the text to each one."
        ) % {"names": names, "percent": int(self.similarity * 100)}


def same_texts(variants: Sequence[VariantText], threshold: float = SIMILAR_RATIO) -> list[SameText]:
    """Groups of variants for different networks whose texts are alike (``threshold`` or more).

    Two channels on one network may well share a text (the same news in two VK groups); a pair
    is compared only when the networks differ, and alike pairs join into groups."""
    parent = list(range(len(variants)))
    worst: dict[int, float] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    linked: list[tuple[int, int, float]] = []
    for i, a in enumerate(variants):
        for j in range(i + 1, len(variants)):
            b = variants[j]
            if a.network == b.network:
                continue
            ratio = similarity(a.text, b.text)
            if ratio >= threshold:
                linked.append((i, j, ratio))
                parent[root(j)] = root(i)
    for i, _j, ratio in linked:
        r = root(i)
        worst[r] = min(worst.get(r, 1.0), ratio)
    groups: dict[int, SameText] = {}
    for i, v in enumerate(variants):
        r = root(i)
        if r not in worst:
            continue
        group = groups.setdefault(r, SameText(similarity=worst[r]))
        group.keys.append(v.key)
        group.labels.append(v.label)
        group.networks.append(v.network)
    return list(groups.values())


def label(channel_name: str, network: str) -> str:
    return f"{channel_name} ({registry.display_name(network)})"
