"""SpiffWorkflow reads ``datetime.now()`` inside its timer module; point it at the engine's clock.

This is the one place the engine reaches into SpiffWorkflow's module globals (DESIGN decision 5).
The clock is process-wide: one engine clock per process.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime as _datetime
from datetime import timedelta
from typing import Callable

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_now: Callable[[], _datetime] | None = None
_nudge = threading.local()


_ZERO = timedelta(0)


@contextmanager
def firing():
    """While due timers are fired, SpiffWorkflow sees the clock a microsecond ahead.

    SpiffWorkflow fires a timer only when its due time is strictly *before* now; the engine's rule
    is "due at or before now", so a publicity period ends exactly 7 days after it started.
    """
    _nudge.delta = timedelta(microseconds=1)
    try:
        yield
    finally:
        _nudge.delta = _ZERO


class _ClockedDatetime(_datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D401 - mirrors datetime.now
        if _now is None:
            return _datetime.now(tz)
        current = _now() + getattr(_nudge, "delta", _ZERO)
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install(now: Callable[[], _datetime]) -> None:
    """Make SpiffWorkflow's timers use ``now`` (an aware-UTC clock function)."""
    global _now
    _now = now
    _timer_module.datetime = _ClockedDatetime
