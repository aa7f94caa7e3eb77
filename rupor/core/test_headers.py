"""Security headers on every page, and RUPOR_HOME kept private on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.mail import send_mail
from django.test import Client

from rupor.core import config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.django_db
def test_every_page_has_the_content_security_policy(settings: Any) -> None:
    settings.RUPOR_BASE_URL = "http://127.0.0.1:8000"
    response = Client().get("/login/")
    policy = response["Content-Security-Policy"]
    for part in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "style-src-elem 'self'",
    ):
        assert part in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "Strict-Transport-Security" not in response
    # htmx is told not to inject its indicator <style> and not to eval.
    assert 'name="htmx-config"' in response.content.decode()
    assert "onsubmit=" not in response.content.decode()
    assert "Content-Security-Policy" in Client().get("/api/v1/openapi.json")


@pytest.mark.django_db
def test_https_base_url_turns_on_hsts_and_secure_cookies(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings.RUPOR_BASE_URL = "https://rupor.example.com"
    response = Client().get("/login/")
    assert response["Strict-Transport-Security"].startswith("max-age=")

    monkeypatch.setenv("RUPOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RUPOR_BASE_URL", "https://rupor.example.com")
    monkeypatch.delenv("RUPOR_SECURE_COOKIES", raising=False)
    assert config.load().secure_cookies is True
    monkeypatch.setenv("RUPOR_BASE_URL", "http://127.0.0.1:8000")
    assert config.load().secure_cookies is False


def test_rupor_home_and_what_it_holds_are_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Any
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("RUPOR_HOME", str(home))
    monkeypatch.delenv("RUPOR_SECRET_KEY", raising=False)
    old_umask = os.umask(0o022)  # as a shell would leave it
    try:
        cfg = config.load()
        assert _mode(home) == 0o700
        assert _mode(home / "secret_key") == 0o600
        (home / "rupor.sqlite3").write_bytes(b"")
        (home / "rupor.sqlite3").chmod(0o644)
        config.secure_home(cfg)
        assert _mode(home / "rupor.sqlite3") == 0o600
        assert _mode(cfg.media_root) == 0o700 and _mode(home / "mail") == 0o700

        # Files written afterwards: mail, media uploads (and their new directories).
        settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
        settings.EMAIL_FILE_PATH = str(home / "mail")
        send_mail("Hello", "Body", None, ["someone@example.com"])
        mails = list((home / "mail").iterdir())
        assert mails and all(_mode(m) == 0o600 for m in mails)
        storage = FileSystemStorage(location=str(cfg.media_root))
        name = storage.save("ws-1/2026/photo.jpg", ContentFile(b"x"))
        assert _mode(cfg.media_root / name) == 0o600
        assert _mode(cfg.media_root / "ws-1") == 0o700
    finally:
        os.umask(old_umask)
