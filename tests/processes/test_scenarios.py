"""DOMAIN §7 Scenario 1 end to end, across the processes it touches: the village party secretary
reports 韩进's family (discovery), the family gets dibao and 10 000 of temporary relief routed to the
county, and every referral slip ends with feedback."""

from __future__ import annotations

from datetime import timedelta

from engine.casework import referrals
from tests.processes.conftest import (
    YUTAI_VILLAGE, approver, assistant, case_of, caseworker, create_household, han_jin, start, tick,
)


def answer(services, case):
    """What the referral API does when a department reports back: record it, tell the case."""
    referral_id = case.data["referral_id"]
    with services.db.write() as s:
        referrals.give_feedback(s, referrals.get_referral(s, referral_id), outcome="done",
                                feedback="已办理", at=services.clock.now(), actor="department")
    services.engine.send_message(case.id, "referral_feedback",
                                 {"referral_id": referral_id, "outcome": "done", "feedback": "已办理"})


def test_scenario_1_han_jin_from_the_village_report_to_dibao_relief_and_answered_referrals(services, clock):
    region = YUTAI_VILLAGE
    cw, county = caseworker(region), approver(region)
    household_id = create_household(services, han_jin())
    discovery = start(services, "discovery", household_id, region,
                      {"signal_kind": "village_report", "source": "村党支部书记", "details": {}},
                      actor=assistant(region))
    discovery.complete("triage", cw, {"visit_needed": True})
    discovery.complete("home_visit", assistant(region), {
        "need_confirmed": True, "open_application": True, "open_emergency": True,
        "emergency": {"urgency": "urgent", "relief_type": "expenditure", "requested_amount": "10000"}})
    [application] = discovery.children("application")
    [relief] = discovery.children("emergency")

    relief.complete("accept", cw, {"cause": "medical"})
    relief.complete("investigate", cw, {"findings": "住院费用5万余元"})
    assert relief.data["app_check"] == {"duplicate": True, "case_id": application.id}
    assert relief.children("application") == []                        # no second application
    relief.complete("approve_county", county, {"county_approved": True})  # above 3000: the county
    assert relief.payments() == [("10000.00", "paid", "county_relief", None)]  # paid in March

    application.complete("accept", cw, {"accepted": True})
    application.complete("info_check", county)
    application.complete("investigate", cw, {"investigators": ["张三", "李四"]})
    application.complete("opinion", cw)
    clock.advance(timedelta(days=7, seconds=1))
    tick(services)
    application.complete("confirm", county, {"confirmed": True})
    [decision] = application.decisions()
    assert (decision["monthly_amount"], decision["from_month"]) == ("2800.00", "2026-04")

    slips = relief.referrals() + application.referrals()
    assert sorted({target for target, *_ in slips}) == ["charity_county", "disabled_federation",
                                                       "medical_insurance"]
    for _, _, tracking_id in slips:
        answer(services, case_of(services, tracking_id))
    assert {status for _, status, _ in relief.referrals() + application.referrals()} == {"answered"}
    cases = [discovery, relief, application] + [case_of(services, t) for *_, t in slips]
    assert {c.status for c in cases} == {"completed"}
