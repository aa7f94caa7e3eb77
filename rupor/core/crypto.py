"""Encryption at rest for credentials and other secrets.

Keys are derived with HKDF from the instance secret (``RUPOR_SECRET_KEY`` or the generated
key file under ``RUPOR_HOME``), one derived key per purpose. Old secrets listed in
``RUPOR_OLD_SECRET_KEYS`` still decrypt, so a secret can be rotated without losing data:
values are re-encrypted with the newest key on the next write.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from rupor.core import config


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def _derive(secret: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rupor-at-rest-v1", info=purpose.encode())
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


@lru_cache(maxsize=8)
def _fernet(purpose: str, secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(s, purpose)) for s in secrets])


def _current(purpose: str) -> MultiFernet:
    secrets = (settings.SECRET_KEY, *config.old_secret_keys())
    return _fernet(purpose, tuple(secrets))


def encrypt(plaintext: str, purpose: str = "credentials") -> str:
    return _current(purpose).encrypt(plaintext.encode()).decode()


def decrypt(token: str, purpose: str = "credentials") -> str:
    try:
        return _current(purpose).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(f"cannot decrypt stored {purpose} with the configured keys") from exc


def encrypt_json(value: dict[str, Any], purpose: str = "credentials") -> str:
    return encrypt(json.dumps(value, sort_keys=True), purpose)


def decrypt_json(token: str, purpose: str = "credentials") -> dict[str, Any]:
    if not token:
        return {}
    data = json.loads(decrypt(token, purpose))
    if not isinstance(data, dict):
        raise DecryptionError("stored secret is not an object")
    return data


def keyed_digests(value: str, purpose: str) -> tuple[str, ...]:
    """HMAC-SHA256 of ``value`` (hex) under a key derived for ``purpose``: the current secret's
    first, then each old secret's (``RUPOR_OLD_SECRET_KEYS``), so a value stored under an old
    secret is still recognised after a rotation. For short secrets people type (recovery codes):
    a copy of the database alone cannot test guesses against them without the instance secret."""
    secrets = (settings.SECRET_KEY, *config.old_secret_keys())
    return tuple(
        hmac.new(_derive(secret, "digest:" + purpose), value.encode(), hashlib.sha256).hexdigest()
        for secret in secrets
    )
