"""Shared plumbing of the benchmarks: the machine, throw-away databases, statistics, the report.

Every benchmark prints its figures and appends a dated section to ``docs/BENCHMARKS.md`` with the
machine (cores, memory, load), the exact command and the date (``/work/shared/PERFORMANCE.md``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "BENCHMARKS.md"
PG_ADMIN_URL = os.environ.get("JISHIJIU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

INTRO = """# Benchmarks

How the figures below were measured is binding and described in `/work/shared/PERFORMANCE.md`; in
short:

- Each benchmark is one command, `.venv/bin/python bench/<name>.py [--quick]`, which prints its figures
  and **appends** a dated section to this file with the machine (cores, memory, load average at the
  start), the exact command and the date. Nothing here is edited by hand afterwards except the notes.
- The machine is a shared 2-core VM and noisy: a baseline and the thing measured run in the same
  process, in alternating rounds, and we report medians and their ratio, not best cases.
- SQLite runs use the product's defaults (a file, WAL, `synchronous=NORMAL`, `BEGIN IMMEDIATE` for
  writers); PostgreSQL is 127.0.0.1:5432 with trust auth, a fresh database created and dropped by the
  benchmark, default server settings.
- Databases are created with the real migrations (`engine.migrate.upgrade`); bulk data is loaded
  directly into the tables (COPY on PostgreSQL) where the benchmark says so, never by running
  millions of workflows.
- No benchmark is a test: the test suite makes no timed assertions.

The sections below are appended by the benchmarks, newest last.
"""


# ------------------------------------------------------------------------------------------ machine

def machine() -> dict:
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "cpu": cpu,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def machine_line(info: dict | None = None) -> str:
    m = info or machine()
    return (f"{m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, Python {m['python']}, "
            f"SQLite {m['sqlite']}; load average at start {m['load']}")


def command_line() -> str:
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(ROOT)
    return " ".join([".venv/bin/python", str(script), *map(shlex.quote, sys.argv[1:])])


# ------------------------------------------------------------------------------------------ databases

def pg_version() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with eng.connect() as conn:
            v = conn.execute(text("show server_version")).scalar()
        eng.dispose()
        return v
    except Exception:  # noqa: BLE001
        return None


@contextlib.contextmanager
def database(kind: str, *, migrate: bool = True, keep: bool = False):
    """A fresh database (``sqlite`` file or ``postgresql``) migrated to head; dropped afterwards."""
    from engine import migrate as migrations

    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="jsj_bench_") as tmp:
            url = f"sqlite:///{tmp}/jishijiu.db"
            if migrate:
                migrations.upgrade(url)
            yield url
        return
    if kind != "postgresql":
        raise ValueError(kind)
    from sqlalchemy import create_engine, text

    name = f"jsj_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        if migrate:
            migrations.upgrade(url)
        yield url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def quiet_logs() -> None:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("jishijiu").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


# ------------------------------------------------------------------------------------------ statistics

def median(xs) -> float:
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")


def percentile(xs, p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def bar(value: float, scale: float, width: int = 50, char: str = "#") -> str:
    n = 0 if scale <= 0 else int(round(min(value / scale, 1.0) * width))
    return char * n


class Stopwatch:
    def __init__(self) -> None:
        self.t = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        dt, self.t = now - self.t, now
        return dt


# ------------------------------------------------------------------------------------------ report

def append_section(title: str, body: str, *, info: dict | None = None, extra_machine: str = "") -> None:
    """Append one dated section (title, date, machine, command, body) to docs/BENCHMARKS.md."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    text = (f"\n## {title} — {stamp}\n\n"
            f"- Machine: {machine_line(info)}{extra_machine}\n"
            f"- Command: `{command_line()}`\n\n{body.rstrip()}\n")
    with open(DOC, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        if not handle.read(1):
            handle.write(INTRO)
        handle.seek(0, os.SEEK_END)
        handle.write(text)
        fcntl.flock(handle, fcntl.LOCK_UN)
    print(f"\nappended to {DOC.relative_to(ROOT)}: {title}")
