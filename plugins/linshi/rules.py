"""Temporary relief (临时救助) rules as pure functions.  Plain words and sources: README.md.

Two types [N 2018 opinion]: emergency (急难型, paid first) and expenditure (支出型, full procedure).
No hukou or residence restriction [N 2023; S0].  Who approves depends on the amount: the township
up to ``township_relief_limit`` (3000 [S2; SD]), the county above it [N* 47号], the city above the
``county_relief_limit`` [S4, threshold A].  Split rule (DOMAIN §3.3 "Decision"): an emergency above
the township limit is paid up to the limit at once and the remainder goes up; an expenditure case
goes whole to the approving level.  Nobody approves above their own level's limit.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Any

from engine.casework.income import below, household_figures, to_decimal
from engine.casework.types import (
    ZERO, Assessment, Entitlement, Household, ProgrammeInfo, Reason, ReferralTarget, Standard,
    month_start,
)
from engine.plugins import SettingsView

CODE = "linshi"
RULE_VERSION = "linshi/2025.1"
LEVELS = ("township", "county", "city")
LEVEL_ZH = {"township": "乡镇（街道）", "county": "县级民政部门", "city": "市级民政部门"}
RELIEF_TYPES = ("emergency", "expenditure")
URGENCIES = ("urgent", "especially_urgent")
CAUSE_ZH = {"fire": "火灾", "traffic_accident": "交通事故", "natural_disaster": "自然灾害",
            "sudden_illness": "突发重大疾病", "death": "家庭成员意外死亡", "medical": "医疗支出",
            "education": "教育支出", "unemployment": "务工人员连续无收入", "other": "其他特殊困难"}
_HOUSING_CAUSES = ("fire", "natural_disaster")

PROGRAMME = ProgrammeInfo(
    code=CODE, name_zh="临时救助", name_en="Temporary relief (linshi)",
    description="对遭遇突发事件、意外伤害、重大疾病或其他特殊原因导致基本生活陷入困境的家庭或个人，"
                "给予应急性、过渡性救助；急难型先行救助，支出型按程序审批。",
    conditions=(
        "急难型：因火灾、交通事故等意外事件或突发重大疾病，基本生活暂时出现严重困难，需要立即救助；",
        "支出型：医疗、教育等必需支出突然增加，超出家庭承受能力；原则上家庭人均可支配收入低于"
        "上年度当地居民人均可支配收入，且财产符合规定；",
        "不受户籍、居住地限制，向急难发生地乡镇（街道）申请；",
        "3000元以下由乡镇（街道）直接审批，以上报县级民政部门，大额可申请市级临时救助。",
    ),
    documents=(
        "临时救助申请书（急难型可先救助后补办）",
        "居民身份证或其他身份证明",
        "事故、灾害或疾病的证明材料（如火灾证明、诊断证明、医疗费用票据）",
    ),
    rule_version=RULE_VERSION, options=("relief_type", "urgency", "requested_amount", "cause"),
    benefit="one_off", excluded_by=(),
    legal_sources=("民发〔2018〕23号", "国发〔2014〕47号 [N*]", "2023年分层分类意见",
                   "济宁 [S0/S2/S4]", "山东 [SD]"),
)

REASONS: dict[str, str] = {
    "linshi.not_requested": "未提出临时救助申请（未填写救助类型和金额）。",
    "linshi.emergency_type": "急难型临时救助（{cause}）：先行救助，{hours}小时内发放，"
                             "{days}日内补齐手续。",
    "linshi.expenditure_type": "支出型临时救助（{cause}）：必需支出超出家庭承受能力，按程序审批。",
    "linshi.no_hukou_restriction": "临时救助不受户籍、居住地限制，由急难发生地乡镇（街道）受理。",
    "linshi.income_below_disposable":
        "家庭年人均收入{annual}元，低于上年度当地居民人均可支配收入{limit}元。",
    "linshi.income_not_below_disposable":
        "家庭年人均收入{annual}元，不低于上年度当地居民人均可支配收入{limit}元，"
        "不符合支出型临时救助条件。",
    "linshi.disposable_income_unknown":
        "标准中缺少上年度当地居民人均可支配收入，无法核对支出型临时救助的收入条件。",
    "linshi.property_over_limit": "家庭人均存款{per_capita}元，超过财产限额{limit}元。",
    "linshi.property_not_investigated": "尚未调查家庭财产状况，暂不能认定支出型临时救助。",
    "linshi.route_township": "救助金额{amount}元，未超过乡镇（街道）审批限额{limit}元，"
                             "由乡镇（街道）直接审批，从临时救助备用金支出，报县级备案。",
    "linshi.route_pay_first": "乡镇（街道）先行从备用金支付{amount}元（审批限额{limit}元）。",
    "linshi.route_remainder": "其余{amount}元报{level}审批，可一次审批、分阶段救助。",
    "linshi.route_whole": "救助金额{amount}元超过乡镇（街道）审批限额{limit}元，全额报{level}审批。",
    "linshi.approval_allowed": "{approver}审批限额内，可以审批{amount}元。",
    "linshi.approval_refused": "{approver}审批限额为{limit}元，{amount}元超出权限，须报{route_to}审批。",
}


def _reason(code: str, **params: object) -> Reason:
    return Reason.from_catalogue(REASONS, code, **params)


@dataclass(frozen=True, kw_only=True, slots=True)
class LinshiSettings:
    deduct_rigid_expenditure: bool
    county_relief_limit: Decimal | None
    pay_first_hours: Mapping[str, int]
    paperwork_days: int
    paperwork_day_kind: str
    county_approval_working_days: int
    expenditure_income_test: bool
    referral_due_working_days: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> LinshiSettings:
        view = SettingsView(settings, CODE)
        return cls(
            deduct_rigid_expenditure=view.boolean("casework.deduct_rigid_expenditure"),
            county_relief_limit=view.optional_decimal("county_relief_limit"),
            pay_first_hours={"urgent": view.integer("pay_first_hours_urgent", lo=1),
                             "especially_urgent": view.integer(
                                 "pay_first_hours_especially_urgent", lo=1)},
            paperwork_days=view.integer("paperwork_days", lo=1),
            paperwork_day_kind=view.text("paperwork_day_kind", choices=("calendar", "working")),
            county_approval_working_days=view.integer("county_approval_working_days", lo=1),
            expenditure_income_test=view.boolean("expenditure_income_test"),
            referral_due_working_days=view.integer("referral_due_working_days", lo=1))


# --------------------------------------------------------------------------- approval levels

@dataclass(frozen=True, kw_only=True, slots=True)
class Tranche:
    level: str  # who approves (and pays) this part
    amount: Decimal
    pay_first: bool  # paid at once from the township reserve fund (先行救助)


@dataclass(frozen=True, kw_only=True, slots=True)
class Routing:
    approving_level: str  # the level whose limit covers the whole amount
    tranches: tuple[Tranche, ...]
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalCheck:
    allowed: bool
    approver_level: str
    amount: Decimal
    limit: Decimal | None  # None = no limit at this level
    route_to: str | None  # the level that must approve instead, when refused
    reason: Reason


def level_limit(level: str, standard: Standard, county_limit_fallback: Decimal | None = None
                ) -> Decimal | None:
    """The most a level may approve; None means no limit (the county without a city tier, the
    city)."""
    if level == "township":
        return standard.township_relief_limit
    if level == "county":
        return standard.county_relief_limit if standard.county_relief_limit is not None \
            else county_limit_fallback
    if level == "city":
        return None
    raise ValueError(f"unknown approval level {level!r}; use one of {LEVELS}")


def approving_level(amount: Decimal, standard: Standard,
                    county_limit_fallback: Decimal | None = None) -> str:
    """The lowest level allowed to approve ``amount``: ≤ township limit → township, ≤ county limit
    (or no county limit) → county, else city."""
    for level in LEVELS:
        limit = level_limit(level, standard, county_limit_fallback)
        if limit is None or amount <= limit:
            return level
    return LEVELS[-1]  # pragma: no cover - the city has no limit


def route(amount: Decimal, relief_type: str, standard: Standard, settings: LinshiSettings
          ) -> Routing:
    """Who approves and pays what (the split rule of DOMAIN §3.3)."""
    fallback = settings.county_relief_limit
    township_limit = standard.township_relief_limit
    level = approving_level(amount, standard, fallback)
    if level == "township":
        return Routing(approving_level=level,
                       tranches=(Tranche(level=level, amount=amount, pay_first=True),),
                       reasons=(_reason("linshi.route_township", amount=amount,
                                        limit=township_limit),))
    level_zh = LEVEL_ZH[level]
    if relief_type == "emergency":
        rest = amount - township_limit
        return Routing(
            approving_level=level,
            tranches=(Tranche(level="township", amount=township_limit, pay_first=True),
                      Tranche(level=level, amount=rest, pay_first=False)),
            reasons=(_reason("linshi.route_pay_first", amount=township_limit,
                             limit=township_limit),
                     _reason("linshi.route_remainder", amount=rest, level=level_zh)))
    return Routing(approving_level=level,
                   tranches=(Tranche(level=level, amount=amount, pay_first=False),),
                   reasons=(_reason("linshi.route_whole", amount=amount, limit=township_limit,
                                    level=level_zh),))


def approve(amount: Decimal, approver_level: str, standard: Standard, *,
            settings: LinshiSettings | None = None) -> ApprovalCheck:
    """May an approver at ``approver_level`` approve ``amount``?  Refused above the level's limit,
    naming the level the case must be routed to."""
    if amount <= 0:
        raise ValueError("an approved amount must be positive")
    fallback = settings.county_relief_limit if settings else None
    limit = level_limit(approver_level, standard, fallback)
    approver_zh = LEVEL_ZH[approver_level]
    if limit is None or amount <= limit:
        return ApprovalCheck(allowed=True, approver_level=approver_level, amount=amount,
                             limit=limit, route_to=None,
                             reason=_reason("linshi.approval_allowed", approver=approver_zh,
                                            amount=amount))
    target = approving_level(amount, standard, fallback)
    return ApprovalCheck(allowed=False, approver_level=approver_level, amount=amount, limit=limit,
                         route_to=target,
                         reason=_reason("linshi.approval_refused", approver=approver_zh,
                                        limit=limit, amount=amount, route_to=LEVEL_ZH[target]))


# --------------------------------------------------------------------------- paying

@dataclass(frozen=True, kw_only=True, slots=True)
class Stage:
    number: int
    due_on: date
    amount: Decimal


def stage_plan(total: Decimal, *, stages: int, first_due: date, interval_months: int = 1
               ) -> tuple[Stage, ...]:
    """"Approve once, pay in stages" (一次审批、分阶段救助): equal parts to the fen, the last part
    taking the remainder, so the stages always add up to the approved total."""
    if stages < 1 or interval_months < 1:
        raise ValueError("need at least one stage and an interval of at least one month")
    if total <= 0:
        raise ValueError("the total must be positive")
    part = (total / stages).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    amounts = [part] * (stages - 1) + [total - part * (stages - 1)]
    return tuple(Stage(number=k + 1, due_on=_same_day_months_later(first_due, k * interval_months),
                       amount=amount) for k, amount in enumerate(amounts))


@dataclass(frozen=True, kw_only=True, slots=True)
class Deadlines:
    pay_first_hours: int
    paperwork_days: int
    paperwork_day_kind: str

    @property
    def pay_first_due_in(self) -> str:
        return f"PT{self.pay_first_hours}H"  # a BPMN dueIn value

    @property
    def paperwork_due_in(self) -> str:
        return f"P{self.paperwork_days}D" if self.paperwork_day_kind == "calendar" \
            else f"{self.paperwork_days}WD"


def deadlines(urgency: str, settings: LinshiSettings) -> Deadlines:
    """Pay-first and paperwork limits: 24 h (2 h especially urgent) [S0/S3/S4], 5 days [SD]."""
    return Deadlines(pay_first_hours=settings.pay_first_hours[urgency],
                     paperwork_days=settings.paperwork_days,
                     paperwork_day_kind=settings.paperwork_day_kind)


# --------------------------------------------------------------------------- assessment

def assess(*, household: Household, standard: Standard, as_of: date, settings: LinshiSettings,
           relief_type: str | None = None, requested_amount: Decimal | None = None,
           urgency: str = "urgent", cause: str = "other") -> Assessment:
    """The temporary-relief answer for an assessed need of ``requested_amount`` (one-off).

    Without a ``relief_type`` nothing was requested (e.g. screening in a combined assessment).
    """
    if relief_type is None or requested_amount is None:
        return Assessment(programme=CODE, eligible=False, rule_version=RULE_VERSION,
                          reasons=(_reason("linshi.not_requested"),))
    cause_zh = CAUSE_ZH.get(cause, cause)
    reasons = [_reason("linshi.no_hukou_restriction")]
    if relief_type == "emergency":
        limits = deadlines(urgency, settings)
        reasons.append(_reason("linshi.emergency_type", cause=cause_zh,
                               hours=limits.pay_first_hours, days=limits.paperwork_days))
    else:
        reasons.append(_reason("linshi.expenditure_type", cause=cause_zh))
        refusal = _expenditure_refusal(household, standard, settings)
        if refusal is not None:
            return Assessment(programme=CODE, eligible=False, rule_version=RULE_VERSION,
                              reasons=(*reasons, *refusal),
                              details={"relief_type": relief_type, "cause": cause})
        if settings.expenditure_income_test:
            reasons.append(_income_reason(household, standard, settings))
    routing = route(requested_amount, relief_type, standard, settings)
    pay_first = sum((t.amount for t in routing.tranches if t.pay_first), ZERO)
    return Assessment(
        programme=CODE, eligible=True, rule_version=RULE_VERSION,
        one_off_amount=requested_amount, covered_members=tuple(range(len(household.members))),
        reasons=(*reasons, *routing.reasons),
        details={"relief_type": relief_type, "cause": cause, "urgency": urgency,
                 "approving_level": routing.approving_level, "pay_first_amount": str(pay_first)})


def _annual_per_capita(household: Household, settings: LinshiSettings) -> Fraction:
    figures = household_figures(household,
                                deduct_rigid_expenditure=settings.deduct_rigid_expenditure)
    return figures.per_capita * 12


def _income_reason(household: Household, standard: Standard, settings: LinshiSettings) -> Reason:
    return _reason("linshi.income_below_disposable",
                   annual=to_decimal(_annual_per_capita(household, settings)),
                   limit=standard.disposable_income_last_year)


def _expenditure_refusal(household: Household, standard: Standard, settings: LinshiSettings
                         ) -> list[Reason] | None:
    limit = standard.deposit_limit_per_capita
    if limit is not None:
        if household.assets is None:
            return [_reason("linshi.property_not_investigated")]
        per_capita = Fraction(household.assets.deposits) / len(household.members)
        if per_capita > Fraction(limit):
            return [_reason("linshi.property_over_limit", per_capita=to_decimal(per_capita),
                            limit=limit)]
    if not settings.expenditure_income_test:
        return None
    disposable = standard.disposable_income_last_year
    if disposable is None:
        return [_reason("linshi.disposable_income_unknown")]
    annual = _annual_per_capita(household, settings)
    if not below(annual, disposable):
        return [_reason("linshi.income_not_below_disposable", annual=to_decimal(annual),
                        limit=disposable)]
    return None


def entitlement(*, assessment: Assessment, decided_on: date) -> Entitlement:
    """Temporary relief is paid in the month of approval (the pay-first part sooner)."""
    return Entitlement(programme=CODE, monthly_amount=ZERO,
                       one_off_amount=assessment.one_off_amount,
                       start_month=month_start(decided_on),
                       covered_members=assessment.covered_members,
                       rule_version=assessment.rule_version)


def referral_targets(*, assessment: Assessment | None, settings: LinshiSettings
                     ) -> list[ReferralTarget]:
    """A fire or disaster → housing repair (住建); an education cause → education assistance."""
    if assessment is None or not assessment.eligible:
        return []
    cause = assessment.details.get("cause")
    due = settings.referral_due_working_days
    if cause in _HOUSING_CAUSES:
        return [ReferralTarget(code="linshi.housing_repair", programme=CODE,
                               department="housing", department_zh="住建部门",
                               due_working_days=due,
                               purpose="住房修缮或农村危房改造，帮助恢复基本居住条件。")]
    if cause == "education":
        return [ReferralTarget(code="linshi.education_assistance", programme=CODE,
                               department="education", department_zh="教育部门",
                               due_working_days=due, purpose="教育救助（学生资助）。")]
    return []


def _same_day_months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
