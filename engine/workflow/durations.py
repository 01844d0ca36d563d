"""Due times as a process designer writes them: timer values and a user task's ``dueIn``.

Accepted forms (surrounding whitespace ignored):

- ISO 8601 durations, e.g. ``PT24H``, ``P3D``, ``P1DT2H``, ``P2W``.  Weeks, days, hours, minutes and
  seconds are exact (a day is 24 hours) and may carry a decimal fraction (``PT1.5H``).  Years and
  months are calendar units on the local (Asia/Shanghai) date, clamped to the end of the month:
  31 January + ``P1M`` is 28/29 February (SpiffWorkflow's own parser would give 3 March).  They are
  applied first, then the exact part, as in XML Schema.
- Working days: ``20WD``, ``20 WD``, ``3wd`` — the end of the n-th working day after the start's
  local date (see :mod:`engine.workflow.calendar`).
- An absolute date or date-time: ``2026-03-19`` is the end of that local day (23:59:59);
  ``2026-03-19T10:00`` without an offset is Asia/Shanghai time, never the server's zone;
  ``2026-03-19T10:00:00+08:00`` and ``…Z`` are taken as written.

Everything returned is an aware UTC ``datetime``.  Bad input raises
:class:`~engine.errors.ExpressionError` carrying the value (``expression``) and a message that names
it; the caller adds the BPMN element.  Durations longer than :data:`MAX_DURATION_DAYS` (or 100
years of months) are refused so that a typo cannot overflow the calendar.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from engine.errors import EngineError, ExpressionError
from engine.workflow.calendar import MAX_WORKDAYS, BusinessCalendar

__all__ = [
    "MAX_DURATION_DAYS",
    "is_working_day_spec",
    "parse_due",
    "parse_duration",
    "to_iso_duration",
]

#: The longest duration accepted, about a century.
MAX_DURATION_DAYS = 36_600
_MAX_MONTHS = 1_200
_MAX_SPEC_LENGTH = 64

_NUMBER = r"\d{1,12}(?:[.,]\d{1,9})?"
_ISO_DURATION = re.compile(
    rf"P(?!$)(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?"
    rf"(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?=\d)(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?"
    rf"(?:(?P<seconds>{_NUMBER})S)?)?",
    re.IGNORECASE,
)
_WORKING_DAYS = re.compile(r"(?P<n>\d{1,12})\s*WD", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)

_EXPECTED = (
    "expected an ISO 8601 duration (PT24H, P3D, P1M), working days (20WD) "
    "or a date/date-time (2026-03-19, 2026-03-19T10:00:00+08:00)"
)
_MICROSECONDS = {
    "weeks": 7 * 86_400_000_000,
    "days": 86_400_000_000,
    "hours": 3_600_000_000,
    "minutes": 60_000_000,
    "seconds": 1_000_000,
}


def is_working_day_spec(spec: object) -> bool:
    """Whether ``spec`` is a working-day count such as ``20WD``."""
    return isinstance(spec, str) and _WORKING_DAYS.fullmatch(spec.strip()) is not None


def parse_duration(spec: str) -> timedelta | relativedelta:
    """An ISO 8601 duration as a ``timedelta``, or a ``relativedelta`` if it has years or months.

    Working days and dates are not durations (they depend on the start); use :func:`parse_due`.
    """
    months, exact = _parse_iso_duration(spec, _clean(spec))
    if months:
        return relativedelta(months=months) + exact
    return exact


def parse_due(spec: str, start: datetime, calendar: BusinessCalendar) -> datetime:
    """When something started at ``start`` falls due under ``spec``, as an aware UTC datetime.

    ``start`` must be timezone-aware.  An absolute date or date-time is returned as it is, even if
    it lies before ``start``; the caller decides what an already-passed due time means.
    """
    text = _clean(spec)
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start {start.isoformat()} has no timezone; pass an aware datetime")

    if working := _WORKING_DAYS.fullmatch(text):
        n = int(working["n"])
        if n > MAX_WORKDAYS:
            raise _error(spec, f"more than the limit of {MAX_WORKDAYS} working days")
        try:
            return calendar.workdays_after(start, n)
        except EngineError as exc:
            raise _error(spec, exc.message) from exc

    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise _error(spec, f"not a valid date ({exc})") from exc
        return calendar.end_of_day(day)

    if _DATETIME.fullmatch(text):
        try:
            when = datetime.fromisoformat(text.upper())
        except ValueError as exc:
            raise _error(spec, f"not a valid date-time ({exc})") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=calendar.tz)
        return when.astimezone(timezone.utc)

    months, exact = _parse_iso_duration(spec, text)
    try:
        due = start
        if months:
            # Calendar months move the local date and clamp to the month's end, so 31 January
            # + P1M is 28/29 February; the exact part follows, as in XML Schema.
            due = start.astimezone(calendar.tz) + relativedelta(months=months)
        return due.astimezone(timezone.utc) + exact
    except (OverflowError, ValueError) as exc:
        raise _error(spec, f"falls outside the calendar from {start.isoformat()}") from exc


def _parse_iso_duration(spec: str, text: str) -> tuple[int, timedelta]:
    """Calendar months and the exact remainder of an ISO 8601 duration."""
    match = _ISO_DURATION.fullmatch(text)
    if match is None:
        if _WORKING_DAYS.fullmatch(text):
            raise _error(spec, "working days are not a fixed duration; they need a start date")
        if text[:1] in "Pp":
            raise _error(spec, "not a valid ISO 8601 duration (a number and a unit are needed; "
                               "negative durations are not allowed)")
        raise _error(spec, "not a due time")
    parts = {name: Decimal(value.replace(",", "."))
             for name, value in match.groupdict().items() if value is not None}

    months = Decimal(0)
    for name, factor in (("years", 12), ("months", 1)):
        if name in parts:
            if parts[name] != parts[name].to_integral_value():
                raise _error(spec, f"{name} must be whole numbers")
            months += parts[name] * factor
    if months > _MAX_MONTHS:
        raise _error(spec, f"longer than the limit of {_MAX_MONTHS // 12} years")

    microseconds = sum(
        (parts[name] * factor for name, factor in _MICROSECONDS.items() if name in parts),
        Decimal(0),
    )
    if microseconds > MAX_DURATION_DAYS * _MICROSECONDS["days"]:
        raise _error(spec, f"longer than the limit of {MAX_DURATION_DAYS} days")
    return int(months), timedelta(microseconds=int(microseconds.to_integral_value()))


def to_iso_duration(td: timedelta) -> str:
    """A ``timedelta`` as an ISO 8601 duration: ``P1DT2H``, ``PT30M``, ``PT0S``.

    Days are exact 24-hour days, so ``timedelta(hours=24)`` reads ``P1D``; a negative value gets a
    leading ``-`` (for display; :func:`parse_duration` does not accept it).
    """
    sign = "-" if td < timedelta(0) else ""
    td = abs(td)
    hours, rest = divmod(td.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    date_part = f"{td.days}D" if td.days else ""
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or td.microseconds:
        if td.microseconds:
            time_part += f"{seconds}.{td.microseconds:06d}".rstrip("0") + "S"
        else:
            time_part += f"{seconds}S"
    if not date_part and not time_part:
        return "PT0S"
    return f"{sign}P{date_part}" + (f"T{time_part}" if time_part else "")


def _clean(spec: object) -> str:
    if not isinstance(spec, str):
        raise ExpressionError(f"a due time must be text, got {spec!r}; {_EXPECTED}",
                              expression=repr(spec))
    text = spec.strip()
    if not text:
        raise _error(spec, "empty due time")
    if len(text) > _MAX_SPEC_LENGTH:
        raise _error(spec[:_MAX_SPEC_LENGTH] + "…", "too long to be a due time")
    return text


def _error(spec: str, reason: str) -> ExpressionError:
    return ExpressionError(f"invalid due time {spec!r}: {reason}; {_EXPECTED}", expression=spec)
