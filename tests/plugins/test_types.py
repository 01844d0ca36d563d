"""The shared data types (engine/casework/types.py) and ID numbers (engine/casework/idnumber.py)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.casework import idnumber
from engine.casework.types import (
    Assessment, Household, Reason, ReviewResult, Standard, add_months, money,
)
from engine.errors import ValidationError

DESIGN_EXAMPLE = {  # DESIGN.md "Household and assessment shapes", comments removed
    "region_code": "370827101201", "hukou": "rural", "hukou_region_code": "370827",
    "members": [{
        "name": "韩进", "id_number": "370827198001011232", "relation": "head",
        "birth_date": "1980-01-01", "sex": "M",
        "disability": {"category": "physical", "grade": 3},
        "self_care_lost": 0, "can_work": True, "employed": False, "in_school": "none",
        "critical_illness": False,
        "income": {"wages": "0", "business": "400", "property": "0", "transfer": "0"}}],
    "supporters": [{"name": "…", "relation": "son", "birth_date": "1985-02-03", "able": True,
                    "monthly_support": "1200", "actually_paid": "0"}],
    "assets": {"deposits": "0", "vehicles": 0, "houses": 1},
    "expenses_12m": {"medical": "50000", "education": "0", "rehabilitation": "0"},
}


def problems(data, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        Household.from_dict(data, **kwargs)
    return refused.value.fields


def with_member(**changes):
    member = {**DESIGN_EXAMPLE["members"][0], **changes}
    return {**DESIGN_EXAMPLE, "members": [member]}


# --------------------------------------------------------------------------- households

def test_parses_the_design_household_example():
    household = Household.from_dict(DESIGN_EXAMPLE)
    member = household.members[0]
    assert member.birth_date == date(1980, 1, 1) and member.disability.grade == 3
    assert member.income.business == Decimal("400") and isinstance(member.income.total, Decimal)
    assert household.supporters[0].monthly_support == Decimal("1200")
    assert household.expenses_12m.total == Decimal("50000")
    assert household.hukou_region_code == "370827"


def test_household_round_trips_through_to_dict_as_json():
    household = Household.from_dict(DESIGN_EXAMPLE)
    again = Household.from_dict(json.loads(json.dumps(household.to_dict())))
    assert again == household
    assert household.to_dict()["members"][0]["income"]["business"] == "400.00"


def test_hukou_region_defaults_to_the_household_region():
    data = {k: v for k, v in DESIGN_EXAMPLE.items() if k != "hukou_region_code"}
    assert Household.from_dict(data).hukou_region_code == "370827101201"


def test_reports_a_wrong_check_digit_under_the_member_path():
    assert problems(with_member(id_number="370827198001011233")) == {
        "members[0].id_number": ["check digit is wrong"]}


def test_reports_every_problem_at_once():
    data = {**with_member(self_care_lost=7, in_school="kindergarten"), "hukou": "city",
            "region_code": "3708"}
    assert set(problems(data)) == {"hukou", "region_code", "members[0].self_care_lost",
                                   "members[0].in_school"}


def test_refuses_float_money_and_more_than_two_decimals():
    found = problems(with_member(income={"wages": 1200.5, "business": "1.005"}))
    assert "not a float" in found["members[0].income.wages"][0]
    assert found["members[0].income.business"] == ["must have at most 2 decimal places"]


def test_refuses_negative_money_and_non_numbers():
    found = problems({**DESIGN_EXAMPLE, "assets": {"deposits": "-1", "vehicles": "one"}})
    assert found == {"assets.deposits": ["must not be negative"],
                     "assets.vehicles": ["must be a whole number"]}


def test_refuses_unknown_fields_unless_asked_to_ignore_them():
    data = {**DESIGN_EXAMPLE, "id": 7, "members": [{**DESIGN_EXAMPLE["members"][0], "wage": "1"}]}
    assert problems(data) == {"id": ["unknown field"], "members[0].wage": ["unknown field"]}
    assert Household.from_dict(data, ignore_unknown=True).members[0].name == "韩进"


def test_birth_date_and_sex_must_match_the_id_number():
    found = problems(with_member(birth_date="1980-01-02", sex="F"))
    assert set(found) == {"members[0].birth_date", "members[0].sex"}


def test_birth_date_and_sex_default_from_the_id_number():
    member = {k: v for k, v in DESIGN_EXAMPLE["members"][0].items()
              if k not in ("birth_date", "sex")}
    parsed = Household.from_dict({**DESIGN_EXAMPLE, "members": [member]}).members[0]
    assert (parsed.birth_date, parsed.sex) == (date(1980, 1, 1), "M")


def test_missing_income_is_an_error_not_zero():
    member = {k: v for k, v in DESIGN_EXAMPLE["members"][0].items() if k != "income"}
    assert problems({**DESIGN_EXAMPLE, "members": [member]}) == {
        "members[0].income": ["required"]}


def test_a_household_needs_members_with_distinct_id_numbers():
    assert problems({**DESIGN_EXAMPLE, "members": []}) == {
        "members": ["must list at least one member"]}
    twice = [DESIGN_EXAMPLE["members"][0]] * 2
    assert problems({**DESIGN_EXAMPLE, "members": twice}) == {
        "members[1].id_number": ["appears twice in the household"]}


def test_supporter_facts_are_validated():
    supporter = {"name": "奶奶", "relation": "grandmother", "supports_member": 3,
                 "circumstances": ["abroad"]}
    found = problems({**DESIGN_EXAMPLE, "supporters": [supporter]})
    assert set(found) == {"supporters[0].able", "supporters[0].supports_member",
                          "supporters[0].circumstances"}


def test_id_numbers_never_appear_in_repr_or_error_messages():
    household = Household.from_dict(DESIGN_EXAMPLE)
    assert "370827198001011232" not in repr(household)
    assert household.members[0].masked_id == "370827********1232"
    with pytest.raises(ValidationError) as refused:
        Household.from_dict(with_member(id_number="370827198001011233"))
    assert "370827198001011233" not in str(refused.value) + repr(refused.value.fields)


def test_disability_severity_follows_the_national_grades():
    from engine.casework.types import Disability
    assert Disability(category="physical", grade=2).severe
    assert not Disability(category="physical", grade=3).severe
    assert Disability(category="intellectual", grade=3).severe
    assert not Disability(category="mental", grade=4).severe


def test_member_age_counts_full_years():
    member = Household.from_dict(DESIGN_EXAMPLE).members[0]
    assert member.age_on(date(2017, 12, 31)) == 37 and member.age_on(date(2018, 1, 1)) == 38


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*prefix, index))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["", "0", "-1", "1e999999", "NaN", "1.001", "2023-02-30", "370827"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)


def _mutated(path, replacement, delete):
    data = json.loads(json.dumps(DESIGN_EXAMPLE))
    if not path:
        return replacement
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return data


@given(path=st.sampled_from(list(_paths(DESIGN_EXAMPLE))), replacement=JSON,
       delete=st.booleans())
def test_any_mangled_household_is_parsed_or_refused_with_field_messages(path, replacement, delete):
    data = _mutated(path, replacement, delete)
    try:
        household = Household.from_dict(data)
    except ValidationError as refused:
        assert refused.fields and all(isinstance(m, list) and m for m in refused.fields.values())
    else:
        assert Household.from_dict(household.to_dict()) == household


@given(st.dictionaries(st.sampled_from(["region_code", "valid_from", "dibao_urban",
                                        "care_self", "marginal_multiplier", "other"]), JSON))
def test_any_mangled_standard_is_parsed_or_refused_with_field_messages(data):
    with pytest.raises(ValidationError):
        Standard.from_dict(data)  # the core amounts are never all present


# --------------------------------------------------------------------------- ID numbers

def test_id_check_character_follows_gb_11643():
    assert idnumber.check_character("11010519491231002") == "X"
    assert idnumber.is_valid("11010519491231002x")  # a lower-case x is accepted
    wrong_province = "99010519491231002" + idnumber.check_character("99010519491231002")
    assert idnumber.problems(wrong_province) == [
        "address code does not start with a province code"]
    assert idnumber.problems("37082719800230123X")[0] == "birth date part is not a valid date"
    assert idnumber.problems(370827198001011232) == ["must be a string of 18 characters"]


def test_id_mask_birth_date_and_sex():
    assert idnumber.mask("370827198001011232") == "370827********1232"
    assert idnumber.birth_date("370827198001011232") == date(1980, 1, 1)
    assert idnumber.sex("370827198001011232") == "M"
    assert idnumber.sex(idnumber.make("370827", date(1990, 5, 5), 2)) == "F"


# --------------------------------------------------------------------------- standards rows

def test_standard_requires_the_core_amounts_and_parses_optional_ones():
    with pytest.raises(ValidationError) as refused:
        Standard.from_dict({"region_code": "3708", "valid_from": "2022-01-01"})
    assert set(refused.value.fields) == {"dibao_urban", "dibao_rural", "care_self",
                                         "care_partial", "care_total", "township_relief_limit"}
    row = Standard.from_dict({"region_code": "3708", "valid_from": "2022-01-01",
                              "dibao_urban": "880", "dibao_rural": "700", "care_self": "170",
                              "care_partial": "290", "care_total": "580",
                              "township_relief_limit": "3000", "county_relief_limit": "10000"})
    assert row.county_relief_limit == Decimal("10000") and row.tekun_urban is None
    assert Standard.from_dict(row.to_dict()) == row


def test_standard_region_must_be_a_prefix_of_a_known_length():
    with pytest.raises(ValidationError) as refused:
        Standard.from_dict({"region_code": "37082"})
    assert refused.value.fields["region_code"] == ["must be a region code of 2 or 4 or 6 or 9 "
                                                   "or 12 digits"]


# --------------------------------------------------------------------------- answers

def test_assessment_answer_has_exactly_the_design_shape():
    answer = Assessment(programme="dibao", eligible=True, rule_version="dibao/2025.1",
                        monthly_amount=Decimal("2800"), covered_members=(0, 1, 2, 3),
                        reasons=(Reason(code="dibao.income_below_standard", message="…"),))
    assert answer.to_dict() == {
        "programme": "dibao", "eligible": True, "monthly_amount": "2800.00",
        "one_off_amount": "0.00", "covered_members": [0, 1, 2, 3], "marginal": None,
        "reasons": [{"code": "dibao.income_below_standard", "message": "…"}],
        "rule_version": "dibao/2025.1"}
    assert Assessment.from_dict(answer.to_dict()) == answer


def test_an_ineligible_assessment_reports_zero_and_covers_nobody():
    refused = Assessment(programme="dibao", eligible=False, rule_version="v", marginal="income")
    assert refused.to_dict()["monthly_amount"] == "0.00"
    with pytest.raises(ValueError):
        Assessment(programme="dibao", eligible=False, rule_version="v",
                   monthly_amount=Decimal("1"))
    with pytest.raises(ValueError):
        Assessment(programme="dibao", eligible=True, rule_version="v", marginal="maybe")


def test_task_data_is_flat_and_json_safe():
    answer = Assessment(programme="linshi", eligible=True, rule_version="v",
                        one_off_amount=Decimal("8000"), covered_members=(0,))
    data = answer.to_task_data()
    assert json.loads(json.dumps(data)) == data
    assert data["linshi_one_off_amount"] == "8000.00" and data["linshi_eligible"] is True


def test_review_result_refuses_an_unknown_action():
    with pytest.raises(ValueError):
        ReviewResult(programme="dibao", action="pause", monthly_amount=Decimal(0),
                     effective_from=date(2023, 1, 1), rule_version="v")


def test_money_is_shown_with_two_decimals_half_up():
    assert money(Decimal("2800")) == "2800.00" and money(Decimal("0.005")) == "0.01"


def test_months_are_counted_from_the_first_day():
    assert add_months(date(2023, 2, 15), 1) == date(2023, 3, 1)
    assert add_months(date(2023, 12, 31), 1) == date(2024, 1, 1)
    assert add_months(date(2023, 6, 1), 6) == date(2023, 12, 1)
