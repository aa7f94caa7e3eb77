"""Connected accounts on networks, with credentials encrypted at rest."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from rupor.core import clock, crypto
from rupor.networks.registry import DISPLAY_NAMES

NETWORK_CHOICES = [(key, label) for key, label in DISPLAY_NAMES.items()]


#: The periodic jobs that record their failures on a channel (``Channel.last_error_job``).
JOB_LABELS = {
    "inbox": _("Inbox polling"),
    "metrics": _("Metric collection"),
    "webhook": _("Webhook delivery"),
    "publishing": _("Publishing"),
    "monitoring": _("Keyword monitoring"),
    "tokens": _("Token renewal"),
}


class LiveChannels(models.Manager["Channel"]):
    def get_queryset(self) -> models.QuerySet[Channel]:
        return super().get_queryset().exclude(status="archived")


class Channel(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        RECONNECT = "reconnect", _("Needs reconnecting")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Removed")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="channels")
    network = models.CharField(_("network"), max_length=20, choices=NETWORK_CHOICES)
    name = models.CharField(_("display name"), max_length=120)
    remote_id = models.CharField(_("remote id"), max_length=120)
    credentials_encrypted = models.TextField(blank=True, default="")
    base_url = models.URLField(_("API base URL"), max_length=300, blank=True, default="")
    settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_message = models.CharField(max_length=300, blank=True, default="")
    color = models.CharField(max_length=7, blank=True, default="")
    cadence_hours = models.PositiveIntegerField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The last failure of a periodic job on this channel (inbox polling, metric collection), for a
    # person to see on the channel list and the publishing page; the job's next success clears it.
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_error_job = models.CharField(_("failed job"), max_length=40, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    objects = models.Manager()
    live = LiveChannels()

    class Meta:
        ordering = ["network", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "remote_id"],
                condition=~models.Q(status="archived"),
                name="one_live_channel_per_remote_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_network_display()})"

    @property
    def last_error_job_label(self) -> str:
        return str(JOB_LABELS.get(self.last_error_job, self.last_error_job))

    # Credentials never leave this model in plain text except through these two methods.
    def set_credentials(self, values: dict[str, Any]) -> None:
        self.credentials_encrypted = crypto.encrypt_json({k: str(v) for k, v in values.items()})

    def get_credentials(self) -> dict[str, str]:
        return {k: str(v) for k, v in crypto.decrypt_json(self.credentials_encrypted).items()}
