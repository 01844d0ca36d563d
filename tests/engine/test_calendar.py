import logging
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.clock import SHANGHAI
from engine.errors import ValidationError
from engine.workflow.calendar import MAX_WORKDAYS, BusinessCalendar, package_years

UNKNOWN_YEAR = max(package_years()) + 4  # beyond the package's data, whatever its version


@pytest.fixture
def calendar():
    return BusinessCalendar()


def test_package_knows_the_years_of_its_state_council_notices():
    years = package_years()
    assert {2024, 2025, 2026} <= years
    assert UNKNOWN_YEAR not in years


def test_twenty_working_days_after_13_february_2026_is_19_march(calendar):
    # Spring Festival 2026: 15-23 February off; Saturdays 14 and 28 February are worked.
    assert calendar.add_workdays(date(2026, 2, 13), 20) == date(2026, 3, 19)


def test_due_time_is_end_of_day_shanghai_returned_in_utc(calendar):
    due = calendar.workdays_after(date(2026, 2, 13), 20)
    assert due == datetime(2026, 3, 19, 15, 59, 59, tzinfo=timezone.utc)
    assert due.utcoffset() == timedelta(0)
    assert due.astimezone(SHANGHAI).replace(tzinfo=None) == datetime(2026, 3, 19, 23, 59, 59)


def test_adjusted_weekend_workdays_count_and_holidays_do_not(calendar):
    assert calendar.is_workday(date(2026, 2, 14))  # Saturday, worked (调休)
    assert calendar.is_workday(date(2026, 2, 28))  # Saturday, worked
    assert calendar.is_workday(date(2026, 1, 4))  # Sunday, worked for New Year
    assert not calendar.is_workday(date(2026, 2, 16))  # New Year's Eve, a Monday
    assert not calendar.is_workday(date(2026, 2, 23))  # Monday, day off in lieu
    assert not calendar.is_workday(date(2026, 2, 21))  # plain Saturday inside the holiday
    assert calendar.is_workday(date(2026, 3, 2))  # an ordinary Monday
    assert not calendar.is_workday(date(2026, 3, 7))  # an ordinary Saturday


def test_national_day_week_2026(calendar):
    assert calendar.is_workday(date(2026, 9, 20))  # Sunday, worked
    for day in range(1, 8):
        assert not calendar.is_workday(date(2026, 10, day))
    assert calendar.is_workday(date(2026, 10, 10))  # Saturday, worked
    # Wednesday 30 September + 1 working day skips the whole week.
    assert calendar.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_adjusted_workday_announced_in_the_next_years_notice(calendar):
    # Saturday 29 December 2001 was worked for New Year 2002 (the 2002 notice).
    assert calendar.is_workday(date(2001, 12, 29))


def test_start_day_is_not_counted(calendar):
    assert calendar.add_workdays(date(2026, 3, 2), 1) == date(2026, 3, 3)  # Monday → Tuesday
    assert calendar.add_workdays(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday


def test_weekend_start_counts_from_the_next_working_day(calendar):
    assert calendar.add_workdays(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday
    assert calendar.add_workdays(date(2026, 3, 8), 5) == date(2026, 3, 13)  # Sunday


def test_zero_working_days_is_the_start_day_itself(calendar):
    assert calendar.add_workdays(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert calendar.add_workdays(date(2026, 3, 7), 0) == date(2026, 3, 7)  # even a Saturday
    assert calendar.workdays_after(date(2026, 3, 2), 0) == datetime(
        2026, 3, 2, 15, 59, 59, tzinfo=timezone.utc)


def test_a_datetime_start_counts_from_its_shanghai_date(calendar):
    # 17:00 UTC on Friday 6 March is 01:00 Saturday 7 March in Shanghai.
    late_friday_utc = datetime(2026, 3, 6, 17, 0, tzinfo=timezone.utc)
    assert calendar.add_workdays(late_friday_utc, 0) == date(2026, 3, 7)
    assert calendar.workdays_after(late_friday_utc, 1) == datetime(
        2026, 3, 9, 15, 59, 59, tzinfo=timezone.utc)


def test_naive_datetimes_are_refused(calendar):
    with pytest.raises(ValueError, match="no timezone"):
        calendar.workdays_after(datetime(2026, 3, 6, 10, 0), 1)


def test_workdays_between_is_signed(calendar):
    assert calendar.workdays_between(date(2026, 2, 13), date(2026, 3, 19)) == 20
    assert calendar.workdays_between(date(2026, 3, 19), date(2026, 2, 13)) == -20
    assert calendar.workdays_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    # Monday to the end of Thursday: 3 working days left; Wednesday after a Monday due: 2 overdue.
    assert calendar.workdays_between(date(2026, 3, 2), date(2026, 3, 5)) == 3
    assert calendar.workdays_between(date(2026, 3, 4), date(2026, 3, 2)) == -2


def test_workdays_between_accepts_the_due_time_and_now(calendar):
    due = calendar.workdays_after(date(2026, 3, 2), 3)
    now = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    assert calendar.workdays_between(now, due) == 3
    assert calendar.workdays_between(now + timedelta(days=5), due) == -1  # Saturday 7th → Friday


def test_workdays_between_inverts_add_workdays_across_years(calendar):
    start = date(2025, 12, 15)
    for n in (0, 1, 10, 30, 250, 600):
        assert calendar.workdays_between(start, calendar.add_workdays(start, n)) == n


def test_unknown_year_falls_back_to_weekdays_and_warns_once(calendar, caplog):
    monday = date(UNKNOWN_YEAR, 1, 5)
    while monday.weekday() != 0:
        monday += timedelta(days=1)
    with caplog.at_level(logging.WARNING, logger="engine.workflow.calendar"):
        assert calendar.add_workdays(monday, 5) == monday + timedelta(days=7)
        assert calendar.is_workday(monday)
        assert not calendar.is_workday(monday + timedelta(days=5))
        assert calendar.add_workdays(monday, 10) == monday + timedelta(days=14)
    warnings = [r for r in caplog.records if str(UNKNOWN_YEAR) in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert calendar.unknown_years() == {UNKNOWN_YEAR}


def test_known_years_are_not_reported_unknown(calendar, caplog):
    with caplog.at_level(logging.WARNING, logger="engine.workflow.calendar"):
        calendar.add_workdays(date(2026, 2, 13), 20)
    assert calendar.unknown_years() == set()
    assert not caplog.records


def test_crossing_into_an_unknown_year_still_answers(caplog):
    calendar = BusinessCalendar()
    last = max(package_years())
    with caplog.at_level(logging.WARNING, logger="engine.workflow.calendar"):
        due = calendar.add_workdays(date(last, 12, 20), 30)
    assert due.year == last + 1
    assert calendar.unknown_years() == {last + 1}
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_operator_vouched_year_uses_overrides_without_warning(caplog):
    new_year = date(UNKNOWN_YEAR, 1, 1)
    calendar = BusinessCalendar(overrides={new_year: False}, known_years=[UNKNOWN_YEAR])
    with caplog.at_level(logging.WARNING, logger="engine.workflow.calendar"):
        assert not calendar.is_workday(new_year)
    assert calendar.unknown_years() == set()
    assert not caplog.records
    assert UNKNOWN_YEAR in calendar.known_years()


def test_overrides_win_over_the_package_both_ways():
    holiday, worked_saturday = date(2026, 2, 16), date(2026, 2, 14)
    ordinary_monday, ordinary_saturday = date(2026, 3, 2), date(2026, 3, 7)
    calendar = BusinessCalendar(overrides={
        holiday: True, worked_saturday: False, ordinary_monday: False, ordinary_saturday: True,
    })
    assert calendar.is_workday(holiday)
    assert not calendar.is_workday(worked_saturday)
    assert not calendar.is_workday(ordinary_monday)
    assert calendar.is_workday(ordinary_saturday)
    assert calendar.add_workdays(date(2026, 3, 6), 1) == ordinary_saturday


def test_overrides_fill_in_an_unknown_year():
    sunday = date(UNKNOWN_YEAR, 6, 1)
    while sunday.weekday() != 6:
        sunday += timedelta(days=1)
    calendar = BusinessCalendar(overrides={sunday: True, sunday + timedelta(days=1): False})
    assert calendar.is_workday(sunday)
    assert calendar.add_workdays(sunday - timedelta(days=1), 2) == sunday + timedelta(days=2)


def test_overrides_must_be_keyed_by_dates():
    with pytest.raises(TypeError):
        BusinessCalendar(overrides={datetime(2026, 3, 2, tzinfo=timezone.utc): False})


@pytest.mark.parametrize("n", [-1, MAX_WORKDAYS + 1, 1.5, "3", True])
def test_refuses_bad_working_day_counts(calendar, n):
    with pytest.raises(ValidationError):
        calendar.add_workdays(date(2026, 3, 2), n)


def test_refuses_to_count_past_the_end_of_the_calendar(calendar):
    with pytest.raises(ValidationError, match="beyond"):
        calendar.add_workdays(date(9999, 12, 1), 100)


def test_other_timezone_shifts_local_dates():
    utc_calendar = BusinessCalendar(tz="UTC")
    assert utc_calendar.workdays_after(date(2026, 3, 2), 1) == datetime(
        2026, 3, 3, 23, 59, 59, tzinfo=timezone.utc)


def test_thousands_of_countdowns_are_memoized(calendar):
    calendar.add_workdays(date(2026, 1, 1), 1)
    table = calendar._table(2026)
    for day in range(1000):
        calendar.workdays_between(date(2026, 1, 1) + timedelta(days=day % 300), date(2026, 6, 30))
    assert calendar._table(2026) is table
