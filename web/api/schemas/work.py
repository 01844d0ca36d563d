"""Cases, tasks, processes, the test clock, statutory clocks and migration."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate
from web.api.schemas.base import ID, Line, Money, Strict


# --------------------------------------------------------------------------- cases and tasks

class CaseStart(Strict):
    process = fields.String(required=True, validate=validate.Length(1, 128))
    household_id = fields.Integer(required=True, strict=True, validate=ID)
    data = fields.Dict(keys=fields.String(), load_default=dict)


class TaskBrief(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    form_key = fields.String(allow_none=True, required=True)
    candidate_group = fields.String(allow_none=True, required=True)
    assignee = fields.String(allow_none=True, required=True)
    due_at = fields.DateTime(allow_none=True, required=True)


class Escalation(ma.Schema):
    level = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    to_role = fields.String(required=True)
    to_region = fields.String()
    message = fields.String()


class Payment(ma.Schema):
    id = fields.Integer()
    amount = Money(required=True)
    fund = fields.String(required=True, allow_none=True)
    paid_at = fields.DateTime(required=True, allow_none=True,
                              metadata={"description": "null while only scheduled"})
    idempotency_key = fields.String(required=True)
    status = fields.String(metadata={"description": "paid | scheduled | failed"})
    month = fields.String(allow_none=True, metadata={"example": "2023-04"})
    programme = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)


class Decision(ma.Schema):
    id = fields.Integer(required=True)
    programme = fields.String(required=True)
    decision = fields.String(required=True, metadata={"example": "approved"})
    monthly_amount = Money(allow_none=True)
    one_off_amount = Money(allow_none=True)
    from_month = fields.String(allow_none=True)
    reasons = fields.List(fields.Raw())
    justification_code = fields.String(allow_none=True)
    decided_at = fields.DateTime(required=True)
    decided_by = fields.String(required=True)


class Case(ma.Schema):
    id = fields.Integer(required=True)
    process = fields.String(required=True)
    process_version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["active", "completed", "cancelled", "error"]))
    region_code = fields.String(required=True)
    household_id = fields.Integer(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)
    escalations = fields.List(fields.Nested(Escalation), required=True)
    open_tasks = fields.List(fields.Nested(TaskBrief), required=True)
    decisions = fields.List(fields.Nested(Decision), required=True)
    payments = fields.List(fields.Nested(Payment), required=True)
    data = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)


class CaseSummary(ma.Schema):
    id = fields.Integer(required=True)
    process = fields.String(required=True)
    status = fields.String(required=True)
    region_code = fields.String(required=True)
    household_id = fields.Integer(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CaseQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))
    status = fields.String(validate=validate.OneOf(["active", "completed", "cancelled", "error"]))
    process = fields.String(validate=validate.Length(1, 128))
    household_id = fields.Integer(validate=ID)
    overdue = fields.Boolean(metadata={"description": "1: only overdue cases; 0: only the others"})


class EventQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 5000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class Event(ma.Schema):
    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class Task(ma.Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    name = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    form_key = fields.String(allow_none=True, required=True)
    candidate_group = fields.String(allow_none=True, required=True)
    assignee = fields.String(allow_none=True, required=True)
    region_code = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)


class TaskDetail(Task):
    data = fields.Dict(required=True, metadata={"description": "what the task's form is filled from"})


class TaskQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    mine = fields.Boolean(load_default=False, metadata={"description": "assigned to me"})
    group = fields.Boolean(load_default=False,
                           metadata={"description": "unclaimed, for my role's group"})
    overdue = fields.Boolean(load_default=False, metadata={"description": "past their due time"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class TaskComplete(Strict):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class TaskDelegate(Strict):
    to = fields.String(required=True, validate=validate.Length(1, 128),
                       metadata={"description": "username of the new assignee"})


# --------------------------------------------------------------------------- processes

class Definition(ma.Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True, required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    deployed_by = fields.String(required=True)


class Deployed(Definition):
    created = fields.Boolean(required=True, metadata={
        "description": "false when the file equals the latest version (nothing deployed)"})


# --------------------------------------------------------------------------- test clock

class ClockMove(Strict):
    advance_seconds = fields.Float(allow_nan=False, validate=validate.Range(-10 * 366 * 86400,
                                                                            10 * 366 * 86400))
    set = fields.AwareDateTime(metadata={"example": "2023-03-06T10:00:00+08:00"})


class Fired(ma.Schema):
    kind = fields.String(required=True, metadata={"description": "timer | sla_warning | …"})
    case_id = fields.Integer(required=True)
    element = fields.String(allow_none=True)
    level = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)


class ClockState(ma.Schema):
    now = fields.DateTime(required=True)
    fired = fields.List(fields.Nested(Fired), required=True)



# --------------------------------------------------------------------------- clocks, migration

class ClockPause(Strict):
    reason = Line(1, 500, required=True, metadata={
        "example": "等待补充材料"})
    name = Line(1, 255,
                         metadata={"description": "only the clock of this name (default: all)"})


class ClockResume(Strict):
    name = Line(1, 255,
                         metadata={"description": "only the clock of this name (default: all)"})


class Clock(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    spec = fields.String(required=True, metadata={"example": "20WD"})
    status = fields.String(required=True, metadata={
        "description": "running | paused | met | met_late | cancelled"})
    bpmn_id = fields.String(allow_none=True)
    started_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    paused_at = fields.DateTime(allow_none=True, required=True)
    paused_seconds = fields.Integer(required=True)
    warned_at = fields.DateTime(allow_none=True)
    breached_at = fields.DateTime(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)


class CaseClocks(ma.Schema):
    case_id = fields.Integer(required=True)
    overdue = fields.Boolean(required=True)
    clocks = fields.List(fields.Nested(Clock), required=True)


class MigrateIn(Strict):
    case_ids = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(1, 1000))
    all_active = fields.Boolean(metadata={"description": "every active case of the process in your "
                                                        "region that is on another version"})
    to_version = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**6))
    dry_run = fields.Boolean(load_default=True, metadata={"description": "default true: preview only"})

    @ma.validates_schema
    def _one_selection(self, data, **_kwargs) -> None:
        if bool(data.get("case_ids")) == bool(data.get("all_active")):
            raise ma.ValidationError("give either case_ids or all_active: true",
                                     field_name="case_ids")


class MigrationPreview(ma.Schema):
    case_id = fields.Integer(required=True)
    process = fields.String(required=True)
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    ok = fields.Boolean(required=True, metadata={"description": "the case can move"})
    migrated = fields.Boolean(required=True)
    blocking = fields.List(fields.String(), required=True,
                           metadata={"description": "why it cannot move"})
    current = fields.List(fields.String(), required=True,
                          metadata={"description": "elements the case waits at now"})
    removed = fields.List(fields.String(), required=True)
    changed = fields.List(fields.String(), required=True)
    added = fields.List(fields.String(), required=True)
    restarts = fields.List(fields.String(), required=True, metadata={
        "description": "waiting branches that restart on the new version (their timers start again)"})
