"""R3: deadlines across repeated restarts with downtime, each child killed (SIGKILL) at a random moment:
every timer fires, once.  The driver is :mod:`tests.reliability.timer_restarts`; soak sizes run with
``JISHIJIU_SOAK=1`` (``JISHIJIU_SOAK_DEADLINES``, default 300; ``JISHIJIU_SOAK_RESTARTS``, default 10)."""

from __future__ import annotations

import os

import pytest

from tests.reliability import timer_restarts


@pytest.mark.slow
def test_deadlines_fire_once_across_killed_restarts(sqlite_url):
    outcome = timer_restarts.run(sqlite_url, deadlines=30, restarts=2, horizon_s=1800)
    assert outcome.ok, outcome
    assert outcome.restarts == 3


@pytest.mark.skipif(not os.environ.get("JISHIJIU_SOAK"), reason="soak sizes run by hand: JISHIJIU_SOAK=1")
def test_soak_hundreds_of_deadlines_fire_once_across_killed_restarts(database_url):
    outcome = timer_restarts.run(database_url, deadlines=int(os.environ.get("JISHIJIU_SOAK_DEADLINES", "300")),
                                 restarts=int(os.environ.get("JISHIJIU_SOAK_RESTARTS", "10")))
    assert outcome.ok, outcome
