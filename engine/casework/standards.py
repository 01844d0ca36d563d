"""Choosing the standard that applies, and filling a missing extreme-poverty value.

Standards are data (DESIGN.md, "Standards per region and date are data, not code"); this module is
the pure selection over rows that persistence has already loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from engine.casework.income import round_half_up
from engine.casework.types import Standard
from engine.errors import Conflict, NotFound

SELF_CARE_ACTIVITIES = 6  # eating, dressing, bed transfer, toilet, walking indoors, bathing [N 43号]


def pick_standard(rows: Iterable[Standard], region_code: str, on_date: date) -> Standard:
    """The row for ``region_code`` on ``on_date``.

    Among rows whose region is a prefix of ``region_code`` and whose ``valid_from`` is on or before
    the date, the latest ``valid_from`` wins; a longer (more local) prefix breaks a tie.  Two rows
    with the same region and ``valid_from`` are a data error, not something to guess about.
    """
    candidates = [row for row in rows
                  if region_code.startswith(row.region_code) and row.valid_from <= on_date]
    if not candidates:
        raise NotFound(f"no standard applies to region {region_code} on {on_date.isoformat()}")
    key = lambda row: (row.valid_from, len(row.region_code))  # noqa: E731
    best = max(candidates, key=key)
    twins = [row for row in candidates if key(row) == key(best)]
    if len(twins) > 1:
        raise Conflict(f"two standards for region {best.region_code} "
                       f"valid from {best.valid_from.isoformat()}")
    return best


def tekun_basic_living(standard: Standard, hukou: str, *, multiplier: Decimal,
                       unit: Decimal) -> Decimal:
    """Extreme-poverty basic-living standard for ``hukou`` (DOMAIN §2.5).

    The explicit value on the row is authoritative; only a missing value is filled as
    ``multiplier`` × the dibao standard (1.3 in Jining 2022: 880 → 1144, 700 → 910 [S0]),
    rounded half-up to ``unit``.
    """
    explicit = standard.tekun_urban if hukou == "urban" else standard.tekun_rural
    if explicit is not None:
        return explicit
    return round_half_up(standard.dibao(hukou) * multiplier, unit)


def with_tekun_filled(standard: Standard, *, multiplier: Decimal, unit: Decimal) -> Standard:
    """A copy of ``standard`` whose missing tekun values are filled by the 1.3 rule."""
    return replace(
        standard,
        tekun_urban=tekun_basic_living(standard, "urban", multiplier=multiplier, unit=unit),
        tekun_rural=tekun_basic_living(standard, "rural", multiplier=multiplier, unit=unit))


def care_tier(self_care_lost: int) -> str:
    """Self-care tier from the number of the six daily activities not managed [N 43号; S2]:
    0 → ``self`` (具备自理), 1–3 → ``partial`` (部分丧失), 4–6 → ``total`` (完全丧失)."""
    if not 0 <= self_care_lost <= SELF_CARE_ACTIVITIES:
        raise ValueError("self_care_lost counts 0 to 6 activities")
    if self_care_lost == 0:
        return "self"
    return "partial" if self_care_lost <= 3 else "total"


def marginal_multiplier(standard: Standard, fallback: Decimal) -> Decimal:
    """The row's marginal-family multiplier, else the configured fallback (Jining 2.0 [S0])."""
    return standard.marginal_multiplier if standard.marginal_multiplier is not None else fallback
