"""Charity emergency relief rules (plugins/charity): DOMAIN §3.6."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.casework.types import Assessment
from engine.errors import ValidationError
from plugins.charity import rules

D = Decimal


@pytest.fixture
def charity_settings(settings):
    return rules.CharitySettings.from_mapping(settings)


@pytest.mark.parametrize("costs, band, grant", [
    ("9999.99", None, None), ("10000", "一档", "2000"), ("29999", "一档", "2000"),
    ("30000", "二档", "5000"), ("50000", "三档", "10000"), ("120000", "三档", "10000")])
def test_grades_out_of_pocket_costs_into_the_configured_bands(charity_settings, costs, band,
                                                              grant):
    found = rules.grade(D(costs), charity_settings.bands)
    assert (found.name if found else None) == band
    assert (found.grant if found else None) == (D(grant) if grant else None)


def test_bands_are_a_setting(settings_with):
    configured = rules.CharitySettings.from_mapping(settings_with({"charity.medical_bands": [
        {"name": "A", "from": "5000", "grant": "1000"}]}))
    assert rules.grade(D("6000"), configured.bands).grant == D("1000")


def test_bands_that_do_not_rise_are_refused(settings_with):
    with pytest.raises(ValidationError) as refused:
        settings_with({"charity.medical_bands": [{"name": "A", "from": "5000", "grant": "1000"},
                                                 {"name": "B", "from": "4000", "grant": "2000"}]})
    assert "charity.medical_bands" in refused.value.fields


def test_a_fund_never_pays_more_than_its_balance():
    assert rules.can_pay(D("10000"), D("10000"))
    assert not rules.can_pay(D("9999.99"), D("10000"))
    assert not rules.can_pay(D("100"), D("0"))


def test_takes_referrals_from_government_programmes_only(charity_settings):
    assert rules.accepts_referral("dibao", charity_settings).code == "charity.referral_accepted"
    assert rules.accepts_referral("bank", charity_settings).code \
        == "charity.referral_source_not_accepted"


def test_han_jins_50000_medical_costs_reach_the_top_band(build, charity_settings):
    household = build.household([build.member()], expenses_12m={"medical": "50000"})
    answer = rules.assess(household=household, settings=charity_settings, referred_from="dibao")
    assert answer.eligible and answer.one_off_amount == D("10000")
    assert answer.reason_codes == ("charity.referral_accepted", "charity.band_reached")


def test_rehabilitation_costs_count_unless_switched_off(build, settings_with):
    household = build.household([build.member()],
                                expenses_12m={"medical": "6000", "rehabilitation": "4000"})
    on = rules.CharitySettings.from_mapping(settings_with({}))
    off = rules.CharitySettings.from_mapping(settings_with({"charity.count_rehabilitation": False}))
    assert rules.assess(household=household, settings=on).eligible
    assert rules.assess(household=household, settings=off).reason_codes == (
        "charity.below_lowest_band",)


def test_fund_kinds_cover_city_county_and_village():
    assert [(k.code, k.level) for k in rules.FUND_KINDS] == [
        ("city_special_response", "city"), ("county_project", "county"),
        ("village_fund", "village")]


def test_government_decisions_refer_to_graded_medical_relief_and_the_village_fund(
        build, charity_settings):
    household = build.household([build.member()], expenses_12m={"medical": "30000"})
    decided = {
        "dibao": Assessment(programme="dibao", eligible=True, rule_version="x",
                            monthly_amount=D("700"), covered_members=(0,)),
        "linshi": Assessment(programme="linshi", eligible=True, rule_version="x",
                             one_off_amount=D("8000"), covered_members=(0,),
                             details={"relief_type": "emergency"}),
    }
    targets = rules.referral_targets(household=household, assessments=decided,
                                     settings=charity_settings)
    assert [t.code for t in targets] == ["charity.graded_medical_relief", "charity.village_fund"]
