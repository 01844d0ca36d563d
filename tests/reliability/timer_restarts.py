"""R3: hundreds of BPMN deadlines across repeated restarts with downtime; each fires exactly once.

The engine runs in child processes on the TESTING clock (real time plus an offset kept in the
database, so every process agrees).  Each round the parent moves the clock on by a downtime (nobody
runs meanwhile), starts a child that runs what is due (``Services.run_due``, what the scheduler's
sweep calls) and SIGKILLs it after a random delay — often in the middle of firing.  A last child runs
to the end.  Then every timer must be fired once: one ``timer.fired`` audit event per case, no pending
timer left, and the task behind each timer open once.

    .venv/bin/python -m tests.reliability.timer_restarts URL      (the child: run what is due, exit)
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

PROJECT = Path(__file__).resolve().parents[2]
BPMN = PROJECT / "bench" / "bpmn" / "timer.bpmn"


def _services(url: str):
    from engine import bootstrap

    return bootstrap.build({"DATABASE_URL": url, "TESTING": True})


def prepare(url: str, deadlines: int, *, horizon_s: int, seed: int = 3) -> list[int]:
    """``deadlines`` cases each waiting on a timer due at a random point of the next ``horizon_s``."""
    from engine.actors import Actor

    rng = random.Random(seed)
    services = _services(url)
    try:
        services.engine.deploy(BPMN.read_bytes(), BPMN.name, actor=Actor("r3", "designer", "37"))
        now = services.clock.now()
        actor = Actor("r3", "caseworker", "370827101")
        return [services.engine.start("bench_timer", actor=actor, region_code="370827101201", data={
            "due": (now + timedelta(seconds=rng.randint(60, horizon_s))).isoformat()}).id
            for _ in range(deadlines)]
    finally:
        services.close()


def child(url: str) -> int:
    services = _services(url)
    services.run_due()
    services.close()
    return 0


@dataclass
class Outcome:
    deadlines: int = 0
    restarts: int = 0
    killed: int = 0
    killed_while_firing: int = 0  # the child had fired some due timers and not yet all when it died
    fired_once: int = 0
    duplicates: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    pending: int = 0

    @property
    def ok(self) -> bool:
        return self.fired_once == self.deadlines and not self.duplicates and not self.missing and not self.pending


def run(url: str, *, deadlines: int = 200, restarts: int = 6, horizon_s: int = 3600, seed: int = 3,
        max_kill_delay: float = 2.5) -> Outcome:
    from engine.bootstrap import DatabaseOffset
    from engine.db import Database
    from engine.workflow.models import AuditEvent, HumanTask, Timer

    rng = random.Random(seed)
    cases = prepare(url, deadlines, horizon_s=horizon_s, seed=seed)
    db = Database(url)
    offset = DatabaseOffset(db)
    outcome = Outcome(deadlines=deadlines)
    try:
        step = horizon_s / restarts
        fired_before = 0
        for round_no in range(1, restarts + 2):
            offset.set(min(round_no, restarts + 1) * step + 60)         # the downtime passes
            process = subprocess.Popen([sys.executable, "-m", "tests.reliability.timer_restarts", url],
                                       cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            outcome.restarts += 1
            if round_no <= restarts:                                    # killed at a random moment
                time.sleep(rng.uniform(0.5, max_kill_delay))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    outcome.killed += 1
            _, err = process.communicate(timeout=600)
            if process.returncode not in (0, -signal.SIGKILL):
                raise RuntimeError(err.decode()[-3000:])
            if process.returncode == -signal.SIGKILL:
                fired_now, due_left = progress(db, offset())
                if fired_now > fired_before and due_left:
                    outcome.killed_while_firing += 1
                fired_before = fired_now
        with db._reader() as s:
            fired = dict(s.execute(select(AuditEvent.chain, func.count()).where(
                AuditEvent.action == "timer.fired").group_by(AuditEvent.chain)).all())
            tasks = dict(s.execute(select(HumanTask.instance_id, func.count()).where(
                HumanTask.status == "open").group_by(HumanTask.instance_id)).all())
            outcome.pending = s.execute(select(func.count()).select_from(Timer).where(
                Timer.status == "pending")).scalar()
        for case in cases:
            n = fired.get(f"case:{case}", 0)
            if n == 1 and tasks.get(case) == 1:
                outcome.fired_once += 1
            elif n > 1 or tasks.get(case, 0) > 1:
                outcome.duplicates.append(case)
            else:
                outcome.missing.append(case)
    finally:
        db.dispose()
    return outcome


def progress(db, offset_seconds: float) -> tuple[int, int]:
    """(timers fired so far, timers due on the engine clock but still pending)."""
    from engine.workflow.models import Timer

    now = datetime.now(timezone.utc) + timedelta(seconds=offset_seconds)
    with db._reader() as s:
        fired = s.execute(select(func.count()).select_from(Timer).where(Timer.status == "fired")).scalar()
        due = s.execute(select(func.count()).select_from(Timer).where(
            Timer.status == "pending", Timer.due_at <= now)).scalar()
    return fired, due


if __name__ == "__main__":
    sys.exit(child(sys.argv[1]))
