"""Helpers for tests and the offline demo: a running Metrica emulator, access to its demo counter,
landings (the tagged addresses a site's visitors arrive at) and its quotas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rupor.core import http
from rupor.networks.emulation import RunningEmulator
from rupor.networks.metrica import emulator as emu
from rupor.networks.webanalytics import SourceAccess

DEMO_COUNTER_ID = str(emu.DEMO_COUNTER_ID)


def start(**options: Any) -> RunningEmulator:
    """Start a Metrica emulator (no sample landings unless asked: tests register their own)."""
    options.setdefault("seed", 0)
    options.setdefault("sample", False)
    return RunningEmulator(emu.create_app(**options)).start()


def demo_credentials() -> dict[str, str]:
    return {"token": emu.DEMO_TOKEN}


def access_for(emulator: Any, **overrides: Any) -> SourceAccess:
    fields: dict[str, Any] = {
        "kind": "metrica",
        "account_id": DEMO_COUNTER_ID,
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
    """Visitors start arriving at each tagged address from its moment; how many were new."""
    body = {"landings": [{"url": url, "since": when.timestamp()} for url, when in landings]}
    return int(_post(emulator, "/_emulator/landings", body)["added"])


def set_quotas(emulator: Any, **limits: Any) -> None:
    _post(emulator, "/_emulator/quotas", limits)


def set_clock(emulator: Any, when: dt.datetime) -> None:
    _post(emulator, "/_emulator/clock", {"at": when.timestamp(), "frozen": True})


def faults(emulator: Any, spec: dict[str, Any]) -> None:
    _post(emulator, "/_emulator/faults", spec)


def report(emulator: Any, token: str = emu.DEMO_TOKEN, **params: str) -> Any:
    """A raw ``/stat/v1/data`` answer (status, JSON), for tests of the emulator itself."""
    with http.client(base_url=emulator.url, timeout=10) as client:
        response = client.get(
            "/stat/v1/data", params=params, headers={"Authorization": f"OAuth {token}"} if token else {}
        )
        return response.status_code, response.json()
