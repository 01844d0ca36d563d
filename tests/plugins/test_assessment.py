"""One application, every programme (engine/casework/assessment.py)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from engine.casework.assessment import (
    assess_all, assess_programme, entitlement_for, review,
)
from engine.casework.types import Assessment, Household, ProgrammeInfo
from engine.errors import EngineError, NotFound, ValidationError
from engine.hookspecs import hookimpl
from engine.plugins import load_settings, make_plugin_manager

D = Decimal
DESIGN_ANSWER_KEYS = {"programme", "eligible", "monthly_amount", "one_off_amount",
                      "covered_members", "marginal", "reasons", "rule_version"}


@pytest.fixture
def han_jin(build):
    return build.household([
        build.member(name="韩进", born="1980-01-01", disability={"category": "physical", "grade": 3},
                     income={"business": "400"}),
        build.member(relation="spouse", born="1982-03-03", sex="F",
                     disability={"category": "intellectual", "grade": 2}),
        build.member(relation="son", born="2008-08-08",
                     disability={"category": "intellectual", "grade": 3}),
        build.member(relation="daughter", born="2012-12-12", sex="F",
                     disability={"category": "intellectual", "grade": 3}),
    ], expenses_12m={"medical": "50000"})


@pytest.fixture
def grandmother_and_granddaughter(build):
    """Grandmother 75 with no income and no supporter (tekun); granddaughter 8, whose father
    working away sends 300 a month (an able supporter, so not tekun)."""
    return build.household(
        [build.member(born="1948-01-01", sex="F"),
         build.member(relation="granddaughter", born="2015-01-01", sex="F")],
        supporters=[{"name": "父亲", "relation": "father", "able": True, "monthly_support": "300",
                     "supports_member": 1}])


def test_han_jins_one_application_decides_every_programme(pm, han_jin, jining_2022, settings):
    combined = assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                          settings=settings, options_by_programme={"linshi": {
                              "relief_type": "expenditure", "requested_amount": "10000",
                              "cause": "medical"}})
    answers = combined.assessments
    assert set(answers) == {"dibao", "tekun", "linshi", "charity"}
    assert answers["dibao"].monthly_amount == D("2800")
    assert not answers["tekun"].eligible
    assert answers["linshi"].one_off_amount == D("10000")
    assert answers["linshi"].details["approving_level"] == "county"
    assert answers["charity"].one_off_amount == D("10000")  # 50 000 reaches the top band
    assert set(combined.eligible_programmes) == {"dibao", "linshi", "charity"}
    assert {r.code for r in combined.referrals} == {
        "dibao.medical_assistance", "dibao.disability_subsidy", "charity.graded_medical_relief"}


def test_tekun_excludes_dibao_for_the_same_person(pm, grandmother_and_granddaughter, jining_2022,
                                                  settings):
    combined = assess_all(pm, household=grandmother_and_granddaughter, standard=jining_2022,
                          as_of=date(2023, 4, 1), settings=settings)
    tekun, dibao = combined.assessments["tekun"], combined.assessments["dibao"]
    assert tekun.covered_members == (0,) and tekun.monthly_amount == D("1080")
    assert dibao.covered_members == (1,)
    assert dibao.monthly_amount == D("400")  # 700 − the father's 300, for the granddaughter alone
    assert "casework.member_excluded" in dibao.reason_codes
    assert [(e.member, e.programme, e.because_of) for e in combined.exclusions] == [
        (0, "dibao", "tekun")]
    assert list(combined.assessments).index("tekun") < list(combined.assessments).index("dibao")


def test_without_tekun_dibao_would_cover_the_whole_household(pm, grandmother_and_granddaughter,
                                                             jining_2022, settings):
    combined = assess_all(pm, household=grandmother_and_granddaughter, standard=jining_2022,
                          as_of=date(2023, 4, 1), settings=settings, programmes=["dibao"])
    assert combined.assessments["dibao"].covered_members == (0, 1)
    assert combined.assessments["dibao"].monthly_amount == D("1100")


def test_combined_answer_uses_the_design_shape_for_every_programme(pm, han_jin, jining_2022,
                                                                   settings):
    combined = assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                          settings=settings)
    data = combined.to_dict()
    assert set(data) == {"as_of", "assessments", "exclusions", "referrals", "rule_versions",
                         "settings_digest"}
    for answer in data["assessments"].values():
        assert set(answer) == DESIGN_ANSWER_KEYS
    assert data["assessments"]["linshi"]["one_off_amount"] == "0.00"  # nothing was requested
    assert data["rule_versions"] == {code: a["rule_version"]
                                     for code, a in data["assessments"].items()}


def test_rule_versions_and_a_settings_fingerprint_are_pinned(pm, han_jin, jining_2022, settings,
                                                             settings_with):
    first = assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                       settings=settings)
    again = assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                       settings=settings)
    other = assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                       settings=settings_with({"dibao.taper_months": 3}))
    assert first.rule_versions["dibao"] == "dibao/2025.1"
    assert first.settings_digest == again.settings_digest != other.settings_digest


def test_a_disabled_programme_is_not_assessed(pm, han_jin, jining_2022, settings_with):
    combined = assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                          settings=settings_with({"charity": {"enabled": False}}))
    assert "charity" not in combined.assessments


def test_invalid_options_of_every_programme_are_reported_together(pm, build, jining_2022,
                                                                   settings):
    orphan = build.household([build.member(born="2010-01-01", orphan=True)])
    with pytest.raises(ValidationError) as refused:
        assess_all(pm, household=orphan, standard=jining_2022, as_of=date(2023, 4, 1),
                   settings=settings, options_by_programme={"linshi": {"requested_amount": "1"}})
    assert set(refused.value.fields) == {"tekun.options.prefers_orphan_allowance",
                                         "linshi.options.relief_type"}


def test_an_unknown_programme_is_not_found(pm, han_jin, jining_2022, settings):
    with pytest.raises(NotFound):
        assess_programme(pm, programme="housing", household=han_jin, standard=jining_2022,
                         as_of=date(2023, 4, 1), settings=settings)
    with pytest.raises(NotFound):
        assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                   settings=settings, programmes=["housing"])


def test_entitlement_and_review_go_through_the_owning_plugin(pm, han_jin, jining_2022, settings):
    answer = assess_programme(pm, programme="dibao", household=han_jin, standard=jining_2022,
                              as_of=date(2023, 4, 1), settings=settings)
    granted = entitlement_for(pm, assessment=answer, decided_on=date(2023, 4, 20),
                              settings=settings)
    assert granted.start_month == date(2023, 5, 1) and granted.monthly_amount == D("2800")
    result = review(pm, household=han_jin, standard=jining_2022, as_of=date(2024, 4, 1),
                    in_force=answer, settings=settings)
    assert result.action == "continue"


def test_an_ineligible_assessment_gives_no_entitlement(pm, settings):
    refused = Assessment(programme="dibao", eligible=False, rule_version="dibao/2025.1")
    with pytest.raises(ValidationError):
        entitlement_for(pm, assessment=refused, decided_on=date(2023, 1, 1), settings=settings)


# --------------------------------------------------------------------------- misbehaving plugins

class _Programme:
    def __init__(self, code: str, excluded_by: tuple[str, ...] = (),
                 covers: tuple[int, ...] = (0,)):
        self.code, self.excluded_by, self.covers = code, excluded_by, covers

    @hookimpl
    def jishijiu_programme(self):
        return ProgrammeInfo(code=self.code, name_zh=self.code, name_en=self.code,
                             description="", conditions=(), documents=(), rule_version="t/1",
                             excluded_by=self.excluded_by)

    @hookimpl
    def jishijiu_assess(self, programme):
        if programme != self.code:
            return None
        return Assessment(programme=self.code, eligible=True, rule_version="t/1",
                          one_off_amount=D("1"), covered_members=self.covers)


def test_programmes_that_exclude_each_other_in_a_cycle_are_refused(han_jin, jining_2022):
    pm = make_plugin_manager(allowlist=[], extra=[_Programme("a", ("b",)), _Programme("b", ("a",))])
    with pytest.raises(EngineError, match="cycle"):
        assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                   settings=load_settings(pm))


def test_a_plugin_covering_an_excluded_member_is_an_engine_error(han_jin, jining_2022):
    pm = make_plugin_manager(allowlist=[], extra=[_Programme("a"), _Programme("b", ("a",))])
    with pytest.raises(EngineError, match="excluded members"):
        assess_all(pm, household=han_jin, standard=jining_2022, as_of=date(2023, 4, 1),
                   settings=load_settings(pm))


# --------------------------------------------------------------------------- any household

def _member_json(draw, index: int) -> dict:
    from engine.casework import idnumber

    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2023, 3, 31)))
    money = st.integers(min_value=0, max_value=8000).map(str)
    disability = draw(st.none() | st.fixed_dictionaries({
        "category": st.sampled_from(["physical", "intellectual", "mental", "visual", "hearing"]),
        "grade": st.integers(min_value=1, max_value=4)}))
    return {"name": f"m{index}", "id_number": idnumber.make("370827", born, 10 + 2 * index),
            "relation": "head" if index == 0 else "other", "disability": disability,
            "self_care_lost": draw(st.integers(min_value=0, max_value=6)),
            "employed": draw(st.booleans()), "orphan": draw(st.booleans()),
            "critical_illness": draw(st.booleans()),
            "in_school": draw(st.sampled_from(["none", "compulsory", "senior_high", "college"])),
            "income": {"wages": draw(money), "transfer": draw(money)}}


@st.composite
def households(draw):
    size = draw(st.integers(min_value=1, max_value=5))
    supporters = draw(st.lists(st.fixed_dictionaries({
        "name": st.just("s"), "relation": st.sampled_from(["son", "sister", "father"]),
        "able": st.booleans(), "monthly_support": st.integers(0, 2000).map(str),
        "birth_date": st.sampled_from(["1940-01-01", "1970-01-01", "1995-01-01"]),
        "monthly_income": st.sampled_from([None, "0", "3000"]),
        "property_within_limits": st.sampled_from([None, True]),
        "circumstances": st.sampled_from([[], ["missing"], ["tekun_recipient"]]),
        "supports_member": st.sampled_from([None, 0])}), max_size=2))
    return Household.from_dict({
        "region_code": "370827101201", "hukou": draw(st.sampled_from(["rural", "urban"])),
        "members": [_member_json(draw, i) for i in range(size)], "supporters": supporters,
        "expenses_12m": {"medical": str(draw(st.integers(0, 80000)))}})


@hyp_settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(household=households(), amount=st.integers(min_value=1, max_value=30000),
       relief_type=st.sampled_from(["emergency", "expenditure"]))
def test_every_household_gets_a_consistent_combined_answer(pm, jining_2022, settings, household,
                                                           amount, relief_type):
    combined = assess_all(pm, household=household, standard=jining_2022, as_of=date(2023, 4, 1),
                          settings=settings, options_by_programme={
                              "tekun": {"prefers_orphan_allowance": False},
                              "linshi": {"relief_type": relief_type,
                                         "requested_amount": str(amount)}})
    for answer in combined.to_dict()["assessments"].values():
        assert set(answer) == DESIGN_ANSWER_KEYS
        assert re.fullmatch(r"\d+\.\d\d", answer["monthly_amount"])
        if not answer["eligible"]:
            assert answer["monthly_amount"] == answer["one_off_amount"] == "0.00"
            assert answer["covered_members"] == []
    tekun, dibao = combined.assessments["tekun"], combined.assessments["dibao"]
    assert not set(tekun.covered_members) & set(dibao.covered_members)
    if dibao.eligible:
        assert dibao.monthly_amount > 0 and dibao.marginal in (None, "income", "expenditure")
