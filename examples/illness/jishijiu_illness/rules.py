"""Seriously ill patients impoverished by illness (因病致贫重病患者) — pure rules.

DOMAIN §3.5 [N* 国办发〔2021〕42号]: the third tier of medical-assistance recipients — patients whose
families are not on dibao, extreme-poverty support or the marginal register, and whose high medical
costs cause serious hardship.  The criteria are set by the province [A]:

* per-capita income (before any deduction) below last year's local per-capita disposable income;
* property within limits;
* out-of-pocket medical costs over the last 12 months ≥ a configurable share of household income.

The status pays nothing itself: it makes the patient eligible for medical assistance (医保).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.casework.income import household_figures, to_decimal
from engine.casework.types import (
    Assessment, Household, ProgrammeInfo, Reason, ReferralTarget, Standard,
)
from engine.plugins import SettingsView

CODE = "illness"
RULE_VERSION = "illness/2025.1"

PROGRAMME = ProgrammeInfo(
    code=CODE, name_zh="因病致贫重病患者认定", name_en="Patient impoverished by illness",
    description="对不在低保、特困、低保边缘家庭范围内，但因高额医疗费用导致家庭基本生活严重困难的"
                "重病患者，认定为因病致贫重病患者，纳入医疗救助。",
    conditions=(
        "家庭成员中有重特大疾病患者；",
        "家庭不属于低保、特困供养或低保边缘家庭；",
        "家庭人均收入低于上年度当地居民人均可支配收入，财产符合规定；",
        "近12个月政策范围内自付医疗费用达到家庭年收入的规定比例。",
    ),
    documents=("重特大疾病诊断证明", "近12个月医疗费用票据及医保结算单"),
    rule_version=RULE_VERSION, options=(), benefit="status",
    excluded_by=("dibao", "tekun", "marginal"),
    legal_sources=("国办发〔2021〕42号 [N*]", "莘县“五合一” [S1]"),
)

REASONS: dict[str, str] = {
    "illness.patient_recognised": "第{member}位成员患重特大疾病，可认定为因病致贫重病患者，纳入医疗救助。",
    "illness.no_seriously_ill_member": "家庭成员中没有可认定的重特大疾病患者。",
    "illness.income_not_below_disposable":
        "家庭年人均收入{annual}元，不低于上年度当地居民人均可支配收入{limit}元。",
    "illness.disposable_income_unknown": "标准中缺少上年度当地居民人均可支配收入，无法认定。",
    "illness.property_over_limit": "家庭人均存款{per_capita}元，超过财产限额{limit}元。",
    "illness.costs_below_share":
        "近12个月自付医疗费用{costs}元，未达到家庭年收入{income}元的{share}。",
}


def _reason(code: str, **params: object) -> Reason:
    return Reason.from_catalogue(REASONS, code, **params)


@dataclass(frozen=True, kw_only=True, slots=True)
class IllnessSettings:
    medical_share_of_income: Decimal
    referral_due_working_days: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> IllnessSettings:
        view = SettingsView(settings, CODE)
        return cls(medical_share_of_income=view.decimal("medical_share_of_income",
                                                        minimum=Decimal(0)),
                   referral_due_working_days=view.integer("referral_due_working_days", lo=1))


def assess(*, household: Household, standard: Standard, settings: IllnessSettings,
           excluded: Mapping[int, str] | None = None) -> Assessment:
    """Recognise every seriously ill member not already covered by dibao, tekun or the register."""
    patients = [i for i, m in enumerate(household.members)
                if m.critical_illness and i not in (excluded or {})]
    refusal = _household_refusal(household, standard, settings) if patients else \
        [_reason("illness.no_seriously_ill_member")]
    if refusal:
        return Assessment(programme=CODE, eligible=False, rule_version=RULE_VERSION,
                          reasons=tuple(refusal))
    return Assessment(programme=CODE, eligible=True, rule_version=RULE_VERSION,
                      covered_members=tuple(patients),
                      reasons=tuple(_reason("illness.patient_recognised", member=i + 1)
                                    for i in patients))


def _household_refusal(household: Household, standard: Standard,
                       settings: IllnessSettings) -> list[Reason]:
    figures = household_figures(household, deduct_rigid_expenditure=False)
    disposable = standard.disposable_income_last_year
    if disposable is None:
        return [_reason("illness.disposable_income_unknown")]
    annual = figures.per_capita_gross * 12
    if annual >= Fraction(disposable):
        return [_reason("illness.income_not_below_disposable", annual=to_decimal(annual),
                        limit=disposable)]
    limit = standard.deposit_limit_per_capita
    if limit is not None and household.assets is not None:
        per_capita = Fraction(household.assets.deposits) / len(household.members)
        if per_capita > Fraction(limit):
            return [_reason("illness.property_over_limit", per_capita=to_decimal(per_capita),
                            limit=limit)]
    costs = household.expenses_12m.medical
    yearly_income = figures.gross * 12
    if costs == 0 or costs < yearly_income * settings.medical_share_of_income:
        return [_reason("illness.costs_below_share", costs=costs, income=yearly_income,
                        share=f"{settings.medical_share_of_income:%}")]
    return []


def referral_targets(*, assessment: Assessment | None, settings: IllnessSettings
                     ) -> list[ReferralTarget]:
    if assessment is None or not assessment.eligible:
        return []
    return [ReferralTarget(code="illness.medical_assistance", programme=CODE,
                           department="medical_insurance", department_zh="医保部门",
                           due_working_days=settings.referral_due_working_days,
                           purpose="因病致贫重病患者医疗救助（第三类救助对象）：政策范围内自付费用救助。")]
