"""Timers and statutory clocks as the engine drives them (a mixin of WorkflowEngine)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine.actors import SYSTEM, Actor
from engine.errors import Conflict, EngineError, NotAllowed, NotFound
from engine.workflow import audit, sla
from engine.workflow.mirror import CLOCKS
from engine.workflow.models import HumanTask, ProcessInstance, Timer
from engine.workflow.spiff import runtime, timeclock
from engine.workflow.views import FiredTimer, InstanceView, StepContext

log = logging.getLogger("jishijiu.engine")


class TimingOperations:
    def next_timer_due(self) -> datetime | None:
        """The earliest BPMN timer or statutory-clock step; the scheduler wakes then."""
        with self.db.read() as session:
            timer = session.execute(select(Timer.due_at).where(Timer.status == "pending")
                                    .order_by(Timer.due_at).limit(1)).scalar()
            clock = sla.next_due(session)
        times = [t for t in (timer, clock) if t is not None]
        return min(times) if times else None

    def check_slas(self) -> list[sla.SlaEvent]:
        """Warn, mark overdue and escalate every statutory clock that has a step due; each once."""
        now = self.clock.now()
        with self.db.read() as session:
            ids = sla.due_clock_ids(session, now)
            by_instance: dict[int, list[int]] = {}
            for clock_id, instance_id in session.execute(
                    select(sla.SlaClock.id, sla.SlaClock.instance_id).where(sla.SlaClock.id.in_(ids))):
                by_instance.setdefault(instance_id, []).append(clock_id)
        events: list[sla.SlaEvent] = []
        for instance_id, clock_ids in sorted(by_instance.items()):
            def action(ctx, parsed, workflow, clock_ids=clock_ids):
                happened = []
                for clock_id in clock_ids:
                    happened += sla.advance_clock(ctx.session, clock_id, ctx.now, ctx.instance)
                waiting = runtime.waiting_message_names(workflow)
                for event in happened:
                    if event.message_name in waiting:
                        self._step(ctx, parsed, workflow, lambda e=event: runtime.send_message(
                            workflow, e.message_name, {"clock_id": e.clock_id, "level": e.level}))
                        waiting = runtime.waiting_message_names(workflow)
                events.extend(happened)
            try:
                self._operate(instance_id, SYSTEM, action, {}, allow_inactive=True, operation="sla")
            except Conflict:
                log.info("SLA step of case %s was taken by another worker", instance_id)
        return events

    def escalations(self, instance_id: int, actor: Actor) -> list[dict]:
        with self.db.read() as session:
            self._visible_instance(session, instance_id, actor)
            return sla.escalations_of(session, instance_id)

    def pause_clock(self, instance_id: int, actor: Actor, *, reason: str, name: str | None = None) -> None:
        self._clock_op(instance_id, actor, name, lambda s, c, now: sla.pause(s, c, now, actor=actor.username,
                                                                             reason=reason), "running")

    def resume_clock(self, instance_id: int, actor: Actor, *, name: str | None = None) -> None:
        self._clock_op(instance_id, actor, name, lambda s, c, now: sla.resume(s, c, now, actor=actor.username),
                       "paused")

    def _clock_op(self, instance_id, actor, name, op, status) -> None:
        if actor.role not in ("caseworker", "approver", "supervisor", "admin"):
            raise NotAllowed("only caseworkers, approvers and supervisors may pause or resume a clock")
        with self.db.write() as session:
            self._visible_instance(session, instance_id, actor)
            clocks = [c for c in sla.clocks_of(session, instance_id)
                      if c.status == status and (name is None or c.name == name)]
            if not clocks:
                raise Conflict(f"case {instance_id} has no {status} clock" + (f" named '{name}'" if name else ""))
            for clock in clocks:
                op(session, clock, self.clock.now())

    def fire_due_timers(self, *, limit: int = 500) -> list[FiredTimer]:
        """Advance every active case with a timer due now, oldest due first.

        Cases are fired in batches (``timer_batch``, 50): one transaction per batch, each case in its
        own savepoint behind its row lock, the batch's instance rows, open tasks, pending timers,
        clocks and audit heads read with one statement each instead of one per case.  A case whose
        step fails is rolled back alone and marked ``error`` (with the reason, audited) so that it
        stops being retried and never starves the timers of other cases; ``retry_case`` puts it back.

        With ``timer_workers`` > 1 (the scheduler's setting on PostgreSQL) batches run in that many
        threads; PostgreSQL's ``SKIP LOCKED`` leaves a case another writer holds to the next sweep.
        SQLite serializes writers anyway.
        """
        now = self.clock.now()
        with self.db.read() as session:
            ids = list(session.execute(
                select(Timer.instance_id).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                .where(Timer.status == "pending", Timer.due_at <= now, ProcessInstance.status == "active")
                .group_by(Timer.instance_id).order_by(func.min(Timer.due_at), Timer.instance_id)
                .limit(limit)).scalars())
        size = max(1, getattr(self, "timer_batch", 50))
        batches = [ids[i:i + size] for i in range(0, len(ids), size)]
        workers = getattr(self, "timer_workers", 1) if self.db.dialect != "sqlite" else 1
        if workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(min(workers, len(batches)), thread_name_prefix="timers") as pool:
                results = list(pool.map(self._fire_batch, batches))
        else:
            results = [self._fire_batch(batch) for batch in batches]
        return [f for fired in results for f in fired]

    def _fire_batch(self, ids: list[int]) -> list[FiredTimer]:
        fired: list[FiredTimer] = []
        failed: list[tuple[int, str]] = []
        stepped: list[tuple[ProcessInstance, object]] = []
        try:
            with self.db.write() as session:
                rows = session.execute(
                    select(ProcessInstance).where(ProcessInstance.id.in_(ids), ProcessInstance.status == "active")
                    .order_by(ProcessInstance.id).with_for_update(skip_locked=True)).scalars().all()
                if not rows:
                    return []
                found = [row.id for row in rows]
                open_tasks = _by_case(session.execute(select(HumanTask).where(
                    HumanTask.instance_id.in_(found), HumanTask.status == "open")).scalars())
                timers = _by_case(session.execute(select(Timer).where(
                    Timer.instance_id.in_(found), Timer.status == "pending")).scalars())
                clocks = set(session.execute(select(sla.SlaClock.instance_id).where(
                    sla.SlaClock.instance_id.in_(found), sla.SlaClock.status.in_(("running", "paused")))).scalars())
                audit.prefetch_heads(session, [audit.case_chain(i) for i in found])
                for row in rows:
                    outcome = self._fire_in_batch(session, row, open_tasks.get(row.id, []),
                                                  timers.get(row.id, []), row.id in clocks)
                    if isinstance(outcome, str):
                        failed.append((row.id, outcome))
                    elif outcome is not None:
                        fired.extend(outcome[0])
                        stepped.append((row, outcome[1]))
                versions = [(row.id, row.version, workflow) for row, workflow in stepped]
        except DBAPIError as exc:  # deadlock, serialization failure, lost connection: the next sweep retries
            log.warning("timers of cases %s hit a database conflict: %s", ids, exc.orig)
            for instance_id in ids:
                self._cache_drop(instance_id)
            return []
        for instance_id, version, workflow in versions:
            self._cache_put(instance_id, version, workflow)
        for instance_id, reason in failed:
            log.error("timers of case %s failed: %s", instance_id, reason)
            self._mark_error(instance_id, reason)
        return fired

    def _fire_in_batch(self, session, row: ProcessInstance, open_tasks: list, timers: list, clocks: bool):
        """One case of a batch in its own savepoint: (fired, workflow), an error text, or None (conflict)."""
        ctx = StepContext(session, row, SYSTEM, self.clock.now(), "timer",
                          prefetched_open_tasks=open_tasks, prefetched_timers=timers)
        ctx.fired = []
        try:
            with session.begin_nested():
                parsed = self.definitions.parsed(session, row.definition_id)
                workflow = self._load(row, parsed, keep=False)
                if getattr(workflow, CLOCKS, None) is None:   # restored from JSON: what the batch read says
                    setattr(workflow, CLOCKS, clocks)

                def fire():
                    with timeclock.firing():
                        runtime.run_engine(workflow)

                self._step(ctx, parsed, workflow, fire)
                session.flush()  # a conflict shows here, inside this case's savepoint
        except (Conflict, StaleDataError, IntegrityError):
            self._cache_drop(row.id)
            log.info("case %s was advanced by another worker", row.id)
            return None
        except EngineError as exc:
            self._cache_drop(row.id)
            return str(exc)
        except DBAPIError as exc:  # deadlock, serialization failure: rolled back to the savepoint, retried next sweep
            self._cache_drop(row.id)
            log.warning("timers of case %s hit a database conflict: %s", row.id, exc.orig)
            return None
        return ctx.fired, workflow

    def _mark_error(self, instance_id: int, reason: str) -> None:
        with self.db.write() as session:
            row = session.get(ProcessInstance, instance_id, with_for_update=True)
            if row is None or row.status != "active":
                return
            row.status, row.error, row.updated_at = "error", reason[:2000], self.clock.now()
            audit.append(session, chain=audit.case_chain(instance_id), actor=SYSTEM.username,
                         action="instance.failed", object_type="instance", object_id=instance_id,
                         at=self.clock.now(), after={"error": reason[:2000]})
        self._cache_drop(instance_id)

    def retry_case(self, instance_id: int, actor: Actor) -> InstanceView:
        """Put a case that failed back to ``active`` (after its cause was fixed) and run what is due."""
        if actor.role not in ("admin", "supervisor"):
            raise NotAllowed("only an admin or a supervisor may retry a failed case")
        with self.db.write() as session:
            row = session.get(ProcessInstance, instance_id, with_for_update=True)
            if row is None or not actor.sees(row.region_code):
                raise NotFound(f"case {instance_id} not found")
            if row.status != "error":
                raise Conflict(f"case {instance_id} is {row.status}, not failed")
            before = row.error
            row.status, row.error, row.updated_at = "active", None, self.clock.now()
            audit.append(session, chain=audit.case_chain(instance_id), actor=actor.username,
                         action="instance.retried", object_type="instance", object_id=instance_id,
                         at=self.clock.now(), before={"error": before})
        try:
            self.fire_instance_timers(instance_id)
        except Conflict:
            pass
        except EngineError as exc:
            self._mark_error(instance_id, str(exc))
            raise
        return self.instance(instance_id, actor)

    def fire_instance_timers(self, instance_id: int) -> list[FiredTimer]:
        """Fire what is due of one case, in its own transaction (``retry_case``)."""
        holder: dict = {"fired": []}

        def action(ctx, parsed, workflow):
            def fire():
                with timeclock.firing():
                    runtime.run_engine(workflow)
            self._step(ctx, parsed, workflow, fire)

        self._operate(instance_id, SYSTEM, action, holder, operation="timer")
        return holder["fired"]


def _by_case(rows) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.instance_id, []).append(row)
    return grouped
