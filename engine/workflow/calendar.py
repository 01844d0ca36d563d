"""Working days (工作日) for legal time limits.

The statutory limits of social assistance ("county confirmation within 10 working days") count
working days under the State Council's yearly holiday notice, including the adjusted weekend
workdays (调休) that turn a Saturday or Sunday into a working day.  The ``holidays`` package
transcribes those notices: its China calendar lists the days off and, in ``weekend_workdays``,
the Saturdays and Sundays that are worked.

Which years are *known* is decided by whether the package carries that year's notice (an entry
in ``special_public_holidays``, 2001–2026 in holidays 0.109).  For later years the package only
estimates the fixed festivals and knows no adjusted workdays, so half a calendar would be worse
than a plain one: such a year counts Monday–Friday, logs a warning once, and the operator's
override table fills it in.

Rules, fixed by DESIGN.md decision 6:

- the start day is never counted; ``add_workdays(d, n)`` is the n-th working day after ``d``,
  and ``n == 0`` means ``d`` itself (due the same day), whatever kind of day it is;
- a due time is the end of that day, 23:59:59 in the calendar's zone (Asia/Shanghai), returned as
  an aware UTC ``datetime`` because the engine stores UTC;
- an override (date → working or not) wins over the package, in any year.

A calendar is immutable after construction and memoizes one small table per year, so build one
per version of the override table and share it; the inbox computes thousands of countdowns.
"""

from __future__ import annotations

import functools
import logging
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from zoneinfo import ZoneInfo

import holidays

from engine.errors import ValidationError

__all__ = ["MAX_WORKDAYS", "BusinessCalendar", "package_years"]

log = logging.getLogger(__name__)

#: Upper bound for one working-day step (about 40 years).  No legal limit comes near it; the bound
#: keeps a typo like ``99999999WD`` from walking to the end of the calendar.
MAX_WORKDAYS = 10_000

_END_OF_DAY = time(23, 59, 59)


@functools.cache
def package_years() -> frozenset[int]:
    """Years whose State Council holiday notice the installed ``holidays`` package carries."""
    return frozenset(holidays.China(years=[]).special_public_holidays)


@functools.cache
def _package_days_off_and_workdays(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """The package's days off and adjusted weekend workdays (调休) falling in ``year``."""
    # An adjusted workday can be announced in the next year's notice (e.g. Saturday 2001-12-29
    # for New Year 2002), so read the neighbouring years too and keep only this year's dates.
    china = holidays.China(years=[year - 1, year, year + 1], categories=holidays.PUBLIC)
    days_off = frozenset(day for day in china if day.year == year)
    workdays = frozenset(day for day in china.weekend_workdays if day.year == year)
    return days_off, workdays


@dataclass(frozen=True, slots=True)
class _Year:
    first: int  # ordinal of 1 January
    flags: tuple[bool, ...]  # flags[i]: is day first + i a working day
    prefix: tuple[int, ...]  # prefix[i]: working days among the first i days; prefix[-1] = total

    @property
    def total(self) -> int:
        return self.prefix[-1]


class BusinessCalendar:
    """Working-day arithmetic on the China holiday calendar plus operator overrides.

    ``overrides`` maps a date to ``True`` (a working day, e.g. an adjusted weekend workday) or
    ``False`` (a day off); it wins over the package.  ``known_years`` names years outside the
    package's data whose overrides the operator has entered in full: they are counted the same
    way (Monday–Friday plus overrides) but no longer warned about.  ``tz`` is the zone whose
    local date a ``datetime`` falls on and whose end of day a due time is.
    """

    def __init__(
        self,
        *,
        overrides: Mapping[date, bool] | None = None,
        tz: str = "Asia/Shanghai",
        known_years: Iterable[int] | None = None,
    ) -> None:
        self._tz = ZoneInfo(tz)
        self._overrides: dict[date, bool] = {}
        for day, working in (overrides or {}).items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"override keys must be dates, got {day!r}")
            self._overrides[day] = bool(working)
        self._vouched_years = frozenset(int(y) for y in (known_years or ()))
        self._years: dict[int, _Year] = {}
        self._unknown: set[int] = set()
        self._lock = threading.Lock()

    # -- what the calendar knows ---------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def known_years(self) -> frozenset[int]:
        """Years with a complete calendar: the package's notices plus the operator's years."""
        return package_years() | self._vouched_years

    def unknown_years(self) -> set[int]:
        """Years used so far that fell back to Monday–Friday (each was warned about once)."""
        with self._lock:
            return set(self._unknown)

    # -- single days -----------------------------------------------------------------------

    def is_workday(self, day: date | datetime) -> bool:
        """Whether ``day`` (a datetime is taken on its local date) is a working day."""
        day = self.local_date(day)
        table = self._table(day.year)
        return table.flags[day.toordinal() - table.first]

    def local_date(self, value: date | datetime) -> date:
        """The calendar date of ``value`` in this calendar's zone; a naive datetime is refused."""
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(
                    f"datetime {value.isoformat()} has no timezone; "
                    "pass an aware datetime or a date"
                )
            return value.astimezone(self._tz).date()
        if isinstance(value, date):
            return value
        raise TypeError(f"expected a date or datetime, got {type(value).__name__}")

    def end_of_day(self, day: date) -> datetime:
        """23:59:59 local time on ``day``, as an aware UTC datetime."""
        return datetime.combine(day, _END_OF_DAY, tzinfo=self._tz).astimezone(timezone.utc)

    # -- arithmetic ------------------------------------------------------------------------

    def add_workdays(self, start: date | datetime, n: int) -> date:
        """The n-th working day after ``start`` (not counting ``start``); ``n == 0`` is ``start``.

        Equivalently: the earliest day ``d >= start`` with ``workdays_between(start, d) == n``.
        """
        start = self.local_date(start)
        n = _check_n(n)
        if n == 0:
            return start
        year = start.year
        table = self._table(year)
        need = table.prefix[start.toordinal() - table.first + 1] + n
        while need > table.total:
            need -= table.total
            year += 1
            if year > date.max.year:
                raise ValidationError(
                    f"{n} working days after {start.isoformat()} "
                    f"is beyond the year {date.max.year}",
                    fields={"n": ["too large"]},
                )
            table = self._table(year)
        # prefix[i] counts days before index i, so the first i with prefix[i] == need is one past
        # the day that completes the count.
        return date.fromordinal(table.first + bisect_left(table.prefix, need) - 1)

    def workdays_after(self, start: date | datetime, n: int) -> datetime:
        """The due time n working days after ``start``: end of that day, aware UTC.

        ``start``'s local date is the day not counted.  ``n == 0`` is the end of that same day.
        """
        return self.end_of_day(self.add_workdays(start, n))

    def workdays_between(self, start: date | datetime, end: date | datetime) -> int:
        """Working days in (start, end] by local date; negative when ``end`` is before ``start``.

        With ``start`` = today and ``end`` = the due time: 3 means "3 working days left", 0 "due
        today", -2 "2 working days overdue".
        """
        a, b = self.local_date(start), self.local_date(end)
        if a == b:
            return 0
        if a > b:
            return -self._count_after(b, a)
        return self._count_after(a, b)

    # -- internals -------------------------------------------------------------------------

    def _count_after(self, a: date, b: date) -> int:
        """Working days in (a, b], for a < b."""
        ta = self._table(a.year)
        before_a = ta.prefix[a.toordinal() - ta.first + 1]
        if a.year == b.year:
            return ta.prefix[b.toordinal() - ta.first + 1] - before_a
        count = ta.total - before_a
        for year in range(a.year + 1, b.year):
            count += self._table(year).total
        tb = self._table(b.year)
        return count + tb.prefix[b.toordinal() - tb.first + 1]

    def _table(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            with self._lock:
                table = self._years.get(year)
                if table is None:
                    table = self._years[year] = self._build(year)
        return table

    def _build(self, year: int) -> _Year:
        if year in package_years():
            days_off, weekend_workdays = _package_days_off_and_workdays(year)
        else:
            days_off, weekend_workdays = frozenset(), frozenset()
            if year not in self._vouched_years:
                self._unknown.add(year)
                log.warning(
                    "the holidays package has no State Council holiday notice for %d: counting "
                    "Monday-Friday as working days there (plus operator overrides); enter that "
                    "year's holidays and adjusted workdays in the override table",
                    year,
                )
        first = date(year, 1, 1)
        days = (date(year, 12, 31) - first).days + 1
        flags = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            working = self._overrides.get(day)
            if working is None:
                if day.weekday() >= 5:
                    working = day in weekend_workdays
                else:
                    working = day not in days_off
            flags.append(working)
        return _Year(first.toordinal(), tuple(flags), (0, *accumulate(map(int, flags))))

    def __repr__(self) -> str:
        return f"BusinessCalendar(tz={self._tz.key!r}, overrides={len(self._overrides)})"


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValidationError(f"working days must be a whole number, got {n!r}",
                              fields={"n": ["not a whole number"]})
    if n < 0:
        raise ValidationError(f"working days cannot be negative, got {n}",
                              fields={"n": ["negative"]})
    if n > MAX_WORKDAYS:
        raise ValidationError(f"{n} working days is more than the limit of {MAX_WORKDAYS}",
                              fields={"n": ["too large"]})
    return n
