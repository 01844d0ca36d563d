"""Daily statistics of the statutory clocks (办理时限统计): what was due, met, breached, per day.

Rows are made nightly by the scheduler (``engine.workflow.sla_stats``); this only reads them, within
the reader's region: a township supervisor sees its township's rows, a county one its county's and
its townships'.
"""

from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from engine.clock import to_local
from engine.errors import ValidationError
from engine.workflow import sla_stats
from web.api.common import api_blueprint, current_actor, iso, services
from web.api.policy import require

blp = api_blueprint("sla_stats", "/sla-stats", "SLA statistics / 办理时限统计")

STAT_READERS = frozenset({"admin", "supervisor", "approver"})
MAX_DAYS = 366
DEFAULT_DAYS = 30


class SlaStatsQuery(Schema):
    region = fields.String(load_default="", validate=validate.Regexp(r"^[0-9]{0,12}$"),
                           metadata={"description": "a region prefix (default: the reader's whole region)"})
    from_ = fields.Date(data_key="from", metadata={"description": "first day, YYYY-MM-DD "
                                                                  "(default: 30 days before `to`)"})
    to = fields.Date(metadata={"description": "last day, YYYY-MM-DD (default: today, Asia/Shanghai)"})

    @validates_schema
    def _span(self, data, **_kwargs):
        first, last = data.get("from_"), data.get("to")
        if first and last and first > last:
            raise SchemaError("must not be after to", "from")
        if first and last and (last - first).days >= MAX_DAYS:
            raise SchemaError(f"at most {MAX_DAYS} days at once", "from")


class SlaStat(Schema):
    day = fields.Date(required=True)
    region_code = fields.String(required=True, metadata={"description": "county (6) or township (9) prefix"})
    level = fields.String(required=True, metadata={"description": "county|township"})
    process = fields.String(required=True)
    step = fields.String(required=True, metadata={"description": "user task id; empty: the whole case"})
    step_name = fields.String(required=True)
    due = fields.Integer(required=True, metadata={"description": "clocks whose due time fell on the day"})
    met = fields.Integer(required=True, metadata={"description": "stopped on the day, on time"})
    met_late = fields.Integer(required=True, metadata={"description": "stopped on the day after a breach"})
    warned = fields.Integer(required=True, metadata={"description": "80 % warnings recorded on the day"})
    breached = fields.Integer(required=True, metadata={"description": "breaches (level 1) on the day"})
    escalated = fields.Integer(required=True, metadata={"description": "level-2 escalations on the day"})
    open_overdue = fields.Integer(required=True, metadata={"description": "past due and still open at "
                                                                          "the end of the day"})
    stopped = fields.Integer(required=True, metadata={"description": "clocks the working days are over"})
    avg_workdays_used = fields.String(allow_none=True, metadata={"description": "decimal, two places"})
    p90_workdays_used = fields.String(allow_none=True, metadata={"description": "decimal, two places"})
    computed_at = fields.DateTime(required=True)


def _answer(row: sla_stats.SlaDailyStat) -> dict:
    return {"day": row.day, "region_code": row.region_code, "level": row.level, "process": row.process_key,
            "step": row.step, "step_name": row.step_name, "due": row.due, "met": row.met,
            "met_late": row.met_late, "warned": row.warned, "breached": row.breached,
            "escalated": row.escalated, "open_overdue": row.open_overdue, "stopped": row.stopped,
            "avg_workdays_used": None if row.avg_workdays_used is None else f"{row.avg_workdays_used:.2f}",
            "p90_workdays_used": None if row.p90_workdays_used is None else f"{row.p90_workdays_used:.2f}",
            "computed_at": iso(row.computed_at)}


@blp.route("", methods=["GET"])
@blp.arguments(SlaStatsQuery, location="query")
@blp.response(200, SlaStat(many=True))
def list_sla_stats(query):
    """Daily SLA statistics of the days [from, to] inside ``region`` and the reader's own region
    (supervisor, approver, admin).  A region outside the reader's gives an empty list."""
    actor = current_actor()
    require(actor, STAT_READERS, "read SLA statistics")
    last = query.get("to") or to_local(services().clock.now()).date()
    first = query.get("from_") or last - timedelta(days=DEFAULT_DAYS - 1)
    if (last - first).days >= MAX_DAYS:
        raise ValidationError("too many days", {"from": [f"at most {MAX_DAYS} days at once"]})
    with services().db.read() as session:
        rows = sla_stats.read(session, region=query["region"], first=first, last=last, scope=actor.region)
        return [_answer(r) for r in rows]
