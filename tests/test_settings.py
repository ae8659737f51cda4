import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from coordination.env import cache_from_url, database_from_url, env_bool, env_float, env_int, env_log_level, env_origins, env_url

ROOT = Path(__file__).resolve().parent.parent


def test_it_parses_sqlite_urls_relative_and_absolute():
    relative = database_from_url("sqlite:///var/x.sqlite3", base_dir=Path("/srv/app"))
    absolute = database_from_url("sqlite:////tmp/x.sqlite3", base_dir=Path("/srv/app"))
    assert relative["NAME"] == "/srv/app/var/x.sqlite3"
    assert absolute["NAME"] == "/tmp/x.sqlite3"
    assert relative["ENGINE"] == "django.db.backends.sqlite3"


def test_it_parses_postgres_urls():
    db = database_from_url("postgres://u:p%40ss@db.example:6543/aht?sslmode=require", base_dir=Path("/"))
    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "django.db.backends.postgresql", "aht", "u", "p@ss", "db.example", "6543",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "postgres://host/", "sqlite://", "postgres://h:notaport/db", "sqlite://var/db.sqlite3"]
)
def test_it_refuses_malformed_database_urls_naming_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url, base_dir=Path("/"))


def test_it_refuses_unknown_cache_urls():
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        cache_from_url("memcached://x")


def test_a_redis_cache_url_without_the_redis_package_stops_startup(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a))
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL.*pip install redis"):
        cache_from_url("redis://localhost:6379/0")


def test_booleans_and_integers_are_strict(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG")
    monkeypatch.setenv("SOME_FLAG", "off")
    assert env_bool("SOME_FLAG", True) is False
    monkeypatch.setenv("SOME_NUMBER", "12x")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env_int("SOME_NUMBER", 1)


def test_numbers_urls_origins_and_log_levels_are_checked(monkeypatch):
    for name, value, reader in [
        ("SOME_PORT", "99999", lambda: env_int("SOME_PORT", 1, minimum=1, maximum=65535)),
        ("SOME_RADIUS", "nan", lambda: env_float("SOME_RADIUS", 1.0)),
        ("SOME_RADIUS", "inf", lambda: env_float("SOME_RADIUS", 1.0)),
        ("SOME_URL", "aht.example.org", lambda: env_url("SOME_URL")),
        ("SOME_URL", "ftp://aht.example.org", lambda: env_url("SOME_URL")),
        ("SOME_ORIGINS", "https://ok.example.org,aht.example.org", lambda: env_origins("SOME_ORIGINS")),
        ("SOME_LEVEL", "LOUD", lambda: env_log_level("SOME_LEVEL")),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(ImproperlyConfigured, match=name):
            reader()
    monkeypatch.setenv("SOME_URL", "https://aht.example.org/")
    assert env_url("SOME_URL") == "https://aht.example.org"
    monkeypatch.setenv("SOME_ORIGINS", "https://aht.example.org, http://localhost:8000")
    assert env_origins("SOME_ORIGINS") == ["https://aht.example.org", "http://localhost:8000"]
    monkeypatch.setenv("SOME_LEVEL", "warning")
    assert env_log_level("SOME_LEVEL") == "WARNING"


def _import_settings(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "IDENTITY_KEYS", "ALLOWED_HOSTS", "DATABASE_URL"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import coordination.settings"], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _import_settings(DEBUG="0", ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_malformed_value_stops_startup_with_its_name():
    result = _import_settings(DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG='perhaps'" in result.stderr


@pytest.mark.parametrize(
    "name, value",
    [("LOG_LEVEL", "LOUD"), ("SITE_URL", "aht.example.org"), ("CSRF_TRUSTED_ORIGINS", "aht.example.org"),
     ("EMAIL_PORT", "99999"), ("MAP_TILE_URL", "https://tiles.example.org/tile.png"), ("COVERAGE_RADIUS_KM", "nan")],
)
def test_each_malformed_setting_stops_startup_naming_it(name, value):
    result = _import_settings(DEBUG="1", **{name: value})
    assert result.returncode != 0
    assert f"{name}" in result.stderr.strip().splitlines()[-1]


def test_production_starts_with_its_secrets():
    from cryptography.fernet import Fernet

    result = _import_settings(
        DEBUG="0", SECRET_KEY="x" * 50, IDENTITY_KEYS=Fernet.generate_key().decode(), ALLOWED_HOSTS="example.org",
        DATABASE_URL="postgres://u@localhost/aht",
    )
    assert result.returncode == 0, result.stderr


def test_code_only_commands_run_without_the_production_secrets():
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "IDENTITY_KEYS", "ALLOWED_HOSTS", "DATABASE_URL"}}
    checked = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT, env=clean,
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "No changes detected" in checked.stdout, checked.stderr
    served = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert served.returncode != 0 and "SECRET_KEY is not set" in served.stderr
