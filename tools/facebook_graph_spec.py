"""Regenerate rupor/networks/facebook/graph_spec.json from Meta's facebook-business SDK.

    pip download facebook-business --no-deps -d /tmp/fbsdk && (cd /tmp/fbsdk && unzip -o -q facebook_business-*.whl)
    python tools/facebook_graph_spec.py /tmp/fbsdk

The emulator validates ``fields=`` and typed parameters against this file (rupor.networks.graph.specs).
"""

from __future__ import annotations

import sys
from pathlib import Path

from rupor.networks.graph import specs

NODES = ["Page", "PagePost", "Photo", "Comment", "InsightsResult", "User"]
OUT = Path(__file__).resolve().parents[1] / "rupor" / "networks" / "facebook" / "graph_spec.json"

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(specs.main([sys.argv[1], str(OUT), *NODES]))
