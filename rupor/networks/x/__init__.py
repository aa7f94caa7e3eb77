"""X (Twitter) API v2."""
