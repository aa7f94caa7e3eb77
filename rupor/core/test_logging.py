"""Log lines: JSON when asked, one object per line with the action and ids, and never a secret."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.conf import settings

from rupor.core import config
from rupor.core.logging import JsonFormatter, PlainFormatter, RedactSecrets, fields, redact


def _handler(formatter: logging.Formatter) -> tuple[logging.Handler, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(formatter)
    return handler, out


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    handler, out = _handler(JsonFormatter())
    log = logging.getLogger("rupor.test_logging")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        yield log, out
    finally:
        log.removeHandler(handler)
        log.propagate = True


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_json_object_per_line_with_action_and_ids(json_log):
    log, out = json_log
    log.info(
        "target %s published",
        7,
        extra=fields(
            "publish.attempt", workspace_id=1, channel_id=2, post_id=3, target_id=7, attempt=1, gone=None
        ),
    )
    log.warning("line one\nline two")
    first, second = _lines(out)
    assert first["message"] == "target 7 published"
    assert first["level"] == "INFO"
    assert first["logger"] == "rupor.test_logging"
    assert first["action"] == "publish.attempt"
    assert (first["workspace_id"], first["channel_id"], first["post_id"], first["target_id"]) == (1, 2, 3, 7)
    assert first["attempt"] == 1
    assert "gone" not in first  # None ids are left out
    assert str(first["time"]).endswith("+00:00")  # UTC, ISO 8601
    # A message over several lines is still one JSON line; a line without an action says so.
    assert second["message"] == "line one\nline two"
    assert second["action"] is None
    assert len(out.getvalue().splitlines()) == 2


def test_secrets_never_reach_a_json_line(json_log):
    log, out = json_log
    log.info(
        "calling https://api.telegram.org/bot123456:AAHsecretpart/sendMessage with access_token=tok123secret",
        extra={
            **fields("channel.verify", channel_id=4),
            "password": "hunter2-password",
            "credentials": {"access_token": "tok-in-a-dict", "user": "me"},
            "headers": {
                "Authorization": "Bearer abc.def.ghi",
                "Cookie": "sessionid=s3ss10n",
                "Accept": "json",
            },
            "note": "Authorization: Bearer zzz-token-zzz",
            "api_key": "rpr_abcdefghijklmnop",
            "url": "https://x.test/cb?code=1&token=leaky-token-value",
        },
    )
    try:
        raise RuntimeError("refused: secret=topsecretvalue")
    except RuntimeError:
        log.exception("failed", extra=fields("publish.attempt", target_id=1))
    text = out.getvalue()
    for secret in (
        "AAHsecretpart",
        "tok123secret",
        "hunter2-password",
        "tok-in-a-dict",
        "abc.def.ghi",
        "s3ss10n",
        "zzz-token-zzz",
        "rpr_abcdefghijklmnop",
        "leaky-token-value",
        "topsecretvalue",
    ):
        assert secret not in text, secret
    line, failed = _lines(out)
    assert line["password"] == "[redacted]"
    assert line["credentials"] == "[redacted]"
    assert line["headers"] == {"Authorization": "[redacted]", "Cookie": "[redacted]", "Accept": "json"}
    assert line["channel_id"] == 4
    assert "Traceback" in str(failed["exception"])
    assert failed["target_id"] == 1


def test_the_formatter_cleans_extras_even_without_the_filter():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("rupor.test_logging.bare")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("x", extra={"hook_token": "abc123", "context": {"password": "pw"}})
    finally:
        log.removeHandler(handler)
    line = json.loads(out.getvalue())
    assert line["hook_token"] == "[redacted]"
    assert line["context"] == {"password": "[redacted]"}


def test_plain_lines_redact_tracebacks_too():
    handler, out = _handler(PlainFormatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("rupor.test_logging.plain")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise RuntimeError("Authorization: Bearer plain-secret-token")
        except RuntimeError:
            log.exception("password=pw-in-message")
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert "plain-secret-token" not in text
    assert "pw-in-message" not in text
    assert text.startswith("ERROR rupor.test_logging.plain: password=[redacted]")


def test_redact_keeps_ordinary_text():
    assert redact("published target 5 on vk in 0.2 s") == "published target 5 on vk in 0.2 s"


def test_the_log_format_setting(monkeypatch):
    monkeypatch.setenv("RUPOR_LOG_FORMAT", "json")
    assert config.load().log_format == "json"
    monkeypatch.setenv("RUPOR_LOG_FORMAT", "xml")
    with pytest.raises(config.ConfigError, match="RUPOR_LOG_FORMAT must be plain or json"):
        config.load()
    monkeypatch.delenv("RUPOR_LOG_FORMAT")
    assert config.load().log_format == "plain"


def test_the_settings_logging_dict_builds_both_formats():
    # The formatters as dictConfig builds them, without reconfiguring this process's logging.
    logging_config = cast(dict[str, Any], settings.LOGGING)
    formatters = cast(dict[str, dict[str, str]], logging_config["formatters"])
    configurator = logging.config.DictConfigurator(logging_config)
    plain = configurator.configure_formatter(dict(formatters["plain"]))
    as_json = configurator.configure_formatter(dict(formatters["json"]))
    assert isinstance(plain, PlainFormatter)
    assert isinstance(as_json, JsonFormatter)
    record = logging.LogRecord("rupor.x", logging.INFO, __file__, 1, "hello", None, None)
    assert json.loads(as_json.format(record))["message"] == "hello"
    assert plain.format(record).endswith("INFO rupor.x: hello")
