"""Trim the YouTube Data API v3 discovery document into what the emulator validates against.

The discovery document ships inside the PyPI package ``google-api-python-client``
(``googleapiclient/discovery_cache/documents/youtube.v3.json``). To refresh the trimmed copy:

    pip download google-api-python-client --no-deps -d /tmp/gapi
    unzip -o /tmp/gapi/google_api_python_client-*.whl \
        'googleapiclient/discovery_cache/documents/youtube.v3.json' -d /tmp/gapi
    python tools/youtube/extract_discovery.py \
        /tmp/gapi/googleapiclient/discovery_cache/documents/youtube.v3.json \
        rupor/networks/youtube/discovery.json

Kept: for each method Rupor's emulator serves, its HTTP method, path, parameters (type, required,
enum, repeated), request schema, media upload facts and OAuth scopes; the schemas those reach
(properties with type, enum, format, $ref, items), without descriptions; and for each resource the
``part`` names its schema allows (its top-level properties but ``kind`` and ``etag``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

METHODS = {
    "videos": ("insert", "list", "update", "delete"),
    "thumbnails": ("set",),
    "playlists": ("list", "insert"),
    "playlistItems": ("insert", "list"),
    "commentThreads": ("list", "insert"),
    "comments": ("list", "insert", "delete", "setModerationStatus", "markAsSpam"),
    "channels": ("list",),
}
#: The resource each method's ``part`` names parts of.
PART_SCHEMA = {
    "videos": "Video",
    "playlists": "Playlist",
    "playlistItems": "PlaylistItem",
    "commentThreads": "CommentThread",
    "comments": "Comment",
    "channels": "Channel",
}
PARAM_KEYS = ("type", "required", "enum", "repeated", "location", "format", "minimum", "maximum")
PROP_KEYS = ("type", "enum", "format", "$ref", "readOnly")


def _prop(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: raw[k] for k in PROP_KEYS if k in raw}
    if "items" in raw:
        out["items"] = _prop(raw["items"])
    if "additionalProperties" in raw:
        out["additionalProperties"] = _prop(raw["additionalProperties"])
    if "description" in raw and "@mutable" in raw["description"]:
        out["mutable"] = raw["description"].split("@mutable", 1)[1].split()
    return out


def _refs(schema: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "$ref" in item:
                found.add(item["$ref"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def trim(doc: dict[str, Any]) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    wanted: set[str] = set(PART_SCHEMA.values())
    for resource, names in METHODS.items():
        for name in names:
            raw = doc["resources"][resource]["methods"][name]
            entry: dict[str, Any] = {
                "id": raw["id"],
                "httpMethod": raw["httpMethod"],
                "path": raw["path"],
                "parameters": {
                    p: {k: v[k] for k in PARAM_KEYS if k in v} for p, v in raw.get("parameters", {}).items()
                },
                "scopes": raw.get("scopes", []),
            }
            if "request" in raw:
                entry["request"] = raw["request"]["$ref"]
                wanted.add(raw["request"]["$ref"])
            if "response" in raw:
                entry["response"] = raw["response"]["$ref"]
            if raw.get("supportsMediaUpload"):
                entry["mediaUpload"] = raw["mediaUpload"]
            methods[f"{resource}.{name}"] = entry
    schemas: dict[str, Any] = {}
    todo = sorted(wanted)
    while todo:
        name = todo.pop()
        if name in schemas:
            continue
        raw = doc["schemas"][name]
        props = {p: _prop(v) for p, v in raw.get("properties", {}).items()}
        schemas[name] = {"type": raw.get("type", "object"), "properties": props}
        todo.extend(sorted(_refs(props) - set(schemas)))
    parts = {
        resource: sorted(p for p in doc["schemas"][schema]["properties"] if p not in ("kind", "etag"))
        for resource, schema in PART_SCHEMA.items()
    }
    return {
        "source": "google-api-python-client: googleapiclient/discovery_cache/documents/youtube.v3.json",
        "revision": doc["revision"],
        "rootUrl": doc["rootUrl"],
        "globalParameters": {
            p: {k: v[k] for k in PARAM_KEYS if k in v} for p, v in doc["parameters"].items()
        },
        "methods": methods,
        "parts": parts,
        "schemas": schemas,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    doc = json.loads(Path(argv[1]).read_text())
    Path(argv[2]).write_text(json.dumps(trim(doc), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
