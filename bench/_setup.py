"""Shared set-up for benchmarks: a throw-away database (never the dev one), migrated, with geography."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure(default_sqlite: str, argv=None) -> str:
    """Point Django at the benchmark database (`--database-url URL` or a fresh SQLite file)."""
    args = list(argv if argv is not None else sys.argv[1:])
    url = None
    if "--database-url" in args:
        url = args[args.index("--database-url") + 1]
    if url is None:
        path = Path(default_sqlite)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}" if path.is_absolute() is False else f"sqlite:///{path}"
        url = "sqlite:////" + str(path).lstrip("/")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ["CACHE_URL"] = "locmem://"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coordination.settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.conf import settings

    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return url


def reset_database(load_geography: bool = True) -> None:
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if load_geography:
        call_command("load_geography", stdout=open(os.devnull, "w"))


def median_ms(fn, repeat: int = 15, warmup: int = 2) -> float:
    """Median wall-clock milliseconds."""
    return timings(fn, repeat, warmup)[0]


def timings(fn, repeat: int = 15, warmup: int = 2) -> tuple[float, float]:
    """(median wall ms, median CPU ms of this process). On a busy machine the CPU figure is the steadier
    one for SQLite, which runs inside the process; PostgreSQL's work shows only in wall time."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def count_queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)
