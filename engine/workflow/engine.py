"""The durable workflow engine: every operation is one transaction.

load instance → run SpiffWorkflow → sync the human-task and timer tables → append audit events →
commit (with an optimistic version check).  Recently used instances stay deserialized in this
process, keyed by their row version, so a step does not pay for JSON decoding; a failed operation
drops its cached copy, so a half-run workflow is never reused.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.actors import SYSTEM, Actor
from engine.clock import Clock
from engine.db import Database
from engine.errors import Conflict, NotAllowed, NotFound, ValidationError
from engine.workflow import audit, sla
from engine.workflow.definitions import DefinitionInfo, DefinitionRepository, DeployOutcome
from engine.workflow.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.workflow.spiff import runtime
from engine.workflow.spiff import timeclock
from engine.workflow.spiff.parser import Checks, ParsedDefinition, due_value_kind
from engine.workflow.spiff.scripting import SafeScriptEngine
from engine.workflow.spiff.serializer import SERIALIZER_VERSION, StateSerializer, json_safe
from engine.workflow.migration import MigrationOperations
from engine.workflow.mirror import CLOCKS, TIMERS, MirrorOperations
from engine.workflow.tasks import TaskOperations
from engine.workflow.timing import TimingOperations
from engine.workflow.views import (EngineHooks, FiredTimer, InstanceView, ServiceFunc,  # noqa: F401 - re-exported
                                   ServiceRegistry, StepContext, TaskView)

log = logging.getLogger("jishijiu.engine")


def start_defaults(parsed: ParsedDefinition) -> dict:
    """The process property ``defaults``: a JSON object of optional start data (checked at deploy)."""
    text = parsed.meta.properties.get("defaults")
    return dict(json.loads(text)) if text else {}


class WorkflowEngine(MirrorOperations, TaskOperations, TimingOperations, MigrationOperations):
    def __init__(self, db: Database, *, clock: Clock, calendar, evaluator,
                 services: ServiceRegistry | None = None, cache_size: int = 512,
                 is_literal: Callable[[str], bool],
                 parse_due: Callable[..., datetime]) -> None:  # (spec, start, region=None)
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
        self._infos: dict[int, DefinitionInfo] = {}  # a deployed version never changes
        self.timer_workers = 1  # threads firing a backlog of due timers (the scheduler raises it)
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
                else self._latest(session, process_key))
        parsed = self.definitions.parsed(session, info.id)
        seed = {**start_defaults(parsed), **dict(data or {})}
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
        setattr(workflow, TIMERS, set())  # a new case has no timer rows and, so far, no clocks
        setattr(workflow, CLOCKS, False)
        ctx = StepContext(session, row, actor, now, "start")
        audit.append(session, chain=audit.case_chain(row.id), actor=actor.username,
                     action="instance.started", object_type="instance", object_id=row.id, at=now,
                     after={"process": info.key, "version": info.version, "data": json_safe(seed)})
        case_sla = parsed.meta.properties.get("sla")
        if case_sla:
            sla.start_clock(session, instance=row, name=parsed.meta.name or info.key, spec=case_sla,
                            start=now, due=self.parse_due(case_sla, now, region_code), actor=actor.username)
            setattr(workflow, CLOCKS, True)
        self._step(ctx, parsed, workflow, lambda: runtime.run_engine(workflow))
        view = self._view(session, row, info.version, workflow, getattr(ctx, "open_rows", None))
        if return_workflow:
            return view, row.id, row.version, workflow
        return view

    def newest(self, session: Session, key: str) -> DefinitionInfo:
        """The newest deployed version of ``key`` (``NotFound`` when none), without reading its XML."""
        return self._latest(session, key)

    def _latest(self, session: Session, key: str) -> DefinitionInfo:
        """The newest version of ``key`` (one indexed lookup; the XML is not read)."""
        definition_id = session.execute(select(ProcessDefinition.id).where(ProcessDefinition.key == key)
                                        .order_by(ProcessDefinition.version.desc()).limit(1)).scalar()
        if definition_id is None:
            raise NotFound(f"no process '{key}' is deployed")
        return self._info(session, definition_id)

    def _info(self, session: Session, definition_id: int) -> DefinitionInfo:
        info = self._infos.get(definition_id)
        if info is None:
            info = self._infos.setdefault(definition_id, self.definitions.get_info(session, definition_id))
        return info

    def instance(self, instance_id: int, actor: Actor) -> InstanceView:
        with self.db.read() as session:
            row = self._visible_instance(session, instance_id, actor)
            info = self._info(session, row.definition_id)
            parsed = self.definitions.parsed(session, row.definition_id)
            workflow = self._load(row, parsed, keep=True)
            return self._view(session, row, info.version, workflow)

    def _visible_instance(self, session: Session, instance_id: int, actor: Actor) -> ProcessInstance:
        row = session.get(ProcessInstance, instance_id)
        if row is None or not actor.sees(row.region_code):
            raise NotFound(f"case {instance_id} not found")
        return row

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

    # --- the transaction around every step ----------------------------------------------------
    def _operate(self, instance_id: int | None, actor: Actor, action, holder: dict,
                 allow_inactive: bool = False, operation: str = "step",
                 locate: Callable[[Session], int] | None = None) -> InstanceView:
        """Run ``action`` on the locked, version-checked instance in one transaction.

        ``locate`` finds the instance inside that transaction (e.g. from a task id), which spares a
        separate read transaction; what it read is re-checked by the action's conditional updates.
        """
        workflow = None
        try:
            with self.db.write() as session:
                if locate is not None:
                    instance_id = locate(session)
                # Writers of one case queue on its row (PostgreSQL; SQLite serializes writers anyway)
                row = session.get(ProcessInstance, instance_id, with_for_update=True)
                if row is None or not actor.sees(row.region_code):
                    raise NotFound(f"case {instance_id} not found")
                if row.status != "active" and not allow_inactive:
                    raise Conflict(f"case {instance_id} is {row.status}")
                info = self._info(session, row.definition_id)
                parsed = self.definitions.parsed(session, row.definition_id)
                workflow = self._load(row, parsed, keep=False)
                ctx = StepContext(session, row, actor, self.clock.now(), operation)
                ctx.fired = holder.setdefault("fired", [])
                action(ctx, parsed, workflow)
                try:
                    session.flush()
                except (StaleDataError, IntegrityError):
                    raise Conflict(f"case {instance_id} was changed by someone else; reload and try again") from None
                view = self._view(session, row, info.version, workflow, getattr(ctx, "open_rows", None))
                version = row.version
        except BaseException:
            if instance_id is not None:
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

    def _assignee(self, spec: str, workflow, guid: str, element: str) -> str | None:
        """A literal user name or ``=expression`` over the task data (e.g. ``=member["username"]``)."""
        spec = spec.strip()
        if not spec.startswith("="):
            return spec
        value = self.evaluator.evaluate(spec[1:], runtime.task_data(workflow, guid), element_id=element)
        return str(value) if value else None

    def _due(self, spec: str, now: datetime, workflow, guid: str, element: str,
             region: str | None = None) -> datetime:
        return self.parse_due(self._due_spec(spec, workflow, guid, element), now, region)

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
    def _view(self, session: Session, row: ProcessInstance, version: int, workflow,
              open_rows: list[HumanTask] | None = None) -> InstanceView:
        """The case as it is now; ``open_rows`` are the open tasks the step's mirror already holds."""
        session.flush()
        if open_rows is None:
            open_rows = session.execute(select(HumanTask).where(
                HumanTask.instance_id == row.id, HumanTask.status == "open")).scalars()
        tasks = sorted(open_rows, key=lambda t: t.id)
        return InstanceView(
            id=row.id, process=row.process_key, process_version=version, definition_id=row.definition_id,
            status=row.status, region_code=row.region_code, household_id=row.household_id,
            overdue=row.overdue, data=json_safe(runtime.final_data(workflow)),
            open_tasks=[TaskView.of(t) for t in tasks], created_at=row.created_at,
            updated_at=row.updated_at, version=row.version)
