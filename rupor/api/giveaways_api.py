"""Giveaways: create, announce (rules frozen, beacon round named, rules post drafted), close
(entrants collected, frozen, hashed), draw (beacon read, winners re-checked, results post
drafted), cancel; the published files; and the verification of a draw from files alone
(giveaways/service.py, docs/giveaways.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS, ApiError
from rupor.core import config
from rupor.giveaways import procedure, service
from rupor.giveaways.models import Giveaway

router = Router(tags=["giveaways"])


class GiveawayIn(Schema):
    channel_id: int = Field(ge=1, le=2**62)
    title: str = Field(max_length=200)
    prize: str = Field(default="", max_length=2000)
    starts_at: dt.datetime
    ends_at: dt.datetime
    post_remote_id: str = Field(
        default="", max_length=100, description="The contest post; empty: the rules post once published"
    )
    require_member: bool = True
    require_like: bool = False
    require_repost: bool = False
    comment_keyword: str = Field(default="", max_length=100)
    exclude_staff: bool = True
    excluded_ids: list[str] = Field(default_factory=list, max_length=1000)
    winners: int = Field(default=1, ge=1, le=service.MAX_WINNERS)
    reserve: int = Field(default=3, ge=0, le=service.MAX_RESERVE)
    beacon_url: str = Field(
        default="", max_length=300, description="The drand relay; empty: the configured one (RUPOR_DRAND_URL)"
    )


class GiveawayOut(Schema):
    id: int
    title: str
    state: str
    channel_id: int
    network: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    winners: int
    reserve: int
    beacon_round: int | None
    round_time: dt.datetime | None
    rules_sha256: str
    list_sha256: str
    drawn_winners: list[str] = Field(description="After the draw: the winners in drawn order")
    rules_post_id: int | None
    results_post_id: int | None
    public_url: str = Field(description="The public page: rules, list hash, draw and files, no sign-in")
    checks: dict[str, bool] = Field(description="Which conditions Rupor can check on this network")


class StepOut(Schema):
    key: str
    ok: bool
    detail: str


class VerificationOut(Schema):
    ok: bool
    steps: list[StepOut]
    winners: list[str]
    reserve: list[str]
    replaced: list[dict[str, str]]


class VerifyIn(Schema):
    files: list[dict[str, Any]] = Field(
        max_length=3, description="The published rules, entrants and draw files (or one bundle), parsed"
    )


def _out(g: Giveaway) -> dict[str, Any]:
    return {
        "id": g.pk,
        "title": g.title,
        "state": g.state,
        "channel_id": g.channel_id,
        "network": g.channel.network,
        "starts_at": g.starts_at,
        "ends_at": g.ends_at,
        "winners": g.winners,
        "reserve": g.reserve,
        "beacon_round": g.beacon_round,
        "round_time": service.round_time(g),
        "rules_sha256": service.rules_hash(g),
        "list_sha256": service.list_hash(g),
        "drawn_winners": service.draw_record(g).get("winners", []),
        "rules_post_id": g.rules_post_id,
        "results_post_id": g.results_post_id,
        "public_url": service.public_url(g) if g.state != Giveaway.State.DRAFT else "",
        "checks": service.checks_for(g.channel.network),
    }


@router.get("/giveaways", response={200: list[GiveawayOut], **ERRORS}, summary="The workspace's giveaways")
def list_giveaways(request: HttpRequest) -> Any:
    return [_out(g) for g in service.list_giveaways(_need(request, Perm.GIVEAWAYS_VIEW))]


@router.post("/giveaways", response={201: GiveawayOut, **ERRORS}, summary="Create a giveaway (a draft)")
def create_giveaway(request: HttpRequest, payload: GiveawayIn) -> Any:
    who = _need(request, Perm.GIVEAWAYS_MANAGE)
    data = service.GiveawayInput(
        **{
            **payload.dict(),
            "excluded_ids": tuple(payload.excluded_ids),
            "beacon_url": payload.beacon_url or config.drand_url(),
        }
    )
    return Status(201, _out(service.create_giveaway(who, data)))


# Before /giveaways/{giveaway_id}: routes match in order, and "verify" is no id.
@router.post(
    "/giveaways/verify",
    response={200: VerificationOut, **ERRORS},
    summary="Recompute a draw from its published files alone",
)
def verify(request: HttpRequest, payload: VerifyIn) -> Any:
    _need(request, Perm.WORKSPACE_VIEW)
    try:
        result = service.verify_files(payload.files)
    except procedure.Unreadable as exc:
        raise ApiError(422, f"These are not a giveaway's files: {exc}") from exc
    return {
        "ok": result.ok,
        "steps": [{"key": s.key, "ok": s.ok, "detail": s.detail} for s in result.steps],
        "winners": result.winners,
        "reserve": result.reserve,
        "replaced": result.replaced,
    }


@router.get("/giveaways/{giveaway_id}", response={200: GiveawayOut, **ERRORS}, summary="One giveaway")
def get_giveaway(request: HttpRequest, giveaway_id: int) -> Any:
    return _out(service.get_giveaway(_need(request, Perm.GIVEAWAYS_VIEW), giveaway_id))


_ACTIONS = {
    "announce": service.announce,
    "close": service.close,
    "draw": service.draw,
    "cancel": service.cancel,
}


@router.post(
    "/giveaways/{giveaway_id}/{action}",
    response={200: GiveawayOut, **ERRORS},
    summary="announce | close | draw | cancel a giveaway",
)
def act(request: HttpRequest, giveaway_id: int, action: str) -> Any:
    who = _need(request, Perm.GIVEAWAYS_MANAGE)
    if action not in _ACTIONS:
        raise ApiError(404, "No such action: announce, close, draw or cancel.")
    return _out(_ACTIONS[action](who, giveaway_id))


@router.get(
    "/giveaways/{giveaway_id}/files/{name}",
    response={200: None, **ERRORS},
    summary="A published file: rules.json, entrants.json, draw.json or bundle.json",
)
def get_file(request: HttpRequest, giveaway_id: int, name: str) -> Any:
    found = service.get_giveaway(_need(request, Perm.GIVEAWAYS_VIEW), giveaway_id)
    files = service.published_files(found)
    if name == "bundle.json" and files:
        return HttpResponse(service.bundle(found).encode(), content_type="application/json")
    if name not in files:
        raise ApiError(404, "Not published (yet).")
    return HttpResponse(files[name].encode(), content_type="application/json")
