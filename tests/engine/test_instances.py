"""A case runs end to end through the durable engine: tasks, gateway, service, script, timers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Conflict, NotAllowed, NotFound, TaskNotFound
from engine.workflow.models import AuditEvent, HumanTask, ProcessInstance, Timer
from tests.engine.conftest import APPROVER, CASEWORKER, DESIGNER, OTHER_TOWNSHIP, VILLAGE, deploy


def start(engine, **data):
    deploy(engine, "casework.bpmn")
    seed = {"people": ["a", "b"], "income": "0"}
    seed.update(data)
    return engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data=seed)


def actions(services, instance_id):
    with services.db.read() as s:
        return [e.action for e in s.execute(select(AuditEvent).where(
            AuditEvent.chain == f"case:{instance_id}").order_by(AuditEvent.seq)).scalars()]


def test_a_case_runs_through_script_gateway_service_and_approval(services, engine):
    case = start(engine)
    assert case.status == "active"
    assert case.data["members"] == 2 and case.data["size"] == "small"
    [task] = case.open_tasks
    assert (task.bpmn_id, task.form_key, task.candidate_group) == ("investigate", "test.investigation", "caseworker")
    assert task.region_code == VILLAGE
    # 3 working days after Monday 2026-03-02 is Thursday 03-05, 23:59:59 in Shanghai
    assert task.due_at.isoformat() == "2026-03-05T15:59:59+00:00"

    engine.claim(task.id, CASEWORKER)
    after = engine.complete(task.id, CASEWORKER, {"income": "400"})
    assert after.data["assessment"] == {"monthly_amount": "600"}
    [approval] = after.open_tasks
    assert approval.candidate_group == "approver"
    done = engine.complete(approval.id, APPROVER, {"approved": True})
    assert done.status == "completed"
    assert done.open_tasks == []
    assert actions(services, case.id) == [
        "instance.started", "task.claimed", "task.completed", "task.completed", "instance.completed"]


def test_income_at_or_over_the_line_takes_the_default_flow(engine):
    case = start(engine)
    done = engine.complete(case.open_tasks[0].id, CASEWORKER, {"income": "700"})
    assert done.status == "completed"
    assert "assessment" not in done.data


def test_non_interrupting_reminder_fires_once_and_the_task_stays(services, engine, clock):
    case = start(engine)
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert engine.fire_due_timers() == []
    clock.advance(2)
    fired = engine.fire_due_timers()
    assert [f.bpmn_id for f in fired] == ["remind"]
    assert engine.fire_due_timers() == []
    view = engine.instance(case.id, CASEWORKER)
    assert view.status == "active" and view.data["reminded"] is True
    assert [t.bpmn_id for t in view.open_tasks] == ["investigate"]
    assert actions(services, case.id).count("timer.fired") == 1


def test_interrupting_timer_cancels_the_task_and_ends_the_case(services, engine, clock):
    case = start(engine)
    clock.advance(timedelta(days=20, seconds=1))
    fired = engine.fire_due_timers()
    assert sorted(f.bpmn_id for f in fired) == ["expire", "remind"]
    view = engine.instance(case.id, CASEWORKER)
    assert view.status == "completed"
    with services.db.read() as s:
        status = s.execute(select(HumanTask.status).where(HumanTask.instance_id == case.id)).scalar()
        pending = s.execute(select(Timer).where(Timer.status == "pending")).all()
    assert status == "cancelled"
    assert pending == []


def test_completing_the_task_cancels_its_boundary_timers(services, engine):
    case = start(engine)
    engine.complete(case.open_tasks[0].id, CASEWORKER, {"income": "900"})
    with services.db.read() as s:
        statuses = sorted(s.execute(select(Timer.status).where(Timer.instance_id == case.id)).scalars())
    assert statuses == ["cancelled", "cancelled"]
    assert engine.next_timer_due() is None


def test_a_township_never_sees_another_townships_task(engine):
    case = start(engine)
    task = case.open_tasks[0]
    with pytest.raises(TaskNotFound):
        engine.claim(task.id, OTHER_TOWNSHIP)
    with pytest.raises(TaskNotFound):
        engine.complete(task.id, OTHER_TOWNSHIP, {"income": "1"})
    with pytest.raises(NotFound):
        engine.instance(case.id, OTHER_TOWNSHIP)


def test_a_task_for_another_role_is_refused(engine):
    case = start(engine)
    with pytest.raises(NotAllowed):
        engine.complete(case.open_tasks[0].id, APPROVER, {"income": "1"})


def test_the_second_claim_gets_a_conflict(engine):
    from engine.actors import Actor

    colleague = Actor("zhao", "caseworker", "370827101")
    task = start(engine).open_tasks[0]
    engine.claim(task.id, CASEWORKER)
    with pytest.raises(Conflict):
        engine.claim(task.id, colleague)
    with pytest.raises(Conflict):
        engine.complete(task.id, colleague, {"income": "1"})
    engine.unclaim(task.id, CASEWORKER)
    assert engine.claim(task.id, colleague).assignee == "zhao"


def test_delegation_hands_the_task_over(engine):
    task = start(engine).open_tasks[0]
    engine.claim(task.id, CASEWORKER)
    assert engine.delegate(task.id, CASEWORKER, "zhao").assignee == "zhao"
    with pytest.raises(Conflict):
        engine.complete(task.id, CASEWORKER, {"income": "1"})


def test_a_completed_task_cannot_be_completed_again(engine):
    task = start(engine).open_tasks[0]
    engine.complete(task.id, CASEWORKER, {"income": "900"})
    with pytest.raises(Conflict):
        engine.complete(task.id, CASEWORKER, {"income": "1"})


def test_saved_state_at_a_wait_point_is_small_and_holds_no_spec(services, engine):
    case = start(engine)
    with services.db.read() as s:
        row = s.get(ProcessInstance, case.id)
    assert len(row.state.encode()) < 16_000
    assert '"spec"' not in row.state[:200] and "task_specs" not in row.state
    assert row.serializer_version.startswith("spiff-1.5")


def test_a_service_task_opens_a_child_case_in_the_same_transaction(services, engine):
    deploy(engine, "sla.bpmn")
    deploy(engine, "parent.bpmn")
    parent = engine.start("parent", actor=CASEWORKER, region_code=VILLAGE, data={}, household_id=None)
    assert parent.status == "completed"
    child_id = parent.data["child"]["case_id"]
    child = engine.instance(child_id, CASEWORKER)
    assert child.process == "pay_first" and child.region_code == VILLAGE
    assert child.data["source"] == "discovery"
    with services.db.read() as s:
        assert s.get(ProcessInstance, child_id).parent_id == parent.id
    assert "case.started_child" in actions(services, parent.id)


def test_a_region_range_holds_exactly_the_codes_under_the_prefix(services):
    from sqlalchemy import literal, select as sql_select

    from engine.actors import within_region

    with services.db.read() as s:
        def inside(code, prefix):
            return s.execute(sql_select(within_region(literal(code), prefix))).scalar()
        assert inside("370827101201", "370827101") and inside("370827101", "370827101")
        assert not inside("370827102001", "370827101") and not inside("37082710", "370827101")
        assert inside("370827199999", "3708271") is True and inside("110101001001", "") is True
