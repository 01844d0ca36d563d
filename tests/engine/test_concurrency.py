"""Many people acting on one case at the same moment: exactly one wins, nobody's update is lost.

Runs on SQLite and PostgreSQL, with one engine object per thread (as separate processes would have)
and with one engine object shared by all threads.  The scenarios are functions with size
parameters: the quick sizes run here, ``tests/reliability/test_concurrency_soak.py`` runs them big.

On PostgreSQL two transactions can really overlap, so some scenarios force the overlap: a
:class:`Rendezvous` holds the first writer just before it inserts a row until the second writer
has reached the same point (SQLite's ``BEGIN IMMEDIATE`` already queues writers, so there it would
only wait for its timeout).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from sqlalchemy import event, func, select

from engine import bootstrap
from engine.actors import SYSTEM, Actor
from engine.errors import Conflict
from engine.workflow.models import AuditEvent, HumanTask, ProcessDefinition
from tests.engine.conftest import BPMN, DESIGNER, VILLAGE, _gap

QUICK_THREADS, QUICK_ROUNDS = 8, 25
COLLEAGUES = [Actor(f"cw{i:02d}", "caseworker", "370827101") for i in range(200)]


# --- helpers ----------------------------------------------------------------------------------------
class Engines:
    """``n`` services on one database: each its own (like processes) or one shared object."""

    def __init__(self, url: str, clock, n: int, *, shared: bool) -> None:
        def build():
            svc = bootstrap.build({"DATABASE_URL": url, "TESTING": True, "CLOCK": clock})
            svc.services.register("test.gap", _gap)
            return svc
        first = build()
        self.all = [first] * n if shared else [first] + [build() for _ in range(n - 1)]
        self.dialect = first.db.dialect

    def __getitem__(self, i: int):
        return self.all[i]

    def close(self) -> None:
        for svc in {id(s): s for s in self.all}.values():
            svc.close()


@dataclass
class Outcome:
    kind: str              # ok | conflict | error
    value: Any = None
    retries: int = 0


def race(n: int, work: Callable[[int], Any], *, retry_conflicts: int = 0) -> list[Outcome]:
    """Run ``work(i)`` in ``n`` threads released together; collect each result or exception."""
    start = threading.Barrier(n, timeout=60)
    outcomes: list[Outcome | None] = [None] * n

    def run(i: int) -> None:
        start.wait()
        retries = 0
        while True:
            try:
                outcomes[i] = Outcome("ok", work(i), retries)
                return
            except Conflict as exc:
                if retries < retry_conflicts:
                    retries += 1
                    continue
                outcomes[i] = Outcome("conflict", exc, retries)
                return
            except Exception as exc:  # noqa: BLE001 - every other failure is a finding
                outcomes[i] = Outcome("error", exc, retries)
                return

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return outcomes  # type: ignore[return-value]


def errors_of(outcomes: list[Outcome]) -> list[str]:
    return [f"racer {i}: {type(o.value).__module__}.{type(o.value).__name__}: {o.value}"
            for i, o in enumerate(outcomes) if o.kind == "error"]


class Rendezvous:
    """Hold the first thread that inserts a ``model`` row until a second thread does too (once).

    Both have then read the same state and are about to write: the overlap a race needs.  If the
    second never arrives (its database queues it behind the first) the first goes on after
    ``timeout`` seconds.
    """

    def __init__(self, model, timeout: float = 1.5) -> None:
        self.model = model
        self.barrier = threading.Barrier(2, timeout=timeout)
        self.met = False

    def _hook(self, mapper, connection, target) -> None:
        if self.met or not threading.current_thread().name.startswith("racer-"):
            return
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            pass
        self.met = True

    def __enter__(self):
        event.listen(self.model, "before_insert", self._hook)
        return self

    def __exit__(self, *exc):
        event.remove(self.model, "before_insert", self._hook)


def overlap(engines: Engines, model):
    return Rendezvous(model) if engines.dialect == "postgresql" else contextlib.nullcontext()


def audit_count(svc, instance_id: int, action: str, object_id: int | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.chain == f"case:{instance_id}", AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == str(object_id))
    with svc.db.read() as session:
        return session.execute(query).scalar()


def task_rows(svc, instance_id: int, bpmn_id: str) -> list[HumanTask]:
    with svc.db.read() as session:
        return list(session.execute(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id)).scalars())


def deploy_file(svc, name: str) -> None:
    svc.engine.deploy((BPMN / name).read_bytes(), name, actor=DESIGNER)


# --- the scenarios (sizes are parameters) -------------------------------------------------------------
@dataclass
class Tally:
    rounds: int = 0
    conflicts: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)


def claim_race(url: str, clock, *, threads: int, rounds: int, shared: bool) -> Tally:
    """``threads`` colleagues claim the same open task, ``rounds`` times: one wins each time."""
    engines = Engines(url, clock, threads, shared=shared)
    tally = Tally()
    try:
        deploy_file(engines[0], "casework.bpmn")
        cases = [engines[0].engine.start("casework", actor=COLLEAGUES[0], region_code=VILLAGE,
                                         data={"people": ["a"], "income": "0"}) for _ in range(rounds)]
        for case in cases:
            task_id = case.open_tasks[0].id
            outcomes = race(threads, lambda i: engines[i].engine.claim(task_id, COLLEAGUES[i]))
            tally.errors += errors_of(outcomes)
            winners = [i for i, o in enumerate(outcomes) if o.kind == "ok"]
            assert len(winners) == 1, f"{len(winners)} people claimed task {task_id}"
            assert sum(o.kind == "conflict" for o in outcomes) == threads - 1
            assert engines[0].engine.task(task_id, SYSTEM).assignee == COLLEAGUES[winners[0]].username
            assert audit_count(engines[0], case.id, "task.claimed", task_id) == 1
            tally.rounds += 1
            tally.conflicts += threads - 1
    finally:
        engines.close()
    return tally


def complete_race(url: str, clock, *, threads: int, rounds: int, shared: bool) -> Tally:
    """``threads`` colleagues complete the same unclaimed task: one completion, one next task."""
    engines = Engines(url, clock, threads, shared=shared)
    tally = Tally()
    try:
        deploy_file(engines[0], "casework.bpmn")
        cases = [engines[0].engine.start("casework", actor=COLLEAGUES[0], region_code=VILLAGE,
                                         data={"people": ["a", "b"], "income": "0"}) for _ in range(rounds)]
        for case in cases:
            task_id = case.open_tasks[0].id
            outcomes = race(threads, lambda i: engines[i].engine.complete(
                task_id, COLLEAGUES[i], {"income": str(100 + i)}))
            tally.errors += errors_of(outcomes)
            winners = [i for i, o in enumerate(outcomes) if o.kind == "ok"]
            assert len(winners) == 1, f"{len(winners)} people completed task {task_id}"
            assert audit_count(engines[0], case.id, "task.completed", task_id) == 1
            [approve] = task_rows(engines[0], case.id, "approve")
            assert approve.status == "open"
            view = engines[0].engine.instance(case.id, SYSTEM)
            income = str(100 + winners[0])
            assert view.data["assessment"] == {"monthly_amount": str((700 - int(income)) * 2)}
            [done] = task_rows(engines[0], case.id, "investigate")
            assert (done.status, done.completed_by) == ("completed", COLLEAGUES[winners[0]].username)
            tally.rounds += 1
            tally.conflicts += sum(o.kind == "conflict" for o in outcomes)
    finally:
        engines.close()
    return tally


def sibling_race(url: str, clock, *, rounds: int, shared: bool, action: str = "complete") -> Tally:
    """Two people finish (or claim) the two parallel checks of one case at the same moment."""
    engines = Engines(url, clock, 2, shared=shared)
    tally = Tally()
    try:
        deploy_file(engines[0], "parallel.bpmn")
        for r in range(rounds):
            case = engines[0].engine.start("parallel", actor=COLLEAGUES[0], region_code=VILLAGE)
            tasks = sorted(case.open_tasks, key=lambda t: t.bpmn_id)
            assert [t.bpmn_id for t in tasks] == ["check_housing", "check_income"]

            def work(i: int):
                if action == "claim":
                    return engines[i].engine.claim(tasks[i].id, COLLEAGUES[i])
                return engines[i].engine.complete(tasks[i].id, COLLEAGUES[i], {tasks[i].bpmn_id: "checked"})

            with overlap(engines, AuditEvent) if r == 0 else contextlib.nullcontext():
                outcomes = race(2, work, retry_conflicts=3)
            tally.errors += errors_of(outcomes)
            assert not errors_of(outcomes), errors_of(outcomes)
            assert [o.kind for o in outcomes] == ["ok", "ok"]
            tally.retries += sum(o.retries for o in outcomes)
            if action == "claim":
                assert [engines[0].engine.task(t.id, SYSTEM).assignee for t in tasks] == ["cw00", "cw01"]
            else:
                view = engines[0].engine.instance(case.id, SYSTEM)
                assert [t.bpmn_id for t in view.open_tasks] == ["decide"]
                assert len(task_rows(engines[0], case.id, "decide")) == 1
                assert view.data["check_income"] == view.data["check_housing"] == "checked"
                for t in tasks:
                    assert audit_count(engines[0], case.id, "task.completed", t.id) == 1
            tally.rounds += 1
    finally:
        engines.close()
    return tally


# --- the tests ------------------------------------------------------------------------------------
ENGINES = pytest.mark.parametrize("shared", [False, True], ids=["engine-per-thread", "shared-engine"])
@ENGINES
def test_of_many_people_claiming_one_task_exactly_one_wins_and_the_rest_get_conflict(database_url, clock, shared):
    tally = claim_race(database_url, clock, threads=QUICK_THREADS, rounds=QUICK_ROUNDS, shared=shared)
    assert tally.errors == []
    assert (tally.rounds, tally.conflicts) == (QUICK_ROUNDS, QUICK_ROUNDS * (QUICK_THREADS - 1))


@ENGINES
def test_of_many_people_completing_one_task_exactly_one_completion_is_recorded(database_url, clock, shared):
    tally = complete_race(database_url, clock, threads=QUICK_THREADS, rounds=QUICK_ROUNDS // 2, shared=shared)
    assert tally.errors == []
    assert tally.rounds == QUICK_ROUNDS // 2
    assert tally.conflicts == tally.rounds * (QUICK_THREADS - 1)


@ENGINES
def test_two_parallel_checks_finished_at_once_release_the_join_exactly_once(request, database_url, clock, shared):
    tally = sibling_race(database_url, clock, rounds=6, shared=shared)
    assert tally.errors == [] and tally.rounds == 6


@ENGINES
def test_two_parallel_checks_claimed_at_once_are_both_claimed(request, database_url, clock, shared):
    tally = sibling_race(database_url, clock, rounds=4, shared=shared, action="claim")
    assert tally.errors == [] and tally.rounds == 4


def test_sibling_completions_queue_on_the_case_row_so_nobody_loses(request, database_url, clock):
    """Forced overlap: the second writer waits for the first (row lock on PostgreSQL, BEGIN IMMEDIATE on
    SQLite), then reads the new state and succeeds; no update is lost and no retry is needed."""
    tally = sibling_race(database_url, clock, rounds=1, shared=False)
    assert tally.errors == []
    assert tally.retries == 0


def test_two_processes_deploying_the_same_new_file_at_once_make_one_version(request, database_url, clock):
    engines = Engines(database_url, clock, 2, shared=False)
    try:
        data = (BPMN / "casework.bpmn").read_bytes()
        with overlap(engines, ProcessDefinition):
            outcomes = race(2, lambda i: engines[i].engine.deploy(data, "casework.bpmn", actor=DESIGNER,
                                                                   skip_if_known=True))
        assert errors_of(outcomes) == []
        assert sorted(o.value.created for o in outcomes) == [False, True]
        assert {o.value.definition.version for o in outcomes} == {1}
    finally:
        engines.close()
