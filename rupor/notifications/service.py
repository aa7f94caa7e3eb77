"""Public actions of the notifications domain: tell people when something needs them.

:func:`notify` is called inside the transaction that caused it and only writes rows: an in-app
notification per member, plus pending email and webhook deliveries (an outbox). Workers call
:func:`deliver_pending` to send those with retries, so a slow mail server or webhook receiver
never holds up publishing. Webhook bodies are signed: ``X-Rupor-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes with the endpoint's secret.

Webhook endpoints are registered by people whose role has ``webhooks.manage`` (web settings page,
API, CLI): the address must be an absolute http(s) URL that passes the outbound address guard,
the signing secret is shown once and stored encrypted, and :func:`send_test` sends a ``test``
event at once so the person sees whether their receiver accepts it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import uuid
import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rupor.accounts import service as accounts
from rupor.core import backoff, clock, config, http
from rupor.core.errors import DomainError
from rupor.core.logging import fields
from rupor.core.timezones import LocalTimeError, to_utc, zone
from rupor.core.urls import clean_http_url
from rupor.notifications.models import Delivery, EmailPreference, Notification, WebhookEndpoint

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 8
#: A failed delivery is tried again after up to 30 s, then up to twice as long each time, at
#: most an hour (core/backoff.py).
DELIVERY_RETRY_BASE_S = 30.0
DELIVERY_RETRY_MAX_S = 3600.0
SIGNATURE_HEADER = "X-Rupor-Signature"
MAX_ENDPOINTS = 20

#: The events a webhook endpoint may receive (the publishing engine's ``notify`` kinds), with a
#: label for people. ``test`` is sent only when someone asks for it.
EVENTS: dict[str, Any] = {
    "failed": gettext_lazy("A post failed to publish"),
    "unconfirmed": gettext_lazy("A post needs checking: Rupor cannot tell whether it went out"),
    "missed": gettext_lazy("A post missed its time"),
    "held": gettext_lazy("A channel needs reconnecting; its posts are on hold"),
    "credentials_expiring": gettext_lazy("A channel's connection ends soon; reconnect it"),
    "edit_failed": gettext_lazy("An edit of a published post did not reach the network"),
    "inbox_assigned": gettext_lazy("An inbox item was assigned to you"),
    # The inbox's alerts (inbox/alerts.py).
    "inbox_waiting": gettext_lazy("A negative comment or message is waiting for an answer"),
    "inbox_spike": gettext_lazy("Negative comments and messages are spiking on a channel"),
    "inbox_reply_pending": gettext_lazy("A reply to the audience waits for approval"),
    "inbox_reply_rejected": gettext_lazy("Your reply to the audience was sent back"),
    # Keyword trends (inbox/trends.py).
    "trend_spike": gettext_lazy("A watched keyword is spiking"),
    # Giveaways drawn by the worker at their beacon round (giveaways/service.py run_due).
    "giveaway_drawn": gettext_lazy("A giveaway was drawn; its results post waits to be published"),
}
TEST_EVENT = "test"
#: The kind of a daily digest email (one per person and workspace, gathering their emails).
DIGEST_EVENT = "digest"

#: Whether an event emails a person who has not chosen: every alarm does; a nudge meant for one
#: person in the app (an item assigned to them) does only when they ask for it.
EMAIL_DEFAULTS: dict[str, bool] = {kind: kind != "inbox_assigned" for kind in EVENTS}


class NotificationsError(DomainError):
    """A refused webhook registration or action."""


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    link: str
    target_id: int | None
    created_at: dt.datetime
    read: bool


@dataclass(frozen=True)
class NewEndpoint:
    id: int
    url: str
    secret: str  # shown once

    def __repr__(self) -> str:
        return f"NewEndpoint(id={self.id}, url={self.url!r}, secret=…)"


@dataclass(frozen=True)
class DeliveryView:
    id: int
    endpoint_id: int | None
    kind: str
    state: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    description: str
    events: tuple[str, ...]  # empty = every event
    active: bool
    created_at: dt.datetime
    recent: tuple[DeliveryView, ...]  # newest first


@dataclass(frozen=True)
class EmailPreferences:
    """What a person wants by email: per event kind, and as it happens or in a daily digest
    (at ``digest_hour`` o'clock in ``timezone``)."""

    emailed: dict[str, bool]  # every kind of EVENTS
    digest: bool
    digest_hour: int
    timezone: str

    def wants(self, kind: str) -> bool:
        return self.emailed.get(kind, EMAIL_DEFAULTS.get(kind, True))


def _preferences(row: EmailPreference | None, timezone: str = "UTC") -> EmailPreferences:
    choices = row.choices if row is not None and isinstance(row.choices, dict) else {}
    emailed = {kind: bool(choices.get(kind, default)) for kind, default in EMAIL_DEFAULTS.items()}
    if row is None:
        return EmailPreferences(emailed, False, 8, timezone)
    return EmailPreferences(emailed, row.digest, row.digest_hour, row.timezone)


def email_preferences(user_id: int, *, timezone: str = "UTC") -> EmailPreferences:
    """A person's email preferences (``timezone``: the digest's zone until they chose one)."""
    return _preferences(EmailPreference.objects.filter(user_id=user_id).first(), timezone)


def save_email_preferences(
    user_id: int, *, emailed: Mapping[str, bool], digest: bool, digest_hour: int, timezone: str
) -> EmailPreferences:
    """Store a person's choices. ``emailed`` names event kinds (others keep their default); an
    unknown kind, an hour outside 0 to 23 or an unknown time zone is refused. Turning the digest
    off sends what was waiting for it at once, as one last digest."""
    unknown = [k for k in emailed if k not in EVENTS]
    if unknown:
        raise NotificationsError(
            _("Unknown event %(event)s; the events are: %(known)s.")
            % {"event": repr(unknown[0]), "known": ", ".join(EVENTS)},
            "emailed",
            422,
        )
    if not 0 <= digest_hour <= 23:
        raise NotificationsError(_("The digest hour is 0 to 23."), "digest_hour", 422)
    if timezone not in zoneinfo.available_timezones():
        raise NotificationsError(
            _("%(value)s is not a known time zone (e.g. Europe/Moscow).") % {"value": repr(timezone[:64])},
            "timezone",
            422,
        )
    with transaction.atomic():
        row, _created = EmailPreference.objects.select_for_update().get_or_create(user_id=user_id)
        was_digest = row.digest
        row.choices = {kind: bool(on) for kind, on in emailed.items()}
        row.digest, row.digest_hour, row.timezone = digest, digest_hour, timezone
        row.updated_at = clock.now()
        if digest and not was_digest:
            # The first digest gathers from now on: no empty email for the moment just past.
            row.last_digest_at = _digest_moment(row, clock.now())
        row.save()
        if was_digest and not digest:
            _bundle(user_id)
    return _preferences(row)


def _email_plans(user_ids: Collection[int]) -> dict[int, EmailPreferences]:
    """The preferences of these people, in one query (no row: the defaults)."""
    rows = {p.user_id: p for p in EmailPreference.objects.filter(user_id__in=list(user_ids))}
    return {uid: _preferences(rows.get(uid)) for uid in user_ids}


def _email_delivery(
    workspace_id: int, member: accounts.Recipient, plan: EmailPreferences, kind: str, payload: dict[str, Any]
) -> Delivery | None:
    """The email of one event to one member, as their preferences say: none, now, or kept for
    their digest."""
    if not member.email or not plan.wants(kind):
        return None
    return Delivery(
        workspace_id=workspace_id,
        channel=Delivery.Channel.EMAIL,
        to_email=member.email,
        user_id=member.user_id,
        kind=kind,
        payload=payload,
        state=Delivery.State.DIGEST if plan.digest else Delivery.State.PENDING,
        next_attempt_at=clock.now(),
    )


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header or "")


def _in_language(text: str | Promise, language: str) -> str:
    """``text`` in ``language`` (a member's choice; blank: the active language)."""
    if not language:
        return str(text)
    with translation.override(language):
        return str(text)


def event_title(kind: str) -> str | Promise:
    """The title people see for an event of :data:`EVENTS` (translated when rendered)."""
    title: str | Promise = EVENTS.get(kind, kind)
    return title


def notify_event(
    workspace_id: int,
    kind: str,
    body: str,
    *,
    target_id: int | None = None,
    channel_id: int | None = None,
    link: str = "",
    user_ids: Collection[int] | None = None,
    email: bool = True,
) -> None:
    """:func:`notify` of an event of :data:`EVENTS`, titled as the registry names it, in each
    member's language (``email``: by email too)."""
    notify(
        workspace_id,
        kind,
        event_title(kind),
        body,
        target_id=target_id,
        channel_id=channel_id,
        link=link,
        user_ids=user_ids,
        email=email,
    )


def notify(
    workspace_id: int,
    kind: str,
    title: str | Promise,
    body: str,
    *,
    link: str = "",
    target_id: int | None = None,
    channel_id: int | None = None,
    email: bool = True,
    user_ids: Collection[int] | None = None,
) -> None:
    """Record a notification for every member (or only the members ``user_ids`` names) and queue
    its email and webhook deliveries.

    A translatable ``title`` is rendered in each member's language for their notification and
    email, and in the active language for webhooks. ``user_ids``: only these members (an empty
    collection: nobody in the app or by email; webhooks still receive the event)."""
    now = clock.now()
    members = accounts.recipients(workspace_id)
    if user_ids is not None:
        members = [m for m in members if m.user_id in set(user_ids)]
    rows = [
        Notification(
            workspace_id=workspace_id,
            user_id=member.user_id,
            kind=kind,
            title=_in_language(title, member.language)[:200],
            body=body,
            link=link[:500],
            target_id=target_id,
            created_at=now,
        )
        for member in members
    ]
    if not rows and user_ids is None:  # a workspace without members still keeps the notice
        rows = [
            Notification(
                workspace_id=workspace_id,
                kind=kind,
                title=str(title)[:200],
                body=body,
                link=link[:500],
                target_id=target_id,
                created_at=now,
            )
        ]
    Notification.objects.bulk_create(rows)
    payload = {
        "event": kind,
        "workspace_id": workspace_id,
        "title": str(title),
        "message": body,
        "target_id": target_id,
        "channel_id": channel_id,
        "link": link,
        "occurred_at": now.isoformat(),
    }
    deliveries: list[Delivery] = []
    if email:
        plans = _email_plans([m.user_id for m in members])
        for member in members:
            found = _email_delivery(
                workspace_id,
                member,
                plans[member.user_id],
                kind,
                {**payload, "title": _in_language(title, member.language)},
            )
            if found is not None:
                deliveries.append(found)
    for endpoint in WebhookEndpoint.objects.filter(workspace_id=workspace_id, active=True):
        if endpoint.wants(kind):
            deliveries.append(
                Delivery(
                    workspace_id=workspace_id,
                    channel=Delivery.Channel.WEBHOOK,
                    endpoint=endpoint,
                    kind=kind,
                    payload={**payload, "delivery": uuid.uuid4().hex},
                    next_attempt_at=now,
                )
            )
    Delivery.objects.bulk_create(deliveries)


def notify_member(
    workspace_id: int, user_id: int, kind: str, body: str, *, link: str = "", target_id: int | None = None
) -> None:
    """Tell one member of the workspace (in-app, in their language) about an event of
    :data:`EVENTS` that concerns them alone; webhook endpoints that chose the event get it too.
    Nobody else is told; an email goes only to a member who asked for this event by email (it
    is a nudge, not an alarm: off by default)."""
    member = next((m for m in accounts.recipients(workspace_id) if m.user_id == user_id), None)
    if member is None:
        return
    now = clock.now()
    title = event_title(kind)
    Notification.objects.create(
        workspace_id=workspace_id,
        user_id=user_id,
        kind=kind,
        title=_in_language(title, member.language)[:200],
        body=body,
        link=link[:500],
        target_id=target_id,
        created_at=now,
    )
    payload = {
        "event": kind,
        "workspace_id": workspace_id,
        "title": str(title),
        "message": body,
        "target_id": target_id,
        "user_id": user_id,
        "link": link,
        "occurred_at": now.isoformat(),
    }
    deliveries = [
        Delivery(
            workspace_id=workspace_id,
            channel=Delivery.Channel.WEBHOOK,
            endpoint=endpoint,
            kind=kind,
            payload={**payload, "delivery": uuid.uuid4().hex},
            next_attempt_at=now,
        )
        for endpoint in WebhookEndpoint.objects.filter(workspace_id=workspace_id, active=True)
        if kind in endpoint.events  # only endpoints that chose it: "every event" means the failures
    ]
    mail = _email_delivery(
        workspace_id,
        member,
        email_preferences(user_id),
        kind,
        {**payload, "title": _in_language(title, member.language)},
    )
    Delivery.objects.bulk_create([*deliveries, *([mail] if mail is not None else [])])


def _mine(workspace_id: int, user_id: int | None) -> QuerySet[Notification]:
    qs = Notification.objects.filter(workspace_id=workspace_id)
    return qs.filter(user__isnull=True) if user_id is None else qs.filter(user_id=user_id)


def list_notifications(
    workspace_id: int, user_id: int | None, *, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> list[NotificationView]:
    """A person's notifications (``user_id`` None: the workspace-wide ones), newest first."""
    qs = _mine(workspace_id, user_id).order_by("-created_at", "-id")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return [
        NotificationView(
            n.pk, n.kind, n.title, n.body, n.link, n.target_id, n.created_at, n.read_at is not None
        )
        for n in qs[max(offset, 0) : max(offset, 0) + limit]
    ]


def open_notification(workspace_id: int, user_id: int | None, notification_id: int) -> str:
    """Mark one of a person's notifications read and return its link (blank when it has none).
    Someone else's, or another workspace's, is not found (404)."""
    found = _mine(workspace_id, user_id).filter(pk=notification_id).first()
    if found is None:
        raise NotificationsError(_("No such notification."), status=404)
    if found.read_at is None:
        _mine(workspace_id, user_id).filter(pk=found.pk, read_at__isnull=True).update(read_at=clock.now())
    return found.link


def unread_of_kind(workspace_id: int, user_id: int, kind: str, *, limit: int = 5) -> list[NotificationView]:
    """A member's unread notifications of one event, newest first (the inbox shows its own)."""
    qs = _mine(workspace_id, user_id).filter(kind=kind, read_at__isnull=True).order_by("-created_at", "-id")
    return [
        NotificationView(n.pk, n.kind, n.title, n.body, n.link, n.target_id, n.created_at, False)
        for n in qs[:limit]
    ]


def is_mine(workspace_id: int, user_id: int | None, notification_id: int) -> bool:
    """Whether the notification is this person's, in this workspace."""
    return _mine(workspace_id, user_id).filter(pk=notification_id).exists()


def unread_count(workspace_id: int, user_id: int | None) -> int:
    return _mine(workspace_id, user_id).filter(read_at__isnull=True).count()


def mark_read(workspace_id: int, user_id: int | None, ids: list[int] | None = None) -> int:
    """Mark a person's notifications read: these ``ids`` (others' are skipped), or all."""
    qs = _mine(workspace_id, user_id).filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=clock.now())


def mark_unread(workspace_id: int, user_id: int | None, ids: list[int]) -> int:
    """Mark some of a person's notifications unread again (to come back to them); returns how
    many were read and are now unread. Someone else's ids are skipped."""
    return _mine(workspace_id, user_id).filter(pk__in=ids, read_at__isnull=False).update(read_at=None)


def _clean_events(events: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(events or []))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise NotificationsError(
            _("Unknown event %(event)s; the events are: %(known)s.")
            % {"event": repr(unknown[0]), "known": ", ".join(EVENTS)},
            "events",
        )
    return chosen


def create_endpoint(
    workspace_id: int,
    url: str,
    *,
    events: list[str] | None = None,
    description: str = "",
    by: accounts.Actor | None = None,
) -> NewEndpoint:
    """Add a webhook endpoint; its signing secret is returned once and stored encrypted.

    The address must be an absolute http(s) URL that the outbound guard lets Rupor call (no
    private or local addresses unless the operator allowed them)."""
    cleaned = clean_http_url(url, field="url", max_length=500)
    if not cleaned:
        raise NotificationsError(_("Enter the address Rupor should send events to."), "url")
    try:
        http.check_url(cleaned)
    except http.BlockedAddress as exc:
        raise NotificationsError(
            _(
                "Rupor may not call this address: it is private or local. The operator can allow it "
                "with RUPOR_ALLOW_PRIVATE_URLS."
            ),
            "url",
        ) from exc
    except httpx.HTTPError:  # cannot resolve it now: the first delivery will say so
        log.info("webhook host not resolvable at registration")
    chosen = _clean_events(events)
    if len(description) > 200:
        raise NotificationsError(_("The description is longer than 200 characters."), "description")
    if WebhookEndpoint.objects.filter(workspace_id=workspace_id).count() >= MAX_ENDPOINTS:
        raise NotificationsError(
            _("A workspace may have at most %(max)s webhook endpoints.") % {"max": MAX_ENDPOINTS},
            "url",
            status=409,
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        workspace_id=workspace_id, url=cleaned, events=chosen, description=description.strip()
    )
    endpoint.set_secret(secret)
    endpoint.save()
    # The address and the events, never the secret.
    accounts.record(
        workspace_id,
        by,
        "webhook.create",
        "webhook",
        endpoint.pk,
        f"{endpoint.url} · {', '.join(chosen) or 'all'}",
    )
    return NewEndpoint(endpoint.pk, endpoint.url, secret)


def _delivery_view(d: Delivery) -> DeliveryView:
    return DeliveryView(
        d.pk, d.endpoint_id, d.kind, d.state, d.attempts, d.last_error, d.created_at, d.sent_at
    )


def endpoints(workspace_id: int, *, recent: int = 5, only: int | None = None) -> list[EndpointView]:
    """The workspace's webhook endpoints, each with its ``recent`` latest deliveries."""
    out = []
    qs = WebhookEndpoint.objects.filter(workspace_id=workspace_id)
    for e in qs if only is None else qs.filter(pk=only):
        rows = Delivery.objects.filter(workspace_id=workspace_id, endpoint=e).order_by("-id")[:recent]
        out.append(
            EndpointView(
                e.pk,
                e.url,
                e.description,
                tuple(e.events),
                e.active,
                e.created_at,
                tuple(_delivery_view(d) for d in rows),
            )
        )
    return out


def endpoint(workspace_id: int, endpoint_id: int, *, recent: int = 20) -> EndpointView:
    """One endpoint of the workspace; another workspace's is not found (404)."""
    for found in endpoints(workspace_id, recent=recent, only=endpoint_id):
        return found
    raise NotificationsError(_("No such webhook endpoint."), status=404)


def remove_endpoint(workspace_id: int, endpoint_id: int, *, by: accounts.Actor | None = None) -> None:
    """Delete an endpoint and its deliveries; another workspace's is not found (404)."""
    url = (
        WebhookEndpoint.objects.filter(workspace_id=workspace_id, pk=endpoint_id)
        .values_list("url", flat=True)
        .first()
    )
    deleted, _rows = WebhookEndpoint.objects.filter(workspace_id=workspace_id, pk=endpoint_id).delete()
    if not deleted:
        raise NotificationsError(_("No such webhook endpoint."), status=404)
    accounts.record(workspace_id, by, "webhook.delete", "webhook", endpoint_id, url or "")


def send_test(workspace_id: int, endpoint_id: int, *, by: accounts.Actor | None = None) -> DeliveryView:
    """Send a ``test`` event to one endpoint now and return how it went. A failed test is
    recorded and not retried (the person is watching and can send another)."""
    found = WebhookEndpoint.objects.filter(workspace_id=workspace_id, pk=endpoint_id).first()
    if found is None:
        raise NotificationsError(_("No such webhook endpoint."), status=404)
    now = clock.now()
    delivery = Delivery.objects.create(
        workspace_id=workspace_id,
        channel=Delivery.Channel.WEBHOOK,
        endpoint=found,
        kind=TEST_EVENT,
        payload={
            "event": TEST_EVENT,
            "workspace_id": workspace_id,
            "title": "Test event",
            "message": "Rupor is checking that this endpoint receives its events.",
            "target_id": None,
            "channel_id": None,
            "link": "",
            "occurred_at": now.isoformat(),
            "delivery": uuid.uuid4().hex,
        },
        attempts=1,
        # Out of the workers' reach while it is sent here (and if this process dies mid-send,
        # an ordinary retry an hour later).
        next_attempt_at=now + dt.timedelta(hours=1),
        state=Delivery.State.PENDING,
    )
    try:
        _webhook(delivery, force=True)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the person sees it on the delivery
        delivery.state = Delivery.State.FAILED
        delivery.last_error = _error_text(exc)
    else:
        delivery.state = Delivery.State.SENT
        delivery.sent_at = clock.now()
    delivery.save(update_fields=["state", "last_error", "sent_at"])
    accounts.record(
        workspace_id, by, "webhook.test", "webhook", endpoint_id, f"{found.url}: {delivery.state}"
    )
    return _delivery_view(delivery)


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _email(delivery: Delivery) -> None:
    p = delivery.payload
    base = config.base_url()
    link = f"\n\n{base}{p.get('link')}" if p.get("link") else ""
    send_mail(f"[Rupor] {p.get('title', '')}", f"{p.get('message', '')}{link}", None, [delivery.to_email])


def _webhook(delivery: Delivery, *, force: bool = False) -> None:
    endpoint = delivery.endpoint
    if endpoint is None or not (endpoint.active or force):
        return
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(endpoint.get_secret(), body),
        "X-Rupor-Event": delivery.kind,
        "X-Rupor-Delivery": str(delivery.payload.get("delivery", delivery.pk)),
    }
    with http.client(timeout=10.0) as client:
        response = client.post(endpoint.url, content=body, headers=headers)
    if response.status_code >= 300:
        raise RuntimeError(f"the endpoint answered HTTP {response.status_code}")


def deliver_pending(limit: int = 20) -> int:
    """Send due emails and webhook calls; return how many were sent. Safe with many workers:
    each delivery is taken by a conditional update before it is sent."""
    now = clock.now()
    sent = 0
    due = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now).select_related(
            "endpoint"
        )[:limit]
    )
    for delivery in due:
        taken = Delivery.objects.filter(
            pk=delivery.pk, state=Delivery.State.PENDING, next_attempt_at=delivery.next_attempt_at
        ).update(next_attempt_at=now + dt.timedelta(minutes=2), attempts=delivery.attempts + 1)
        if not taken:
            continue
        delivery.attempts += 1
        try:
            if delivery.channel == Delivery.Channel.EMAIL:
                _email(delivery)
            else:
                _webhook(delivery)
        except Exception as exc:  # noqa: BLE001 - the outbox records any failure and retries; one bad delivery never stops the rest
            error = _error_text(exc)
            final = delivery.attempts >= MAX_DELIVERY_ATTEMPTS
            with transaction.atomic():
                Delivery.objects.filter(pk=delivery.pk).update(
                    state=Delivery.State.FAILED if final else Delivery.State.PENDING,
                    last_error=error,
                    next_attempt_at=now
                    + dt.timedelta(
                        seconds=backoff.delay(
                            delivery.attempts, base=DELIVERY_RETRY_BASE_S, cap=DELIVERY_RETRY_MAX_S
                        )
                    ),
                )
            log.warning(
                "delivery %s (%s) failed: %s",
                delivery.pk,
                delivery.channel,
                error,
                extra=fields(
                    "notification.deliver",
                    workspace_id=delivery.workspace_id,
                    delivery_id=delivery.pk,
                    kind=delivery.kind,
                    attempt=delivery.attempts,
                ),
            )
            continue
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.SENT, sent_at=clock.now(), last_error=""
        )
        sent += 1
    return sent


def recent_deliveries(workspace_id: int, limit: int = 50) -> list[DeliveryView]:
    rows = Delivery.objects.filter(workspace_id=workspace_id).order_by("-id")[:limit]
    return [_delivery_view(d) for d in rows]


# -- the daily digest -------------------------------------------------------------------------


def _digest_moment(pref: EmailPreference, now: dt.datetime) -> dt.datetime:
    """The latest digest moment at or before ``now``: ``digest_hour`` o'clock in the person's
    zone today, else yesterday (an hour the clocks skip is read as the hour after)."""
    local_day = now.astimezone(zone(pref.timezone)).date()
    for day in (local_day, local_day - dt.timedelta(days=1)):
        wall = dt.datetime.combine(day, dt.time(pref.digest_hour))
        try:
            moment = to_utc(wall, pref.timezone)
        except LocalTimeError:
            moment = to_utc(wall + dt.timedelta(hours=1), pref.timezone)
        if moment <= now:
            return moment
    return moment  # unreachable: yesterday's moment is always past


def _bundle(user_id: int) -> int:
    """Gather the person's waiting emails into one digest email per workspace (in their
    language); returns how many digests were queued. The caller holds the person's claim."""
    rows = list(
        Delivery.objects.filter(
            user_id=user_id, channel=Delivery.Channel.EMAIL, state=Delivery.State.DIGEST
        ).order_by("workspace_id", "id")
    )
    by_workspace: dict[int, list[Delivery]] = {}
    for row in rows:
        by_workspace.setdefault(row.workspace_id, []).append(row)
    queued = 0
    base = config.base_url()
    for workspace_id, items in by_workspace.items():
        member = next((m for m in accounts.recipients(workspace_id) if m.user_id == user_id), None)
        taken = Delivery.objects.filter(pk__in=[r.pk for r in items], state=Delivery.State.DIGEST).update(
            state=Delivery.State.BUNDLED, sent_at=clock.now()
        )
        if member is None or not member.email or not taken:
            continue  # no longer a member there: nothing of that workspace is mailed to them
        with translation.override(member.language or None):
            name = accounts.workspace_info(workspace_id).name
            title = ngettext(
                "%(workspace)s: %(n)s notification today",
                "%(workspace)s: %(n)s notifications today",
                len(items),
            ) % {"workspace": name, "n": len(items)}
            lines = []
            for item in items:
                p = item.payload
                link = f"\n  {base}{p['link']}" if p.get("link") else ""
                lines.append(f"• {p.get('title', '')}\n  {p.get('message', '')}{link}")
            footer = _("Choose which events email you, and when, on your profile page.")
        Delivery.objects.create(
            workspace_id=workspace_id,
            channel=Delivery.Channel.EMAIL,
            to_email=member.email,
            user_id=user_id,
            kind=DIGEST_EVENT,
            payload={
                "event": DIGEST_EVENT,
                "workspace_id": workspace_id,
                "title": title,
                "message": "\n\n".join(lines) + f"\n\n{footer}",
                "link": "/notifications/",
                "occurred_at": clock.now().isoformat(),
            },
            next_attempt_at=clock.now(),
        )
        queued += 1
    return queued


def send_digests(now: dt.datetime | None = None) -> int:
    """The worker's job: for each person whose digest moment has come, gather their waiting
    emails into digests. The preference row is the claim (one conditional update moves its
    ``last_digest_at`` to the moment), so any number of workers sends each digest once; a day
    without news sends nothing. Returns how many digests were queued."""
    now = now or clock.now()
    queued = 0
    for pref in EmailPreference.objects.filter(digest=True):
        moment = _digest_moment(pref, now)
        if pref.last_digest_at is not None and pref.last_digest_at >= moment:
            continue
        with transaction.atomic():
            claim = EmailPreference.objects.filter(pk=pref.pk, digest=True)
            claim = (
                claim.filter(last_digest_at__isnull=True)
                if pref.last_digest_at is None
                else claim.filter(last_digest_at=pref.last_digest_at)
            )
            if not claim.update(last_digest_at=moment):
                continue  # another worker took it, or the person just changed it
            queued += _bundle(pref.user_id)
    return queued


# -- a person's own account --------------------------------------------------------------

#: Events about a person's own account. Each reaches only that person, in the app (in every
#: workspace they belong to) and by email; never a webhook, and not a choice they can turn off.
ACCOUNT_EVENTS: dict[str, Any] = {
    "two_factor_disabled": gettext_lazy("Two-factor sign-in was turned off for your account"),
    "recovery_code_used": gettext_lazy("A recovery code was used to sign in to your account"),
}


def _account_body(event: str, email: str, *, by_operator: bool, left: int) -> str:
    when = clock.now().strftime("%Y-%m-%d %H:%M UTC")
    if event == "recovery_code_used":
        return translation.ngettext(
            "Someone signed in to %(email)s with a recovery code at %(when)s; %(left)d code is left. If it was not you, change your password and make new recovery codes on your profile.",
            "Someone signed in to %(email)s with a recovery code at %(when)s; %(left)d codes are left. If it was not you, change your password and make new recovery codes on your profile.",
            left,
        ) % {"email": email, "when": when, "left": left}
    if by_operator:
        return _(
            "The operator of this Rupor turned off two-factor sign-in for %(email)s at %(when)s. Turn it on again on your profile."
        ) % {"email": email, "when": when}
    return _(
        "Two-factor sign-in was turned off for %(email)s at %(when)s. If it was not you, change your password and turn it on again on your profile."
    ) % {"email": email, "when": when}


def notify_account(user_id: int, event: str, *, by_operator: bool = False, left: int = 0) -> None:
    """Tell a person about something that happened to their own account (:data:`ACCOUNT_EVENTS`):
    an in-app notification in each workspace they belong to and one email, in their language.
    Called inside the transaction of the change (``accounts.service.two_factor_event``)."""
    found = accounts.account_recipient(user_id)
    if found is None:
        return
    person, workspace_ids = found
    now = clock.now()
    with translation.override(person.language or translation.get_language()):
        title = str(ACCOUNT_EVENTS[event])[:200]
        body = _account_body(event, person.email, by_operator=by_operator, left=left)
    Notification.objects.bulk_create(
        Notification(
            workspace_id=workspace_id,
            user_id=person.user_id,
            kind=event,
            title=title,
            body=body,
            link="/profile/",
            created_at=now,
        )
        for workspace_id in workspace_ids
    )
    if person.email and workspace_ids:
        # The outbox keeps a delivery under a workspace; the person's first one carries it.
        Delivery.objects.create(
            workspace_id=workspace_ids[0],
            channel=Delivery.Channel.EMAIL,
            to_email=person.email,
            kind=event,
            payload={
                "event": event,
                "title": title,
                "message": body,
                "link": "/profile/",
                "occurred_at": now.isoformat(),
            },
            next_attempt_at=now,
        )
    elif person.email:
        # In no workspace, so no outbox to queue in: sent once the change is committed.
        transaction.on_commit(lambda: _send_account_mail(person.email, title, body))


def _send_account_mail(email: str, title: str, body: str) -> None:
    try:
        send_mail(f"[Rupor] {title}", f"{body}\n\n{config.base_url()}/profile/", None, [email])
    except Exception:  # mail is best effort here; the change is already made
        log.warning("could not send an account notice by email", exc_info=True)


def on_two_factor_event(
    sender: object,  # noqa: ARG001 - Django's signal signature
    *,
    user_id: int,
    event: str,
    by_operator: bool,
    left: int,
    **_kwargs: object,
) -> None:
    """The receiver of ``accounts.service.two_factor_event`` (connected in apps.py)."""
    notify_account(user_id, event, by_operator=by_operator, left=left)
