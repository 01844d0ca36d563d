"""Rules of the illness-impoverished status (jishijiu_illness.rules)."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from jishijiu_illness import rules

SETTINGS = rules.IllnessSettings(medical_share_of_income=Decimal("0.3"),
                                 referral_due_working_days=5)


def test_recognises_the_seriously_ill_member_of_a_hard_pressed_family(family, standard):
    answer = rules.assess(household=family(), standard=standard, settings=SETTINGS)
    assert answer.eligible and answer.covered_members == (2,)
    assert answer.to_dict()["monthly_amount"] == "0.00"  # a status, not a payment
    assert answer.reason_codes == ("illness.patient_recognised",)


def test_needs_a_seriously_ill_member(family, standard):
    answer = rules.assess(household=family(ill=False), standard=standard, settings=SETTINGS)
    assert answer.reason_codes == ("illness.no_seriously_ill_member",)


def test_members_on_dibao_tekun_or_the_marginal_register_are_not_recognised(family, standard):
    answer = rules.assess(household=family(), standard=standard, settings=SETTINGS,
                          excluded={2: "marginal"})
    assert not answer.eligible


def test_income_must_be_below_last_years_disposable_income(family, standard):
    answer = rules.assess(household=family(wages="7500"), standard=standard, settings=SETTINGS)
    assert answer.reason_codes == ("illness.income_not_below_disposable",)  # 30 000 a year


def test_medical_costs_must_reach_the_configured_share_of_income(family, standard):
    answer = rules.assess(household=family(medical="23000"), standard=standard, settings=SETTINGS)
    assert answer.reason_codes == ("illness.costs_below_share",)  # 0.3 × 79 200 = 23 760


def test_share_is_read_from_settings(family, standard):
    settings = rules.IllnessSettings.from_mapping(MappingProxyType({
        "illness.medical_share_of_income": "0.2", "illness.referral_due_working_days": 5}))
    assert rules.assess(household=family(medical="16000"), standard=standard,
                        settings=settings).eligible


def test_recognised_patients_are_referred_to_medical_assistance(family, standard):
    answer = rules.assess(household=family(), standard=standard, settings=SETTINGS)
    targets = rules.referral_targets(assessment=answer, settings=SETTINGS)
    assert [t.department for t in targets] == ["medical_insurance"]
