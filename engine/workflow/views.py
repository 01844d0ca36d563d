"""Plain values the engine hands out, and the registry of service operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.errors import EngineError
from engine.workflow.models import HumanTask, ProcessInstance

ServiceFunc = Callable[[Mapping[str, Any], Mapping[str, Any], "StepContext"], Mapping[str, Any]]


@dataclass
class StepContext:
    """What a service operation may know about the step it runs in."""

    session: Session
    instance: ProcessInstance
    actor: Actor
    now: datetime
    operation: str = "step"
    # what a batch of cases read for this one at once (timing.fire_due_timers); used by the step once
    prefetched_open_tasks: list | None = None
    prefetched_timers: list | None = None
    # the plugin adapter's household and standard, read once per step (bootstrap._operation_adapter)
    plugin_inputs: dict = field(default_factory=dict)


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
