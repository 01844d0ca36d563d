"""Temporary relief rules (plugins/linshi): DOMAIN §3.3 and scenarios 1, 2 and 5 of §7."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.casework.assessment import assess_programme
from engine.casework.types import ServiceRequest
from engine.errors import ValidationError
from plugins.linshi import operations, rules

D = Decimal


def linshi(pm, household, standard, settings, as_of=date(2023, 5, 10), **options):
    return assess_programme(pm, programme="linshi", household=household, standard=standard,
                            as_of=as_of, settings=settings, options=options)


@pytest.fixture
def jinxiang_family(build):
    """Scenario 5: rural household of 3 in 金乡, not on dibao."""
    return build.household([build.member(income={"wages": "2500"}),
                            build.member(relation="spouse", sex="F", born="1987-01-01"),
                            build.member(relation="son", born="2014-01-01")],
                           region_code="370828100100")


@pytest.fixture
def linshi_settings(settings):
    return rules.LinshiSettings.from_mapping(settings)


# --------------------------------------------------------------------------- scenario 5

def test_fire_8000_township_pays_3000_now_and_the_county_approves_5000(pm, jinxiang_family,
                                                                       jining_2022, settings):
    answer = linshi(pm, jinxiang_family, jining_2022, settings, relief_type="emergency",
                    requested_amount="8000", cause="fire")
    assert answer.eligible and answer.to_dict()["one_off_amount"] == "8000.00"
    assert answer.to_dict()["monthly_amount"] == "0.00"
    assert answer.details["pay_first_amount"] == "3000"
    assert answer.details["approving_level"] == "county"
    assert answer.reason_codes[-2:] == ("linshi.route_pay_first", "linshi.route_remainder")


def test_emergency_split_names_both_tranches(jining_2022, linshi_settings):
    routing = rules.route(D("8000"), "emergency", jining_2022, linshi_settings)
    assert [(t.level, t.amount, t.pay_first) for t in routing.tranches] == [
        ("township", D("3000"), True), ("county", D("5000"), False)]


def test_township_approving_3001_is_refused_and_routed_to_the_county(jining_2022):
    check = rules.approve(D("3001"), "township", jining_2022)
    assert not check.allowed and check.route_to == "county" and check.limit == D("3000")
    assert check.reason.code == "linshi.approval_refused"


def test_township_may_approve_exactly_its_limit(jining_2022):
    assert rules.approve(D("3000"), "township", jining_2022).allowed


def test_county_approves_the_remaining_5000(jining_2022):
    check = rules.approve(D("5000"), "county", jining_2022)
    assert check.allowed and check.route_to is None


def test_emergency_within_the_township_limit_is_paid_first_by_the_township(jining_2022,
                                                                           linshi_settings):
    routing = rules.route(D("2000"), "emergency", jining_2022, linshi_settings)
    assert routing.approving_level == "township"
    assert [(t.level, t.amount, t.pay_first) for t in routing.tranches] == [
        ("township", D("2000"), True)]


# --------------------------------------------------------------------------- scenarios 1 and 2

def test_han_jin_10000_expenditure_relief_goes_whole_to_the_county(jining_2022, linshi_settings):
    routing = rules.route(D("10000"), "expenditure", jining_2022, linshi_settings)
    assert [(t.level, t.amount, t.pay_first) for t in routing.tranches] == [
        ("county", D("10000"), False)]
    assert routing.reasons[0].code == "linshi.route_whole"


def test_chenchen_15000_goes_to_the_city_tier_above_a_configured_county_limit(
        pm, build, standard_with, settings):
    household = build.household([build.member(income={"wages": "3412"})],
                                expenses_12m={"medical": "28800"})
    standard = standard_with(county_relief_limit=D("10000"))
    answer = linshi(pm, household, standard, settings, relief_type="expenditure",
                    requested_amount="15000", cause="medical")
    assert answer.eligible and answer.details["approving_level"] == "city"
    assert not rules.approve(D("15000"), "county", standard).allowed
    assert rules.approve(D("15000"), "county", standard).route_to == "city"
    assert rules.approve(D("15000"), "city", standard).allowed


def test_county_limit_setting_is_the_fallback_when_the_standard_has_none(jining_2022,
                                                                         settings_with):
    configured = rules.LinshiSettings.from_mapping(
        settings_with({"linshi.county_relief_limit": "10000"}))
    assert rules.route(D("15000"), "expenditure", jining_2022,
                       configured).approving_level == "city"


def test_without_a_county_limit_15000_stays_with_the_county(jining_2022, linshi_settings):
    assert rules.route(D("15000"), "expenditure", jining_2022,
                       linshi_settings).approving_level == "county"


def test_emergency_above_the_county_limit_pays_first_and_sends_the_rest_to_the_city(
        standard_with, linshi_settings):
    routing = rules.route(D("20000"), "emergency", standard_with(county_relief_limit=D("10000")),
                          linshi_settings)
    assert [(t.level, t.amount) for t in routing.tranches] == [("township", D("3000")),
                                                               ("city", D("17000"))]


# --------------------------------------------------------------------------- eligibility

def test_temporary_relief_has_no_hukou_restriction(pm, jinxiang_family, jining_2022, settings):
    answer = linshi(pm, jinxiang_family, jining_2022, settings, relief_type="emergency",
                    requested_amount="500")
    assert "linshi.no_hukou_restriction" in answer.reason_codes
    assert answer.covered_members == (0, 1, 2)


def test_expenditure_relief_is_refused_when_income_is_not_below_disposable_income(
        pm, build, jining_2022, settings):
    well_off = build.household([build.member(income={"wages": "2500"})])  # 30 000 a year
    answer = linshi(pm, well_off, jining_2022, settings, relief_type="expenditure",
                    requested_amount="5000")
    assert not answer.eligible
    assert answer.reason_codes[-1] == "linshi.income_not_below_disposable"


def test_expenditure_relief_needs_last_years_disposable_income(pm, jinxiang_family,
                                                               standard_with, settings):
    answer = linshi(pm, jinxiang_family, standard_with(disposable_income_last_year=None),
                    settings, relief_type="expenditure", requested_amount="5000")
    assert answer.reason_codes[-1] == "linshi.disposable_income_unknown"


def test_without_a_request_nothing_is_assessed(pm, jinxiang_family, jining_2022, settings):
    answer = linshi(pm, jinxiang_family, jining_2022, settings)
    assert not answer.eligible and answer.reason_codes == ("linshi.not_requested",)


def test_options_are_validated_with_field_paths(pm, jinxiang_family, jining_2022, settings):
    with pytest.raises(ValidationError) as refused:
        linshi(pm, jinxiang_family, jining_2022, settings, requested_amount="-5")
    assert set(refused.value.fields) == {"options.relief_type", "options.requested_amount"}


def test_paid_in_the_month_of_approval(pm, jinxiang_family, jining_2022, settings):
    answer = linshi(pm, jinxiang_family, jining_2022, settings, relief_type="emergency",
                    requested_amount="8000")
    granted = rules.entitlement(assessment=answer, decided_on=date(2023, 5, 11))
    assert granted.start_month == date(2023, 5, 1) and granted.one_off_amount == D("8000")


def test_a_fire_is_referred_to_housing(pm, jinxiang_family, jining_2022, settings,
                                       linshi_settings):
    answer = linshi(pm, jinxiang_family, jining_2022, settings, relief_type="emergency",
                    requested_amount="8000", cause="fire")
    targets = rules.referral_targets(assessment=answer, settings=linshi_settings)
    assert [t.code for t in targets] == ["linshi.housing_repair"]


# --------------------------------------------------------------------------- paying, deadlines

def test_stage_plan_adds_up_to_the_approved_total():
    stages = rules.stage_plan(D("10000"), stages=3, first_due=date(2023, 1, 31))
    assert [s.amount for s in stages] == [D("3333.33"), D("3333.33"), D("3333.34")]
    assert sum(s.amount for s in stages) == D("10000")
    assert [s.due_on for s in stages] == [date(2023, 1, 31), date(2023, 2, 28),
                                          date(2023, 3, 31)]


def test_stage_plan_refuses_nonsense():
    with pytest.raises(ValueError):
        rules.stage_plan(D("100"), stages=0, first_due=date(2023, 1, 1))


@pytest.mark.parametrize("urgency, due", [("urgent", "PT24H"), ("especially_urgent", "PT2H")])
def test_pay_first_deadline_follows_urgency(linshi_settings, urgency, due):
    limits = rules.deadlines(urgency, linshi_settings)
    assert limits.pay_first_due_in == due and limits.paperwork_due_in == "P5D"


def test_paperwork_days_may_be_working_days(settings_with):
    configured = rules.LinshiSettings.from_mapping(
        settings_with({"linshi.paperwork_day_kind": "working"}))
    assert rules.deadlines("urgent", configured).paperwork_due_in == "5WD"


def test_approve_operation_names_the_level_to_route_to(jining_2022, settings):
    data = operations.approve(ServiceRequest(
        operation="linshi.approve", params={"amount": "3001", "approver_level": "township"},
        household=None, standard=jining_2022, as_of=date(2023, 5, 10), settings=settings))
    assert data["linshi_approval_allowed"] is False and data["linshi_route_to"] == "county"
    assert data["linshi_approval_limit"] == "3000.00"


def test_route_operation_lists_the_tranches(jining_2022, settings):
    data = operations.route(ServiceRequest(
        operation="linshi.route", params={"amount": "8000", "relief_type": "emergency"},
        household=None, standard=jining_2022, as_of=date(2023, 5, 10), settings=settings))
    assert data["linshi_tranches"] == [
        {"level": "township", "amount": "3000.00", "pay_first": True},
        {"level": "county", "amount": "5000.00", "pay_first": False}]
