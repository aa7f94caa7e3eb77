"""Request validation from the YouTube Data API v3 discovery document (the trimmed copy in
``discovery.json``, made by ``tools/youtube/extract_discovery.py`` from the document Google ships in
``google-api-python-client``). The emulator checks every request against it: required
parameters, unknown parameters, enum values, ``part`` names and the request body's fields,
answering with the API's own 400 shapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from rupor.networks.youtube.wire import parse_time

DOCUMENT = Path(__file__).with_name("discovery.json")


class Invalid(Exception):
    """A request the API refuses: HTTP ``status`` with one error of ``domain`` / ``reason``."""

    def __init__(
        self, status: int, reason: str, message: str, *, domain: str = "global", location: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
        if self.location:
            error.update(locationType="parameter", location=self.location)
        return {"error": {"code": self.status, "message": self.message, "errors": [error]}}


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return loaded


def method(method_id: str) -> dict[str, Any]:
    found: dict[str, Any] = document()["methods"][method_id]
    return found


def parts(resource: str) -> list[str]:
    return list(document()["parts"].get(resource, []))


def _enum_check(name: str, spec: Mapping[str, Any], values: list[str]) -> None:
    allowed = spec.get("enum")
    for value in values:
        if allowed and value not in allowed:
            raise Invalid(
                400,
                "invalidParameter",
                f"Invalid value '{value}' for parameter '{name}'.",
                domain="youtube.parameter",
                location=name,
            )
        if spec.get("type") == "boolean" and value not in ("true", "false"):
            raise Invalid(400, "invalidBoolean", f"Invalid boolean value: '{value}'.", location=name)
        if spec.get("type") == "integer":
            try:
                int(value)
            except ValueError:
                raise Invalid(
                    400, "invalidInteger", f"Invalid integer value: '{value}'.", location=name
                ) from None


def check_query(method_id: str, query: Mapping[str, list[str]]) -> list[str]:
    """Check a request's query parameters; return the ``part`` names asked for."""
    spec = method(method_id)
    params: Mapping[str, Any] = spec["parameters"]
    global_params: Mapping[str, Any] = document()["globalParameters"]
    for name, values in query.items():
        known = params.get(name) or global_params.get(name)
        if known is None and name not in ("upload_id",):
            raise Invalid(
                400,
                "badRequest",
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                f"Field '{name}' could not be found in request message.",
            )
        if known is not None:
            _enum_check(name, known, values)
    for name, p in params.items():
        if p.get("required") and not any(v.strip() for v in query.get(name, [])):
            raise Invalid(400, "required", f"Required parameter: {name}", location=name)
    asked: list[str] = []
    if "part" in params:
        resource = method_id.split(".", 1)[0]
        allowed = parts(resource) or []
        for value in query.get("part", []):
            for name in (n.strip() for n in value.split(",")):
                if name and name not in allowed:
                    raise Invalid(400, "unknownPart", name, domain="youtube.part", location="part")
                if name:
                    asked.append(name)
    return asked


def check_body(method_id: str, body: Any) -> None:
    """Check a request body against the method's request schema (fields, types, enums)."""
    ref = method(method_id).get("request")
    if ref is None:
        return
    if not isinstance(body, dict):
        raise Invalid(400, "badRequest", "Invalid JSON payload received. Expected an object.")
    _check_object(ref, body, "resource")


def _check_object(ref: str, value: Mapping[str, Any], where: str) -> None:
    schema = document()["schemas"][ref]
    props: Mapping[str, Any] = schema.get("properties", {})
    for name, item in value.items():
        if name not in props:
            raise Invalid(
                400,
                "badRequest",
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field.",
            )
        _check_value(props[name], item, f"{where}.{name}")


def _check_value(spec: Mapping[str, Any], item: Any, where: str) -> None:
    if item is None:
        return
    if "$ref" in spec:
        if not isinstance(item, dict):
            raise Invalid(400, "badRequest", f"Invalid value at '{where}': expected an object.")
        _check_object(spec["$ref"], item, where)
        return
    kind = spec.get("type")
    if kind == "string":
        if not isinstance(item, str):
            raise Invalid(400, "badRequest", f"Invalid value at '{where}' ({type(item).__name__}).")
        if spec.get("enum") and item not in spec["enum"]:
            raise Invalid(400, "invalidValue", f"Invalid value at '{where}': '{item}'.")
        if spec.get("format") == "date-time":
            try:
                parse_time(item)
            except ValueError:
                raise Invalid(400, "invalidValue", f"Invalid value at '{where}': '{item}'.") from None
    elif kind == "boolean" and not isinstance(item, bool):
        raise Invalid(400, "badRequest", f"Invalid value at '{where}': expected a boolean.")
    elif kind == "integer" and not (isinstance(item, int) or (isinstance(item, str) and item.isdigit())):
        raise Invalid(400, "badRequest", f"Invalid value at '{where}': expected an integer.")
    elif kind == "array":
        if not isinstance(item, list):
            raise Invalid(400, "badRequest", f"Invalid value at '{where}': expected a list.")
        for index, element in enumerate(item):
            _check_value(spec.get("items", {}), element, f"{where}[{index}]")
