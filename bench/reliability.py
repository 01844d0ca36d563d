"""The reliability and security battery (issue #8) at quick or full size, one command:

    .venv/bin/python bench/reliability.py [--quick] [--only R1,R2,...] [--db sqlite|postgresql|both]

Prints a table and rewrites the matching sections of ``docs/RELIABILITY.md`` (between the
``<!-- Rn -->`` markers) with the figures, the machine, the exact command and the date.

- R1 concurrency: ``claim_race`` / ``complete_race`` / ``sibling_race`` of tests/engine/test_concurrency.py
  (threads × rounds; full 50 × 200, quick 8 × 10), engine-per-thread.
- R2 crash safety: tests/reliability/crash.py — the pay step of an emergency case SIGKILLed at every
  named point and at random SQL statements, restart, reconcile (full: 6 named + 60 random kills).
- R3 timers: tests/reliability/timer_restarts.py — deadlines, restarts with downtime, each child
  SIGKILLed at a random moment (full 300 deadlines × 10 restarts, quick 30 × 2; SQLite and PostgreSQL).
- R5, R6, R8, R9, R10: the test modules that check them, run through pytest, with the sizes of their
  corpora counted here.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

DOC = C.ROOT / "docs" / "RELIABILITY.md"
PYTEST = [sys.executable, "-m", "pytest", "-n", "0", "-q", "-p", "no:cacheprovider"]


def dbs(choice: str) -> list[str]:
    kinds = ["sqlite", "postgresql"] if choice == "both" else [choice]
    return [k for k in kinds if k == "sqlite" or C.pg_version()]


# ------------------------------------------------------------------------------------------ R1–R3

def r1(args) -> list[str]:
    from engine.clock import FakeClock
    from tests.conftest import START
    from tests.engine import test_concurrency as T

    threads, rounds = (8, 10) if args.quick else (args.threads, args.rounds)
    rows = ["| database | race | threads × rounds | lost updates | conflicts (reported) | retries | errors | seconds |",
            "|---|---|---|---|---|---|---|---|"]
    for kind in dbs(args.db):
        for name, race in (("claim one task", T.claim_race), ("complete one task", T.complete_race),
                           ("parallel join", T.sibling_race)):
            with C.database(kind) as url:
                started = time.perf_counter()
                kwargs = {"rounds": rounds, "shared": False}
                if race is not T.sibling_race:
                    kwargs["threads"] = threads
                try:
                    tally = race(url, FakeClock(START), **kwargs)
                    lost, errors = 0, len(tally.errors)
                except AssertionError as exc:  # a lost update or double win is an assertion in the race
                    tally, lost, errors = T.Tally(), 1, 1
                    print("R1 FAILURE:", exc)
                size = f"{threads if race is not T.sibling_race else 2} × {tally.rounds or rounds}"
                rows.append(f"| {kind} | {name} | {size} | {lost} | {tally.conflicts} | {tally.retries} | "
                            f"{errors} | {time.perf_counter() - started:.0f} |")
                print(rows[-1])
    return rows


def r2(args) -> list[str]:
    from tests.reliability import crash
    from tests.reliability.test_crash_payments import QUICK_POINTS, kill_restart_reconcile

    rows = ["| database | kills (named + random) | duplicated payments | lost cases | unpaid or stuck cases | "
            "ledger ≠ balance | payments ≠ debits | audit broken | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    summaries: list[str] = []
    for kind in dbs(args.db):
        with C.database(kind) as url:
            started = time.perf_counter()
            named = list(QUICK_POINTS) if args.quick else list(crash.NAMED_POINTS)
            random_kills = 0 if args.quick else args.kills
            result, outcomes = kill_restart_reconcile(url, named, random_kills=random_kills, seed=args.seed)
            rows.append(f"| {kind} | {len(named)} + {random_kills} | {len(result.duplicated_keys)} | "
                        f"{len(result.lost_cases)} | {len(result.unpaid_cases) + len(result.stuck_cases)} | "
                        f"{len(result.ledger_differences)} | {len(result.payment_differences)} | "
                        f"{result.audit_broken} | {time.perf_counter() - started:.0f} |")
            print(rows[-1])
            print("   outcomes:", dict(sorted(outcomes.items())))
            tally: dict[str, int] = {}
            for key, n in outcomes.items():
                _point, died, restart = key.rsplit(":", 2)
                tally[f"{died}, restart {restart.replace('_', ' ')}"] = tally.get(
                    f"{died}, restart {restart.replace('_', ' ')}", 0) + n
            summaries.append(f"- {kind}: " + "; ".join(f"{what}: {n}" for what, n in sorted(tally.items())))
            if not result.ok:
                print("   NOT RECONCILED:", result)
    return rows + ["", "Where each child died (killed = it reached its kill point) and what the restart found:", "",
                   *summaries]


def r3(args) -> list[str]:
    from tests.reliability import timer_restarts

    deadlines, restarts = (30, 2) if args.quick else (args.deadlines, args.restarts)
    rows = ["| database | deadlines | restarts (killed; of them while firing) | fired once | duplicates | missing | "
            "pending | seconds |", "|---|---|---|---|---|---|---|---|"]
    for kind in dbs(args.db):
        with C.database(kind) as url:
            started = time.perf_counter()
            o = timer_restarts.run(url, deadlines=deadlines, restarts=restarts, seed=args.seed)
            rows.append(f"| {kind} | {o.deadlines} | {o.restarts} ({o.killed}; {o.killed_while_firing}) | {o.fired_once} "
                        f"({100 * o.fired_once / o.deadlines:.0f} %) | {len(o.duplicates)} | {len(o.missing)} | "
                        f"{o.pending} | {time.perf_counter() - started:.0f} |")
            print(rows[-1])
    return rows


# ------------------------------------------------------------------------------------------ pytest-checked

def pytest_run(paths: list[str], *, keyword: str | None = None, env: dict | None = None) -> tuple[str, float]:
    import os

    command = [*PYTEST, *paths] + (["-k", keyword] if keyword else [])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=C.ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})})
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    summary = re.sub(r"\s+in [0-9.]+s.*$", "", summary.strip("= "))
    return summary, time.perf_counter() - started


def corpus_sizes() -> dict[str, int]:
    from tests.engine.hostile.generator import hostile_documents
    from tests.engine.test_expressions import _load_payloads

    payloads = _load_payloads()
    return {"hostile BPMN/XML documents": len(hostile_documents()), "escape payloads": len(payloads)}


CHECKS = {
    "R5": ("hostile BPMN/XML corpus (DOCTYPE, entities, bombs, 50 MB, nesting, schema); hypothesis fuzz of the "
           "BPMN parser, the programme forms and the household/standard parsers; malformed JSON and bodies "
           "through the API (schemathesis) and its error tests", ["tests/engine/hostile",
                                                                      "tests/web/api/test_openapi_fuzz.py",
                                                                      "tests/web/api/test_errors.py"]),
    "R6": ("escape payloads in conditions, scripts and timer expressions, with step/size bounds",
           ["tests/engine/test_expressions.py"]),
    "R8": ("every object endpoint and page × every role × own/other region; audit row per denial; CSRF",
           ["tests/web/api/test_authorization.py", "tests/web/pages/test_regions.py"]),
    "R9": ("canary ID numbers and diagnoses through API errors, error pages and JSON logs",
           ["tests/reliability/test_personal_data.py", "tests/reliability/test_personal_data_pages.py"]),
    "R10": ("every payment path called twice with one key (case payments here; the monthly benefit cycle: "
            "re-drafting, re-reconciling the bank file, re-issuing failures — H1a's tests)",
            ["tests/reliability/test_idempotent_payments.py",
             "tests/engine/benefits/test_cycle.py::test_rerunning_a_cycle_never_pays_anyone_twice",
             "tests/engine/benefits/test_cycle.py::test_two_failed_lines_are_reconciled_and_reissued_exactly_once",
             "tests/engine/benefits/test_cycle.py::test_a_result_off_by_one_fen_reconciles_nothing",
             "tests/engine/benefits/test_cycle.py::"
             "test_a_backdated_resume_pays_the_suspended_month_once_even_after_later_months_went_out"]),
}


def checked(name: str, args) -> list[str]:
    what, paths = CHECKS[name]
    keyword = "sqlite" if args.db == "sqlite" and name not in ("R9",) else None
    env = {} if args.quick or name not in ("R5", "R8") else {"JISHIJIU_SOAK": "1"}
    if env and name == "R5":
        env["JISHIJIU_FUZZ_EXAMPLES"] = str(args.fuzz)
    summary, seconds = pytest_run(paths, keyword=keyword, env=env)
    prefix = " ".join(f"{k}={v}" for k, v in env.items())
    rows = ["| check | command | result | seconds |", "|---|---|---|---|",
            f"| {what} | `{prefix + ' ' if prefix else ''}.venv/bin/python -m pytest -n 0 -q {' '.join(paths)}"
            f"{' -k ' + keyword if keyword else ''}` | {summary} | {seconds:.0f} |"]
    if name in ("R5", "R6"):
        sizes = corpus_sizes()
        key = "hostile BPMN/XML documents" if name == "R5" else "escape payloads"
        rows.append(f"\n{key}: **{sizes[key]}** (counted by `{key.split()[0]}` loader in the test modules)")
    if name == "R8":
        rows.append("\nObject routes outside the matrix (their id kind has no far object yet): "
                    + (", ".join(f"`{r}`" for r in uncovered_routes()) or "none"))
    print(rows[2])
    return rows


def uncovered_routes() -> list[str]:
    """API routes addressing an object by an id the R8 matrix cannot fill yet."""
    from tests.web.api.test_authorization import ID_PARAMS
    from web import create_app, services_of

    with C.database("sqlite") as url:
        app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "r8"})
        found = sorted({rule.rule for rule in app.url_map.iter_rules()
                        if rule.rule.startswith("/api/v1/") and not rule.endpoint.startswith("api_fallback.")
                        and any(a.endswith("_id") and a not in ID_PARAMS for a in rule.arguments)})
        services_of(app).close()
    return found


# ------------------------------------------------------------------------------------------ report

def rewrite(section: str, rows: list[str], info: dict) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"<!-- {section} -->\n_Measured {stamp}; machine: {C.machine_line(info)}; "
            f"command: `{C.command_line()}`_\n\n" + "\n".join(rows) + f"\n<!-- /{section} -->")
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"<!-- {section} -->.*?<!-- /{section} -->", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC} has no <!-- {section} --> markers")
    DOC.write_text(pattern.sub(lambda _m: body, text), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="R1,R2,R3,R5,R6,R8,R9,R10")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--deadlines", type=int, default=300)
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--fuzz", type=int, default=1000, help="hypothesis examples per BPMN fuzz test (R5)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/RELIABILITY.md alone")
    args = parser.parse_args()
    C.quiet_logs()
    info = C.machine()
    runners = {"R1": r1, "R2": r2, "R3": r3}
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        print(f"\n== {name}")
        rows = runners[name](args) if name in runners else checked(name, args)
        if not args.no_write:
            rewrite(name, rows, info)


if __name__ == "__main__":
    main()
