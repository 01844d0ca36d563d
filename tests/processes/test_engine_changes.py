"""Engine features the processes rely on: start-data defaults, a fixed assignee per multi-instance
task, feedback recorded on the slip, a clock met by a fulfilling boundary event (slaMetBy), and
timers that fire exactly at their due time.  See docs/processes.md."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.actors import Actor
from engine.casework import referrals
from tests.processes.conftest import (
    COMMITTEE, YUTAI, YUTAI_VILLAGE, approver, caseworker, create_household, han_jin, start, tick, widow,
)
from tests.processes.test_application import INVESTIGATORS
from tests.processes.test_deliberation import PROPOSAL


@pytest.mark.parametrize(("process", "data", "task"), [
    ("referral", {"target": "housing", "reason": "危房改造"}, "track"),
    ("discovery", {"signal_kind": "water_meter", "source": "智能水表"}, "triage"),
])
def test_optional_start_data_takes_the_defaults_declared_in_the_process(services, process, data, task):
    household_id = create_household(services, widow())
    case = start(services, process, household_id, YUTAI_VILLAGE, data)
    assert case.open_ids() == [task]


def test_each_vote_task_belongs_to_its_committee_member(services):
    household_id = create_household(services, han_jin())
    case = start(services, "deliberation", household_id, YUTAI_VILLAGE)
    case.complete("prepare", caseworker(YUTAI_VILLAGE), PROPOSAL)
    assignees = sorted(t.assignee for t in case.tasks() if t.bpmn_id == "cast_vote")
    assert assignees == sorted(COMMITTEE)
    # nobody votes twice or for someone else
    first = case.tasks()[0]
    other = next(u for u in COMMITTEE if u != first.assignee)
    with pytest.raises(Exception):
        case.engine.complete(first.id, Actor(other, "committee", YUTAI), {"vote": "yes"})


def test_feedback_entered_on_the_tracking_task_is_recorded_on_the_slip(services):
    household_id = create_household(services, widow())
    case = start(services, "referral", household_id, YUTAI_VILLAGE,
                 {"target": "medical_insurance", "reason": "医疗救助", "referral_id": None})
    case.complete("track", caseworker(YUTAI_VILLAGE), {"outcome": "done", "feedback": "电话反馈已办理"})
    with services.db.read() as s:
        row = referrals.get_referral(s, case.data["referral_id"])
        assert (row.status, row.outcome) == ("answered", "done")


def test_feedback_by_message_meets_the_feedback_clock(services):
    household_id = create_household(services, widow())
    case = start(services, "referral", household_id, YUTAI_VILLAGE,
                 {"target": "medical_insurance", "reason": "医疗救助", "referral_id": None})
    services.engine.send_message(case.id, "referral_feedback",
                                 {"referral_id": case.data["referral_id"], "outcome": "done", "feedback": "已办理"})
    assert [c[2] for c in case.clocks()] == ["met"]


def test_the_publicity_ends_exactly_7_days_after_it_starts(services, clock):
    household_id = create_household(services, han_jin())
    case = start(services, "application", household_id, YUTAI_VILLAGE)
    case.complete("accept", caseworker(YUTAI_VILLAGE), {"accepted": True})
    case.complete("info_check", approver(YUTAI_VILLAGE))
    case.complete("investigate", caseworker(YUTAI_VILLAGE), INVESTIGATORS)
    case.complete("opinion", caseworker(YUTAI_VILLAGE))
    clock.advance(timedelta(days=7))
    tick(services)
    assert case.open_ids() == ["confirm"]
