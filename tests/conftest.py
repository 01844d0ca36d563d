"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), a fake clock, the engine."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import migrate
from engine.db import Base

PG_ADMIN_URL = os.environ.get("JISHIJIU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TESTS = Path(__file__).parent

pytest_plugins = ["tests.browser"]  # the one Chromium every browser test shares


def _pg_reachable() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


PG_AVAILABLE = _pg_reachable()
if os.environ.get("CI") and not PG_AVAILABLE:
    raise RuntimeError("CI must run the PostgreSQL tests, but PostgreSQL at 127.0.0.1:5432 is not reachable")


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL is not reachable")
    name = f"jsj_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated SQLite file; each test copies it (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _truncate_pg(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, sqlite_template):
    """Every test that takes this runs on SQLite and on PostgreSQL (when reachable)."""
    if request.param == "sqlite":
        path = tmp_path / "jishijiu.db"
        path.write_bytes(sqlite_template.read_bytes())
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template):
    path = tmp_path / "jishijiu.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"


START = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai


@pytest.fixture
def clock():
    from engine.clock import FakeClock

    return FakeClock(START)
