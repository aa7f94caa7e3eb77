"""Forms of the web UI: they parse and check input; the domains' services decide."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict

from rupor.accounts.models import Workspace
from rupor.accounts.roles import ROLE_LABELS, Role
from rupor.networks.base import CredentialField
from rupor.networks.thread import parse_parts

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


@cache
def timezone_names() -> tuple[str, ...]:
    """IANA zone names people pick from (the legacy aliases left out)."""
    names = {
        n
        for n in zoneinfo.available_timezones()
        if "/" in n and not n.startswith(("Etc/", "SystemV/", "US/"))
    }
    return ("UTC", *sorted(names))


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


def role_choices(roles: Iterable[Role]) -> list[tuple[str, Any]]:
    allowed = set(roles)
    return [(r.value, ROLE_LABELS[r]) for r in Role if r in allowed]


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That email and password do not match an account. Check both and try again."),
    }


class TimezoneField(forms.CharField):
    """A time zone typed or picked from a searchable list (an ``<input list>`` of IANA names)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Time zone"))
        kwargs.setdefault(
            "help_text",
            _("Posts are planned and shown in this zone. Start typing a city, e.g. Moscow or Seoul."),
        )
        kwargs.setdefault("max_length", 64)
        super().__init__(widget=forms.TextInput(attrs={"list": "tz-names", "autocomplete": "off"}), **kwargs)

    def clean(self, value: Any) -> str:
        name = str(super().clean(value)).strip()
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                _("“%(name)s” is not a known time zone; pick one from the list."), params={"name": name}
            )
        return name


class WorkspaceForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=120, help_text=_("A brand or a client, e.g. “Coffee House Kazan”.")
    )
    timezone = TimezoneField()


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    timezone = TimezoneField()
    late_window_minutes = forms.IntegerField(
        label=_("Late window, minutes"),
        min_value=1,
        max_value=7 * 24 * 60,
        help_text=_(
            "A post that could not go out within this many minutes of its time is marked missed instead of going out late."
        ),
    )
    approval = forms.ChoiceField(
        label=_("Approval"),
        choices=Workspace.Approval.choices,
        widget=forms.RadioSelect,
        help_text=_("Who must approve a post before it can be scheduled."),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, roles: Sequence[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "role").choices = role_choices(roles)
        self.fields["role"].initial = (
            Role.EDITOR.value if Role.EDITOR in roles else (roles[0].value if roles else None)
        )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), widget=forms.Select(attrs={"class": "inline"}))

    def __init__(self, *args: Any, roles: Sequence[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "role").choices = role_choices(roles)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("What the key is for, e.g. “CRM export” or “Zapier”."),
    )
    role = forms.ChoiceField(
        label=_("Role"), help_text=_("The key can do what this role can do, nothing more.")
    )

    def __init__(self, *args: Any, roles: Sequence[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "role").choices = role_choices(roles)
        self.fields["role"].initial = Role.EDITOR.value


class WebhookForm(forms.Form):
    """Register an outgoing webhook endpoint (the service checks the address)."""

    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=500,
        help_text=_("An https:// address of your receiver; Rupor POSTs signed JSON to it."),
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/rupor-hook", "inputmode": "url"}),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )

    def __init__(self, *args: Any, events: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "events").choices = [(key, label) for key, label in events.items()]


CRED_PREFIX = "cred_"


class ChannelForm(forms.Form):
    """Connect (or reconnect) a channel: the network's own credential fields, then ours."""

    name = forms.CharField(
        label=_("Display name"),
        max_length=120,
        required=False,
        help_text=_("How the channel is called in Rupor. Leave empty to use the name the network reports."),
    )
    remote_id = forms.CharField(
        label=_("Remote id"),
        max_length=120,
        required=False,
        help_text=_(
            "The community, chat or page id. Leave empty when the network can tell it from the credentials."
        ),
    )
    base_url = forms.URLField(
        label=_("API base URL"),
        max_length=300,
        required=False,
        assume_scheme="https",
        help_text=_(
            "Only for self-hosted endpoints, proxies or emulators. Leave empty for the official API."
        ),
    )

    def __init__(
        self, *args: Any, fields: Sequence[CredentialField], editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.credential_names = [f.name for f in fields]
        for field in fields:
            widget: forms.Widget
            attrs = {"autocomplete": "off", "spellcheck": "false"}
            if field.secret:
                widget = forms.PasswordInput(attrs=attrs, render_value=False)
            else:
                widget = forms.TextInput(attrs=attrs)
            help_text = field.help
            if editing and field.secret:
                help_text = " ".join(
                    filter(None, [str(help_text), str(_("Leave empty to keep the current value."))])
                )
            self.fields[CRED_PREFIX + field.name] = forms.CharField(
                label=field.label,
                help_text=help_text,
                widget=widget,
                max_length=4000,
                required=field.required and not editing,
                strip=True,
            )
        if editing:
            del self.fields["remote_id"]
            self.fields["status"] = forms.ChoiceField(
                label=_("Status"),
                choices=[("active", _("Active")), ("paused", _("Paused: nothing is published"))],
            )

    def credentials(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[CRED_PREFIX + name]
            for name in self.credential_names
            if self.cleaned_data.get(CRED_PREFIX + name)
        }


#: What the composer's buttons ask for. ``save`` keeps the post's status (a new post is a draft).
POST_ACTIONS = ("save", "draft", "schedule", "now", "queue", "submit")


class PostForm(forms.Form):
    """The composer: shared text, channels, a time and what to do (``action``). Each channel's
    variant is a :class:`VariantRow` read from the ``variant_<name>_<channel id>`` fields."""

    title = forms.CharField(
        label=_("Internal title"),
        max_length=200,
        required=False,
        help_text=_("Only your team sees it; helps find the post in the plan."),
    )
    text = forms.CharField(label=_("Shared text"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
    rubric = forms.TypedChoiceField(
        label=_("Rubric"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"form": "composer"}),
    )
    channels = forms.TypedMultipleChoiceField(
        label=_("Channels"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    scheduled_at = forms.CharField(
        label=_("Publish at"),
        required=False,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "form": "composer"}, format=LOCAL_INPUT_FORMAT
        ),
    )
    #: Older clients send a status instead of an action; the buttons send ``action``.
    status = forms.ChoiceField(label=_("Status"), required=False, widget=forms.HiddenInput)
    action = forms.ChoiceField(
        required=False, choices=[(a, a) for a in POST_ACTIONS], widget=forms.HiddenInput
    )

    def __init__(
        self,
        *args: Any,
        channels: Sequence[tuple[int, str]],
        rubrics: Sequence[tuple[int, str]],
        statuses: Sequence[tuple[str, Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channel_choices = list(channels)
        _choices(self, "channels").choices = list(channels)
        _choices(self, "rubric").choices = [("", _("No rubric")), *rubrics]
        _choices(self, "status").choices = list(statuses)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rows = [VariantRow.from_post(self.data, channel_id) for channel_id, _name in self.channel_choices]
        getlist = getattr(self.data, "getlist", lambda k: [self.data.get(k)])
        has_shared_media = any(str(v or "").strip() for v in getlist("media"))
        if (
            not str(data.get("text") or "").strip()
            and not str(data.get("title") or "").strip()
            and not has_shared_media
            and not any(row.has_content for row in rows)
        ):
            self.add_error("text", _("Write something first: a text or at least an internal title."))
        return data

    def clean_scheduled_at(self) -> dt.datetime | None:
        return parse_local_time(self.cleaned_data.get("scheduled_at") or "")


def parse_local_time(raw: str) -> dt.datetime | None:
    """A wall-clock time typed in the composer (naive: the workspace's zone is applied later)."""
    raw = raw.strip()
    if not raw:
        return None
    for fmt in (LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            # Naive on purpose: the planning service reads it in the workspace's zone, DST rules included.
            return dt.datetime.strptime(raw, fmt)  # noqa: DTZ007 - naive on purpose (the line above)
        except ValueError:
            continue
    raise forms.ValidationError(_("Enter a date and time, e.g. 2025-03-01 09:30."))


#: The largest id a database column holds (64-bit signed); anything above is no object's id.
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """A database id typed or sent by a person (query string, form field), or ``None`` when it
    is not one: not a plain number, zero, negative, or too large for any database column."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def read_ids(values: Iterable[str]) -> list[int]:
    """Media ids in the order given, each once; anything that is not an id is dropped."""
    out: list[int] = []
    for value in values:
        number = parse_id(value)
        if number is not None and number not in out:
            out.append(number)
    return out


#: The variant options the composer writes for Mastodon (``Content.options``).
MASTODON_OPTIONS = ("spoiler_text", "visibility", "language")
#: The variant options the composer writes for YouTube (``Content.options``), by draft field.
YOUTUBE_OPTIONS = {
    "yt_title": "title",
    "yt_tags": "tags",
    "yt_privacy": "privacy",
    "yt_publish_at": "publish_at",
    "yt_playlist": "playlist",
}
#: Every option the composer owns: a saved value it no longer sends was cleared by the person.
COMPOSER_OPTIONS = ("format", "alt", "thread", "tracked_links", *MASTODON_OPTIONS, *YOUTUBE_OPTIONS.values())
MASTODON_VISIBILITIES = ("public", "unlisted", "private", "direct")
YOUTUBE_PRIVACY = ("public", "unlisted", "private")


@dataclass
class VariantDraft:
    """One channel's variant as typed in the composer (or as saved, when editing)."""

    channel_id: int
    text: str = ""
    follows: bool = True  # the text follows the shared text
    media_ids: list[int] = dataclasses.field(default_factory=list)
    media_follows: bool = True  # the media follow the shared selection
    link: str = ""
    first_comment: str = ""
    poll_on: bool = False
    poll_question: str = ""
    poll_options: list[str] = dataclasses.field(default_factory=lambda: ["", ""])
    poll_multiple: bool = False
    poll_anonymous: bool = True
    #: A quiz: the right option's number (1-based, as people count; "" for none), its
    #: explanation; how long the poll stays open (minutes, "" for the network's default).
    poll_correct: str = ""
    poll_explanation: str = ""
    poll_minutes: str = ""
    html: bool = False  # Telegram: the text is Telegram HTML
    alt_text: str = ""  # Bluesky: the images' descriptions, one line per image
    #: Mastodon: the content warning shown before the text, who sees the post, its language.
    spoiler_text: str = ""
    visibility: str = ""
    language: str = ""
    #: X, Bluesky: the posts after the first, separated by a line of ``---``.
    thread_text: str = ""
    #: The links go out as written: the workspace's UTM tags and short links are off for this
    #: variant (``options["tracked_links"] = False``).
    plain_links: bool = False
    #: YouTube: the video's title (else the text's first line), tags (comma-separated), privacy,
    #: the time YouTube makes a private video public (UTC, ``YYYY-MM-DDTHH:MM``) and a playlist id.
    yt_title: str = ""
    yt_tags: str = ""
    yt_privacy: str = ""
    yt_publish_at: str = ""
    yt_playlist: str = ""

    def thread(self) -> list[str]:
        return parse_parts(self.thread_text)

    def poll(self) -> dict[str, Any] | None:
        if not self.poll_on:
            return None
        out: dict[str, Any] = {
            "question": self.poll_question.strip(),
            "options": [o.strip() for o in self.poll_options if o.strip()],
            "multiple": self.poll_multiple,
            "anonymous": self.poll_anonymous,
        }
        correct = self.poll_correct.strip()
        if correct:
            # The planning check refuses anything but a number with a sentence (422).
            out["correct_option"] = int(correct) - 1 if correct.isdigit() else correct
        if self.poll_explanation.strip():
            out["explanation"] = self.poll_explanation.strip()
        if self.poll_minutes.strip():
            minutes = self.poll_minutes.strip()
            out["minutes"] = int(minutes) if minutes.isdigit() else minutes
        return out

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": "html"} if self.html else {}
        alts = [line.strip() for line in self.alt_text.splitlines()]
        while alts and not alts[-1]:
            alts.pop()
        if alts:
            out["alt"] = alts
        for key in MASTODON_OPTIONS:
            value = str(getattr(self, key)).strip()
            if value:
                out[key] = value
        for attr, key in YOUTUBE_OPTIONS.items():
            value = str(getattr(self, attr)).strip()
            if value:
                out[key] = f"{value}:00Z" if key == "publish_at" and len(value) == 16 else value
        if self.thread():
            out["thread"] = self.thread()
        if self.plain_links:
            out["tracked_links"] = False
        return out

    @property
    def has_extras(self) -> bool:
        return bool(
            self.link
            or self.first_comment
            or self.poll_on
            or self.html
            or self.alt_text.strip()
            or self.spoiler_text
            or self.visibility
            or self.thread_text.strip()
            or self.plain_links
            or any(str(getattr(self, attr)).strip() for attr in YOUTUBE_OPTIONS)
        )


class VariantRow(BaseModel):
    """One channel's row of the composer as posted: its fields are ``variant_<name>_<channel id>``
    (``variant_text_12``, ``variant_link_12``…), read for each of the workspace's channels by name,
    never by scanning the form's keys."""

    model_config = ConfigDict(frozen=True)

    channel_id: int
    text: str = ""
    media: tuple[int, ...] = ()  # the row's own media (when it does not follow the shared ones)
    media_follows: bool | None = None  # None: the field was not sent
    link: str = ""
    first_comment: str = ""
    poll: bool = False
    poll_question: str = ""
    poll_options: tuple[str, ...] = ()
    poll_multiple: bool = False
    poll_anonymous: bool = False
    poll_correct: str = ""
    poll_explanation: str = ""
    poll_minutes: str = ""
    format: str = ""
    alt: str = ""
    spoiler_text: str = ""
    visibility: str = ""
    language: str = ""
    thread: str = ""
    #: "1": the variant's links are tagged and shortened; "0": published as written.
    tracked_links: str = ""
    yt_title: str = ""
    yt_tags: str = ""
    yt_privacy: str = ""
    yt_publish_at: str = ""
    yt_playlist: str = ""

    @classmethod
    def from_post(cls, data: Mapping[str, Any], channel_id: int) -> VariantRow:
        """The row of ``channel_id`` from the composer's fields (``data`` is ``request.POST``)."""

        def one(name: str) -> str:
            return str(data.get(f"variant_{name}_{channel_id}", "") or "")

        def many(name: str) -> list[str]:
            key = f"variant_{name}_{channel_id}"
            getlist = getattr(data, "getlist", None)
            values = getlist(key) if getlist else data.get(key, [])
            return [str(v) for v in (values if isinstance(values, list | tuple) else [values])]

        follows = data.get(f"variant_media_follows_{channel_id}")
        return cls(
            channel_id=channel_id,
            text=one("text"),
            media=tuple(read_ids(many("media"))),
            media_follows=None if follows is None else follows == "1",
            link=one("link").strip(),
            first_comment=one("first_comment"),
            poll=one("poll") == "1",
            poll_question=one("poll_question"),
            poll_options=tuple(many("poll_option")),
            poll_multiple=bool(one("poll_multiple")),
            poll_anonymous=bool(one("poll_anonymous")),
            poll_correct=one("poll_correct").strip()[:4],
            poll_explanation=one("poll_explanation")[:1000],
            poll_minutes=one("poll_minutes").strip()[:12],
            format=one("format"),
            alt=one("alt"),
            spoiler_text=one("spoiler_text").strip()[:500],
            visibility=one("visibility") if one("visibility") in MASTODON_VISIBILITIES else "",
            language=one("language").strip().lower()[:8],
            thread=one("thread"),
            tracked_links=one("tracked_links"),
            yt_title=one("yt_title").strip()[:200],
            yt_tags=one("yt_tags").strip()[:1000],
            yt_privacy=one("yt_privacy") if one("yt_privacy") in YOUTUBE_PRIVACY else "",
            yt_publish_at=one("yt_publish_at").strip()[:25],
            yt_playlist=one("yt_playlist").strip()[:100],
        )

    @property
    def has_content(self) -> bool:
        """Something was written in the row itself (a text, media or a poll question)."""
        return bool(self.text.strip() or self.media or self.poll_question.strip())

    def draft(self, *, shared_text: str, shared_media: Sequence[int]) -> VariantDraft:
        """The variant this row stands for, the shared text and media filled in where it follows them."""
        media_follows = self.media_follows if self.media_follows is not None else not self.media
        options = list(self.poll_options)
        while len(options) < 2:
            options.append("")
        return VariantDraft(
            channel_id=self.channel_id,
            text=self.text or shared_text,
            follows=not self.text or self.text == shared_text,
            media_ids=list(shared_media) if media_follows else list(self.media),
            media_follows=media_follows,
            link=self.link,
            first_comment=self.first_comment,
            poll_on=self.poll,
            poll_question=self.poll_question,
            poll_options=options,
            poll_multiple=self.poll_multiple,
            poll_anonymous=self.poll_anonymous if self.poll else True,
            poll_correct=self.poll_correct,
            poll_explanation=self.poll_explanation,
            poll_minutes=self.poll_minutes,
            html=self.format == "html",
            alt_text=self.alt,
            spoiler_text=self.spoiler_text,
            visibility=self.visibility,
            language=self.language,
            thread_text=self.thread,
            plain_links=self.tracked_links == "0",
            yt_title=self.yt_title,
            yt_tags=self.yt_tags,
            yt_privacy=self.yt_privacy,
            yt_publish_at=self.yt_publish_at,
            yt_playlist=self.yt_playlist,
        )


def read_variant(
    data: Mapping[str, Any], channel_id: int, *, shared_text: str, shared_media: Sequence[int]
) -> VariantDraft:
    """The variant of ``channel_id`` from the composer's fields (``data`` is ``request.POST``)."""
    return VariantRow.from_post(data, channel_id).draft(shared_text=shared_text, shared_media=shared_media)


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "language").choices = [(code, name) for code, name in settings.LANGUAGES]


class AcceptInvitationForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters; not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class TwoFactorCodeForm(forms.Form):
    """The second step of signing in: a code from the app or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("The 6-digit code your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )


class TwoFactorConfirmForm(forms.Form):
    """The first code from the app, which turns two-factor sign-in on."""

    code = forms.CharField(
        label=_("Code from the app"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TwoFactorProofForm(forms.Form):
    """The password or a current code, to turn two-factor sign-in off or make new recovery codes."""

    proof = forms.CharField(
        label=_("Your password or a current code from the app"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
