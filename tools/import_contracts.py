"""Import-linter contract types that leave tests out of the graph.

Tests and test helpers (``test_*``, ``conftest``, ``testing``, ``testing_urls``,
``browser_testing``) may import anything: they build worlds across domains. Import-linter's
wildcards only replace whole module names, so these contracts drop those modules from the graph
before checking; every other import is checked. ``pyproject.toml`` registers them under
``[tool.importlinter] contract_types``.
"""

from __future__ import annotations

import re
from typing import Any

from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract

TEST_MODULE = re.compile(r"\.(test_\w+|conftest|testing|testing_urls|browser_testing)$")


def _without_tests(graph: Any) -> Any:
    for module in [m for m in graph.modules if TEST_MODULE.search(m)]:
        graph.remove_module(module)
    return graph


class Layers(LayersContract):
    def check(self, graph: Any, verbose: bool) -> Any:
        return super().check(_without_tests(graph), verbose)


class Forbidden(ForbiddenContract):
    def check(self, graph: Any, verbose: bool) -> Any:
        return super().check(_without_tests(graph), verbose)


class Independence(IndependenceContract):
    def check(self, graph: Any, verbose: bool) -> Any:
        return super().check(_without_tests(graph), verbose)
