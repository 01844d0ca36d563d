"""One case, one discussion (一事一议): committee members vote one by one (multi-instance over the
dict of members), quorum and majority are counted after the vote, and the decision carries its
justification code [S3]."""

from __future__ import annotations

from engine.actors import Actor
from tests.processes.conftest import (
    COMMITTEE, YUTAI, YUTAI_VILLAGE, caseworker, create_household, han_jin, start,
)

PROPOSAL = {"programme": "linshi", "one_off_amount": "20000", "monthly_amount": "0",
            "justification_code": "RC-07", "proposal": "重病致贫，超出临时救助标准，提请一事一议"}


def convene(services, proposal=PROPOSAL):
    household_id = create_household(services, han_jin())
    case = start(services, "deliberation", household_id, YUTAI_VILLAGE)
    case.complete("prepare", caseworker(YUTAI_VILLAGE), proposal)
    return case


def vote(case, ballots: dict[str, str]):
    tasks = [t for t in case.tasks() if t.bpmn_id == "cast_vote"]
    assert len(tasks) == len(ballots)
    for task, (username, choice) in zip(tasks, ballots.items()):
        case.engine.complete(task.id, Actor(username, "committee", YUTAI),
                             {"vote": choice, "justification_code": "RC-07"})


def test_every_member_gets_a_vote_task_in_the_committee_lane(services):
    case = convene(services)
    votes = [t for t in case.tasks() if t.bpmn_id == "cast_vote"]
    assert len(votes) == len(COMMITTEE)
    assert {t.candidate_group for t in votes} == {"committee"}
    assert set(case.data["voters"]) == set(COMMITTEE)


def test_a_majority_grants_the_relief_with_its_justification_code_and_pays_it(services):
    case = convene(services)
    vote(case, dict(zip(COMMITTEE, ["yes", "yes", "yes", "no", "abstain"])))
    data = case.data
    assert (data["present"], data["yes_votes"], data["quorum"], data["passed"]) == (5, 3, True, True)
    assert data["votes"] == dict(zip(COMMITTEE, ["yes", "yes", "yes", "no", "abstain"]))
    assert case.status == "completed"
    [decision] = case.decisions()
    assert (decision["decision"], decision["one_off_amount"], decision["justification_code"]) == (
        "approved", "20000.00", "RC-07")
    assert case.payments() == [("20000.00", "paid", "county_relief", None)]


def test_a_monthly_grant_is_scheduled_from_the_next_month(services):
    case = convene(services, {**PROPOSAL, "programme": "dibao", "one_off_amount": "0",
                              "monthly_amount": "600"})
    vote(case, dict.fromkeys(COMMITTEE, "yes"))
    assert case.payments() == [("600.00", "scheduled", None, "2026-04")]


def test_without_a_majority_the_request_is_refused_with_its_code(services):
    case = convene(services)
    vote(case, dict(zip(COMMITTEE, ["yes", "yes", "no", "no", "no"])))
    [decision] = case.decisions()
    assert (decision["decision"], decision["justification_code"]) == ("refused", "RC-07")
    assert case.payments() == [] and case.status == "completed"


def test_without_a_quorum_the_committee_is_convened_again(services):
    case = convene(services)
    vote(case, dict(zip(COMMITTEE, ["yes", "yes", "absent", "absent", "absent"])))
    assert case.data["quorum"] is False and case.decisions() == []
    assert [t.bpmn_id for t in case.tasks()] == ["cast_vote"] * len(COMMITTEE)
    vote(case, dict.fromkeys(COMMITTEE, "yes"))
    assert case.decisions()[0]["decision"] == "approved"
