"""The unified application (统一申请): acceptance, information check, home investigation, every
programme's assessment, 7-day publicity with the objection path, county confirmation, decisions and
payments from the next month, written refusal, the marginal register and the fast paths
(DOMAIN §3.1–3.4; Scenarios 1–4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.actors import Actor
from engine.casework import referrals
from engine.errors import NotAllowed, ValidationError
from tests.processes.conftest import (
    LIANGSHAN_VILLAGE, LIGE_VILLAGE, RENCHENG_COMMUNITY, YUTAI_VILLAGE, approver, assistant, at,
    at_the_line, caseworker, chenchen, create_household, han_jin, household_data, liangshan_boy, member,
    move_to, start, tick,
)

INVESTIGATORS = {"investigators": ["张三", "李四"], "findings": "入户调查属实"}


def apply(services, household: dict, data: dict | None = None):
    household_id = create_household(services, household)
    return start(services, "application", household_id, household["region_code"], data)


def accept(case, region, **form):
    case.complete("accept", caseworker(region), {"accepted": True, **form})


def investigate_and_check(case, region):
    case.complete("info_check", approver(region), {"checked": True})
    case.complete("investigate", caseworker(region), INVESTIGATORS)


def through_publicity(services, clock, case, region):
    case.complete("opinion", caseworker(region), {"opinion": "拟同意"})
    publicity = case.task("publicity")
    assert publicity.candidate_group == "assistant"
    clock.advance(timedelta(days=7, seconds=1))        # SpiffWorkflow fires a timer just after its due time
    tick(services)                                     # the 7-day timer ends the publicity
    assert "publicity" not in case.open_ids()


def test_scenario_1_dibao_for_han_jin_is_2800_a_month_from_the_next_month(services, clock):
    region = YUTAI_VILLAGE
    case = apply(services, han_jin(), {"source": "village_report", "proxy": True})
    assert case.open_ids() == ["accept"]
    accept(case, region, missing_documents=["残疾证复印件"])        # 容缺: accepted, listed once
    assert case.open_ids() == ["info_check", "investigate"]
    assert case.task("investigate").due_at == at("2026-03-05 23:59:59")   # 3 WD after acceptance
    assert case.task("info_check").candidate_group == "approver"
    investigate_and_check(case, region)
    data = case.data
    assert data["dibao"]["dibao_eligible"] is True
    assert data["dibao"]["dibao_monthly_amount"] == "2800.00"
    assert data["proposed"] == "dibao" and data["proposed_amount"] == "2800.00"
    through_publicity(services, clock, case, region)
    confirm = case.task("confirm")
    assert confirm.candidate_group == "approver"
    assert confirm.due_at == at("2026-03-23 23:59:59")             # 10 WD after 2026-03-09
    case.complete("confirm", approver(region), {"confirmed": True})
    assert case.status == "completed"
    [decision] = case.decisions()
    assert (decision["programme"], decision["decision"], decision["monthly_amount"], decision["from_month"]) == (
        "dibao", "approved", "2800.00", "2026-04")
    assert case.payments() == [("2800.00", "scheduled", None, "2026-04")]
    assert sorted(t for t, *_ in case.referrals()) == ["charity_county", "disabled_federation",
                                                      "medical_insurance"]
    assert [c.process for c in case.children()] == ["referral"] * 3
    [(name, spec, status)] = [c for c in case.clocks() if c[1] == "20WD"]
    assert status == "met"                                          # within the 20 WD limit [S2]


def test_scenario_2_chenchen_is_eligible_only_after_the_rigid_expenditure_deduction(services, clock):
    clock.set(at("2023-02-06 09:00"))
    region = LIGE_VILLAGE
    case = apply(services, chenchen())
    accept(case, region)
    investigate_and_check(case, region)
    assert case.data["dibao"]["dibao_monthly_amount"] == "1788.00"  # (700 − 253) × 4
    through_publicity(services, clock, case, region)
    case.complete("confirm", approver(region), {"confirmed": True})
    [decision] = case.decisions()
    assert decision["monthly_amount"] == "1788.00" and decision["from_month"] == "2023-03"
    assert "charity_county" in [t for t, *_ in case.referrals()]


@pytest.mark.programme_settings({"casework": {"deduct_rigid_expenditure": False}})
def test_scenario_2_without_the_deduction_dibao_is_refused_and_the_marginal_register_proposed(services):
    region = LIGE_VILLAGE
    case = apply(services, chenchen())
    accept(case, region)
    investigate_and_check(case, region)
    assert case.data["dibao"]["dibao_eligible"] is False
    assert case.data["proposed"] == "none" and case.data["marginal_proposed"] is True
    assert "opinion" in case.open_ids()
    case.complete("opinion", caseworker(region))
    assert case.open_ids() == ["confirm"]                            # nothing to publicise
    case.complete("confirm", approver(region), {"confirmed": False, "refusal_reasons": ["收入不低于标准"]})
    assert [d["decision"] for d in case.decisions()] == ["refused"]


def _refused_with_marginal(services, clock, income: str):
    region = RENCHENG_COMMUNITY
    case = apply(services, at_the_line(income=income))
    accept(case, region)
    investigate_and_check(case, region)
    case.complete("opinion", caseworker(region))
    case.complete("confirm", approver(region), {"confirmed": True})
    return case


def test_scenario_3_income_at_the_standard_is_refused_with_written_reasons_and_marginal_on_consent(
        services, clock):
    region = RENCHENG_COMMUNITY
    case = _refused_with_marginal(services, clock, "2640")
    [refused] = case.decisions()
    assert (refused["programme"], refused["decision"]) == ("dibao", "refused")
    assert "dibao.income_not_below_standard" in refused["reasons"]
    notice = case.task("refusal_notice")
    assert notice.due_at == at("2026-03-05 23:59:59")                # 3 WD after the decision
    assert ("书面告知不予批准理由", "3WD", "running") in case.clocks()
    case.complete("refusal_notice", caseworker(region), {"notice": "收入不低于当地低保标准"})
    assert case.data["marginal_proposed"] is True
    case.complete("marginal_consent", caseworker(region), {"marginal_consent": True})
    assert case.status == "completed"
    assert [d["decision"] for d in case.decisions()] == ["refused", "marginal"]
    assert case.payments() == []                                    # no cash, flags only


@pytest.mark.parametrize(("income", "outcome"), [("2637", "approved"), ("5280", "refused"),
                                                  ("5277", "marginal")])
def test_scenario_3_boundaries(services, clock, income, outcome):
    region = RENCHENG_COMMUNITY
    case = apply(services, at_the_line(income=income))
    accept(case, region, publicity_enabled=False)                   # the data flag switches publicity off
    investigate_and_check(case, region)
    case.complete("opinion", caseworker(region))
    assert "publicity" not in case.open_ids()
    case.complete("confirm", approver(region), {"confirmed": True})
    if outcome == "approved":                                       # y = 879: (880 − 879) × 3
        assert case.decisions()[0]["monthly_amount"] == "3.00"
        return
    case.complete("refusal_notice", caseworker(region))
    if outcome == "refused":                                        # y = 1760 = 2 × S: not marginal
        assert case.status == "completed" and len(case.decisions()) == 1
    else:                                                           # y = 1759: marginal
        case.complete("marginal_consent", caseworker(region), {"marginal_consent": True})
        assert case.decisions()[-1]["decision"] == "marginal"


def test_scenario_4_a_17_year_old_orphan_must_choose_and_gets_910_plus_170(services, clock):
    clock.set(at("2022-09-01 09:00"))
    region = LIANGSHAN_VILLAGE
    case = apply(services, liangshan_boy())
    with pytest.raises(ValidationError) as refused:                # the system forces the choice
        accept(case, region)
    assert "options.prefers_orphan_allowance" in refused.value.fields
    accept(case, region, prefers_orphan_allowance=False)           # chooses tekun
    investigate_and_check(case, region)
    assert case.data["proposed"] == "tekun" and case.data["proposed_amount"] == "1080.00"
    through_publicity(services, clock, case, region)
    case.complete("confirm", approver(region), {"confirmed": True})
    [decision] = case.decisions()
    assert (decision["programme"], decision["monthly_amount"], decision["from_month"]) == (
        "tekun", "1080.00", "2022-10")


def test_an_objection_leads_to_democratic_appraisal_a_new_opinion_and_a_new_publicity(services, clock):
    region = YUTAI_VILLAGE
    case = apply(services, han_jin())
    accept(case, region)
    investigate_and_check(case, region)
    case.complete("opinion", caseworker(region))
    clock.advance(timedelta(days=3))
    case.complete("publicity", assistant(region), {"objection": "邻居反映有经营收入"})
    case.complete("objection_review", caseworker(region), {"objection_handling": "appraisal"})
    appraisal = case.task("appraisal")
    assert appraisal.candidate_group == "assistant"
    case.complete("appraisal", assistant(region), {"appraisal_result": "评议属实，同意"})
    assert case.open_ids() == ["opinion"]                            # a new opinion
    case.complete("opinion", caseworker(region))
    assert case.open_ids() == ["publicity"]                          # published again, 7 more days
    clock.advance(timedelta(days=6))
    tick(services)
    assert case.open_ids() == ["publicity"]
    clock.advance(timedelta(days=1, seconds=1))
    tick(services)
    assert case.open_ids() == ["confirm"]


def test_an_objection_can_send_the_case_back_to_investigation(services, clock):
    region = YUTAI_VILLAGE
    case = apply(services, han_jin())
    accept(case, region)
    investigate_and_check(case, region)
    case.complete("opinion", caseworker(region))
    case.complete("publicity", assistant(region), {"objection": "有车辆"})
    case.complete("objection_review", caseworker(region), {"objection_handling": "reinvestigate"})
    assert case.task("reinvestigate").due_at == at("2026-03-23 23:59:59")  # 15 WD
    case.complete("reinvestigate", caseworker(region), INVESTIGATORS)
    assert case.open_ids() == ["opinion"]                            # re-assessed, new opinion


def test_an_investigation_needs_at_least_two_investigators(services):
    region = YUTAI_VILLAGE
    case = apply(services, han_jin())
    accept(case, region)
    case.complete("info_check", approver(region))
    case.complete("investigate", caseworker(region), {"investigators": ["张三"]})
    assert case.open_ids() == ["investigate"]                        # sent back
    case.complete("investigate", caseworker(region), INVESTIGATORS)
    assert case.open_ids() == ["opinion"]


def test_a_relative_of_staff_gets_a_county_home_visit_and_the_relative_is_kept_off_the_case(services):
    region = YUTAI_VILLAGE
    household_id = create_household(services, han_jin())
    relative = caseworker(region)
    with services.db.write() as s:
        referrals.register_relative(s, username=relative.username, household_id=household_id,
                                    relation="表兄", at=services.clock.now(), actor="admin")
    case = start(services, "application", household_id, region, actor=assistant(region))
    assert case.data["conflicts"] == {"has_conflict": True, "users": [relative.username]}
    with pytest.raises(NotAllowed):                                  # registered separately [N 57号]
        case.complete("accept", relative, {"accepted": True})
    other = Actor("cw2", "caseworker", region[:9])
    case.complete("accept", other, {"accepted": True})
    case.complete("info_check", approver(region))
    case.complete("investigate", other, INVESTIGATORS)
    visit = case.task("county_visit")                                # the county visits [N 57号]
    assert visit.candidate_group == "approver"
    case.complete("county_visit", approver(region), {"visited": True})
    assert case.open_ids() == ["opinion"]


def test_fast_path_dibao_recipient_meeting_tekun_conditions_goes_straight_to_publicity(services, clock):
    region = YUTAI_VILLAGE
    elderly = household_data(region, "rural", [member("孤老", "head", "1950-01-01", can_work=False)])
    case = apply(services, elderly)
    accept(case, region, route="tekun_from_dibao", consent=True)
    assert case.open_ids() == ["opinion"]                            # no investigation: data on file
    assert case.data["proposed"] == "tekun"
    through_publicity(services, clock, case, region)
    case.complete("confirm", approver(region), {"confirmed": True})
    assert case.decisions()[0]["programme"] == "tekun"
    actions = [a for a, _ in case.audit()]
    assert "task.completed" in actions
    assert not any(after and after.get("task") == "investigate" for _, after in case.audit())


def test_fast_path_needs_consent(services):
    region = YUTAI_VILLAGE
    case = apply(services, han_jin())
    accept(case, region, route="marginal_fast", consent=False)
    assert case.open_ids() == ["info_check", "investigate"]          # full procedure


def test_fast_path_marginal_family_meeting_dibao_goes_straight_to_confirmation(services):
    region = YUTAI_VILLAGE
    case = apply(services, han_jin())
    accept(case, region, route="marginal_fast", consent=True)
    assert case.open_ids() == ["confirm"]                            # 审核确认 at once
    case.complete("confirm", approver(region), {"confirmed": True})
    assert case.decisions()[0]["decision"] == "approved"


def test_a_refused_application_without_consent_to_the_marginal_register_ends_refused(services, clock):
    region = RENCHENG_COMMUNITY
    case = _refused_with_marginal(services, clock, "2640")
    case.complete("refusal_notice", caseworker(region))
    case.complete("marginal_consent", caseworker(region), {"marginal_consent": False})
    assert case.status == "completed"
    assert [d["decision"] for d in case.decisions()] == ["refused"]


def test_a_written_refusal_late_by_3_working_days_escalates(services, clock):
    region = RENCHENG_COMMUNITY
    case = _refused_with_marginal(services, clock, "2640")
    move_to(services, clock, at("2026-03-06 00:00"))
    assert case.escalations() == [(1, "supervisor", region[:9])]


def test_a_case_not_accepted_ends_at_once(services):
    case = apply(services, han_jin())
    case.complete("accept", caseworker(YUTAI_VILLAGE), {"accepted": False, "reason": "不配合调查"})
    assert case.status == "completed" and case.decisions() == []


def test_the_assessments_of_one_step_read_the_household_and_standard_once(services, monkeypatch):
    """dibao, tekun and charity assess in the same step as the join; they share one read of the
    household and the standard (bootstrap's plugin adapter keeps them for the step)."""
    from engine.casework import records

    region = YUTAI_VILLAGE
    case = apply(services, han_jin(), {"source": "village_report", "proxy": True})
    accept(case, region)
    case.complete("info_check", approver(region), {"checked": True})
    reads = {"household": 0, "standard": 0}
    get_household, standard_for = records.get_household, records.standard_for

    def counted_household(*args, **kwargs):
        reads["household"] += 1
        return get_household(*args, **kwargs)

    def counted_standard(*args, **kwargs):
        reads["standard"] += 1
        return standard_for(*args, **kwargs)

    monkeypatch.setattr(records, "get_household", counted_household)
    monkeypatch.setattr(records, "standard_for", counted_standard)
    case.complete("investigate", caseworker(region), INVESTIGATORS)
    data = case.data
    assert {"dibao_eligible", "dibao_monthly_amount"} <= set(data["dibao"])
    assert "tekun" in data and "charity" in data        # three assessments ran in this step
    assert reads == {"household": 1, "standard": 1}
