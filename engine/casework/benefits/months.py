"""Months as ``YYYY-MM`` text and money as integer fen: the two units every benefits table uses."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from engine.errors import ValidationError

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CENT = Decimal("0.01")


def check_month(month: object, field: str = "month") -> str:
    if not isinstance(month, str) or not MONTH_RE.match(month):
        raise ValidationError(f"{month!r} is not a month", {field: ["must be a month YYYY-MM"]})
    return month


def add(month: str, n: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def span(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = add(m, 1)
    return out


def to_fen(amount: object) -> int:
    try:
        value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    except Exception:  # noqa: BLE001 - any bad text is the caller's mistake
        raise ValidationError(f"{amount!r} is not an amount", {"amount": ["not a decimal amount"]}) from None
    if not value.is_finite() or value < 0:
        raise ValidationError(f"{amount!r} is not an amount", {"amount": ["not a non-negative amount"]})
    return int(value * 100)


def yuan(fen: int | None) -> str:
    """Integer fen as the contract's two-decimal string."""
    return f"{Decimal(int(fen or 0)) / 100:.2f}"
