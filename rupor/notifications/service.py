"""Public actions of the notifications domain: tell people when something needs them.

:func:`notify` is called inside the transaction that caused it and only writes rows: an in-app
notification per member, plus pending email and webhook deliveries (an outbox). Workers call
:func:`deliver_pending` to send those with retries, so a slow mail server or webhook receiver
never holds up publishing. Webhook bodies are signed: ``X-Rupor-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes with the endpoint's secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from rupor.accounts.models import Membership
from rupor.core import clock, http
from rupor.notifications.models import Delivery, Notification, WebhookEndpoint

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 8
SIGNATURE_HEADER = "X-Rupor-Signature"


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


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header or "")


def notify(
    workspace_id: int,
    kind: str,
    title: str,
    body: str,
    *,
    link: str = "",
    target_id: int | None = None,
    channel_id: int | None = None,
    email: bool = True,
) -> None:
    """Record a notification for every member and queue its email and webhook deliveries."""
    now = clock.now()
    members = list(
        Membership.objects.filter(workspace_id=workspace_id, user__is_active=True).values_list(
            "user_id", "user__email"
        )
    )
    rows = [
        Notification(
            workspace_id=workspace_id,
            user_id=uid,
            kind=kind,
            title=title[:200],
            body=body,
            link=link[:500],
            target_id=target_id,
            created_at=now,
        )
        for uid, _ in members
    ] or [
        Notification(
            workspace_id=workspace_id,
            kind=kind,
            title=title[:200],
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
        "title": title,
        "message": body,
        "target_id": target_id,
        "channel_id": channel_id,
        "link": link,
        "occurred_at": now.isoformat(),
    }
    deliveries = []
    if email:
        deliveries += [
            Delivery(
                workspace_id=workspace_id,
                channel=Delivery.Channel.EMAIL,
                to_email=address,
                kind=kind,
                payload=payload,
                next_attempt_at=now,
            )
            for _, address in members
            if address
        ]
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


def _mine(workspace_id: int, user_id: int | None) -> QuerySet[Notification]:
    qs = Notification.objects.filter(workspace_id=workspace_id)
    return qs.filter(user__isnull=True) if user_id is None else qs.filter(user_id=user_id)


def list_notifications(
    workspace_id: int, user_id: int | None, *, unread_only: bool = False, limit: int = 50
) -> list[NotificationView]:
    qs = _mine(workspace_id, user_id)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return [
        NotificationView(
            n.pk, n.kind, n.title, n.body, n.link, n.target_id, n.created_at, n.read_at is not None
        )
        for n in qs[:limit]
    ]


def unread_count(workspace_id: int, user_id: int | None) -> int:
    return _mine(workspace_id, user_id).filter(read_at__isnull=True).count()


def mark_read(workspace_id: int, user_id: int | None, ids: list[int] | None = None) -> int:
    qs = _mine(workspace_id, user_id).filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=clock.now())


def create_endpoint(
    workspace_id: int, url: str, *, events: list[str] | None = None, description: str = ""
) -> NewEndpoint:
    """Add a webhook endpoint; its signing secret is returned once and stored encrypted."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(_("A webhook URL starts with http:// or https://."))
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        workspace_id=workspace_id, url=url, events=list(events or []), description=description
    )
    endpoint.set_secret(secret)
    endpoint.save()
    return NewEndpoint(endpoint.pk, endpoint.url, secret)


def remove_endpoint(workspace_id: int, endpoint_id: int) -> None:
    WebhookEndpoint.objects.filter(workspace_id=workspace_id, pk=endpoint_id).delete()


def _email(delivery: Delivery) -> None:
    p = delivery.payload
    base = getattr(settings, "RUPOR_BASE_URL", "")
    link = f"\n\n{base}{p.get('link')}" if p.get("link") else ""
    send_mail(f"[Rupor] {p.get('title', '')}", f"{p.get('message', '')}{link}", None, [delivery.to_email])


def _webhook(delivery: Delivery) -> None:
    endpoint = delivery.endpoint
    if endpoint is None or not endpoint.active:
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
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            final = delivery.attempts >= MAX_DELIVERY_ATTEMPTS
            with transaction.atomic():
                Delivery.objects.filter(pk=delivery.pk).update(
                    state=Delivery.State.FAILED if final else Delivery.State.PENDING,
                    last_error=error,
                    next_attempt_at=now + dt.timedelta(seconds=min(3600, 15 * 2**delivery.attempts)),
                )
            log.warning("delivery %s (%s) failed: %s", delivery.pk, delivery.channel, error)
            continue
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.SENT, sent_at=clock.now(), last_error=""
        )
        sent += 1
    return sent


def recent_deliveries(workspace_id: int, limit: int = 50) -> list[dict[str, Any]]:
    rows = Delivery.objects.filter(workspace_id=workspace_id).order_by("-id")[:limit]
    return [
        {
            "id": d.pk,
            "channel": d.channel,
            "kind": d.kind,
            "state": d.state,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "created_at": d.created_at,
            "sent_at": d.sent_at,
        }
        for d in rows
    ]
