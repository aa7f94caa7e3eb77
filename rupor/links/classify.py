"""Whether a click on a short link is a person or a program, from the request alone.

Three sources, first match wins: the request method (``HEAD`` fetches headers only, which no
browser does to follow a link), rules for the link-preview fetchers of the networks Rupor
publishes to and of the messengers links are shared in (they fetch a link the moment it is posted
or pasted, so they would otherwise count as the first "clicks" of every post), and CrawlerDetect
(the maintained port of the PHP library's pattern list) for search engines, monitors, scripts and
HTTP libraries. Bursts (many clicks from one address within seconds) need the click history and
are :mod:`rupor.links.service`'s. The measured precision and recall on a labelled set of real user
agents: ``python bench/links_classifier.py`` (docs/tracked-links.md).
"""

from __future__ import annotations

import functools
import re

from crawlerdetect import CrawlerDetect

#: Link-preview fetchers, by the token each sends (sources in rupor/links/user_agents.tsv).
PREVIEW_FETCHERS = (
    "TelegramBot",
    "facebookexternalhit",
    "Facebot",
    "meta-externalagent",
    "vkShare",
    "OdklBot",
    "Twitterbot",
    "LinkedInBot",
    "Bluesky Cardyb",
    "Mastodon/",
    "Slackbot",
    "Slack-ImgProxy",
    "Discordbot",
    "WhatsApp/",
    "Viber/",
    "SkypeUriPreview",
    "redditbot",
    "Pinterestbot",
    "Iframely",
    "Embedly",
    "Google-PageRenderer",
    "YandexUserproxy",
    "Snap URL Preview",
    "kakaotalk-scrap",
)
_PREVIEW = re.compile("|".join(re.escape(token) for token in PREVIEW_FETCHERS), re.IGNORECASE)

#: Longest user agent looked at (the patterns need its start; a megabyte header costs nothing).
MAX_AGENT = 512


@functools.cache
def _detector() -> CrawlerDetect:
    return CrawlerDetect()


def bot_reason(user_agent: str, method: str = "GET") -> str:
    """Why the request is a program ("head", "empty", "preview", "crawler"), or "" for a person."""
    if method.upper() == "HEAD":
        return "head"
    agent = user_agent.strip()[:MAX_AGENT]
    if not agent:
        return "empty"
    if _PREVIEW.search(agent):
        return "preview"
    if _detector().isCrawler(agent):
        return "crawler"
    return ""
