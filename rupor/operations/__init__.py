"""The operator's view across the domains: one snapshot for the operations page, the API and
Prometheus's /metrics (``snapshot.py``, ``metrics.py``). No models, no state of its own."""
