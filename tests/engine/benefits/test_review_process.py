"""The review process (processes/review.bpmn) changes the entitlement it reviews: a taper keeps
paying until the taper's end, a stop ends payment from the month the decision names."""

from __future__ import annotations

from engine.casework.benefits import entitlements
from tests.processes.conftest import YUTAI_VILLAGE, create_household, services, update_household, widow  # noqa: F401
from tests.processes.test_review import dibao_in_force, investigate_and_decide, review, with_wages


def _paid_from_march(services, household_id: int) -> int:  # noqa: F811 - the fixture's name
    with services.db.write() as s:
        return entitlements.create(s, household_id=household_id, programme="dibao", region_code=YUTAI_VILLAGE,
                                   monthly_fen=210000, start_month="2026-03", persons=3, actor="wang",
                                   at=services.clock.now()).id


def _entitlement(services, ent_id: int) -> dict:  # noqa: F811
    with services.db.read() as s:
        return entitlements.detail(s, ent_id)


def test_a_review_taper_pays_until_the_taper_ends(services):  # noqa: F811
    household = widow()
    household_id = create_household(services, household)
    ent_id = _paid_from_march(services, household_id)
    update_household(services, household_id, with_wages(household, "2500"))
    case = review(services, household, "dibao", dibao_in_force("2100.00"), flags=["employment"],
                  previous=household, household_id=household_id)
    investigate_and_decide(case, YUTAI_VILLAGE)
    ent = _entitlement(services, ent_id)
    assert (ent["status"], ent["end_month"]) == ("tapering", "2026-10")
    assert [(p["kind"], p["from_month"], p["until_month"], p["monthly_amount"]) for p in ent["periods"]] == [
        ("pay", "2026-03", "2026-04", "2100.00"), ("taper", "2026-04", "2026-10", "2100.00")]
    assert ent["changes"][-1]["action"] == "taper" and ent["changes"][-1]["case_id"] == case.id


def test_a_review_stop_ends_payment_from_the_next_month(services):  # noqa: F811
    household = widow()
    household_id = create_household(services, household)
    ent_id = _paid_from_march(services, household_id)
    update_household(services, household_id, with_wages(household, "4000", employed=False))
    case = review(services, household, "dibao", dibao_in_force("2100.00"), flags=["income_change"],
                  household_id=household_id)
    investigate_and_decide(case, YUTAI_VILLAGE)
    ent = _entitlement(services, ent_id)
    assert (ent["status"], ent["end_month"]) == ("stopped", "2026-04")
    assert "入户核实属实" in ent["changes"][-1]["reasons"]
