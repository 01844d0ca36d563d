"""Periodic review (在保必核): silent certification, warning → investigation → continue / adjust /
taper / stop with written reasons; extreme-poverty termination after 7 days' publicity and a screen
for dibao and temporary relief (DOMAIN §3.1 ongoing management, §3.2 termination; Scenario 4)."""

from __future__ import annotations

from datetime import timedelta

from tests.processes.conftest import (
    LIANGSHAN_VILLAGE, YUTAI_VILLAGE, approver, assistant, at, caseworker, create_household, liangshan_boy,
    start, tick, update_household, widow,
)


def dibao_in_force(amount: str, members=(0, 1, 2)) -> dict:
    return {"programme": "dibao", "eligible": True, "monthly_amount": amount, "one_off_amount": "0.00",
            "covered_members": list(members), "marginal": None, "reasons": [], "rule_version": "dibao/2025.1"}


def tekun_in_force(amount="1080.00") -> dict:
    return {"programme": "tekun", "eligible": True, "monthly_amount": amount, "one_off_amount": "0.00",
            "covered_members": [0], "marginal": None, "reasons": [], "rule_version": "tekun/2025.1"}


def review(services, household: dict, programme: str, in_force: dict, flags=(), previous=None,
           household_id=None):
    household_id = household_id or create_household(services, household)
    return start(services, "review", household_id, household["region_code"], {
        "programme": programme, "in_force": in_force, "flags": list(flags),
        "previous_household": previous, "taper_ends": None}, actor=caseworker(household["region_code"]))


def investigate_and_decide(case, region, **decision):
    assert case.open_ids() == ["investigate"]
    case.complete("investigate", caseworker(region), {"findings": "入户核实"})
    decide = case.task("review_decision")
    assert decide.candidate_group == "approver"
    case.complete("review_decision", approver(region), {"decision_reasons": ["入户核实属实"], **decision})


def with_wages(household: dict, wages: str, employed=True) -> dict:
    changed = {**household, "members": [dict(m) for m in household["members"]]}
    changed["members"][0] = {**changed["members"][0], "employed": employed,
                             "income": {**changed["members"][0]["income"], "wages": wages}}
    return changed


def test_silent_certification_continues_without_the_family_acting(services):
    case = review(services, widow(), "dibao", dibao_in_force("2100.00"))
    assert case.status == "completed" and case.tasks() == []
    [decision] = case.decisions()
    assert decision["decision"] == "continue"
    assert "review.silent_certification" in decision["reasons"]


def test_a_flag_raises_a_warning_and_an_investigation_even_when_nothing_changed(services):
    case = review(services, widow(), "dibao", dibao_in_force("2100.00"), flags=["vehicle_registered"])
    assert [a for a, after in case.audit() if a == "notification.sent"] == ["notification.sent"]
    investigate_and_decide(case, YUTAI_VILLAGE)
    assert case.decisions()[0]["decision"] == "continue"
    assert case.status == "completed"


def test_higher_income_without_employment_adjusts_the_amount_from_next_month_with_written_reasons(services):
    household = widow()
    household_id = create_household(services, household)
    changed = {**household, "members": [dict(m) for m in household["members"]]}
    changed["members"][0]["income"] = {**changed["members"][0]["income"], "transfer": "600"}
    update_household(services, household_id, changed)
    case = review(services, household, "dibao", dibao_in_force("2100.00"), flags=["income_change"],
                  household_id=household_id)
    investigate_and_decide(case, YUTAI_VILLAGE)
    [decision] = case.decisions()
    assert (decision["decision"], decision["monthly_amount"], decision["from_month"]) == (
        "adjust", "1500.00", "2026-04")
    assert "入户核实属实" in decision["reasons"]
    assert case.task("notice").due_at == at("2026-03-05 23:59:59")   # written reasons [N]
    case.complete("notice", approver(YUTAI_VILLAGE))
    assert case.status == "completed"


def test_income_lifted_by_employment_starts_the_taper_period(services):
    household = widow()
    household_id = create_household(services, household)
    update_household(services, household_id, with_wages(household, "2500"))
    case = review(services, household, "dibao", dibao_in_force("2100.00"), flags=["employment"],
                  previous=household, household_id=household_id)
    investigate_and_decide(case, YUTAI_VILLAGE)
    [decision] = case.decisions()
    assert (decision["decision"], decision["monthly_amount"]) == ("taper", "2100.00")
    assert case.data["taper_until"] == "2026-10-01"                  # 6 months [N 2022; S2 3–6]
    case.complete("notice", approver(YUTAI_VILLAGE))
    assert case.status == "completed"


def test_a_dibao_household_no_longer_eligible_is_stopped_from_next_month(services):
    household = widow()
    household_id = create_household(services, household)
    update_household(services, household_id, with_wages(household, "4000", employed=False))
    case = review(services, household, "dibao", dibao_in_force("2100.00"), flags=["income_change"],
                  household_id=household_id)
    investigate_and_decide(case, YUTAI_VILLAGE)
    [decision] = case.decisions()
    assert (decision["decision"], decision["from_month"]) == ("stop", "2026-04")
    case.complete("notice", approver(YUTAI_VILLAGE))
    assert case.status == "completed" and case.children() == []


def test_scenario_4_at_18_a_boy_still_in_senior_high_school_continues(services, clock):
    clock.set(at("2023-06-10 08:00"))
    case = review(services, liangshan_boy(), "tekun", tekun_in_force(), flags=["age_cap_reached"])
    investigate_and_decide(case, LIANGSHAN_VILLAGE)
    [decision] = case.decisions()
    assert decision["decision"] == "continue" and decision["programme"] == "tekun"


def test_scenario_4_at_18_out_of_school_support_ends_after_7_days_publicity_and_dibao_is_screened(
        services, clock):
    clock.set(at("2023-06-10 08:00"))
    region = LIANGSHAN_VILLAGE
    case = review(services, liangshan_boy(in_school="none"), "tekun", tekun_in_force(),
                  flags=["age_cap_reached"])
    investigate_and_decide(case, region)
    assert case.data["action"] == "stop"
    assert case.task("termination_publicity").candidate_group == "assistant"
    clock.advance(timedelta(days=7, seconds=1))
    tick(services)
    [decision] = case.decisions()
    assert (decision["decision"], decision["from_month"]) == ("stop", "2023-07")
    case.complete("notice", approver(region))
    assert case.status == "completed"
    [screening] = case.children("application")
    assert screening.data["source"] == "review" and screening.data["screen_for"] == ["dibao", "linshi"]


def test_an_objection_to_a_termination_can_keep_the_support(services, clock):
    clock.set(at("2023-06-10 08:00"))
    region = LIANGSHAN_VILLAGE
    case = review(services, liangshan_boy(in_school="none"), "tekun", tekun_in_force(),
                  flags=["age_cap_reached"])
    investigate_and_decide(case, region)
    case.complete("termination_publicity", assistant(region), {"objection": "已被职业学校录取"})
    objection = case.task("objection_decision")
    assert objection.due_at == at("2023-07-03 23:59:59")              # 15 WD [N 43号] (端午 06-22/23)
    case.complete("objection_decision", approver(region), {"uphold_stop": False})
    assert case.decisions()[0]["decision"] == "continue"
    assert case.status == "completed"
