"""The durable workflow engine: every operation is one transaction.

load instance → run SpiffWorkflow → sync the human-task and timer tables → append audit events →
commit (with an optimistic version check).  Recently used instances stay deserialized in this
process, keyed by their row version, so a step does not pay for JSON decoding; a failed operation
drops its cached copy, so a half-run workflow is never reused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.actors import SYSTEM, Actor
from engine.clock import Clock
from engine.db import Database
from engine.errors import Conflict, EngineError, NotAllowed, NotFound, TaskNotFound, ValidationError
from engine.workflow import audit, sla
from engine.workflow.definitions import DefinitionRepository, DeployOutcome
from engine.workflow.models import HumanTask, ProcessInstance, Timer
from engine.workflow.spiff import runtime
from engine.workflow.spiff import timeclock
from engine.workflow.spiff.parser import Checks, ParsedDefinition, due_value_kind
from engine.workflow.spiff.scripting import SafeScriptEngine
from engine.workflow.spiff.serializer import SERIALIZER_VERSION, StateSerializer, json_safe

log = logging.getLogger("jishijiu.engine")

ServiceFunc = Callable[[Mapping[str, Any], Mapping[str, Any], "StepContext"], Mapping[str, Any]]


@dataclass
class StepContext:
    """What a service operation may know about the step it runs in."""

    session: Session
    instance: ProcessInstance
    actor: Actor
    now: datetime
    operation: str = "step"


@dataclass(frozen=True)
class TaskView:
    id: int
    instance_id: int
    name: str
    bpmn_id: str
    form_key: str | None
    candidate_group: str | None
    assignee: str | None
    region_code: str
    status: str
    created_at: datetime
    due_at: datetime | None

    @classmethod
    def of(cls, t: HumanTask) -> "TaskView":
        return cls(t.id, t.instance_id, t.name, t.bpmn_id, t.form_key, t.candidate_group, t.assignee,
                   t.region_code, t.status, t.created_at, t.due_at)


@dataclass(frozen=True)
class InstanceView:
    id: int
    process: str
    process_version: int
    definition_id: int
    status: str
    region_code: str
    household_id: int | None
    overdue: bool
    data: dict
    open_tasks: list[TaskView]
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class FiredTimer:
    instance_id: int
    bpmn_id: str
    due_at: datetime
    fired_at: datetime


@dataclass
class EngineHooks:
    """Callbacks around steps (persistence stays a callback, STYLE 7)."""

    after_step: list[Callable[[StepContext, Any], None]] = field(default_factory=list)
    # users who may not work on a case's tasks (conflict of interest, 近亲属备案)
    excluded_users: Callable[[Session, ProcessInstance], list[str]] | None = None


class _NoChange(Exception):
    """Raised inside a migration step to roll back a preview (nothing may be written)."""


class ServiceRegistry:
    """Named operations service tasks may call: ``<programme>.<operation>``."""

    def __init__(self) -> None:
        self._ops: dict[str, ServiceFunc] = {}

    def register(self, name: str, func: ServiceFunc) -> None:
        if name in self._ops:
            raise EngineError(f"service operation '{name}' is registered twice")
        self._ops[name] = func

    def names(self) -> list[str]:
        return sorted(self._ops)

    def get(self, name: str) -> ServiceFunc:
        try:
            return self._ops[name]
        except KeyError:
            raise EngineError(f"unknown service operation '{name}'") from None


class WorkflowEngine:
    def __init__(self, db: Database, *, clock: Clock, calendar, evaluator,
                 services: ServiceRegistry | None = None, cache_size: int = 512,
                 is_literal: Callable[[str], bool], parse_due: Callable[[str, datetime], datetime]) -> None:
        self.db = db
        self.clock = clock
        self.calendar = calendar
        self.evaluator = evaluator
        self.services = services or ServiceRegistry()
        self.parse_due = parse_due
        self.is_literal = is_literal
        self.hooks = EngineHooks()
        self.definitions = DefinitionRepository(Checks(
            check_expression=lambda src, mode, el: evaluator.check(src, mode=mode, element_id=el),
            is_literal_timer=is_literal,
            check_due=lambda spec: parse_due(spec, clock.now()),
            operations=None))
        self._operations_checked = False
        self.serializer = StateSerializer()
        self._context = threading.local()
        self.script_engine = SafeScriptEngine(
            evaluator, is_literal=is_literal, workdays_after=calendar.workdays_after,
            now=clock.now, services=self._dispatch)
        timeclock.install(clock.now)
        self.services.register("case.start", self._op_start_case)
        self.cache_size = cache_size
        self._cache: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.metrics = None  # engine.observability.EngineMetrics, set by bootstrap

    # --- definitions ------------------------------------------------------------------------------
    def _refresh_checks(self) -> None:
        self.definitions.checks.operations = self.services.names()

    def validate(self, data: bytes, filename: str):
        self._refresh_checks()
        return self.definitions.validate(data, filename)

    def deploy(self, data: bytes, filename: str, *, actor: Actor = SYSTEM,
               skip_if_known: bool = False) -> DeployOutcome:
        self._refresh_checks()
        if actor.role not in ("designer", "admin"):
            raise NotAllowed("only a designer or an admin may deploy processes")
        with self.db.write() as session:
            return self.definitions.deploy(session, data, filename, actor=actor.username,
                                           at=self.clock.now(), skip_if_known=skip_if_known)

    def deploy_directory(self, directory: Path, *, actor: Actor = SYSTEM) -> list[DeployOutcome]:
        """Start-up deployment: each file only when its content matches no stored version."""
        return [self.deploy(path.read_bytes(), path.name, actor=actor, skip_if_known=True)
                for path in sorted(Path(directory).glob("*.bpmn"))]

    # --- instances --------------------------------------------------------------------------------
    def start(self, process_key: str, *, actor: Actor, region_code: str, data: Mapping[str, Any] | None = None,
              household_id: int | None = None, business_key: str | None = None,
              version: int | None = None, parent_id: int | None = None,
              session: Session | None = None) -> InstanceView:
        if not actor.sees(region_code):
            raise NotFound("household not found")
        if session is not None:
            return self._start(session, process_key, actor, region_code, data, household_id,
                               business_key, version, parent_id)
        with self.db.write() as session:
            view, row_id, row_version, workflow = self._start(
                session, process_key, actor, region_code, data, household_id, business_key, version,
                parent_id, return_workflow=True)
        self._cache_put(row_id, row_version, workflow)
        return view

    def _start(self, session, process_key, actor, region_code, data, household_id, business_key, version,
               parent_id, return_workflow=False):
        now = self.clock.now()
        info = (self.definitions.by_version(session, process_key, version) if version
                else self.definitions.latest(session, process_key))
        parsed = self.definitions.parsed(session, info.id)
        seed = dict(data or {})
        if household_id is not None:
            seed.setdefault("household_id", household_id)
        row = ProcessInstance(definition_id=info.id, process_key=info.key, status="active",
                              region_code=region_code, household_id=household_id,
                              business_key=business_key, parent_id=parent_id, state="{}",
                              serializer_version=SERIALIZER_VERSION, overdue=False, created_at=now,
                              created_by=actor.username, updated_at=now)
        session.add(row)
        session.flush()
        seed["case_id"] = row.id
        workflow = runtime.new_workflow(parsed, self.script_engine, seed)
        ctx = StepContext(session, row, actor, now, "start")
        audit.append(session, chain=audit.case_chain(row.id), actor=actor.username,
                     action="instance.started", object_type="instance", object_id=row.id, at=now,
                     after={"process": info.key, "version": info.version, "data": json_safe(seed)})
        case_sla = parsed.meta.properties.get("sla")
        if case_sla:
            sla.start_clock(session, instance=row, name=parsed.meta.name or info.key, spec=case_sla,
                            start=now, due=self.parse_due(case_sla, now), actor=actor.username)
        self._step(ctx, parsed, workflow, lambda: runtime.run_engine(workflow))
        view = self._view(session, row, info.version, workflow)
        if return_workflow:
            return view, row.id, row.version, workflow
        return view

    def instance(self, instance_id: int, actor: Actor) -> InstanceView:
        with self.db.read() as session:
            row = self._visible_instance(session, instance_id, actor)
            info = self.definitions.get_info(session, row.definition_id)
            parsed = self.definitions.parsed(session, row.definition_id)
            workflow = self._load(row, parsed, keep=True)
            return self._view(session, row, info.version, workflow)

    def _visible_instance(self, session: Session, instance_id: int, actor: Actor) -> ProcessInstance:
        row = session.get(ProcessInstance, instance_id)
        if row is None or not actor.sees(row.region_code):
            raise NotFound(f"case {instance_id} not found")
        return row

    # --- human tasks ------------------------------------------------------------------------------
    def _visible_task(self, session: Session, task_id: int, actor: Actor) -> HumanTask:
        task = session.get(HumanTask, task_id)
        if task is None or not actor.sees(task.region_code):
            raise TaskNotFound(f"task {task_id} not found")
        return task

    def _may_work_on(self, task: HumanTask, actor: Actor) -> None:
        if actor.username in (task.excluded_users or []):
            raise NotAllowed("you are registered as a relative in this case and may not work on it")
        if task.assignee == actor.username or actor.in_group(task.candidate_group):
            return
        raise NotAllowed(f"task '{task.name}' is for the group '{task.candidate_group}'")

    def claim(self, task_id: int, actor: Actor) -> TaskView:
        now = self.clock.now()
        with self.db.write() as session:
            task = self._visible_task(session, task_id, actor)
            self._may_work_on(task, actor)
            if task.status != "open":
                raise Conflict(f"task {task_id} is already {task.status}")
            if task.assignee == actor.username:
                return TaskView.of(task)
            self._lock_case(session, task.instance_id)
            result = session.execute(update(HumanTask).where(
                HumanTask.id == task_id, HumanTask.status == "open", HumanTask.assignee.is_(None))
                .values(assignee=actor.username, version=HumanTask.version + 1))
            if result.rowcount != 1:
                session.refresh(task)
                raise Conflict(f"task {task_id} is already claimed by {task.assignee or 'someone else'}")
            audit.append(session, chain=audit.case_chain(task.instance_id), actor=actor.username,
                         action="task.claimed", object_type="task", object_id=task_id, at=now,
                         before={"assignee": None}, after={"assignee": actor.username})
            session.refresh(task)
            return TaskView.of(task)

    def unclaim(self, task_id: int, actor: Actor) -> TaskView:
        return self._reassign(task_id, actor, None, "task.unclaimed")

    def delegate(self, task_id: int, actor: Actor, to_username: str) -> TaskView:
        if not to_username:
            raise ValidationError("say who the task goes to", {"to": ["required"]})
        return self._reassign(task_id, actor, to_username, "task.delegated")

    def _reassign(self, task_id: int, actor: Actor, to: str | None, action: str) -> TaskView:
        now = self.clock.now()
        with self.db.write() as session:
            task = self._visible_task(session, task_id, actor)
            if task.status != "open":
                raise Conflict(f"task {task_id} is already {task.status}")
            supervisor = actor.role in ("admin", "supervisor") and actor.sees(task.region_code)
            if task.assignee != actor.username and not supervisor:
                raise NotAllowed("only the assignee or a supervisor may hand a task on")
            before = task.assignee
            self._lock_case(session, task.instance_id)
            result = session.execute(update(HumanTask).where(
                HumanTask.id == task_id, HumanTask.version == task.version, HumanTask.status == "open")
                .values(assignee=to, version=HumanTask.version + 1))
            if result.rowcount != 1:
                raise Conflict(f"task {task_id} changed meanwhile; reload and try again")
            audit.append(session, chain=audit.case_chain(task.instance_id), actor=actor.username,
                         action=action, object_type="task", object_id=task_id, at=now,
                         before={"assignee": before}, after={"assignee": to})
            session.refresh(task)
            return TaskView.of(task)

    @staticmethod
    def _lock_case(session: Session, instance_id: int) -> None:
        """Queue behind other writers of the case, whose audit chain we are about to extend."""
        session.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id).with_for_update())

    def task(self, task_id: int, actor: Actor) -> TaskView:
        with self.db.read() as session:
            return TaskView.of(self._visible_task(session, task_id, actor))

    def task_data(self, task_id: int, actor: Actor) -> dict:
        """The task's current data (what its form is filled from)."""
        with self.db.read() as session:
            task = self._visible_task(session, task_id, actor)
            row = session.get(ProcessInstance, task.instance_id)
            parsed = self.definitions.parsed(session, row.definition_id)
            workflow = self._load(row, parsed, keep=True)
            return json_safe(runtime.task_data(workflow, task.task_guid))

    def complete(self, task_id: int, actor: Actor, data: Mapping[str, Any] | None = None) -> InstanceView:
        """Complete a task with form data; an unclaimed task is claimed by the completer."""
        data = dict(data or {})
        with self.db.read() as session:
            task = self._visible_task(session, task_id, actor)
            instance_id = task.instance_id
        holder: dict = {}

        def action(ctx: StepContext, parsed: ParsedDefinition, workflow) -> None:
            task = self._visible_task(ctx.session, task_id, ctx.actor)
            self._may_work_on(task, ctx.actor)
            if task.status != "open":
                raise Conflict(f"task {task_id} is already {task.status}")
            if task.assignee not in (None, ctx.actor.username):
                raise Conflict(f"task {task_id} is claimed by {task.assignee}")
            result = ctx.session.execute(update(HumanTask).where(
                HumanTask.id == task_id, HumanTask.status == "open", HumanTask.version == task.version)
                .values(status="completed", assignee=ctx.actor.username, completed_at=ctx.now,
                        completed_by=ctx.actor.username, version=HumanTask.version + 1))
            if result.rowcount != 1:
                raise Conflict(f"task {task_id} was completed or changed meanwhile")
            ctx.completed_guids = {task.task_guid}
            before = runtime.task_data(workflow, task.task_guid)
            audit.append(ctx.session, chain=audit.case_chain(task.instance_id), actor=ctx.actor.username,
                         action="task.completed", object_type="task", object_id=task_id, at=ctx.now,
                         before={k: json_safe(before.get(k)) for k in data},
                         after={"task": task.bpmn_id, "data": json_safe(data)})
            self._step(ctx, parsed, workflow, lambda: runtime.complete_task(workflow, task.task_guid, data))

        return self._operate(instance_id, actor, action, holder, operation="complete")

    # --- migration of running cases to another version -----------------------------------------
    def migrate(self, instance_ids: Iterable[int], *, to_version: int, actor: Actor,
                dry_run: bool = True) -> list[dict]:
        """Preview (``dry_run``) or move running cases to another version of their process.

        Each case moves in its own transaction.  A case that waits at an element the new version
        does not have is never moved (its preview says why).  Waiting branches restart on the new
        version, so their timers start again — the preview says that too.
        """
        if actor.role not in ("designer", "admin"):
            raise NotAllowed("only a designer or an admin may migrate running cases")
        results = []
        for instance_id in instance_ids:
            with self.db.read() as session:
                row = self._visible_instance(session, instance_id, actor)
                info = self.definitions.get_info(session, row.definition_id)
                target = self.definitions.by_version(session, info.key, to_version)
            preview = {"case_id": instance_id, "process": info.key, "from_version": info.version,
                       "to_version": target.version, "migrated": False}
            if row.status != "active":
                results.append({**preview, "ok": False, "blocking": [f"the case is {row.status}"]})
                continue
            holder: dict = {}

            def action(ctx, parsed, workflow, target=target, holder=holder):
                new = self.definitions.parsed(ctx.session, target.id)
                diff, diffs = runtime.diff_for_migration(workflow, new, self.serializer.registry)
                holder["diff"] = diff
                if dry_run or not diff.ok or target.id == ctx.instance.definition_id:
                    raise _NoChange()
                ctx.instance.definition_id = target.id
                audit.append(ctx.session, chain=audit.case_chain(ctx.instance.id), actor=ctx.actor.username,
                             action="instance.migrated", object_type="instance", object_id=ctx.instance.id,
                             at=ctx.now, before={"version": info.version},
                             after={"version": target.version, "restarted": diff.current})
                self._step(ctx, new, workflow, lambda: runtime.apply_migration(workflow, new, diffs))

            try:
                self._operate(instance_id, actor, action, holder, operation="migrate")
                migrated = True
            except _NoChange:
                migrated = False
            diff = holder.get("diff")
            results.append({**preview, "migrated": migrated, "ok": diff.ok if diff else False,
                            "current": diff.current if diff else [], "removed": diff.removed if diff else [],
                            "changed": diff.changed if diff else [], "added": diff.added if diff else [],
                            "blocking": diff.blocking if diff else [],
                            "restarts": diff.current if diff else []})
        return results

    # --- messages, timers -------------------------------------------------------------------------
    def send_message(self, instance_id: int, name: str, payload: Mapping[str, Any] | None = None, *,
                     actor: Actor = SYSTEM) -> InstanceView:
        def action(ctx, parsed, workflow):
            if name not in runtime.waiting_message_names(workflow):
                raise Conflict(f"case {instance_id} is not waiting for the message '{name}'")
            audit.append(ctx.session, chain=audit.case_chain(instance_id), actor=ctx.actor.username,
                         action="message.received", object_type="instance", object_id=instance_id,
                         at=ctx.now, after={"message": name, "payload": json_safe(payload or {})})
            self._step(ctx, parsed, workflow, lambda: runtime.send_message(workflow, name, payload))
        return self._operate(instance_id, actor, action, {}, operation="message")

    def waiting_messages(self, instance_id: int) -> set[str]:
        with self.db.read() as session:
            row = session.get(ProcessInstance, instance_id)
            parsed = self.definitions.parsed(session, row.definition_id)
            return runtime.waiting_message_names(self._load(row, parsed, keep=True))

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
        """Advance every active case with a timer due now, oldest due first; each in its own transaction.

        A case whose step fails is marked ``error`` (with the reason, audited) so that it stops being
        retried and never starves the timers of other cases; ``retry_case`` puts it back.
        """
        now = self.clock.now()
        with self.db.read() as session:
            ids = list(session.execute(
                select(Timer.instance_id).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                .where(Timer.status == "pending", Timer.due_at <= now, ProcessInstance.status == "active")
                .group_by(Timer.instance_id).order_by(func.min(Timer.due_at), Timer.instance_id)
                .limit(limit)).scalars())
        fired: list[FiredTimer] = []
        for instance_id in ids:
            try:
                fired.extend(self.fire_instance_timers(instance_id))
            except Conflict:
                log.info("case %s was advanced by another worker", instance_id)
            except EngineError as exc:
                log.error("timers of case %s failed: %s", instance_id, exc)
                self._mark_error(instance_id, str(exc))
            except DBAPIError as exc:  # deadlock, serialization failure: next sweep retries
                log.warning("timers of case %s hit a database conflict: %s", instance_id, exc.orig)
        return fired

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
        holder: dict = {"fired": []}

        def action(ctx, parsed, workflow):
            self._step(ctx, parsed, workflow, lambda: runtime.run_engine(workflow))

        self._operate(instance_id, SYSTEM, action, holder, operation="timer")
        return holder["fired"]

    # --- the transaction around every step ----------------------------------------------------
    def _operate(self, instance_id: int, actor: Actor, action, holder: dict,
                 allow_inactive: bool = False, operation: str = "step") -> InstanceView:
        workflow = None
        try:
            with self.db.write() as session:
                # Writers of one case queue on its row (PostgreSQL; SQLite serializes writers anyway)
                row = session.get(ProcessInstance, instance_id, with_for_update=True)
                if row is None or not actor.sees(row.region_code):
                    raise NotFound(f"case {instance_id} not found")
                if row.status != "active" and not allow_inactive:
                    raise Conflict(f"case {instance_id} is {row.status}")
                info = self.definitions.get_info(session, row.definition_id)
                parsed = self.definitions.parsed(session, row.definition_id)
                workflow = self._load(row, parsed, keep=False)
                ctx = StepContext(session, row, actor, self.clock.now(), operation)
                ctx.fired = holder.setdefault("fired", [])
                action(ctx, parsed, workflow)
                try:
                    session.flush()
                except (StaleDataError, IntegrityError):
                    raise Conflict(f"case {instance_id} was changed by someone else; reload and try again") from None
                view = self._view(session, row, info.version, workflow)
                version = row.version
        except BaseException:
            self._cache_drop(instance_id)
            raise
        self._cache_put(instance_id, version, workflow)
        return view

    def _step(self, ctx: StepContext, parsed: ParsedDefinition, workflow, run: Callable[[], None]) -> None:
        started = time.perf_counter()
        outer = getattr(self._context, "step", None)
        self._context.step = ctx
        try:
            run()
        finally:
            self._context.step = outer
        self._sync(ctx, parsed, workflow)
        for hook in self.hooks.after_step:
            hook(ctx, workflow)
        if self.metrics is not None:
            self.metrics.observe_step(getattr(ctx, "operation", "step"), time.perf_counter() - started)

    def _op_start_case(self, params: Mapping[str, Any], data: Mapping[str, Any], ctx: StepContext) -> dict:
        """Service operation ``case.start``: open another case for the same household, in this step's
        transaction (e.g. discovery opens an application on the family's behalf, 帮办代办)."""
        process = params.get("process")
        if not isinstance(process, str) or not process:
            raise ValidationError("case.start needs the parameter 'process'", {"process": ["required"]})
        seed = dict(params.get("data") or {})
        child = self.start_child(ctx, process, seed)
        audit.append(ctx.session, chain=audit.case_chain(ctx.instance.id), actor=ctx.actor.username,
                     action="case.started_child", object_type="instance", object_id=child.id, at=ctx.now,
                     after={"process": process, "case_id": child.id})
        return {"case_id": child.id, "process": process}

    def _dispatch(self, name: str, params: Mapping[str, Any], data: Mapping[str, Any],
                  element_id: str | None = None) -> Mapping[str, Any]:
        ctx = getattr(self._context, "step", None)
        func = self.services.get(name)
        if ctx is not None:
            ctx.element_id = element_id
        return func(params, data, ctx)

    def start_child(self, ctx: StepContext, process: str, data: Mapping[str, Any]) -> InstanceView:
        """Open another case for the same household inside the running step's transaction."""
        return self._start(ctx.session, process, ctx.actor, ctx.instance.region_code, dict(data),
                           ctx.instance.household_id, None, None, ctx.instance.id)

    def _sync(self, ctx: StepContext, parsed: ParsedDefinition, workflow) -> None:
        """Mirror READY human tasks and WAITING timers into their tables; audit what changed."""
        session, row, now = ctx.session, ctx.instance, ctx.now
        chain = audit.case_chain(row.id)
        ready = {t.guid: t for t in runtime.ready_human_tasks(workflow)}
        open_rows = {t.task_guid: t for t in session.execute(select(HumanTask).where(
            HumanTask.instance_id == row.id, HumanTask.status == "open")).scalars()}
        for guid, t in ready.items():
            if guid in open_rows:
                continue
            meta = parsed.meta.tasks.get(t.bpmn_id)
            due = self._due(meta.due_in, now, workflow, guid, t.bpmn_id) if meta and meta.due_in else None
            task_sla = meta.properties.get("sla") if meta is not None else None
            if task_sla:
                task_sla = self._due_spec(task_sla, workflow, guid, t.bpmn_id)
                sla_due = self.parse_due(task_sla, now)
                due = due or sla_due
                sla.start_clock(session, instance=row, name=t.name, spec=task_sla, start=now, due=sla_due,
                                bpmn_id=t.bpmn_id, task_guid=guid, handler_group=meta.role,
                                actor=ctx.actor.username)
            session.add(HumanTask(instance_id=row.id, task_guid=guid, bpmn_id=t.bpmn_id, name=t.name,
                                  form_key=meta.form_key if meta else None,
                                  candidate_group=meta.role if meta else None, lane=t.lane,
                                  region_code=row.region_code, status="open", created_at=now,
                                  due_at=due, version=1))
        if ready.keys() - open_rows.keys() and self.hooks.excluded_users is not None:
            excluded = self.hooks.excluded_users(session, row) or None
            if excluded:
                session.flush()
                for new in session.execute(select(HumanTask).where(
                        HumanTask.instance_id == row.id, HumanTask.status == "open",
                        HumanTask.task_guid.in_(list(ready.keys() - open_rows.keys())))).scalars():
                    new.excluded_users = list(excluded)
        finished = set()
        cancelled = set()
        for guid, task_row in open_rows.items():
            if guid not in ready:
                task_row.status = "cancelled"
                task_row.completed_at = now
                cancelled.add(guid)
                audit.append(session, chain=chain, actor=ctx.actor.username, action="task.cancelled",
                             object_type="task", object_id=task_row.id, at=now,
                             after={"task": task_row.bpmn_id})
        finished.update(getattr(ctx, "completed_guids", ()))
        sla.stop_task_clocks(session, row.id, finished, now, actor=ctx.actor.username)
        sla.stop_task_clocks(session, row.id, cancelled, now, status="cancelled", actor=ctx.actor.username)
        waiting = {(w.guid, w.due_at): w for w in runtime.waiting_timers(workflow)}
        pending = {(t.task_guid, t.due_at): t for t in session.execute(select(Timer).where(
            Timer.instance_id == row.id, Timer.status == "pending")).scalars()}
        for key, w in waiting.items():
            if key not in pending:
                session.add(Timer(instance_id=row.id, task_guid=w.guid, bpmn_id=w.bpmn_id, kind=w.kind,
                                  due_at=w.due_at, status="pending"))
        for key, timer in pending.items():
            if key in waiting:
                continue
            fired = timer.due_at <= now and runtime.timer_fired(workflow, timer.task_guid, timer.due_at)
            timer.status = "fired" if fired else "cancelled"
            timer.fired_at = now if fired else None
            if fired:
                ctx_fired = getattr(ctx, "fired", None)
                if ctx_fired is not None:
                    ctx_fired.append(FiredTimer(row.id, timer.bpmn_id, timer.due_at, now))
                audit.append(session, chain=chain, actor=ctx.actor.username, action="timer.fired",
                             object_type="timer", object_id=timer.id, at=now,
                             after={"timer": timer.bpmn_id, "due_at": timer.due_at.isoformat(),
                                    "late_seconds": round((now - timer.due_at).total_seconds(), 3)})
        if runtime.is_completed(workflow) and row.status == "active":
            row.status = "completed"
            row.completed_at = now
            sla.stop_case_clocks(session, row.id, now, actor=ctx.actor.username)
            audit.append(session, chain=chain, actor=ctx.actor.username, action="instance.completed",
                         object_type="instance", object_id=row.id, at=now)
        row.state = self.serializer.dump(workflow)
        row.serializer_version = SERIALIZER_VERSION
        row.updated_at = now

    def _due_spec(self, spec: str, workflow, guid: str, element: str) -> str:
        """A due or SLA value is a literal (``PT24H``, ``3WD``) or an expression over the task data:
        ``=appeal_period`` or ``"PT2H" if urgency == "especially_urgent" else "PT24H"``."""
        kind = due_value_kind(spec, self.is_literal)
        if kind != "expression":
            return spec.strip()
        value = self.evaluator.evaluate(spec.strip().removeprefix("="), runtime.task_data(workflow, guid),
                                        element_id=element)
        if not isinstance(value, str):
            raise ValidationError(f"[{element}] due/SLA expression gave {value!r}, not a duration text",
                                  {element: ["not a duration"]})
        return value

    def _due(self, spec: str, now: datetime, workflow, guid: str, element: str) -> datetime:
        return self.parse_due(self._due_spec(spec, workflow, guid, element), now)

    # --- state cache ----------------------------------------------------------------------------
    def _load(self, row: ProcessInstance, parsed: ParsedDefinition, *, keep: bool):
        with self._cache_lock:
            entry = self._cache.get(row.id) if keep else self._cache.pop(row.id, None)
        if entry is not None and entry[0] == row.version:
            return entry[1]
        workflow = self.serializer.load(row.state, row.serializer_version, parsed.spec,
                                        parsed.subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow

    def _cache_put(self, instance_id: int, version: int, workflow) -> None:
        if self.cache_size <= 0 or workflow is None:
            return
        with self._cache_lock:
            self._cache[instance_id] = (version, workflow)
            self._cache.move_to_end(instance_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _cache_drop(self, instance_id: int) -> None:
        with self._cache_lock:
            self._cache.pop(instance_id, None)

    # --- views ------------------------------------------------------------------------------------
    def _view(self, session: Session, row: ProcessInstance, version: int, workflow) -> InstanceView:
        session.flush()
        tasks = session.execute(select(HumanTask).where(HumanTask.instance_id == row.id,
                                                        HumanTask.status == "open")
                                .order_by(HumanTask.id)).scalars()
        return InstanceView(
            id=row.id, process=row.process_key, process_version=version, definition_id=row.definition_id,
            status=row.status, region_code=row.region_code, household_id=row.household_id,
            overdue=row.overdue, data=json_safe(runtime.final_data(workflow)),
            open_tasks=[TaskView.of(t) for t in tasks], created_at=row.created_at,
            updated_at=row.updated_at, version=row.version)
