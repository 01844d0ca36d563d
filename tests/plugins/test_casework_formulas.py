"""The shared formulas: income (engine/casework/income.py) and standards selection
(engine/casework/standards.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from engine.casework import income, standards
from engine.errors import Conflict, NotFound

D = Decimal


# --------------------------------------------------------------------------- income

def test_household_income_adds_members_and_counted_support(build):
    household = build.household(
        [build.member(income={"wages": "1000", "transfer": "200"}),
         build.member(relation="spouse", sex="F", income={"business": "300"})],
        supporters=[{"name": "儿子", "relation": "son", "able": True, "monthly_support": "500",
                     "actually_paid": "0"},
                    {"name": "女儿", "relation": "daughter", "able": False,
                     "monthly_support": "400"}])
    figures = income.household_figures(household, deduct_rigid_expenditure=True)
    assert figures.gross == D("2000") and figures.counted_support == D("500")
    assert figures.per_capita == 1000


def test_rigid_expenditure_is_a_twelfth_of_the_last_twelve_months(build):
    household = build.household([build.member(income={"wages": "3412"})],
                                expenses_12m={"medical": "20000", "education": "6000",
                                              "rehabilitation": "2800"})
    figures = income.household_figures(household, deduct_rigid_expenditure=True)
    assert figures.rigid_monthly == 2400 and figures.per_capita == 1012
    assert income.household_figures(household,
                                    deduct_rigid_expenditure=False).per_capita == 3412


def test_per_capita_income_floors_at_zero(build):
    household = build.household([build.member(income={"business": "400"})],
                                expenses_12m={"medical": "50000"})
    assert income.household_figures(household, deduct_rigid_expenditure=True).per_capita == 0


def test_per_capita_income_is_exact(build):
    household = build.household([build.member(income={"wages": "1000"}),
                                 build.member(relation="spouse", sex="F"),
                                 build.member(relation="son", born="2010-01-01")])
    figures = income.household_figures(household, deduct_rigid_expenditure=True)
    assert figures.per_capita == Fraction(1000, 3)
    assert figures.summary()["per_capita_income"] == "333.33"
    assert income.below(figures.per_capita, D("333.34"))
    assert not income.below(figures.per_capita, D("333.33"))


def test_a_subset_of_members_keeps_only_their_income_and_support(build):
    household = build.household(
        [build.member(income={"wages": "900"}), build.member(relation="son", born="2012-01-01")],
        supporters=[{"name": "父", "relation": "father", "able": True, "monthly_support": "300",
                     "supports_member": 0}])
    figures = income.household_figures(household, deduct_rigid_expenditure=True, members=[1])
    assert figures.gross == 0 and figures.n == 1


@pytest.mark.parametrize("amount, unit, rounded", [
    ("599.5", "1", "600"), ("599.49", "1", "599"), ("2.5", "1", "3"), ("3.5", "1", "4"),
    ("1784", "10", "1780"), ("1785", "10", "1790"), ("599.505", "0.01", "599.51")])
def test_amounts_round_half_up_to_the_unit(amount, unit, rounded):
    assert income.round_half_up(D(amount), D(unit)) == D(rounded)


# --------------------------------------------------------------------------- standards

def row(jining_2022, region: str, valid_from: str, urban: str):
    return replace(jining_2022, region_code=region, valid_from=date.fromisoformat(valid_from),
                   dibao_urban=D(urban))


def test_latest_valid_from_wins(jining_2022):
    rows = [row(jining_2022, "3708", "2021-01-01", "800"),
            row(jining_2022, "3708", "2022-01-01", "880"),
            row(jining_2022, "3708", "2024-01-01", "950")]
    assert standards.pick_standard(rows, "370827101201", date(2023, 6, 1)).dibao_urban == 880


def test_a_longer_prefix_breaks_a_tie(jining_2022):
    rows = [row(jining_2022, "37", "2022-01-01", "700"),
            row(jining_2022, "370827", "2022-01-01", "860"),
            row(jining_2022, "3708", "2022-01-01", "880")]
    assert standards.pick_standard(rows, "370827101201", date(2022, 5, 1)).dibao_urban == 860


def test_a_newer_city_row_beats_an_older_county_row(jining_2022):
    rows = [row(jining_2022, "370827", "2021-01-01", "800"),
            row(jining_2022, "3708", "2022-01-01", "880")]
    assert standards.pick_standard(rows, "370827101201", date(2022, 5, 1)).dibao_urban == 880


def test_rows_of_other_regions_or_later_dates_never_apply(jining_2022):
    rows = [row(jining_2022, "3709", "2020-01-01", "900"),
            row(jining_2022, "3708", "2023-01-01", "950")]
    with pytest.raises(NotFound):
        standards.pick_standard(rows, "370827101201", date(2022, 5, 1))


def test_two_rows_for_one_region_and_date_are_a_conflict(jining_2022):
    rows = [row(jining_2022, "3708", "2022-01-01", "880"),
            row(jining_2022, "3708", "2022-01-01", "881")]
    with pytest.raises(Conflict):
        standards.pick_standard(rows, "370827101201", date(2022, 5, 1))


def test_explicit_tekun_values_are_authoritative(jining_2022):
    odd = replace(jining_2022, tekun_urban=D("1150"))
    assert standards.tekun_basic_living(odd, "urban", multiplier=D("1.3"), unit=D(1)) == 1150


def test_missing_tekun_values_are_filled_at_1_3_times_dibao(jining_2022):
    bare = replace(jining_2022, tekun_urban=None, tekun_rural=None)
    filled = standards.with_tekun_filled(bare, multiplier=D("1.3"), unit=D(1))
    assert (filled.tekun_urban, filled.tekun_rural) == (D("1144"), D("910"))


@pytest.mark.parametrize("lost, tier", [(0, "self"), (1, "partial"), (3, "partial"),
                                        (4, "total"), (6, "total")])
def test_self_care_tier_from_activities_not_managed(lost, tier):
    assert standards.care_tier(lost) == tier


def test_marginal_multiplier_falls_back_when_the_row_has_none(jining_2022):
    assert standards.marginal_multiplier(jining_2022, D("1.5")) == D("2.0")
    assert standards.marginal_multiplier(replace(jining_2022, marginal_multiplier=None),
                                         D("1.5")) == D("1.5")
