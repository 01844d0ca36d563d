"""Dibao (最低生活保障) rules as pure functions.  Plain words and sources: README.md.

Eligibility: per-capita income y strictly below the standard S (低于) and property within limits
[N 社会救助暂行办法 Art 9]; benefit (S − y) × n, the gap payment (补差) [N Art 12]; members who
may apply alone (单人户) [N 57号 Art 8; 2022 notice]; the marginal register (低保边缘家庭) at the
standard's multiplier [N 57号; S0]; the taper period when employment lifts income [N 2022; S2].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.casework.income import (
    IncomeFigures, below, household_figures, person_figures, round_half_up, to_decimal,
)
from engine.casework.standards import marginal_multiplier
from engine.casework.types import (
    ZERO, Assessment, Entitlement, Household, ProgrammeInfo, Reason, ReferralTarget,
    ReviewResult, Standard, Supporter, add_months,
)
from engine.plugins import SettingsView

CODE = "dibao"
RULE_VERSION = "dibao/2025.1"
ADULT_AGE = 18  # 成年 [N 民法典 Art 17]
ELDERLY_SUPPORTER_AGE = 60  # [N 2022 notice]
SIBLING_RELATIONS = frozenset({"sibling", "brother", "sister", "elder_brother", "younger_brother",
                               "elder_sister", "younger_sister"})

PROGRAMME = ProgrammeInfo(
    code=CODE, name_zh="最低生活保障", name_en="Minimum subsistence allowance (dibao)",
    description="对共同生活的家庭成员人均收入低于当地低保标准、且财产状况符合规定的家庭，"
                "按差额（补差）按月发放低保金。",
    conditions=(
        "家庭月人均收入低于当地低保标准（等于标准的不符合）；",
        "家庭财产状况符合当地规定（如人均存款不超过限额）；",
        "以整个家庭为单位申请，不得只将部分成员纳入；",
        "低保边缘家庭中的重度残疾人、重病患者，可单独纳入（单人户）；",
        "成年无业重度残疾人可参照单人户申请。",
    ),
    documents=(
        "社会救助申请书、诚信告知和诚信承诺（“三合一”）",
        "家庭经济状况核对授权书",
        "居民身份证或户口簿（能从政务平台获取的不再要求提供）",
        "残疾人证、重特大疾病诊断证明（如有）",
        "医疗、教育、康复自付费用票据（申请扣除刚性支出时）",
    ),
    rule_version=RULE_VERSION, options=(), benefit="monthly", excluded_by=("tekun",),
    legal_sources=("社会救助暂行办法 Art 9, 12", "民发〔2021〕57号", "2022年兜底保障通知",
                   "济宁市低保标准 2022 [S0]"),
)

REASONS: dict[str, str] = {
    "dibao.income_below_standard":
        "家庭月人均收入{y}元，低于低保标准{standard}元，符合低保收入条件。",
    "dibao.income_not_below_standard":
        "家庭月人均收入{y}元，不低于低保标准{standard}元（须低于标准），不符合低保条件。",
    "dibao.support_counted": "已计入有赡养（抚养、扶养）能力的义务人应付费用每月{amount}元。",
    "dibao.rigid_expenditure_deducted":
        "已扣除近12个月医疗、教育、康复自付刚性支出，每月{amount}元。",
    "dibao.property_over_limit": "家庭人均存款{per_capita}元，超过财产限额{limit}元。",
    "dibao.property_not_investigated": "尚未调查家庭财产状况，暂不能认定。",
    "dibao.gap_payment":
        "按补差发放：（{standard} − {y}）× {n}人，按{unit}元取整，每月{amount}元。",
    "dibao.minimum_payment_applied": "补差额低于最低发放额，按每人每月{minimum}元发放。",
    "dibao.marginal_income":
        "家庭月人均收入{y}元，低于低保标准的{multiplier}倍（{limit}元），"
        "经本人同意可认定为低保边缘家庭（收入型）：不发现金，享受相关专项救助。",
    "dibao.marginal_expenditure":
        "扣除刚性支出后家庭月人均收入{y}元，低于{limit}元，"
        "经本人同意可认定为低保边缘家庭（支出型）：不发现金，享受相关专项救助。",
    "dibao.not_marginal": "家庭月人均收入{y}元，不低于{limit}元，不属于低保边缘家庭。",
    "dibao.single_person_marginal_family":
        "第{member}位成员{why}，所在家庭为低保边缘家庭，可单独纳入低保（单人户）。",
    "dibao.single_person_severe_disability":
        "第{member}位成员为成年无业重度残疾人，参照单人户纳入低保。",
    "dibao.single_person_income_not_below":
        "第{member}位成员个人月收入{y}元，不低于低保标准{standard}元，不能按单人户纳入。",
    "dibao.single_person_payment":
        "第{member}位成员按单人户补差：{standard} − {y}，每月{amount}元。",
    "dibao.no_members_counted": "家庭成员均已纳入其他救助，低保无可计算的成员。",
    "dibao.review_unchanged": "复核：家庭仍符合低保条件，保障金不变。",
    "dibao.review_adjusted": "复核：保障金由每月{old}元调整为{new}元，自{month}起执行。",
    "dibao.review_taper":
        "就业使家庭月人均收入增至{y}元，不再低于低保标准；给予{months}个月渐退期，"
        "保障金照发，自{ends}起停发。",
    "dibao.review_taper_running": "渐退期内，保障金照发，自{ends}起停发。",
    "dibao.review_stop": "复核：家庭已不符合低保条件，自{month}起停发低保金（书面说明理由）。",
}


def _reason(code: str, **params: object) -> Reason:
    return Reason.from_catalogue(REASONS, code, **params)


@dataclass(frozen=True, kw_only=True, slots=True)
class DibaoSettings:
    deduct_rigid_expenditure: bool
    rounding_unit: Decimal
    taper_months: int
    minimum_amount_per_person: Decimal
    marginal_multiplier_fallback: Decimal
    as_single_person_requires_marginal: bool
    ignore_sibling_and_elderly_support: bool
    referral_due_working_days: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> DibaoSettings:
        view = SettingsView(settings, CODE)
        return cls(
            deduct_rigid_expenditure=view.boolean("casework.deduct_rigid_expenditure"),
            rounding_unit=view.decimal("casework.rounding_unit", minimum=Decimal("0.01")),
            taper_months=view.integer("taper_months", lo=1, hi=6),  # national maximum 6 [N]
            minimum_amount_per_person=view.decimal("minimum_amount_per_person", minimum=ZERO),
            marginal_multiplier_fallback=view.decimal("marginal_multiplier_fallback",
                                                      minimum=Decimal(1)),
            as_single_person_requires_marginal=view.boolean("as_single_person_requires_marginal"),
            ignore_sibling_and_elderly_support=view.boolean("ignore_sibling_and_elderly_support"),
            referral_due_working_days=view.integer("referral_due_working_days", lo=1))


# --------------------------------------------------------------------------- assessment

def assess(*, household: Household, standard: Standard, as_of: date, settings: DibaoSettings,
           excluded: Mapping[int, str] | None = None) -> Assessment:
    """The dibao answer for ``household``; members in ``excluded`` are supported elsewhere and
    are neither counted (income, head count) nor covered."""
    s = standard.dibao(household.hukou)
    counted = [i for i in range(len(household.members)) if i not in (excluded or {})]
    if not counted:
        return Assessment(programme=CODE, eligible=False, rule_version=RULE_VERSION,
                          reasons=(_reason("dibao.no_members_counted"),))
    figures = household_figures(household, members=counted,
                                deduct_rigid_expenditure=settings.deduct_rigid_expenditure)
    reasons = _income_reasons(figures)
    details = {**figures.summary(), "standard": str(s)}
    property_problem = _property_problem(household, standard, figures.n)
    y = to_decimal(figures.per_capita)

    if below(figures.per_capita, s) and property_problem is None:
        amount, payment_reasons = _gap_payment(figures.per_capita, s, figures.n, settings)
        return Assessment(
            programme=CODE, eligible=True, rule_version=RULE_VERSION, monthly_amount=amount,
            covered_members=tuple(counted), details=details,
            reasons=(*reasons, _reason("dibao.income_below_standard", y=y, standard=s),
                     *payment_reasons))

    if property_problem is not None:
        reasons.append(property_problem)
        marginal = None
    else:
        reasons.append(_reason("dibao.income_not_below_standard", y=y, standard=s))
        marginal, marginal_reason = marginal_type(figures, s, marginal_multiplier(
            standard, settings.marginal_multiplier_fallback))
        reasons.append(marginal_reason)
    singles, amount, single_reasons = _single_person_households(
        household, counted, s, as_of, marginal, settings) if property_problem is None \
        else ((), ZERO, [])
    return Assessment(
        programme=CODE, eligible=bool(singles), rule_version=RULE_VERSION, monthly_amount=amount,
        covered_members=singles, marginal=marginal, details=details,
        reasons=(*reasons, *single_reasons))


def marginal_type(figures: IncomeFigures, s: Decimal, multiplier: Decimal
                  ) -> tuple[str | None, Reason]:
    """The marginal-family type of a family not on dibao: ``income`` when y before any deduction
    is below multiplier × S; ``expenditure`` when only y after deducting rigid expenditure is
    [A: DOMAIN §3.4]; else None."""
    limit = s * multiplier
    if below(figures.per_capita_gross, limit):
        return "income", _reason("dibao.marginal_income", y=to_decimal(figures.per_capita_gross),
                                 multiplier=multiplier, limit=limit)
    if below(figures.per_capita_deducted, limit):
        return "expenditure", _reason("dibao.marginal_expenditure",
                                      y=to_decimal(figures.per_capita_deducted), limit=limit)
    return None, _reason("dibao.not_marginal", y=to_decimal(figures.per_capita_gross), limit=limit)


def _gap_payment(y: Fraction, s: Decimal, n: int, settings: DibaoSettings
                 ) -> tuple[Decimal, list[Reason]]:
    gap = Fraction(s) - y
    reasons = []
    if gap < Fraction(settings.minimum_amount_per_person):
        gap = Fraction(settings.minimum_amount_per_person)
        reasons.append(_reason("dibao.minimum_payment_applied",
                               minimum=settings.minimum_amount_per_person))
    amount = round_half_up(gap * n, settings.rounding_unit)
    reasons.insert(0, _reason("dibao.gap_payment", standard=s, y=to_decimal(y), n=n,
                              unit=settings.rounding_unit, amount=amount))
    return amount, reasons


def _income_reasons(figures: IncomeFigures) -> list[Reason]:
    reasons = []
    if figures.counted_support:
        reasons.append(_reason("dibao.support_counted", amount=figures.counted_support))
    if figures.deduct and figures.rigid_expenditure_12m:
        reasons.append(_reason("dibao.rigid_expenditure_deducted",
                               amount=to_decimal(figures.rigid_monthly)))
    return reasons


def _property_problem(household: Household, standard: Standard, n: int) -> Reason | None:
    """Deposits per capita within ``deposit_limit_per_capita`` when the standard sets one."""
    limit = standard.deposit_limit_per_capita
    if limit is None:
        return None
    if household.assets is None:
        return _reason("dibao.property_not_investigated")
    per_capita = Fraction(household.assets.deposits) / n
    if per_capita > Fraction(limit):
        return _reason("dibao.property_over_limit", per_capita=to_decimal(per_capita), limit=limit)
    return None


def _single_person_households(household: Household, counted: list[int], s: Decimal, as_of: date,
                              marginal: str | None, settings: DibaoSettings
                              ) -> tuple[tuple[int, ...], Decimal, list[Reason]]:
    """Members who may be enrolled alone when the family is not [N 57号 Art 8; 2022 notice]."""
    covered: list[int] = []
    total = ZERO
    reasons: list[Reason] = []
    for i in counted:
        member = household.members[i]
        severe = member.disability is not None and member.disability.severe
        route = None
        if marginal is not None and (severe or member.critical_illness):
            why = "为重度残疾人" if severe else "患重特大疾病"
            route = _reason("dibao.single_person_marginal_family", member=i + 1, why=why)
        elif (severe and not member.employed and member.age_on(as_of) >= ADULT_AGE
              and (marginal is not None or not settings.as_single_person_requires_marginal)):
            route = _reason("dibao.single_person_severe_disability", member=i + 1)
        if route is None:
            continue
        ignore = route.code == "dibao.single_person_severe_disability" \
            and settings.ignore_sibling_and_elderly_support
        figures = person_figures(household, i, include_support=lambda sup: not (
            ignore and _sibling_or_elderly(sup, as_of)))
        y = to_decimal(figures.per_capita)
        if not below(figures.per_capita, s):
            reasons += [route, _reason("dibao.single_person_income_not_below", member=i + 1, y=y,
                                       standard=s)]
            continue
        amount, _ = _gap_payment(figures.per_capita, s, 1, settings)
        covered.append(i)
        total += amount
        reasons += [route, _reason("dibao.single_person_payment", member=i + 1, standard=s, y=y,
                                   amount=amount)]
    return tuple(covered), total, reasons


def _sibling_or_elderly(supporter: Supporter, as_of: date) -> bool:
    age = supporter.age_on(as_of)
    return supporter.relation in SIBLING_RELATIONS or (age is not None
                                                      and age >= ELDERLY_SUPPORTER_AGE)


# --------------------------------------------------------------------------- after approval

def entitlement(*, assessment: Assessment, decided_on: date) -> Entitlement:
    """Dibao is paid monthly from the month after approval [N 57号]."""
    return Entitlement(programme=CODE, monthly_amount=assessment.monthly_amount,
                       one_off_amount=ZERO, start_month=add_months(decided_on, 1),
                       covered_members=assessment.covered_members,
                       rule_version=assessment.rule_version)


def review(*, household: Household, previous_household: Household | None, standard: Standard,
           as_of: date, in_force: Assessment, settings: DibaoSettings,
           taper_ends: date | None = None, excluded: Mapping[int, str] | None = None
           ) -> ReviewResult:
    """Continue, adjust, taper or stop a current recipient (在保必核).

    A taper applies only when employment lifted the income [N 2022]: with the members' previous
    wages the household would still be below the standard.
    """
    now = assess(household=household, standard=standard, as_of=as_of, settings=settings,
                 excluded=excluded)
    next_month = add_months(as_of, 1)
    result = dict(programme=CODE, rule_version=RULE_VERSION)
    if now.eligible:
        if now.monthly_amount == in_force.monthly_amount:
            return ReviewResult(**result, action="continue", monthly_amount=now.monthly_amount,
                                effective_from=next_month,
                                reasons=(*now.reasons, _reason("dibao.review_unchanged")))
        return ReviewResult(**result, action="adjust", monthly_amount=now.monthly_amount,
                            effective_from=next_month, reasons=(*now.reasons, _reason(
                                "dibao.review_adjusted", old=in_force.monthly_amount,
                                new=now.monthly_amount, month=next_month.isoformat())))
    if taper_ends is not None and as_of < taper_ends:
        return ReviewResult(**result, action="taper", monthly_amount=in_force.monthly_amount,
                            effective_from=next_month, taper_ends=taper_ends,
                            reasons=(_reason("dibao.review_taper_running",
                                             ends=taper_ends.isoformat()),))
    if taper_ends is None and previous_household is not None and lifted_by_employment(
            household=household, previous_household=previous_household, standard=standard,
            settings=settings, excluded=excluded):
        ends = add_months(next_month, settings.taper_months)
        y = now.details.get("per_capita_income", "")
        return ReviewResult(**result, action="taper", monthly_amount=in_force.monthly_amount,
                            effective_from=next_month, taper_ends=ends,
                            reasons=(_reason("dibao.review_taper", y=y,
                                             months=settings.taper_months,
                                             ends=ends.isoformat()),))
    return ReviewResult(**result, action="stop", monthly_amount=ZERO, effective_from=next_month,
                        reasons=(*now.reasons, _reason("dibao.review_stop",
                                                       month=next_month.isoformat())))


def lifted_by_employment(*, household: Household, previous_household: Household,
                         standard: Standard, settings: DibaoSettings,
                         excluded: Mapping[int, str] | None = None) -> bool:
    """True when an employed member's wages rose and, with the previous wages, the household
    would still be below the standard."""
    previous_wages = {m.id_number: m.income.wages for m in previous_household.members}
    rose = [m for m in household.members
            if m.employed and m.income.wages > previous_wages.get(m.id_number, m.income.wages)]
    if not rose:
        return False
    counterfactual = replace(household, members=tuple(
        replace(m, income=replace(m.income, wages=previous_wages.get(m.id_number, m.income.wages)))
        for m in household.members))
    counted = [i for i in range(len(household.members)) if i not in (excluded or {})]
    figures = household_figures(counterfactual,
                                deduct_rigid_expenditure=settings.deduct_rigid_expenditure,
                                members=counted)
    return below(figures.per_capita, standard.dibao(household.hukou))


# --------------------------------------------------------------------------- referrals

def referral_targets(*, household: Household, assessment: Assessment | None,
                     settings: DibaoSettings) -> list[ReferralTarget]:
    """Slips that follow a dibao or marginal decision: medical assistance (医保) when there are
    medical costs or a critical illness; disability subsidies (残联) when a member is disabled."""
    if assessment is None or not (assessment.eligible or assessment.marginal):
        return []
    targets = []
    due = settings.referral_due_working_days
    if household.expenses_12m.medical > 0 or any(m.critical_illness for m in household.members):
        targets.append(ReferralTarget(
            code="dibao.medical_assistance", programme=CODE, department="medical_insurance",
            department_zh="医保部门", due_working_days=due,
            purpose="医疗救助：资助参加基本医疗保险，对政策范围内自付医疗费用给予救助。"))
    if any(m.disability is not None for m in household.members):
        targets.append(ReferralTarget(
            code="dibao.disability_subsidy", programme=CODE,
            department="disabled_federation", department_zh="残联", due_working_days=due,
            purpose="残疾人两项补贴（困难残疾人生活补贴、重度残疾人护理补贴）及康复救助。"))
    return targets
