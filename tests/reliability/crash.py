"""R2: kill -9 the process in the middle of an engine step that pays money, restart, reconcile.

The step is the real one: an emergency case (``processes/emergency.bpmn``) whose caseworker completes
*先行救助* (``pay_first``), which runs the service task ``pay_township`` (``payment.pay``) in the same
transaction.  A child process (this module run with the venv's python) arms a kill point with
SQLAlchemy event listeners — registered here, in the test driver, never in product code — and calls
``os.kill(os.getpid(), SIGKILL)`` when the step reaches it:

- ``before_fund_update`` / ``before_payment_insert`` / ``after_payment_insert``: around the statements
  (``before_cursor_execute`` / ``after_cursor_execute``);
- ``after_flush``: a flush that wrote the payment row; ``before_commit``: the session is about to commit
  the transaction that holds it; ``after_commit``: committed, but the caller never heard back;
- ``statement:N``: the N-th SQL statement of the step, whatever it is (the "random point").

The parent (a test or ``bench/reliability.py``) then restarts: a fresh ``Services`` completes the task
again if it is still open and runs what is due; :func:`reconcile` checks that every key paid at most
once, every case is present and progressing, and that ledger, fund balance and payments agree.

    .venv/bin/python -m tests.reliability.crash URL TASK_ID POINT
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, func, select

PROJECT = Path(__file__).resolve().parents[2]
NAMED_POINTS = ("before_fund_update", "before_payment_insert", "after_payment_insert", "after_flush",
                "before_commit", "after_commit")
PAY_TASK = "pay_first"
PAY_KEY = "case:{case}:pay_township:township"  # instance + task (+ the BPMN's key "township")


def _services(url: str):
    from engine import bootstrap
    from engine.clock import FakeClock
    from tests.conftest import START

    return bootstrap.build({"DATABASE_URL": url, "TESTING": True, "CLOCK": FakeClock(START),
                            "INSTANCE_CACHE_SIZE": 0})


def _caseworker():
    from tests.processes.conftest import YUTAI_VILLAGE, caseworker

    return caseworker(YUTAI_VILLAGE)


# ------------------------------------------------------------------------------------------- the world

def prepare(url: str, cases: int) -> tuple[object, list[tuple[int, int]], Decimal]:
    """Deploy the processes, seed standards and funds, open ``cases`` emergency cases up to the pay step.

    Returns the services, ``[(case_id, pay_first_task_id)]`` and the township fund's opening balance.
    """
    from engine import bootstrap
    from engine.casework import funds
    from tests.processes.conftest import YUTAI_TOWN, _seed, create_household, start, widow

    services = _services(url)
    bootstrap.deploy_processes(services)
    _seed(services)
    with services.db.write() as s:  # the seed's reserve covers 25 cases of 2 000; every kill needs one
        funds.post(s, funds.resolve(s, "township_reserve", YUTAI_TOWN + "201"), "allocation",
                   Decimal(2000 * cases), at=services.clock.now(), actor="r2")
    cw = _caseworker()
    opened = []
    for _ in range(cases):
        household_id = create_household(services, widow())
        case = start(services, "emergency", household_id, widow()["region_code"],
                     {"urgency": "urgent", "relief_type": "emergency", "requested_amount": "2000"}, actor=cw)
        case.complete("accept", cw, {"accepted": True, "cause": "death"})
        opened.append((case.id, case.task(PAY_TASK).id))
    with services.db.read() as s:
        opening = funds.resolve(s, "township_reserve", YUTAI_TOWN + "201").balance
    return services, opened, opening


# ------------------------------------------------------------------------------------------- the child

def arm(db_engine, point: str) -> None:
    """Register the kill point's listeners on this process's engine and on every Session."""
    from sqlalchemy.orm import Session

    from engine.casework.payments import Payment

    def die() -> None:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    state: dict = {"statements": 0}

    def sql(statement: str) -> str:
        return " ".join(statement.split()).upper()

    @event.listens_for(db_engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        state["statements"] += 1
        text = sql(statement)
        if point.startswith("statement:") and state["statements"] == int(point.split(":")[1]):
            die()
        if point == "before_fund_update" and text.startswith("UPDATE FUND "):
            die()
        if point == "before_payment_insert" and text.startswith("INSERT INTO PAYMENT "):
            die()

    @event.listens_for(db_engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        if point == "after_payment_insert" and sql(statement).startswith("INSERT INTO PAYMENT "):
            die()

    # A step opens short read sessions of its own while its write session is open, and the payment's
    # savepoint "commits" too: only the outer transaction of the session that flushed the payment counts.
    @event.listens_for(Session, "after_flush")
    def flushed(session, flush_context):
        if any(isinstance(o, Payment) for o in session.new):
            state["payer"] = session
            if point == "after_flush":
                die()

    @event.listens_for(Session, "before_commit")
    def committing(session):
        if point == "before_commit" and state.get("payer") is session and not session.in_nested_transaction():
            die()

    @event.listens_for(Session, "after_commit")
    def committed(session):
        if point == "after_commit" and state.get("payer") is session and not session.in_nested_transaction():
            die()


def child(url: str, task_id: int, point: str) -> int:
    services = _services(url)
    arm(services.db.engine, point)
    services.engine.complete(task_id, _caseworker(), {})
    print("step finished without reaching the kill point", flush=True)
    return 0


def run_child(url: str, task_id: int, point: str, *, timeout: float = 120) -> int:
    """Run the step in a child process armed with ``point``; its return code (-9 when killed)."""
    done = subprocess.run([sys.executable, "-m", "tests.reliability.crash", url, str(task_id), point],
                          cwd=PROJECT, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"child failed ({done.returncode}) at {point}: {done.stderr[-3000:]}")
    return done.returncode


# ------------------------------------------------------------------------------------------- restart

def count_statements(services, task_id: int) -> int:
    """How many SQL statements one pay step issues (sizes the random kill points)."""
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        services.engine.complete(task_id, _caseworker(), {})
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)
    return counter["n"]


def restart(url: str, task_id: int) -> str:
    """What an operator's restart does: a fresh process re-runs due work and retries the step."""
    from engine.workflow.models import HumanTask

    services = _services(url)
    try:
        services.run_due()
        with services.db.read() as s:
            status = s.get(HumanTask, task_id).status
        if status == "open":
            services.engine.complete(task_id, _caseworker(), {})
            return "retried"
        return "already_done"
    finally:
        services.close()


@dataclass
class Reconciliation:
    cases: int = 0
    payments: int = 0
    duplicated_keys: list = field(default_factory=list)
    unpaid_cases: list = field(default_factory=list)
    lost_cases: list = field(default_factory=list)
    stuck_cases: list = field(default_factory=list)
    ledger_differences: dict = field(default_factory=dict)
    payment_differences: dict = field(default_factory=dict)
    audit_differences: list = field(default_factory=list)
    audit_broken: int = 0

    @property
    def ok(self) -> bool:
        return not (self.duplicated_keys or self.unpaid_cases or self.lost_cases or self.stuck_cases
                    or self.ledger_differences or self.payment_differences or self.audit_differences
                    or self.audit_broken)


def reconcile(url: str, case_ids: list[int], opening: dict[str, Decimal] | None = None) -> Reconciliation:
    """Every key paid at most once; every case present, paid once and past the pay step; each fund's
    row equals its ledger, and its opening balance minus its payments; one audit event per payment."""
    from engine.casework import funds
    from engine.casework.payments import Payment
    from engine.workflow import audit
    from engine.workflow.models import AuditEvent, HumanTask, ProcessInstance

    result = Reconciliation(cases=len(case_ids))
    services = _services(url)
    try:
        with services.db.read() as s:
            per_key = s.execute(select(Payment.idempotency_key, func.count()).group_by(Payment.idempotency_key)).all()
            result.duplicated_keys = [k for k, n in per_key if n > 1]
            result.payments = sum(n for _k, n in per_key)
            for case_id in case_ids:
                row = s.get(ProcessInstance, case_id)
                if row is None:
                    result.lost_cases.append(case_id)
                    continue
                key = PAY_KEY.format(case=case_id)
                paid = s.execute(select(func.count()).select_from(Payment)
                                 .where(Payment.idempotency_key == key)).scalar()
                if paid != 1:
                    result.unpaid_cases.append((case_id, paid))
                pay_open = s.execute(select(func.count()).select_from(HumanTask).where(
                    HumanTask.instance_id == case_id, HumanTask.bpmn_id == PAY_TASK,
                    HumanTask.status == "open")).scalar()
                if row.status not in ("active", "completed") or pay_open:
                    result.stuck_cases.append((case_id, row.status, pay_open))
                events = s.execute(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.chain == audit.case_chain(case_id), AuditEvent.action == "payment.paid")).scalar()
                if events != paid:
                    result.audit_differences.append((case_id, events, paid))
            for fund in s.execute(select(funds.Fund)).scalars():
                book = funds.reconcile(s, fund.id)
                if book["balance"] != book["ledger_balance"] or book["reserved"] != book["ledger_reserved"]:
                    result.ledger_differences[fund.code] = book
                paid_out = s.execute(select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.fund_id == fund.id, Payment.status == "paid")).scalar()
                debited = s.execute(select(func.coalesce(func.sum(funds.FundEntry.amount), 0)).where(
                    funds.FundEntry.fund_id == fund.id, funds.FundEntry.kind == "payment")).scalar()
                known = opening is not None and fund.code in opening
                expected = opening[fund.code] - Decimal(paid_out) if known else None
                if Decimal(paid_out) != Decimal(debited) or (expected is not None and fund.balance != expected):
                    result.payment_differences[fund.code] = {"paid": paid_out, "debited": debited,
                                                             "balance": fund.balance, "expected": expected}
            report = audit.verify(s)
            result.audit_broken = len(report.problems)
    finally:
        services.close()
    return result


def balances(url: str) -> dict[str, Decimal]:
    from engine.casework import funds

    services = _services(url)
    try:
        with services.db.read() as s:
            return {f.code: f.balance for f in s.execute(select(funds.Fund)).scalars()}
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(child(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
