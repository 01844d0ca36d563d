"""The engine's clock, passed in wherever time matters.

Inside the engine every time is a timezone-aware UTC ``datetime``; people see Asia/Shanghai
(:func:`to_local`).  Nothing in the engine calls ``datetime.now()`` itself: it asks the
:class:`Clock` it was given, so tests move time instead of sleeping.

- :class:`SystemClock` — production.
- :class:`FakeClock` — unit tests: time stands still until the test moves it.
- :class:`OffsetClock` — ``TESTING`` mode across processes: system time plus an offset that the
  engine keeps in the database, so the web process and the scheduler process see the same "now".

A naive ``datetime`` (no ``tzinfo``) is refused everywhere with :class:`ValueError`: it is a bug in
the caller, and guessing the server's local zone is how deadlines drift by eight hours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

__all__ = [
    "SHANGHAI",
    "Clock",
    "FakeClock",
    "OffsetClock",
    "SystemClock",
    "to_local",
    "utc",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _require_aware(dt: datetime, what: str = "datetime") -> None:
    if not isinstance(dt, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} {dt.isoformat()} has no timezone; pass an aware datetime")


def utc(dt: datetime) -> datetime:
    """The same instant in UTC; refuses a naive datetime."""
    _require_aware(dt)
    return dt.astimezone(timezone.utc)


def to_local(dt: datetime) -> datetime:
    """The same instant in Asia/Shanghai, for showing to people; refuses a naive datetime."""
    _require_aware(dt)
    return dt.astimezone(SHANGHAI)


@runtime_checkable
class Clock(Protocol):
    """Where the engine gets "now" from."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move forward by ``seconds`` (or a ``timedelta``) and return the new now.

        Moving backwards is refused here; use :meth:`set` to jump to an earlier time on purpose.
        """
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if step < timedelta(0):
            raise ValueError(f"cannot advance the clock by a negative amount ({step}); use set()")
        self._now = self._now + step
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (forwards or backwards); refuses a naive datetime."""
        self._now = utc(when)

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"


class OffsetClock:
    """System time plus an offset read on every call.

    ``offset_seconds`` is supplied by the engine and reads the offset that ``TESTING`` mode keeps in
    the database, so separate processes agree on the time.  ``base`` is the underlying clock
    (the system clock unless a test substitutes one).
    """

    def __init__(self, offset_seconds: Callable[[], float], *, base: Clock | None = None) -> None:
        self._offset_seconds = offset_seconds
        self._base = base if base is not None else SystemClock()

    def now(self) -> datetime:
        return utc(self._base.now()) + timedelta(seconds=self._offset_seconds())

    def __repr__(self) -> str:
        return f"OffsetClock(base={self._base!r})"
