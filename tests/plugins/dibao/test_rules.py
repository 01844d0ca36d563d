"""Dibao rules (plugins/dibao): DOMAIN §3.1, §3.4 and the acceptance scenarios 1–3 of §7."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.casework.assessment import assess_programme
from engine.casework.types import Assessment, ServiceRequest
from engine.errors import ValidationError
from engine.plugins import load_form
from plugins.dibao import operations, rules, schemas

AS_OF = date(2023, 4, 1)


def dibao(pm, household, standard, settings, **kwargs):
    return assess_programme(pm, programme="dibao", household=household, standard=standard,
                            as_of=kwargs.pop("as_of", AS_OF), settings=settings, **kwargs)


@pytest.fixture
def han_jin(build):
    """Scenario 1: rural household of 4, farm net 400 a month, 50 000 out-of-pocket medical."""
    return build.household([
        build.member(name="韩进", born="1980-01-01", disability={"category": "physical", "grade": 3},
                     income={"business": "400"}),
        build.member(relation="spouse", born="1982-03-03", sex="F",
                     disability={"category": "intellectual", "grade": 2}),
        build.member(relation="son", born="2008-08-08", in_school="compulsory",
                     disability={"category": "intellectual", "grade": 3}),
        build.member(relation="daughter", born="2012-12-12", sex="F", in_school="compulsory",
                     disability={"category": "intellectual", "grade": 3}),
    ], expenses_12m={"medical": "50000"})


@pytest.fixture
def chenchen(build):
    """Scenario 2: household of 4, income 3412 a month, 28 800 medical in 12 months."""
    return build.household([
        build.member(name="父亲", born="1990-02-02", income={"wages": "2000"}),
        build.member(relation="spouse", born="1992-06-06", sex="F", income={"wages": "1412"}),
        # The scenario records no critical-illness recognition (重特大疾病认定) for 辰辰; with one,
        # see test_recorded_critical_illness_makes_chenchen_a_single_person_household.
        build.member(name="辰辰", relation="son", born="2019-01-15"),
        build.member(relation="mother", born="1962-09-09", sex="F"),
    ], expenses_12m={"medical": "28800"})


def urban_three(build, total_income: str):
    """Scenario 3: urban household of 3 in 任城; all income on the head."""
    return build.household([
        build.member(born="1980-01-01", income={"wages": total_income}),
        build.member(relation="spouse", born="1981-01-01", sex="F"),
        build.member(relation="son", born="2015-01-01", in_school="compulsory"),
    ], hukou="urban", region_code="370811001001")


# --------------------------------------------------------------------------- scenario 1

def test_han_jin_gets_2800_a_month_with_the_rigid_expenditure_deduction(pm, han_jin, jining_2022,
                                                                       settings):
    answer = dibao(pm, han_jin, jining_2022, settings)
    assert answer.eligible
    assert answer.monthly_amount == Decimal("2800")
    assert answer.covered_members == (0, 1, 2, 3)
    assert answer.details["per_capita_income"] == "0.00"  # 50 000 ÷ 12 > 400: y floors at 0
    assert "dibao.rigid_expenditure_deducted" in answer.reason_codes


def test_han_jin_gets_2400_a_month_without_the_deduction(pm, han_jin, jining_2022, settings_with):
    answer = dibao(pm, han_jin, jining_2022,
                   settings_with({"casework.deduct_rigid_expenditure": False}))
    assert answer.monthly_amount == Decimal("2400")  # (700 − 100) × 4
    assert "dibao.rigid_expenditure_deducted" not in answer.reason_codes


def test_han_jin_answer_matches_the_design_contract(pm, han_jin, jining_2022, settings):
    assert dibao(pm, han_jin, jining_2022, settings).to_dict() == {
        "programme": "dibao", "eligible": True, "monthly_amount": "2800.00",
        "one_off_amount": "0.00", "covered_members": [0, 1, 2, 3], "marginal": None,
        "reasons": [{"code": r.code, "message": r.message}
                    for r in dibao(pm, han_jin, jining_2022, settings).reasons],
        "rule_version": rules.RULE_VERSION}


# --------------------------------------------------------------------------- scenario 2

def test_chenchen_gets_1788_a_month_after_the_deduction(pm, chenchen, jining_2022, settings):
    answer = dibao(pm, chenchen, jining_2022, settings, as_of=date(2023, 2, 15))
    assert answer.eligible
    assert answer.details["per_capita_income"] == "253.00"  # (3412 − 28 800 ÷ 12) ÷ 4
    assert jining_2022.dibao_rural - Decimal("253") == 447  # the identity the scenario fixes
    assert answer.monthly_amount == Decimal("1788")


def test_chenchen_is_refused_without_the_deduction(pm, chenchen, jining_2022, settings_with):
    answer = dibao(pm, chenchen, jining_2022,
                   settings_with({"casework.deduct_rigid_expenditure": False}),
                   as_of=date(2023, 2, 15))
    assert not answer.eligible
    assert answer.to_dict()["monthly_amount"] == "0.00"
    assert "dibao.income_not_below_standard" in answer.reason_codes
    assert answer.marginal == "income"  # 853 < 2 × 700


def test_recorded_critical_illness_makes_chenchen_a_single_person_household(
        pm, build, chenchen, jining_2022, settings_with):
    """Without the deduction the family is refused but marginal (y = 853 < 1400); a member with a
    recognised critical illness in a marginal family may then be enrolled alone [N 57号 Art 8]."""
    members = [m.to_dict() for m in chenchen.members]
    members[2]["critical_illness"] = True
    household = build.household(members, expenses_12m={"medical": "28800"})
    answer = dibao(pm, household, jining_2022,
                   settings_with({"casework.deduct_rigid_expenditure": False}),
                   as_of=date(2023, 2, 15))
    assert answer.eligible and answer.covered_members == (2,)
    assert answer.monthly_amount == Decimal("700") and answer.marginal == "income"


def test_chenchen_is_paid_from_march_when_approved_in_february(pm, chenchen, jining_2022,
                                                               settings):
    answer = dibao(pm, chenchen, jining_2022, settings, as_of=date(2023, 2, 15))
    granted = rules.entitlement(assessment=answer, decided_on=date(2023, 2, 20))
    assert granted.start_month == date(2023, 3, 1)
    assert granted.monthly_amount == Decimal("1788")


# --------------------------------------------------------------------------- scenario 3

def test_refuses_dibao_when_income_equals_standard(pm, build, jining_2022, settings):
    answer = dibao(pm, urban_three(build, "2640"), jining_2022, settings)
    assert not answer.eligible
    assert answer.monthly_amount == 0 and answer.covered_members == ()
    assert "dibao.income_not_below_standard" in answer.reason_codes


def test_proposes_the_income_type_marginal_register_when_income_equals_standard(
        pm, build, jining_2022, settings):
    answer = dibao(pm, urban_three(build, "2640"), jining_2022, settings)
    assert answer.marginal == "income"
    assert "dibao.marginal_income" in answer.reason_codes


def test_pays_three_a_month_when_income_is_one_yuan_per_person_below_the_standard(
        pm, build, jining_2022, settings):
    answer = dibao(pm, urban_three(build, "2637"), jining_2022, settings)  # y = 879
    assert answer.eligible
    assert answer.to_dict()["monthly_amount"] == "3.00"


def test_income_at_twice_the_standard_is_not_marginal(pm, build, jining_2022, settings):
    answer = dibao(pm, urban_three(build, "5280"), jining_2022, settings)  # y = 1760
    assert answer.marginal is None
    assert "dibao.not_marginal" in answer.reason_codes


def test_income_one_yuan_under_twice_the_standard_is_marginal(pm, build, jining_2022, settings):
    answer = dibao(pm, urban_three(build, "5277"), jining_2022, settings)  # y = 1759
    assert answer.marginal == "income"


def test_eligibility_compares_the_exact_per_capita_income(pm, build, jining_2022, settings):
    # 2639.99 ÷ 3 = 879.996…, which would show as 880.00 but is below 880
    answer = dibao(pm, urban_three(build, "2639.99"), jining_2022, settings)
    assert answer.eligible
    assert answer.monthly_amount == Decimal("3")  # the 1-yuan minimum per person


def test_marginal_multiplier_falls_back_to_the_setting_when_the_standard_has_none(
        pm, build, standard_with, settings_with):
    standard = standard_with(marginal_multiplier=None)
    national = settings_with({"dibao.marginal_multiplier_fallback": "1.5"})
    assert dibao(pm, urban_three(build, "3957"), standard, national).marginal == "income"
    assert dibao(pm, urban_three(build, "3960"), standard, national).marginal is None  # 1320


def test_marginal_expenditure_type_when_only_the_deduction_brings_income_under_the_limit(
        pm, build, jining_2022, settings):
    household = build.household([build.member(income={"wages": "3000"})],
                                expenses_12m={"medical": "24000"})  # 3000 − 2000 = 1000 ≥ 700
    answer = dibao(pm, household, jining_2022, settings)
    assert not answer.eligible
    assert answer.marginal == "expenditure"


# --------------------------------------------------------------------------- amounts

def test_rounds_the_monthly_amount_half_up_to_the_configured_unit(pm, build, jining_2022,
                                                                  settings_with):
    household = build.household([build.member(income={"wages": "100.50"})])  # gap 599.50
    assert dibao(pm, household, jining_2022,
                 settings_with({})).monthly_amount == Decimal("600")
    assert dibao(pm, household, jining_2022,
                 settings_with({"casework.rounding_unit": "0.01"})).monthly_amount \
        == Decimal("599.50")
    assert dibao(pm, household, jining_2022,
                 settings_with({"casework.rounding_unit": "10"})).monthly_amount == Decimal("600")


def test_minimum_payment_raises_a_tiny_gap(pm, build, jining_2022, settings_with):
    answer = dibao(pm, urban_three(build, "2639"), jining_2022,
                   settings_with({"dibao.minimum_amount_per_person": "10"}))
    assert answer.monthly_amount == Decimal("30")
    assert "dibao.minimum_payment_applied" in answer.reason_codes


def test_counts_support_of_able_supporters_even_when_unpaid(pm, build, jining_2022, settings):
    household = build.household([build.member(born="1950-01-01")], supporters=[
        {"name": "儿子", "relation": "son", "able": True, "monthly_support": "500",
         "actually_paid": "0"}])
    answer = dibao(pm, household, jining_2022, settings)
    assert answer.monthly_amount == Decimal("200")
    assert "dibao.support_counted" in answer.reason_codes


def test_support_set_aside_by_deliberation_or_unable_is_not_counted(pm, build, jining_2022,
                                                                    settings):
    household = build.household([build.member(born="1950-01-01")], supporters=[
        {"name": "儿子", "relation": "son", "able": True, "monthly_support": "500",
         "support_set_aside": True},
        {"name": "女儿", "relation": "daughter", "able": False, "monthly_support": "300"}])
    assert dibao(pm, household, jining_2022, settings).monthly_amount == Decimal("700")


def test_refuses_when_deposits_exceed_the_per_capita_limit(pm, build, standard_with, settings):
    standard = standard_with(deposit_limit_per_capita=Decimal("10000"))
    rich = build.household([build.member(), build.member(relation="spouse", sex="F")],
                           assets={"deposits": "20000.02"})
    answer = dibao(pm, rich, standard, settings)
    assert not answer.eligible and answer.marginal is None
    assert "dibao.property_over_limit" in answer.reason_codes
    within = build.household([build.member()], assets={"deposits": "10000"})
    assert dibao(pm, within, standard, settings).eligible


def test_refuses_until_property_is_investigated_when_a_limit_applies(pm, build, standard_with,
                                                                     settings):
    answer = dibao(pm, build.household([build.member()]),
                   standard_with(deposit_limit_per_capita=Decimal("10000")), settings)
    assert answer.reason_codes[-1] == "dibao.property_not_investigated"


# --------------------------------------------------------------------------- single-person

def marginal_family(build, **member):
    """A family of 3 with y = 1000: not dibao, marginal (< 1400) at the rural standard."""
    return build.household([
        build.member(income={"wages": "3000"}),
        build.member(relation="spouse", sex="F", born="1986-01-01", **member),
        build.member(relation="son", born="2012-01-01"),
    ])


def test_severely_disabled_member_of_a_marginal_family_is_a_single_person_household(
        pm, build, jining_2022, settings):
    household = marginal_family(build, disability={"category": "physical", "grade": 1},
                                employed=True, income={"wages": "150"})
    answer = dibao(pm, household, jining_2022, settings)
    assert answer.eligible and answer.marginal == "income"
    assert answer.covered_members == (1,)
    assert answer.monthly_amount == Decimal("550")  # 700 − her own 150
    assert "dibao.single_person_marginal_family" in answer.reason_codes


def test_critically_ill_member_of_a_marginal_family_is_a_single_person_household(
        pm, build, jining_2022, settings):
    answer = dibao(pm, marginal_family(build, critical_illness=True), jining_2022, settings)
    assert answer.covered_members == (1,) and answer.monthly_amount == Decimal("700")


def test_no_single_person_household_when_the_family_is_not_marginal(pm, build, jining_2022,
                                                                    settings):
    household = build.household([build.member(income={"wages": "5000"}),
                                 build.member(relation="spouse", sex="F", critical_illness=True)])
    answer = dibao(pm, household, jining_2022, settings)  # y = 2500 ≥ 1400
    assert not answer.eligible and answer.covered_members == ()


def test_unemployed_adult_with_severe_disability_applies_as_a_single_person_household(
        pm, build, jining_2022, settings):
    household = build.household([
        build.member(born="1960-01-01", income={"wages": "6000"}),
        build.member(relation="son", born="1995-01-01",
                     disability={"category": "mental", "grade": 3})],
        supporters=[{"name": "姐姐", "relation": "sister", "able": True, "monthly_support": "300",
                     "supports_member": 1}])
    answer = dibao(pm, household, jining_2022, settings)  # family y = 3150: not marginal
    assert answer.covered_members == (1,)
    assert answer.monthly_amount == Decimal("700")  # the sister's support is ignored [N 2022]
    assert "dibao.single_person_severe_disability" in answer.reason_codes


def test_sibling_support_counts_when_the_ignore_setting_is_off(pm, build, jining_2022,
                                                               settings_with):
    household = build.household([
        build.member(born="1960-01-01", income={"wages": "6000"}),
        build.member(relation="son", born="1995-01-01",
                     disability={"category": "mental", "grade": 3})],
        supporters=[{"name": "姐姐", "relation": "sister", "able": True, "monthly_support": "300",
                     "supports_member": 1}])
    answer = dibao(pm, household, jining_2022,
                   settings_with({"dibao.ignore_sibling_and_elderly_support": False}))
    assert answer.monthly_amount == Decimal("400")


def test_employed_disabled_adult_is_not_a_single_person_household(pm, build, jining_2022,
                                                                  settings):
    household = build.household([
        build.member(born="1960-01-01", income={"wages": "6000"}),
        build.member(relation="son", born="1995-01-01", employed=True,
                     disability={"category": "physical", "grade": 2})])
    assert not dibao(pm, household, jining_2022, settings).eligible


def test_excluded_members_are_neither_counted_nor_covered(build, jining_2022, settings):
    household = build.household([build.member(born="1940-01-01"),
                                 build.member(relation="granddaughter", born="2015-01-01",
                                              income={"transfer": "300"})])
    answer = rules.assess(household=household, standard=jining_2022, as_of=AS_OF,
                          settings=rules.DibaoSettings.from_mapping(settings),
                          excluded={0: "tekun"})
    assert answer.covered_members == (1,) and answer.monthly_amount == Decimal("400")
    everyone = rules.assess(household=household, standard=jining_2022, as_of=AS_OF,
                            settings=rules.DibaoSettings.from_mapping(settings),
                            excluded={0: "tekun", 1: "tekun"})
    assert not everyone.eligible and everyone.reason_codes == ("dibao.no_members_counted",)


# --------------------------------------------------------------------------- review

def review(household, standard, settings, in_force, **kwargs):
    return rules.review(household=household, standard=standard, as_of=date(2023, 5, 15),
                        in_force=in_force, settings=rules.DibaoSettings.from_mapping(settings),
                        previous_household=kwargs.pop("previous", None), **kwargs)


def on_dibao(amount: str) -> Assessment:
    return Assessment(programme="dibao", eligible=True, rule_version=rules.RULE_VERSION,
                      monthly_amount=Decimal(amount), covered_members=(0, 1, 2))


def test_review_continues_when_nothing_material_changed(build, jining_2022, settings):
    result = review(urban_three(build, "1800"), jining_2022, settings, on_dibao("840"))
    assert result.action == "continue" and result.monthly_amount == Decimal("840")


def test_review_adjusts_the_amount_from_next_month(build, jining_2022, settings):
    result = review(urban_three(build, "2100"), jining_2022, settings, on_dibao("840"))
    assert result.action == "adjust" and result.monthly_amount == Decimal("540")
    assert result.effective_from == date(2023, 6, 1)


def test_review_tapers_when_employment_lifts_income_above_the_standard(build, jining_2022,
                                                                       settings):
    before = urban_three(build, "1800")
    after_members = [dict(m.to_dict()) for m in before.members]
    after_members[0]["employed"] = True
    after_members[0]["income"]["wages"] = "3000"
    after = build.household(after_members, hukou="urban", region_code="370811001001")
    result = review(after, jining_2022, settings, on_dibao("840"), previous=before)
    assert result.action == "taper"
    assert result.monthly_amount == Decimal("840")  # paid in full during the taper
    assert result.taper_ends == date(2023, 12, 1)  # June … November paid, 6 months [A]


def test_taper_length_is_a_setting_and_may_not_exceed_six_months(build, jining_2022,
                                                                 settings_with):
    before = urban_three(build, "1800")
    members = [m.to_dict() for m in before.members]
    members[0].update(employed=True, income={"wages": "3000"})
    after = build.household(members, hukou="urban", region_code="370811001001")
    result = review(after, jining_2022, settings_with({"dibao.taper_months": 3}),
                    on_dibao("840"), previous=before)
    assert result.taper_ends == date(2023, 9, 1)
    with pytest.raises(ValidationError) as refused:
        settings_with({"dibao.taper_months": 7})  # refused when the configuration is loaded
    assert "dibao.taper_months" in refused.value.fields


def test_review_stops_when_income_rises_without_employment(build, jining_2022, settings):
    before = urban_three(build, "1800")
    members = [m.to_dict() for m in before.members]
    members[0]["income"] = {"wages": "1800", "transfer": "1500"}
    after = build.household(members, hukou="urban", region_code="370811001001")
    result = review(after, jining_2022, settings, on_dibao("840"), previous=before)
    assert result.action == "stop" and result.monthly_amount == 0
    assert result.effective_from == date(2023, 6, 1)
    assert "dibao.review_stop" in [r.code for r in result.reasons]


def test_taper_keeps_paying_until_it_ends_then_stops(build, jining_2022, settings):
    household = urban_three(build, "3000")
    running = review(household, jining_2022, settings, on_dibao("840"),
                     taper_ends=date(2023, 12, 1))
    assert running.action == "taper" and running.monthly_amount == Decimal("840")
    ended = rules.review(household=household, standard=jining_2022, as_of=date(2023, 12, 1),
                         in_force=on_dibao("840"), previous_household=None,
                         settings=rules.DibaoSettings.from_mapping(settings),
                         taper_ends=date(2023, 12, 1))
    assert ended.action == "stop"


# --------------------------------------------------------------------------- referrals, forms

def test_han_jin_is_referred_for_medical_assistance_and_disability_subsidies(han_jin, jining_2022,
                                                                            settings):
    s = rules.DibaoSettings.from_mapping(settings)
    answer = rules.assess(household=han_jin, standard=jining_2022, as_of=AS_OF, settings=s)
    targets = rules.referral_targets(household=han_jin, assessment=answer, settings=s)
    assert [t.department for t in targets] == ["medical_insurance", "disabled_federation"]
    assert all(t.due_working_days == 5 and t.feedback_required for t in targets)


def test_application_form_requires_consent_keyed_by_field_name():
    with pytest.raises(ValidationError) as refused:
        load_form(schemas.ApplicationSchema, {"applicant_member": 0, "applied_on": "2023-03-01",
                                              "consent_information_check": False,
                                              "integrity_pledge": True})
    assert set(refused.value.fields) == {"consent_information_check"}


def test_dibao_takes_no_options_and_refuses_unknown_ones(pm, han_jin, jining_2022, settings):
    with pytest.raises(ValidationError) as refused:
        dibao(pm, han_jin, jining_2022, settings, options={"relief_type": "emergency"})
    assert "options.relief_type" in refused.value.fields


def test_assess_operation_returns_json_safe_task_data(han_jin, jining_2022, settings):
    data = operations.assess(ServiceRequest(operation="dibao.assess", params={},
                                            household=han_jin, standard=jining_2022,
                                            as_of=AS_OF, settings=settings))
    assert data["dibao_eligible"] is True and data["dibao_monthly_amount"] == "2800.00"
    assert data["dibao_covered_members"] == [0, 1, 2, 3]


def test_entitlement_operation_gives_the_start_month(chenchen, jining_2022, settings):
    data = operations.entitlement(ServiceRequest(
        operation="dibao.entitlement", params={"decided_on": "2023-02-20"}, household=chenchen,
        standard=jining_2022, as_of=date(2023, 2, 15), settings=settings))
    assert data == {"dibao_start_month": "2023-03-01", "dibao_monthly_amount": "1788.00"}
