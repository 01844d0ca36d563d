"""Emergency relief (快速响应 + 即时救助): pay first within 24 h / 2 h, township limit, county and
city tiers, 5-day paperwork from the payment, referrals, and the application opened on the
family's behalf (DOMAIN §3.3, §5; Scenarios 1, 2, 5 and 6)."""

from __future__ import annotations

from datetime import timedelta

from tests.processes.conftest import (
    CITY_APPROVER, JINXIANG_VILLAGE, LIGE_VILLAGE, YUTAI_VILLAGE, approver, at, caseworker,
    create_household, chenchen, fire_family, han_jin, move_to, start, tick, widow,
)


def report(services, household: dict, *, urgency="urgent", relief_type="emergency", amount="2000"):
    household_id = create_household(services, household)
    return start(services, "emergency", household_id, household["region_code"],
                 {"urgency": urgency, "relief_type": relief_type, "requested_amount": amount})


def audit_of(case, action):
    return [after for name, after in case.audit() if name == action]


def test_scenario_6_unpaid_24h_relief_warns_breaches_escalates_once_and_is_recorded_late(services, clock):
    cw = caseworker(YUTAI_VILLAGE)
    case = report(services, widow())                                    # Monday 10:00
    case.complete("accept", cw, {"accepted": True, "cause": "death"})   # accepted at once
    pay = case.task("pay_first")
    assert pay.candidate_group == "caseworker"
    assert pay.due_at == at("2026-03-03 10:00")                          # 24 h

    move_to(services, clock, at("2026-03-03 05:11"))
    assert audit_of(case, "sla.warning") == []
    move_to(services, clock, at("2026-03-03 05:12"))                     # 80 % of 24 h
    [warning] = audit_of(case, "sla.warning")
    assert warning["to_group"] == "caseworker"

    move_to(services, clock, at("2026-03-03 10:00"))                     # breach
    view = case.view()
    assert view.overdue is True
    assert case.escalations() == [(1, "supervisor", YUTAI_VILLAGE[:9])]  # township leader
    assert view.data["pay_first_breached"] is True                      # the boundary event recorded it
    assert case.open_ids() == ["pay_first"]                              # the obligation to pay remains

    move_to(services, clock, at("2026-03-03 15:00"))                     # paid, 29 h after the report
    case.complete("pay_first", cw)
    assert case.payments() == [("2000.00", "paid", "township_reserve", None)]
    [stopped] = [a for a in audit_of(case, "sla.stopped") if a["name"] == "先行救助（乡镇备用金）"]
    assert stopped["status"] == "met_late"
    assert stopped["elapsed_seconds"] == 29 * 3600
    assert stopped["late_seconds"] == 5 * 3600

    paperwork = case.task("paperwork")                                    # 5 days from the payment
    assert paperwork.due_at == at("2026-03-08 15:00")
    move_to(services, clock, at("2026-03-03 22:00"))                     # breach + half: nothing
    assert case.escalations() == [(1, "supervisor", YUTAI_VILLAGE[:9])]
    assert case.view().overdue is True                                   # overdue for good

    [application] = case.children("application")                         # relief first, then application
    assert application.data["source"] == "emergency"
    assert application.open_ids() == ["accept"]
    [slip] = case.referrals()
    assert slip[0] == "charity_village" and slip[1] == "open"
    [tracking] = case.children("referral")
    assert tracking.open_ids() == ["track"]

    case.complete("paperwork", cw, {"signed": True})
    assert case.status == "completed"


def test_especially_urgent_relief_has_a_2h_clock_with_level_2_at_3h(services, clock):
    cw = caseworker(YUTAI_VILLAGE)
    case = report(services, widow(), urgency="especially_urgent")
    case.complete("accept", cw, {"cause": "traffic_accident"})
    assert case.task("pay_first").due_at == at("2026-03-02 12:00")
    move_to(services, clock, at("2026-03-02 12:00"))
    assert case.escalations() == [(1, "supervisor", YUTAI_VILLAGE[:9])]
    move_to(services, clock, at("2026-03-02 13:00"))
    assert case.escalations() == [(1, "supervisor", YUTAI_VILLAGE[:9]), (2, "supervisor", YUTAI_VILLAGE[:6])]
    case.complete("pay_first", cw)
    assert case.payments()[0][:3] == ("2000.00", "paid", "township_reserve")


def test_scenario_5_fire_township_pays_3000_and_the_county_approves_the_remaining_5000(services, clock):
    region = JINXIANG_VILLAGE
    cw = caseworker(region)
    case = report(services, fire_family(), amount="8000")
    case.complete("accept", cw, {"cause": "fire"})
    assert case.data["township_amount"] == "3000.00" and case.data["upper_amount"] == "5000.00"
    case.complete("pay_first", cw)                                       # within 24 h
    assert case.payments() == [("3000.00", "paid", "township_reserve", None)]
    assert sorted(t for t, *_ in case.referrals()) == ["charity_village", "housing"]
    assert case.children("application") == []                            # not dibao-eligible
    assert case.open_ids() == ["approve_county", "paperwork"]
    county = case.task("approve_county")
    assert county.candidate_group == "approver"
    assert county.due_at == at("2026-03-09 23:59:59")                    # 5 WD [A]
    case.complete("approve_county", approver(region), {"county_approved": True})
    case.complete("paperwork", cw)
    assert case.status == "completed"
    assert case.payments() == [("3000.00", "paid", "township_reserve", None),
                               ("5000.00", "paid", "county_relief", None)]


def test_a_township_user_approving_above_the_limit_is_refused_and_routed_to_the_county(services):
    region = JINXIANG_VILLAGE
    cw = caseworker(region)
    case = report(services, fire_family(), amount="8000")
    case.complete("accept", cw, {"cause": "fire"})
    case.complete("pay_first", cw, {"township_amount": "3001"})
    data = case.data
    assert data["township_attempt_refused"] is True
    assert data["township_check"]["linshi_approval_allowed"] is False
    assert data["township_check"]["linshi_route_to"] == "county"
    assert case.payments()[0][:3] == ("3000.00", "paid", "township_reserve")
    assert "approve_county" in case.open_ids()


def test_scenario_1_expenditure_relief_of_10000_goes_whole_to_the_county(services):
    cw = caseworker(YUTAI_VILLAGE)
    case = report(services, han_jin(), relief_type="expenditure", amount="10000")
    case.complete("accept", cw, {"cause": "medical"})
    assert case.open_ids() == ["investigate"]                            # full procedure, no pay-first
    case.complete("investigate", cw, {"findings": "住院费用5万余元"})
    assert [t for t, *_ in case.referrals()] == ["charity_county"]        # 医保 and 残联 follow the dibao decision
    [application] = case.children("application")                         # dibao-eligible family
    case.complete("approve_county", approver(YUTAI_VILLAGE), {"county_approved": True})
    assert case.status == "completed"
    assert case.payments() == [("10000.00", "paid", "county_relief", None)]


def test_scenario_2_city_level_relief_of_15000_passes_the_county_and_is_paid_by_the_city(services):
    region = LIGE_VILLAGE
    cw = caseworker(region)
    case = report(services, chenchen(), relief_type="expenditure", amount="15000")
    case.complete("accept", cw, {"cause": "medical"})
    case.complete("investigate", cw)
    assert "charity_county" in [t for t, *_ in case.referrals()]
    case.complete("approve_county", approver(region), {"county_approved": True})
    assert case.data["county_check"]["linshi_route_to"] == "city"
    case.complete("approve_city", CITY_APPROVER, {"city_approved": True})
    assert case.status == "completed"
    assert case.payments() == [("15000.00", "paid", "city_relief", None)]


def test_expenditure_relief_within_the_township_limit_is_approved_and_paid_by_the_township(services):
    cw = caseworker(YUTAI_VILLAGE)
    case = report(services, han_jin(), relief_type="expenditure", amount="2500")
    case.complete("accept", cw, {"cause": "medical"})
    case.complete("investigate", cw)
    case.complete("approve_local", cw, {"local_approved": True})
    assert case.status == "completed"
    assert case.payments() == [("2500.00", "paid", "township_reserve", None)]


def test_paperwork_not_completed_in_5_days_escalates(services, clock):
    cw = caseworker(YUTAI_VILLAGE)
    case = report(services, widow())
    case.complete("accept", cw, {"cause": "death"})
    case.complete("pay_first", cw)                                       # Monday 10:00
    move_to(services, clock, at("2026-03-07 10:00") + timedelta(seconds=1))
    assert case.escalations() == [(1, "supervisor", YUTAI_VILLAGE[:9])]
    assert case.view().overdue is True


def test_an_unaccepted_report_ends_without_payment(services):
    case = report(services, widow())
    case.complete("accept", caseworker(YUTAI_VILLAGE), {"accepted": False})
    assert case.status == "completed"
    assert case.payments() == [] and case.children() == []
    tick(services)
