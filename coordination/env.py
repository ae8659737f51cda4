"""Typed readers for environment variables.

Every reader fails with ImproperlyConfigured naming the variable when its value is
malformed, so a typo in a deployment stops startup instead of silently falling back.
A `NAME_FILE` variable may point to a file holding the value (Docker/systemd secrets).
"""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off).")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at most {maximum}.")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a finite number.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str = "") -> str:
    """An absolute http(s) URL such as https://aht.example.gov.in (no trailing slash)."""
    raw = env_str(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an absolute http(s) URL (e.g. https://aht.example.gov.in).")
    return value.rstrip("/")


def env_origins(name: str) -> list[str]:
    """Comma-separated origins with their scheme (https://aht.example.gov.in), as CSRF_TRUSTED_ORIGINS needs."""
    origins = env_list(name)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ImproperlyConfigured(
                f"{name} holds {origin!r}, which is not an origin with its scheme (e.g. https://aht.example.gov.in)."
            )
    return origins


def env_log_level(name: str, default: str = "INFO") -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().upper()
    if value not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a log level (DEBUG, INFO, WARNING, ERROR or CRITICAL).")
    return value


def local_secret(path: Path, generate) -> str:
    """Read a secret kept in an untracked file, creating it on first use (local runs only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


def database_from_url(url: str, *, base_dir: Path, name: str = "DATABASE_URL") -> dict:
    """Translate `sqlite:///relative.db`, `sqlite:////abs.db` or `postgres://u:p@h:port/db?opt=v`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc:
            # sqlite://var/db.sqlite3 would silently open /db.sqlite3 relative to the project, not var/db.sqlite3.
            raise ImproperlyConfigured(
                f"{name}={url!r} has a host part; SQLite URLs have three slashes (sqlite:///var/db.sqlite3) "
                "or four for an absolute path (sqlite:////srv/aht/db.sqlite3)."
            )
        if not path or path == "/":
            raise ImproperlyConfigured(f"{name}={url!r} names no SQLite file (e.g. sqlite:///var/db.sqlite3).")
        # sqlite:///x.db -> "/x.db" (relative to the project); sqlite:////abs/x.db -> "//abs/x.db" (absolute)
        file_path = Path(path[1:])
        if not file_path.is_absolute():
            file_path = base_dir / file_path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(file_path),
            "OPTIONS": {
                # WAL lets readers proceed during a write; IMMEDIATE takes the write lock at BEGIN,
                # so two concurrent transitions queue instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name:
            raise ImproperlyConfigured(f"{name}={url!r} names no database (postgres://user@host:5432/dbname).")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}={url!r} has an invalid port.") from None
        options = dict(parse_qsl(parts.query))
        conn_max_age = options.pop("conn_max_age", "60")
        try:
            conn_max_age_value = int(conn_max_age)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: conn_max_age={conn_max_age!r} is not a whole number.") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db_name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": conn_max_age_value,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"{name}={url!r} is not understood: use sqlite:///path/to/file.sqlite3 or postgres://user:pass@host:port/db."
    )


def cache_from_url(url: str, *, name: str = "CACHE_URL") -> dict:
    """`db://` (default, shared by every process), `locmem://`, `redis://host:6379/0` (needs the redis package)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "db":
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "coordination_cache"}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if scheme in {"redis", "rediss"}:
        if importlib.util.find_spec("redis") is None:
            raise ImproperlyConfigured(f"{name}={url!r} needs the redis package: pip install redis.")
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise ImproperlyConfigured(f"{name}={url!r} is not understood: use db://, locmem:// or redis://host:port/db.")
