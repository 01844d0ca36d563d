"""Proactive discovery (主动发现): dedupe, triage, home visit, the water-meter alert (M1), the minors
platform (M3), and cases opened on the family's behalf (帮办代办)."""

from __future__ import annotations

from sqlalchemy import select

from engine.casework import referrals
from tests.processes.conftest import (
    YUTAI_VILLAGE, assistant, at, caseworker, create_household, han_jin, household_data, member, move_to,
    start,
)


def signal(services, household_id, kind="village_report", details=None, source="村党支部书记"):
    return start(services, "discovery", household_id, YUTAI_VILLAGE,
                 {"signal_kind": kind, "source": source, "details": details or {}},
                 actor=assistant(YUTAI_VILLAGE))


def notifications(services, case_id):
    with services.db.read() as s:
        return [(n.kind, n.text) for n in s.execute(select(referrals.NotificationRecord).where(
            referrals.NotificationRecord.instance_id == case_id)).scalars()]


def lone_recipient(services):
    return create_household(services, household_data(YUTAI_VILLAGE, "rural", [
        member("独居老人", "head", "1948-04-04", can_work=False)]))


def test_scenario_1_a_village_report_opens_the_application_and_the_relief_on_the_familys_behalf(services):
    household_id = create_household(services, han_jin())
    case = signal(services, household_id)
    triage = case.task("triage")
    assert triage.candidate_group == "caseworker"
    case.complete("triage", caseworker(YUTAI_VILLAGE), {"visit_needed": True})
    visit = case.task("home_visit")
    assert visit.candidate_group == "assistant"
    assert visit.due_at == at("2026-03-05 23:59:59")                  # 3 WD by default [A]
    case.complete("home_visit", assistant(YUTAI_VILLAGE), {
        "need_confirmed": True, "open_application": True, "open_emergency": True,
        "emergency": {"urgency": "urgent", "relief_type": "expenditure", "requested_amount": "10000"}})
    assert case.status == "completed" and case.data["outcome"] == "confirmed"
    application, emergency = sorted(case.children(), key=lambda c: c.process)
    assert (emergency.process, application.process) == ("emergency", "application")
    assert emergency.data["requested_amount"] == "10000" and emergency.data["relief_type"] == "expenditure"
    assert application.data["proxy"] is True and application.data["discovery_case_id"] == case.id
    assert application.open_ids() == ["accept"] and emergency.open_ids() == ["accept"]


def test_a_second_signal_for_a_household_with_an_open_discovery_is_merged(services):
    household_id = create_household(services, han_jin())
    first = signal(services, household_id)
    second = signal(services, household_id, kind="hospital_bill", source="医保数据比对")
    assert second.status == "completed"
    assert second.data["outcome"] == "merged" and second.data["merged_into"] == first.id
    assert first.open_ids() == ["triage"]


def test_the_visit_deadline_is_configurable_per_signal(services):
    household_id = create_household(services, han_jin())
    case = signal(services, household_id, details={"visit_due_in": "5WD"})
    case.complete("triage", caseworker(YUTAI_VILLAGE), {"visit_needed": True})
    assert case.task("home_visit").due_at == at("2026-03-09 23:59:59")


def test_a_need_not_confirmed_ends_with_its_reason(services):
    household_id = create_household(services, han_jin())
    case = signal(services, household_id, kind="data_comparison")
    case.complete("triage", caseworker(YUTAI_VILLAGE), {"visit_needed": True})
    case.complete("home_visit", assistant(YUTAI_VILLAGE),
                  {"need_confirmed": False, "not_confirmed_reason": "子女已就业，收入稳定"})
    assert case.status == "completed"
    assert case.data["outcome"] == "not_confirmed"
    assert case.data["not_confirmed_reason"] == "子女已就业，收入稳定"
    assert case.children() == []


def test_triage_can_close_a_signal_without_a_visit(services):
    household_id = create_household(services, han_jin())
    case = signal(services, household_id, kind="hotline_12345")
    case.complete("triage", caseworker(YUTAI_VILLAGE), {"visit_needed": False, "need_confirmed": False,
                                                       "not_confirmed_reason": "重复来电"})
    assert case.status == "completed" and case.data["outcome"] == "not_confirmed"


def test_m1_a_water_meter_alert_pushes_the_provider_and_logs_an_immediate_home_check(services):
    household_id = lone_recipient(services)
    case = signal(services, household_id, kind="water_meter", source="智能水表",
                  details={"usage_m3": 0.06, "from": "08:00", "to": "20:00", "lives_alone": True})
    [(kind, text)] = notifications(services, case.id)
    assert kind == "water_meter_alert" and "0.06" in text
    check = case.task("urgent_check")
    assert check.candidate_group == "assistant"
    assert check.due_at == at("2026-03-02 12:00")                    # immediate: 2 h
    case.complete("urgent_check", assistant(YUTAI_VILLAGE), {"safe": True, "need_confirmed": False,
                                                             "not_confirmed_reason": "外出走亲戚"})
    assert case.status == "completed"


def test_m1_normal_water_use_is_triaged_as_usual(services):
    household_id = lone_recipient(services)
    case = signal(services, household_id, kind="water_meter", details={"usage_m3": "0.3", "lives_alone": True})
    assert case.open_ids() == ["triage"]
    assert notifications(services, case.id) == []


def test_m3_a_minors_request_not_accepted_within_1h_warns_and_a_dissatisfied_rating_opens_follow_up(
        services, clock):
    household_id = create_household(services, han_jin())
    case = signal(services, household_id, kind="minors_platform", source="未成年人保护平台")
    accept = case.task("minors_accept")
    assert accept.due_at == at("2026-03-02 11:00")                   # accept within 1 h [S0]
    move_to(services, clock, at("2026-03-02 10:48"))
    assert [a for a, _ in case.audit()].count("sla.warning") == 1
    move_to(services, clock, at("2026-03-02 11:00"))
    assert case.escalations() == [(1, "supervisor", YUTAI_VILLAGE[:9])]
    case.complete("minors_accept", caseworker(YUTAI_VILLAGE))
    assert case.task("minors_handle").due_at == at("2026-03-17 11:00")  # finish within 15 days
    case.complete("minors_handle", caseworker(YUTAI_VILLAGE), {"satisfaction": "dissatisfied"})
    follow_up = case.task("minors_follow_up")
    assert follow_up.candidate_group == "assistant"
    case.complete("minors_follow_up", assistant(YUTAI_VILLAGE), {"note": "已回访"})
    assert case.status == "completed"
