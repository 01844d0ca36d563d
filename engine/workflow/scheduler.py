"""APScheduler wakes the engine; the database is the truth (DESIGN decision 5).

One scheduler per deployment: a lease row (works on SQLite and PostgreSQL) names the leader and is
renewed on every sweep; when the leader dies its lease expires and another process takes over.
Jobs live in memory only — no pickled job store: after a restart the timer table tells everything,
and a timer that fell due while the system was down fires on the first sweep, once (the instance
version check makes a second firing impossible).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from engine.workflow.models import Lease

log = logging.getLogger("jishijiu.scheduler")


class LeaderLease:
    def __init__(self, db, clock, name: str = "scheduler", ttl: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.clock = clock
        self.name = name
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        """Take or renew the lease; True while this process is the leader.

        Lease times are wall-clock on purpose, not the engine clock: a lease measures whether a
        *process* is alive, and moving the engine's clock in a test (hours or days at a time) must
        not make a live leader look dead.
        """
        now = datetime.now(timezone.utc)
        try:
            with self.db.write() as session:
                result = session.execute(update(Lease).where(
                    Lease.name == self.name,
                    (Lease.holder == self.holder) | (Lease.expires_at < now))
                    .values(holder=self.holder, expires_at=now + self.ttl))
                if result.rowcount == 1:
                    return True
                if session.get(Lease, self.name) is None:
                    session.add(Lease(name=self.name, holder=self.holder, expires_at=now + self.ttl))
                    session.flush()
                    return True
                return False
        except IntegrityError:
            return False

    def release(self) -> None:
        with self.db.write() as session:
            session.execute(update(Lease).where(Lease.name == self.name, Lease.holder == self.holder)
                            .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))


class TimerScheduler:
    """A periodic sweep plus one date job at the next due time, only while holding the lease."""

    def __init__(self, services, *, sweep_seconds: float | None = None, lease_ttl: float | None = None) -> None:
        sweep_seconds = sweep_seconds or float(os.environ.get("JISHIJIU_SCHEDULER_SWEEP_SECONDS", "5"))
        lease_ttl = lease_ttl or float(os.environ.get("JISHIJIU_SCHEDULER_LEASE_TTL", "30"))
        self.services = services
        self.engine = services.engine
        self.lease = LeaderLease(services.db, services.clock, ttl=timedelta(seconds=lease_ttl))
        self.sweep_seconds = sweep_seconds
        # a backlog of due timers is fired by this many threads (PostgreSQL only; bench/timers.py)
        self.engine.timer_workers = int(os.environ.get("JISHIJIU_TIMER_WORKERS", "4"))
        self._scheduler = BackgroundScheduler(timezone=timezone.utc, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self._lock = threading.Lock()
        self.fired_total = 0

    def start(self) -> None:
        self._scheduler.add_job(self.sweep, "interval", seconds=self.sweep_seconds, id="sweep",
                                next_run_time=datetime.now(timezone.utc))
        self._scheduler.add_job(self.nightly_sla_stats, "cron", hour=1, minute=30, id="sla_stats",
                                timezone="Asia/Shanghai")
        self._scheduler.start()
        log.info("scheduler started as %s", self.lease.holder)

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=False)
        try:
            self.lease.release()
        except Exception:  # noqa: BLE001 - shutting down anyway
            pass

    def sweep(self) -> int:
        """Fire everything that is due (if leader), then set the wake-up for the next timer."""
        with self._lock:
            if not self.lease.acquire():
                return 0
            fired = self.services.run_due()["timers"]
            self.fired_total += len(fired)
            for f in fired:
                log.info("timer fired", extra={"instance": f.instance_id, "timer": f.bpmn_id,
                                               "late_seconds": (f.fired_at - f.due_at).total_seconds()})
            self._schedule_wake()
            return len(fired)

    def nightly_sla_stats(self) -> None:
        """01:30 Asia/Shanghai: yesterday's SLA statistics (the sweep's ``run_due`` also catches up;
        whichever comes first computes the day, once)."""
        from engine.workflow import sla_stats

        with self._lock:
            if self.lease.acquire():
                sla_stats.catch_up(self.services)

    def _schedule_wake(self) -> None:
        due = self.engine.next_timer_due()
        if due is None:
            return
        delay = max(0.0, (due - self.services.clock.now()).total_seconds())
        if delay >= self.sweep_seconds:
            return  # the sweep will be sooner
        run_at = datetime.now(timezone.utc) + timedelta(seconds=delay)
        self._scheduler.add_job(self.sweep, "date", run_date=run_at, id="wake", replace_existing=True)


def run_forever(services) -> None:
    scheduler = TimerScheduler(services)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown()
