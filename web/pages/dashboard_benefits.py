"""The dashboard's payment-roll figures, from the benefits module's own queries.

Monthly benefits are paid in county batches (:mod:`engine.casework.benefits`): who is on the roll
comes from the entitlements, money paid and failed from the batch lines the bank answered.  These
figures are read through :func:`engine.casework.benefits.figures` only, so the dashboard never
knows the tables.  A batch line counts in its batch month (the month the benefit is for).

One caution joins the two sources: when the bank pays the first month a case scheduled
(``payment.schedule``), reconciliation also marks that ``payment`` row paid; those rows (purpose
``monthly``) are the same money as the batch line, so :func:`merge_paid` leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.casework import benefits

ZERO = Decimal("0.00")
#: ``payment.purpose`` of the rows that mirror a monthly batch line (see the module docstring).
MONTHLY_PURPOSE = "monthly"


@dataclass(frozen=True)
class RollRow:
    """Households and people on one monthly programme's payment roll now (active or tapering)."""

    programme: str
    households: int
    people: int


@dataclass(frozen=True)
class MonthFigure:
    month: str
    programme: str
    count: int
    amount: Decimal


@dataclass
class BenefitFigures:
    roll: list[RollRow] = field(default_factory=list)
    paid: list[MonthFigure] = field(default_factory=list)
    failed: list[MonthFigure] = field(default_factory=list)
    open_failed: int = 0  # failed lines not yet re-issued in a later batch
    open_failed_amount: Decimal = ZERO

    @property
    def households(self) -> int:
        return sum(r.households for r in self.roll)

    @property
    def people(self) -> int:
        return sum(r.people for r in self.roll)

    @property
    def failed_count(self) -> int:
        return sum(f.count for f in self.failed)

    @property
    def failed_amount(self) -> Decimal:
        return sum((f.amount for f in self.failed), ZERO)


def year_months(year: int, now: datetime, tz: ZoneInfo) -> list[str]:
    """Every month of ``year`` up to the current one (all twelve for a past year)."""
    local = now.astimezone(tz)
    last = 12 if local.year > year else local.month if local.year == year else 0
    return [f"{year}-{i:02d}" for i in range(1, last + 1)]


def collect(session: Session, region: str, year: int, now: datetime, tz: ZoneInfo) -> BenefitFigures:
    months = year_months(year, now, tz)
    found = benefits.figures(session, region, months=months)

    def rows(items) -> list[MonthFigure]:
        return [MonthFigure(i["month"], i["programme"], int(i["count"]), Decimal(i["amount"])) for i in items]

    return BenefitFigures(
        roll=[RollRow(p, int(v["households"]), int(v["people"])) for p, v in sorted(found["covered"].items())],
        paid=rows(found["paid"]), failed=rows(found["failed"]),
        open_failed=int(found["failed_open"]["count"]), open_failed_amount=Decimal(found["failed_open"]["amount"]))


def merge_paid(amounts: dict[tuple[str, str], Decimal], counts: dict[tuple[str, str], int],
               paid: list[MonthFigure]) -> None:
    """Add the batch lines the bank paid to the (month, programme) table of money paid."""
    for item in paid:
        key = (item.month, item.programme)
        amounts[key] = amounts.get(key, ZERO) + item.amount
        counts[key] = counts.get(key, 0) + item.count
