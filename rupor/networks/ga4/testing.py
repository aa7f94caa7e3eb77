"""Helpers for tests and the offline demo: a running GA4 emulator, the demo service account,
landings (the tagged addresses a site's visitors arrive at), quotas and other keys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from rupor.core import http
from rupor.networks.emulation import RunningEmulator
from rupor.networks.ga4 import emulator as emu
from rupor.networks.webanalytics import SourceAccess

DEMO_PROPERTY_ID = emu.DEMO_PROPERTY_ID


def start(**options: Any) -> RunningEmulator:
    """Start a GA4 emulator (no sample landings unless asked: tests register their own)."""
    options.setdefault("seed", 0)
    options.setdefault("sample", False)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_key_text() -> str:
    """The demo service account's key file (valid at the emulator only)."""
    return emu.DEMO_KEY_FILE.read_text()


def demo_credentials() -> dict[str, str]:
    return {"service_account": demo_key_text()}


def access_for(emulator: Any, **overrides: Any) -> SourceAccess:
    fields: dict[str, Any] = {
        "kind": "ga4",
        "account_id": DEMO_PROPERTY_ID,
        "credentials": demo_credentials(),
        "base_url": emulator.url,
    }
    fields.update(overrides)
    return SourceAccess(**fields)


def _post(emulator: Any, path: str, body: dict[str, Any]) -> Any:
    with http.client(base_url=emulator.url, timeout=10) as client:
        response = client.post(path, json=body)
        response.raise_for_status()
        return response.json()


def add_landings(emulator: Any, landings: Iterable[tuple[str, dt.datetime]]) -> int:
    body = {"landings": [{"url": url, "since": when.timestamp()} for url, when in landings]}
    return int(_post(emulator, "/_emulator/landings", body)["added"])


def set_quotas(emulator: Any, **limits: Any) -> None:
    _post(emulator, "/_emulator/quotas", limits)


def faults(emulator: Any, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def new_key(
    emulator: Any | None, *, properties: Iterable[str] = (), disabled: bool = False, email: str = ""
) -> str:
    """A new service account key file; registered with ``emulator`` (when given) for ``properties``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = email or f"test-{id(key) % 100000}@rupor-test.iam.gserviceaccount.com"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    if emulator is not None:
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        _post(
            emulator,
            "/_emulator/service-accounts",
            {
                "client_email": email,
                "public_key": public,
                "properties": list(properties),
                "disabled": disabled,
            },
        )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "rupor-test",
            "private_key_id": "test",
            "private_key": pem,
            "client_email": email,
        }
    )


def run_report(emulator: Any, body: dict[str, Any], token: str, prop: str = DEMO_PROPERTY_ID) -> Any:
    """A raw ``runReport`` answer (status, JSON), for tests of the emulator itself."""
    with http.client(base_url=emulator.url, timeout=10) as client:
        response = client.post(
            f"/v1beta/properties/{prop}:runReport", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.json()
