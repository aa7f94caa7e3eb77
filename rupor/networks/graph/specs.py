"""The Graph API's object definitions, read from Meta's machine-readable source, for the emulators.

Meta publishes the Graph API's nodes in the ``facebook-business`` SDK, generated from
``facebook/facebook-business-sdk-codegen`` (``facebook_business/adobjects/<node>.py``): each class
lists its readable fields (``class Field``), its enums, and for every edge the HTTP method, the
path and the typed parameters it takes (``param_types``). :func:`extract` reads those files
*as text* (Python's ``ast``; nothing of the SDK is imported or run) into a small JSON document
each network ships beside its emulator, and :class:`Spec` answers the emulators' questions from
it: which fields a node has, which parameters an edge takes and of what type.

Regenerate a network's file with ``python -m rupor.networks.graph.specs SDK_DIR OUT.json Node ...``
after ``pip download facebook-business --no-deps`` (unzip the wheel; ``SDK_DIR`` holds
``facebook_business/``).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ENUM_REF = re.compile(r"(\w+)\.(\w+)\.__dict__\.values\(\)")


def _class_of(tree: ast.Module, name: str) -> ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    return None


def _nested(cls: ast.ClassDef) -> dict[str, list[str]]:
    """Nested classes of string constants: ``Field`` and the enums."""
    out: dict[str, list[str]] = {}
    for node in cls.body:
        if isinstance(node, ast.ClassDef):
            values = [
                stmt.value.value
                for stmt in node.body
                if isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            ]
            out[node.name] = values
    return out


def _request(func: ast.FunctionDef) -> dict[str, Any] | None:
    """The ``FacebookRequest(...)`` one SDK method builds: method, endpoint, target, params, enums."""
    params: dict[str, str] = {}
    enums: dict[str, str] = {}
    request: dict[str, Any] | None = None
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "param_types" and isinstance(node.value, ast.Dict):
                params = {
                    str(k.value): str(v.value)
                    for k, v in zip(node.value.keys, node.value.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
                }
            if name == "enums" and isinstance(node.value, ast.Dict):
                for k, v in zip(node.value.keys, node.value.values, strict=True):
                    match = _ENUM_REF.search(ast.unparse(v))
                    if isinstance(k, ast.Constant) and match:
                        enums[str(k.value)] = f"{match.group(1)}.{match.group(2)}"
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "FacebookRequest":
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            request = {
                "method": ast.literal_eval(kw["method"]) if "method" in kw else "GET",
                "endpoint": ast.literal_eval(kw["endpoint"]) if "endpoint" in kw else "/",
                "returns": ast.unparse(kw["target_class"]) if "target_class" in kw else "",
            }
    if request is None:
        return None
    request["params"] = params
    request["enum_refs"] = enums
    return request


def _module_name(node: str) -> str:
    return node.lower()


def extract(sdk_dir: Path, nodes: Iterable[str]) -> dict[str, Any]:
    """Fields, enums and edges of ``nodes`` (SDK class names: ``Page``, ``PagePost``, ...)."""
    package = sdk_dir / "facebook_business"
    version = ""
    apiconfig = package / "apiconfig.py"
    if apiconfig.exists():
        found = re.search(r"'API_VERSION':\s*'([^']+)'", apiconfig.read_text())
        version = found.group(1) if found else ""
    enum_cache: dict[str, dict[str, list[str]]] = {}

    def enums_of(node: str) -> dict[str, list[str]]:
        if node not in enum_cache:
            path = package / "adobjects" / f"{_module_name(node)}.py"
            cls = _class_of(ast.parse(path.read_text()), node) if path.exists() else None
            enum_cache[node] = _nested(cls) if cls else {}
        return enum_cache[node]

    out: dict[str, Any] = {"api_version": version, "nodes": {}}
    for node in nodes:
        path = package / "adobjects" / f"{_module_name(node)}.py"
        cls = _class_of(ast.parse(path.read_text()), node)
        if cls is None:
            raise LookupError(f"{node} is not defined in {path}")
        nested = _nested(cls)
        edges: dict[str, Any] = {}
        for func in cls.body:
            if not isinstance(func, ast.FunctionDef):
                continue
            request = _request(func)
            if request is None:
                continue
            resolved: dict[str, list[str]] = {}
            for type_name, ref in request.pop("enum_refs").items():
                owner, enum = ref.split(".")
                values = enums_of(owner).get(enum)
                if values is not None:
                    resolved[type_name] = values
            request["enums"] = resolved
            edges[f"{request['method']} {request['endpoint']}"] = request
        out["nodes"][node] = {
            "fields": sorted(nested.pop("Field", [])),
            "enums": nested,
            "edges": dict(sorted(edges.items())),
        }
    return out


# -- reading a shipped spec -----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRequest:
    """One entry of a ``fields=`` parameter: ``name``, its modifiers (``.limit(0)``,
    ``.summary(true)``) and its own sub-fields (``{id,message}``)."""

    name: str
    modifiers: Mapping[str, str]
    subfields: tuple[FieldRequest, ...] = ()


def parse_fields(text: str) -> list[FieldRequest]:
    """Parse the Graph API's field expansion syntax: ``id,comments.limit(5).summary(true){id,from{name}}``."""
    items, _ = _parse_list(text, 0)
    return items


def _parse_list(text: str, at: int) -> tuple[list[FieldRequest], int]:
    items: list[FieldRequest] = []
    while at < len(text):
        if text[at] == "}":
            return items, at + 1
        if text[at] in ", ":
            at += 1
            continue
        match = re.compile(r"[A-Za-z0-9_]+").match(text, at)
        if match is None:
            raise ValueError(f"cannot parse fields at {text[at : at + 20]!r}")
        name, at = match.group(0), match.end()
        modifiers: dict[str, str] = {}
        while at < len(text) and text[at] == ".":
            mod = re.compile(r"\.([A-Za-z_]+)\(([^)]*)\)").match(text, at)
            if mod is None:
                raise ValueError(f"cannot parse field modifier at {text[at : at + 20]!r}")
            modifiers[mod.group(1)] = mod.group(2)
            at = mod.end()
        subfields: list[FieldRequest] = []
        if at < len(text) and text[at] == "{":
            subfields, at = _parse_list(text, at + 1)
        items.append(FieldRequest(name, modifiers, tuple(subfields)))
    return items, at


class Spec:
    """A shipped extract (:func:`extract`): the nodes' fields, and each edge's parameters."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.nodes: Mapping[str, Any] = data.get("nodes", {})

    @classmethod
    def load(cls, path: Path) -> Spec:
        return cls(json.loads(path.read_text()))

    def fields(self, node: str) -> frozenset[str]:
        """What ``fields=`` may name on ``node``: its fields and, by field expansion, its GET edges."""
        edges = {e["endpoint"].strip("/") for e in self.nodes[node]["edges"].values() if e["method"] == "GET"}
        return frozenset(self.nodes[node]["fields"]) | {e for e in edges if e}

    def unknown_field(self, node: str, requested: Iterable[FieldRequest]) -> str | None:
        """The first requested field ``node`` does not have (the Graph API refuses the call for it)."""
        known = self.fields(node)
        for item in requested:
            if item.name not in known:
                return item.name
        return None

    def edge(self, node: str, method: str, endpoint: str) -> Mapping[str, Any] | None:
        found: Mapping[str, Any] | None = self.nodes[node]["edges"].get(f"{method} {endpoint}")
        return found

    def bad_param(self, node: str, method: str, endpoint: str, params: Mapping[str, Any]) -> str | None:
        """Why one of ``params`` does not fit its declared type or enum, or ``None``.

        Parameters the edge does not declare are left alone, as the Graph API ignores them.
        """
        edge = self.edge(node, method, endpoint)
        if edge is None:
            return None
        for name, value in params.items():
            kind = edge["params"].get(name)
            if kind is None or value is None:
                continue
            problem = _type_problem(name, kind, value, edge.get("enums", {}))
            if problem:
                return problem
        return None


def _type_problem(name: str, kind: str, value: Any, enums: Mapping[str, list[str]]) -> str | None:
    text = str(value)
    if kind == "bool":
        if isinstance(value, bool) or text.lower() in ("true", "false", "1", "0"):
            return None
        return f"Param {name} must be a boolean"
    if kind in ("unsigned int", "int"):
        stripped = text.lstrip("-") if kind == "int" else text
        if stripped.isdigit():
            return None
        return f"Param {name} must be a{' non-negative' if kind == 'unsigned int' else 'n'} integer"
    if kind in enums:
        allowed = enums[kind]
        if text not in allowed:
            return f'Param {name} must be one of {{{", ".join(allowed)}}} - got "{text}"'
    if kind.startswith("list<") and kind.endswith("_enum>"):
        inner = kind[5:-1]
        items = value if isinstance(value, list) else _json_list(text)
        for item in items:
            if inner in enums and str(item) not in enums[inner]:
                return f'Param {name}[] must be one of {{{", ".join(enums[inner])}}} - got "{item}"'
    return None


def _json_list(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return [v for v in text.split(",") if v]
    return value if isinstance(value, list) else [value]


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__)
        return 2
    sdk_dir, out, *nodes = argv
    data = extract(Path(sdk_dir), nodes)
    Path(out).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}: {', '.join(nodes)} at {data['api_version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
