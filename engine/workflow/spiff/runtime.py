"""Drive a SpiffWorkflow instance and report what it is waiting for, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Mapping
from uuid import UUID

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              DurationTimerEventDefinition,
                                                              TimeDateEventDefinition,
                                                              TimerEventDefinition)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError, ExpressionError, WorkflowError
from engine.workflow.spiff.parser import ParsedDefinition


@dataclass(frozen=True)
class ReadyTask:
    guid: str
    bpmn_id: str
    name: str
    lane: str | None


@dataclass(frozen=True)
class WaitingTimer:
    guid: str
    bpmn_id: str
    kind: str
    due_at: datetime


def new_workflow(parsed: ParsedDefinition, script_engine, data: Mapping[str, Any]) -> BpmnWorkflow:
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=script_engine)
    start = workflow.get_tasks(state=TaskState.READY)
    if start:
        start[0].data.update(dict(data))
    workflow.data.update({})
    return workflow


def _all_tasks(workflow: BpmnWorkflow) -> Iterator:
    yield from workflow.get_tasks()


def scan(workflow: BpmnWorkflow) -> tuple[list[ReadyTask], list[WaitingTimer], bool]:
    """READY human tasks, waiting timers and "completed", with one walk of the task tree.

    Each walk costs time in proportion to the tree, which grows with every step of a long case, so
    the three questions share one walk (they took three).  Waiting timers come from SpiffWorkflow's event manager (the tasks its own
    ``refresh_timers`` fires), READY tasks in the order ``get_tasks(state=READY)`` gives them.
    """
    ready, unfinished = [], False
    for task in workflow.get_tasks_iterator():
        state = task.state
        if state == TaskState.READY and task.task_spec.manual:
            ready.append(_ready_task(task))
        if not unfinished and state & TaskState.NOT_FINISHED_MASK and task.workflow is workflow:
            unfinished = True
    waiting = [timer for task in list(workflow.event_manager.tasks.values())
               if task.state == TaskState.WAITING and (timer := _waiting_timer(task)) is not None]
    return ready, waiting, workflow.completed or (not unfinished and workflow.is_completed())


def _ready_task(task) -> ReadyTask:
    spec = task.task_spec
    return ReadyTask(guid=str(task.id), bpmn_id=spec.bpmn_id or spec.name,
                     name=spec.bpmn_name or spec.bpmn_id or spec.name, lane=getattr(spec, "lane", None))


def _waiting_timer(task) -> WaitingTimer | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # cycle: {'cycles': n, 'next': iso, 'duration': seconds}
        value = value.get("next")
    if not isinstance(value, str):
        return None
    return WaitingTimer(guid=str(task.id), bpmn_id=task.task_spec.bpmn_id or task.task_spec.name,
                        kind=_kind(definition), due_at=TimerEventDefinition.get_datetime(value))


def _kind(definition: TimerEventDefinition) -> str:
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(definition, TimeDateEventDefinition):
        return "date"
    if isinstance(definition, DurationTimerEventDefinition):
        return "duration"
    return "timer"


def get_task(workflow: BpmnWorkflow, guid: str):
    try:
        return workflow.get_task_from_id(UUID(guid))
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises TaskNotFoundException for pruned tasks
        return None


def run_engine(workflow: BpmnWorkflow) -> None:
    """Fire what is due, then run everything that can run (refresh first: SPIFFWORKFLOW_NOTES §3).

    ``do_engine_steps`` ends with a timer refresh that can leave a fired timer READY but unrun, so
    a second round runs — only when that refresh fired something (each round walks the task tree,
    which grows with every step of a long case).  ``_do_engine_steps`` is the loop inside
    ``do_engine_steps`` (SpiffWorkflow 3.2), called here so the timers can be looked at before
    that last refresh.
    """
    with translate_errors():
        workflow.refresh_timers()
        for _round in range(2):
            while workflow._do_engine_steps():
                pass
            timers = [t for t in workflow.event_manager.tasks.values()
                      if isinstance(t.task_spec.event_definition, (TimerEventDefinition, MultipleEventDefinition))]
            workflow.refresh_timers()
            if not any(t.state != TaskState.WAITING for t in timers):
                break


def complete_task(workflow: BpmnWorkflow, guid: str, data: Mapping[str, Any]) -> None:
    task = get_task(workflow, guid)
    if task is None or task.state != TaskState.READY:
        raise EngineError(f"task {guid} is not ready")
    with translate_errors():
        task.data.update(dict(data))
        task.run()
    run_engine(workflow)


def _message_definition(workflow: BpmnWorkflow, name: str):
    """The waiting catch event's own definition (dialects use different classes; Spiff compares them)."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition
    return MessageEventDefinition(name)


def send_message(workflow: BpmnWorkflow, name: str, payload: Mapping[str, Any] | None = None) -> None:
    with translate_errors():
        definition = _message_definition(workflow, name)
        workflow.send_event(BpmnEvent(definition, payload=dict(payload or {})))
    run_engine(workflow)


def waiting_message_names(workflow: BpmnWorkflow) -> set[str]:
    return {e.name for e in workflow.waiting_events() if "Message" in e.event_type}


def task_data(workflow: BpmnWorkflow, guid: str) -> dict:
    task = get_task(workflow, guid)
    return dict(task.data) if task is not None else {}


def final_data(workflow: BpmnWorkflow) -> dict:
    """The data of the last completed task (end event), or the workflow's data."""
    if workflow.last_task is not None:
        return dict(workflow.last_task.data)
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.__class__.__name__ in ("EndEvent", "BpmnEndTask", "SimpleBpmnTask")]
    return dict(ends[-1].data) if ends else dict(workflow.data)


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def path_taken(workflow: BpmnWorkflow) -> list[str]:
    """BPMN ids of the completed flow elements, for highlighting the diagram."""
    return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None)]


class translate_errors:
    """Turn whatever SpiffWorkflow (or a value it computed) raises into an engine error naming the element.

    Only ``Exception`` is translated; ``KeyboardInterrupt`` and friends pass through.
    """

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, EngineError) or not isinstance(exc, Exception):
            return False
        inner = exc
        seen = set()
        while inner is not None and id(inner) not in seen:
            seen.add(id(inner))
            if isinstance(inner, EngineError):
                raise inner from None
            inner = getattr(inner, "exception", None) or inner.__cause__ or inner.__context__
        task = getattr(exc, "task", None)
        element = getattr(getattr(task, "task_spec", None), "bpmn_id", None) if task is not None else None
        text = str(exc) if isinstance(exc, SpiffWorkflowException) else f"{type(exc).__name__}: {exc}"
        raise WorkflowError(text, element_id=element) from None


def timer_fired(workflow: BpmnWorkflow, guid: str, due_at: datetime) -> bool:
    """A timer that left the waiting set fired unless its task was cancelled (its activity ended first)."""
    task = get_task(workflow, guid)
    if task is None:
        return False
    return not task.has_state(TaskState.CANCELLED)


@dataclass(frozen=True)
class MigrationDiff:
    """What moving a running instance to another spec would change (plain data for a preview)."""

    current: list[str]
    removed: list[str]
    changed: list[str]
    added: list[str]
    blocking: list[str]

    @property
    def ok(self) -> bool:
        return not self.blocking


def diff_for_migration(workflow: BpmnWorkflow, new: ParsedDefinition, registry) -> tuple[MigrationDiff, object]:
    from SpiffWorkflow.bpmn.util.diff import diff_workflow

    top, sub = diff_workflow(registry, workflow, new.spec, new.subprocess_specs)
    waiting = [t for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
               if getattr(t.task_spec, "bpmn_id", None)]
    current = sorted({t.task_spec.bpmn_id for t in waiting})
    removed = sorted({t.task_spec.bpmn_id for t in top.removed if getattr(t.task_spec, "bpmn_id", None)})
    changed = sorted({t.task_spec.bpmn_id for t in top.changed if getattr(t.task_spec, "bpmn_id", None)})
    old_ids = {s.bpmn_id for s in workflow.spec.task_specs.values() if getattr(s, "bpmn_id", None)}
    added = sorted({s.bpmn_id for s in new.spec.task_specs.values()
                    if getattr(s, "bpmn_id", None) and s.bpmn_id not in old_ids})
    blocking = [f"the case waits at '{b}', which the new version does not have" for b in current if b in removed]
    if any(d is None for d in sub.values()):
        blocking.append("a running subprocess has no counterpart in the new version")
    return MigrationDiff(current, removed, changed, added, blocking), (top, sub)


def apply_migration(workflow: BpmnWorkflow, new: ParsedDefinition, diffs) -> None:
    """Move the instance onto ``new``; READY/WAITING branches restart (their timers start again)."""
    from SpiffWorkflow.bpmn.util.diff import migrate_workflow

    top, sub = diffs
    with translate_errors():
        migrate_workflow(top, workflow, new.spec)
        for sp_id, sp_diff in sub.items():
            subprocess = workflow.subprocesses.get(sp_id)
            if subprocess is not None and sp_diff is not None:
                migrate_workflow(sp_diff, subprocess, new.subprocess_specs[subprocess.spec.name])
        workflow.subprocess_specs = new.subprocess_specs
    run_engine(workflow)
