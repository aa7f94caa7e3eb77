"""One typed settings object, read from the environment and validated at start-up.

Every key is documented in ``rupor.env.example``; every CLI flag has an environment variable.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: What RUPOR_LOG_FORMAT may say.
LOG_FORMATS = ("plain", "json")
#: The shortest RUPOR_METRICS_TOKEN accepted: a guessable token would expose the instance's figures.
METRICS_TOKEN_MIN = 24
PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "dev", "development", "insecure", "xxx"}


class ConfigError(Exception):
    """A setting is missing or invalid; the message says which and how to fix it."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _int(name: str, default: int, *, minimum: int = 0, maximum: int = 10_000) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def _list(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, default).split(",") if item.strip())


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rupor"


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str | None
    secret_key: str
    old_secret_keys: tuple[str, ...]
    debug: bool
    base_url: str
    allowed_hosts: tuple[str, ...]
    redis_url: str | None
    http_timeout: float
    allow_private_urls: tuple[str, ...]
    secure_cookies: bool
    log_level: str
    email_host: str | None
    email_port: int
    email_user: str
    email_password: str
    email_tls: bool
    default_from_email: str
    worker_poll_s: float
    lease_s: float
    #: How long a signed public address of a media file stays valid (docs/decisions/0027).
    media_link_hours: float = 24.0
    #: The drand relay giveaways take their randomness from (the offline demo points it at its emulator).
    drand_url: str = "https://api.drand.sh"
    #: PostgreSQL connection pool of each process (0: no pool, one connection per thread kept
    #: for a minute, as before Django had pools); at least ``db_pool_min`` open while idle; a
    #: thread waits at most ``db_pool_timeout`` seconds for a free connection (docs/decisions/0040).
    db_pool_max: int = 8
    db_pool_min: int = 0
    db_pool_timeout: float = 10.0
    #: A file ``rupor worker`` touches on every pass of its loop, for a container's health check.
    worker_alive_file: str = ""
    #: ``plain`` (a line of text) or ``json`` (one JSON object per line) for every log line.
    log_format: str = "plain"
    #: The bearer token Prometheus sends to /metrics; empty: the endpoint does not exist (404).
    metrics_token: str = ""

    @property
    def media_root(self) -> Path:
        return self.home / "media"


def _private_dir(path: Path) -> None:
    """Create ``path`` (0700), or tighten it to 0700 if others could read or enter it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


def _private_file(path: Path) -> None:
    if path.is_file() and stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)


def secure_home(config: Config) -> None:
    """Keep ``RUPOR_HOME`` the operator's alone: it holds the database, keys, mail and media.

    The process umask becomes 077, so every file Rupor writes from now on (SQLite and its WAL,
    mail in files, media, thumbnails) is 0600 and every directory 0700; what already exists at
    the top level is tightened once, at start-up.
    """
    os.umask(0o077)
    _private_dir(config.home)
    _private_dir(config.media_root)
    _private_dir(config.home / "mail")
    for path in config.home.iterdir():
        if path.name.startswith(("rupor.sqlite3", "secret_key", "old_secret_keys")):
            _private_file(path)


def _secret_from_file(home: Path) -> str:
    path = home / "secret_key"
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)
        return path.read_text().strip()
    _private_dir(home)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _old_secrets_from_file(home: Path) -> tuple[str, ...]:
    """Keys listed one a line in ``RUPOR_HOME/old_secret_keys``: ``rupor restore`` writes the old
    keys the backed-up instance still decrypted with, so its data stays readable here."""
    path = home / "old_secret_keys"
    if not path.is_file():
        return ()
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


def load() -> Config:
    home = Path(os.environ.get("RUPOR_HOME") or default_home()).expanduser().resolve()
    debug = _bool("RUPOR_DEBUG", False)
    secret = os.environ.get("RUPOR_SECRET_KEY", "").strip()
    if secret:
        if (secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 32) and not debug:
            raise ConfigError(
                "RUPOR_SECRET_KEY is a placeholder or shorter than 32 characters; "
                "set a long random value or unset it to let Rupor generate one under RUPOR_HOME"
            )
    else:
        _private_dir(home)
        secret = _secret_from_file(home)
    base_url = os.environ.get("RUPOR_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"RUPOR_BASE_URL must be an http(s) URL, not {base_url!r}")
    hosts = _list("RUPOR_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
    if parts.hostname not in hosts and "*" not in hosts:
        hosts = (*hosts, parts.hostname)
    database_url = os.environ.get("DATABASE_URL") or None
    if database_url and not database_url.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ConfigError("DATABASE_URL must start with postgresql:// (or sqlite://)")
    try:
        email_port = int(os.environ.get("RUPOR_EMAIL_PORT", "587"))
    except ValueError as exc:
        raise ConfigError("RUPOR_EMAIL_PORT must be a port number") from exc
    drand_url = os.environ.get("RUPOR_DRAND_URL", "https://api.drand.sh").rstrip("/")
    if urlsplit(drand_url).scheme not in ("http", "https") or not urlsplit(drand_url).hostname:
        raise ConfigError(f"RUPOR_DRAND_URL must be an http(s) URL, not {drand_url!r}")
    pool_max, pool_min = _pool_sizes()
    level = os.environ.get("RUPOR_LOG_LEVEL", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"RUPOR_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}")
    log_format = os.environ.get("RUPOR_LOG_FORMAT", "plain").strip().lower() or "plain"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"RUPOR_LOG_FORMAT must be plain or json, not {log_format!r}")
    metrics_token = os.environ.get("RUPOR_METRICS_TOKEN", "").strip()
    if metrics_token and (
        len(metrics_token) < METRICS_TOKEN_MIN or metrics_token.lower() in PLACEHOLDER_SECRETS
    ):
        raise ConfigError(
            f"RUPOR_METRICS_TOKEN must be a random value of at least {METRICS_TOKEN_MIN} characters "
            "(or unset, which turns /metrics off)"
        )
    return Config(
        home=home,
        database_url=database_url,
        secret_key=secret,
        old_secret_keys=tuple(dict.fromkeys(_list("RUPOR_OLD_SECRET_KEYS") + _old_secrets_from_file(home))),
        debug=debug,
        base_url=base_url,
        allowed_hosts=hosts,
        redis_url=os.environ.get("RUPOR_REDIS_URL") or None,
        http_timeout=_float("RUPOR_HTTP_TIMEOUT", 20.0, minimum=0.1),
        allow_private_urls=_list("RUPOR_ALLOW_PRIVATE_URLS"),
        secure_cookies=_bool("RUPOR_SECURE_COOKIES", parts.scheme == "https"),
        log_level=level,
        email_host=os.environ.get("RUPOR_EMAIL_HOST") or None,
        email_port=email_port,
        email_user=os.environ.get("RUPOR_EMAIL_USER", ""),
        email_password=os.environ.get("RUPOR_EMAIL_PASSWORD", ""),
        email_tls=_bool("RUPOR_EMAIL_TLS", True),
        default_from_email=os.environ.get("RUPOR_DEFAULT_FROM_EMAIL", "Rupor <rupor@localhost>"),
        worker_poll_s=_float("RUPOR_WORKER_POLL_S", 1.0, minimum=0.01),
        lease_s=_float("RUPOR_LEASE_S", 120.0, minimum=1.0),
        media_link_hours=_float("RUPOR_MEDIA_LINK_HOURS", 24.0, minimum=0.25),
        drand_url=drand_url,
        db_pool_max=pool_max,
        db_pool_min=pool_min,
        db_pool_timeout=_float("RUPOR_DB_POOL_TIMEOUT", 10.0, minimum=0.5),
        worker_alive_file=os.environ.get("RUPOR_WORKER_ALIVE_FILE", "").strip(),
        log_format=log_format,
        metrics_token=metrics_token,
    )


def _pool_sizes() -> tuple[int, int]:
    """RUPOR_DB_POOL_MAX and RUPOR_DB_POOL_MIN, checked against each other."""
    pool_max = _int("RUPOR_DB_POOL_MAX", 8, maximum=1000)
    pool_min = _int("RUPOR_DB_POOL_MIN", 0, maximum=1000)
    if pool_max and pool_min > pool_max:
        raise ConfigError(
            f"RUPOR_DB_POOL_MIN ({pool_min}) must not exceed RUPOR_DB_POOL_MAX ({pool_max}): "
            "a pool cannot keep more connections open than it may hold"
        )
    return pool_max, pool_min


# -- reading the running settings ----------------------------------------------------------------
#
# ``rupor.settings`` copies the loaded :class:`Config` into Django's settings as ``RUPOR_*``; code
# reads them back only through these functions, which give each value its type. They read Django's
# live settings (not the Config object) so a test's ``settings`` override is what the code sees.


def _live(name: str, default: object) -> object:
    from django.conf import settings  # here: core is importable before Django is configured

    return getattr(settings, name, default) if settings.configured else default


def base_url() -> str:
    """Where people reach this Rupor (links in mail, feeds, webhooks), without a trailing slash."""
    return str(_live("RUPOR_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def drand_url() -> str:
    """The drand relay a new giveaway names by default (RUPOR_DRAND_URL)."""
    return str(_live("RUPOR_DRAND_URL", "https://api.drand.sh")).rstrip("/")


def home() -> Path:
    return Path(str(_live("RUPOR_HOME", default_home())))


def http_timeout() -> float:
    return float(str(_live("RUPOR_HTTP_TIMEOUT", 20.0)))


def allow_private_urls() -> tuple[str, ...]:
    value = _live("RUPOR_ALLOW_PRIVATE_URLS", ())
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return tuple(str(item) for item in value) if isinstance(value, list | tuple | set | frozenset) else ()


def redis_url() -> str | None:
    value = _live("RUPOR_REDIS_URL", None)
    return str(value) if value else None


def worker_poll_s() -> float:
    return float(str(_live("RUPOR_WORKER_POLL_S", 1.0)))


def lease_s() -> float:
    return float(str(_live("RUPOR_LEASE_S", 120.0)))


def worker_alive_file() -> str:
    """The file ``rupor worker`` touches on each pass (RUPOR_WORKER_ALIVE_FILE; empty: none)."""
    return str(_live("RUPOR_WORKER_ALIVE_FILE", ""))


def media_link_hours() -> float:
    """How long a signed public address of a media file stays valid, in hours."""
    return float(str(_live("RUPOR_MEDIA_LINK_HOURS", 24.0)))


def old_secret_keys() -> tuple[str, ...]:
    value = _live("RUPOR_OLD_SECRET_KEYS", ())
    return tuple(str(item) for item in value) if isinstance(value, list | tuple) else ()


def metrics_token() -> str:
    """The bearer token /metrics asks for (RUPOR_METRICS_TOKEN); empty: /metrics is off."""
    return str(_live("RUPOR_METRICS_TOKEN", "") or "")
