"""A small, known dataset for the dashboard and escalation tests, made through the engine.

On top of the pages' world (two ``casework`` cases waiting at 入户调查, due Thursday 2026-03-05, in
townships 370827101 and 370827102) it starts three ``emergency`` cases whose 先行发放救助金 task has a
24-hour statutory clock, pays, decides, lets clocks breach and escalate, and ends on Tuesday
2026-03-10 10:00 in Shanghai.  What every figure must then say is in :data:`COUNTY` and
:data:`TOWNSHIP`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from engine import accounts
from engine.actors import Actor
from engine.casework import funds, payments, records
from engine.casework.types import Assessment
from tests.web.pages.conftest import OTHER_VILLAGE, PASSWORD, VILLAGE, actor_of

SLA_BPMN = Path(__file__).parents[2] / "engine" / "bpmn" / "sla.bpmn"
#: The test process with a 24-hour clock, deployed under the process key of emergency relief.
EMERGENCY_BPMN = SLA_BPMN.read_bytes().replace(b'id="pay_first"', b'id="emergency"').replace(
    'name="先行救助测试"'.encode(), 'name="急难救助"'.encode())
END = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Shanghai
TOWNSHIP_SUPERVISOR = ("xiang", "supervisor", "370827101", "乡镇督导")
OTHER_SUPERVISOR = ("xiang2", "supervisor", "370827102", "二乡督导")


@dataclass
class Seeded:
    e1: int  # township 101: paid after 3 hours, clock met on time
    e2: int  # township 102: paid after 1 hour, task never done: breached, level 2, overdue now
    e3: int  # township 101: not paid, done late (met_late), escalated once
    funds: dict[str, int]


def add_user(svc, username: str, role: str, region: str, name: str) -> None:
    with svc.db.write() as db:
        accounts.create_user(db, username=username, password=PASSWORD, role=role, region=region,
                             now=svc.clock.now(), display_name=name)


def _fund(db, code: str, kind: str, region: str, name: str, amount: str, at) -> int:
    fund = funds.create_fund(db, code=code, kind=kind, region_code=region, name=name)
    funds.post(db, fund, "allocation", Decimal(amount), at=at, actor="root")
    return fund.id


def _pay(svc, case_id: int, fund_code: str, amount: str, programme: str, key: str) -> None:
    with svc.db.write() as db:
        fund = db.query(funds.Fund).filter_by(code=fund_code).one()
        payments.pay(db, key=f"case:{case_id}:{key}", instance_id=case_id, household_id=None, fund=fund,
                     amount=amount, purpose="test", programme=programme, at=svc.clock.now(), actor="zhang")


def _decide(svc, case_id: int, household_id, programme: str, decision: str, monthly: str | None = None) -> None:
    with svc.db.write() as db:
        now = svc.clock.now()
        payments.record_decision(db, instance_id=case_id, household_id=household_id, programme=programme,
                                 decision=decision, at=now, actor="wang", decided_on=now.date(),
                                 monthly_amount=monthly)


def seed(world, clock) -> Seeded:
    svc = world.services
    for user in (TOWNSHIP_SUPERVISOR, OTHER_SUPERVISOR):
        add_user(svc, *user)
    svc.engine.deploy(EMERGENCY_BPMN, "emergency.bpmn", actor=actor_of("design"))
    start = clock.now()
    with svc.db.write() as db:
        ids = {code: _fund(db, code, kind, region, name, amount, start) for code, kind, region, name, amount in (
            ("T101", "township_reserve", "370827101", "一乡临时救助备用金", "5000"),
            ("T102", "township_reserve", "370827102", "二乡临时救助备用金", "3000"),
            ("C370827", "county_relief", "370827", "县级救助资金", "20000"))}
    zhang, li = actor_of("zhang"), actor_of("li")
    e1 = svc.engine.start("emergency", actor=zhang, region_code=VILLAGE, data={"urgency": "urgent"})
    e2 = svc.engine.start("emergency", actor=li, region_code=OTHER_VILLAGE, data={"urgency": "urgent"})
    e3 = svc.engine.start("emergency", actor=zhang, region_code=VILLAGE, data={"urgency": "urgent"})

    clock.advance(timedelta(hours=1))
    _pay(svc, e2.id, "T102", "500", "linshi", "pay")
    clock.advance(timedelta(hours=2))
    _pay(svc, e1.id, "T101", "1000", "linshi", "pay")
    svc.engine.complete(e1.open_tasks[0].id, zhang, {})  # within 24 hours: met

    clock.set(start + timedelta(hours=25))
    svc.run_due()  # e2 and e3 breach: level 1 to their townships
    svc.engine.complete(e3.open_tasks[0].id, zhang, {})  # met late
    clock.set(start + timedelta(hours=37))
    svc.run_due()  # e2: level 2 to the county (breach + half of 24 hours)

    # monthly benefits: dibao for both households (one with its assessment), tekun given and stopped
    with svc.db.write() as db:
        if world.household_id is not None:
            records.record_assessment(
                db, household_id=world.household_id, instance_id=world.case_id, as_of=svc.clock.now().date(),
                assessment=Assessment(programme="dibao", eligible=True, rule_version="test",
                                      monthly_amount=Decimal("1400"), covered_members=(0, 1)),
                actor=zhang, now=svc.clock.now())
    _decide(svc, world.case_id, world.household_id, "dibao", "approved", "1400")
    _decide(svc, world.other_case_id, None, "dibao", "approved", "700")
    _decide(svc, e3.id, None, "tekun", "approved", "900")
    _decide(svc, e3.id, None, "tekun", "stop")

    clock.set(END)
    _pay(svc, world.case_id, "C370827", "1400", "dibao", "dibao:2026-03")
    return Seeded(e1.id, e2.id, e3.id, ids)


#: What the county (370827) must see at END.
COUNTY = {
    "processes": {"casework": dict(active=2, overdue=0, completed=0, total=2),
                  "emergency": dict(active=1, overdue=1, completed=2, total=3)},
    "stages": {"casework:investigate": (2, 2), "emergency:pay": (1, 1)},
    "sla": dict(met=1, late=1, running=1, overdue_now=1, paused=0),
    # investigate due Thu 03-05 → Tue 03-10: 3 working days; pay due Tue 03-03 10:00 → 5
    "heat": {("370827101", "casework:investigate"): (3, 1), ("370827102", "casework:investigate"): (3, 1),
             ("370827102", "emergency:pay"): (5, 1)},
    "heat_rows": ["370827101", "370827102"],
    "funds": {"T101", "T102", "C370827"},
    "coverage": {"dibao": dict(households=2, people=2, unknown=1, monthly="2100.00")},
    "payments": {("2026-03", "linshi"): "1500.00", ("2026-03", "dibao"): "1400.00"},
    "payments_total": "2900.00",
    "emergency": dict(cases=3, paid=2, average=7200, within_2h=1, within_24h=2),
}

#: What township 370827101 must see at END (nothing of 370827102).
TOWNSHIP = {
    "processes": {"casework": dict(active=1, overdue=0, completed=0, total=1),
                  "emergency": dict(active=0, overdue=0, completed=2, total=2)},
    "stages": {"casework:investigate": (1, 1)},
    "sla": dict(met=1, late=1, running=0, overdue_now=0, paused=0),
    "heat": {("370827101201", "casework:investigate"): (3, 1)},
    "heat_rows": ["370827101201"],
    "funds": {"T101", "C370827"},
    "coverage": {"dibao": dict(households=1, people=2, unknown=0, monthly="1400.00")},
    "payments": {("2026-03", "linshi"): "1000.00", ("2026-03", "dibao"): "1400.00"},
    "payments_total": "2400.00",
    "emergency": dict(cases=2, paid=1, average=10800, within_2h=0, within_24h=1),
}


def supervisor_actor(user=TOWNSHIP_SUPERVISOR) -> Actor:
    return Actor(user[0], user[1], user[2])
