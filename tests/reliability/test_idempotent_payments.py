"""R10: every way money leaves a fund, called twice with the same idempotency key, pays once.

Paths: ``payments.pay`` itself; the service operations ``payment.pay`` and ``payment.schedule`` as a
process step calls them (a replayed step runs the operation again in the same case and element); the
whole pay step completed twice; and two writers paying under one key at the same moment.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.casework import funds, payments
from engine.errors import Conflict
from engine.workflow.models import ProcessInstance
from engine.workflow.views import StepContext
from tests.processes.conftest import ADMIN, YUTAI_VILLAGE, _seed, caseworker, create_household, start, widow


@pytest.fixture
def services(database_url, clock):
    """The processes' world (one variant: the save/restore round trip is not what is tested here)."""
    from engine import bootstrap

    svc = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock})
    bootstrap.deploy_processes(svc)
    _seed(svc)
    yield svc
    svc.close()


def township_fund(s) -> funds.Fund:
    return funds.resolve(s, "township_reserve", YUTAI_VILLAGE)


def book(services) -> dict:
    with services.db.read() as s:
        fund = township_fund(s)
        return {"balance": fund.balance,
                "entries": s.execute(select(func.count()).select_from(funds.FundEntry).where(
                    funds.FundEntry.fund_id == fund.id, funds.FundEntry.kind == "payment")).scalar(),
                "payments": s.execute(select(func.count()).select_from(payments.Payment)).scalar()}


def paid_case(services):
    cw = caseworker(YUTAI_VILLAGE)
    household_id = create_household(services, widow())
    case = start(services, "emergency", household_id, YUTAI_VILLAGE,
                 {"urgency": "urgent", "relief_type": "emergency", "requested_amount": "2000"}, actor=cw)
    case.complete("accept", cw, {"accepted": True, "cause": "death"})
    return case, cw


def replay(services, case_id: int, operation: str, element: str, params: dict) -> dict:
    """Run a registered operation as the step of ``element`` in case ``case_id`` would."""
    with services.db.write() as s:
        ctx = StepContext(s, s.get(ProcessInstance, case_id), ADMIN, services.clock.now(), "replay")
        ctx.element_id = element
        return services.services.get(operation)(params, {}, ctx)


def check_payments_pay_twice_with_one_key_pays_once(services):
    case, _ = paid_case(services)
    before = book(services)
    results = []
    for _ in range(2):
        with services.db.write() as s:
            results.append(payments.pay(s, key="r10:direct", instance_id=case.id, household_id=None,
                                        fund=township_fund(s), amount="123.45", purpose="r10", programme="linshi",
                                        at=services.clock.now(), actor="r10")[1])
    assert results == [True, False]
    after = book(services)
    assert after == {"balance": before["balance"] - Decimal("123.45"), "entries": before["entries"] + 1,
                     "payments": before["payments"] + 1}


def check_a_replayed_pay_step_finds_its_payment_and_pays_nothing(services):
    case, cw = paid_case(services)
    case.complete("pay_first", cw)
    before = book(services)
    [paid] = case.payment_views()
    again = replay(services, case.id, "payment.pay", "pay_township",
                   {"amount": "2000", "fund": "township_reserve", "key": "township"})
    assert again["idempotency_key"] == paid.idempotency_key and again["payment_id"] == paid.id
    assert book(services) == before
    assert [a for a, _ in case.audit()].count("payment.paid") == 1


def check_completing_the_pay_task_twice_pays_once(services):
    case, cw = paid_case(services)
    task_id = case.task("pay_first").id
    case.complete("pay_first", cw)
    before = book(services)
    with pytest.raises(Conflict):
        services.engine.complete(task_id, cw, {})
    assert book(services) == before and len(case.payment_views()) == 1


def check_a_replayed_schedule_step_schedules_once(services):
    case, _ = paid_case(services)
    params = {"programme": "dibao", "monthly_amount": "700", "from_month": "2026-04"}
    first = replay(services, case.id, "payment.schedule", "schedule", params)
    second = replay(services, case.id, "payment.schedule", "schedule", params)
    assert first == second
    with services.db.read() as s:
        assert s.execute(select(func.count()).select_from(payments.Payment).where(
            payments.Payment.status == "scheduled")).scalar() == 1


def test_every_payment_path_called_twice_with_one_key_pays_once(services):
    """One world for the four sequential paths (setting up the processes dominates the run time)."""
    check_payments_pay_twice_with_one_key_pays_once(services)
    check_a_replayed_pay_step_finds_its_payment_and_pays_nothing(services)
    check_completing_the_pay_task_twice_pays_once(services)
    check_a_replayed_schedule_step_schedules_once(services)


def test_two_writers_paying_under_one_key_at_once_pay_once(services):
    case, _ = paid_case(services)
    before = book(services)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def pay():
        try:
            barrier.wait(timeout=30)
            with services.db.write() as s:
                outcomes.append(payments.pay(s, key="r10:race", instance_id=case.id, household_id=None,
                                             fund=township_fund(s), amount="50", purpose="r10",
                                             programme="linshi", at=services.clock.now(), actor="r10")[1])
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(map(str, outcomes)) in (["False", "True"], ["True", "conflict"])
    assert book(services) == {"balance": before["balance"] - Decimal("50"), "entries": before["entries"] + 1,
                              "payments": before["payments"] + 1}
