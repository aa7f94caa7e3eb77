"""Pytest plugin loaded before Django: points RUPOR_HOME at a throwaway directory.

Loaded with ``-p rupor.testing_env`` (see pyproject.toml) so that settings never touch a
person's real data directory and a generated secret key never leaks between runs.
"""

from __future__ import annotations

import os
import tempfile

if not os.environ.get("RUPOR_TEST_KEEP_HOME"):
    os.environ["RUPOR_HOME"] = tempfile.mkdtemp(prefix="rupor-test-")
os.environ.setdefault("RUPOR_HTTP_TIMEOUT", "3")
os.environ.setdefault("RUPOR_SECRET_KEY", "test-secret-key-that-is-long-enough-for-rupor-0123456789")
