"""Timers: 20 000 pending BPMN timers, a burst of 1 000 due in the same second, the real scheduler,
and an outage (SIGKILL, restart later).

Process ``bench/bpmn/timer.bpmn``: start → timer (``timeDate = due``) → user task → end.  One
instance is started through the engine; the other 19 999 are its clones (state and ``timer`` row with
their own due time — the same bytes the engine would have written), bulk-inserted: the benchmark
measures firing, not starting.  Due times: 19 000 spread evenly over ``--spread`` seconds from the
start, 1 000 all due at the same instant in the middle of the spread.

The scheduler is the product's: ``jishijiu scheduler`` (``TimerScheduler``: APScheduler sweep every
``JISHIJIU_SCHEDULER_SWEEP_SECONDS``, default 5 s, plus a wake job at the next due time; leader
lease), as a separate process, SIGKILLed at ``--kill-at`` s and restarted ``--outage`` s later.

Lateness = fired_at − due_at on the engine clock (the ``timer`` table).  Reported separately for
timers due while the scheduler was up and for those that fell due during the outage (time from the
restart to their firing; they must each fire once, within 10 s of the restart).  Duplicates = a timer
fired more than once (``timer.fired`` audit events per instance), must be 0.

Default (compressed): spread 120 s, kill at 40 s, outage 60 s.  ``--full``: spread 900 s (15 min),
kill at 120 s, outage 600 s (10 min), as in PERFORMANCE.md.

    .venv/bin/python bench/timers.py [--full] [--db sqlite|postgresql|both] [--no-outage]
    .venv/bin/python bench/timers.py --profile [--db …]   # the cost of firing one timer, in process
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

BPMN = Path(__file__).resolve().parent / "bpmn" / "timer.bpmn"


def setup(url: str, n: int, burst: int, spread: float, lead: float, burst_at: float, beyond: int = 0) -> dict:
    from sqlalchemy import select

    from engine import bootstrap
    from engine.actors import Actor
    from engine.casework.monitoring import bulk_insert
    from engine.workflow.models import ProcessInstance, Timer

    services = bootstrap.build({"DATABASE_URL": url})
    services.engine.deploy(BPMN.read_bytes(), BPMN.name, actor=Actor("bench", "designer", "37"))
    template_due = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    view = services.engine.start("bench_timer", actor=Actor("bench", "caseworker", "370827101"),
                                 region_code="370827101201", data={"due": template_due.isoformat()})
    with services.db.read() as s:
        row = s.get(ProcessInstance, view.id)
        timer = s.execute(select(Timer).where(Timer.instance_id == view.id)).scalar_one()
        tpl = {c: getattr(row, c) for c in ("definition_id", "process_key", "region_code", "serializer_version",
                                            "created_by")}
        state, guid, bpmn_id, kind = row.state, timer.task_guid, timer.bpmn_id, timer.kind
    assert state.count(template_due.isoformat()) == 2, "the due time is not where the clone expects it"
    t0 = datetime.now(timezone.utc) + timedelta(seconds=lead)
    dues = [t0 + timedelta(seconds=spread * i / (n - burst)) for i in range(n - burst)]
    dues += [t0 + timedelta(seconds=burst_at)] * burst
    # pending timers due long after the run (they only make the table bigger)
    dues += [t0 + timedelta(days=1, seconds=i) for i in range(beyond)]
    # the template itself becomes one of the timers too
    now = datetime.now(timezone.utc)
    with services.db.write() as s:
        from sqlalchemy import update

        first = dues.pop()
        s.execute(update(ProcessInstance).where(ProcessInstance.id == view.id).values(
            state=state.replace(template_due.isoformat(), first.isoformat())))
        s.execute(update(Timer).where(Timer.id == timer.id).values(due_at=first))
    next_id = view.id + 1
    for i in range(0, len(dues), 5000):
        rows, timers = [], []
        for j, due in enumerate(dues[i:i + 5000]):
            iid = next_id + i + j
            rows.append((iid, tpl["definition_id"], tpl["process_key"], "active", tpl["region_code"],
                         state.replace(template_due.isoformat(), due.isoformat()), tpl["serializer_version"], 1,
                         False, now, tpl["created_by"], now))
            timers.append((iid, guid, bpmn_id, kind, due, "pending"))
        with services.db.write() as s:
            bulk_insert(s, ProcessInstance, rows, columns=(
                "id", "definition_id", "process_key", "status", "region_code", "state", "serializer_version",
                "version", "overdue", "created_at", "created_by", "updated_at"))
            bulk_insert(s, Timer, timers, columns=("instance_id", "task_guid", "bpmn_id", "kind", "due_at", "status"))
    if services.db.dialect == "postgresql":
        from sqlalchemy import text

        with services.db.write() as s:
            s.execute(text("SELECT setval(pg_get_serial_sequence('process_instance', 'id'), "
                           "(SELECT max(id) FROM process_instance))"))
        with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    services.close()
    return {"t0": t0, "n": n}


def start_scheduler(url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "JISHIJIU_DATABASE_URL": url, "JISHIJIU_LOG_LEVEL": "WARNING", "PYTHONPATH": str(C.ROOT)}
    return subprocess.Popen([str(Path(sys.executable).parent / "jishijiu"), "scheduler"], cwd=C.ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "ab"), start_new_session=True)


def pending(url: str, before: datetime | None = None) -> int:
    from sqlalchemy import create_engine, func, select

    from engine.workflow.models import Timer

    eng = create_engine(url)
    with eng.connect() as c:
        q = select(func.count()).select_from(Timer).where(Timer.status == "pending")
        if before is not None:
            q = q.where(Timer.due_at <= before)
        n = c.execute(q).scalar()
    eng.dispose()
    return n


def collect(url: str) -> dict:
    from sqlalchemy import create_engine, func, select

    from engine.workflow.models import AuditEvent, HumanTask, Timer

    eng = create_engine(url)
    with eng.connect() as c:
        # read through the column types (UTC-aware datetimes on both databases)
        from sqlalchemy.orm import Session

        with Session(eng) as s:
            timers = [(t.instance_id, t.due_at, t.fired_at, t.status) for t in s.execute(select(Timer)).scalars()]
            fired_events = dict(s.execute(select(AuditEvent.chain, func.count()).where(
                AuditEvent.action == "timer.fired").group_by(AuditEvent.chain)).all())
            open_tasks = s.execute(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open")).scalar()
            tasks_per_case = dict(s.execute(select(HumanTask.instance_id, func.count()).group_by(HumanTask.instance_id)
                                            .having(func.count() > 1)).all())
    eng.dispose()
    return {"timers": timers, "fired_events": fired_events, "open_tasks": open_tasks,
            "double_tasks": len(tasks_per_case)}


def measure(kind: str, args) -> dict:
    log = Path(f"/tmp/jsj_bench_timers_{kind}.log")
    log.write_text("")
    with C.database(kind) as url:
        print(f"{kind}: creating {args.timers:,} pending timers …", flush=True)
        t = time.perf_counter()
        info = setup(url, args.timers, args.burst, args.spread, lead=args.lead, burst_at=args.burst_at,
                     beyond=args.beyond)
        print(f"  set up in {time.perf_counter() - t:.0f}s; first due at +{(info['t0'] - datetime.now(timezone.utc)).total_seconds():.0f}s",
              flush=True)
        t0 = info["t0"]
        proc = start_scheduler(url, log)
        kill_at = restart_at = None
        try:
            if not args.no_outage:
                _sleep_until(t0 + timedelta(seconds=args.kill_at))
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                kill_at = datetime.now(timezone.utc)
                print(f"  scheduler SIGKILLed at +{args.kill_at:.0f}s; restarting in {args.outage:.0f}s", flush=True)
                _sleep_until(kill_at + timedelta(seconds=args.outage))
                restart_at = datetime.now(timezone.utc)
                proc = start_scheduler(url, log)
            end = t0 + timedelta(seconds=args.spread)
            _sleep_until(end)
            deadline = time.time() + args.drain
            while time.time() < deadline:
                left = pending(url, before=datetime.now(timezone.utc))
                if left == 0:
                    break
                time.sleep(2)
            print(f"  drained; {pending(url)} timer(s) still pending", flush=True)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
        data = collect(url)
    return summarize(kind, data, t0, kill_at, restart_at, args)


def _sleep_until(when: datetime) -> None:
    delay = (when - datetime.now(timezone.utc)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def summarize(kind, data, t0, kill_at, restart_at, args) -> dict:
    timers = data["timers"]
    horizon = t0 + timedelta(days=1)
    fired = [(i, d, f) for i, d, f, s in timers if s == "fired"]
    unfired = [(i, d) for i, d, f, s in timers if s != "fired" and d < horizon]
    up, outage, after = [], [], []
    for i, d, f in fired:
        late = (f - d).total_seconds()
        if kill_at and d < restart_at and f >= restart_at:
            # due while no scheduler was firing (incl. those still unfired when it was killed)
            outage.append((f - restart_at).total_seconds())
        elif restart_at and d >= restart_at:
            after.append(late)
        else:
            up.append(late)
    duplicates = sum(1 for n in data["fired_events"].values() if n > 1)
    burst_due = t0 + timedelta(seconds=args.burst_at)
    burst = [(f - d).total_seconds() for i, d, f in fired if d == burst_due]
    rate = (max(f for _, _, f in fired) - min(f for _, _, f in fired)).total_seconds() if fired else 0
    return {"kind": kind, "fired": len(fired), "unfired": len(unfired), "up": up, "outage": outage, "after": after,
            "burst": burst, "duplicates": duplicates, "double_tasks": data["double_tasks"],
            "open_tasks": data["open_tasks"], "span": rate,
            "outage_within_10s": sum(1 for x in outage if x <= 10)}


def stats(xs) -> str:
    if not xs:
        return "–"
    return f"{C.percentile(xs, 50):.2f} / {C.percentile(xs, 99):.2f} / {max(xs):.2f}"


def profile_firing(kind: str, n: int) -> dict:
    """The cost of firing one timer, in this process: ``n`` overdue timers fired one case at a time
    (throughput, CPU and SQL statements per timer, a pyinstrument profile), then — PostgreSQL only —
    as many again with the scheduler's 4 firing threads."""
    import engine_overhead as EO
    from sqlalchemy import event

    from engine import bootstrap

    with C.database(kind) as url:
        setup(url, 3 * n + 50, 0, 1.0, lead=-120, burst_at=0)
        services = bootstrap.build({"DATABASE_URL": url})
        engine = services.engine
        engine.timer_workers = 1
        engine.fire_due_timers(limit=50)                       # warm-up: connections, spec cache
        count = {"n": 0}

        def statement(*_a, **_k):
            count["n"] += 1

        event.listen(services.db.engine, "before_cursor_execute", statement)
        t, c, fired = time.perf_counter(), time.process_time(), len(engine.fire_due_timers(limit=n))
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        event.remove(services.db.engine, "before_cursor_execute", statement)
        result = {"kind": kind, "fired": fired, "rate": fired / wall, "cpu_ms": 1000 * cpu / fired,
                  "statements": count["n"] / fired, "threads": None}
        result["profile"] = EO.run_profile(lambda: engine.fire_due_timers(limit=n), 1)
        if services.db.dialect != "sqlite":
            engine.timer_workers = 4
            t = time.perf_counter()
            fired = len(engine.fire_due_timers(limit=n))
            result["threads"] = fired / (time.perf_counter() - t)
        services.close()
    return result


def profile_main(kinds: list[str], n: int) -> None:
    info = C.machine()
    results = [profile_firing(k, n) for k in kinds]
    lines = [f"The cost of firing one timer: `bench/bpmn/timer.bpmn` cases restored from their saved state "
             f"(as after a restart), {n:,} overdue timers fired by `fire_due_timers` in this process, one case "
             "per transaction; then the profile of the next batch, and (PostgreSQL) the scheduler's 4 threads.", "",
             "| database | timers/s, 1 thread | CPU ms / timer | SQL statements / timer | timers/s, 4 threads |",
             "|---|---|---|---|---|"]
    for r in results:
        threads = f"{r['threads']:.0f}" if r["threads"] else "– (SQLite serializes writers)"
        lines.append(f"| {r['kind']} | {r['rate']:.0f} | {r['cpu_ms']:.2f} | {r['statements']:.1f} | {threads} |")
    for r in results:
        if r["profile"]:
            lines += ["", f"Own time by area, {r['kind']} (pyinstrument):", "", "| area | s | share |", "|---|---|---|"]
            lines += [f"| {area} | {t:.2f} | {share:.0%} |" for area, t, share in r["profile"]["areas"]]
            lines += ["", f"<details><summary>pyinstrument, firing on {r['kind']}</summary>", "", "```",
                      "\n".join(l for l in r["profile"]["tree"].splitlines() if l.strip()), "```", "</details>"]
    body = "\n".join(lines)
    print("\n" + body)
    pg = C.pg_version()
    C.append_section("Timers: cost of firing one", body, info=info, extra_machine=f"; PostgreSQL {pg}" if pg else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="15-minute spread, kill at 2 min, 10-minute outage")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--timers", type=int, default=20_000)
    ap.add_argument("--burst", type=int, default=1_000)
    ap.add_argument("--spread", type=float, default=None)
    ap.add_argument("--kill-at", type=float, default=None)
    ap.add_argument("--outage", type=float, default=None)
    ap.add_argument("--no-outage", action="store_true")
    ap.add_argument("--lead", type=float, default=20, help="seconds between set-up and the first due time")
    ap.add_argument("--burst-at", type=float, default=None,
                    help="seconds after the first due time when the burst is due (default: while the scheduler is up)")
    ap.add_argument("--beyond", type=int, default=0,
                    help="extra pending timers due a day later (table size without extra load)")
    ap.add_argument("--drain", type=float, default=600, help="max seconds to wait for the backlog after the spread")
    ap.add_argument("--profile", action="store_true",
                    help="only the cost of firing one timer, in process (throughput, statements, profile)")
    ap.add_argument("--profile-timers", type=int, default=600)
    args = ap.parse_args()
    C.quiet_logs()
    if args.profile:
        kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
        profile_main([k for k in kinds if k == "sqlite" or C.pg_version() is not None], args.profile_timers)
        return
    args.spread = args.spread or (900 if args.full else 120)
    args.kill_at = args.kill_at if args.kill_at is not None else (120 if args.full else 40)
    args.outage = args.outage or (600 if args.full else 60)
    if args.burst_at is None:
        args.burst_at = min(args.spread / 4, args.kill_at / 2) if not args.no_outage else args.spread / 2
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    info = C.machine()
    results = [measure(k, args) for k in kinds]
    mode = "full" if args.full else "compressed"
    outage = "no outage" if args.no_outage else f"scheduler SIGKILLed at +{args.kill_at:.0f} s, restarted {args.outage:.0f} s later"
    sweep = os.environ.get("JISHIJIU_SCHEDULER_SWEEP_SECONDS", "5")
    lines = [f"{mode}: {args.timers + args.beyond:,} pending timers: {args.timers - args.burst:,} due evenly over {args.spread:.0f} s "
             f"({(args.timers - args.burst) / args.spread:.0f}/s) + {args.burst:,} due at the same instant "
             f"(+{args.burst_at:.0f} s)" + (f" + {args.beyond:,} due a day later" if args.beyond else "") +
             f"; {outage}; `jishijiu scheduler` (sweep {sweep} s + wake job). "
             "Lateness in seconds, p50 / p99 / max.",
             "",
             f"| database | fired | never fired | lateness, scheduler up | burst of {args.burst:,} | due after restart | "
             "due in outage (or unfired at the kill): fired s after restart | within 10 s of restart | duplicates | "
             "cases with 2 tasks |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['kind']} | {r['fired']:,} | {r['unfired']} | {stats(r['up'])} | {stats(r['burst'])} | "
                     f"{stats(r['after'])} | {stats(r['outage'])} | {r['outage_within_10s']:,} of {len(r['outage']):,} | "
                     f"**{r['duplicates']}** | {r['double_tasks']} |")
    lines.append("")
    for r in results:
        line = f"- {r['kind']}: fired {r['fired']:,} between the first and the last firing, {r['span']:.0f} s"
        if r["outage"]:  # the backlog is the one moment the scheduler fires as fast as it can
            drained = max(r["outage"])
            line += (f"; the {len(r['outage']):,} due in the outage were fired {drained:.1f} s after the restart "
                     f"({len(r['outage']) / max(drained, 1e-9):.0f} timers/s)")
        lines.append(line + ".")
    body = "\n".join(lines)
    print("\n" + body)
    pg = C.pg_version()
    C.append_section(f"Timers ({mode})", body, info=info, extra_machine=f"; PostgreSQL {pg}" if pg else "")


if __name__ == "__main__":
    main()
