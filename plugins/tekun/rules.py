"""Extreme-poverty support (特困人员救助供养) rules as pure functions.  Plain words: README.md.

A person qualifies when all three tests hold [N 民发〔2021〕43号]: cannot work (无劳动能力), no means
of living (无生活来源), and no legal supporter or none able to support (无法定义务人或其无履行能力).
The monthly amount is the basic-living standard (urban or rural) plus the care standard of the
person's self-care tier [N; S2].  Each member is decided on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.casework.income import member_income, round_half_up
from engine.casework.standards import care_tier, tekun_basic_living
from engine.casework.types import (
    ZERO, Assessment, Entitlement, Household, Member, ProgrammeInfo, Reason, ReviewResult,
    Standard, Supporter, add_months,
)
from engine.errors import ValidationError
from engine.plugins import SettingsView

CODE = "tekun"
RULE_VERSION = "tekun/2025.1"
ADULT_AGE = 18  # [N 民法典 Art 17]; also the end of the orphan allowance
TIER_ZH = {"self": "具备自理能力", "partial": "部分丧失自理能力", "total": "完全丧失自理能力"}
SCHOOL_ZH = {"compulsory": "义务教育阶段学校", "senior_high": "普通高中",
             "secondary_vocational": "中等职业学校", "college": "高等院校", "none": "未就读"}
CATEGORY_ZH = {"physical": "肢体", "intellectual": "智力", "mental": "精神", "visual": "视力",
               "hearing": "听力", "speech": "言语", "multiple": "多重"}

PROGRAMME = ProgrammeInfo(
    code=CODE, name_zh="特困人员救助供养", name_en="Extreme-poverty support (tekun)",
    description="对无劳动能力、无生活来源、无法定赡养抚养扶养义务人或者其法定义务人无履行义务能力的"
                "老年人、残疾人和未成年人，按月发放基本生活费和照料护理费。",
    conditions=(
        "无劳动能力：年满60周岁；或未满18周岁（济宁；全国为16周岁）；或一至三级智力、精神残疾，"
        "一、二级肢体残疾，一级视力残疾；",
        "无生活来源：本人收入低于当地低保标准，且财产符合当地特困人员财产状况规定；",
        "无法定赡养、抚养、扶养义务人，或者其法定义务人无履行义务能力；",
        "同时符合孤儿（事实无人抚养儿童）基本生活保障条件的未成年人，须在两者中选择其一；",
        "未成年人满18周岁后仍在义务教育、普通高中或中等职业学校就读的，继续享受。",
    ),
    documents=(
        "特困人员救助供养申请书",
        "居民身份证或户口簿（能从政务平台获取的不再要求提供）",
        "残疾人证（如有）",
        "法定义务人无履行义务能力的证明材料（如有）",
        "生活自理能力评估表",
    ),
    rule_version=RULE_VERSION, options=("prefers_orphan_allowance",), benefit="monthly",
    excluded_by=(), legal_sources=("民发〔2021〕43号", "社会救助暂行办法 Ch 3", "济宁 [S2]"),
)

REASONS: dict[str, str] = {
    "tekun.cannot_work_elderly": "第{member}位成员{age}周岁，年满{limit}周岁，属于无劳动能力。",
    "tekun.cannot_work_minor": "第{member}位成员{age}周岁，未满{cap}周岁，属于无劳动能力。",
    "tekun.cannot_work_disability":
        "第{member}位成员为{category}残疾{grade}级，属于无劳动能力。",
    "tekun.continues_in_school":
        "第{member}位成员已满{cap}周岁，仍在{school}就读，继续享受特困人员救助供养。",
    "tekun.can_work":
        "第{member}位成员{age}周岁，不属于老年人、未满{cap}周岁的未成年人或规定等级的残疾人，"
        "不符合无劳动能力条件。",
    "tekun.minor_reached_cap_not_in_school":
        "第{member}位成员已满{cap}周岁，未在义务教育、普通高中或中等职业学校就读，"
        "不再符合特困人员条件。",
    "tekun.income_below_standard":
        "第{member}位成员本人月收入{income}元，低于低保标准{standard}元，属于无生活来源。",
    "tekun.income_not_below_standard":
        "第{member}位成员本人月收入{income}元，不低于低保标准{standard}元，不符合无生活来源条件。",
    "tekun.property_over_limit": "家庭人均存款{per_capita}元，超过财产限额{limit}元。",
    "tekun.property_not_investigated": "尚未调查家庭财产状况，暂不能认定。",
    "tekun.no_supporter": "第{member}位成员无法定赡养、抚养、扶养义务人。",
    "tekun.supporter_unable": "义务人{who}{ground}，视为无履行义务能力。",
    "tekun.supporter_able": "义务人{who}不属于无履行义务能力的情形，第{member}位成员不符合特困人员条件。",
    "tekun.supporter_income_test_unavailable":
        "标准中缺少上年度居民人均可支配收入，无法认定义务人{who}是否无履行义务能力。",
    "tekun.orphan_allowance_chosen":
        "第{member}位成员选择孤儿（事实无人抚养儿童）基本生活保障，不纳入特困人员救助供养。",
    "tekun.tekun_chosen_over_orphan_allowance":
        "第{member}位成员选择特困人员救助供养，不再领取孤儿（事实无人抚养儿童）基本生活费。",
    "tekun.amount": "第{member}位成员：基本生活标准{basic}元 + 照料护理标准（{tier}）{care}元"
                    " = 每月{amount}元。",
    "tekun.review_unchanged": "复核：仍符合特困人员条件，供养金不变。",
    "tekun.review_adjusted": "复核：供养金由每月{old}元调整为{new}元，自{month}起执行。",
    "tekun.review_stop": "复核：不再符合特困人员条件，经{days}日公示无异议后自{month}起停发，"
                         "并转入{follow_up}审核。",
}
_PROGRAMME_ZH = {"dibao": "最低生活保障", "linshi": "临时救助"}


def _reason(code: str, **params: object) -> Reason:
    return Reason.from_catalogue(REASONS, code, **params)


@dataclass(frozen=True, kw_only=True, slots=True)
class TekunSettings:
    rounding_unit: Decimal
    minor_age_cap: int
    elderly_age: int
    supporter_elderly_age: int
    supporter_dibao_age: int
    basic_living_multiplier: Decimal
    continuing_school_levels: tuple[str, ...]
    termination_publicity_days: int
    follow_up_programmes: tuple[str, ...]
    referral_due_working_days: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> TekunSettings:
        view = SettingsView(settings, CODE)
        return cls(
            rounding_unit=view.decimal("casework.rounding_unit", minimum=Decimal("0.01")),
            minor_age_cap=view.integer("minor_age_cap", lo=1, hi=18),
            elderly_age=view.integer("elderly_age", lo=18),
            supporter_elderly_age=view.integer("supporter_elderly_age", lo=18),
            supporter_dibao_age=view.integer("supporter_dibao_age", lo=18),
            basic_living_multiplier=view.decimal("basic_living_multiplier", minimum=Decimal(1)),
            continuing_school_levels=view.texts("continuing_school_levels"),
            termination_publicity_days=view.integer("termination_publicity_days", lo=0),
            follow_up_programmes=view.texts("follow_up_programmes"),
            referral_due_working_days=view.integer("referral_due_working_days", lo=1))


@dataclass(kw_only=True, slots=True)
class MemberDecision:
    eligible: bool
    amount: Decimal = ZERO
    reasons: list[Reason] = field(default_factory=list)
    needs_orphan_choice: bool = False


# --------------------------------------------------------------------------- assessment

def assess(*, household: Household, standard: Standard, as_of: date, settings: TekunSettings,
           prefers_orphan_allowance: bool | None = None,
           excluded: Mapping[int, str] | None = None) -> Assessment:
    """Decide every member; raise ValidationError when a minor who also qualifies for the orphan
    allowance has not chosen between the two (the system must force the choice)."""
    covered: list[int] = []
    total = ZERO
    reasons: list[Reason] = []
    must_choose: list[int] = []
    for i in range(len(household.members)):
        if i in (excluded or {}):
            continue
        decision = decide_member(household, i, standard, as_of, settings,
                                 prefers_orphan_allowance=prefers_orphan_allowance)
        reasons += decision.reasons
        if decision.needs_orphan_choice:
            must_choose.append(i)
        elif decision.eligible:
            covered.append(i)
            total += decision.amount
    if must_choose:
        members = "、".join(f"第{i + 1}位" for i in must_choose)
        raise ValidationError(
            "a minor who qualifies for both must choose tekun or the orphan allowance",
            fields={"options.prefers_orphan_allowance": [
                f"{members}成员同时符合特困人员救助供养和孤儿（事实无人抚养儿童）基本生活保障条件，"
                "必须选择其一 (required: true = orphan allowance, false = tekun)"]})
    return Assessment(programme=CODE, eligible=bool(covered), rule_version=RULE_VERSION,
                      monthly_amount=total, covered_members=tuple(covered),
                      reasons=tuple(reasons))


def decide_member(household: Household, index: int, standard: Standard, as_of: date,
                  settings: TekunSettings, *, prefers_orphan_allowance: bool | None = None,
                  continuing: bool = False) -> MemberDecision:
    """The three tests for one member; ``continuing`` for a current recipient (age-cap review)."""
    member = household.members[index]
    n = index + 1
    cannot_work = _cannot_work(member, n, as_of, settings, continuing=continuing)
    if cannot_work.code in ("tekun.can_work", "tekun.minor_reached_cap_not_in_school"):
        return MemberDecision(eligible=False, reasons=[cannot_work])
    reasons = [cannot_work]
    s = standard.dibao(household.hukou)
    own = member_income(member)
    if own >= s:
        return MemberDecision(eligible=False, reasons=reasons + [_reason(
            "tekun.income_not_below_standard", member=n, income=own, standard=s)])
    reasons.append(_reason("tekun.income_below_standard", member=n, income=own, standard=s))
    problem = _property_problem(household, standard)
    if problem is not None:
        return MemberDecision(eligible=False, reasons=reasons + [problem])
    supporters_ok, supporter_reasons = _no_able_supporter(household, index, standard, as_of,
                                                          settings)
    reasons += supporter_reasons
    if not supporters_ok:
        return MemberDecision(eligible=False, reasons=reasons)
    age = member.age_on(as_of)
    if member.orphan and age < ADULT_AGE and not continuing:
        if prefers_orphan_allowance is None:
            return MemberDecision(eligible=False, reasons=reasons, needs_orphan_choice=True)
        if prefers_orphan_allowance:
            return MemberDecision(eligible=False, reasons=reasons + [
                _reason("tekun.orphan_allowance_chosen", member=n)])
        reasons.append(_reason("tekun.tekun_chosen_over_orphan_allowance", member=n))
    amount, amount_reason = monthly_amount(member, n, household.hukou, standard, settings)
    return MemberDecision(eligible=True, amount=amount, reasons=reasons + [amount_reason])


def monthly_amount(member: Member, n: int, hukou: str, standard: Standard,
                   settings: TekunSettings) -> tuple[Decimal, Reason]:
    """Basic-living standard (explicit, or filled by the multiplier) + the tier's care standard."""
    basic = tekun_basic_living(standard, hukou, multiplier=settings.basic_living_multiplier,
                               unit=settings.rounding_unit)
    tier = care_tier(member.self_care_lost)
    care = standard.care(tier)
    amount = round_half_up(basic + care, settings.rounding_unit)
    return amount, _reason("tekun.amount", member=n, basic=basic, tier=TIER_ZH[tier], care=care,
                           amount=amount)


def _cannot_work(member: Member, n: int, as_of: date, settings: TekunSettings, *,
                 continuing: bool) -> Reason:
    age = member.age_on(as_of)
    if age >= settings.elderly_age:
        return _reason("tekun.cannot_work_elderly", member=n, age=age, limit=settings.elderly_age)
    if age < settings.minor_age_cap:
        return _reason("tekun.cannot_work_minor", member=n, age=age, cap=settings.minor_age_cap)
    d = member.disability
    if d is not None and ((d.category in ("intellectual", "mental") and d.grade <= 3)
                          or (d.category == "physical" and d.grade <= 2)
                          or (d.category == "visual" and d.grade == 1)):
        return _reason("tekun.cannot_work_disability", member=n,
                       category=CATEGORY_ZH[d.category], grade=d.grade)
    if continuing and age >= settings.minor_age_cap:
        if member.in_school in settings.continuing_school_levels:
            return _reason("tekun.continues_in_school", member=n, cap=settings.minor_age_cap,
                           school=SCHOOL_ZH.get(member.in_school, member.in_school))
        if age < settings.elderly_age:
            return _reason("tekun.minor_reached_cap_not_in_school", member=n,
                           cap=settings.minor_age_cap)
    return _reason("tekun.can_work", member=n, age=age, cap=settings.minor_age_cap)


def _property_problem(household: Household, standard: Standard) -> Reason | None:
    limit = standard.deposit_limit_per_capita
    if limit is None:
        return None
    if household.assets is None:
        return _reason("tekun.property_not_investigated")
    per_capita = Fraction(household.assets.deposits) / len(household.members)
    if per_capita > Fraction(limit):
        return _reason("tekun.property_over_limit", per_capita=round_half_up(
            per_capita, Decimal("0.01")), limit=limit)
    return None


def _no_able_supporter(household: Household, index: int, standard: Standard, as_of: date,
                       settings: TekunSettings) -> tuple[bool, list[Reason]]:
    """Test 3: every legal supporter is unable.  Supporters are the listed supporters (of the
    household or of this member) and — [A] — every other adult household member, since members
    are spouses, parents and children living together (DOMAIN §2.1)."""
    n = index + 1
    candidates: list[tuple[str, Supporter | Member]] = [
        (f"{s.name}（{s.relation}）", s) for s in household.supporters
        if s.supports_member in (None, index)]
    candidates += [(f"第{j + 1}位成员（{m.relation}）", m) for j, m in enumerate(household.members)
                   if j != index and m.age_on(as_of) >= ADULT_AGE]
    if not candidates:
        return True, [_reason("tekun.no_supporter", member=n)]
    reasons = []
    for who, person in candidates:
        ground = supporter_inability(person, standard, as_of, settings,
                                     household_property_ok=_property_problem(
                                         household, standard) is None)
        if ground is None:
            return False, reasons + [_reason("tekun.supporter_able", who=who, member=n)]
        if ground == "income_test_unavailable":
            return False, reasons + [_reason("tekun.supporter_income_test_unavailable", who=who)]
        reasons.append(_reason("tekun.supporter_unable", who=who, ground=ground))
    return True, reasons


def supporter_inability(person: Supporter | Member, standard: Standard, as_of: date,
                        settings: TekunSettings, *, household_property_ok: bool = True
                        ) -> str | None:
    """The statutory ground (in Chinese) on which a legal supporter counts as unable [N 43号],
    ``"income_test_unavailable"`` when the ground hinges on a figure the standard lacks, or None
    when the supporter is able."""
    if isinstance(person, Supporter):
        circumstances = person.circumstances
        income = person.monthly_income
        property_ok = person.property_within_limits is True
    else:
        circumstances = frozenset()
        income = member_income(person)
        property_ok = household_property_ok
    age = person.age_on(as_of)
    if "tekun_recipient" in circumstances:
        return "本人为特困人员"
    if "dibao_recipient" in circumstances and age is not None \
            and age >= settings.supporter_dibao_age:
        return f"为{settings.supporter_dibao_age}周岁以上的低保对象"
    for blocked, text in (("no_civil_capacity", "无民事行为能力"), ("missing", "被宣告失踪"),
                          ("imprisoned", "在监狱服刑")):
        if blocked in circumstances and property_ok:
            return f"{text}，且财产状况符合规定"
    old = age is not None and age >= settings.supporter_elderly_age
    severe = person.disability is not None and person.disability.severe
    if not (old or severe) or not property_ok:
        return None
    disposable = standard.disposable_income_last_year
    if income is None:
        return None
    if disposable is None:
        return "income_test_unavailable"
    if income * 12 >= disposable:
        return None
    who = f"年满{settings.supporter_elderly_age}周岁" if old else "为重度残疾人"
    return f"{who}，收入低于上年度当地居民人均可支配收入，且财产状况符合规定"


# --------------------------------------------------------------------------- after approval

def entitlement(*, assessment: Assessment, decided_on: date) -> Entitlement:
    """Paid monthly from the month after confirmation [N 43号]."""
    return Entitlement(programme=CODE, monthly_amount=assessment.monthly_amount,
                       one_off_amount=ZERO, start_month=add_months(decided_on, 1),
                       covered_members=assessment.covered_members,
                       rule_version=assessment.rule_version)


def review(*, household: Household, standard: Standard, as_of: date, in_force: Assessment,
           settings: TekunSettings) -> ReviewResult:
    """Re-decide each current recipient as ``continuing`` (age cap, school, supporters, income).

    Termination follows a publicity period and takes effect from the next month; the person is
    then screened for dibao and temporary relief [N 43号].
    """
    kept: list[int] = []
    total = ZERO
    reasons: list[Reason] = []
    for i in in_force.covered_members:
        decision = decide_member(household, i, standard, as_of, settings, continuing=True)
        reasons += decision.reasons
        if decision.eligible:
            kept.append(i)
            total += decision.amount
    next_month = add_months(as_of, 1)
    base = dict(programme=CODE, rule_version=RULE_VERSION)
    if not kept:
        stop_from = add_months(as_of + timedelta(days=settings.termination_publicity_days), 1)
        follow_up = "、".join(_PROGRAMME_ZH.get(p, p) for p in settings.follow_up_programmes)
        return ReviewResult(**base, action="stop", monthly_amount=ZERO, effective_from=stop_from,
                            publicity_days=settings.termination_publicity_days,
                            follow_up=settings.follow_up_programmes,
                            reasons=(*reasons, _reason(
                                "tekun.review_stop", days=settings.termination_publicity_days,
                                month=stop_from.isoformat(), follow_up=follow_up)))
    if total == in_force.monthly_amount and len(kept) == len(in_force.covered_members):
        return ReviewResult(**base, action="continue", monthly_amount=total,
                            effective_from=next_month,
                            reasons=(*reasons, _reason("tekun.review_unchanged")))
    return ReviewResult(**base, action="adjust", monthly_amount=total, effective_from=next_month,
                        reasons=(*reasons, _reason("tekun.review_adjusted",
                                                   old=in_force.monthly_amount, new=total,
                                                   month=next_month.isoformat())))
