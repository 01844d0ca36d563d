"""The production shape: gunicorn with several workers on PostgreSQL, plus one scheduler process.

What it proves (issue #5 item 7): ``gunicorn 'web:create_app()'`` takes its whole configuration from
the environment; several workers serve the API concurrently against one PostgreSQL database; the web
workers run no scheduler (``JISHIJIU_SCHEDULER_ENABLED=0``) and the one ``jishijiu scheduler``
process fires every statutory deadline exactly once; every worker answers /healthz and /metrics.

Time: the deployment runs with ``JISHIJIU_TESTING=1``, so every process reads the engine clock as
the system time plus an offset kept in the ``setting`` table.  The test moves that offset itself (as
the test-clock endpoint would, but without running anything due in the web worker), then waits for
the scheduler process.  Like tests/reliability/test_restart.py this waits on real processes: it polls
with deadlines, it never sleeps a fixed time before asserting.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.bootstrap import DatabaseOffset
from engine.casework import idnumber
from engine.db import Database
from engine.workflow.models import Lease
from tests.conftest import PG_ADMIN_URL, PG_AVAILABLE
from tests.waiting import poll

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKERS = 3
CASES = 6
PASSWORD = "deploy-pass-1"
TOWNSHIP = "370827101"
VILLAGE = "370827101201"

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(not PG_AVAILABLE and not os.environ.get("CI"),
                                 reason="PostgreSQL is not reachable")]


# ------------------------------------------------------------------------------------------ helpers


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                kind = response.headers.get("Content-Type", "")
                return response.status, json.loads(raw) if kind.startswith("application/json") else raw
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def ok(self, method: str, path: str, body: dict | None = None, token: str | None = None, status=200):
        code, answer = self.call(method, path, body, token)
        assert code == status, (method, path, code, answer)
        return answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict, *args: str) -> str:
    result = subprocess.run([str(BIN / "jishijiu"), *args], cwd=PROJECT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture
def pg_url():
    """A database of its own: the processes under test migrate it through the CLI."""
    name = f"jsj_deploy_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def household(seq: int) -> dict:
    member = {"name": f"户主{seq}", "id_number": idnumber.make("370827", date(1980, 1, 1), 100 + seq),
              "relation": "head", "income": {"wages": "0", "business": "0", "property": "0", "transfer": "0"}}
    return {"region_code": VILLAGE, "hukou": "rural", "members": [member]}


# ------------------------------------------------------------------------------------------ the test

def test_gunicorn_workers_and_one_scheduler_fire_each_deadline_once(pg_url, tmp_path):
    port = free_port()
    env = {**os.environ, "JISHIJIU_DATABASE_URL": pg_url, "JISHIJIU_SECRET_KEY": secrets.token_hex(16),
           "JISHIJIU_TESTING": "1", "JISHIJIU_SCHEDULER_ENABLED": "0",
           "JISHIJIU_SCHEDULER_SWEEP_SECONDS": "1", "JISHIJIU_LOG_FORMAT": "text"}
    access_log = tmp_path / "access.log"
    web = scheduler = None
    db = Database(pg_url)
    try:
        cli(env, "db", "upgrade")
        cli(env, "demo")                                            # standards, funds of 鱼台县
        cli(env, "create-user", "ops-admin", "--password", PASSWORD, "--role", "admin", "--region", "37")
        cli(env, "create-user", "ops-cw", "--password", PASSWORD, "--role", "caseworker",
            "--region", TOWNSHIP)

        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
             "--timeout", "120", "--access-logfile", str(access_log),
             "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "web:create_app()"],
            cwd=PROJECT, env=env, stdout=(tmp_path / "gunicorn.out").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        scheduler = subprocess.Popen([str(BIN / "jishijiu"), "scheduler"], cwd=PROJECT, env=env,
                                     stdout=(tmp_path / "scheduler.out").open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        http = Http(f"http://127.0.0.1:{port}")

        def booted():
            assert web.poll() is None, (tmp_path / "gunicorn.out").read_text()
            try:
                return http.call("GET", "/healthz")[0] == 200 and len(children_of(web.pid)) == WORKERS
            except OSError:
                return False

        poll(booted, within=180, what="gunicorn answers with all its workers")
        workers = children_of(web.pid)

        admin = http.ok("POST", "/api/v1/auth/token", {"username": "ops-admin", "password": PASSWORD})["access_token"]
        caseworker = http.ok("POST", "/api/v1/auth/token",
                             {"username": "ops-cw", "password": PASSWORD})["access_token"]

        def report(seq: int) -> int:
            """A family's emergency report, accepted at once: the 24-hour pay-first clock starts."""
            household_id = http.ok("POST", "/api/v1/households", household(seq), admin, status=201)["id"]
            case = http.ok("POST", "/api/v1/cases", {"process": "emergency", "household_id": household_id,
                                                     "data": {"urgency": "urgent", "relief_type": "emergency",
                                                              "requested_amount": "2000"}},
                           caseworker, status=201)
            [accept] = case["open_tasks"]
            http.ok("POST", f"/api/v1/tasks/{accept['id']}/claim", {}, caseworker)
            done = http.ok("POST", f"/api/v1/tasks/{accept['id']}/complete",
                           {"data": {"accepted": True, "cause": "fire"}}, caseworker)
            assert [t["name"] for t in done["open_tasks"]] == ["先行救助（乡镇备用金）"]
            return case["id"]

        with ThreadPoolExecutor(max_workers=CASES) as pool:
            case_ids = list(pool.map(report, range(CASES)))
        assert len(set(case_ids)) == CASES

        for case_id in case_ids:
            case = http.ok("GET", f"/api/v1/cases/{case_id}", token=caseworker)
            assert (case["overdue"], case["escalations"]) == (False, [])

        # 24 h and a minute later, on every process's clock; no web worker runs what is due
        offset = DatabaseOffset(db)
        offset.set(offset() + timedelta(hours=24, minutes=1).total_seconds())
        target = datetime.now(timezone.utc) + timedelta(hours=24)

        def worker_clock_moved():   # GET only reads the clock; it runs nothing that is due
            now = http.ok("GET", "/api/v1/_test/clock", token=admin)["now"]
            return datetime.fromisoformat(now) >= target

        poll(worker_clock_moved, within=30, what="the web workers read the moved clock")

        def all_breached():
            cases = [http.ok("GET", f"/api/v1/cases/{i}", token=caseworker) for i in case_ids]
            return all(c["overdue"] and c["escalations"] for c in cases)

        poll(all_breached, within=120, what="the scheduler process has fired every pay-first deadline")

        # let the scheduler sweep at least twice more: a second firing would show now
        def lease_expiry():
            with db.read() as session:
                return session.get(Lease, "scheduler").expires_at

        seen = lease_expiry()
        for _ in range(2):
            seen = poll(lambda: (lambda e: e if e > seen else None)(lease_expiry()), within=60,
                        what="the scheduler renews its lease on its next sweep")

        for case_id in case_ids:
            case = http.ok("GET", f"/api/v1/cases/{case_id}", token=caseworker)
            assert [(e["level"], e["to_role"]) for e in case["escalations"]] == [(1, "supervisor")]
            events = http.ok("GET", f"/api/v1/cases/{case_id}/events?limit=200", token=caseworker)
            actions = [e["action"] for e in events]
            assert actions.count("sla.warning") == 1, actions
            assert actions.count("sla.escalated") == 1, actions
            fired = [e for e in events if e["action"] in ("sla.warning", "sla.escalated")]
            assert {e["actor"] for e in fired} == {"system"}

        # every worker answers /healthz (scheduler: external) and /metrics
        def served_by_every_worker():
            def hit(path):
                code, body = http.call("GET", path)
                assert code == 200, (path, code)
                if path == "/healthz":
                    assert body == {"status": "ok", "database": "ok", "scheduler": "external"}
                else:
                    assert b"# TYPE" in body
            with ThreadPoolExecutor(max_workers=WORKERS * 2) as pool:
                list(pool.map(hit, ["/healthz", "/metrics"] * WORKERS * 2))
            served: dict[str, set[int]] = {"/healthz": set(), "/metrics": set()}
            for line in access_log.read_text().splitlines():
                pid, method, path, status = line.split()
                if path in served and status == "200":
                    served[path].add(int(pid.strip("<>")))       # gunicorn writes %(p)s as <pid>
            return all(pids >= workers for pids in served.values())

        poll(served_by_every_worker, within=120, what="each worker has answered /healthz and /metrics")
        assert scheduler.poll() is None and web.poll() is None
    finally:
        stop(web)
        stop(scheduler)
        db.dispose()
