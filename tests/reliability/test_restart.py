"""A real scheduler process dies before its timers are due; a new one fires each of them exactly once.

This is the one place the suite waits on the wall clock: ``jishijiu scheduler`` runs on the system
clock, so the timers are real 3-second timers and the test polls (with deadlines) while the processes
work.  The new scheduler must first wait for the dead leader's lease to expire; the test shortens the
lease (``JISHIJIU_SCHEDULER_LEASE_TTL=3``) and the sweep (``JISHIJIU_SCHEDULER_SWEEP_SECONDS=1``),
which production leaves at 30 s and 5 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import bootstrap
from engine.workflow.models import AuditEvent, HumanTask, Lease, Timer
from tests.engine.conftest import CASEWORKER, DESIGNER, VILLAGE
from tests.waiting import poll

PROJECT = Path(__file__).resolve().parents[2]
CASES = 5
TIMER_SECONDS = 3
PROPOSED_TTL, PROPOSED_SWEEP = 3, 1
# What the code does today (TimerScheduler's defaults), used only to size the deadlines.
# The scheduler reads both settings from the environment; the subprocesses get the values above.
CURRENT_TTL, CURRENT_SWEEP = PROPOSED_TTL, PROPOSED_SWEEP

WAIT_THEN_WORK = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_restart" targetNamespace="http://jishijiu.test/restart">
  <bpmn:process id="restart" name="Wait, then work" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_caseworker" name="乡镇经办">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="role" value="caseworker"/>
        </spiffworkflow:properties></bpmn:extensionElements>
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>follow_up</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="等待">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT{TIMER_SECONDS}S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="follow_up" name="回访">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="follow_up"/>
    <bpmn:sequenceFlow id="f3" sourceRef="follow_up" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def scheduler(url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "JISHIJIU_DATABASE_URL": url,
           "JISHIJIU_SCHEDULER_LEASE_TTL": str(PROPOSED_TTL),
           "JISHIJIU_SCHEDULER_SWEEP_SECONDS": str(PROPOSED_SWEEP)}
    return subprocess.Popen([sys.executable, "-m", "web.cli", "scheduler"], cwd=PROJECT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)



def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.mark.slow
def test_timers_due_while_the_scheduler_was_dead_fire_once_in_the_next_scheduler(database_url, tmp_path):
    svc = bootstrap.build({"DATABASE_URL": database_url})          # the system clock, like the CLI
    log = tmp_path / "scheduler.log"
    first = second = None

    def lease_holder() -> str | None:
        with svc.db.read() as session:
            lease = session.get(Lease, "scheduler")
            return lease.holder if lease and lease.expires_at > datetime.now(timezone.utc) else None

    def timers(status: str) -> int:
        with svc.db.read() as session:
            return session.execute(select(func.count()).select_from(Timer).where(Timer.status == status)).scalar()

    try:
        svc.engine.deploy(WAIT_THEN_WORK, "restart.bpmn", actor=DESIGNER)
        first = scheduler(database_url, log)
        holder = poll(lease_holder, within=60, what="the first scheduler holds the lease")
        assert f":{first.pid}:" in holder

        cases = [svc.engine.start("restart", actor=CASEWORKER, region_code=VILLAGE).id for _ in range(CASES)]
        first.send_signal(signal.SIGKILL)                          # dies before anything is due
        first.wait(timeout=15)
        with svc.db.read() as session:
            due = session.execute(select(Timer.due_at).where(Timer.status == "pending")).scalars().all()
        assert len(due) == CASES, "the timers must still be pending when the scheduler dies"
        last_due = max(due)

        poll(lambda: datetime.now(timezone.utc) > last_due + timedelta(milliseconds=200),
             within=TIMER_SECONDS + 10, what="every timer is due (nobody is running)")
        assert timers("pending") == CASES and timers("fired") == 0

        second = scheduler(database_url, log)
        poll(lambda: timers("fired") == CASES,
             within=CURRENT_TTL + 2 * CURRENT_SWEEP + 30,
             what=f"the new scheduler fired all {CASES} timers (log: {log.read_text()[-2000:]})")
        assert f":{second.pid}:" in lease_holder()

        with svc.db.read() as session:
            fired = dict(session.execute(select(AuditEvent.chain, func.count()).where(
                AuditEvent.action == "timer.fired").group_by(AuditEvent.chain)).all())
            follow_ups = session.execute(select(HumanTask.instance_id).where(
                HumanTask.bpmn_id == "follow_up", HumanTask.status == "open")).scalars().all()
        assert fired == {f"case:{case}": 1 for case in cases}
        assert sorted(follow_ups) == sorted(cases)
        assert timers("pending") == 0

        stop(second)                                               # a clean stop releases the lease
        assert second.returncode == 0, log.read_text()[-2000:]
        assert lease_holder() is None
    finally:
        for process in (first, second):
            if process is not None:
                stop(process, signal.SIGKILL)
        svc.close()
