"""A local drand relay that answers like the real one (``beacon.py`` lists the facts).

Routes (the chain's hash in the path, and the same without it for the default chain):

* ``GET /{chain_hash}/info`` and ``GET /info`` — ``public_key``, ``period``, ``genesis_time``,
  ``hash``, ``groupHash``, ``schemeID``, ``metadata.beaconID``;
* ``GET /{chain_hash}/public/{round}``, ``/{chain_hash}/public/latest`` (and without the hash) —
  ``{"round", "randomness", "signature"}``; a round whose time (``genesis_time + (round - 1) *
  period`` on the emulator's clock) has not come is 425 Too Early, an unknown chain 404;
* ``/_emulator/*`` — clock, faults, state, ledger, reset (shared).

Its chain has quicknet's hash, genesis and period, so rounds fall when they fall on the real
network. The signature is not a BLS signature: 48 bytes derived from the seed and the round
(SHA-256 and SHA-256 again, cut), so a verifier that checks BLS against quicknet's key would
refuse it; ``randomness`` is SHA-256 of those bytes exactly as drand defines it, which is what
Rupor checks.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rupor.networks.drand import beacon
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes


def signature_for(seed: str, round_number: int) -> str:
    """The emulated chain's 48-byte "signature" of a round (hex)."""
    first = hashlib.sha256(f"drand-emulator:{seed}:{round_number}".encode()).digest()
    second = hashlib.sha256(first).digest()
    return (first + second)[:48].hex()


def create_app(seed: str = "rupor", rate_limits: bool = False) -> Any:
    clock = EmulatorClock()
    injector = FaultInjector()
    chain = beacon.QUICKNET
    served: list[dict[str, Any]] = []

    def info_body() -> dict[str, Any]:
        return {
            "public_key": chain.public_key,
            "period": chain.period,
            "genesis_time": chain.genesis_time,
            "hash": chain.hash,
            "groupHash": hashlib.sha256(f"group:{seed}".encode()).hexdigest(),
            "schemeID": chain.scheme,
            "metadata": {"beaconID": "quicknet"},
        }

    def known(request: Request) -> bool:
        return bool(request.path_params.get("chain", chain.hash) == chain.hash)

    async def info(request: Request) -> Response:
        if not known(request):
            return JSONResponse({"error": "unknown chain"}, status_code=404)
        return JSONResponse(info_body())

    async def public(request: Request) -> Response:
        if not known(request):
            return JSONResponse({"error": "unknown chain"}, status_code=404)
        current = chain.round_at(clock.now())
        wanted = str(request.path_params["round"])
        if wanted == "latest":
            number = current
        elif wanted.isdigit():
            number = int(wanted)
        else:
            return JSONResponse({"error": "invalid round"}, status_code=400)
        if number < 1 or number > current:
            return JSONResponse({"error": "requested future beacon"}, status_code=425)
        signature = signature_for(seed, number)
        body = {"round": number, "randomness": beacon.randomness_of(signature), "signature": signature}
        served.append({"round": number})
        return JSONResponse(body)

    def state() -> dict[str, Any]:
        return {"chain": info_body(), "current_round": chain.round_at(clock.now())}

    routes = [
        Route("/info", info, methods=["GET"]),
        Route("/public/{round}", public, methods=["GET"]),
        Route("/{chain}/info", info, methods=["GET"]),
        Route("/{chain}/public/{round}", public, methods=["GET"]),
        *control_routes(injector, clock, state, lambda: list(served), served.clear),
    ]
    inner = Starlette(routes=routes)
    app = FaultMiddleware(
        inner,
        injector,
        lambda scope, _body: "public" if "/public/" in scope["path"] else "info",
        lambda _m: JSONResponse({"error": "too many requests"}, status_code=429),
    )
    app.state = SimpleNamespace(clock=clock)  # type: ignore[attr-defined]  # the shape every emulator has: tests reach the clock here
    return app
