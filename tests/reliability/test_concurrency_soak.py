"""The concurrency scenarios at soak sizes — run by hand, on SQLite and PostgreSQL:

    JISHIJIU_SOAK=1 .venv/bin/pytest tests/reliability/test_concurrency_soak.py -q
    JISHIJIU_SOAK=1 JISHIJIU_SOAK_THREADS=50 JISHIJIU_SOAK_ROUNDS=200 .venv/bin/pytest tests/reliability -q -k soak

With one engine per thread each thread has its own connection pool: 50 threads need up to ~100
PostgreSQL connections (``max_connections`` is 100 by default); the shared-engine variant needs 30.
"""

from __future__ import annotations

import os

import pytest

from tests.engine.test_concurrency import claim_race, complete_race, sibling_race

THREADS = int(os.environ.get("JISHIJIU_SOAK_THREADS", "50"))
ROUNDS = int(os.environ.get("JISHIJIU_SOAK_ROUNDS", "200"))

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.environ.get("JISHIJIU_SOAK"), reason="soak sizes run by hand: JISHIJIU_SOAK=1")]
ENGINES = pytest.mark.parametrize("shared", [False, True], ids=["engine-per-thread", "shared-engine"])


@ENGINES
def test_soak_many_people_claiming_one_task(database_url, clock, shared):
    tally = claim_race(database_url, clock, threads=THREADS, rounds=ROUNDS, shared=shared)
    assert tally.errors == [] and tally.rounds == ROUNDS


@ENGINES
def test_soak_many_people_completing_one_task(database_url, clock, shared):
    tally = complete_race(database_url, clock, threads=THREADS, rounds=ROUNDS, shared=shared)
    assert tally.errors == [] and tally.rounds == ROUNDS


@ENGINES
def test_soak_parallel_checks_finished_at_once(request, database_url, clock, shared):
    tally = sibling_race(database_url, clock, rounds=ROUNDS, shared=shared)
    assert tally.errors == [] and tally.rounds == ROUNDS
