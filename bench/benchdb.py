"""What the database benchmarks share: Django on a chosen database with the test
settings (tasks not run by a worker: each script runs what it measures in the
measured call), and a throwaway PostgreSQL database."""
from __future__ import annotations

import os
from pathlib import Path


def setup_django(database_url: str, home: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["HIMAYA_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings

    # Follow-up tasks go to a queue nobody reads, as they would go to the workers in
    # production, instead of running inside the measured call.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def database_url(given: str, default_pg: str, home: Path) -> str:
    """The --database-url given, else the default PostgreSQL database when the
    server answers, else SQLite in the bench's home folder (said on stdout)."""
    if given:
        return given
    try:
        import psycopg

        psycopg.connect(default_pg.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
        return default_pg
    except Exception:
        print("PostgreSQL not reachable: running on SQLite", flush=True)
        return f"sqlite:///{home / 'bench.sqlite3'}"


def fresh_pg(url: str) -> None:
    """Drop and create the database named by the URL."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def drop_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
