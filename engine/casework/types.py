"""The plain data shared by the engine and the programme plugins.

Frozen, keyword-only dataclasses and nothing else: no ORM rows, no Flask, no SpiffWorkflow.
Money is ``Decimal`` (parsed from decimal strings, never from floats), dates are ``date``.

``Household.from_dict`` / ``Standard.from_dict`` are the strict doors for outside data (the JSON
shapes of DESIGN.md, "Household and assessment shapes"): every problem is collected and raised at
once as :class:`engine.errors.ValidationError` with ``fields`` keyed by path, e.g.
``{"members[0].id_number": ["check digit is wrong"]}``.  ID numbers never appear in messages or in
``repr()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.casework import idnumber
from engine.errors import ValidationError

ZERO = Decimal("0")
CENT = Decimal("0.01")

HUKOU = ("rural", "urban")
SEXES = ("M", "F")
DISABILITY_CATEGORIES = ("physical", "intellectual", "mental", "visual", "hearing", "speech",
                         "multiple")
SCHOOL_LEVELS = ("none", "compulsory", "senior_high", "secondary_vocational", "college")
SUPPORTER_CIRCUMSTANCES = ("tekun_recipient", "dibao_recipient", "no_civil_capacity", "missing",
                           "imprisoned")
MARGINAL_TYPES = ("income", "expenditure")
REVIEW_ACTIONS = ("continue", "adjust", "taper", "stop")
REGION_PREFIX_LENGTHS = (2, 4, 6, 9, 12)
#: Where referral slips (转办单) go: the codes the processes, the plugins' ReferralTarget.department,
#: the funds and the pages share.  A new department is added here (and to its Chinese name).
REFERRAL_DEPARTMENTS = {
    "medical_insurance": "医保部门",
    "disabled_federation": "残联",
    "housing": "住建部门",
    "education": "教育部门",
    "human_resources": "人社部门",
    "civil_affairs": "民政部门",
    "charity_city": "市慈善总会",
    "charity_county": "县慈善总会",
    "charity_village": "村级济时救慈善基金",
}
MAX_AMOUNT = Decimal("999999999999.99")  # any larger figure is a typing error, not a household


def money(amount: Decimal) -> str:
    """A money amount as the contract writes it: two decimals, half-up (``"2800.00"``)."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month (payments run by month)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def to_json(value: Any) -> Any:
    """Make a value JSON-safe the way the contract writes it: money as two-decimal strings,
    dates in ISO form, tuples and sets as lists, dataclasses as dicts."""
    if isinstance(value, _Json):
        return value.to_dict()
    if isinstance(value, Decimal):
        return money(value) if value.as_tuple().exponent >= -2 else str(value)  # type: ignore
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (frozenset, set)):
        return sorted(to_json(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


class _Json:
    """``to_dict()`` for the dataclasses below: every field, made JSON-safe."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return {name: to_json(getattr(self, name))
                for name in self.__dataclass_fields__}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- household

@dataclass(frozen=True, kw_only=True, slots=True)
class Disability(_Json):
    category: str  # one of DISABILITY_CATEGORIES
    grade: int  # 1 (most severe) … 4

    @property
    def severe(self) -> bool:
        """重度残疾 as the national texts use it: grade 1–2, or intellectual/mental grade 1–3
        [N 民发〔2021〕57号 Art 8; 民发〔2021〕43号 Art 12]."""
        if self.category in ("intellectual", "mental"):
            return self.grade <= 3
        return self.grade <= 2


@dataclass(frozen=True, kw_only=True, slots=True)
class Income(_Json):
    """One member's monthly income in yuan, already net of the excluded items (DOMAIN §2.2)."""

    # ``total`` comes first: below the field named ``property`` the builtin is shadowed.
    @property
    def total(self) -> Decimal:
        return self.wages + self.business + self.property + self.transfer

    wages: Decimal = ZERO
    business: Decimal = ZERO
    property: Decimal = ZERO
    transfer: Decimal = ZERO


@dataclass(frozen=True, kw_only=True, slots=True)
class Member(_Json):
    name: str
    id_number: str = field(repr=False)
    relation: str
    birth_date: date
    sex: str
    disability: Disability | None = None
    self_care_lost: int = 0  # daily activities not managed, 0–6
    can_work: bool = True
    employed: bool = False
    in_school: str = "none"  # one of SCHOOL_LEVELS
    critical_illness: bool = False
    orphan: bool = False  # orphan or de-facto unsupported child (孤儿/事实无人抚养儿童)
    income: Income = field(default_factory=Income)

    @property
    def masked_id(self) -> str:
        return idnumber.mask(self.id_number)

    def age_on(self, on: date) -> int:
        """Age in full years (周岁); a 29 February birthday counts from 1 March."""
        born = self.birth_date
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass(frozen=True, kw_only=True, slots=True)
class Supporter(_Json):
    """A person with a legal duty of support (赡养/抚养/扶养) who is not a household member.

    ``able`` is the caseworker's finding used by the income formula.  The optional facts after it
    let the extreme-poverty rules test the statutory "unable to support" grounds themselves.
    """

    name: str
    relation: str
    able: bool
    birth_date: date | None = None
    monthly_support: Decimal = ZERO
    actually_paid: Decimal = ZERO
    support_set_aside: bool = False  # only by a one-case deliberation (一事一议) decision
    supports_member: int | None = None  # index of the member supported; None = the household
    monthly_income: Decimal | None = None
    disability: Disability | None = None
    circumstances: frozenset[str] = frozenset()  # subset of SUPPORTER_CIRCUMSTANCES
    property_within_limits: bool | None = None  # None = not investigated

    def age_on(self, on: date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass(frozen=True, kw_only=True, slots=True)
class Assets(_Json):
    deposits: Decimal = ZERO
    vehicles: int = 0
    houses: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Expenses12m(_Json):
    """Out-of-pocket rigid expenditure (刚性支出) over the last 12 months, yuan."""

    medical: Decimal = ZERO
    education: Decimal = ZERO
    rehabilitation: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.medical + self.education + self.rehabilitation


@dataclass(frozen=True, kw_only=True, slots=True)
class Household(_Json):
    region_code: str  # full 12-digit village/community code
    hukou: str  # "rural" | "urban": which standard applies
    hukou_region_code: str
    members: tuple[Member, ...]
    supporters: tuple[Supporter, ...] = ()
    assets: Assets | None = None  # None = not investigated yet
    expenses_12m: Expenses12m = field(default_factory=Expenses12m)

    @classmethod
    def from_dict(cls, data: object, *, ignore_unknown: bool = False) -> Household:
        """Parse the DESIGN.md household JSON strictly; raise ValidationError with every problem."""
        from engine.casework.parsing import Fields, parse_household

        errors = Fields()
        household = parse_household(data, errors, ignore_unknown)
        errors.raise_if_any("household is invalid")
        return household


# --------------------------------------------------------------------------- standards

@dataclass(frozen=True, kw_only=True, slots=True)
class Standard(_Json):
    """One standards row (yuan per person per month unless noted), valid from ``valid_from``.

    ``tekun_*`` may be missing: the explicit value is authoritative, otherwise the extreme-poverty
    plugin fills it from the dibao standard (DOMAIN §2.5).  ``disposable_income_last_year`` is the
    published *annual* per-capita disposable income of residents (居民人均可支配收入), yuan a year.
    """

    region_code: str  # a prefix of 2, 4, 6, 9 or 12 digits
    valid_from: date
    dibao_urban: Decimal
    dibao_rural: Decimal
    care_self: Decimal
    care_partial: Decimal
    care_total: Decimal
    township_relief_limit: Decimal
    tekun_urban: Decimal | None = None
    tekun_rural: Decimal | None = None
    marginal_multiplier: Decimal | None = None
    county_relief_limit: Decimal | None = None
    deposit_limit_per_capita: Decimal | None = None
    disposable_income_last_year: Decimal | None = None

    def dibao(self, hukou: str) -> Decimal:
        return self.dibao_urban if hukou == "urban" else self.dibao_rural

    def care(self, tier: str) -> Decimal:
        tiers = {"self": self.care_self, "partial": self.care_partial, "total": self.care_total}
        return tiers[tier]

    @classmethod
    def from_dict(cls, data: object) -> Standard:
        from engine.casework.parsing import Fields, parse_standard

        errors = Fields()
        standard = parse_standard(data, errors)
        errors.raise_if_any("standard is invalid")
        return standard


STANDARD_AMOUNTS = (
    "dibao_urban", "dibao_rural", "tekun_urban", "tekun_rural", "care_self", "care_partial",
    "care_total", "marginal_multiplier", "township_relief_limit", "county_relief_limit",
    "deposit_limit_per_capita", "disposable_income_last_year",
)
STANDARD_REQUIRED = ("dibao_urban", "dibao_rural", "care_self", "care_partial", "care_total",
                     "township_relief_limit")


# --------------------------------------------------------------------------- answers

@dataclass(frozen=True, kw_only=True, slots=True)
class Reason(_Json):
    """Why a decision came out as it did.  ``code`` is stable (and the i18n key); ``message`` is
    Simplified Chinese for the family and the caseworker."""

    code: str
    message: str

    @classmethod
    def from_catalogue(cls, catalogue: Mapping[str, str], code: str, **params: object) -> Reason:
        return cls(code=code, message=catalogue[code].format(**params))


@dataclass(frozen=True, kw_only=True, slots=True)
class Assessment:
    """One programme's answer for one household on one date (DESIGN.md assess answer)."""

    programme: str
    eligible: bool
    rule_version: str
    monthly_amount: Decimal = ZERO
    one_off_amount: Decimal = ZERO
    covered_members: tuple[int, ...] = ()
    marginal: str | None = None  # None | "income" | "expenditure" (dibao only)
    reasons: tuple[Reason, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict, compare=False)  # audit figures

    def __post_init__(self) -> None:
        if not self.eligible and (self.monthly_amount or self.one_off_amount
                                  or self.covered_members):
            raise ValueError("an ineligible assessment has no amounts and covers nobody")
        if self.monthly_amount < 0 or self.one_off_amount < 0:
            raise ValueError("amounts cannot be negative")
        if self.marginal not in (None, *MARGINAL_TYPES):
            raise ValueError(f"marginal must be None or one of {MARGINAL_TYPES}")

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """Exactly the DESIGN.md answer shape."""
        return {
            "programme": self.programme,
            "eligible": self.eligible,
            "monthly_amount": money(self.monthly_amount),
            "one_off_amount": money(self.one_off_amount),
            "covered_members": list(self.covered_members),
            "marginal": self.marginal,
            "reasons": [r.to_dict() for r in self.reasons],
            "rule_version": self.rule_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assessment:
        try:
            return cls(
                programme=str(data["programme"]), eligible=bool(data["eligible"]),
                rule_version=str(data["rule_version"]),
                monthly_amount=Decimal(str(data.get("monthly_amount", "0"))),
                one_off_amount=Decimal(str(data.get("one_off_amount", "0"))),
                covered_members=tuple(int(i) for i in data.get("covered_members", ())),
                marginal=data.get("marginal"),
                reasons=tuple(Reason(code=r["code"], message=r["message"])
                              for r in data.get("reasons", ())),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ValidationError("assessment is invalid", fields={"assessment": [str(exc)]})

    def to_task_data(self) -> dict[str, Any]:
        """Flat, JSON-safe keys (``dibao_eligible`` …) for BPMN conditions to read."""
        p = self.programme
        return {
            f"{p}_eligible": self.eligible,
            f"{p}_monthly_amount": money(self.monthly_amount),
            f"{p}_one_off_amount": money(self.one_off_amount),
            f"{p}_covered_members": list(self.covered_members),
            f"{p}_marginal": self.marginal,
            f"{p}_reason_codes": list(self.reason_codes),
            f"{p}_rule_version": self.rule_version,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Entitlement(_Json):
    """What an approved assessment pays and from when."""

    programme: str
    monthly_amount: Decimal
    one_off_amount: Decimal
    start_month: date  # first day of the first month paid
    covered_members: tuple[int, ...]
    rule_version: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewResult(_Json):
    """The outcome of reviewing a current recipient (在保必核, age-cap reviews, changed data).

    ``effective_from`` is the first day of the month the new state applies.  For a taper,
    ``taper_ends`` is the first day of the first month *without* payment.
    """

    programme: str
    action: str  # one of REVIEW_ACTIONS
    monthly_amount: Decimal
    effective_from: date
    rule_version: str
    taper_ends: date | None = None
    publicity_days: int = 0  # termination publicity before the stop (tekun: 7 days)
    follow_up: tuple[str, ...] = ()  # programmes to screen the family for next
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in REVIEW_ACTIONS:
            raise ValueError(f"action must be one of {REVIEW_ACTIONS}")


# --------------------------------------------------------------------------- plugin metadata

@dataclass(frozen=True, kw_only=True, slots=True)
class ProgrammeInfo(_Json):
    code: str
    name_zh: str
    name_en: str
    description: str
    conditions: tuple[str, ...]  # plain Chinese, one condition per line
    documents: tuple[str, ...]  # documents the family may need to bring
    rule_version: str
    options: tuple[str, ...] = ()  # keys the assess hook accepts in ``options``
    benefit: str = "monthly"  # "monthly" | "one_off" | "status"
    excluded_by: tuple[str, ...] = ()  # programmes (or "marginal") that take a member first
    legal_sources: tuple[str, ...] = ()
    # public policy guide (码上知): amount lines in plain Chinese, ``str.format`` fields naming the
    # amounts of the region's current Standard (``{dibao_rural}``…); a line whose field the
    # standard lacks is left out
    amounts: tuple[str, ...] = ()
    where_to_apply: str = ""  # where a family applies, in plain Chinese


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceRequest:
    """What a BPMN service task hands to a plugin operation."""

    operation: str
    params: Mapping[str, Any]
    household: Household | None
    standard: Standard | None
    as_of: date
    settings: Mapping[str, Any]

    def require_household(self) -> Household:
        if self.household is None:
            raise ValidationError(f"{self.operation} needs a household",
                                  fields={"household": ["required"]})
        return self.household

    def require_standard(self) -> Standard:
        if self.standard is None:
            raise ValidationError(f"{self.operation} needs a standard",
                                  fields={"standard": ["required"]})
        return self.standard


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceOperation:
    """A named operation ``<programme>.<operation>`` that a BPMN service task may call.

    ``func(request)`` returns a dict of JSON-safe values (Decimals as strings) that the engine
    merges into the task data.  ``params_schema`` (a marshmallow Schema class) documents and
    validates the ``params``.
    """

    name: str
    func: Callable[[ServiceRequest], dict[str, Any]]
    description: str
    params_schema: type | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReferralTarget(_Json):
    """A referral slip (转办单) a decision suggests: to a department or a charity, with feedback."""

    code: str  # "<programme>.<target>", e.g. "dibao.medical_assistance"
    programme: str
    department: str  # department code, e.g. "medical_insurance"
    department_zh: str  # e.g. "医保"
    purpose: str  # plain Chinese
    due_working_days: int
    feedback_required: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Notification:
    """A message to send: to a person (phone, WeChat id) or a role in a region."""

    kind: str  # e.g. "decision", "sla_warning", "escalation", "referral", "policy_notice"
    channel: str  # "sms" | "wechat" | "inbox" | …
    recipient: str
    subject: str
    body: str
    case_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryRecord:
    channel: str
    plugin: str
    status: str  # "sent" | "queued" | "failed"
    reference: str | None = None
    detail: str = ""
