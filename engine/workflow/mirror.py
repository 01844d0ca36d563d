"""After each step: mirror READY human tasks and WAITING timers into their tables (a mixin of WorkflowEngine).

A step is a few statements, not a rewrite of the case's rows: the open tasks are read once (and
handed to the view), only tasks that appeared are inserted and only those that left are updated.
Timer rows and statutory clocks are not even read when the instance provably has none to change:
the cached workflow carries what the last committed step left in those tables (``_jsj_timers``,
``_jsj_clocks``).  Only this engine writes those tables, always in a version-checked step, so a
cached workflow whose row version still matches also matches them; a workflow restored from JSON
has no such note and its first step reads the tables.
"""

from __future__ import annotations

from sqlalchemy import bindparam, exists, insert, select, update

from engine.workflow import audit, sla
from engine.workflow.models import HumanTask, Timer
from engine.workflow.spiff import history, runtime
from engine.workflow.spiff.parser import ParsedDefinition
from engine.workflow.spiff.serializer import SERIALIZER_VERSION
from engine.workflow.views import FiredTimer, StepContext

TIMERS = "_jsj_timers"    # set of (task guid, due) with a pending row
CLOCKS = "_jsj_clocks"    # False: the instance has no running or paused statutory clock

# built once: every step runs them
_OPEN_TASKS = select(HumanTask).where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.status == "open")
_TIMER = Timer.__table__
_CANCEL_TIMER = (update(_TIMER).where(_TIMER.c.instance_id == bindparam("case_id"),
                                      _TIMER.c.task_guid == bindparam("guid"), _TIMER.c.due_at == bindparam("due"),
                                      _TIMER.c.status == "pending")
                 .values(status="cancelled", fired_at=None))


class MirrorOperations:
    def _sync(self, ctx: StepContext, parsed: ParsedDefinition, workflow) -> None:
        session, row, now = ctx.session, ctx.instance, ctx.now
        clocks = self._has_clocks(ctx, workflow)
        ready_tasks, waiting_timers, completed = runtime.scan(workflow)
        ready = {t.guid: t for t in ready_tasks}
        open_now, ctx.prefetched_open_tasks = ctx.prefetched_open_tasks, None  # read with a batch (timing.py)
        if open_now is None:
            open_now = session.execute(_OPEN_TASKS, {"instance_id": row.id}).scalars()
        open_rows = {t.task_guid: t for t in open_now}
        added = []
        for guid, t in ready.items():
            if guid in open_rows:
                continue
            meta = parsed.meta.tasks.get(t.bpmn_id)
            due = (self._due(meta.due_in, now, workflow, guid, t.bpmn_id, row.region_code)
                   if meta and meta.due_in else None)
            task_sla = meta.properties.get("sla") if meta is not None else None
            if task_sla:
                task_sla = self._due_spec(task_sla, workflow, guid, t.bpmn_id)
                sla_due = self.parse_due(task_sla, now, row.region_code)
                due = due or sla_due
                sla.start_clock(session, instance=row, name=t.name, spec=task_sla, start=now, due=sla_due,
                                bpmn_id=t.bpmn_id, task_guid=guid, handler_group=meta.role,
                                actor=ctx.actor.username)
                clocks = True
            assignee = meta.properties.get("assignee") if meta is not None else None
            if assignee:  # a fixed assignee, e.g. each committee member's own vote task
                assignee = self._assignee(assignee, workflow, guid, t.bpmn_id)
            task_row = HumanTask(instance_id=row.id, task_guid=guid, bpmn_id=t.bpmn_id, name=t.name,
                                 form_key=meta.form_key if meta else None,
                                 candidate_group=meta.role if meta else None, lane=t.lane,
                                 region_code=row.region_code, status="open", created_at=now,
                                 due_at=due, assignee=assignee or None, version=1)
            session.add(task_row)
            added.append(task_row)
        if added and self.hooks.excluded_users is not None:
            excluded = self.hooks.excluded_users(session, row) or None
            if excluded:
                for task_row in added:
                    task_row.excluded_users = list(excluded)
        cancelled = set()
        for guid, task_row in open_rows.items():
            if guid not in ready:
                task_row.status = "cancelled"
                task_row.completed_at = now
                cancelled.add(guid)
                audit.append(session, chain=audit.case_chain(row.id), actor=ctx.actor.username,
                             action="task.cancelled", object_type="task", object_id=task_row.id, at=now,
                             after={"task": task_row.bpmn_id})
        if clocks:
            self._stop_task_clocks(ctx, parsed, workflow, open_rows, cancelled)
        self._sync_timers(ctx, workflow, waiting_timers)
        if completed and row.status == "active":
            row.status = "completed"
            row.completed_at = now
            if clocks:
                sla.stop_case_clocks(session, row.id, now, actor=ctx.actor.username)
            clocks = False
            audit.append(session, chain=audit.case_chain(row.id), actor=ctx.actor.username,
                         action="instance.completed", object_type="instance", object_id=row.id, at=now)
        setattr(workflow, CLOCKS, clocks)
        ctx.open_rows = [t for g, t in open_rows.items() if g not in cancelled] + added
        history.prune(workflow)  # the history is in the audit trail; the live tree keeps what runs
        row.state = self.serializer.dump(workflow)
        row.serializer_version = SERIALIZER_VERSION
        row.updated_at = now

    @staticmethod
    def _has_clocks(ctx: StepContext, workflow) -> bool:
        known = getattr(workflow, CLOCKS, None)
        if known is not None:
            return known
        return bool(ctx.session.execute(select(exists().where(
            sla.SlaClock.instance_id == ctx.instance.id,
            sla.SlaClock.status.in_(("running", "paused"))))).scalar())

    @staticmethod
    def _stop_task_clocks(ctx: StepContext, parsed: ParsedDefinition, workflow, open_rows: dict,
                          cancelled: set) -> None:
        finished = set(getattr(ctx, "completed_guids", ()))
        if cancelled:  # a task ended by a boundary event that fulfils it (slaMetBy) met its clock
            taken = set(runtime.path_taken(workflow))
            for guid in list(cancelled):
                meta = parsed.meta.tasks.get(open_rows[guid].bpmn_id)
                met_by = {x.strip() for x in (meta.properties.get("slaMetBy", "") if meta else "").split(",")}
                if met_by & taken:
                    cancelled.discard(guid)
                    finished.add(guid)
        user = ctx.actor.username
        sla.stop_task_clocks(ctx.session, ctx.instance.id, finished, ctx.now, actor=user)
        sla.stop_task_clocks(ctx.session, ctx.instance.id, cancelled, ctx.now, status="cancelled", actor=user)

    def _sync_timers(self, ctx: StepContext, workflow, waiting_timers: list) -> None:
        session, row, now = ctx.session, ctx.instance, ctx.now
        waiting = {(w.guid, w.due_at): w for w in waiting_timers}
        known = getattr(workflow, TIMERS, None)
        rows = None
        if known is None:  # restored from JSON: what the table says (read with a batch of cases, or now)
            pending, ctx.prefetched_timers = ctx.prefetched_timers, None
            if pending is None:
                pending = session.execute(select(Timer).where(Timer.instance_id == row.id,
                                                              Timer.status == "pending")).scalars()
            rows = {(t.task_guid, t.due_at): t for t in pending}
            known = set(rows)
        new = [{"instance_id": row.id, "task_guid": w.guid, "bpmn_id": w.bpmn_id, "kind": w.kind,
                "due_at": w.due_at, "status": "pending"} for key, w in waiting.items() if key not in known]
        if new:  # one executemany through Core; nothing needs their ids
            session.connection().execute(insert(_TIMER), new)
        gone = [key for key in known if key not in waiting]
        fired = [key for key in gone if key[1] <= now and runtime.timer_fired(workflow, key[0], key[1])]
        if fired and rows is None:
            rows = {(t.task_guid, t.due_at): t for t in session.execute(select(Timer).where(
                Timer.instance_id == row.id, Timer.status == "pending",
                Timer.task_guid.in_(sorted({g for g, _ in fired})))).scalars()}
        for key in fired:
            timer = rows.get(key)
            if timer is None:
                continue
            timer.status, timer.fired_at = "fired", now
            if getattr(ctx, "fired", None) is not None:
                ctx.fired.append(FiredTimer(row.id, timer.bpmn_id, timer.due_at, now))
            audit.append(session, chain=audit.case_chain(row.id), actor=ctx.actor.username, action="timer.fired",
                         object_type="timer", object_id=timer.id, at=now,
                         after={"timer": timer.bpmn_id, "due_at": timer.due_at.isoformat(),
                                "late_seconds": round((now - timer.due_at).total_seconds(), 3)})
        cancelled = [key for key in gone if key not in fired]
        if cancelled and rows is not None and all(key in rows for key in cancelled):
            for key in cancelled:
                rows[key].status, rows[key].fired_at = "cancelled", None
        elif cancelled:  # one executemany for all of them (e.g. both boundary timers of a finished task)
            session.connection().execute(_CANCEL_TIMER, [{"case_id": row.id, "guid": g, "due": d}
                                                         for g, d in cancelled])
        setattr(workflow, TIMERS, set(waiting))
