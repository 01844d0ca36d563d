"""R2: the process paying money is killed (SIGKILL) at chosen points of the step; after a restart
nothing is paid twice, no case is lost and every fund's ledger, balance and payments agree.

The driver is :mod:`tests.reliability.crash`; ``bench/reliability.py`` runs the same at full size
(every named point plus random statement indices, many cases).  Soak sizes here run with
``JISHIJIU_SOAK=1`` (``JISHIJIU_SOAK_KILLS``, default 40 random kills).
"""

from __future__ import annotations

import os
import random
import signal

import pytest

from tests.reliability import crash

QUICK_POINTS = ("before_payment_insert", "after_payment_insert", "before_commit", "after_commit")


def kill_restart_reconcile(url: str, points: list[str] | None = None, *, random_kills: int = 0,
                           seed: int = 8) -> tuple[crash.Reconciliation, dict]:
    """Open one case per kill, kill each step once, restart, reconcile; ``random_kills`` more cases die
    at a random SQL statement of the step (the first case sizes the range and is paid normally)."""
    points = list(points or [])
    services, opened, _ = crash.prepare(url, len(points) + random_kills + (1 if random_kills else 0))
    opening = crash.balances(url)  # before the sizing run pays its case: the funds' books start here
    if random_kills:
        statements = crash.count_statements(services, opened.pop(0)[1])
        rng = random.Random(seed)
        points += [f"statement:{rng.randint(1, statements)}" for _ in range(random_kills)]
    services.close()
    outcomes: dict[str, int] = {}
    for (case_id, task_id), point in zip(opened, points):
        killed = crash.run_child(url, task_id, point) == -signal.SIGKILL
        outcome = f"{point}:{'killed' if killed else 'finished'}:{crash.restart(url, task_id)}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return crash.reconcile(url, [case_id for case_id, _ in opened], opening), outcomes


@pytest.mark.slow
def test_a_payment_step_killed_before_during_or_after_its_commit_pays_exactly_once(database_url):
    result, outcomes = kill_restart_reconcile(database_url, list(QUICK_POINTS))
    assert result.ok, result
    assert result.payments == len(QUICK_POINTS)
    # each named point was reached (the child died there), and only a death before the commit
    # leaves the step to be retried
    assert sorted(outcomes) == sorted([
        "before_payment_insert:killed:retried", "after_payment_insert:killed:retried",
        "before_commit:killed:retried", "after_commit:killed:already_done"])


@pytest.mark.skipif(not os.environ.get("JISHIJIU_SOAK"), reason="soak sizes run by hand: JISHIJIU_SOAK=1")
def test_soak_random_kill_points_never_pay_twice_or_lose_a_case(database_url):
    kills = int(os.environ.get("JISHIJIU_SOAK_KILLS", "40"))
    result, _ = kill_restart_reconcile(database_url, list(crash.NAMED_POINTS), random_kills=kills,
                                       seed=int(os.environ.get("JISHIJIU_SOAK_SEED", "8")))
    assert result.ok, result
