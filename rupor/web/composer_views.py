"""The posts list and the composer: writing a post with a variant per channel, its media, its
review. The composer's rules (buttons, approval gate, checks) are planning's compose action
(``planning/compose.py``); these views parse the form, call it and render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts.models import Workspace
from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core.timezones import LocalTimeError, to_utc
from rupor.links import service as links
from rupor.networks import registry
from rupor.networks.thread import join_parts, split_for, supports_thread
from rupor.planning import approvals, compose, conventions
from rupor.planning import content as planned_content
from rupor.planning import media as media_lib
from rupor.planning import polls as planned_polls
from rupor.planning import service as planning
from rupor.planning.models import Media, Post, PostVariant, Review, Rubric
from rupor.web import forms, previews, traffic_views
from rupor.web.base import WorkspaceRequest, _actor, _get_channel, _target_rows, _ws, workspace_view

# -- posts -------------------------------------------------------------------------------


POST_STATUS_FILTERS = [Post.Status.DRAFT, Post.Status.SCHEDULED, Post.Status.IN_REVIEW, Post.Status.CANCELLED]


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def post_list(request: WorkspaceRequest) -> HttpResponseBase:
    ws = _ws(request)
    status = request.GET.get("status", "")
    if status not in dict(planning.SHOWN_STATUSES):
        status = ""
    channel_id = forms.parse_id(request.GET.get("channel"))
    qs = planning.list_posts(ws.pk, status=status or None, channel_id=channel_id).order_by(
        F("scheduled_at").desc(nulls_first=True), "-id"
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    posts = list(planning.with_publication(list(page.object_list)))
    rows = _target_rows(posts)
    return render(
        request,
        "web/posts.html",
        {
            "page": page,
            "items": [{"post": p, "targets": rows[p.pk]} for p in posts],
            "status": status,
            "channel_id": channel_id,
            "statuses": planning.SHOWN_STATUSES,
            "channels": list(channels.list_channels(ws.pk)),
            "filtered": bool(status or channel_id),
        },
    )


def _queue_url() -> str:
    try:
        return reverse("web:queue")
    except NoReverseMatch:
        return "/queue/"


def _composer_actions(request: WorkspaceRequest, post: Post | None) -> dict[str, Any]:
    """What the composer's buttons say (which ones are offered is planning's: compose.offer)."""
    offered = compose.offer(_actor(request), post)
    if offered.published:
        return _published_actions(offered)
    needs_review, may_approve = offered.needs_review, offered.may_approve
    if needs_review and may_approve and offered.by_client:
        schedule_label = _("Send to the client")
        note = _(
            "The client approves posts in this workspace: this sends the post to the client, and it is scheduled once they approve."
        )
    elif needs_review and may_approve:
        schedule_label = _("Approve and schedule")
        note = _(
            "Posts in this workspace are approved before they are scheduled; scheduling it yourself counts as your approval."
        )
    elif needs_review:
        schedule_label = ""
        note = _(
            "Posts in this workspace are approved before they are scheduled: submit it for review, and a reviewer's approval schedules it for its time."
        )
        if offered.by_client:
            note = _(
                "Posts in this workspace are approved by a reviewer and then by the client before they are scheduled: submit it for review."
            )
    else:
        schedule_label = _("Update schedule") if offered.status == Post.Status.SCHEDULED else _("Schedule")
        note = "" if offered.may_publish else _("Your role writes drafts; a manager schedules them.")
    if offered.approved and offered.mode != Workspace.Approval.NONE:
        note = _("Approved. Changing the text, media or channels withdraws the approval.")
    return {
        "save_label": _("Save changes") if post and offered.status != Post.Status.DRAFT else _("Save draft"),
        "unschedule": offered.unschedule,
        "schedule": offered.schedule,
        "schedule_label": schedule_label,
        "now": offered.now,
        "queue": offered.queue,
        "submit": offered.submit,
        "note": note,
        "warn": needs_review and not may_approve,
    }


def _published_actions(offered: compose.Offer) -> dict[str, Any]:
    """A post that is being or has been published keeps its time; a saved change goes out as an
    edit where the network allows it, and the page says where it does not."""
    fixed = offered.fixed_networks
    note = _(
        "Published: it stays at the time it went out. Saving a change sends it to the networks as an edit."
    )
    if fixed:
        note = _(
            "Published: it stays at the time it went out. %(networks)s cannot edit a published post, so a change "
            "to this post is refused; write a new post instead."
        ) % {"networks": ", ".join(fixed)}
    return {
        "save_label": _("Save and edit on the networks") if not fixed else _("Save changes"),
        "unschedule": False,
        "schedule": False,
        "schedule_label": "",
        "now": False,
        "queue": False,
        "submit": False,
        "note": note,
        "warn": bool(fixed),
        "published": True,
    }


def _review_context(request: WorkspaceRequest, post: Post, **extra: Any) -> dict[str, Any]:
    ws = _ws(request)
    role = request.role
    may_approve = can(role, Perm.POSTS_APPROVE)
    status = post.status
    mode = ws.approval
    context = {
        "post": post,
        "mode": mode,
        "reviews": [
            {
                "decision": r.decision,
                "label": Review.Decision(r.decision).label,
                "stage_label": Review.Stage(r.stage).label,
                # The client sees decisions, not the team's email addresses.
                "actor": r.actor if can(role, Perm.POSTS_INTERNAL) or r.actor == request.user.email else "",
                "at": r.at,
                "comment": r.comment,
            }
            for r in approvals.reviews(ws.pk, post.pk)
        ],
        "can_approve": may_approve and status == Post.Status.IN_REVIEW,
        "can_request_changes": may_approve
        and mode != Workspace.Approval.NONE
        and status
        in (Post.Status.IN_REVIEW, Post.Status.CLIENT_REVIEW, Post.Status.APPROVED, Post.Status.SCHEDULED),
        "can_reject": may_approve and status in (Post.Status.IN_REVIEW, Post.Status.CLIENT_REVIEW),
        "can_link": may_approve and mode == Workspace.Approval.CLIENT and status == Post.Status.CLIENT_REVIEW,
        "fingerprint": approvals.content_fingerprint(post) if status in approvals.AWAITING_DECISION else "",
        # a reviewer sees what the composer warned about: one text sent everywhere
        "same": conventions.same_texts(
            [
                conventions.VariantText(
                    v.channel_id,
                    conventions.label(v.channel.name, v.channel.network),
                    v.channel.network,
                    v.text,
                )
                for v in post.variants.all()
            ]
        ),
        "error": "",
        "comment": "",
        "new_link": None,
    }
    context.update(extra)
    return context


def _local_input(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime(forms.LOCAL_INPUT_FORMAT) if value else ""


def _aware(ws: Workspace, naive: dt.datetime | None) -> dt.datetime | None:
    if naive is None:
        return None
    try:
        return to_utc(naive, ws.timezone)
    except LocalTimeError:  # a time inside a DST gap: the service explains it on save
        return None


def _draft_of(variant: PostVariant) -> forms.VariantDraft:
    poll = variant.poll or {}
    options = [str(o) for o in poll.get("options", [])] or ["", ""]
    while len(options) < 2:
        options.append("")
    draft = forms.VariantDraft(
        channel_id=variant.channel_id,
        text=variant.text,
        follows=variant.text == variant.post.text,
        media_ids=[vm.media_id for vm in variant.variantmedia_set.all()],
        link=variant.link,
        first_comment=variant.first_comment,
        poll_on=bool(variant.poll),
        poll_question=str(poll.get("question", "")),
        poll_options=options,
        poll_multiple=bool(poll.get("multiple", False)),
        poll_anonymous=bool(poll.get("anonymous", True)),
        poll_correct=str(poll["correct_option"] + 1) if isinstance(poll.get("correct_option"), int) else "",
        poll_explanation=str(poll.get("explanation", "")),
        poll_minutes=str(poll["minutes"]) if isinstance(poll.get("minutes"), int) else "",
        html=(variant.options or {}).get("format") == "html",
        alt_text="\n".join(str(a) for a in (variant.options or {}).get("alt") or ()),
        spoiler_text=str((variant.options or {}).get("spoiler_text", "")),
        visibility=str((variant.options or {}).get("visibility", "")),
        language=str((variant.options or {}).get("language", "")),
        thread_text=join_parts([str(t) for t in (variant.options or {}).get("thread") or ()]),
        plain_links=(variant.options or {}).get(links.VARIANT_SWITCH, True) is False,
    )
    for attr, key in forms.YOUTUBE_OPTIONS.items():
        setattr(draft, attr, _youtube_value(key, (variant.options or {}).get(key)))
    return draft


def _youtube_value(key: str, value: object) -> str:
    """A saved YouTube option as its composer field shows it (tags joined, the time as typed)."""
    if value is None:
        return ""
    if key == "tags" and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if key == "publish_at":
        return str(value).removesuffix(":00Z").removesuffix("Z")[:16]
    return str(value)


def _composer_state(
    request: HttpRequest, post: Post | None, channel_list: list[Channel]
) -> tuple[str, list[int], dict[int, forms.VariantDraft]]:
    """(shared text, shared media ids, each channel's variant) as typed, or as saved when editing."""
    if request.method == "POST":
        shared_text = request.POST.get("text", "")
        shared_media = forms.read_ids(request.POST.getlist("media"))
        drafts = {
            c.pk: forms.read_variant(request.POST, c.pk, shared_text=shared_text, shared_media=shared_media)
            for c in channel_list
        }
        return shared_text, shared_media, drafts
    shared_text = post.text if post else ""
    variants = {v.channel_id: v for v in post.variants.all()} if post else {}
    drafts = {c.pk: _draft_of(variants[c.pk]) for c in channel_list if c.pk in variants}
    lists = [d.media_ids for d in drafts.values()]
    shared_media = max(lists, key=lists.count) if lists else []
    for c in channel_list:
        draft = drafts.get(c.pk)
        if draft is None:
            drafts[c.pk] = forms.VariantDraft(channel_id=c.pk, text=shared_text, media_ids=list(shared_media))
        else:
            draft.media_follows = draft.media_ids == shared_media
    return shared_text, shared_media, drafts


def _same_texts(
    channel_list: list[Channel], checked: set[int], drafts: dict[int, forms.VariantDraft]
) -> list[conventions.SameText]:
    """The chosen channels whose variants carry the same text on different networks."""
    return conventions.same_texts(
        [
            conventions.VariantText(c.pk, conventions.label(c.name, c.network), c.network, drafts[c.pk].text)
            for c in channel_list
            if c.pk in checked and c.pk in drafts
        ]
    )


def _link_context(request: HttpRequest, post: Post | None) -> dict[str, Any]:
    """What the preview tags links with: the post (its id, variants), its rubric and title as typed."""
    ws = _ws(request)
    source = request.POST if request.method == "POST" else None
    title = source.get("title", "") if source is not None else (post.title if post else "")
    rubric_id = (
        forms.parse_id(source.get("rubric")) if source is not None else (post.rubric_id if post else None)
    )
    rubric = (
        Rubric.objects.filter(workspace_id=ws.pk, pk=rubric_id).values_list("name", flat=True).first()
        if rubric_id
        else None
    )
    variants = {v.channel_id: v.pk for v in post.variants.all()} if post else {}
    return {
        "workspace_id": ws.pk,
        "post_id": post.pk if post else None,
        "variants": variants,
        "title": title,
        "rubric": rubric or "",
        "conv": links.conventions(ws.pk),
    }


def _tracked(channel: Channel, draft: forms.VariantDraft, ctx: dict[str, Any] | None) -> links.Tracked:
    """The variant's text, link and first comment as they will be published (links tagged and
    shortened by the workspace's conventions; nothing is stored for a preview)."""
    if ctx is None:
        return links.Tracked(draft.text, draft.link or None, draft.first_comment or None)
    ref = links.VariantRef(
        workspace_id=ctx["workspace_id"],
        post_id=ctx["post_id"],
        variant_id=ctx["variants"].get(channel.pk),
        channel_id=channel.pk,
        network=channel.network,
        rubric=ctx["rubric"],
        title=ctx["title"],
        enabled=not draft.plain_links,
        html=draft.html,
    )
    return links.track(
        ref,
        text=draft.text,
        link=draft.link or None,
        first_comment=draft.first_comment or None,
        store=False,
        conv=ctx["conv"],
    )


def _variant_preview(
    channel: Channel,
    draft: forms.VariantDraft,
    media: dict[int, Media],
    when: dt.datetime | None,
    link_ctx: dict[str, Any] | None = None,
) -> dict[str, Any]:
    items = [media[m] for m in draft.media_ids if m in media]
    tracked = _tracked(channel, draft, link_ctx)
    preview = previews.content_preview(
        channel,
        text=tracked.text,
        media=items,
        link=tracked.link or "",
        poll=draft.poll(),
        first_comment=tracked.first_comment or "",
        when=when,
        options=draft.options(),
    )
    preview["tracked"] = tracked.changes
    preview["links_on"] = bool(link_ctx and link_ctx["conv"].active)
    missing = [m for m in draft.media_ids if m not in media]
    if missing:
        preview["problems"].insert(
            0, _("Media %(id)s is not in this workspace's library.") % {"id": missing[0]}
        )
    return preview


def _save_post(
    request: WorkspaceRequest,
    post: Post | None,
    form: forms.PostForm,
    chosen: list[Channel],
    drafts: dict[int, forms.VariantDraft],
    rows: list[dict[str, Any]],
) -> HttpResponseBase | dict[str, Any]:
    """Apply the composer's button through planning's compose action; a response on success,
    else the extra context of the refusal (its reasons bound to the form's fields)."""
    data = form.cleaned_data
    legacy = data.get("status") or ""
    action = data.get("action") or ("schedule" if legacy == Post.Status.SCHEDULED else "save")
    intent = compose.Intent(action)
    variants = tuple(
        planning.VariantInput(
            channel_id=c.pk,
            text=drafts[c.pk].text if not drafts[c.pk].follows else None,
            link=drafts[c.pk].link,
            poll=drafts[c.pk].poll(),
            first_comment=drafts[c.pk].first_comment,
            media_ids=tuple(drafts[c.pk].media_ids),
            options={
                **{
                    k: v
                    for k, v in post_variant_options(post, c.pk).items()
                    if k not in forms.COMPOSER_OPTIONS
                },
                **drafts[c.pk].options(),
            },
        )
        for c in chosen
    )
    fields = compose.COMPOSER_FIELDS | ({"status"} if intent == compose.Intent.SAVE and legacy else set())
    result = compose.compose(
        compose.ComposeRequest(
            actor=_actor(request),
            post=planning.PostInput(
                title=data["title"],
                text=data["text"],
                rubric_id=data["rubric"],
                status=legacy or (post.status if post else Post.Status.DRAFT),
                scheduled_at=data["scheduled_at"],
                variants=variants,
                notes=post.notes if post else "",
                publish_late=post.publish_late if post else False,
            ),
            intent=intent,
            post_id=post.pk if post else None,
            fields=frozenset(fields),
        )
    )
    if result.post is not None and result.ok:
        return _after_save(request, result.post, action)
    return _bind_refusal(form, result, rows)


def _bind_refusal(
    form: forms.PostForm, result: compose.ComposeResult, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Show a refused save on the composer: each reason on its field, unfit channels marked."""
    if result.status == 404:
        raise Http404
    if result.reason == compose.Reason.NO_QUEUE_SLOT:
        return {"queue_error": True}
    if result.reason == compose.Reason.NO_CHANNELS:
        form.add_error("channels", result.refusals[0].message)
        return {}
    if result.reason == compose.Reason.UNFIT:
        unfit = {r.channel_id for r in result.refusals}
        for row in rows:
            if row["channel"].pk in unfit:
                row["refused"] = True
        form.add_error(
            None, _("Some variants do not fit their networks; fix what is marked in each channel below.")
        )
        return {}
    error = result.error
    if error is not None and error.errors:
        for problem in error.errors:
            form.add_error(None, problem.message)
        return {}
    refusal = result.refusals[0]
    if refusal.field.startswith("variants"):
        form.add_error("channels", refusal.message)
    elif refusal.field in ("scheduled_at", "title", "text"):
        form.add_error(refusal.field, refusal.message)
    elif refusal.field == "rubric_id":
        form.add_error("rubric", refusal.message)
    else:
        form.add_error(None, refusal.message)
    return {}


def post_variant_options(post: Post | None, channel_id: int) -> dict[str, Any]:
    """The options a saved variant already has (kept when the composer saves it again)."""
    if post is None:
        return {}
    for variant in post.variants.all():
        if variant.channel_id == channel_id:
            return dict(variant.options or {})
    return {}


def _after_save(request: WorkspaceRequest, saved: Post, action: str) -> HttpResponseBase:
    tz = _ws(request).timezone
    when = timezone.localtime(saved.scheduled_at).strftime("%Y-%m-%d %H:%M") if saved.scheduled_at else ""
    status = saved.status
    if status == Post.Status.SCHEDULED and action == "now":
        messages.success(request, _("Publishing now. Follow its state on each channel in the list below."))
    elif status == Post.Status.SCHEDULED and action == "queue":
        messages.success(
            request,
            _("Added to the queue: it takes the slot on %(when)s (%(tz)s).") % {"when": when, "tz": tz},
        )
    elif status == Post.Status.SCHEDULED:
        messages.success(request, _("Scheduled for %(when)s (%(tz)s).") % {"when": when, "tz": tz})
    elif status == Post.Status.IN_REVIEW:
        messages.success(request, _("Sent for review. It is scheduled once a reviewer approves it."))
    elif status == Post.Status.CLIENT_REVIEW:
        messages.success(
            request,
            _("Approved on your side; now it waits for the client. Get a review link for them below."),
        )
        return redirect("web:post_edit", saved.pk)
    elif status == Post.Status.APPROVED:
        messages.success(request, _("Approved. It has no time ahead yet: pick a time to schedule it."))
    elif action == "queue" and when:
        messages.success(
            request,
            _("The post takes the queue slot on %(when)s (%(tz)s); a manager schedules it.")
            % {"when": when, "tz": tz},
        )
    else:
        messages.success(request, _("Draft saved."))
    return redirect("web:posts")


def _post_form_page(request: WorkspaceRequest, post: Post | None) -> HttpResponseBase:
    ws = _ws(request)
    channel_list = list(channels.list_channels(ws.pk))
    rubrics = [(r.pk, r.name) for r in ws.rubrics.all()]
    statuses = compose.statuses_offered(_actor(request), post.status if post else None)
    initial: dict[str, Any] = {"channels": []}
    if post is not None:
        initial = {
            "title": post.title,
            "text": post.text,
            "rubric": post.rubric_id,
            "channels": [v.channel_id for v in post.variants.all()],
            "scheduled_at": _local_input(post.scheduled_at),
        }
    else:
        wanted = request.GET.get("scheduled_at", "")
        try:
            if forms.parse_local_time(wanted):
                initial["scheduled_at"] = wanted[:16]
        except djforms.ValidationError:
            pass
    form = forms.PostForm(
        request.POST or None,
        initial=initial,
        channels=[(c.pk, c.name) for c in channel_list],
        rubrics=rubrics,
        statuses=statuses,
    )
    checked = set(
        forms.read_ids(request.POST.getlist("channels") if request.method == "POST" else initial["channels"])
    )
    _shared_text, shared_media, drafts = _composer_state(request, post, channel_list)
    wanted_ids = set(shared_media) | {m for d in drafts.values() for m in d.media_ids}
    library = {m.pk: m for m in Media.objects.filter(workspace_id=ws.pk, pk__in=wanted_ids)}
    if request.method == "POST":
        try:
            naive = forms.parse_local_time(request.POST.get("scheduled_at", ""))
        except djforms.ValidationError:
            naive = None
        when = _aware(ws, naive)
    else:
        when = (
            post.scheduled_at if post else _aware(ws, forms.parse_local_time(initial.get("scheduled_at", "")))
        )
    rows = []
    link_ctx = _link_context(request, post)
    for c in channel_list:
        draft = drafts[c.pk]
        preview = _variant_preview(c, draft, library, when, link_ctx)
        rows.append(
            {
                "channel": c,
                "checked": c.pk in checked,
                "draft": draft,
                "text": draft.text,
                "follows": draft.follows,
                "media": [library[m] for m in draft.media_ids if m in library],
                "preview": preview,
                "refused": False,
                "poll_max": _poll_max(c),
                "poll_kind": planned_polls.kind_for(c.network),
                "poll_quiz": planned_polls.quizzes(c.network),
                "poll_results": planned_polls.results(c.network),
                "thread": c.network in registry.available() and supports_thread(registry.adapter(c.network)),
                "convention": conventions.convention(c.network),
                "media_field": f"variant_media_{c.pk}",
                "id_suffix": str(c.pk),
            }
        )
    same = _same_texts(channel_list, checked, drafts)
    copied = {key for group in same for key in group.keys}
    for c, row in zip(channel_list, rows, strict=True):  # a copying variant opens its network's conventions
        row["copied"] = c.pk in copied
    extra: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        chosen = [c for c in channel_list if c.pk in set(form.cleaned_data["channels"])]
        outcome = _save_post(request, post, form, chosen, drafts, rows)
        if isinstance(outcome, HttpResponseBase):
            return outcome
        extra = outcome
    return render(
        request,
        "web/post_form.html",
        {
            "form": form,
            "post": post,
            "variant_rows": rows,
            "same": same,
            "tz": ws.timezone,
            "shared_media": [library[m] for m in shared_media if m in library],
            "actions": _composer_actions(request, post),
            "review": _review_context(request, post) if post is not None else None,
            "post_links": _post_links(request, post),
            "post_results": traffic_views.post_results(request, post),
            "queue_url": _queue_url(),
            "max_photo_mb": media_lib.MAX_PHOTO_BYTES // (1024 * 1024),
            "max_video_mb": media_lib.MAX_VIDEO_BYTES // (1024 * 1024),
            **extra,
        },
        status=400 if (form.is_bound and form.errors) or extra else 200,
    )


def _post_links(request: HttpRequest, post: Post | None) -> list[links.LinkRow]:
    """The post's short links with their clicks, for those who may read analytics."""
    actor = _actor(request)
    if post is None or not actor.can(Perm.ANALYTICS_VIEW):
        return []
    return links.links_table(actor, post_id=post.pk)


def _poll_max(channel: Channel) -> int:
    if not planned_polls.native(channel.network):
        return planned_polls.KEYWORD_OPTIONS_MAX
    if channel.network in registry.available():
        return planned_content.channel_limits(channel).poll_options_max or 10
    return 10


@workspace_view(Perm.POSTS_EDIT)
@require_http_methods(["GET", "POST"])
def post_new(request: WorkspaceRequest) -> HttpResponseBase:
    return _post_form_page(request, None)


def _get_post(request: WorkspaceRequest, post_id: int) -> Post:
    try:
        post = planning.get_post(_ws(request).pk, post_id)
    except planning.PlanningError as exc:
        raise Http404 from exc
    planning.with_publication([post])
    return post


@workspace_view(Perm.POSTS_EDIT)
@require_http_methods(["GET", "POST"])
def post_edit(request: WorkspaceRequest, post_id: int) -> HttpResponseBase:
    return _post_form_page(request, _get_post(request, post_id))


@workspace_view(Perm.POSTS_EDIT)
@require_http_methods(["GET", "POST"])
def post_delete(request: WorkspaceRequest, post_id: int) -> HttpResponseBase:
    post = _get_post(request, post_id)
    if request.method == "POST":
        try:
            planning.delete_post(_actor(request), post.pk)
        except planning.PlanningError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The post was deleted."))
        return redirect("web:posts")
    return render(
        request,
        "web/confirm.html",
        {
            "title": _("Delete this post?"),
            "text": str(post),
            "action": _("Delete post"),
            "cancel_url": reverse("web:posts"),
        },
    )


@workspace_view(Perm.POSTS_EDIT)
@require_POST
def post_thread_split(request: WorkspaceRequest) -> HttpResponseBase:
    """JSON: the variant's text split into posts that fit its network — the first post's text,
    and the rest as the "Thread" field's blocks (separated by lines of ``---``)."""
    try:
        channel_id = int(request.POST.get("channel", ""))
    except ValueError as exc:
        raise Http404 from exc
    channel = _get_channel(request, channel_id)
    if channel.network not in registry.available():
        raise Http404
    adapter = registry.adapter(channel.network)
    if not supports_thread(adapter):
        raise Http404
    parts = split_for(adapter, request.POST.get("text", ""), planned_content.channel_limits(channel))
    typed = request.POST.get("thread", "").strip()
    return JsonResponse({"text": parts[0] if parts else "", "thread": _joined(parts[1:], typed)})


def _joined(rest: list[str], typed: str) -> str:
    """The split-off posts, followed by the parts that were already in the field."""
    blocks = [*rest, *([typed] if typed else [])]
    return join_parts(blocks)


@workspace_view(Perm.POSTS_EDIT)
@require_POST
def post_check(request: WorkspaceRequest) -> HttpResponseBase:
    """HTMX: one variant checked live — its length in the network's unit, what does not fit its
    network (text, media, poll, link, first comment), and its preview (swapped out of band)."""
    try:
        channel_id = int(request.POST.get("channel", ""))
    except ValueError as exc:
        raise Http404 from exc
    channel = _get_channel(request, channel_id)
    ws = _ws(request)
    shared_text = request.POST.get("text", "")
    shared_media = forms.read_ids(request.POST.getlist("media"))
    draft = forms.read_variant(request.POST, channel.pk, shared_text=shared_text, shared_media=shared_media)
    library = {m.pk: m for m in Media.objects.filter(workspace_id=ws.pk, pk__in=draft.media_ids)}
    try:
        when = _aware(ws, forms.parse_local_time(request.POST.get("scheduled_at", "")))
    except djforms.ValidationError:
        when = None
    post_id = forms.parse_id(request.POST.get("post"))
    post = Post.objects.filter(workspace_id=ws.pk, pk=post_id).first() if post_id else None
    preview = _variant_preview(channel, draft, library, when, _link_context(request, post))
    # The whole form comes with each check (htmx sends the enclosing form): the chosen channels'
    # variants are compared again, and the "same text" warning is swapped out of band.
    chosen = set(forms.read_ids(request.POST.getlist("channels")))
    same: list[conventions.SameText] = []
    if chosen:
        others = [c for c in channels.list_channels(ws.pk) if c.pk in chosen]
        drafts = {
            c.pk: forms.read_variant(request.POST, c.pk, shared_text=shared_text, shared_media=shared_media)
            for c in others
        }
        same = _same_texts(others, chosen, drafts)
    context: dict[str, Any] = {
        "channel": channel,
        "p": preview,
        "length": preview["length"],
        "limit": preview["limit"],
        "unit": preview["unit"],
        "problems": preview["problems"],
        "advice": preview["advice"],
        "supported": preview["supported"],
        "over": preview["over"],
        "can_split": preview["can_split"],
        "thread_counts": preview["thread_counts"],
        "oob": request.POST.get("preview", "1") != "0",
        "same_checked": bool(chosen),
        "same": same,
    }
    return render(request, "web/_composer_check.html", context)


# -- posts: media, approvals ----------------------------------------------------------------------


def _media_json(media: Media) -> dict[str, Any]:
    thumb = media.thumbnail.url if media.thumbnail else (media.file.url if media.kind == "photo" else "")
    return {
        "id": media.pk,
        "name": media.original_name,
        "kind": media.kind,
        "thumb": thumb,
        "content_type": media.content_type,
        "size": media.size,
        "width": media.width,
        "height": media.height,
    }


@workspace_view(Perm.POSTS_EDIT)
@require_GET
def post_media_library(request: WorkspaceRequest) -> HttpResponseBase:
    """HTMX: the workspace's media library as tiles to pick from in the composer."""
    items = list(media_lib.list_media(_ws(request).pk)[:200])
    return render(
        request,
        "web/_composer_library.html",
        {"items": items, "thumbs": {m.pk: _media_json(m)["thumb"] for m in items}},
    )


@workspace_view(Perm.POSTS_EDIT)
@require_POST
def post_media_upload(request: WorkspaceRequest) -> HttpResponseBase:
    """Upload a picture or video into the library from the composer (JSON for the picker)."""
    try:
        upload = request.FILES.get("file")
    except MultiPartParserError:
        upload = None
    if upload is None:
        return JsonResponse({"error": _("Choose a picture or video to upload.")}, status=400)
    limit = media_lib.MAX_VIDEO_BYTES
    if (upload.size or 0) > limit:
        return JsonResponse(
            {
                "error": _("%(name)s is larger than %(mb)s MB.")
                % {"name": upload.name, "mb": limit // (1024 * 1024)}
            },
            status=400,
        )
    try:
        media = media_lib.save_media(
            _actor(request), upload.name or "upload", upload
        )  # streamed, never read whole
    except planning.PlanningError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse(_media_json(media), status=201)


def _review_reply(
    request: WorkspaceRequest, post: Post, *, status: int = 200, **extra: Any
) -> HttpResponseBase:
    return render(
        request, "web/_review_panel.html", {"r": _review_context(request, post, **extra)}, status=status
    )


REVIEW_DECISIONS: dict[str, Callable[..., Post]] = {
    "approve": approvals.approve,
    "request_changes": approvals.request_changes,
    "reject": approvals.reject,
    "submit": approvals.submit,
}


@workspace_view(Perm.POSTS_VIEW)
@require_POST
def post_review(request: WorkspaceRequest, post_id: int) -> HttpResponseBase:
    """Submit, approve, request changes or reject; the service checks who may do which."""
    post = _get_post(request, post_id)
    decision = request.POST.get("decision", "")
    comment = request.POST.get("comment", "")
    action = REVIEW_DECISIONS.get(decision)
    htmx = request.headers.get("HX-Request") == "true"
    if action is None:
        return HttpResponse(_("Unknown decision."), status=400)
    # An approval is of what the page showed (approvals.content_fingerprint).
    seen = {"seen": request.POST.get("fingerprint") or None} if decision == "approve" else {}
    try:
        saved = action(_actor(request), post.pk, comment, **seen)
    except planning.PlanningError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        if exc.status == 404:
            raise Http404 from exc
        if htmx:
            return _review_reply(
                request, post, status=422, error=exc.message, comment=comment, decision=decision
            )
        messages.error(request, exc.message)
        return redirect("web:post_edit", post.pk)
    labels: dict[str, str] = {
        Post.Status.IN_REVIEW: _("Sent for review."),
        Post.Status.CLIENT_REVIEW: _("Approved; now it waits for the client."),
        Post.Status.SCHEDULED: _("Approved and scheduled."),
        Post.Status.APPROVED: _("Approved. Pick a time ahead to schedule it."),
        Post.Status.CHANGES_REQUESTED: _("Changes requested; the author sees your comment."),
        Post.Status.REJECTED: _("Rejected."),
    }
    messages.success(request, labels.get(saved.status, _("Saved.")))
    target = reverse("web:post_edit", args=[post.pk])
    if htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@workspace_view(Perm.POSTS_APPROVE)
@require_POST
def post_client_link(request: WorkspaceRequest, post_id: int) -> HttpResponseBase:
    """Create a client review link for this post; the address is shown once."""
    post = _get_post(request, post_id)
    htmx = request.headers.get("HX-Request") == "true"
    try:
        link = approvals.client_link_for(_actor(request), post_id=post.pk)
    except planning.PlanningError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        if htmx:
            return _review_reply(request, post, status=422, error=exc.message)
        messages.error(request, exc.message)
        return redirect("web:post_edit", post.pk)
    if htmx:
        return _review_reply(request, post, new_link=link)
    messages.success(
        request, _("Send this review link to the client (it is shown once): %(url)s") % {"url": link.url}
    )
    return redirect("web:post_edit", post.pk)
