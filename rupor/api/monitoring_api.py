"""Keyword monitoring endpoints: the workspace's watched keywords (managers and up change them),
the channels that can search, and a search run now."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.inbox import monitoring

router = Router(tags=["inbox"])


class KeywordIn(Schema):
    phrase: str = Field(
        ..., min_length=1, max_length=200, description="A word or phrase, 2 to 100 characters"
    )
    minus_words: str = Field(
        "", max_length=1000, description="Leave out posts with any of these words (space- or comma-separated)"
    )
    language: str = Field(
        "", max_length=8, description="Only posts in this language (en, ru, ko, …); empty: any"
    )
    channel_id: int | None = Field(
        None, description="The channel whose account searches; empty: the first channel that can"
    )


class KeywordOut(Schema):
    id: int
    phrase: str
    minus_words: str
    language: str
    channel_id: int | None
    found: int = Field(description="How many posts it brought to the inbox")
    last_run_at: dt.datetime | None
    next_run_at: dt.datetime | None
    failures: int = Field(description="Failed searches in a row (each waits longer)")
    last_error: str


class SearchChannelOut(Schema):
    id: int
    name: str
    network: str
    problem: str = Field(description="Why it cannot search now (a missing user token); empty when it can")


class RunOut(Schema):
    keyword_id: int
    new_items: int
    searched: bool
    error: str


@router.get(
    "/inbox/monitoring/keywords",
    response={200: list[KeywordOut], **ERRORS},
    summary="The keywords the workspace watches",
)
def list_keywords(request: HttpRequest) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return [monitoring.keyword_view(k) for k in monitoring.list_keywords(who.workspace_id)]


@router.post(
    "/inbox/monitoring/keywords",
    response={201: KeywordOut, **ERRORS},
    summary="Watch a keyword (managers and up)",
)
def add_keyword(request: HttpRequest, payload: KeywordIn) -> Any:
    who = _need(request, Perm.INBOX_MONITOR)
    keyword = monitoring.add_keyword(
        who,
        payload.phrase,
        minus_words=payload.minus_words,
        language=payload.language,
        channel_id=payload.channel_id,
    )
    return Status(201, monitoring.keyword_view(keyword))


@router.delete(
    "/inbox/monitoring/keywords/{keyword_id}",
    response={204: None, **ERRORS},
    summary="Stop watching a keyword (what it found stays)",
)
def remove_keyword(request: HttpRequest, keyword_id: int) -> Any:
    who = _need(request, Perm.INBOX_MONITOR)
    monitoring.remove_keyword(who, keyword_id)
    return Status(204, None)


@router.post(
    "/inbox/monitoring/keywords/{keyword_id}/run",
    response={200: RunOut, **ERRORS},
    summary="Search a keyword now (managers and up)",
)
def run_keyword(request: HttpRequest, keyword_id: int) -> Any:
    who = _need(request, Perm.INBOX_MONITOR)
    monitoring.get_keyword(who.workspace_id, keyword_id)
    return dataclasses.asdict(monitoring.run_keyword(keyword_id))


@router.get(
    "/inbox/monitoring/channels",
    response={200: list[SearchChannelOut], **ERRORS},
    summary="The channels that can search public posts, and what stops those that cannot",
)
def search_channels(request: HttpRequest) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return [dataclasses.asdict(c) for c in monitoring.search_channels(who.workspace_id)]
