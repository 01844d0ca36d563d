from datetime import datetime, timedelta, timezone

import pytest
from dateutil.relativedelta import relativedelta

from engine.clock import SHANGHAI
from engine.errors import ExpressionError
from engine.workflow.calendar import BusinessCalendar
from engine.workflow.durations import (
    is_working_day_spec,
    parse_due,
    parse_duration,
    to_iso_duration,
)

# Friday 13 February 2026, 10:00 in Shanghai.
START = datetime(2026, 2, 13, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def calendar():
    return BusinessCalendar()


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("spec, due", [
    ("PT24H", utc(2026, 2, 14, 2, 0)),
    ("PT2H", utc(2026, 2, 13, 4, 0)),
    ("PT30M", utc(2026, 2, 13, 2, 30)),
    ("PT1.5H", utc(2026, 2, 13, 3, 30)),
    ("P3D", utc(2026, 2, 16, 2, 0)),
    ("P1DT2H", utc(2026, 2, 14, 4, 0)),
    ("P7D", utc(2026, 2, 20, 2, 0)),  # calendar days straight through the holiday
    ("P2W", utc(2026, 2, 27, 2, 0)),
    ("P1M", utc(2026, 3, 13, 2, 0)),
    ("P1Y", utc(2027, 2, 13, 2, 0)),
    ("PT0S", START),
    ("p1d", utc(2026, 2, 14, 2, 0)),
    ("  P3D  ", utc(2026, 2, 16, 2, 0)),
])
def test_iso_durations(calendar, spec, due):
    assert parse_due(spec, START, calendar) == due


@pytest.mark.parametrize("spec", ["20WD", "20 WD", "20wd", " 20 Wd "])
def test_working_days_are_due_at_the_end_of_the_nth_working_day(calendar, spec):
    assert parse_due(spec, START, calendar) == utc(2026, 3, 19, 15, 59, 59)


def test_three_working_days_lowercase(calendar):
    # Saturday 14 Feb worked, then the holiday to 23 Feb: Tue 24, Wed 25.
    assert parse_due("3wd", START, calendar) == utc(2026, 2, 25, 15, 59, 59)


def test_zero_working_days_is_the_end_of_the_start_day(calendar):
    assert parse_due("0WD", START, calendar) == utc(2026, 2, 13, 15, 59, 59)


def test_one_month_after_31_january_is_the_end_of_february(calendar):
    jan_31 = datetime(2026, 1, 31, 9, 0, tzinfo=SHANGHAI)
    assert parse_due("P1M", jan_31, calendar) == datetime(2026, 2, 28, 9, 0, tzinfo=SHANGHAI)
    leap = datetime(2024, 1, 31, 9, 0, tzinfo=SHANGHAI)
    assert parse_due("P1M", leap, calendar) == datetime(2024, 2, 29, 9, 0, tzinfo=SHANGHAI)
    assert parse_due("P1Y", leap + timedelta(days=29), calendar) == datetime(
        2025, 2, 28, 9, 0, tzinfo=SHANGHAI)


def test_months_follow_the_shanghai_date_not_the_utc_date(calendar):
    # 00:30 on 1 March in Shanghai is still 28 February in UTC.
    start = datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI)
    assert parse_due("P1M", start, calendar) == datetime(2026, 4, 1, 0, 30, tzinfo=SHANGHAI)


def test_months_then_the_exact_part(calendar):
    jan_31 = datetime(2026, 1, 31, 9, 0, tzinfo=SHANGHAI)
    assert parse_due("P1M1D", jan_31, calendar) == datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)


def test_an_absolute_date_is_the_end_of_that_shanghai_day(calendar):
    assert parse_due("2026-03-19", START, calendar) == utc(2026, 3, 19, 15, 59, 59)


@pytest.mark.parametrize("spec, due", [
    ("2026-03-19T10:00:00", utc(2026, 3, 19, 2, 0)),  # no offset: Shanghai, never server-local
    ("2026-03-19T10:00", utc(2026, 3, 19, 2, 0)),
    ("2026-03-19 10:00:00", utc(2026, 3, 19, 2, 0)),
    ("2026-03-19T10:00:00+08:00", utc(2026, 3, 19, 2, 0)),
    ("2026-03-19T10:00:00Z", utc(2026, 3, 19, 10, 0)),
    ("2026-03-19T10:00:00-05:00", utc(2026, 3, 19, 15, 0)),
])
def test_absolute_datetimes(calendar, spec, due):
    assert parse_due(spec, START, calendar) == due


def test_results_are_aware_utc(calendar):
    for spec in ("PT24H", "P1M", "20WD", "2026-03-19", "2026-03-19T10:00"):
        due = parse_due(spec, datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI), calendar)
        assert due.tzinfo is timezone.utc


@pytest.mark.parametrize("spec", [
    "", "   ", "P", "PT", "P1DT", "20XD", "WD", "-3WD", "PT-1H", "-P1D", "P1.5M", "P0.5Y",
    "P999999999D", "PT99999999999H", "P100000Y", "99999WD", "999999999999WD",
    "2026-13-01", "2026-02-30", "2026-03-19T25:00", "R3/PT1H", "1 day", "tomorrow",
    "P" + "9" * 5000 + "D", "3.5WD",
])
def test_garbage_is_refused_naming_the_value(calendar, spec):
    with pytest.raises(ExpressionError) as raised:
        parse_due(spec, START, calendar)
    shown = spec.strip()[:20]
    assert shown in str(raised.value)
    assert raised.value.expression is not None


@pytest.mark.parametrize("spec", [None, 20, 3.5])
def test_non_text_is_refused(calendar, spec):
    with pytest.raises(ExpressionError, match="must be text"):
        parse_due(spec, START, calendar)


def test_overflowing_the_calendar_is_refused_cleanly(calendar):
    late = datetime(9999, 12, 25, tzinfo=timezone.utc)
    for spec in ("P10D", "P1Y", "P1M"):
        with pytest.raises(ExpressionError, match="outside the calendar"):
            parse_due(spec, late, calendar)
    with pytest.raises(ExpressionError, match="beyond"):
        parse_due("200WD", late, calendar)


def test_naive_start_is_refused(calendar):
    with pytest.raises(ValueError, match="no timezone"):
        parse_due("P1D", datetime(2026, 2, 13, 10, 0), calendar)


def test_parse_duration_gives_exact_timedeltas():
    assert parse_duration("PT24H") == timedelta(hours=24)
    assert parse_duration("P1DT2H") == timedelta(days=1, hours=2)
    assert parse_duration("P2W") == timedelta(days=14)
    assert parse_duration("PT0.5S") == timedelta(milliseconds=500)
    assert parse_duration("PT1,5H") == timedelta(minutes=90)


def test_parse_duration_gives_relativedelta_for_calendar_units():
    assert parse_duration("P1M") == relativedelta(months=1)
    assert parse_duration("P1Y2M3D") == relativedelta(years=1, months=2, days=3)


def test_parse_duration_refuses_working_days():
    with pytest.raises(ExpressionError, match="start date"):
        parse_duration("20WD")


@pytest.mark.parametrize("spec, expected", [
    ("20WD", True), ("20 WD", True), ("3wd", True), (" 5 wd ", True),
    ("P3D", False), ("PT24H", False), ("WD", False), ("20XD", False), ("", False), (None, False),
])
def test_is_working_day_spec(spec, expected):
    assert is_working_day_spec(spec) is expected


@pytest.mark.parametrize("td, text", [
    (timedelta(hours=24), "P1D"),
    (timedelta(hours=2), "PT2H"),
    (timedelta(days=1, hours=2), "P1DT2H"),
    (timedelta(days=20, minutes=1, seconds=1), "P20DT1M1S"),
    (timedelta(minutes=30), "PT30M"),
    (timedelta(milliseconds=1500), "PT1.5S"),
    (timedelta(0), "PT0S"),
    (-timedelta(hours=3), "-PT3H"),
])
def test_to_iso_duration(td, text):
    assert to_iso_duration(td) == text


@pytest.mark.parametrize("td", [
    timedelta(seconds=1), timedelta(days=45, hours=23, minutes=59, seconds=59, microseconds=7),
    timedelta(hours=2), timedelta(days=5),
])
def test_to_iso_duration_round_trips(td):
    assert parse_duration(to_iso_duration(td)) == td
