"""Charity emergency relief (慈善救急难) rules as pure functions.  Plain words: README.md.

Jining's "charity emergency relief double-hundred action" [S3/S4]: the city's Jishijiu special
response fund, the counties' charity emergency projects giving graded relief for heavy medical or
rehabilitation costs, and village charity funds.  Charity takes referred cases once government
relief is exhausted [N 2018].  Grading bands are settings [A]; the fund ledger itself (balances,
append-only entries) is the engine's database work — here only the pure rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from engine.casework.types import (
    ZERO, Assessment, Entitlement, Household, ProgrammeInfo, Reason, ReferralTarget, month_start,
)
from engine.errors import ValidationError
from engine.plugins import SettingsView

CODE = "charity"
RULE_VERSION = "charity/2025.1"


@dataclass(frozen=True, kw_only=True, slots=True)
class FundKind:
    code: str
    name_zh: str
    level: str  # "city" | "county" | "village"
    purpose: str
    source: str


FUND_KINDS: tuple[FundKind, ...] = (
    FundKind(code="city_special_response", name_zh="济时救特别响应救助基金", level="city",
             purpose="市级特别响应：政策外、急难特重的个案", source="[S3]"),
    FundKind(code="county_project", name_zh="县级慈善救急难项目", level="county",
             purpose="因病因残等刚性支出过大的分级救助（全市11个项目）", source="[S3/S4]"),
    FundKind(code="village_fund", name_zh="村级济时救慈善基金", level="village",
             purpose="村（社区）内急难的小额及时帮扶（333个村居）", source="[S3/S4]"),
)

PROGRAMME = ProgrammeInfo(
    code=CODE, name_zh="慈善救急难", name_en="Charity emergency relief (graded medical relief)",
    description="政府救助之后，对医疗、康复自付费用仍然过重的家庭，由慈善救急难项目按自付费用"
                "分档给予一次性救助；村级慈善基金对急难家庭及时帮扶。",
    conditions=(
        "近12个月医疗（及康复）自付费用达到分档起点；",
        "由低保、特困、临时救助等政府救助转介，或政府救助后仍有困难；",
        "按自付费用所在档次给予一次性救助。",
    ),
    documents=("转办单（如由政府救助转介）", "医疗、康复费用票据及医保结算单"),
    rule_version=RULE_VERSION, options=("referred_from",), benefit="one_off", excluded_by=(),
    legal_sources=("民发〔2018〕23号（政府救助与慈善衔接）", "济宁慈善救急难双百行动 [S3/S4]"),
)

REASONS: dict[str, str] = {
    "charity.band_reached": "近12个月医疗康复自付费用{amount}元，达到{band}（{start}元起），"
                            "一次性救助{grant}元。",
    "charity.below_lowest_band": "近12个月医疗康复自付费用{amount}元，未达到分级救助起点{start}元。",
    "charity.referral_accepted": "接收{source}转介的个案。",
    "charity.referral_source_not_accepted": "{source}不在慈善救急难接收转介的范围内。",
}
_SOURCE_ZH = {"dibao": "最低生活保障", "tekun": "特困人员救助供养", "linshi": "临时救助",
              "illness": "因病致贫重病患者认定"}


def _reason(code: str, **params: object) -> Reason:
    return Reason.from_catalogue(REASONS, code, **params)


@dataclass(frozen=True, kw_only=True, slots=True)
class Band:
    name: str
    start: Decimal  # out-of-pocket costs from this amount (inclusive)
    grant: Decimal


@dataclass(frozen=True, kw_only=True, slots=True)
class CharitySettings:
    bands: tuple[Band, ...]  # ascending by ``start``
    count_rehabilitation: bool
    accepts_referrals_from: tuple[str, ...]
    referral_due_working_days: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> CharitySettings:
        view = SettingsView(settings, CODE)
        return cls(bands=parse_bands(view.raw("medical_bands")),
                   count_rehabilitation=view.boolean("count_rehabilitation"),
                   accepts_referrals_from=view.texts("accepts_referrals_from"),
                   referral_due_working_days=view.integer("referral_due_working_days", lo=1))


def parse_bands(raw: Any) -> tuple[Band, ...]:
    """Bands from settings (``[{name, from, grant}, …]``): starts strictly rising, grants not
    falling, all positive — else a ValidationError naming ``charity.medical_bands``."""
    try:
        bands = tuple(Band(name=str(b["name"]), start=Decimal(str(b["from"])),
                           grant=Decimal(str(b["grant"]))) for b in raw)
    except (KeyError, TypeError, ArithmeticError):
        bands = ()
    ordered = bands and all(b.start > 0 and b.grant > 0 for b in bands) and all(
        a.start < b.start and a.grant <= b.grant for a, b in zip(bands, bands[1:]))
    if not ordered:
        raise ValidationError("setting 'charity.medical_bands' is invalid", fields={
            "charity.medical_bands": ["need a list of {name, from, grant} with rising `from` "
                                      "and non-falling `grant`"]})
    return bands


def out_of_pocket(household: Household, settings: CharitySettings) -> Decimal:
    costs = household.expenses_12m
    return costs.medical + (costs.rehabilitation if settings.count_rehabilitation else ZERO)


def grade(amount: Decimal, bands: tuple[Band, ...]) -> Band | None:
    """The highest band whose start ``amount`` reaches, or None below the lowest band."""
    reached = [band for band in bands if amount >= band.start]
    return reached[-1] if reached else None


def can_pay(balance: Decimal, amount: Decimal) -> bool:
    """A fund pays only a positive amount it holds: a balance never goes negative."""
    return amount > 0 and balance - amount >= 0


def accepts_referral(source_programme: str, settings: CharitySettings) -> Reason:
    """Whether charity takes a case referred from ``source_programme`` (and why)."""
    source_zh = _SOURCE_ZH.get(source_programme, source_programme)
    if source_programme in settings.accepts_referrals_from:
        return _reason("charity.referral_accepted", source=source_zh)
    return _reason("charity.referral_source_not_accepted", source=source_zh)


def assess(*, household: Household, settings: CharitySettings,
           referred_from: str | None = None) -> Assessment:
    """Graded medical relief for the household's out-of-pocket costs."""
    reasons = []
    if referred_from is not None:
        intake = accepts_referral(referred_from, settings)
        if intake.code == "charity.referral_source_not_accepted":
            return Assessment(programme=CODE, eligible=False, rule_version=RULE_VERSION,
                              reasons=(intake,))
        reasons.append(intake)
    amount = out_of_pocket(household, settings)
    band = grade(amount, settings.bands)
    if band is None:
        return Assessment(programme=CODE, eligible=False, rule_version=RULE_VERSION,
                          reasons=(*reasons, _reason("charity.below_lowest_band", amount=amount,
                                                     start=settings.bands[0].start)))
    return Assessment(programme=CODE, eligible=True, rule_version=RULE_VERSION,
                      one_off_amount=band.grant,
                      covered_members=tuple(range(len(household.members))),
                      reasons=(*reasons, _reason("charity.band_reached", amount=amount,
                                                 band=band.name, start=band.start,
                                                 grant=band.grant)),
                      details={"band": band.name, "fund_kind": "county_project"})


def entitlement(*, assessment: Assessment, decided_on: date) -> Entitlement:
    return Entitlement(programme=CODE, monthly_amount=ZERO,
                       one_off_amount=assessment.one_off_amount,
                       start_month=month_start(decided_on),
                       covered_members=assessment.covered_members,
                       rule_version=assessment.rule_version)


def referral_targets(*, household: Household, assessments: Mapping[str, Assessment],
                     settings: CharitySettings) -> list[ReferralTarget]:
    """Slips to charity that government decisions call for: the county project's graded medical
    relief when the out-of-pocket costs reach a band; the village fund after an emergency."""
    government = [code for code, a in assessments.items()
                  if code in settings.accepts_referrals_from and (a.eligible or a.marginal)]
    targets = []
    due = settings.referral_due_working_days
    if government and grade(out_of_pocket(household, settings), settings.bands) is not None:
        targets.append(ReferralTarget(
            code="charity.graded_medical_relief", programme=CODE, department="charity_county",
            department_zh="县慈善总会（慈善救急难项目）", due_working_days=due,
            purpose="慈善分级医疗救助：按自付医疗康复费用分档一次性救助。"))
    linshi = assessments.get("linshi")
    if linshi is not None and linshi.eligible and linshi.details.get("relief_type") == "emergency":
        targets.append(ReferralTarget(
            code="charity.village_fund", programme=CODE, department="charity_village",
            department_zh="村级济时救慈善基金", due_working_days=due,
            purpose="村级慈善基金对急难家庭及时帮扶。"))
    return targets
