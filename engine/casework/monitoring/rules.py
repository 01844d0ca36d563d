"""Comparison rules (data, not code), the plain results the review hands out, and small helpers."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Mapping


from engine.casework import idnumber
from engine.errors import ValidationError
from engine.casework.monitoring.models import FEEDS, MONTH_RE, ReviewRunRow

# =============================================================================== rules

@dataclass(frozen=True)
class Rule:
    """A household is hit when its rows of ``feed`` this month (after the kind filters) exist and,
    with ``above`` set, their total ``amount`` exceeds it."""

    code: str
    feed: str
    action: str = "investigate"
    kinds: tuple[str, ...] | None = None      # only rows of these kinds
    exclude_kinds: tuple[str, ...] = ()       # rows of these kinds never count
    above: Decimal | None = None              # household total of ``amount`` must exceed this

    def __post_init__(self) -> None:
        if self.feed not in FEEDS:
            raise ValidationError(f"rule {self.code}: unknown feed '{self.feed}'", {"feed": ["unknown feed"]})
        if self.action not in ("warn", "investigate"):
            raise ValidationError(f"rule {self.code}: action must be warn or investigate",
                                  {"action": ["warn or investigate"]})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Rule":
        above = data.get("above")
        kinds = data.get("kinds")
        return cls(code=str(data["code"]), feed=str(data["feed"]), action=str(data.get("action", "investigate")),
                   kinds=tuple(kinds) if kinds is not None else None,
                   exclude_kinds=tuple(data.get("exclude_kinds") or ()),
                   above=Decimal(str(above)) if above is not None else None)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["above"] = None if self.above is None else str(self.above)
        out["kinds"] = list(self.kinds) if self.kinds is not None else None
        out["exclude_kinds"] = list(self.exclude_kinds)
        return out


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("death", "deaths", "investigate"),
    # vehicles essential for production or daily living may be exempt (DOMAIN §2.3) [A: which kinds]
    Rule("vehicle_registered", "vehicles", "investigate",
         exclude_kinds=("motorcycle", "electric_tricycle", "farm_machinery")),
    Rule("property_registered", "property", "investigate", above=Decimal("0")),   # [A] limit: any value
    # contributions as an employee mean employment: warn, then investigate (possible taper)
    Rule("employment", "social_insurance", "investigate", kinds=("employee",)),
    Rule("business_registered", "business_registration", "investigate"),
    # possible expenditure-type help (支出型), not a stop [A: 10 000 yuan in the month]
    Rule("hospital_bills", "hospital_bills", "warn", above=Decimal("10000")),
)


def rules_from_config(config: Mapping[str, Any] | None) -> tuple[Rule, ...]:
    """``REVIEW_RULES``: a list of rule mappings replacing the defaults (or None)."""
    raw = (config or {}).get("REVIEW_RULES")
    if not raw:
        return DEFAULT_RULES
    return tuple(r if isinstance(r, Rule) else Rule.from_dict(r) for r in raw)


# =============================================================================== plain data

@dataclass(frozen=True)
class ReviewRun:
    id: int
    month: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    compared: int
    flagged: int
    opened: int
    error: str | None = None
    timings: dict = field(default_factory=dict, compare=False)   # seconds per phase (this process)

    @classmethod
    def of(cls, row: ReviewRunRow, timings: dict | None = None) -> "ReviewRun":
        return cls(row.id, row.month, row.status, row.started_at, row.finished_at, row.compared,
                   row.flagged, row.opened, row.error, dict(timings or {}))


@dataclass(frozen=True)
class ReviewResult:
    household_id: int
    flags: tuple[str, ...]
    action: str
    case_id: int | None
    note: str | None


@dataclass(frozen=True)
class ImportReport:
    feed: str
    month: str
    imported: int
    matched: int
    rejected: int
    replaced: int


Progress = Callable[[str, int, int], None]   # (phase, done, total)


# =============================================================================== helpers

def id_hash(id_number: str) -> str:
    """sha256 (hex) of the normalised ID number: what feeds and the member index hold."""
    return hashlib.sha256(idnumber.normalize(id_number).encode("ascii")).hexdigest()


def check_month(month: str) -> str:
    if not isinstance(month, str) or not MONTH_RE.match(month):
        raise ValidationError("month must be YYYY-MM", {"month": ["must be YYYY-MM"]})
    return month

