"""Request and response shapes of the REST API (the error shape is ``errors.ErrorOut``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from ninja import Schema
from pydantic import Field

from rupor.networks import registry

if TYPE_CHECKING:
    NETWORK_KEYS = str
else:  # the registry's keys, as an enum in the OpenAPI schema
    NETWORK_KEYS = Literal[tuple(registry.DISPLAY_NAMES)]
POST_STATUS = Literal["draft", "scheduled", "cancelled"]


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str
    timezone: str
    late_window_minutes: int
    approval: str
    require_two_factor: bool = Field(
        False,
        description="Members must sign in with a second factor to work here (API keys are not affected)",
    )


class MeOut(Schema):
    kind: Literal["user", "api_key"]
    email: str | None
    name: str | None
    workspace: WorkspaceOut
    role: str
    permissions: list[str]
    workspaces: list[WorkspaceOut]
    two_factor: bool | None = Field(
        None, description="Whether the calling person signs in with a second factor (null for an API key)"
    )


class CredentialFieldOut(Schema):
    name: str
    label: str
    secret: bool
    required: bool
    help: str


class NetworkOut(Schema):
    key: str
    name: str
    available: bool
    capabilities: list[str]
    credential_fields: list[CredentialFieldOut]
    limits: dict[str, Any]


class ChannelIn(Schema):
    network: NETWORK_KEYS
    name: str = Field("", max_length=120)
    remote_id: str = Field("", max_length=120)
    credentials: dict[str, str] = Field(default_factory=dict)
    base_url: str = Field("", max_length=300)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Per-channel options, each checked against its type and bounds: timeout (0.1-120 s), pace, longpoll_wait (0-90 s), callback_confirmation, chat_type, forward_attempts (1-20), forward_wait_s (0-10 s), processing_wait_s (0-120 s)",
    )
    color: str = Field("", pattern=r"^(#[0-9a-fA-F]{6})?$")
    cadence_hours: int | None = Field(None, ge=1, le=24 * 90)
    verify: bool = True


class ChannelPatch(Schema):
    name: str | None = Field(None, max_length=120)
    credentials: dict[str, str] | None = None
    base_url: str | None = Field(None, max_length=300)
    settings: dict[str, Any] | None = Field(
        None,
        description="Options to change (null removes one); unknown names and out-of-range values are refused with a 400 naming the field",
    )
    color: str | None = Field(None, pattern=r"^(#[0-9a-fA-F]{6})?$")
    cadence_hours: int | None = Field(None, ge=1, le=24 * 90)
    status: Literal["active", "paused"] | None = None
    verify: bool = True


class ChannelOut(Schema):
    id: int
    network: str
    name: str
    remote_id: str
    base_url: str
    status: str
    status_message: str
    color: str
    cadence_hours: int | None
    has_credentials: bool
    verified_at: dt.datetime | None
    created_at: dt.datetime
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Per-channel options (see PATCH); the webhook secret is never shown"
    )
    last_error: str = Field(
        "", description="Why the last periodic job on this channel failed; empty once it succeeds"
    )
    last_error_at: dt.datetime | None = None
    last_error_job: str = Field("", description="Which job failed: inbox, metrics or webhook")


class PollIn(Schema):
    question: str = Field(..., max_length=300)
    options: list[str] = Field(..., max_length=20)
    multiple: bool = False
    anonymous: bool = True


class VariantIn(Schema):
    channel_id: int = Field(..., ge=1, le=2**62)
    text: str | None = Field(None, max_length=100_000)
    link: str = Field("", max_length=2000)  # an absolute http(s) address (planning refuses others)
    poll: PollIn | None = None
    first_comment: str = Field("", max_length=10_000)
    media_ids: list[int] = Field(default_factory=list, max_length=20)
    options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Network options (format, alt, thread, spoiler_text, visibility, language…); "
            "tracked_links: false publishes this variant's links as written, without the workspace's "
            "UTM tags and short links"
        ),
    )


class PostIn(Schema):
    title: str = Field("", max_length=200)
    text: str = Field("", max_length=100_000)
    rubric_id: int | None = Field(None, ge=1, le=2**62)
    status: POST_STATUS = "draft"
    scheduled_at: dt.datetime | None = Field(
        None,
        description="ISO 8601. With an offset it is exact; without one it is read in the workspace time zone.",
    )
    publish_now: bool = False
    publish_late: bool = False
    notes: str = Field("", max_length=10_000)
    variants: list[VariantIn] = Field(default_factory=list, max_length=50)


class PostPatch(Schema):
    title: str | None = Field(None, max_length=200)
    text: str | None = Field(None, max_length=100_000)
    rubric_id: int | None = Field(None, ge=1, le=2**62)
    status: POST_STATUS | None = None
    scheduled_at: dt.datetime | None = None
    publish_now: bool = False
    publish_late: bool | None = None
    notes: str | None = Field(None, max_length=10_000)
    variants: list[VariantIn] | None = Field(None, max_length=50)


class TargetOut(Schema):
    id: int | None
    state: str
    due_at: dt.datetime | None
    attempts: int
    remote_id: str
    remote_url: str
    published_at: dt.datetime | None
    error_kind: str
    error_message: str


class ProblemOut(Schema):
    field: str
    message: str


class VariantOut(Schema):
    id: int
    channel_id: int
    channel_name: str
    network: str
    text: str
    link: str
    poll: dict[str, Any] | None
    first_comment: str
    media_ids: list[int]
    length: int | None
    problems: list[ProblemOut]
    target: TargetOut


class PostOut(Schema):
    id: int
    title: str
    text: str
    rubric_id: int | None
    status: str = Field(
        ...,
        description="What people see: once publishing has started, what happened on the channels (publishing, "
        "published, partially_published, failed, needs_attention); before that, plan_status.",
    )
    plan_status: str = Field(
        ..., description="Where the post is in the plan: draft, in_review, ..., scheduled, cancelled."
    )
    scheduled_at: dt.datetime | None
    scheduled_at_local: str | None
    timezone: str
    publish_late: bool
    notes: str
    author: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    variants: list[VariantOut]
    content_fingerprint: str | None = Field(
        None,
        description="While the post waits for a decision (in_review, client_review): a digest of its content. "
        "Send it as `fingerprint` with an approval, and the approval is refused if the post changed since.",
    )


class RubricOut(Schema):
    id: int
    name: str
    color: str
    target_share: int
    is_selling: bool


class MemberOut(Schema):
    id: int
    email: str
    name: str
    role: str
    replies_need_approval: bool = Field(
        False, description="Their inbox replies wait for a manager, admin or owner before they are sent"
    )
    two_factor: bool = Field(False, description="They sign in with a second factor (an authenticator app)")


class ReplyApprovalIn(Schema):
    required: bool = Field(False, description="Hold the member's inbox replies for approval (true) or not")


class TwoFactorRequirementIn(Schema):
    required: bool = Field(
        ..., description="Require two-factor sign-in of every member (true) or leave it to each"
    )
