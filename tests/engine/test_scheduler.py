"""One scheduler leads; due timers fire once — also when two sweep at once or the system was down.

Time is moved with the FakeClock; nothing here sleeps.  The real-process restart test is
``tests/reliability/test_restart.py``.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from engine.actors import SYSTEM
from engine.workflow.models import AuditEvent, Lease, Timer
from engine.workflow.scheduler import LeaderLease, TimerScheduler
from tests.engine.conftest import BPMN, CASEWORKER, DESIGNER, VILLAGE
from tests.engine.test_concurrency import Engines, Rendezvous, errors_of, race

SEED = {"people": ["a", "b"], "income": "0"}
REMINDER_DUE = timedelta(hours=2, seconds=1)


@pytest.fixture
def pair(database_url, clock):
    """Two separate engine processes (as two scheduler hosts would be) on one database."""
    engines = Engines(database_url, clock, 2, shared=False)
    yield engines
    engines.close()


def start_cases(svc, n: int) -> list[int]:
    svc.engine.deploy((BPMN / "casework.bpmn").read_bytes(), "casework.bpmn", actor=DESIGNER)
    return [svc.engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data=SEED).id for _ in range(n)]


def fired_events(svc) -> dict[int, int]:
    """case id -> number of timer.fired audit events."""
    with svc.db.read() as session:
        rows = session.execute(select(AuditEvent.chain, func.count()).where(AuditEvent.action == "timer.fired")
                               .group_by(AuditEvent.chain)).all()
    return {int(chain.split(":")[1]): n for chain, n in rows}


def pending_timers(svc) -> list[tuple[int, str]]:
    with svc.db.read() as session:
        return sorted(session.execute(select(Timer.instance_id, Timer.bpmn_id).where(Timer.status == "pending")).all())


def expire(svc, name: str = "scheduler") -> None:
    """What 30 seconds without renewal do to a lease row (the leader process died)."""
    with svc.db.write() as session:
        session.execute(update(Lease).where(Lease.name == name)
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))


# --- the leader lease -----------------------------------------------------------------------------------
def test_of_two_leases_on_one_database_only_one_is_acquired(pair):
    first, second = LeaderLease(pair[0].db, pair[0].clock), LeaderLease(pair[1].db, pair[1].clock)
    assert first.acquire() is True
    assert second.acquire() is False
    assert first.acquire() is True, "the leader renews its own lease"
    assert second.acquire() is False


def test_when_the_leaders_lease_expires_the_other_takes_over(pair):
    first, second = LeaderLease(pair[0].db, pair[0].clock), LeaderLease(pair[1].db, pair[1].clock)
    assert first.acquire()
    expire(pair[0])
    assert second.acquire() is True
    assert first.acquire() is False, "the old leader must step back"
    with pair[0].db.read() as session:
        assert session.get(Lease, "scheduler").holder == second.holder


def test_a_released_lease_is_taken_over_at_once(pair):
    first, second = LeaderLease(pair[0].db, pair[0].clock), LeaderLease(pair[1].db, pair[1].clock)
    assert first.acquire()
    first.release()
    assert second.acquire() is True


def test_two_leases_racing_for_an_empty_table_make_exactly_one_leader(pair):
    leases = [LeaderLease(pair[i].db, pair[i].clock) for i in range(2)]
    outcomes = race(2, lambda i: leases[i].acquire())
    assert errors_of(outcomes) == []
    assert sorted(o.value for o in outcomes) == [False, True]


def test_a_lease_is_wall_clock_time_so_moving_the_engine_clock_keeps_the_leader(pair, clock):
    first, second = LeaderLease(pair[0].db, clock), LeaderLease(pair[1].db, clock)
    assert first.acquire()
    clock.advance(timedelta(days=7))  # the TESTING clock jumps; the leader process is still alive
    assert second.acquire() is False


# --- sweeping -------------------------------------------------------------------------------------------
def test_due_timers_fire_once_when_two_schedulers_sweep_at_the_same_moment(pair, clock):
    cases = start_cases(pair[0], 6)
    schedulers = [TimerScheduler(pair[i]) for i in range(2)]
    clock.advance(REMINDER_DUE)

    outcomes = race(2, lambda i: schedulers[i].sweep())
    assert errors_of(outcomes) == []
    assert sorted(o.value for o in outcomes) == [0, 6], "the leader fires all six, the other none"
    assert fired_events(pair[0]) == {case: 1 for case in cases}
    assert [schedulers[i].sweep() for i in range(2)] == [0, 0]
    assert fired_events(pair[0]) == {case: 1 for case in cases}
    assert [b for _, b in pending_timers(pair[0])] == ["expire"] * 6


def test_two_workers_that_both_believe_they_lead_still_fire_each_timer_once(pair, clock):
    """Split brain (e.g. a paused leader whose lease expired): the timer row and version check decide."""
    cases = start_cases(pair[0], 4)
    clock.advance(REMINDER_DUE)
    with (Rendezvous(AuditEvent) if pair.dialect == "postgresql" else nullcontext()):
        outcomes = race(2, lambda i: pair[i].engine.fire_due_timers())
    assert errors_of(outcomes) == []
    assert sum(len(o.value) for o in outcomes) == 4
    assert fired_events(pair[0]) == {case: 1 for case in cases}


def test_a_timer_firing_while_a_caseworker_completes_the_task_never_breaks_the_sweep(request, pair, clock,
                                                                                     database_url):
    [case] = start_cases(pair[0], 1)
    task_id = pair[0].engine.instance(case, SYSTEM).open_tasks[0].id
    clock.advance(REMINDER_DUE)

    def work(i: int):
        if i == 0:
            return pair[0].engine.fire_due_timers()
        return pair[1].engine.complete(task_id, CASEWORKER, {"income": "900"})

    with (Rendezvous(AuditEvent) if pair.dialect == "postgresql" else nullcontext()):
        outcomes = race(2, work)
    assert errors_of(outcomes) == []
    # whichever came second either saw the new state or lost with Conflict; retrying settles it
    pair[0].engine.fire_due_timers()
    view = pair[0].engine.instance(case, SYSTEM)
    assert view.status == "completed" or [t.bpmn_id for t in view.open_tasks] == ["investigate"]
    assert fired_events(pair[0]).get(case, 0) <= 1


def test_a_timer_that_fell_due_while_the_system_was_down_fires_once_on_the_first_sweep(pair, clock):
    cases = start_cases(pair[0], 3)
    clock.advance(timedelta(days=1))           # nobody sweeps for a day: the 2-hour reminders are late
    scheduler = TimerScheduler(pair[1])        # a new process comes up
    assert scheduler.sweep() == 3
    assert scheduler.sweep() == 0
    assert fired_events(pair[0]) == {case: 1 for case in cases}
    with pair[0].db.read() as session:
        late = session.execute(select(AuditEvent.after).where(AuditEvent.action == "timer.fired")).scalars().all()
    assert {round(a["late_seconds"]) for a in late} == {22 * 3600}


def test_a_timer_long_overdue_fires_its_interrupting_deadline_and_ends_the_case_once(pair, clock):
    [case] = start_cases(pair[0], 1)
    clock.advance(timedelta(days=30))
    scheduler = TimerScheduler(pair[1])
    assert scheduler.sweep() == 2                # the reminder and the 20-day deadline
    assert pair[0].engine.instance(case, SYSTEM).status == "completed"
    assert scheduler.sweep() == 0
    assert fired_events(pair[0]) == {case: 2}
    assert pending_timers(pair[0]) == []


def test_a_sweep_before_anything_is_due_fires_nothing_and_keeps_the_timers(pair, clock):
    start_cases(pair[0], 2)
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert TimerScheduler(pair[1]).sweep() == 0
    assert len(pending_timers(pair[0])) == 4


def test_the_follower_never_fires_even_when_timers_are_due(pair, clock):
    start_cases(pair[0], 2)
    leader, follower = TimerScheduler(pair[0]), TimerScheduler(pair[1])
    assert leader.lease.acquire()
    clock.advance(REMINDER_DUE)
    assert follower.sweep() == 0
    assert len(pending_timers(pair[0])) == 4
    assert leader.sweep() == 2


def test_two_contenders_for_an_expired_lease_make_exactly_one_leader(pair):
    dead = LeaderLease(pair[0].db, pair[0].clock)
    assert dead.acquire()
    expire(pair[0])
    contenders = [LeaderLease(pair[i].db, pair[i].clock) for i in range(2)]
    outcomes = race(2, lambda i: contenders[i].acquire())
    assert errors_of(outcomes) == []
    assert sorted(o.value for o in outcomes) == [False, True]


# --- a timer whose path fails ---------------------------------------------------------------------------
FAILING_REMINDER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_failing" targetNamespace="http://jishijiu.test/failing">
  <bpmn:process id="failing" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane" name="caseworker">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>work</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>remind</bpmn:flowNodeRef><bpmn:flowNodeRef>count</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef><bpmn:flowNodeRef>end_reminded</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="count"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>per_member = total / members</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_reminded"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="count"/>
    <bpmn:sequenceFlow id="f4" sourceRef="count" targetRef="end_reminded"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_timers_whose_path_fails_do_not_starve_the_timers_of_other_cases(pair, clock):
    engine = pair[0].engine
    engine.deploy(FAILING_REMINDER, "failing.bpmn", actor=DESIGNER)
    failing = [engine.start("failing", actor=CASEWORKER, region_code=VILLAGE, data={"total": 10, "members": 0}).id
               for _ in range(2)]
    [healthy] = start_cases(pair[0], 1)
    clock.advance(REMINDER_DUE)
    for _ in range(3):                                     # three sweeps of at most two cases each
        engine.fire_due_timers(limit=2)
    assert fired_events(pair[0]).get(healthy) == 1
    assert {engine.instance(case, SYSTEM).status for case in failing} == {"error"}


def test_in_one_batch_a_failing_case_is_rolled_back_alone_and_every_audit_chain_stays_whole(pair, clock):
    """fire_due_timers steps a batch of cases in one transaction, each in a savepoint: the cases
    before and after a failing one fire once, the failing one keeps its state, and the audit chains
    (heads read for the whole batch, forgotten when a savepoint rolls back) verify."""
    from engine.workflow import audit

    svc = pair[0]
    engine = svc.engine
    engine.deploy(FAILING_REMINDER, "failing.bpmn", actor=DESIGNER)
    [first] = start_cases(svc, 1)
    failing = engine.start("failing", actor=CASEWORKER, region_code=VILLAGE, data={"total": 10, "members": 0}).id
    [last] = start_cases(svc, 1)
    engine._cache.clear()                     # as after a restart: every case restored from its state
    clock.advance(REMINDER_DUE)
    fired = engine.fire_due_timers()
    assert sorted(f.instance_id for f in fired) == [first, last]
    assert fired_events(svc) == {first: 1, last: 1}
    assert engine.instance(failing, SYSTEM).status == "error"
    assert pending_timers(svc) == sorted([(failing, "remind"), (first, "expire"), (last, "expire")])
    with svc.db.read() as session:
        report = audit.verify(session)
    assert report.ok, report.problems
    assert engine.fire_due_timers() == []


def test_a_case_whose_timer_path_fails_is_marked_failed_keeps_its_state_and_can_be_retried(pair, clock):
    engine = pair[0].engine
    engine.deploy(FAILING_REMINDER, "failing.bpmn", actor=DESIGNER)
    case = engine.start("failing", actor=CASEWORKER, region_code=VILLAGE, data={"total": 10, "members": 0})
    clock.advance(REMINDER_DUE)
    assert engine.fire_due_timers() == []
    assert pending_timers(pair[0]) == [(case.id, "remind")]
    after = engine.instance(case.id, SYSTEM)
    assert after.status == "error"
    assert [t.bpmn_id for t in after.open_tasks] == ["work"]
    assert engine.fire_due_timers() == []  # a failed case is not retried on every sweep
    with pytest.raises(Exception):
        engine.retry_case(case.id, SYSTEM)  # the cause is still there: it fails again
    assert engine.instance(case.id, SYSTEM).status == "error"


