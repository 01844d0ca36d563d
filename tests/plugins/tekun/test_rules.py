"""Extreme-poverty support rules (plugins/tekun): DOMAIN §3.2 and scenario 4 of §7."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.casework.assessment import assess_programme, review
from engine.casework.types import Assessment, ServiceRequest
from engine.errors import ValidationError
from plugins.tekun import operations, rules

APPLIED = date(2022, 9, 1)


def tekun(pm, household, standard, settings, as_of=APPLIED, **options):
    return assess_programme(pm, programme="tekun", household=household, standard=standard,
                            as_of=as_of, settings=settings, options=options)


GRANDMOTHER = {"name": "奶奶", "relation": "grandmother", "birth_date": "1944-03-01",
               "able": False, "monthly_income": "300", "property_within_limits": True}


@pytest.fixture
def liangshan_boy(build):
    """Scenario 4: born 2005-06-10, both parents dead, grandmother 78 with 300 a month."""
    return build.household([build.member(born="2005-06-10", relation="head", orphan=True,
                                         in_school="senior_high", self_care_lost=0)],
                           region_code="370832100200", supporters=[GRANDMOTHER])


def boy_at(build, in_school: str):
    return build.household([build.member(born="2005-06-10", orphan=True, in_school=in_school)],
                           region_code="370832100200", supporters=[GRANDMOTHER])


def in_force_1080() -> Assessment:
    return Assessment(programme="tekun", eligible=True, rule_version=rules.RULE_VERSION,
                      monthly_amount=Decimal("1080"), covered_members=(0,))


# --------------------------------------------------------------------------- scenario 4

def test_minor_aged_17_gets_1080_a_month_under_the_jining_age_cap(pm, liangshan_boy,
                                                                   jining_2022, settings):
    answer = tekun(pm, liangshan_boy, jining_2022, settings, prefers_orphan_allowance=False)
    assert answer.eligible and answer.covered_members == (0,)
    assert answer.to_dict()["monthly_amount"] == "1080.00"  # 910 + 170
    assert {"tekun.cannot_work_minor", "tekun.supporter_unable",
            "tekun.tekun_chosen_over_orphan_allowance", "tekun.amount"} <= set(answer.reason_codes)


def test_same_minor_fails_under_the_national_age_cap_of_16(pm, liangshan_boy, jining_2022,
                                                            settings_with):
    answer = tekun(pm, liangshan_boy, jining_2022, settings_with({"tekun.minor_age_cap": 16}),
                   prefers_orphan_allowance=False)
    assert not answer.eligible
    assert answer.reason_codes == ("tekun.can_work",)


def test_forces_a_minor_to_choose_between_tekun_and_the_orphan_allowance(pm, liangshan_boy,
                                                                         jining_2022, settings):
    with pytest.raises(ValidationError) as refused:
        tekun(pm, liangshan_boy, jining_2022, settings)
    assert list(refused.value.fields) == ["options.prefers_orphan_allowance"]


def test_choosing_the_orphan_allowance_means_no_tekun(pm, liangshan_boy, jining_2022, settings):
    answer = tekun(pm, liangshan_boy, jining_2022, settings, prefers_orphan_allowance=True)
    assert not answer.eligible
    assert answer.reason_codes[-1] == "tekun.orphan_allowance_chosen"


def test_tekun_is_paid_from_the_month_after_confirmation(pm, liangshan_boy, jining_2022,
                                                         settings):
    answer = tekun(pm, liangshan_boy, jining_2022, settings, prefers_orphan_allowance=False)
    granted = rules.entitlement(assessment=answer, decided_on=date(2022, 9, 28))
    assert granted.start_month == date(2022, 10, 1)
    assert granted.monthly_amount == Decimal("1080")


def test_support_continues_at_18_while_in_senior_high_school(pm, build, jining_2022, settings):
    result = review(pm, household=boy_at(build, "senior_high"), standard=jining_2022,
                    as_of=date(2023, 6, 10), in_force=in_force_1080(), settings=settings)
    assert result.action == "continue" and result.monthly_amount == Decimal("1080")
    assert "tekun.continues_in_school" in [r.code for r in result.reasons]


def test_support_terminates_at_18_when_not_in_school(pm, build, jining_2022, settings):
    result = review(pm, household=boy_at(build, "none"), standard=jining_2022,
                    as_of=date(2023, 6, 10), in_force=in_force_1080(), settings=settings)
    assert result.action == "stop" and result.monthly_amount == 0
    assert result.publicity_days == 7
    assert result.effective_from == date(2023, 7, 1)  # after 7 days' publicity, next month
    assert result.follow_up == ("dibao", "linshi")
    assert "tekun.minor_reached_cap_not_in_school" in [r.code for r in result.reasons]


def test_a_new_applicant_of_18_in_school_does_not_qualify_as_a_minor(pm, build, jining_2022,
                                                                     settings):
    answer = tekun(pm, boy_at(build, "senior_high"), jining_2022, settings, as_of=date(2023, 7, 1))
    assert not answer.eligible and answer.reason_codes == ("tekun.can_work",)


def test_review_adjusts_when_the_self_care_tier_changes(pm, build, jining_2022, settings):
    household = build.household([build.member(born="1940-01-01", self_care_lost=4)])
    in_force = Assessment(programme="tekun", eligible=True, rule_version=rules.RULE_VERSION,
                          monthly_amount=Decimal("1080"), covered_members=(0,))
    result = review(pm, household=household, standard=jining_2022, as_of=date(2023, 3, 3),
                    in_force=in_force, settings=settings)
    assert result.action == "adjust" and result.monthly_amount == Decimal("1490")  # 910 + 580


# --------------------------------------------------------------------------- the three tests

@pytest.mark.parametrize("lost, amount", [(0, "1314"), (1, "1434"), (3, "1434"), (4, "1724"),
                                          (6, "1724")])
def test_amount_is_basic_living_plus_the_self_care_tier(pm, build, jining_2022, settings,
                                                        lost, amount):
    household = build.household([build.member(born="1950-01-01", self_care_lost=lost)],
                                hukou="urban")
    assert tekun(pm, household, jining_2022, settings).monthly_amount == Decimal(amount)


def test_basic_living_is_filled_from_the_dibao_standard_when_missing(pm, build, standard_with,
                                                                     settings):
    standard = standard_with(tekun_rural=None, dibao_rural=Decimal("615"))
    household = build.household([build.member(born="1950-01-01")])
    assert tekun(pm, household, standard, settings).monthly_amount == Decimal("970")  # 800 + 170


@pytest.mark.parametrize("category, grade, qualifies", [
    ("intellectual", 3, True), ("mental", 1, True), ("physical", 2, True), ("physical", 3, False),
    ("visual", 1, True), ("visual", 2, False), ("hearing", 1, False)])
def test_disability_grades_that_mean_cannot_work(pm, build, jining_2022, settings, category,
                                                 grade, qualifies):
    household = build.household([build.member(born="1980-01-01",
                                              disability={"category": category, "grade": grade})])
    assert tekun(pm, household, jining_2022, settings).eligible is qualifies


def test_own_income_not_below_the_dibao_standard_means_a_means_of_living(pm, build, jining_2022,
                                                                         settings):
    household = build.household([build.member(born="1950-01-01", income={"transfer": "700"})])
    answer = tekun(pm, household, jining_2022, settings)
    assert not answer.eligible
    assert answer.reason_codes[-1] == "tekun.income_not_below_standard"


def test_an_able_supporter_rules_tekun_out(pm, build, jining_2022, settings):
    household = build.household([build.member(born="1950-01-01")], supporters=[
        {"name": "儿子", "relation": "son", "birth_date": "1975-01-01", "able": True,
         "monthly_support": "0"}])
    answer = tekun(pm, household, jining_2022, settings)
    assert answer.reason_codes[-1] == "tekun.supporter_able"


def test_an_adult_member_living_in_the_household_counts_as_a_supporter(pm, build, jining_2022,
                                                                       settings):
    household = build.household([  # 韩进's family: his wife cannot work, but he can support her
        build.member(born="1980-01-01", disability={"category": "physical", "grade": 3}),
        build.member(relation="spouse", sex="F", born="1982-03-03",
                     disability={"category": "intellectual", "grade": 2})])
    assert not tekun(pm, household, jining_2022, settings).eligible


@pytest.mark.parametrize("supporter", [
    {"circumstances": ["tekun_recipient"]},
    {"circumstances": ["dibao_recipient"], "birth_date": "1960-01-01"},
    {"circumstances": ["missing"], "property_within_limits": True},
    {"circumstances": ["imprisoned"], "property_within_limits": True},
    {"circumstances": ["no_civil_capacity"], "property_within_limits": True},
    {"birth_date": "1950-01-01", "monthly_income": "2000", "property_within_limits": True},
    {"birth_date": "1980-01-01", "disability": {"category": "physical", "grade": 1},
     "monthly_income": "0", "property_within_limits": True},
], ids=["tekun", "dibao-60", "missing", "prison", "no-capacity", "aged-70", "severe-disability"])
def test_every_statutory_ground_makes_a_supporter_unable(pm, build, jining_2022, settings,
                                                         supporter):
    household = build.household([build.member(born="1948-01-01")], supporters=[
        {"name": "义务人", "relation": "son", "able": False, **supporter}])
    answer = tekun(pm, household, jining_2022, settings)
    assert answer.eligible, answer.reason_codes


@pytest.mark.parametrize("supporter", [
    {"circumstances": ["dibao_recipient"], "birth_date": "1970-01-01"},  # on dibao but under 60
    {"circumstances": ["missing"]},  # property not established
    {"birth_date": "1950-01-01", "monthly_income": "2500", "property_within_limits": True},
    {"birth_date": "1955-01-01", "monthly_income": "0", "property_within_limits": True},  # 67
], ids=["dibao-under-60", "missing-no-property-test", "aged-70-income-too-high", "aged-67"])
def test_a_supporter_outside_the_grounds_is_able(pm, build, jining_2022, settings, supporter):
    household = build.household([build.member(born="1948-01-01")], supporters=[
        {"name": "义务人", "relation": "son", "able": False, **supporter}])
    assert not tekun(pm, household, jining_2022, settings).eligible


def test_supporter_income_test_needs_last_years_disposable_income(pm, liangshan_boy,
                                                                  standard_with, settings):
    answer = tekun(pm, liangshan_boy, standard_with(disposable_income_last_year=None), settings,
                   prefers_orphan_allowance=False)
    assert answer.reason_codes[-1] == "tekun.supporter_income_test_unavailable"


def test_self_care_operation_names_the_tier_and_care_standard(jining_2022, settings):
    data = operations.self_care(ServiceRequest(
        operation="tekun.self_care", params={"self_care_lost": 2}, household=None,
        standard=jining_2022, as_of=APPLIED, settings=settings))
    assert data == {"tekun_care_tier": "partial", "tekun_care_amount": "290.00"}


def test_application_form_needs_a_carer_for_home_support():
    from engine.plugins import load_form
    from plugins.tekun.schemas import ApplicationSchema

    with pytest.raises(ValidationError) as refused:
        load_form(ApplicationSchema, {"applicant_member": 0, "applied_on": "2022-09-01",
                                      "consent_information_check": True, "support_form": "home"})
    assert set(refused.value.fields) == {"carer_name", "carer_agreement_signed"}
