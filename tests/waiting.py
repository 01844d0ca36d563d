"""Waiting for real processes (a scheduler subprocess, gunicorn workers): the one place the suite
watches the wall clock, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import time

import pytest


def poll(condition, *, within: float, what: str, every: float = 0.2):
    """condition()'s first truthy value, or fail after ``within`` seconds naming ``what``."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {within:.0f} s waiting until {what}")
        time.sleep(every)
