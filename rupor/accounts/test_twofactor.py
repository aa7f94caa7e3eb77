"""Two-factor sign-in (accounts/twofactor.py): the key, the codes, recovery codes, turning it off,
the operator's reset and the workspace's requirement."""

from __future__ import annotations

import datetime as dt
from base64 import b32decode
from typing import Any

import pytest
from django_otp.oath import TOTP

from rupor.accounts import service as accounts
from rupor.accounts import twofactor
from rupor.accounts.models import AuditEntry, RecoveryCode, TwoFactorDevice, User, Workspace
from rupor.accounts.roles import Role
from rupor.core import clock, config
from rupor.notifications.models import Delivery, Notification

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def code_for(secret: str, *, steps: int = 0) -> str:
    """What an authenticator app with this key shows now (``steps`` periods later or earlier)."""
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    totp = TOTP(key, step=30, digits=6)
    totp.time = clock.now().timestamp() + 30 * steps
    return f"{totp.token():06d}"


def turn_on(user: User) -> tuple[str, list[str]]:
    """Two-factor sign-in on for ``user``: the key (base32) and the recovery codes."""
    setup = twofactor.begin(user)
    codes = twofactor.confirm(user, code_for(setup.secret))
    clock.advance(dt.timedelta(seconds=30))  # the confirming code's step is used up
    return setup.secret, codes


@pytest.fixture
def ann(make_user: Any, make_workspace: Any) -> User:
    clock.freeze(START)
    user: User = make_user("ann@example.com")
    make_workspace("Acme", owner=user)
    make_workspace("Beta", owner=user)
    return user


def test_the_key_waits_for_a_code_and_is_stored_encrypted(ann: User) -> None:
    setup = twofactor.begin(ann)
    assert twofactor.begin(ann) == setup  # the same key until it is confirmed
    assert setup.uri.startswith("otpauth://totp/Rupor%3Aann%40example.com?secret=" + setup.secret)
    assert "issuer=Rupor" in setup.uri and "digits=6" in setup.uri and "period=30" in setup.uri
    assert len(setup.secret) == 32  # 20 bytes in base32
    device = TwoFactorDevice.objects.get(user=ann)
    key = b32decode(setup.secret)
    assert device.get_key() == key
    assert key.hex() not in device.key_encrypted and setup.secret not in device.key_encrypted
    # Not on until confirmed: signing in asks for no code, a code does nothing.
    assert not accounts.has_two_factor(ann.pk)
    assert twofactor.verify(ann, code_for(setup.secret)) is None


def test_confirming_needs_the_apps_code_and_gives_ten_single_use_codes_stored_hashed(ann: User) -> None:
    setup = twofactor.begin(ann)
    with pytest.raises(accounts.AccountsError) as wrong:
        twofactor.confirm(ann, "000000" if code_for(setup.secret) != "000000" else "111111")
    assert wrong.value.field == "code"
    with pytest.raises(accounts.AccountsError, match="6-digit"):
        twofactor.confirm(ann, "abc")
    assert not accounts.has_two_factor(ann.pk)

    codes = twofactor.confirm(ann, code_for(setup.secret))
    assert accounts.has_two_factor(ann.pk)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    stored = list(RecoveryCode.objects.filter(user=ann).values_list("code_hash", flat=True))
    assert len(stored) == 10
    for code in codes:
        assert code.replace("-", "") not in stored
    status = twofactor.status(ann)
    assert status.enabled and status.recovery_left == 10 and status.enabled_at == START
    # Audited in each of her workspaces.
    entries = AuditEntry.objects.filter(action="two_factor.enable", actor=ann)
    assert sorted(entries.values_list("workspace__name", flat=True)) == ["Acme", "Beta"]
    with pytest.raises(accounts.AccountsError, match="already on"):
        twofactor.begin(ann)


def test_a_code_is_accepted_once_and_one_step_either_way(ann: User) -> None:
    secret, _codes = turn_on(ann)
    now = code_for(secret)
    verified = twofactor.verify(ann, now)
    assert verified is not None and verified.method == "app" and verified.recovery_left == 10
    assert twofactor.verify(ann, now) is None  # the same code again: refused
    clock.advance(dt.timedelta(seconds=30))
    # The step before the current one was the one just used: not again; the next step is fine.
    assert twofactor.verify(ann, code_for(secret, steps=-1)) is None
    clock.advance(dt.timedelta(seconds=2))  # past the back-off of that wrong code
    assert twofactor.verify(ann, code_for(secret, steps=1)) is not None
    clock.advance(dt.timedelta(minutes=5))
    assert twofactor.verify(ann, code_for(secret, steps=2)) is None  # two steps ahead: too far
    clock.advance(dt.timedelta(seconds=2))
    assert twofactor.verify(ann, code_for(secret, steps=-2)) is None  # two steps behind: too old
    clock.advance(dt.timedelta(seconds=3))
    assert twofactor.verify(ann, f" {code_for(secret)[:3]} {code_for(secret)[3:]} ") is not None  # spaces ok


def test_two_requests_with_one_code_get_in_once(ann: User) -> None:
    secret, _codes = turn_on(ann)
    first = TwoFactorDevice.objects.get(user=ann)
    second = TwoFactorDevice.objects.get(user=ann)  # read before either used the code
    code = code_for(secret)
    results = [twofactor._use_app_code(first, code), twofactor._use_app_code(second, code)]
    assert results == [True, False]


def test_wrong_codes_in_a_row_make_the_next_wait(ann: User) -> None:
    secret, _codes = turn_on(ann)
    right = code_for(secret)
    wrong = "123456" if right != "123456" else "654321"
    assert twofactor.verify(ann, wrong) is None
    with pytest.raises(twofactor.TwoFactorLocked) as locked:
        twofactor.verify(ann, right)  # within a second of the wrong one: not even looked at
    assert locked.value.wait == 1 and locked.value.status == 429
    clock.advance(dt.timedelta(seconds=1))
    assert twofactor.verify(ann, wrong) is None
    clock.advance(dt.timedelta(seconds=1))
    with pytest.raises(twofactor.TwoFactorLocked) as locked:
        twofactor.verify(ann, right)
    assert locked.value.wait == 1  # two in a row: two seconds
    device = TwoFactorDevice.objects.get(user=ann)
    device.throttling_failure_count = 40
    device.save()
    with pytest.raises(twofactor.TwoFactorLocked) as locked:
        twofactor.verify(ann, right)
    assert locked.value.wait <= 3600  # capped at an hour
    clock.advance(dt.timedelta(hours=1))
    assert twofactor.verify(ann, code_for(secret)) is not None
    assert TwoFactorDevice.objects.get(user=ann).throttling_failure_count == 0


def test_a_recovery_code_works_once_and_the_person_is_told(ann: User) -> None:
    _secret, codes = turn_on(ann)
    verified = twofactor.verify(ann, codes[3].upper().replace("-", " "))
    assert verified is not None and verified.method == "recovery_code" and verified.recovery_left == 9
    assert twofactor.verify(ann, codes[3]) is None
    assert twofactor.verify(ann, "zzzzz-zzzzz") is None
    assert twofactor.status(ann).recovery_left == 9
    assert AuditEntry.objects.filter(action="two_factor.recovery_used").count() == 2  # both workspaces
    notices = Notification.objects.filter(user=ann, kind="recovery_code_used")
    assert notices.count() == 2
    assert "9 codes are left" in notices.first().body  # type: ignore[union-attr]  # two exist
    mail = Delivery.objects.get(kind="recovery_code_used")
    assert mail.to_email == "ann@example.com" and mail.channel == "email"
    assert codes[3] not in mail.payload["message"]


def test_the_notice_is_in_the_persons_language(ann: User) -> None:
    ann.language = "ru"
    ann.save()
    _secret, codes = turn_on(ann)
    twofactor.verify(ann, codes[0])
    notice = Notification.objects.filter(user=ann, kind="recovery_code_used").first()
    assert notice is not None
    assert "восстановления" in notice.title


def test_turning_it_off_needs_the_password_or_a_current_code(ann: User) -> None:
    secret, _codes = turn_on(ann)
    with pytest.raises(accounts.AccountsError) as refused:
        twofactor.disable(ann, "not my password")
    assert refused.value.status == 403 and refused.value.field == "proof"
    assert accounts.has_two_factor(ann.pk)
    twofactor.disable(ann, PASSWORD)
    assert not accounts.has_two_factor(ann.pk)
    assert not RecoveryCode.objects.filter(user=ann).exists()
    assert AuditEntry.objects.filter(action="two_factor.disable").count() == 2
    assert Notification.objects.filter(user=ann, kind="two_factor_disabled").count() == 2
    assert Delivery.objects.filter(kind="two_factor_disabled", to_email=ann.email).count() == 1

    secret, _codes = turn_on(ann)
    twofactor.disable(ann, code_for(secret))
    assert not accounts.has_two_factor(ann.pk)
    with pytest.raises(accounts.AccountsError, match="not on"):
        twofactor.disable(ann, PASSWORD)


def test_new_recovery_codes_replace_the_old_ones(ann: User) -> None:
    _secret, old = turn_on(ann)
    with pytest.raises(accounts.AccountsError):
        twofactor.regenerate_codes(ann, "wrong")
    new = twofactor.regenerate_codes(ann, PASSWORD)
    assert set(new).isdisjoint(old)
    assert twofactor.verify(ann, old[0]) is None
    assert twofactor.verify(ann, new[0]) is not None
    assert AuditEntry.objects.filter(action="two_factor.recovery_regenerate").count() == 2


def test_recovery_codes_survive_a_rotation_of_the_instance_secret(
    ann: User, settings: Any, monkeypatch: Any
) -> None:
    _secret, codes = turn_on(ann)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a brand new instance secret that is long enough"
    monkeypatch.setattr(config, "old_secret_keys", lambda: (old,))
    assert twofactor.verify(ann, codes[0]) is not None
    monkeypatch.setattr(config, "old_secret_keys", tuple)
    assert twofactor.verify(ann, codes[1]) is None  # without the old secret, no digest matches


def test_the_operator_turns_it_off_for_someone_locked_out(ann: User) -> None:
    turn_on(ann)
    assert twofactor.reset("ANN@example.com") is True
    assert not accounts.has_two_factor(ann.pk)
    entry = AuditEntry.objects.filter(action="two_factor.reset").first()
    assert entry is not None and entry.actor is None
    notice = Notification.objects.filter(user=ann, kind="two_factor_disabled").first()
    assert notice is not None and "operator" in notice.body
    assert twofactor.reset("ann@example.com") is False
    with pytest.raises(accounts.AccountsError) as unknown:
        twofactor.reset("nobody@example.com")
    assert unknown.value.status == 404


def test_owners_require_it_once_they_use_it_themselves(ann: User, make_user: Any) -> None:
    ws = Workspace.objects.get(name="Acme")
    owner = accounts.actor_for_user(ann, ws)
    assert owner is not None
    admin_user = make_user("adam@example.com")
    accounts.add_member(owner, admin_user.email, "admin")
    admin = accounts.actor_for_user(admin_user, ws)
    assert admin is not None and admin.role == Role.ADMIN
    with pytest.raises(accounts.AccountsError) as refused:
        accounts.set_two_factor_required(admin, True)
    assert refused.value.status == 403
    with pytest.raises(accounts.AccountsError) as first:
        accounts.set_two_factor_required(owner, True)
    assert first.value.status == 409
    turn_on(ann)
    accounts.set_two_factor_required(owner, True)
    assert accounts.two_factor_required(ws.pk)
    assert accounts.two_factor_missing(admin_user.pk, ws.pk)
    assert not accounts.two_factor_missing(ann.pk, ws.pk)
    assert not accounts.two_factor_missing(admin_user.pk, Workspace.objects.get(name="Beta").pk)
    assert AuditEntry.objects.filter(workspace=ws, action="workspace.two_factor").count() == 1
    accounts.set_two_factor_required(owner, True)  # no change, no new entry
    assert AuditEntry.objects.filter(workspace=ws, action="workspace.two_factor").count() == 1
    # The operator (no person) may change it without a device of their own.
    accounts.set_two_factor_required(accounts.Actor(ws.pk, Role.OWNER, label="command line"), False)
    assert not accounts.two_factor_required(ws.pk)
    assert accounts.two_factor_users([ann.pk, admin_user.pk]) == {ann.pk}
