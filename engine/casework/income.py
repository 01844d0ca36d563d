"""The income formula every programme uses (DOMAIN.md §2.2, "Decisions for jishijiu").

* household monthly income = Σ members' monthly income + counted support, where counted support is
  Σ ``monthly_support`` of supporters with ``able = true`` — imputed whether or not it is actually
  paid; only a one-case deliberation (``support_set_aside``) removes it;
* rigid-expenditure deduction (setting ``casework.deduct_rigid_expenditure``, default on) =
  (medical + education + rehabilitation out-of-pocket in the last 12 months) ÷ 12;
* y = max(0, adjusted household monthly income) ÷ n, kept exact;
* the final amount is rounded half-up to ``casework.rounding_unit`` (default 1 yuan).

Money comes in and goes out as ``Decimal``.  The two divisions (÷ 12 and ÷ n) are held as exact
``fractions.Fraction`` so that "strictly below the standard" is decided on the exact value — a
28-digit Decimal quotient such as 1000/3 could otherwise tip a boundary case.  No float anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from engine.casework.types import Household, Member, Supporter

#: Settings every programme shares; engine.plugins registers them as the "casework" defaults.
DEFAULT_SETTINGS: dict[str, object] = {
    # [A] jishijiu decision (DOMAIN §2.2): deduct rigid expenditure from household income.
    "casework.deduct_rigid_expenditure": True,
    # [A] DOMAIN §3.1 "round to whole yuan": final monthly amounts are rounded half-up to this.
    "casework.rounding_unit": "1",
}

MONTHS_PER_YEAR = 12  # the expenses_12m look-back is averaged over 12 months [A, DOMAIN §2.2]


def member_income(member: Member) -> Decimal:
    """One member's monthly income (wages + business + property + transfer)."""
    return member.income.total


def counted_support(supporters: Iterable[Supporter], *,
                    include: Callable[[Supporter], bool] = lambda s: True) -> Decimal:
    """Σ monthly_support of able supporters not set aside by a deliberation, among ``include``."""
    return sum((s.monthly_support for s in supporters
                if s.able and not s.support_set_aside and include(s)), Decimal(0))


@dataclass(frozen=True, kw_only=True, slots=True)
class IncomeFigures:
    """The numbers behind y for one unit (a household or a single-person household)."""

    members: tuple[int, ...]  # indices of the members counted (n = len(members))
    members_income: Decimal
    counted_support: Decimal
    rigid_expenditure_12m: Decimal
    deduct: bool  # whether the rigid-expenditure deduction applies to y

    @property
    def n(self) -> int:
        return len(self.members)

    @property
    def gross(self) -> Decimal:
        """Household monthly income before the rigid-expenditure deduction."""
        return self.members_income + self.counted_support

    @property
    def rigid_monthly(self) -> Fraction:
        return Fraction(self.rigid_expenditure_12m) / MONTHS_PER_YEAR

    @property
    def per_capita_gross(self) -> Fraction:
        """y without the deduction (the marginal income-type test uses it)."""
        return max(Fraction(0), Fraction(self.gross)) / self.n

    @property
    def per_capita_deducted(self) -> Fraction:
        """y with the deduction, whatever the switch says (the marginal expenditure-type test)."""
        return max(Fraction(0), Fraction(self.gross) - self.rigid_monthly) / self.n

    @property
    def per_capita(self) -> Fraction:
        """The exact y that eligibility compares."""
        return self.per_capita_deducted if self.deduct else self.per_capita_gross

    def summary(self) -> dict[str, str]:
        """Audit figures, two decimals, for ``Assessment.details``."""
        return {
            "members_counted": str(self.n),
            "household_monthly_income": _fmt(Fraction(self.gross)),
            "counted_support": _fmt(Fraction(self.counted_support)),
            "rigid_expenditure_monthly": _fmt(self.rigid_monthly),
            "rigid_expenditure_deducted": "yes" if self.deduct else "no",
            "per_capita_income": _fmt(self.per_capita),
        }


def household_figures(household: Household, *, deduct_rigid_expenditure: bool,
                      members: Iterable[int] | None = None) -> IncomeFigures:
    """Figures for the whole household, or for the subset ``members`` (others are supported
    elsewhere, e.g. a member taken by extreme-poverty support).  Support meant for a member
    outside the subset is not counted; the rigid expenditure stays the household's."""
    counted = tuple(range(len(household.members)) if members is None else sorted(set(members)))
    return IncomeFigures(
        members=counted,
        members_income=sum((member_income(household.members[i]) for i in counted), Decimal(0)),
        counted_support=counted_support(
            household.supporters,
            include=lambda s: s.supports_member is None or s.supports_member in counted),
        rigid_expenditure_12m=household.expenses_12m.total,
        deduct=deduct_rigid_expenditure)


def person_figures(household: Household, index: int, *,
                   include_support: Callable[[Supporter], bool] = lambda s: True
                   ) -> IncomeFigures:
    """Figures for one member treated as a single-person household (单人户): own income plus
    support aimed at that member.  Household rigid expenditure is not attributed to one person
    [A], so no deduction."""
    return IncomeFigures(
        members=(index,),
        members_income=member_income(household.members[index]),
        counted_support=counted_support(
            household.supporters,
            include=lambda s: s.supports_member == index and include_support(s)),
        rigid_expenditure_12m=Decimal(0), deduct=False)


def below(y: Fraction, threshold: Decimal) -> bool:
    """Strictly below (低于), decided on exact values."""
    return y < Fraction(threshold)


def round_half_up(amount: Fraction | Decimal, unit: Decimal) -> Decimal:
    """Round a non-negative amount half-up to a multiple of ``unit`` (1 → whole yuan)."""
    if unit <= 0:
        raise ValueError("rounding unit must be positive")
    steps = Fraction(amount) / Fraction(unit)
    whole = int(steps + Fraction(1, 2)) if steps >= 0 else -int(-steps + Fraction(1, 2))
    return Decimal(whole) * unit


def to_decimal(value: Fraction, places: int = 2) -> Decimal:
    """An exact value shown with ``places`` decimals (half-up), for reasons and details."""
    unit = Decimal(1).scaleb(-places)
    return round_half_up(value, unit).quantize(unit, rounding=ROUND_HALF_UP)


def _fmt(value: Fraction) -> str:
    return str(to_decimal(value))
