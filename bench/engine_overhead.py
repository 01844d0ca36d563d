"""Engine overhead (issue #9 target 1): raw SpiffWorkflow in memory vs the durable engine, same
process, same path, same run.  Target: durable instances/s ≥ 0.5 × raw instances/s.

Processes (``--process``):

- ``application`` (default, the process the target names): ``processes/application.bpmn``, the
  unified application, driven end to end along Scenario 1 (韩进's household, dibao 2800.00 a month):
  accept → info_check + investigate → three plugin assessments → opinion → 7-day publicity ended by
  its timer → confirm → decision, payment, publication, three referral cases.  The arms, the path
  and why the raw arm does the same workflow work are described in ``engine_overhead_application.py``.
- ``casework`` (the earlier stand-in, kept so its figures stay comparable):
  ``tests/engine/bpmn/casework.bpmn`` (start, script, user task with two boundary timers, gateway,
  service task, user task, end).  Path: start with {people: [a, b], income: "0"}; complete
  ``investigate`` with {income: "400"} (→ gateway → service ``test.gap`` → ``approve``); complete
  ``approve`` with {approved: true} → end.  Raw is SpiffWorkflow 3.2 alone (spec parsed once with
  SpiffBpmnParser, its own PythonScriptEngine with ``decimal`` and the stand-in service, bare ISO
  timer literals accepted).

Arms, for either process:

- *raw*: SpiffWorkflow in memory, spec parsed once, no database;
- *durable*: the engine's public operations, each its own transaction that loads the instance (from
  the in-process cache when its row version still matches) and commits every wait state.  Product
  defaults (``bootstrap.build``: instance cache 512; SQLite file with WAL; PostgreSQL reported too);
- *durable, cache off* (reference): ``INSTANCE_CACHE_SIZE = 0``, every operation restores the JSON.

Before timing, one instance of each arm runs with every task completion recorded, and the run stops
unless both completed the same tasks in the same order and ended the same way (for the application
also the same final data, decision and child cases) — so the comparison cannot silently diverge.
Every timed instance asserts that it completed.

Arms alternate round by round (raw, durable, cache off); we report the median instances/s of each
arm over the rounds, ratio = durable ÷ raw, the same on CPU time of this process (steadier on a
shared machine; PostgreSQL's server work is not in it), the SQL statements per instance and where
the durable arm spends them, operation by operation.  ``--profile`` adds a pyinstrument profile of
the durable arm (``.venv/bin/pip install pyinstrument``; a bench-only tool).

    .venv/bin/python bench/engine_overhead.py [--process application|casework] [--quick]
                                              [--db sqlite|postgresql|both] [--rounds N] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import engine_overhead_application as application  # noqa: E402


@dataclass
class Arms:
    """One process's two arms (and the cache-off reference) over one database."""

    raw: Callable[[], Any]
    durable: Callable[..., Any]            # durable(mark): mark(label) after each operation
    durable_cache_off: Callable[[], Any]
    services: Any                          # the durable arm's, for counting its statements
    check: Callable[[], int]               # the same-path check; tasks completed per instance
    close: Callable[[], None]


@dataclass(frozen=True)
class Process:
    key: str
    description: str
    setup: Callable[[str], Arms]
    sizes: dict[str, tuple[int, int]]      # "quick"/"full" → (raw, durable) instances per round


# ------------------------------------------------------------------------------------------ casework

CASEWORK_BPMN = C.ROOT / "tests" / "engine" / "bpmn" / "casework.bpmn"
CASEWORK_SEED = {"people": ["a", "b"], "income": "0"}
ISO = re.compile(r"^\s*P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?\s*$")


def _gap(params, data, ctx):
    income = Decimal(str(params["income"]))
    return {"monthly_amount": str((Decimal("700") - income) * int(params["members"]))}


def casework_raw():
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    class RawEngine(PythonScriptEngine):
        def evaluate(self, task, expression, external_context=None):
            if ISO.match(expression):          # the product accepts bare PT2H; raw gets the same
                return expression.strip()
            return super().evaluate(task, expression, external_context)

        def call_service(self, task, operation_name=None, operation_params=None, **_):
            params = {k: v["value"] for k, v in (operation_params or {}).items()}
            return json.dumps(_gap(params, task.data, None))

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(CASEWORK_BPMN))
    spec, subs = parser.get_spec("casework"), parser.get_subprocess_specs("casework")
    engine = RawEngine(environment=TaskDataEnvironment({"decimal": Decimal, "len": len}))

    def once():
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        wf.get_tasks(state=TaskState.READY)[0].data.update(dict(CASEWORK_SEED))
        wf.do_engine_steps()
        for form in ({"income": "400"}, {"approved": True}):
            [task] = wf.get_tasks(state=TaskState.READY, manual=True)
            task.data.update(form)
            task.run()
            wf.refresh_timers()
            wf.do_engine_steps()
        assert wf.is_completed(), "raw path did not finish"
        return wf

    return once


def casework_durable(url: str, cache_size: int | None = None):
    from engine import bootstrap
    from engine.actors import Actor

    cfg: dict[str, Any] = {"DATABASE_URL": url}
    if cache_size is not None:
        cfg["INSTANCE_CACHE_SIZE"] = cache_size
    services = bootstrap.build(cfg)
    services.services.register("test.gap", _gap)
    services.engine.deploy(CASEWORK_BPMN.read_bytes(), CASEWORK_BPMN.name, actor=Actor("design", "designer", "37"),
                           skip_if_known=True)     # the other durable arm may have deployed it already
    engine = services.engine
    caseworker = Actor("zhang", "caseworker", "370827101")
    approver = Actor("wang", "approver", "370827")

    def once(mark=application.no_mark):
        view = engine.start("casework", actor=caseworker, region_code="370827101201", data=dict(CASEWORK_SEED))
        mark("start")
        view = engine.complete(view.open_tasks[0].id, caseworker, {"income": "400"})
        mark("complete investigate")
        view = engine.complete(view.open_tasks[0].id, approver, {"approved": True})
        mark("complete approve")
        assert view.status == "completed", view.status
        return view

    return services, once


def casework_setup(url: str) -> Arms:
    raw = casework_raw()
    services, durable = casework_durable(url)
    services_off, durable_off = casework_durable(url, cache_size=0)

    def check() -> int:
        with application.recording_completions() as by_raw:
            raw()
        with application.recording_completions() as by_durable:
            durable()
        if by_raw != by_durable:
            raise AssertionError(f"the arms completed different tasks: raw {by_raw} vs durable {by_durable}")
        return len(by_raw)

    def close() -> None:
        services.close()
        services_off.close()

    return Arms(raw, durable, durable_off, services, check, close)


# ------------------------------------------------------------------------------------------ application

def application_setup(url: str) -> Arms:
    clock = application.make_clock()    # one engine clock for both arms (SpiffWorkflow's is process-wide)
    application.prepare_database(url, clock)
    services, durable = application.make_durable(url, clock)
    services_off, durable_off = application.make_durable(url, clock, cache_size=0)
    raw = application.RawApplication(services, clock)

    def close() -> None:
        services.close()
        services_off.close()

    return Arms(raw.once, durable, durable_off, services,
                lambda: application.check_same_path(services, durable, raw), close)


PROCESSES = {
    "application": Process("application", application.DESCRIPTION, application_setup,
                           {"quick": (60, 20), "full": (200, 60)}),
    "casework": Process("casework", "Process `tests/engine/bpmn/casework.bpmn` (10 nodes: start, script, "
                        "user task + 2 boundary timers, gateway, service, user task, end), path start → "
                        "complete → complete", casework_setup, {"quick": (150, 60), "full": (400, 150)}),
}


# ------------------------------------------------------------------------------------------ measuring

def rate(func, n: int) -> tuple[float, float]:
    """(instances/s of wall time, instances/s of this process's CPU time).

    The CPU rate leaves out time spent waiting: on a machine shared with other work (load average
    far above the core count) the wall rate of the durable arm — many short system calls and
    database round trips — suffers more than the raw arm's, and the CPU ratio is the steadier
    measure of the engine's own overhead.  PostgreSQL's server-side work is not in it.
    """
    t, c = time.perf_counter(), time.process_time()
    for _ in range(n):
        func()
    return n / (time.perf_counter() - t), n / max(time.process_time() - c, 1e-9)


def trace_operations(services, durable, n: int = 20) -> list[tuple[str, float, float]]:
    """Per operation of the durable path: (label, median ms of wall time, SQL statements)."""
    from sqlalchemy import event

    counter = {"n": 0}
    samples: dict[str, list[tuple[float, int]]] = {}
    last = {}

    def before(*_a, **_k):
        counter["n"] += 1

    def mark(label: str) -> None:
        now = time.perf_counter()
        samples.setdefault(label, []).append((now - last["t"], counter["n"] - last["n"]))
        last.update(t=time.perf_counter(), n=counter["n"])

    event.listen(services.db.engine, "before_cursor_execute", before)
    try:
        for _ in range(n):
            last.update(t=time.perf_counter(), n=counter["n"])
            durable(mark=mark)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", before)
    return [(label, 1000 * C.median(s[0] for s in runs), sum(s[1] for s in runs) / len(runs))
            for label, runs in samples.items()]


def measure(process: Process, kind: str, rounds: int, n_raw: int, n_dur: int, profile: bool) -> dict:
    n_off = max(n_dur // 2, 10)
    with C.database(kind) as url:
        arms = process.setup(url)
        try:
            tasks = arms.check()
            print(f"  {kind}: both arms completed the same {tasks} tasks in the same order", flush=True)
            for func in (arms.raw, arms.durable, arms.durable_cache_off):   # warm-up
                for _ in range(5):
                    func()
            wall = {"raw": [], "durable": [], "durable_cache_off": []}
            cpu = {"raw": [], "durable": []}
            for r in range(rounds):
                for arm, func, n in (("raw", arms.raw, n_raw), ("durable", arms.durable, n_dur),
                                     ("durable_cache_off", arms.durable_cache_off, n_off)):
                    on_wall, on_cpu = rate(func, n)
                    wall[arm].append(on_wall)
                    if arm in cpu:
                        cpu[arm].append(on_cpu)
                print(f"  {kind} round {r + 1}/{rounds}: raw {wall['raw'][-1]:.1f}/s, durable "
                      f"{wall['durable'][-1]:.1f}/s, durable cache off {wall['durable_cache_off'][-1]:.1f}/s; "
                      f"CPU-time rates raw {cpu['raw'][-1]:.1f}/s, durable {cpu['durable'][-1]:.1f}/s", flush=True)
            operations = trace_operations(arms.services, arms.durable)
            prof_text = run_profile(arms.durable, n_dur) if profile else None
        finally:
            arms.close()
    med = {k: C.median(v) for k, v in wall.items()}
    cpu_med = {k: C.median(v) for k, v in cpu.items()}
    return {"kind": kind, "median": med, "ratio": med["durable"] / med["raw"], "tasks": tasks,
            "ratio_rounds": [d / r for d, r in zip(wall["durable"], wall["raw"])],
            "ratio_cache_off": med["durable_cache_off"] / med["raw"],
            "cpu": cpu_med, "cpu_ratio": cpu_med["durable"] / cpu_med["raw"],
            "operations": operations, "statements": sum(op[2] for op in operations),
            "profile": prof_text, "load": os.getloadavg()[0]}


def run_profile(durable, n: int) -> dict | None:
    """A pyinstrument profile of ``n`` durable instances: the call tree (frames under 2 % of the
    time left out) and the time spent in each area's own code."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("(pyinstrument not installed: .venv/bin/pip install pyinstrument)")
        return None
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(n):
        durable()
    profiler.stop()
    tree = profiler.output_text(unicode=False, color=False, show_all=False, timeline=False,
                                processor_options={"filter_threshold": 0.02})
    return {"tree": tree, "areas": own_time_by_area(profiler.last_session.root_frame(trim_stem=False))}


# (label, where its files live); the first match wins.  Code without a Python file of its own
# (sqlite3's and psycopg's C calls, builtins, json's C scanner) counts for the Python code calling it.
AREAS = (
    ("SQLAlchemy (with the sqlite3 driver calls it makes)", ("/sqlalchemy/",)),
    ("psycopg (with waiting for PostgreSQL)", ("/psycopg/", "/psycopg_pool/")),
    ("SpiffWorkflow", ("/SpiffWorkflow/",)),
    ("reportlab (PDF decision notices)", ("/reportlab/",)),
    ("engine: workflow (engine/workflow)", (str(C.ROOT / "engine" / "workflow") + "/",)),
    ("engine: casework, records, the rest of engine/", (str(C.ROOT / "engine") + "/",)),
    ("plugins (assessments)", (str(C.ROOT / "plugins") + "/",)),
    ("json", ("/json/",)),
)
OTHER = "other (standard library, the benchmark)"


def own_time_by_area(root) -> list[tuple[str, float, float]]:
    """(area, seconds, share) of the profiled time, by where the code that ran lives."""
    totals: dict[str, float] = {}
    stack = [(root, OTHER)]
    while stack:
        frame, area = stack.pop()
        path = frame.file_path or ""
        if path.endswith(".py"):
            area = next((label for label, marks in AREAS if any(m in path for m in marks)), OTHER)
        totals[area] = totals.get(area, 0.0) + frame.time - sum(child.time for child in frame.children)
        stack.extend((child, area) for child in frame.children)
    whole = sum(totals.values()) or 1.0
    return sorted(((area, t, t / whole) for area, t in totals.items()), key=lambda x: -x[1])


# ------------------------------------------------------------------------------------------ report

def report(process: Process, results: list[dict], rounds: int, n_raw: int, n_dur: int) -> str:
    lines = [f"{process.description}. Before timing, one instance per arm was checked to complete the same "
             f"tasks in the same order ({results[0]['tasks'] if results else '?'} task completions per "
             f"instance). {rounds} alternating rounds; per round {n_raw} raw and {n_dur} durable instances "
             f"(cache-off arm: {max(n_dur // 2, 10)}). Medians of the rounds; ratio = durable ÷ raw "
             "(target ≥ 0.5).",
             "",
             "| database | raw inst/s | durable inst/s | ratio | per-round ratios | durable, cache off | ratio | "
             "CPU-time inst/s raw / durable | CPU ratio | SQL statements / instance | load at end |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        m = r["median"]
        lines.append(f"| {r['kind']} | {m['raw']:.1f} | {m['durable']:.1f} | **{r['ratio']:.3f}** | "
                     f"{', '.join(f'{x:.3f}' for x in r['ratio_rounds'])} | {m['durable_cache_off']:.1f} | "
                     f"{r['ratio_cache_off']:.3f} | {r['cpu']['raw']:.1f} / {r['cpu']['durable']:.1f} | "
                     f"{r['cpu_ratio']:.3f} | {r['statements']:.0f} | {r['load']:.1f} |")
    verdict = ", ".join(f"{r['kind']} {'meets' if r['ratio'] >= 0.5 else 'misses'} 0.5 ({r['ratio']:.2f})"
                        for r in results)
    lines += ["", f"Target ratio ≥ 0.5: {verdict}."]
    if results:
        kinds = [r["kind"] for r in results]
        lines += ["", "Durable arm, operation by operation (median ms of wall time over 20 instances; SQL "
                  "statements), " + " / ".join(kinds) + ":", "",
                  "| operation | " + " | ".join(f"{k} ms | {k} statements" for k in kinds) + " |",
                  "|---|" + "---|---|" * len(kinds)]
        by_kind = [{label: (ms, n) for label, ms, n in r["operations"]} for r in results]
        for label, *_ in results[0]["operations"]:
            cells = " | ".join(f"{ops[label][0]:.2f} | {ops[label][1]:.0f}" if label in ops else "– | –"
                               for ops in by_kind)
            lines.append(f"| {label} | {cells} |")
    profiled = [r for r in results if r["profile"]]
    if profiled:
        lines += ["", f"Where the durable arm's time goes (pyinstrument, {n_dur} instances; own time of the code "
                  "in each area, wall clock):", "",
                  "| area | " + " | ".join(f"{r['kind']} s | share" for r in profiled) + " |",
                  "|---|" + "---|---|" * len(profiled)]
        by_kind = [{area: (t, share) for area, t, share in r["profile"]["areas"]} for r in profiled]
        areas = sorted({area for k in by_kind for area in k},       # psycopg only on PostgreSQL
                       key=lambda a: -max(k.get(a, (0, 0))[1] for k in by_kind))
        for area in areas:
            cells = " | ".join(f"{k[area][0]:.2f} | {k[area][1]:.0%}" if area in k else "– | –" for k in by_kind)
            lines.append(f"| {area} | {cells} |")
    for r in profiled:
        tree = "\n".join(line for line in r["profile"]["tree"].splitlines() if line.strip())
        lines += ["", f"<details><summary>pyinstrument, durable arm on {r['kind']}</summary>", "", "```",
                  tree, "```", "</details>"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--process", choices=sorted(PROCESSES), default="application")
    ap.add_argument("--quick", action="store_true", help="3 rounds of fewer instances")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--profile", action="store_true", help="pyinstrument profile of the durable arm")
    args = ap.parse_args()
    C.quiet_logs()
    process = PROCESSES[args.process]
    rounds = args.rounds or (3 if args.quick else 7)
    n_raw, n_dur = process.sizes["quick" if args.quick else "full"]
    info = C.machine()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in kinds and C.pg_version() is None:
        print("PostgreSQL not reachable: skipping it")
        kinds.remove("postgresql")
    results = []
    for kind in kinds:
        print(f"{process.key} on {kind}: {rounds} alternating rounds, {n_raw} raw / {n_dur} durable instances "
              "per round")
        results.append(measure(process, kind, rounds, n_raw, n_dur, args.profile))
    body = report(process, results, rounds, n_raw, n_dur)
    print("\n" + body)
    pg = C.pg_version()
    title = f"Engine overhead, {process.key}" + (" (quick)" if args.quick else "")
    C.append_section(title, body, info=info, extra_machine=f"; PostgreSQL {pg}" if pg else "")


if __name__ == "__main__":
    main()
