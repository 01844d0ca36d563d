"""Every kind of BPMN timer fires by moving the clock: intermediate (in working days), start, cycle.

(Boundary timers, interrupting and not, are in test_instances.py.)  Each runs cached and through a
save/restore round trip, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from engine.workflow.models import AuditEvent, Timer
from tests.engine.conftest import CASEWORKER, VILLAGE, deploy


def _fired(services, case_id: int) -> int:
    with services.db.read() as s:
        return s.execute(select(func.count(AuditEvent.id)).where(
            AuditEvent.chain == f"case:{case_id}", AuditEvent.action == "timer.fired")).scalar()


def test_an_intermediate_timer_waits_three_working_days(services, engine, clock):
    deploy(engine, "intermediate_timer.bpmn")
    case = engine.start("intermediate_timer", actor=CASEWORKER, region_code=VILLAGE, data={})
    assert case.open_tasks == []
    assert engine.next_timer_due() == datetime(2026, 3, 5, 15, 59, 59, tzinfo=timezone.utc)  # Thu 23:59:59
    clock.set(datetime(2026, 3, 5, 15, 59, 58, tzinfo=timezone.utc))
    assert engine.fire_due_timers() == []
    clock.advance(1)  # exactly the due time fires
    assert [f.bpmn_id for f in engine.fire_due_timers()] == ["wait"]
    assert [t.bpmn_id for t in engine.instance(case.id, CASEWORKER).open_tasks] == ["work1"]


def test_a_timer_start_event_holds_the_case_until_its_date(services, engine, clock):
    deploy(engine, "start_timer.bpmn")
    case = engine.start("start_timer", actor=CASEWORKER, region_code=VILLAGE, data={})
    assert case.status == "active" and case.open_tasks == []
    clock.set(datetime(2026, 3, 9, 1, 0, 1, tzinfo=timezone.utc))  # 09:00:01 Shanghai
    assert [f.bpmn_id for f in engine.fire_due_timers()] == ["s2"]
    assert [t.bpmn_id for t in engine.instance(case.id, CASEWORKER).open_tasks] == ["work2"]


def test_a_cycle_timer_fires_three_times_once_each_and_then_stops(services, engine, clock):
    deploy(engine, "cycle_timer.bpmn")
    case = engine.start("cycle_timer", actor=CASEWORKER, region_code=VILLAGE, data={})
    for hour in (1, 2, 3):
        clock.advance(timedelta(hours=1, seconds=1))
        fired = engine.fire_due_timers()
        assert [f.bpmn_id for f in fired] == ["remind"], hour
        assert engine.fire_due_timers() == []  # never twice
    clock.advance(timedelta(hours=5))
    assert engine.fire_due_timers() == []
    assert _fired(services, case.id) == 3
    view = engine.instance(case.id, CASEWORKER)
    assert [t.bpmn_id for t in view.open_tasks] == ["work3"]
    with services.db.read() as s:
        assert s.execute(select(func.count(Timer.id)).where(Timer.status == "pending")).scalar() == 0
