"""Write the share kit's network icons (rupor/smo/icons.json) from Simple Icons.

Simple Icons (https://simpleicons.org, CC0 1.0) ships as the PyPI package ``simple-icons-pack``,
one 24x24 single-path SVG per brand with its brand colour. To refresh the copy:

    pip install --no-deps --target /tmp/si simple-icons-pack==16.36.0
    PYTHONPATH=/tmp/si python tools/smo/extract_icons.py rupor/smo/icons.json

Kept per network: the path's ``d``, the brand colour and the brand's guideline page. Simple Icons
has no LinkedIn mark (LinkedIn asked for its removal), and no generic "share" glyph: both are
drawn here, from plain geometry (a rounded square with the letters "in"; three joined dots).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

#: Rupor's network key -> Simple Icons slug.
SLUGS = {
    "vk": "vk",
    "telegram": "telegram",
    "ok": "odnoklassniki",
    "facebook": "facebook",
    "x": "x",
    "bluesky": "bluesky",
    "mastodon": "mastodon",
}

DRAWN = {
    "linkedin": {
        "hex": "0A66C2",
        "guidelines": "https://brand.linkedin.com/",
        "path": (
            "M20.4 2H3.6A1.6 1.6 0 0 0 2 3.6v16.8A1.6 1.6 0 0 0 3.6 22h16.8a1.6 1.6 0 0 0 1.6-1.6V3.6"
            "A1.6 1.6 0 0 0 20.4 2zM8.3 18.5H5.5V9.7h2.8zM6.9 8.5a1.6 1.6 0 1 1 0-3.2 1.6 1.6 0 0 1 0 3.2z"
            "M18.5 18.5h-2.8v-4.3c0-1 0-2.4-1.5-2.4s-1.7 1.1-1.7 2.3v4.4H9.7V9.7h2.7v1.2"
            "c.4-.7 1.3-1.4 2.7-1.4 2.9 0 3.4 1.9 3.4 4.4z"
        ),
    },
    "share": {
        "hex": "374151",
        "guidelines": "",
        "path": (
            "M18 16.1c-.8 0-1.5.3-2 .8l-7.1-4.2c.1-.2.1-.5.1-.7s0-.5-.1-.7L16 7.2c.5.5 1.2.8 2 .8"
            "a3 3 0 1 0-3-3c0 .2 0 .5.1.7L8 9.8A3 3 0 1 0 8 14.2l7.1 4.2c-.1.2-.1.4-.1.6a2.9 2.9 0 1 0"
            " 3-2.9z"
        ),
    },
}

_D = re.compile(r'<path d="([^"]+)"')


def main(out: str) -> None:
    import simple_icons_pack  # only where the copy is refreshed

    icons: dict[str, dict[str, str]] = {}
    for key, slug in SLUGS.items():
        icon = simple_icons_pack.get_icon(slug)
        if icon is None:
            raise SystemExit(f"Simple Icons has no {slug!r}")
        found = _D.findall(icon.svg)
        if len(found) != 1:
            raise SystemExit(f"{slug}: expected one path, found {len(found)}")
        icons[key] = {"hex": icon.hex, "guidelines": icon.guidelines or "", "path": found[0]}
    icons.update(DRAWN)
    Path(out).write_text(json.dumps(icons, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
