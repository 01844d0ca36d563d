"""Inbox: the JSON task list under an open-loop load, on 1 000 000 stored tasks.

Data, bulk-inserted straight into the tables (no workflows run): 500 000 cases and 1 000 000
``human_task`` rows, 100 000 of them open (30% of those claimed), over a city of 10 counties × 40
townships × 10 villages; 10 000 users (5 roles × 400 townships = 2 000 groups of 5 users … 25 per
group on average) with API tokens.  Served by gunicorn (2 workers × 8 threads, gthread) on 127.0.0.1.

Load: an open-loop generator — arrivals every 1/rate s on a fixed schedule regardless of answers,
handed to 50 client threads with keep-alive connections; latency is measured from the *scheduled*
send time (so queueing in the client counts, no coordinated omission).  Each request is a random
user's ``GET /api/v1/tasks?…``.  Variants: ``mine=1&group=1`` (as specified), ``group=1`` and ``mine=1``.

    .venv/bin/python bench/inbox.py [--quick] [--db postgresql|sqlite|both] [--rate 100] [--duration 60]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ROLES = ("caseworker", "approver", "assistant", "committee", "supervisor")
ROLE_WEIGHTS = (60, 20, 10, 5, 5)
COUNTIES = [f"3708{c:02d}" for c in (11, 12, 26, 27, 28, 29, 30, 31, 32, 81)]
TOWNSHIPS = [f"{c}{t:03d}" for c in COUNTIES for t in range(101, 141)]          # 400
VARIANTS = {"mine+group": "mine=1&group=1", "group": "group=1", "mine": "mine=1"}


def generate(url: str, n_tasks: int, n_open: int, n_users: int, seed: int = 11) -> dict:
    from sqlalchemy import text

    from engine import accounts, bootstrap
    from engine.casework.monitoring import bulk_insert
    from engine.workflow.models import HumanTask, ProcessDefinition, ProcessInstance

    rng = random.Random(seed)
    services = bootstrap.build({"DATABASE_URL": url})
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    with services.db.write() as s:
        d = ProcessDefinition(key="bench", version=1, name="bench", filename="bench.bpmn", sha256="0" * 64,
                              bpmn_xml=b"<definitions/>", deployed_at=now, deployed_by="bench", meta={})
        s.add(d)
        s.flush()
        definition_id = d.id
    # users: 5 per (township, role) at least, 10 000 in all
    users = []
    for i in range(n_users):
        township = TOWNSHIPS[i % len(TOWNSHIPS)]
        role = ROLES[(i // len(TOWNSHIPS)) % len(ROLES)]
        users.append((f"u{i:05d}", role, township))
    by_group: dict[tuple[str, str], list[str]] = {}
    for name, role, township in users:
        by_group.setdefault((role, township), []).append(name)
    user_rows = [(i + 1, name, name, "x", role, region, True, 0, now) for i, (name, role, region) in enumerate(users)]
    tokens = {name: f"bench-token-{name}" for name, _, _ in users}
    token_rows = [(i + 1, accounts._digest(tokens[name]), now, now + timedelta(days=7))
                  for i, (name, _, _) in enumerate(users)]
    with services.db.write() as s:
        bulk_insert(s, accounts.UserAccount, user_rows, columns=(
            "id", "username", "display_name", "password_hash", "role", "region", "active", "failed_logins",
            "created_at"))
        bulk_insert(s, accounts.ApiToken, token_rows, columns=("user_id", "token_hash", "created_at", "expires_at"))
    n_cases = n_tasks // 2
    open_per_case = {}
    # open tasks go to the first n_open cases (one open task each), the rest are history
    chunk = 50000
    task_id = 0
    for start in range(0, n_cases, chunk):
        cases, tasks = [], []
        for c in range(start + 1, min(start + chunk, n_cases) + 1):
            township = TOWNSHIPS[c % len(TOWNSHIPS)]
            village = f"{township}{200 + c % 10:03d}"
            is_open = c <= n_open
            cases.append((c, definition_id, "bench", "active" if is_open else "completed", village, None,
                          "{}", "1.5", 1, False, now, "bench", now))
            for k in range(2):
                task_id += 1
                role = rng.choices(ROLES, ROLE_WEIGHTS)[0]
                created = now - timedelta(days=rng.randrange(1, 400), minutes=rng.randrange(0, 1440))
                due = created + timedelta(days=rng.choice((3, 5, 10, 20)))
                open_task = is_open and k == 1
                if open_task:
                    assignee = rng.choice(by_group[(role, township)]) if rng.random() < 0.3 else None
                    tasks.append((c, str(uuid.UUID(int=rng.getrandbits(128))), "investigate", "入户调查",
                                  "form", role, "lane", village, assignee, "open", created, due, None, None, 1))
                else:
                    who = rng.choice(by_group[(role, township)])
                    tasks.append((c, str(uuid.UUID(int=rng.getrandbits(128))), "review", "审核", "form", role,
                                  "lane", village, who, "completed", created, due, created + timedelta(days=1),
                                  who, 2))
        with services.db.write() as s:
            bulk_insert(s, ProcessInstance, cases, columns=(
                "id", "definition_id", "process_key", "status", "region_code", "household_id", "state",
                "serializer_version", "version", "overdue", "created_at", "created_by", "updated_at"))
            bulk_insert(s, HumanTask, tasks, columns=(
                "instance_id", "task_guid", "bpmn_id", "name", "form_key", "candidate_group", "lane",
                "region_code", "assignee", "status", "created_at", "due_at", "completed_at", "completed_by",
                "version"))
    if services.db.dialect == "postgresql":
        with services.db.write() as s:
            for table in ("process_instance", "user_account"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    with services.db.read() as s:
        counts = dict(s.execute(text("SELECT status, count(*) FROM human_task GROUP BY status")).all())
    services.close()
    return {"users": users, "tokens": tokens, "counts": counts, "t": time.perf_counter() - t0,
            "groups": len(by_group)}


# ------------------------------------------------------------------------------------------ server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "JISHIJIU_DATABASE_URL": url, "JISHIJIU_SCHEDULER_ENABLED": "0",
           "JISHIJIU_LOG_LEVEL": "WARNING", "PYTHONPATH": str(C.ROOT)}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen([gunicorn, "-w", str(workers), "-k", "gthread", "--threads", str(threads),
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"],
                            cwd=C.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("gunicorn did not come up: " + proc.stderr.read().decode()[-2000:])


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# ------------------------------------------------------------------------------------------ load

def load(port: int, query: str, tokens: list[str], rate: float, duration: float, clients: int,
         seed: int = 3) -> dict:
    """Open loop: request i is due at t0 + i/rate; a free client sends it; latency from the due time."""
    rng = random.Random(seed)
    todo: queue.Queue = queue.Queue()
    results: list[tuple[float, int, int]] = []          # latency, status, items
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            item = todo.get()
            if item is None:
                return
            due, token = item
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                conn.request("GET", f"/api/v1/tasks?{query}", headers={"Authorization": f"Bearer {token}"})
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
                items = len(json.loads(body)) if status == 200 else 0
            except (OSError, http.client.HTTPException, ValueError):
                status, items = 0, 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latency = time.perf_counter() - due
            with lock:
                results.append((latency, status, items))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    n = int(rate * duration)
    t0 = time.perf_counter() + 0.5
    for i in range(n):
        todo.put((t0 + i / rate, rng.choice(tokens)))
    for _ in threads:
        todo.put(None)
    for t in threads:
        t.join(timeout=duration + 120)
    lat = [r[0] * 1000 for r in results]
    errors = sum(1 for r in results if r[1] != 200)
    elapsed = max(time.perf_counter() - t0, duration)
    return {"offered": n, "done": len(results), "errors": errors, "p50": C.percentile(lat, 50),
            "p95": C.percentile(lat, 95), "p99": C.percentile(lat, 99), "max": max(lat) if lat else float("nan"),
            "throughput": len(results) / elapsed, "mean_items": C.median([r[2] for r in results])}


# ------------------------------------------------------------------------------------------ plans

def _next_prefix(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix`` (digit codes)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def queries(user: tuple[str, str, str]) -> dict:
    """The statements the endpoint runs (count + page of 50), and the OR form it used before."""
    from sqlalchemy import and_, func, or_, select, union_all

    from engine.workflow.models import HumanTask as T

    name, role, region = user
    rng = and_(T.region_code >= region, T.region_code < _next_prefix(region))
    group = [T.assignee.is_(None), T.candidate_group == role]
    variants = {
        "group (as served)": [T.status == "open", rng, *group],
        "mine (as served)": [T.status == "open", rng, T.assignee == name],
        "mine+group, OR (before)": [T.status == "open", rng, or_(T.assignee == name, and_(*group))],
    }
    out = {}
    for label, where in variants.items():
        out[label] = (select(func.count(T.id)).where(*where),
                      select(T).where(*where).order_by(T.due_at.is_(None), T.due_at, T.id).limit(50))
    # as web/api/tasks.py builds it: the two disjoint sets (assignee = me / IS NULL) as two index scans
    mine = select(T.id, T.due_at).where(T.status == "open", rng, T.assignee == name)
    grp = select(T.id, T.due_at).where(T.status == "open", rng, *group)
    both = union_all(mine, grp).subquery("inbox")
    ids = select(both.c.id).order_by(both.c.due_at.is_(None), both.c.due_at, both.c.id).limit(50)
    count = select(select(func.count()).select_from(mine.subquery()).scalar_subquery()
                   + select(func.count()).select_from(grp.subquery()).scalar_subquery())
    out["mine+group, UNION ALL (as served)"] = (
        count, select(T).where(T.id.in_(ids)).order_by(T.due_at.is_(None), T.due_at, T.id))
    return out


def compare_queries(url: str, users, n: int = 200, seed: int = 5) -> dict:
    """Median / p95 database time (count + page, as the endpoint runs them) for ``n`` random users."""
    from sqlalchemy import create_engine

    rng = random.Random(seed)
    sample = rng.sample(users, n)
    eng = create_engine(url)
    times: dict[str, list[float]] = {}
    items: dict[str, list[int]] = {}
    with eng.connect() as conn:
        for user in sample:
            for label, (count, page) in queries(user).items():
                t = time.perf_counter()
                conn.execute(count).scalar()
                rows = conn.execute(page).all()
                times.setdefault(label, []).append((time.perf_counter() - t) * 1000)
                items.setdefault(label, []).append(len(rows))
    plan = {}
    with eng.connect() as conn:
        user = next(u for u in users if u[1] == "caseworker")
        for label, (count, page) in queries(user).items():
            sql = str(page.compile(eng, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if eng.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            plan[label] = [" | ".join(map(str, r)) for r in conn.exec_driver_sql(prefix + sql).all()]
    eng.dispose()
    return {label: {"p50": C.percentile(v, 50), "p95": C.percentile(v, 95), "items": C.median(items[label])}
            for label, v in times.items()} | {"_plans": plan}


def measure(kind: str, args) -> dict:
    print(f"{kind}: generating {args.tasks:,} tasks …", flush=True)
    with C.database(kind) as url:
        gen = generate(url, args.tasks, args.open, args.users)
        print(f"  generated in {gen['t']:.0f}s: {gen['counts']}, {len(gen['users'])} users, {gen['groups']} groups",
              flush=True)
        compared = compare_queries(url, gen["users"])
        if args.compare_only:
            return {"kind": kind, "gen": gen, "runs": {}, "compared": compared}
        port = free_port()
        proc = serve(url, port, args.workers, args.threads)
        tokens = list(gen["tokens"].values())
        runs = {}
        try:
            load(port, VARIANTS["group"], tokens, rate=20, duration=3, clients=10)      # warm-up
            for label in args.variants:
                print(f"  {label}: {args.rate}/s from {args.clients} clients for {args.duration}s …", flush=True)
                runs[label] = load(port, VARIANTS[label], tokens, args.rate, args.duration, args.clients)
                r = runs[label]
                print(f"    p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms, "
                      f"errors {r['errors']}, {r['throughput']:.1f} req/s, median items {r['mean_items']}", flush=True)
        finally:
            stop(proc)
    return {"kind": kind, "gen": gen, "runs": runs, "compared": compared}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 000 tasks, 15 s per variant")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--compare-only", action="store_true",
                    help="no load: only the statements' database time")
    args = ap.parse_args()
    C.quiet_logs()
    args.tasks, args.open, args.users = (100_000, 10_000, 10_000) if args.quick else (1_000_000, 100_000, 10_000)
    args.duration = args.duration or (15 if args.quick else 60)
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    info = C.machine()
    results = [measure(k, args) for k in kinds]
    lines = [f"{args.tasks:,} tasks ({args.open:,} open), {args.users:,} users in 2 000 groups (role × township); "
             f"gunicorn {args.workers} workers × {args.threads} threads; open loop {args.rate:.0f} req/s from "
             f"{args.clients} clients for {args.duration:.0f} s per variant; latency from the scheduled send time.",
             "",
             "| database | query | offered | done | errors | p50 ms | p95 ms | p99 ms | max ms | achieved req/s | median items |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for label, x in r["runs"].items():
            lines.append(f"| {r['kind']} | `?{VARIANTS[label]}` | {x['offered']} | {x['done']} | {x['errors']} | "
                         f"{x['p50']:.1f} | {x['p95']:.1f} | {x['p99']:.1f} | {x['max']:.0f} | {x['throughput']:.1f} | "
                         f"{x['mean_items']} |")
    lines += ["", "Database time of the endpoint's two statements (count + page of 50), as served and the OR "
              "form used before, 200 random users, no load (median / p95 ms):", "",
              "| database | statement | p50 ms | p95 ms | median items |", "|---|---|---|---|---|"]
    for r in results:
        for label, x in r["compared"].items():
            if label.startswith("_"):
                continue
            lines.append(f"| {r['kind']} | {label} | {x['p50']:.2f} | {x['p95']:.2f} | {x['items']} |")
    for r in results:
        lines += ["", f"<details><summary>Plans of the page statements on {r['kind']}</summary>", "", "```"]
        for k, rows in r["compared"]["_plans"].items():
            lines.append(f"-- {k}")
            lines += [f"   {row}" for row in rows]
        lines += ["```", "</details>"]
    body = "\n".join(lines)
    print("\n" + body)
    pg = C.pg_version()
    C.append_section("Inbox" + (" (quick)" if args.quick else "") + (": query comparison" if args.compare_only else ""),
                     body, info=info,
                     extra_machine=f"; PostgreSQL {pg}" if pg else "")


if __name__ == "__main__":
    main()
