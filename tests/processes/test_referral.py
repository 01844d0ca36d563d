"""Follow-up referral (跟踪转介, 转办单): every slip is tracked until its feedback is recorded —
feedback by message or by the caseworker, a reminder before the due date, escalation when none
comes (DOMAIN §3.6, [S4]; due 5 WD [A])."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.casework import referrals
from tests.processes.conftest import (
    YUTAI_VILLAGE, at, caseworker, case_of, create_household, move_to, start, widow,
)


def direct(services):
    household_id = create_household(services, widow())
    return start(services, "referral", household_id, YUTAI_VILLAGE,
                 {"target": "medical_insurance", "reason": "医疗救助", "referral_id": None})


def kinds(services, case_id):
    with services.db.read() as s:
        return [n.kind for n in s.execute(select(referrals.NotificationRecord).where(
            referrals.NotificationRecord.instance_id == case_id)).scalars()]


def test_a_slip_opened_by_a_caseworker_is_created_here_and_tracked_until_feedback(services):
    case = direct(services)
    [slip] = case.referrals()
    assert slip[:2] == ("medical_insurance", "open")
    track = case.task("track")
    assert track.due_at == at("2026-03-09 23:59:59")                # 5 WD [A]
    case.complete("track", caseworker(YUTAI_VILLAGE), {"outcome": "done", "feedback": "已纳入医疗救助"})
    assert case.status == "completed"
    assert case.data["referral_outcome"]["outcome"] == "done"
    assert case.data["referral_outcome"]["source"] == "task"


def test_feedback_from_the_receiving_unit_arrives_as_a_message(services):
    case = direct(services)
    referral_id = case.data["referral_id"]
    with services.db.write() as s:                                   # what the referral API does
        referrals.give_feedback(s, referrals.get_referral(s, referral_id), outcome="done",
                                feedback="已办理", at=services.clock.now(), actor="yibao")
    services.engine.send_message(case.id, "referral_feedback",
                                 {"referral_id": referral_id, "outcome": "done", "feedback": "已办理"})
    assert case.status == "completed"
    assert case.data["referral_outcome"] == {"referral_id": referral_id, "target": "medical_insurance",
                                             "outcome": "done", "feedback": "已办理", "source": "message"}
    assert case.referrals()[0][1] == "answered"


def test_slips_from_a_decision_get_their_own_tracking_case(services):
    household_id = create_household(services, widow())
    relief = start(services, "emergency", household_id, YUTAI_VILLAGE,
                   {"urgency": "urgent", "relief_type": "emergency", "requested_amount": "2000"})
    relief.complete("accept", caseworker(YUTAI_VILLAGE), {"cause": "death"})
    relief.complete("pay_first", caseworker(YUTAI_VILLAGE))
    [(target, status, tracking_id)] = relief.referrals()
    tracking = case_of(services, tracking_id)
    assert tracking.process == "referral" and tracking.data["target"] == target == "charity_village"
    assert tracking.referrals() == []                                # no second slip
    assert tracking.open_ids() == ["track"]


def test_a_reminder_goes_out_the_day_before_the_due_date(services, clock):
    case = direct(services)
    move_to(services, clock, at("2026-03-08 23:59:59") + timedelta(seconds=1))
    assert kinds(services, case.id) == ["referral_reminder"]
    assert case.open_ids() == ["track"] and case.escalations() == []


def test_no_feedback_by_the_due_date_escalates_and_urges_and_late_feedback_still_closes_the_slip(
        services, clock):
    case = direct(services)
    move_to(services, clock, at("2026-03-09 23:59:59"))
    assert case.escalations() == [(1, "supervisor", YUTAI_VILLAGE[:9])]
    assert kinds(services, case.id) == ["referral_reminder", "referral_overdue"]
    assert case.view().overdue is True
    move_to(services, clock, at("2026-03-10 10:00"))
    case.complete("track", caseworker(YUTAI_VILLAGE), {"outcome": "done", "feedback": "已补办"})
    assert case.status == "completed"
    assert ("跟踪并登记反馈", "2026-03-09T15:59:59+00:00", "met_late") in case.clocks()


def test_a_slip_the_unit_could_only_partly_handle_gets_a_follow_up(services):
    case = direct(services)
    case.complete("track", caseworker(YUTAI_VILLAGE), {"outcome": "partly", "feedback": "仅报销部分费用"})
    assert case.task("follow_up").candidate_group == "caseworker"
    case.complete("follow_up", caseworker(YUTAI_VILLAGE), {"note": "提请一事一议"})
    assert case.status == "completed"
