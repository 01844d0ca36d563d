"""Human-task operations of the engine: claim, unclaim, delegate, complete (a mixin of WorkflowEngine)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.actors import Actor
from engine.errors import Conflict, NotAllowed, TaskNotFound, ValidationError
from engine.workflow import audit
from engine.workflow.models import HumanTask, ProcessInstance
from engine.workflow.spiff import runtime
from engine.workflow.spiff.parser import ParsedDefinition
from engine.workflow.spiff.serializer import json_safe
from engine.workflow.views import InstanceView, StepContext, TaskView

log = logging.getLogger("jishijiu.engine")


_TASK = HumanTask.__table__
# built once (every completion runs it): complete the task only if it is open and unchanged since read
_COMPLETE = (update(_TASK).where(_TASK.c.id == bindparam("task_id"), _TASK.c.status == "open",
                                 _TASK.c.version == bindparam("seen_version"))
             .values(status="completed", assignee=bindparam("user"), completed_at=bindparam("now"),
                     completed_by=bindparam("user"), version=_TASK.c.version + 1))


class TaskOperations:
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
        holder: dict = {}

        def locate(session: Session) -> int:
            holder["task"] = self._visible_task(session, task_id, actor)
            return holder["task"].instance_id

        def action(ctx: StepContext, parsed: ParsedDefinition, workflow) -> None:
            # Read before the case row was locked (PostgreSQL): the version-checked UPDATE below
            # refuses the completion if anyone changed the task meanwhile.
            task = holder["task"]
            self._may_work_on(task, ctx.actor)
            if task.status != "open":
                raise Conflict(f"task {task_id} is already {task.status}")
            if task.assignee not in (None, ctx.actor.username):
                raise Conflict(f"task {task_id} is claimed by {task.assignee}")
            result = ctx.session.connection().execute(_COMPLETE, {
                "task_id": task_id, "seen_version": task.version, "user": ctx.actor.username, "now": ctx.now})
            if result.rowcount != 1:
                raise Conflict(f"task {task_id} was completed or changed meanwhile")
            for key, value in (("status", "completed"), ("assignee", ctx.actor.username), ("completed_at", ctx.now),
                               ("completed_by", ctx.actor.username), ("version", task.version + 1)):
                set_committed_value(task, key, value)  # what the row now holds, without a reload
            ctx.completed_guids = {task.task_guid}
            before = runtime.task_data(workflow, task.task_guid)
            audit.append(ctx.session, chain=audit.case_chain(task.instance_id), actor=ctx.actor.username,
                         action="task.completed", object_type="task", object_id=task_id, at=ctx.now,
                         before={k: json_safe(before.get(k)) for k in data},
                         after={"task": task.bpmn_id, "data": json_safe(data)})
            self._step(ctx, parsed, workflow, lambda: runtime.complete_task(workflow, task.task_guid, data))

        return self._operate(None, actor, action, holder, operation="complete", locate=locate)
