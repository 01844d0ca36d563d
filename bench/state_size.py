"""State size and growth.

1. Bytes stored per instance at a wait point — for ``tests/engine/bpmn/casework.bpmn`` and every
   ``processes/*.bpmn`` (started with the start data of its tests, on the Jining 2022 standard and a
   household of the scenarios; the unified application is also driven along scenario 1 and measured
   at each later wait).  Reported: the ``state`` column (SpiffWorkflow instance state without the
   spec, JSON), its gzip size, and all rows the case owns (instance, human tasks, timers, statutory
   clocks, audit events …) with their bytes (sum of the column values' text lengths).  Target: state
   ≤ 16 KB.
2. Growth: ``bench/bpmn/loop.bpmn`` — one user task that comes back ``limit`` times (a long review
   history).  Two instances are driven 300 steps in lockstep through the engine API, one with the
   instance cache on (product default) and one with it off (every step restores the JSON); we
   report the cost of step 10 vs step 300 (median of steps 6–15 and 291–300), the ratio, and a curve.

    .venv/bin/python bench/state_size.py [--quick] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

LOOP = Path(__file__).resolve().parent / "bpmn" / "loop.bpmn"
CASEWORK = C.ROOT / "tests" / "engine" / "bpmn" / "casework.bpmn"
TARGET = 16 * 1024


def case_rows(services, case_id: int) -> tuple[int, int, dict]:
    """(rows, bytes, per table) of everything stored for one case."""
    from sqlalchemy import text

    from engine.db import Base

    per = {}
    with services.db.read() as s:
        for table in Base.metadata.sorted_tables:
            cols = table.c
            if table.name == "audit_event":
                where, params = "chain = :chain", {"chain": f"case:{case_id}"}
            elif table.name == "process_instance":
                where, params = "id = :id", {"id": case_id}
            elif "instance_id" in cols:
                where, params = "instance_id = :id", {"id": case_id}
            elif "case_id" in cols and table.name not in ("review_result",):
                where, params = "case_id = :id", {"id": case_id}
            else:
                continue
            rows = s.execute(text(f'SELECT * FROM "{table.name}" WHERE {where}'), params).all()
            if rows:
                per[table.name] = (len(rows), sum(len(str(v).encode()) for r in rows for v in r if v is not None))
    return sum(n for n, _ in per.values()), sum(b for _, b in per.values()), per


def state_of(services, case_id: int) -> str:
    from engine.workflow.models import ProcessInstance

    with services.db.read() as s:
        return s.get(ProcessInstance, case_id).state


def measure_processes(url: str) -> list[dict]:
    from datetime import datetime, timedelta, timezone

    from engine import bootstrap
    from engine.clock import FakeClock
    from tests.processes import conftest as W   # the closed loop's test world: standards, funds, households

    clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc))
    services = bootstrap.build({"DATABASE_URL": url, "TESTING": True, "CLOCK": clock})
    services.services.register("test.gap", lambda p, d, c: {"monthly_amount": "600"})
    out = []
    deployed = {o.definition.key for o in bootstrap.deploy_processes(services)}
    services.engine.deploy(CASEWORK.read_bytes(), CASEWORK.name, actor=W.DESIGNER)
    W._seed(services)

    def record(label, case, note=""):
        st = state_of(services, case.id)
        rows, nbytes, per = case_rows(services, case.id)
        out.append({"label": label, "state": len(st.encode()), "gzip": len(gzip.compress(st.encode())),
                    "rows": rows, "bytes": nbytes, "per": per, "waiting": ", ".join(case.open_ids()) or case.status,
                    "note": note})

    village = W.YUTAI_VILLAGE
    case = W.start(services, "casework", None, "370827101201", {"people": ["a", "b"], "income": "0"},
                   actor=W.caseworker("370827101201"))
    record("casework.bpmn (test)", case)
    starts = {
        "discovery": lambda: W.start(services, "discovery", W.create_household(services, W.widow()), village,
                                     {"signal_kind": "village_report", "source": "村党支部书记", "details": {}},
                                     actor=W.assistant(village)),
        "notification": lambda: W.start(services, "notification", W.create_household(services, W.widow()), village,
                                        {"reason": "画像更新"}),
        "emergency": lambda: W.start(services, "emergency", W.create_household(services, W.han_jin()), village,
                                     {"urgency": "urgent", "relief_type": "emergency", "requested_amount": "2000"}),
        "referral": lambda: W.start(services, "referral", W.create_household(services, W.widow()), village,
                                    {"target": "medical_insurance", "reason": "医疗救助", "referral_id": None}),
        "deliberation": lambda: W.start(services, "deliberation", W.create_household(services, W.han_jin()), village),
        "review": lambda: W.start(services, "review", W.create_household(services, W.widow()), village, {
            "programme": "dibao", "flags": ["vehicle_registered"], "previous_household": None, "taper_ends": None,
            "in_force": {"programme": "dibao", "eligible": True, "monthly_amount": "2100.00",
                         "one_off_amount": "0.00", "covered_members": [0, 1, 2], "marginal": None,
                         "reasons": [], "rule_version": "dibao/2025.1"}}),
        "application": lambda: W.start(services, "application", W.create_household(services, W.han_jin()), village,
                                       {"source": "village_report", "proxy": True}),
    }
    for key in sorted(deployed):
        if key not in starts:
            out.append({"label": f"{key}.bpmn", "error": "no start data known to the benchmark"})
            continue
        try:
            case = starts[key]()
            record(f"{key}.bpmn", case)
        except Exception as exc:  # noqa: BLE001 - a process under construction
            out.append({"label": f"{key}.bpmn", "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
            continue
        if key == "application":
            try:
                region = village
                case.complete("accept", W.caseworker(region), {"accepted": True, "missing_documents": ["残疾证复印件"]})
                record("application.bpmn", case, "after accept")
                case.complete("info_check", W.approver(region), {"checked": True})
                case.complete("investigate", W.caseworker(region), {"investigators": ["张三", "李四"],
                                                                      "visited_on": "2026-03-03"})
                record("application.bpmn", case, "after investigation")
                case.complete("opinion", W.caseworker(region), {"opinion": "拟同意"})
                record("application.bpmn", case, "in publicity")
                clock.advance(timedelta(days=7, seconds=1))
                W.tick(services)
                record("application.bpmn", case, "at confirmation")
            except Exception as exc:  # noqa: BLE001
                out.append({"label": "application.bpmn", "error": f"driving scenario 1 stopped: {str(exc)[:160]}"})
    services.close()
    return out


def growth(url: str, steps: int) -> dict:
    from engine import bootstrap
    from engine.actors import Actor

    actor = Actor("zhang", "caseworker", "370827101")
    arms = {}
    for label, cache in (("cache on", None), ("cache off", 0)):
        cfg = {"DATABASE_URL": url}
        if cache is not None:
            cfg["INSTANCE_CACHE_SIZE"] = cache
        svc = bootstrap.build(cfg)
        try:
            svc.engine.deploy(LOOP.read_bytes(), LOOP.name, actor=Actor("d", "designer", "37"))
        except Exception:  # noqa: BLE001 - the other arm deployed it
            pass
        view = svc.engine.start("bench_loop", actor=actor, region_code="370827101201", data={"limit": steps + 5})
        arms[label] = {"svc": svc, "task": view.open_tasks[0].id, "case": view.id, "ms": [], "state": []}
    for i in range(steps):
        for label, arm in arms.items():
            t = time.perf_counter()
            view = arm["svc"].engine.complete(arm["task"], actor, {"note": f"第{i + 1}次复核", "rounds": i + 1})
            arm["ms"].append((time.perf_counter() - t) * 1000)
            arm["task"] = view.open_tasks[0].id
            arm["state"].append(len(state_of(arm["svc"], arm["case"]).encode()))
    for arm in arms.values():
        arm["svc"].close()
        del arm["svc"]
    return arms


def raw_growth(steps: int) -> dict:
    """SpiffWorkflow alone, in memory, on the same loop (the same form data per step), unpruned.

    Every step walks the whole task tree inside SpiffWorkflow (``do_engine_steps``,
    ``update_waiting_tasks``), so its own cost per step grows with the history; the engine prunes
    the finished history after each step (``engine/workflow/spiff/history.py``), this arm does not.
    """
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(LOOP))
    wf = BpmnWorkflow(parser.get_spec("bench_loop"), parser.get_subprocess_specs("bench_loop"))
    wf.get_tasks(state=TaskState.READY)[0].data.update({"limit": steps + 5})
    wf.do_engine_steps()
    ms = []
    for i in range(steps):
        t = time.perf_counter()
        [task] = wf.get_tasks(state=TaskState.READY, manual=True)
        task.data.update({"note": f"第{i + 1}次复核", "rounds": i + 1})
        task.run()
        wf.refresh_timers()
        wf.do_engine_steps()
        ms.append((time.perf_counter() - t) * 1000)
    return {"ms": ms}


def depth_limit(url: str, limit: int = 300) -> dict:
    """``loop4.bpmn`` (four tasks a round) through the engine: where does it stop, and how?"""
    from engine import bootstrap
    from engine.actors import Actor

    path = LOOP.parent / "loop4.bpmn"
    actor = Actor("zhang", "caseworker", "370827101")
    svc = bootstrap.build({"DATABASE_URL": url})
    try:
        svc.engine.deploy(path.read_bytes(), path.name, actor=Actor("d", "designer", "37"))
        view = svc.engine.start("bench_loop4", actor=actor, region_code="370827101201", data={"limit": limit})
        done = 0
        while view.open_tasks and done < limit:
            view = svc.engine.complete(view.open_tasks[0].id, actor, {"note": "x"})
            done += 1
        return {"completions": done, "status": view.status, "rounds": view.data.get("rounds"), "limit": limit}
    finally:
        svc.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 steps instead of 300")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = ap.parse_args()
    C.quiet_logs()
    steps = 100 if args.quick else 300
    info = C.machine()
    with C.database(args.db) as url:
        sizes = measure_processes(url)
    with C.database(args.db) as url:
        arms = growth(url, steps)
    raw = raw_growth(steps)
    with C.database(args.db) as url:
        depth = depth_limit(url)

    lines = [f"Database: {args.db}. Sizes in bytes; state = the `process_instance.state` JSON (instance state only, "
             "the spec is stored once per definition version); rows/bytes = everything the case owns "
             "(instance, tasks, timers, clocks, audit events, decisions …).", "",
             "| process | wait point | waiting at | state | gzip | ≤ 16 KB | rows | row bytes | rows by table |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in sizes:
        if "error" in s:
            lines.append(f"| {s['label']} | – | {s['error']} | | | | | | |")
            continue
        per = ", ".join(f"{k} {n}" for k, (n, _) in sorted(s["per"].items()))
        lines.append(f"| {s['label']} | {s['note'] or 'after start'} | {s['waiting']} | {s['state']:,} | {s['gzip']:,} | "
                     f"{'yes' if s['state'] <= TARGET else '**no**'} | {s['rows']} | {s['bytes']:,} | {per} |")
    lo = slice(5, 15)
    hi = slice(steps - 10, steps)
    lines += ["", f"Growth: `bench/bpmn/loop.bpmn`, {steps} completions of the same user task, two instances in "
              "lockstep (cache on = product default; cache off = every step restores the JSON).", "",
              "| arm | step 10 (median 6–15) | step {0} (median {1}–{0}) | ratio | state at 10 | state at {0} |".format(
                  steps, steps - 9),
              "|---|---|---|---|---|---|"]
    for label, arm in arms.items():
        a, b = C.median(arm["ms"][lo]), C.median(arm["ms"][hi])
        lines.append(f"| {label} | {a:.1f} ms | {b:.1f} ms | **{b / a:.2f}** | {arm['state'][9]:,} B | "
                     f"{arm['state'][-1]:,} B |")
    a, b = C.median(raw["ms"][lo]), C.median(raw["ms"][hi])
    lines.append(f"| raw SpiffWorkflow, in memory, unpruned | {a:.2f} ms | {b:.2f} ms | **{b / a:.2f}** | – | – |")
    on = arms["cache on"]
    ratio = C.median(on["ms"][hi]) / C.median(on["ms"][lo])
    lines += ["", f"Target: step {steps} ≤ 3× step 10 (product default, cache on): "
              f"**{'met' if ratio <= 3 else 'missed'}** ({ratio:.2f}×)."]
    lines += ["", "```", "step   ms/step (cache on)                       ms/step (cache off)                      state KB"]
    on, off = arms["cache on"], arms["cache off"]
    scale = max(max(C.median(on["ms"][i:i + 10]), C.median(off["ms"][i:i + 10])) for i in range(0, steps, 10))
    bucket = 20 if steps >= 200 else 10
    for i in range(0, steps, bucket):
        m_on, m_off = C.median(on["ms"][i:i + bucket]), C.median(off["ms"][i:i + bucket])
        lines.append(f"{i + bucket:4d}  {m_on:6.1f} {C.bar(m_on, scale, 30):<30}  {m_off:6.1f} {C.bar(m_off, scale, 30):<30}"
                     f"  {on['state'][min(i + bucket, steps) - 1] / 1024:6.1f}")
    lines.append("```")
    lines += ["", f"Depth limit: `bench/bpmn/loop4.bpmn` (join, user task, script, gateway = four tasks a round, "
              f"limit {depth['limit']}) driven through the engine stopped after {depth['completions']} completions "
              f"with status **{depth['status']}** and rounds = {depth['rounds']} "
              f"({'silently completed mid-loop' if depth['status'] == 'completed' and (depth['rounds'] or 0) < depth['limit'] else 'as expected'}). "
              "SpiffWorkflow 3.2 iterates the task tree only 1000 levels deep (`TaskIterator(max_depth=1000)`, "
              "also inside `Workflow.is_completed`), so a READY task deeper than that is invisible; the engine "
              "keeps the tree shallow by pruning the finished history after every step "
              "(`engine/workflow/spiff/history.py`; before that it stopped at 250 completions, rounds = 249)."]
    body = "\n".join(lines)
    print("\n" + body)
    C.append_section("State size and growth" + (" (quick)" if args.quick else ""), body, info=info)


if __name__ == "__main__":
    main()
