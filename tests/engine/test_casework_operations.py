"""Engine-level operations: decisions, payments that never double, funds that never go negative."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine import bootstrap
from engine.casework import funds, payments, referrals
from engine.errors import Conflict, NotAllowed, ValidationError
from engine.workflow.engine import StepContext
from engine.workflow.models import AuditEvent, ProcessInstance
from tests.engine.conftest import CASEWORKER, DESIGNER, VILLAGE, deploy


def _case(engine):
    deploy(engine, "casework.bpmn")
    return engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data={"people": [1], "income": "0"})


def _fund(services, kind="township_reserve", region=VILLAGE[:9], amount="3000"):
    with services.db.write() as s:
        fund = funds.create_fund(s, code=f"{kind}-{region}", kind=kind, region_code=region, name="备用金")
        funds.post(s, fund, "allocation", Decimal(amount), at=services.clock.now(), actor="test")
        return fund.id


def _call(services, instance_id, name, params, element="pay_task"):
    with services.db.write() as s:
        ctx = StepContext(s, s.get(ProcessInstance, instance_id), CASEWORKER, services.clock.now())
        ctx.element_id = element
        return services.services.get(name)(params, {}, ctx)


def test_a_payment_under_the_same_key_is_made_once(services, engine):
    case = _case(engine)
    fund_id = _fund(services)
    first = _call(services, case.id, "payment.pay", {"amount": "2000", "fund": "township_reserve"})
    again = _call(services, case.id, "payment.pay", {"amount": "2000", "fund": "township_reserve"})
    assert first == again
    assert first["idempotency_key"] == f"case:{case.id}:pay_task"
    with services.db.read() as s:
        assert s.get(funds.Fund, fund_id).balance == Decimal("1000.00")
        assert s.execute(select(func.count(payments.Payment.id))).scalar() == 1
        assert funds.reconcile(s, fund_id) == {"balance": Decimal("1000.00"), "ledger_balance": Decimal("1000.00"),
                                               "reserved": Decimal("0.00"), "ledger_reserved": Decimal("0.00")}


def test_a_fund_never_goes_negative(services, engine):
    case = _case(engine)
    _fund(services, amount="3000")
    with pytest.raises(Conflict, match="negative"):
        _call(services, case.id, "payment.pay", {"amount": "3000.01", "fund": "township_reserve"})
    with services.db.read() as s:
        assert s.execute(select(func.count(payments.Payment.id))).scalar() == 0


def test_the_fund_is_found_by_kind_for_the_case_region(services, engine):
    case = _case(engine)
    _fund(services, region="370827102")  # another township
    with pytest.raises(Exception, match="no township_reserve fund covers"):
        _call(services, case.id, "payment.pay", {"amount": "10", "fund": "township_reserve"})


def test_an_approval_pays_from_the_next_month(services, engine, clock):
    case = _case(engine)  # 2026-03-02
    out = _call(services, case.id, "case.decide", {"programme": "dibao", "decision": "approved",
                                                   "monthly_amount": "2800"})
    assert out["from_month"] == "2026-04"
    _call(services, case.id, "payment.schedule", {"programme": "dibao", "monthly_amount": "2800",
                                                  "from_month": out["from_month"]})
    with services.db.read() as s:
        [p] = payments.payments_of(s, case.id)
        [d] = payments.decisions_of(s, case.id)
    assert (p.status, p.month, p.amount) == ("scheduled", "2026-04", Decimal("2800.00"))
    assert d["decision"] == "approved" and d["monthly_amount"] == "2800.00"


def test_an_unknown_decision_is_a_validation_error(services, engine):
    case = _case(engine)
    with pytest.raises(ValidationError):
        _call(services, case.id, "case.decide", {"programme": "dibao", "decision": "maybe"})


def test_a_referral_slip_has_a_feedback_due_date_in_working_days(services, engine):
    case = _case(engine)
    out = _call(services, case.id, "referral.create", {"target": "medical_insurance", "reason": "医疗救助"})
    assert out["due_at"] == "2026-03-09T15:59:59+00:00"  # 5 WD after Monday 2026-03-02
    with services.db.write() as s:
        row = referrals.get_referral(s, out["referral_id"])
        referrals.give_feedback(s, row, outcome="done", feedback="已纳入医疗救助", at=services.clock.now(),
                                actor="yibao")
    with services.db.write() as s:
        with pytest.raises(Conflict):
            referrals.give_feedback(s, referrals.get_referral(s, out["referral_id"]), outcome="done",
                                    feedback="again", at=services.clock.now(), actor="yibao")


def test_a_registered_relative_is_removed_from_the_case_tasks(services, engine):
    from engine.actors import Actor
    from engine.casework import records
    from engine.casework.types import Household

    household = Household.from_dict({
        "region_code": VILLAGE, "hukou": "rural",
        "members": [{"name": "韩进", "id_number": "370827198001011232", "relation": "head",
                     "birth_date": "1980-01-01", "sex": "M", "disability": None, "self_care_lost": 0,
                     "can_work": True, "employed": False, "in_school": "none", "critical_illness": False,
                     "income": {"wages": "0", "business": "400", "property": "0", "transfer": "0"}}]})
    with services.db.write() as s:
        household_id = records.create_household(s, household, actor=CASEWORKER, now=services.clock.now())
        referrals.register_relative(s, username="zhang", household_id=household_id, relation="表兄",
                                    at=services.clock.now(), actor="admin")
    deploy(engine, "casework.bpmn")
    case = engine.start("casework", actor=Actor("zhao", "caseworker", VILLAGE[:9]), region_code=VILLAGE,
                        household_id=household_id, data={"people": [1], "income": "0"})
    with pytest.raises(NotAllowed, match="relative"):
        engine.complete(case.open_tasks[0].id, CASEWORKER, {"income": "100"})
    assert _call(services, case.id, "case.conflicts", {}) == {"has_conflict": True, "users": ["zhang"]}


@pytest.mark.parametrize("threads", [8])
def test_concurrent_payments_never_overdraw_the_fund(database_url, clock, threads):
    """Each thread pays 500 from a 3000 fund for its own case: exactly six succeed."""
    svc = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock})
    svc.services.register("test.gap", lambda p, d, c: {})
    deploy(svc.engine, "casework.bpmn")
    cases = [svc.engine.start("casework", actor=CASEWORKER, region_code=VILLAGE,
                              data={"people": [1], "income": "0"}).id for _ in range(threads)]
    fund_id = _fund(svc, amount="3000")
    results: list[str] = []
    barrier = threading.Barrier(threads)

    def worker(case_id):
        barrier.wait()
        try:
            _call(svc, case_id, "payment.pay", {"amount": "500", "fund": "township_reserve"})
            results.append("paid")
        except Conflict:
            results.append("refused")

    pool = [threading.Thread(target=worker, args=(c,)) for c in cases]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert sorted(results) == ["paid"] * 6 + ["refused"] * (threads - 6)
    with svc.db.read() as s:
        assert s.get(funds.Fund, fund_id).balance == Decimal("0.00")
        rec = funds.reconcile(s, fund_id)
        assert rec["balance"] == rec["ledger_balance"]
    svc.close()
