"""Keyword monitoring: the workspace's watched words and phrases, and what they find.

A keyword is looked for in two places:

* **searches of the network's public posts**, where the network allows it (VK
  ``newsfeed.search``, which needs the administrator's *user* token): :func:`run_keyword`
  searches from the keyword's cursor (the newest publication time it has seen, persisted) to
  now, page by page, and every post found arrives in the inbox as a ``mention`` item — once per
  workspace, whichever keyword or channel found it first, never again after a restart. A failure
  is recorded on the keyword (and, when the channel's credentials are at fault, on the channel)
  and the keyword waits longer each time (``core/backoff.py``); the others go on.
* **group chats** the channels' bots are in: a message there that is not addressed to the channel
  arrives only when it names a keyword (:func:`keyword_in`), so chatter does not flood the inbox.

Minus-words leave out a post containing any of them; a language, when set, keeps only posts the
offline detector (``inbox/triage.py``) reads in that language.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.channels import service as channels
from rupor.core import backoff, clock
from rupor.core.errors import DomainError
from rupor.core.urls import http_url_or_empty
from rupor.inbox.models import InboxItem, ItemKind, ItemStatus, MentionInfo, MentionSource, MonitoredKeyword
from rupor.networks import errors, registry
from rupor.networks.base import Capability, FoundPost

log = logging.getLogger(__name__)

#: How often each keyword is searched. VK counts newsfeed.search calls per user a day (about 1000),
#: so a quarter of an hour leaves room for a few dozen keywords.
INTERVAL = dt.timedelta(minutes=15)
#: Longest wait after failures in a row.
MAX_BACKOFF = dt.timedelta(hours=6)
#: The first search looks this far back.
FIRST_LOOKBACK = dt.timedelta(days=1)
#: Each search starts this much before the cursor: posts indexed a little late are still found
#: (what was delivered already is not delivered again).
OVERLAP = dt.timedelta(minutes=10)
#: At most this many pages (of PAGE_SIZE posts) per keyword per run.
MAX_PAGES = 5
PAGE_SIZE = 100
#: At most this many keywords per workspace.
MAX_KEYWORDS = 50
#: The name this job records its failures under (``Channel.last_error_job``).
JOB = "monitoring"


#: What a search may raise that is the network's or the channel's fault, not a bug of ours.
_SEARCH_ERRORS: tuple[type[Exception], ...] = (*errors.READ_ERRORS, channels.ChannelError)


class MonitoringError(DomainError):
    """A request about monitored keywords that Rupor refuses."""


# -- matching -------------------------------------------------------------------------------


def normalize(phrase: str) -> str:
    return " ".join((phrase or "").split())


def fold(phrase: str) -> str:
    return normalize(phrase).casefold()


def minus_list(text: str) -> list[str]:
    """Minus-words as typed ("-cheap, free" or "cheap free"): folded, without the "-"."""
    return [w.lstrip("-").casefold() for w in re.split(r"[\s,;]+", text or "") if w.lstrip("-")]


def _contains(text: str, phrase: str) -> bool:
    """``phrase`` (folded) in ``text`` (folded), starting at a word's start (so "cola" is not found in
    "chocolate", but "coffee" is in "coffeeshop" and "кофе" in "кофейня")."""
    return re.search(rf"(?<!\w){re.escape(phrase)}", text) is not None


def matches(text: str, phrase: str, minus_words: str = "") -> bool:
    folded = text.casefold()
    if not _contains(folded, fold(phrase)):
        return False
    return not any(_contains(folded, w) for w in minus_list(minus_words))


def keyword_in(workspace_id: int, text: str) -> MonitoredKeyword | None:
    """The first of the workspace's keywords a text names (its minus-words and language heeded)."""
    if not text.strip():
        return None
    for keyword in MonitoredKeyword.objects.filter(workspace_id=workspace_id):
        if matches(text, keyword.phrase, keyword.minus_words) and language_fits(keyword, text):
            return keyword
    return None


def language_fits(keyword: MonitoredKeyword, text: str) -> bool:
    if not keyword.language:
        return True
    from rupor.inbox.triage import detect_language

    return detect_language(text) == keyword.language


# -- managing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchChannel:
    """A channel of the workspace whose network can search public posts."""

    id: int
    name: str
    network: str
    #: Why it cannot search now (a missing token), or "" when it can.
    problem: str


def search_channels(workspace_id: int) -> list[SearchChannel]:
    out = []
    for ref in channels.workspace_channels(workspace_id):
        if ref.network not in registry.available():
            continue
        adapter = registry.adapter(ref.network)
        if Capability.SEARCH_POSTS not in adapter.capabilities:
            continue
        out.append(SearchChannel(ref.id, ref.name, ref.network, _search_problem(ref.id)))
    return out


def _search_problem(channel_id: int) -> str:
    try:
        access = channels.access_for(channel_id)
    except channels.ChannelError as exc:
        return exc.message
    adapter = registry.adapter(access.network)
    needed = adapter.search_credential
    if needed and not access.credentials.get(needed):
        label = next((str(f.label) for f in adapter.credential_fields if f.name == needed), needed)
        return _(
            "%(network)s searches only with the %(token)s, and this channel has none; add it in the "
            "channel's settings."
        ) % {"network": adapter.display_name, "token": label}
    return ""


def _require(actor: accounts.Actor) -> None:
    if not actor.can(Perm.INBOX_MONITOR):
        raise MonitoringError(_("Your role does not allow this."), status=403)


def list_keywords(workspace_id: int) -> QuerySet[MonitoredKeyword]:
    return MonitoredKeyword.objects.filter(workspace_id=workspace_id).select_related("channel")


def get_keyword(workspace_id: int, keyword_id: int) -> MonitoredKeyword:
    keyword = list_keywords(workspace_id).filter(pk=keyword_id).first()
    if keyword is None:
        raise MonitoringError(_("No such keyword."), status=404)
    return keyword


def add_keyword(
    actor: accounts.Actor,
    phrase: str,
    *,
    minus_words: str = "",
    language: str = "",
    channel_id: int | None = None,
) -> MonitoredKeyword:
    """Watch for a word or phrase (2 to 100 characters) in the workspace's networks."""
    _require(actor)
    phrase = normalize(phrase)
    if len(phrase) < 2:
        raise MonitoringError(_("Write a word or phrase of at least 2 characters."), "phrase", 422)
    if len(phrase) > 100:
        raise MonitoringError(_("A keyword is at most 100 characters."), "phrase", 422)
    minus = " ".join(minus_list(minus_words))
    if len(minus) > 300:
        raise MonitoringError(_("Minus-words are at most 300 characters in all."), "minus_words", 422)
    if fold(phrase) in minus.split():
        raise MonitoringError(_("A minus-word cannot be the keyword itself."), "minus_words", 422)
    language = (language or "").strip().lower()
    if language and not re.fullmatch(r"[a-z]{2,3}", language):
        raise MonitoringError(
            _("Write the language as a two-letter code, like en, ru or ko, or leave it empty."),
            "language",
            422,
        )
    if channel_id is not None:
        allowed = {c.id for c in search_channels(actor.workspace_id)}
        if channel_id not in allowed:
            raise MonitoringError(
                _("Choose a channel of this workspace whose network can search posts."), "channel", 422
            )
    if MonitoredKeyword.objects.filter(workspace_id=actor.workspace_id).count() >= MAX_KEYWORDS:
        raise MonitoringError(
            _("A workspace watches at most %(n)s keywords; remove one first.") % {"n": MAX_KEYWORDS},
            "phrase",
            422,
        )
    try:
        with transaction.atomic():
            keyword = MonitoredKeyword.objects.create(
                workspace_id=actor.workspace_id,
                phrase=phrase,
                key=fold(phrase),
                minus_words=minus,
                language=language,
                channel_id=channel_id,
                created_by_id=actor.user_id,
                next_run_at=clock.now(),
            )
    except IntegrityError:
        raise MonitoringError(_("This keyword is watched already."), "phrase", 409) from None
    accounts.record(actor.workspace_id, actor, "inbox.monitor.add", "keyword", keyword.pk, phrase)
    return keyword


def remove_keyword(actor: accounts.Actor, keyword_id: int) -> None:
    """Stop watching a keyword (what it found stays in the inbox)."""
    _require(actor)
    keyword = get_keyword(actor.workspace_id, keyword_id)
    phrase = keyword.phrase
    keyword.delete()
    accounts.record(actor.workspace_id, actor, "inbox.monitor.remove", "keyword", keyword_id, phrase)


# -- searching ------------------------------------------------------------------------------


def due_keywords(now: dt.datetime) -> list[int]:
    return list(
        MonitoredKeyword.objects.filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .order_by(F("next_run_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)
    )


def _channel_for(keyword: MonitoredKeyword) -> SearchChannel | None:
    found = search_channels(keyword.workspace_id)
    if keyword.channel_id is not None:
        return next((c for c in found if c.id == keyword.channel_id), None)
    return next((c for c in found if not c.problem), found[0] if found else None)


@dataclass(frozen=True)
class RunResult:
    keyword_id: int
    new_items: int
    searched: bool
    error: str = ""


def _fail(
    keyword: MonitoredKeyword, now: dt.datetime, message: str, retry_after: float | None = None
) -> None:
    keyword.failures += 1
    wait = backoff.delay(
        keyword.failures,
        base=INTERVAL.total_seconds(),
        cap=MAX_BACKOFF.total_seconds(),
        retry_after=retry_after,
    )
    keyword.last_error = message[:300]
    keyword.last_error_at = now
    keyword.last_run_at = now
    keyword.next_run_at = now + max(INTERVAL, dt.timedelta(seconds=wait))
    keyword.save(update_fields=["failures", "last_error", "last_error_at", "last_run_at", "next_run_at"])


def run_keyword(keyword_id: int, now: dt.datetime | None = None) -> RunResult:
    """Search one keyword from its cursor to now and deliver what is new."""
    now = now or clock.now()
    keyword = MonitoredKeyword.objects.filter(pk=keyword_id).first()
    if keyword is None:
        return RunResult(keyword_id, 0, searched=False)
    channel = _channel_for(keyword)
    if channel is None or channel.problem:
        message = (
            channel.problem
            if channel
            else _("No connected channel can search public posts (VKontakte can, with a user token).")
        )
        _fail(keyword, now, message)
        return RunResult(keyword_id, 0, searched=False, error=message)
    adapter = registry.adapter(channel.network)
    since = (
        dt.datetime.fromtimestamp(keyword.cursor, dt.UTC) - OVERLAP
        if keyword.cursor is not None
        else keyword.created_at - FIRST_LOOKBACK
    )
    newest = keyword.cursor or int(since.timestamp())
    new = 0
    cursor: str | None = None
    try:
        access = channels.access_for(channel.id)
        for _page in range(MAX_PAGES):
            page = adapter.search_posts(
                access, keyword.phrase, since=since, until=now, cursor=cursor, limit=PAGE_SIZE
            )
            for post in page.posts:
                newest = max(newest, int(post.published_at.timestamp()))
                if matches_filters(keyword, post):
                    new += deliver(keyword, channel.id, post)
            cursor = page.cursor
            if not cursor or not page.posts:
                break
    except _SEARCH_ERRORS as raised:
        if isinstance(raised, channels.ChannelError):
            message, retry_after, ours = raised.message, None, True
        else:
            exc = errors.as_network_error(raised, adapter.display_name)
            message, retry_after, ours = exc.message, exc.retry_after, isinstance(exc, errors.AuthExpired)
        if ours:  # the channel's credentials or settings are at fault: say so on the channel too
            channels.record_job_error(channel.id, JOB, message)
        log.warning("searching keyword %s failed: %s", keyword_id, message)
        if new:
            MonitoredKeyword.objects.filter(pk=keyword.pk).update(found=F("found") + new)
            keyword.refresh_from_db(fields=["found"])
        _fail(keyword, now, message, retry_after)
        return RunResult(keyword_id, new, searched=True, error=message)
    keyword.cursor = max(newest, keyword.cursor or 0)
    keyword.last_run_at = now
    keyword.next_run_at = now + INTERVAL
    keyword.failures = 0
    keyword.last_error = ""
    keyword.found = F("found") + new
    keyword.save(update_fields=["cursor", "last_run_at", "next_run_at", "failures", "last_error", "found"])
    channels.clear_job_error(channel.id, JOB)
    return RunResult(keyword_id, new, searched=True)


def matches_filters(keyword: MonitoredKeyword, post: FoundPost) -> bool:
    """The network found the post; Rupor leaves out minus-words and other languages."""
    folded = post.text.casefold()
    if any(_contains(folded, w) for w in minus_list(keyword.minus_words)):
        return False
    return language_fits(keyword, post.text)


def deliver(keyword: MonitoredKeyword, channel_id: int, post: FoundPost) -> int:
    """Store one found post as a mention, unless the workspace has it already (1 when new)."""
    remote_id = post.remote_id[:200]
    if InboxItem.objects.filter(
        workspace_id=keyword.workspace_id, kind=ItemKind.MENTION, remote_id=remote_id
    ).exists():
        return 0
    try:
        with transaction.atomic():
            item = InboxItem.objects.create(
                workspace_id=keyword.workspace_id,
                channel_id=channel_id,
                kind=ItemKind.MENTION,
                remote_id=remote_id,
                conversation_remote_id=remote_id,
                author_remote_id=post.author.remote_id[:200],
                author_name=post.author.name[:200],
                author_url=http_url_or_empty(post.author.url, max_length=500),
                text=post.text,
                occurred_at=post.published_at,
                received_at=clock.now(),
                updated_at=clock.now(),
                status=ItemStatus.NEW,
            )
            MentionInfo.objects.create(
                item=item,
                source=MentionSource.SEARCH,
                keyword=keyword,
                phrase=keyword.phrase,
                url=http_url_or_empty(post.url, max_length=500),
            )
    except IntegrityError:  # the same post arrived at the same moment another way
        return 0
    return 1


def run_due(now: dt.datetime) -> int:
    """Search every keyword whose time has come; one keyword's failure never stops the others."""
    new = 0
    for keyword_id in due_keywords(now):
        try:
            new += run_keyword(keyword_id, now).new_items
        except Exception:
            log.exception("monitoring keyword %s failed unexpectedly", keyword_id)
            keyword = MonitoredKeyword.objects.filter(pk=keyword_id).first()
            if keyword is not None:
                _fail(keyword, now, _("The search failed unexpectedly; see the server log."))
    return new


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MentionView:
    source: str
    source_label: str
    phrase: str
    url: str


def mention_details(item_ids: Sequence[int]) -> dict[int, MentionView]:
    """How each of these mention items arrived (for the list and the thread)."""
    rows = MentionInfo.objects.filter(item_id__in=list(item_ids))
    return {r.item_id: MentionView(r.source, str(r.get_source_display()), r.phrase, r.url) for r in rows}


def keyword_view(keyword: MonitoredKeyword) -> dict[str, object]:
    """A keyword as the API and the CLI show it."""
    return {
        "id": keyword.pk,
        "phrase": keyword.phrase,
        "minus_words": keyword.minus_words,
        "language": keyword.language,
        "channel_id": keyword.channel_id,
        "found": keyword.found,
        "last_run_at": keyword.last_run_at,
        "next_run_at": keyword.next_run_at,
        "failures": keyword.failures,
        "last_error": keyword.last_error,
    }
