"""Statutory clocks: 80 % warning, breach → township, breach + ½ → county, late payment, 停表."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.workflow import sla
from engine.workflow.models import AuditEvent
from tests.engine.conftest import CASEWORKER, VILLAGE, deploy


def start(engine, urgency="urgent"):
    deploy(engine, "sla.bpmn")
    return engine.start("pay_first", actor=CASEWORKER, region_code=VILLAGE, data={"urgency": urgency})


def audit_actions(services, case_id):
    with services.db.read() as s:
        return [e.action for e in s.execute(select(AuditEvent).where(
            AuditEvent.chain == f"case:{case_id}").order_by(AuditEvent.seq)).scalars()]


def test_scenario_6_a_24h_payment_warns_breaches_and_is_recorded_late(services, engine, clock):
    case = start(engine)  # Monday 10:00 Shanghai
    clock.advance(timedelta(hours=19, minutes=11))
    assert engine.check_slas() == []
    clock.advance(timedelta(minutes=1))  # Tuesday 05:12 — 80 % of 24 h
    assert [e.kind for e in engine.check_slas()] == ["warning"]
    assert engine.check_slas() == []  # idempotent
    clock.advance(timedelta(hours=4, minutes=48))  # Tuesday 10:00 — breach
    assert [e.kind for e in engine.check_slas()] == ["breach"]
    view = engine.instance(case.id, CASEWORKER)
    assert view.overdue is True
    assert view.data.get("breach_noted") is True  # the breach reached the BPMN boundary event
    assert [(e["level"], e["to_role"], e["to_region"]) for e in engine.escalations(case.id, CASEWORKER)] == [
        (1, "supervisor", VILLAGE[:9])]
    clock.advance(timedelta(hours=5))  # Tuesday 15:00 — paid, 29 h after the report
    done = engine.complete(view.open_tasks[0].id, CASEWORKER, {"amount": "2000"})
    assert done.status == "completed"
    assert done.overdue is True  # overdue for good
    clock.advance(timedelta(hours=12))  # past breach + half the span
    assert engine.check_slas() == []  # level 2 never fires
    with services.db.read() as s:
        [c] = sla.clocks_of(s, case.id)
        assert c.status == "met_late"
    assert len(engine.escalations(case.id, CASEWORKER)) == 1
    actions = audit_actions(services, case.id)
    assert actions.count("sla.warning") == 1 and actions.count("sla.escalated") == 1


def test_breach_is_delivered_into_the_workflow_as_a_message(services, engine, clock):
    case = start(engine)
    assert engine.waiting_messages(case.id) == {"sla_breach"}
    clock.advance(timedelta(hours=24, seconds=1))
    engine.check_slas()
    assert engine.waiting_messages(case.id) == set()  # caught once, not re-armed
    view = engine.instance(case.id, CASEWORKER)
    assert view.data["breach_noted"] is True
    assert view.status == "active" and [t.bpmn_id for t in view.open_tasks] == ["pay"]


def test_unattended_breach_escalates_to_the_county_at_one_and_a_half_spans(engine, clock):
    case = start(engine)
    clock.advance(timedelta(hours=36, seconds=1))
    kinds = [e.kind for e in engine.check_slas()]
    assert kinds == ["warning", "breach", "escalated"]
    levels = [(e["level"], e["to_region"]) for e in engine.escalations(case.id, CASEWORKER)]
    assert levels == [(1, VILLAGE[:9]), (2, VILLAGE[:6])]


def test_pausing_the_clock_moves_every_deadline_by_the_paused_span(services, engine, clock):
    case = start(engine)
    clock.advance(timedelta(hours=10))
    engine.pause_clock(case.id, CASEWORKER, reason="等待家庭补交材料")
    clock.advance(timedelta(hours=48))
    assert engine.check_slas() == []
    engine.resume_clock(case.id, CASEWORKER)
    with services.db.read() as s:
        [c] = sla.clocks_of(s, case.id)
        assert c.due_at == c.started_at + timedelta(hours=24 + 48)
    clock.advance(timedelta(hours=14, seconds=1))
    assert [e.kind for e in engine.check_slas()] == ["warning", "breach"]
    actions = audit_actions(services, case.id)
    assert "sla.paused" in actions and "sla.resumed" in actions


def test_especially_urgent_cases_get_a_2h_clock_from_the_task_data(engine, clock):
    case = start(engine, urgency="especially_urgent")
    assert case.open_tasks[0].due_at == case.created_at + timedelta(hours=2)
    clock.advance(timedelta(hours=2, seconds=1))
    assert [e.kind for e in engine.check_slas()] == ["warning", "breach"]
    clock.advance(timedelta(hours=1))  # level 2 at 3 h
    assert [e.kind for e in engine.check_slas()] == ["escalated"]
