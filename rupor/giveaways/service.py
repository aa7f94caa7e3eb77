"""Giveaways anyone can verify: rules first, the list frozen and hashed before a named future
drand round, winners drawn from SHA-256(list hash ‖ beacon randomness) with a reserve, the
conditions re-checked at the draw (docs/giveaways.md).

The public surface other layers use: create / announce / close / draw / cancel, the reads, the
published files and :func:`verify_files` (which needs nothing but the files).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.accounts.roles import Perm, Role
from rupor.accounts.service import Actor, record
from rupor.channels import service as channels
from rupor.core import clock, config
from rupor.core.errors import DomainError
from rupor.giveaways import procedure
from rupor.giveaways.models import Giveaway
from rupor.networks import registry
from rupor.networks.base import Adapter, Capability, ChannelAccess
from rupor.networks.drand import beacon
from rupor.networks.errors import NetworkError
from rupor.notifications import service as notifications
from rupor.planning import service as planning
from rupor.publishing import service as publishing

#: After the entries end, the manager has this long to close the list; the beacon round named in
#: the rules is the first one after it, so the list is always frozen before anyone knows the value.
CLOSE_WINDOW = dt.timedelta(hours=1)
MAX_WINNERS = 100
MAX_RESERVE = 100

#: What each condition needs of the network's adapter.
CONDITION_NEEDS: dict[str, Capability] = {
    "member": Capability.CHECK_MEMBER,
    "like": Capability.LIST_LIKERS,
    "repost": Capability.LIST_REPOSTERS,
    "comment": Capability.READ_COMMENTS,
    "staff": Capability.LIST_STAFF,
}
CONDITION_LABELS = {
    "member": gettext_lazy("is a member of the community"),
    "like": gettext_lazy("liked the post"),
    "repost": gettext_lazy("reposted the post"),
    "comment": gettext_lazy("commented with the keyword within the period"),
    "staff": gettext_lazy("is not one of the community's managers"),
}
#: Why a drawn entrant was passed over at the draw.
REASONS = {
    "left": gettext_lazy("left the community before the draw"),
    "unliked": gettext_lazy("no longer likes the post"),
    "unreposted": gettext_lazy("the repost is gone"),
    "comment_gone": gettext_lazy("the comment with the keyword is gone"),
    "staff": gettext_lazy("became a manager of the community"),
}


class GiveawayError(DomainError):
    """A giveaway request refused."""


@dataclass(frozen=True)
class GiveawayInput:
    channel_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    prize: str = ""
    post_remote_id: str = ""
    require_member: bool = True
    require_like: bool = False
    require_repost: bool = False
    comment_keyword: str = ""
    exclude_staff: bool = True
    excluded_ids: tuple[str, ...] = ()
    winners: int = 1
    reserve: int = 3
    beacon_url: str = beacon.DEFAULT_BASE_URL
    chain_hash: str = beacon.QUICKNET_HASH


def _require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise GiveawayError(_("Your role does not allow this."), status=403)


def checks_for(network: str) -> dict[str, bool]:
    """Which conditions Rupor can check on this network (the form and the page say so)."""
    caps = registry.adapter(network).capabilities if network in registry.available() else frozenset()
    return {name: need in caps for name, need in CONDITION_NEEDS.items()}


def can_collect(network: str) -> bool:
    """Whether Rupor can list entrants on this network at all (members, likers or commenters)."""
    caps = registry.adapter(network).capabilities if network in registry.available() else frozenset()
    return bool(
        caps
        & {
            Capability.LIST_MEMBERS,
            Capability.LIST_LIKERS,
            Capability.LIST_REPOSTERS,
            Capability.READ_COMMENTS,
        }
    )


# -- reads ---------------------------------------------------------------------------------


def list_giveaways(actor: Actor) -> list[Giveaway]:
    _require(actor, Perm.GIVEAWAYS_VIEW)
    return list(Giveaway.objects.filter(workspace_id=actor.workspace_id).select_related("channel"))


def get_giveaway(actor: Actor, giveaway_id: int) -> Giveaway:
    _require(actor, Perm.GIVEAWAYS_VIEW)
    found = (
        Giveaway.objects.filter(workspace_id=actor.workspace_id, pk=giveaway_id)
        .select_related("channel")
        .first()
    )
    if found is None:
        raise GiveawayError(_("No such giveaway."), status=404)
    return found


def public_giveaway(public_id: str) -> Giveaway:
    """A giveaway whose rules were published, for anyone (no sign-in): never a draft."""
    found = (
        Giveaway.objects.filter(public_id=public_id)
        .exclude(state=Giveaway.State.DRAFT)
        .select_related("channel")
        .first()
    )
    if found is None:
        raise GiveawayError(_("No such giveaway."), status=404)
    return found


def public_path(giveaway: Giveaway) -> str:
    return f"/giveaways/public/{giveaway.public_id}/"


def public_url(giveaway: Giveaway) -> str:
    return config.base_url() + public_path(giveaway)


def verifier_url() -> str:
    return config.base_url() + "/giveaways/verify/"


def published_files(giveaway: Giveaway) -> dict[str, str]:
    """File name -> content of what has been published so far (rules, entrants, draw)."""
    files = {
        "rules.json": giveaway.rules_json,
        "entrants.json": giveaway.entrants_json,
        "draw.json": giveaway.draw_json,
    }
    return {name: text for name, text in files.items() if text}


def bundle(giveaway: Giveaway) -> str:
    """The three files in one (what ``rupor giveaway verify FILE`` takes)."""
    parts = {name.removesuffix(".json"): json.loads(text) for name, text in published_files(giveaway).items()}
    return procedure.canonical({"format": procedure.BUNDLE_FORMAT, **parts}).decode()


def rules_hash(giveaway: Giveaway) -> str:
    return procedure.sha256_hex(giveaway.rules_json.encode()) if giveaway.rules_json else ""


def list_hash(giveaway: Giveaway) -> str:
    return str(json.loads(giveaway.entrants_json)["list_sha256"]) if giveaway.entrants_json else ""


def draw_record(giveaway: Giveaway) -> dict[str, Any]:
    return dict(json.loads(giveaway.draw_json)) if giveaway.draw_json else {}


def round_time(giveaway: Giveaway) -> dt.datetime | None:
    if not giveaway.rules_json:
        return None
    return dt.datetime.fromisoformat(json.loads(giveaway.rules_json)["beacon"]["round_time"])


def verify_files(documents: Sequence[Any]) -> procedure.Verification:
    """Recompute a draw from its published files alone (:class:`procedure.Unreadable` when they
    are not a giveaway's three files)."""
    rules, entrants, draw = procedure.split_files(documents)
    return procedure.verify(rules, entrants, draw)


# -- actions -------------------------------------------------------------------------------


def _clean(actor: Actor, data: GiveawayInput) -> channels.ChannelRef:
    channel = channels.find_channel(data.channel_id)
    if channel is None or channel.workspace_id != actor.workspace_id:
        raise GiveawayError(_("No such channel."), "channel_id", 404)
    if not data.title.strip():
        raise GiveawayError(_("Give the giveaway a title."), "title")
    if data.ends_at <= data.starts_at:
        raise GiveawayError(_("The entries must end after they start."), "ends_at")
    if not 1 <= data.winners <= MAX_WINNERS:
        raise GiveawayError(_("Between 1 and %(n)s winners.") % {"n": MAX_WINNERS}, "winners")
    if not 0 <= data.reserve <= MAX_RESERVE:
        raise GiveawayError(_("Between 0 and %(n)s in reserve.") % {"n": MAX_RESERVE}, "reserve")
    if not (data.require_member or data.require_like or data.require_repost or data.comment_keyword.strip()):
        raise GiveawayError(_("Choose at least one condition."), "require_member")
    checks = checks_for(channel.network)
    wanted = {
        "member": data.require_member,
        "like": data.require_like,
        "repost": data.require_repost,
        "comment": bool(data.comment_keyword.strip()),
        "staff": data.exclude_staff,
    }
    for name, on in wanted.items():
        if on and not checks[name]:
            raise GiveawayError(
                _("%(network)s does not let Rupor check this condition: %(condition)s.")
                % {"network": registry.display_name(channel.network), "condition": CONDITION_LABELS[name]},
                name,
                422,
            )
    actions = data.require_like or data.require_repost or bool(data.comment_keyword.strip())
    if not actions and Capability.LIST_MEMBERS not in registry.adapter(channel.network).capabilities:
        raise GiveawayError(
            _("%(network)s cannot list a community's members: add a like, repost or comment condition.")
            % {"network": registry.display_name(channel.network)},
            "require_member",
            422,
        )
    if any(not i.strip().lstrip("-").isdigit() for i in data.excluded_ids):
        raise GiveawayError(_("Excluded people are given by their numeric ids."), "excluded_ids")
    return channel


def create_giveaway(actor: Actor, data: GiveawayInput) -> Giveaway:
    """A draft giveaway (nothing is published until :func:`announce`)."""
    _require(actor, Perm.GIVEAWAYS_MANAGE)
    _clean(actor, data)
    giveaway = Giveaway.objects.create(
        workspace_id=actor.workspace_id,
        channel_id=data.channel_id,
        title=data.title.strip(),
        prize=data.prize.strip(),
        post_remote_id=data.post_remote_id.strip(),
        require_member=data.require_member,
        require_like=data.require_like,
        require_repost=data.require_repost,
        comment_keyword=data.comment_keyword.strip(),
        exclude_staff=data.exclude_staff,
        excluded_ids=sorted({i.strip() for i in data.excluded_ids if i.strip()}),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        winners=data.winners,
        reserve=data.reserve,
        beacon_url=data.beacon_url.rstrip("/"),
        chain_hash=data.chain_hash,
        created_by_id=actor.user_id,
    )
    record(actor.workspace_id, actor, "giveaway.create", "giveaway", giveaway.pk, giveaway.title)
    return giveaway


def _state(giveaway: Giveaway, *allowed: str) -> None:
    if giveaway.state not in allowed:
        raise GiveawayError(
            _("Not possible in this state (%(state)s).") % {"state": giveaway.state}, status=409
        )


def _network_refusal(exc: NetworkError) -> GiveawayError:
    return GiveawayError(
        _("The network or the beacon refused: %(reason)s") % {"reason": exc.message}, status=502
    )


def rules_document(giveaway: Giveaway, chain: beacon.Chain, announced_at: dt.datetime) -> dict[str, Any]:
    round_number = chain.first_round_after(giveaway.ends_at + CLOSE_WINDOW)
    return {
        "format": procedure.RULES_FORMAT,
        "procedure": procedure.PROCEDURE,
        "title": giveaway.title,
        "prize": giveaway.prize,
        "network": giveaway.channel.network,
        "community": giveaway.channel.remote_id,
        "community_name": giveaway.channel.name,
        "post": giveaway.post_remote_id,
        "conditions": {
            "member": giveaway.require_member,
            "like": giveaway.require_like,
            "repost": giveaway.require_repost,
            "comment_keyword": giveaway.comment_keyword,
        },
        "exclusions": {"staff": giveaway.exclude_staff, "ids": list(giveaway.excluded_ids)},
        "period": {"starts_at": giveaway.starts_at.isoformat(), "ends_at": giveaway.ends_at.isoformat()},
        "close_by": (giveaway.ends_at + CLOSE_WINDOW).isoformat(),
        "winners": giveaway.winners,
        "reserve": giveaway.reserve,
        "beacon": {
            "url": giveaway.beacon_url,
            "chain_hash": chain.hash,
            "scheme": chain.scheme,
            "period": chain.period,
            "genesis_time": chain.genesis_time,
            "round": round_number,
            "round_time": chain.time_of(round_number).isoformat(),
        },
        "announced_at": announced_at.isoformat(),
    }


def _conditions_text(giveaway: Giveaway) -> str:
    lines = []
    if giveaway.require_member:
        lines.append(_("be a member of %(name)s") % {"name": giveaway.channel.name})
    if giveaway.require_like:
        lines.append(_("like this post"))
    if giveaway.require_repost:
        lines.append(_("repost this post"))
    if giveaway.comment_keyword:
        lines.append(_("comment with the word “%(word)s”") % {"word": giveaway.comment_keyword})
    return "\n".join(f"— {line}" for line in lines)


def _draft_post(actor: Actor, giveaway: Giveaway, title: str, text: str) -> int:
    post = planning.create_post(
        actor,
        planning.PostInput(
            title=title,
            text=text,
            variants=(planning.VariantInput(channel_id=giveaway.channel_id),),
        ),
    )
    return int(post.pk)


def announce(actor: Actor, giveaway_id: int) -> Giveaway:
    """Freeze the rules (beacon round named), publish them on the public page and draft the rules
    post for the manager to check and publish through the composer."""
    _require(actor, Perm.GIVEAWAYS_MANAGE)
    giveaway = get_giveaway(actor, giveaway_id)
    _state(giveaway, Giveaway.State.DRAFT)
    now = clock.now()
    if giveaway.ends_at <= now:
        raise GiveawayError(_("The entries already ended; choose a later end."), "ends_at", 409)
    try:
        chain = beacon.chain_info(giveaway.beacon_url, giveaway.chain_hash)
    except NetworkError as exc:
        raise _network_refusal(exc) from exc
    rules = rules_document(giveaway, chain, now)
    with transaction.atomic():
        giveaway.rules_json = procedure.canonical(rules).decode()
        giveaway.beacon_round = rules["beacon"]["round"]
        giveaway.state = Giveaway.State.ANNOUNCED
        text = "\n\n".join(
            [
                f"🎁 {giveaway.title}" + (f"\n{giveaway.prize}" if giveaway.prize else ""),
                _("To take part until %(end)s:") % {"end": giveaway.ends_at.strftime("%Y-%m-%d %H:%M UTC")}
                + "\n"
                + _conditions_text(giveaway),
                _(
                    "Winners: %(winners)s, drawn with the drand beacon's round %(round)s, which nobody "
                    "knows yet. The rules' SHA-256: %(hash)s. Rules, list and check: %(url)s"
                )
                % {
                    "winners": giveaway.winners,
                    "round": giveaway.beacon_round,
                    "hash": rules_hash(giveaway),
                    "url": public_url(giveaway),
                },
            ]
        )
        giveaway.rules_post_id = _draft_post(
            actor, giveaway, _("Giveaway: %(t)s") % {"t": giveaway.title}, text
        )
        giveaway.save()
        record(actor.workspace_id, actor, "giveaway.announce", "giveaway", giveaway.pk, rules_hash(giveaway))
    return giveaway


def contest_post(giveaway: Giveaway) -> str:
    """The post whose likes, reposts and comments count: the one named, else the published rules post."""
    if giveaway.post_remote_id:
        return giveaway.post_remote_id
    if giveaway.rules_post_id is not None:
        for target in publishing.post_targets(giveaway.workspace_id, giveaway.rules_post_id):
            if target.channel_id == giveaway.channel_id and target.published and target.remote_id:
                return target.remote_id
    return ""


def _people(ids: Sequence[str]) -> set[str]:
    """People only (a community's own comments carry its negative id)."""
    return {i for i in ids if i.isdigit()}


@dataclass
class _Sets:
    likers: set[str] | None = None
    reposters: set[str] | None = None
    commenters: set[str] | None = None
    staff: set[str] | None = None


def _read_sets(adapter: Adapter, access: ChannelAccess, giveaway: Giveaway, post: str) -> _Sets:
    sets = _Sets()
    if giveaway.require_like:
        sets.likers = _people(adapter.post_likers(access, post))
    if giveaway.require_repost:
        sets.reposters = _people(adapter.post_reposters(access, post))
    if giveaway.comment_keyword:
        word = giveaway.comment_keyword.casefold()
        sets.commenters = _people(
            [
                c.author.remote_id
                for c in adapter.read_comments(access, post)
                if not c.deleted
                and word in c.text.casefold()
                and giveaway.starts_at <= c.created_at <= giveaway.ends_at
            ]
        )
    if giveaway.exclude_staff:
        sets.staff = _people(adapter.community_staff(access))
    return sets


def _collect(adapter: Adapter, access: ChannelAccess, giveaway: Giveaway, post: str) -> list[str]:
    sets = _read_sets(adapter, access, giveaway, post)
    chosen = [s for s in (sets.likers, sets.reposters, sets.commenters) if s is not None]
    pool = set.intersection(*chosen) if chosen else _people(adapter.community_members(access))
    if giveaway.require_member and chosen:
        members = adapter.membership(access, sorted(pool))
        pool = {u for u in pool if members.get(u)}
    pool -= set(giveaway.excluded_ids)
    pool -= sets.staff or set()
    return procedure.frozen_list(sorted(pool))


def close(actor: Actor, giveaway_id: int) -> Giveaway:
    """Collect the entrants from the network, freeze, sort and hash the list (before the beacon
    round's time, or never)."""
    _require(actor, Perm.GIVEAWAYS_MANAGE)
    giveaway = get_giveaway(actor, giveaway_id)
    return _close(actor, giveaway)


def _too_late(giveaway: Giveaway) -> GiveawayError | None:
    deadline = round_time(giveaway)
    if deadline is not None and clock.now() >= deadline:
        return GiveawayError(
            _(
                "Too late: the beacon round named in the rules is already public, so a list frozen now could be chosen to suit it. Cancel this giveaway."
            ),
            status=409,
        )
    return None


def _close(actor: Actor, giveaway: Giveaway) -> Giveaway:
    """Close the entries of an announced giveaway. The list is written by one conditional update
    (still announced, still before the round's time), so a person and a worker closing at once
    freeze one list: the later one is refused and its reading dropped."""
    _state(giveaway, Giveaway.State.ANNOUNCED)
    now = clock.now()
    if now < giveaway.ends_at:
        raise GiveawayError(_("The entries are still open."), status=409)
    late = _too_late(giveaway)
    if late is not None:
        raise late
    post = contest_post(giveaway)
    needs_post = giveaway.require_like or giveaway.require_repost or bool(giveaway.comment_keyword)
    if needs_post and not post:
        raise GiveawayError(
            _("The rules post is not published yet, so there is nothing to count."), status=409
        )
    adapter = registry.adapter(giveaway.channel.network)
    try:
        ids = _collect(adapter, channels.access_for(giveaway.channel_id), giveaway, post)
    except NetworkError as exc:
        raise _network_refusal(exc) from exc
    entrants: dict[str, Any] = {
        "format": procedure.ENTRANTS_FORMAT,
        "rules_sha256": rules_hash(giveaway),
        "post": post,
        "frozen_at": clock.now().isoformat(),
        "count": len(ids),
        "entrants": ids,
        "list_sha256": procedure.list_hash(ids),
    }
    late = _too_late(giveaway)  # reading the network took time: the round may be out now
    if late is not None:
        raise late
    with transaction.atomic():
        frozen = procedure.canonical(entrants).decode()
        if not Giveaway.objects.filter(pk=giveaway.pk, state=Giveaway.State.ANNOUNCED).update(
            entrants_json=frozen, state=Giveaway.State.CLOSED, auto_until=None, auto_note=""
        ):
            raise GiveawayError(_("This giveaway was closed meanwhile."), status=409)
        record(actor.workspace_id, actor, "giveaway.close", "giveaway", giveaway.pk, entrants["list_sha256"])
    giveaway.refresh_from_db()
    return giveaway


def _recheck(
    adapter: Adapter, access: ChannelAccess, giveaway: Giveaway, post: str, order: Sequence[str]
) -> list[procedure.Recheck]:
    sets = _read_sets(adapter, access, giveaway, post)
    members = adapter.membership(access, list(order)) if giveaway.require_member else {}
    out = []
    for entrant in order:
        reason = ""
        if giveaway.require_member and not members.get(entrant):
            reason = "left"
        elif sets.likers is not None and entrant not in sets.likers:
            reason = "unliked"
        elif sets.reposters is not None and entrant not in sets.reposters:
            reason = "unreposted"
        elif sets.commenters is not None and entrant not in sets.commenters:
            reason = "comment_gone"
        elif sets.staff is not None and entrant in sets.staff:
            reason = "staff"
        out.append(procedure.Recheck(entrant, not reason, reason))
    return out


def draw(actor: Actor, giveaway_id: int) -> Giveaway:
    """Read the named beacon round, draw winners and reserve, re-check the drawn against the
    network, publish the draw file and draft the results post."""
    _require(actor, Perm.GIVEAWAYS_MANAGE)
    giveaway = get_giveaway(actor, giveaway_id)
    return _draw(actor, giveaway)


def _draw(actor: Actor, giveaway: Giveaway) -> Giveaway:
    """Draw a closed giveaway. The draw and its results post are written by one conditional
    update (still closed), so a person and a worker drawing at once draw once."""
    _state(giveaway, Giveaway.State.CLOSED)
    rules = json.loads(giveaway.rules_json)
    entrants = json.loads(giveaway.entrants_json)
    named = rules["beacon"]
    if clock.now() < dt.datetime.fromisoformat(named["round_time"]):
        raise GiveawayError(
            _("The beacon's round %(round)s comes at %(time)s; draw after it.")
            % {"round": named["round"], "time": named["round_time"]},
            status=409,
        )
    try:
        value = beacon.fetch_round(named["url"], named["chain_hash"], int(named["round"]))
        seed = procedure.seed_of(entrants["list_sha256"], value.randomness)
        order = procedure.draw_order(entrants["entrants"], seed, giveaway.winners + giveaway.reserve)
        adapter = registry.adapter(giveaway.channel.network)
        rechecks = _recheck(
            adapter, channels.access_for(giveaway.channel_id), giveaway, entrants["post"], order
        )
    except NetworkError as exc:
        raise _network_refusal(exc) from exc
    record_doc = procedure.make_draw(
        rules,
        entrants,
        {
            "chain_hash": named["chain_hash"],
            "round": value.round,
            "randomness": value.randomness,
            "signature": value.signature,
        },
        rechecks,
        clock.now(),
    )
    with transaction.atomic():
        if not Giveaway.objects.filter(pk=giveaway.pk, state=Giveaway.State.CLOSED).update(
            state=Giveaway.State.DRAWN, auto_until=None, auto_note=""
        ):
            raise GiveawayError(_("This giveaway was drawn meanwhile."), status=409)
        giveaway.draw_json = procedure.canonical(record_doc).decode()
        giveaway.state = Giveaway.State.DRAWN
        giveaway.results_post_id = _draft_post(
            actor, giveaway, _("Giveaway results: %(t)s") % {"t": giveaway.title}, results_text(giveaway)
        )
        giveaway.save(update_fields=["draw_json", "results_post_id"])
        record(
            actor.workspace_id,
            actor,
            "giveaway.draw",
            "giveaway",
            giveaway.pk,
            ", ".join(record_doc["winners"]),
        )
    return giveaway


def person_link(network: str, remote_id: str) -> str:
    return f"@id{remote_id}" if network == "vk" else remote_id


def results_text(giveaway: Giveaway) -> str:
    doc = draw_record(giveaway)
    network = giveaway.channel.network
    lines = [_("🎉 Winners of “%(t)s”:") % {"t": giveaway.title}]
    lines += [f"{i}. {person_link(network, w)}" for i, w in enumerate(doc["winners"], 1)]
    replaced = [r for r in doc["rechecks"] if not r["eligible"]]
    if replaced:
        lines.append("")
        lines.append(_("Drawn but not eligible at the draw:"))
        lines += [
            f"— {person_link(network, r['entrant'])}: {REASONS.get(r['reason'], r['reason'])}"
            for r in replaced
        ]
    lines.append("")
    lines.append(
        _(
            "Entrants: %(n)s, list SHA-256 %(list)s; drand round %(round)s, randomness %(rand)s. "
            "Check the draw yourself: %(url)s"
        )
        % {
            "n": len(json.loads(giveaway.entrants_json)["entrants"]),
            "list": doc["list_sha256"],
            "round": doc["beacon"]["round"],
            "rand": doc["beacon"]["randomness"],
            "url": public_url(giveaway),
        }
    )
    return "\n".join(lines)


def cancel(actor: Actor, giveaway_id: int) -> Giveaway:
    _require(actor, Perm.GIVEAWAYS_MANAGE)
    giveaway = get_giveaway(actor, giveaway_id)
    _state(giveaway, Giveaway.State.DRAFT, Giveaway.State.ANNOUNCED, Giveaway.State.CLOSED)
    # Conditional, like closing and drawing: a worker that drew meanwhile wins, and says so.
    if not Giveaway.objects.filter(pk=giveaway.pk, state=giveaway.state).update(
        state=Giveaway.State.CANCELLED, auto_until=None
    ):
        raise GiveawayError(_("This giveaway changed meanwhile; look at it again."), status=409)
    giveaway.state = Giveaway.State.CANCELLED
    record(actor.workspace_id, actor, "giveaway.cancel", "giveaway", giveaway.pk, giveaway.title)
    return giveaway


# -- the worker: closing at the end time, drawing once the round is out ------------------------

#: How long a worker holds a giveaway it closes or draws (the network's reads take a while).
AUTO_LEASE = dt.timedelta(minutes=10)
#: After a failed try, when the worker tries again (the round comes within seconds of its time;
#: a network's refusal may pass).
AUTO_RETRY = dt.timedelta(minutes=2)


def _rupor(workspace_id: int) -> Actor:
    """Rupor acting by itself in a workspace: the audit trail names no person ("automatic")."""
    return Actor(workspace_id, Role.OWNER)


def _claim(giveaway: Giveaway, now: dt.datetime) -> bool:
    """Take the giveaway for this worker (one conditional update: free, or its lease ran out)."""
    return bool(
        Giveaway.objects.filter(pk=giveaway.pk, state=giveaway.state)
        .filter(Q(auto_until__isnull=True) | Q(auto_until__lte=now))
        .update(auto_until=now + AUTO_LEASE)
    )


def _wait(giveaway: Giveaway, now: dt.datetime, why: str) -> None:
    Giveaway.objects.filter(pk=giveaway.pk, state=giveaway.state).update(
        auto_until=now + AUTO_RETRY, auto_note=why[:300]
    )


def _tell_drawn(giveaway: Giveaway) -> None:
    notifications.notify_event(
        giveaway.workspace_id,
        "giveaway_drawn",
        _("“%(title)s” was drawn at its beacon round; the results post waits for you to publish it.")
        % {"title": giveaway.title},
        link=f"/giveaways/{giveaway.pk}/",
        target_id=giveaway.pk,
        user_ids=[giveaway.created_by_id] if giveaway.created_by_id else None,
    )


def run_due(now: dt.datetime) -> int:
    """The worker's job: close each announced giveaway whose entries ended, and draw each closed
    one once its named drand round is out. Each giveaway is claimed by a conditional update
    (several workers act once) and written by another (a person pressing the button meanwhile
    wins); a failure is noted on the giveaway and tried again after AUTO_RETRY. A giveaway whose
    round came before it could be closed is left for a person to cancel. Returns how many it
    closed or drew."""
    acted = 0
    free = Q(auto_until__isnull=True) | Q(auto_until__lte=now)
    for giveaway in Giveaway.objects.select_related("channel").filter(
        free, state=Giveaway.State.ANNOUNCED, ends_at__lte=now
    ):
        late = _too_late(giveaway)
        if late is not None:
            if giveaway.auto_note != late.message[:300]:
                Giveaway.objects.filter(pk=giveaway.pk).update(auto_note=late.message[:300])
            continue
        if not _claim(giveaway, now):
            continue
        try:
            _close(_rupor(giveaway.workspace_id), giveaway)
        except GiveawayError as exc:
            _wait(giveaway, now, exc.message)
            continue
        acted += 1
    for giveaway in Giveaway.objects.select_related("channel").filter(free, state=Giveaway.State.CLOSED):
        due = round_time(giveaway)
        if due is None or now < due or not _claim(giveaway, now):
            continue
        try:
            drawn = _draw(_rupor(giveaway.workspace_id), giveaway)
        except GiveawayError as exc:
            _wait(giveaway, now, exc.message)
            continue
        _tell_drawn(drawn)
        acted += 1
    return acted
