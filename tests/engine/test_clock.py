from datetime import datetime, timedelta, timezone

import pytest

from engine.clock import SHANGHAI, Clock, FakeClock, OffsetClock, SystemClock, to_local, utc

T0 = datetime(2026, 3, 6, 2, 0, tzinfo=timezone.utc)


def test_system_clock_answers_aware_utc():
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_every_clock_satisfies_the_protocol():
    for clock in (SystemClock(), FakeClock(T0), OffsetClock(lambda: 0.0)):
        assert isinstance(clock, Clock)


def test_fake_clock_stands_still_until_moved():
    clock = FakeClock(T0)
    assert clock.now() == T0
    assert clock.now() == T0


def test_fake_clock_stores_utc_whatever_zone_it_was_given():
    clock = FakeClock(datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI))
    assert clock.now() == T0
    assert clock.now().utcoffset() == timedelta(0)


def test_fake_clock_advances_by_seconds_or_timedelta_and_returns_the_new_now():
    clock = FakeClock(T0)
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.advance(timedelta(hours=24)) == T0 + timedelta(hours=24, seconds=90)
    assert clock.advance(0.5) == T0 + timedelta(hours=24, seconds=90.5)
    assert clock.now() == T0 + timedelta(hours=24, seconds=90.5)


def test_fake_clock_refuses_to_advance_backwards():
    clock = FakeClock(T0)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-1)
    assert clock.now() == T0


def test_fake_clock_set_jumps_either_way():
    clock = FakeClock(T0)
    clock.set(datetime(2023, 3, 6, 10, 0, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2023, 3, 6, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("action", [
    lambda: FakeClock(datetime(2026, 3, 6, 10, 0)),
    lambda: FakeClock(T0).set(datetime(2026, 3, 6, 10, 0)),
])
def test_fake_clock_refuses_naive_datetimes(action):
    with pytest.raises(ValueError, match="no timezone"):
        action()


def test_offset_clock_adds_the_offset_read_on_every_call():
    offset = {"seconds": 0.0}
    clock = OffsetClock(lambda: offset["seconds"], base=FakeClock(T0))
    assert clock.now() == T0
    offset["seconds"] = 3600
    assert clock.now() == T0 + timedelta(hours=1)


def test_offset_clock_runs_on_system_time_by_default():
    before = datetime.now(timezone.utc)
    now = OffsetClock(lambda: 86400).now()
    assert now - before >= timedelta(days=1)
    assert now.utcoffset() == timedelta(0)


def test_to_local_shows_shanghai_time():
    local = to_local(T0)
    assert local.tzinfo is SHANGHAI
    assert (local.year, local.month, local.day, local.hour) == (2026, 3, 6, 10)


def test_utc_converts_and_refuses_naive():
    assert utc(datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)) == T0
    assert utc(datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)).tzinfo is timezone.utc
    with pytest.raises(ValueError):
        utc(datetime(2026, 3, 6, 10, 0))
    with pytest.raises(ValueError):
        to_local(datetime(2026, 3, 6, 10, 0))
