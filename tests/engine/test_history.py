"""The live task tree keeps what the running case needs; the history stays in the audit trail
(``engine.workflow.spiff.history``).  Long cases neither slow down step by step nor get lost past
SpiffWorkflow's 1,000-level iteration limit, and pruning changes nothing a case does."""

from __future__ import annotations

import json
from datetime import timedelta

from SpiffWorkflow.util.task import TaskState

from engine.workflow.models import ProcessInstance
from engine.workflow.spiff import history
from tests.engine.conftest import CASEWORKER, VILLAGE, deploy


def task_count(services, case_id: int) -> int:
    with services.db.read() as session:
        state = json.loads(session.get(ProcessInstance, case_id).state)
    return len(state["tasks"]) + sum(len(sub["tasks"]) for sub in state["subprocesses"].values())


def complete(engine, view, bpmn_id: str, data: dict):
    [task] = [t for t in view.open_tasks if t.bpmn_id == bpmn_id]
    return engine.complete(task.id, CASEWORKER, data)


def test_a_case_looping_300_times_runs_every_round_and_only_then_completes(services, engine):
    # four tasks a round: 300 rounds are 1,200 levels of history, past SpiffWorkflow's limit of
    # 1,000, where the unpruned tree lost its ready task and called the case completed at ~250
    deploy(engine, "long_loop.bpmn")
    view = engine.start("long_loop", actor=CASEWORKER, region_code=VILLAGE, data={"limit": 300})
    sizes = {}
    for done in range(1, 301):
        assert view.status == "active" and [t.bpmn_id for t in view.open_tasks] == ["step"], done
        view = engine.complete(view.open_tasks[0].id, CASEWORKER, {"note": f"第{done}次复核"})
        if done in (10, 299):
            sizes[done] = task_count(services, view.id)
    assert view.status == "completed"
    assert view.data["rounds"] == 300
    assert sizes[299] == sizes[10]          # the tree does not grow with the rounds


def drive_parallel_rounds(engine, clock, rounds: int, on_round=None) -> list:
    """Rounds of two parallel checks in varying orders, with reminders and timeouts; the trace of
    what the case showed after every operation."""
    view = engine.start("loop_parallel", actor=CASEWORKER, region_code=VILLAGE, data={"limit": rounds})
    trace = []

    def seen(view):
        trace.append((view.status, sorted(t.bpmn_id for t in view.open_tasks), view.data))
        return view

    for i in range(rounds):
        assert sorted(t.bpmn_id for t in view.open_tasks) == ["check_housing", "check_income"], i
        if on_round is not None:
            on_round(i, view)
        if i % 3 == 0:
            view = seen(complete(engine, view, "check_income", {"income": f"收入{i}"}))
            view = seen(complete(engine, view, "check_housing", {"housing": f"住房{i}"}))
        elif i % 3 == 1:
            view = seen(complete(engine, view, "check_housing", {"housing": f"住房{i}"}))
            clock.advance(timedelta(hours=3))         # the reminder of the next round must not be this one's
            assert engine.fire_due_timers() == []
            view = seen(complete(engine, view, "check_income", {"income": f"收入{i}"}))
        else:  # the reminder fires, income is done, then the housing check times out
            clock.advance(timedelta(hours=2, seconds=1))
            assert [f.bpmn_id for f in engine.fire_due_timers()] == ["remind"]
            view = seen(engine.instance(view.id, CASEWORKER))
            view = seen(complete(engine, view, "check_income", {"income": f"收入{i}"}))
            clock.advance(timedelta(days=1))
            assert [f.bpmn_id for f in engine.fire_due_timers()] == ["timeout"]
            view = seen(engine.instance(view.id, CASEWORKER))
    assert view.status == "completed"
    return trace


def test_a_parallel_split_in_a_loop_joins_only_when_both_checks_are_done(services, engine, clock):
    deploy(engine, "loop_parallel.bpmn")
    trace = drive_parallel_rounds(engine, clock, 24)
    final = trace[-1][2]
    assert final["rounds"] == 24     # the reminders fired where drive_parallel_rounds expected them
    assert final["history"] == [f"收入{i}/" + ("timeout" if i % 3 == 2 else f"住房{i}") for i in range(24)]


def second_round_after_housing(engine) -> dict:
    view = engine.start("loop_parallel", actor=CASEWORKER, region_code=VILLAGE, data={"limit": 5})
    view = complete(engine, view, "check_income", {"income": "收入0"})
    view = complete(engine, view, "check_housing", {"housing": "住房0"})
    view = complete(engine, view, "check_housing", {"housing": "住房1"})
    return {"rounds": view.data["rounds"], "open": sorted(t.bpmn_id for t in view.open_tasks)}


def test_without_pruning_spiffworkflow_joins_a_looped_parallel_split_too_early(services, engine, monkeypatch):
    """Why the pruning is a correctness matter, not only speed: SpiffWorkflow 3.2 counts the
    cancelled join task of the previous round (its parent, the income check, is completed) as an
    arrived input, so the second round's join fires on the housing check alone."""
    deploy(engine, "loop_parallel.bpmn")
    assert second_round_after_housing(engine) == {"rounds": 1, "open": ["check_income"]}
    with monkeypatch.context() as patch:
        patch.setattr(history, "prune", lambda workflow: 0)
        assert second_round_after_housing(engine) == {"rounds": 2, "open": ["check_housing", "check_income",
                                                                             "check_income"]}


def test_pruning_changes_nothing_a_sequential_loop_shows(services, engine, monkeypatch):
    """Where SpiffWorkflow gets it right unpruned, pruned and unpruned cases show the same tasks
    and data after every step."""
    deploy(engine, "long_loop.bpmn")

    def drive():
        view = engine.start("long_loop", actor=CASEWORKER, region_code=VILLAGE, data={"limit": 40})
        trace = []
        while view.open_tasks:
            view = engine.complete(view.open_tasks[0].id, CASEWORKER, {"note": f"第{len(trace)}次", "n": len(trace)})
            data = {k: v for k, v in view.data.items() if k != "case_id"}
            trace.append((view.status, [t.bpmn_id for t in view.open_tasks], data))
        return trace

    pruned = drive()
    with monkeypatch.context() as patch:
        patch.setattr(history, "prune", lambda workflow: 0)
        whole = drive()
    assert len(pruned) == 40 and pruned == whole


def test_a_parallel_loop_keeps_a_bounded_tree(services, engine, clock):
    deploy(engine, "loop_parallel.bpmn")
    counts = {}
    drive_parallel_rounds(engine, clock, 30, on_round=lambda i, view: counts.setdefault(i, task_count(services, view.id)))
    assert counts[3] == counts[15] == counts[27]   # the same phase of the cycle, 12 rounds apart


def test_pruning_keeps_live_tasks_their_parents_and_the_last_completed_task(services, engine):
    deploy(engine, "loop_parallel.bpmn")
    view = engine.start("loop_parallel", actor=CASEWORKER, region_code=VILLAGE, data={"limit": 5})
    view = complete(engine, view, "check_income", {"income": "收入"})
    with services.db.read() as session:
        row = session.get(ProcessInstance, view.id)
        parsed = engine.definitions.parsed(session, row.definition_id)
        workflow = engine.serializer.load(row.state, row.serializer_version, parsed.spec, parsed.subprocess_specs)
    assert history.prune(workflow) == 0                       # idempotent: the step already pruned
    live = [t for t in workflow.tasks.values() if not t.state & (TaskState.COMPLETED | TaskState.CANCELLED)]
    assert {t.task_spec.bpmn_id for t in live if t.task_spec.manual} == {"check_housing"}
    for task in live:
        assert task.parent is not None and task.parent.id in workflow.tasks
    assert workflow.last_task is not None and workflow.last_task.id in workflow.tasks
    assert workflow.task_tree.parent is None


def test_a_subprocess_in_a_loop_keeps_its_data_and_a_bounded_state(services, engine, clock):
    """Each round's embedded subprocess (with a reminder timer) finishes and is dropped with its
    round; its findings reach the parent, and the saved state stays the same size."""
    deploy(engine, "loop_subprocess.bpmn")
    view = engine.start("loop_subprocess", actor=CASEWORKER, region_code=VILLAGE, data={"limit": 30})
    counts = {}
    for i in range(30):
        assert [t.bpmn_id for t in view.open_tasks] == ["visit"], i
        counts[i] = task_count(services, view.id)
        if i % 2:
            clock.advance(timedelta(hours=2, seconds=1))
            assert [f.bpmn_id for f in engine.fire_due_timers()] == ["remind"]
            view = engine.instance(view.id, CASEWORKER)
            assert [t.bpmn_id for t in view.open_tasks] == ["visit"]   # non-interrupting
        view = complete(engine, view, "visit", {"finding": f"第{i}次走访"})
    assert view.status == "completed"
    assert view.data["rounds"] == 30
    assert view.data["seen"] == [f"第{i}次走访" for i in range(30)]
    assert counts[4] == counts[16] == counts[28]
    with services.db.read() as session:
        state = json.loads(session.get(ProcessInstance, view.id).state)
    assert len(state["subprocesses"]) <= 1                   # finished rounds' subprocesses are gone
