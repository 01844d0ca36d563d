"""The supervisors' figures, each one aggregate query over a region prefix (no workflow is loaded).

Every function takes a session, the region prefix (``""`` for everything) and what it needs of time
(``now``, the business calendar), and answers small frozen dataclasses the dashboard draws and
tabulates.  Grouping by local day or month, seconds between two times and the length of a JSON list
need one SQL expression per database; :class:`Sql` keeps those in one place (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, and_, case, cast, extract, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from engine.casework.funds import Fund, FundView
from engine.casework.models import AssessmentRow
from engine.casework.payments import Decision, Payment
from engine.workflow.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.workflow.sla import SlaClock
from web.pages import dashboard_benefits

#: The process key of quick response + instant relief (DESIGN "The closed loop as processes").
EMERGENCY = "emergency"
#: Region code lengths: province, city, county, township, village.
LEVELS = (2, 4, 6, 9, 12)
ZERO = Decimal("0.00")


def next_level(region: str) -> int:
    """The length of the codes one level below ``region`` (a village stays a village)."""
    for length in LEVELS:
        if length > len(region):
            return length
    return len(region) or LEVELS[0]


def within(column, region: str):
    return column.startswith(region, autoescape=True) if region else true()


class Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, session: Session, tz: ZoneInfo, at: datetime) -> None:
        self.dialect = session.get_bind().dialect.name
        self.tz = tz
        # SQLite knows no zones: it shifts by the offset at ``at`` (Asia/Shanghai: +08:00 since 1991)
        offset = at.astimezone(tz).utcoffset() or timedelta(0)
        self.modifier = f"{int(offset.total_seconds()):+d} seconds"

    def local_date(self, column):
        if self.dialect == "sqlite":
            return func.date(column, self.modifier)
        return func.date(func.timezone(str(self.tz), column))

    def local_month(self, column):
        if self.dialect == "sqlite":
            return func.strftime("%Y-%m", column, self.modifier)
        return func.to_char(func.timezone(str(self.tz), column), "YYYY-MM")

    def seconds(self, start, end):
        """``end - start`` in seconds."""
        if self.dialect == "sqlite":
            return (func.julianday(end) - func.julianday(start)) * 86400.0
        return extract("epoch", end - start)

    def list_length(self, column, key: str):
        """Length of the JSON list ``column[key]`` (NULL when it is absent)."""
        if self.dialect == "sqlite":
            return func.json_array_length(column, f"$.{key}")
        return func.json_array_length(func.json_extract_path(cast(column, JSON), key))


def process_names(session: Session) -> dict[str, str]:
    """Process key → the name of its latest version."""
    names: dict[str, str] = {}
    for key, name in session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                                     .order_by(ProcessDefinition.key, ProcessDefinition.version)):
        names[key] = name or key
    return names


# --------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class StageRow:
    """Active cases waiting at one step (an open human task) of one process."""

    process: str
    bpmn_id: str
    name: str
    cases: int
    overdue: int


def stages(session: Session, region: str, now: datetime) -> list[StageRow]:
    overdue = func.count(func.distinct(case((and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now),
                                             HumanTask.instance_id))))
    rows = session.execute(
        select(ProcessInstance.process_key, HumanTask.bpmn_id, HumanTask.name,
               func.count(func.distinct(HumanTask.instance_id)), overdue)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.status == "open", ProcessInstance.status == "active",
               within(ProcessInstance.region_code, region))
        .group_by(ProcessInstance.process_key, HumanTask.bpmn_id, HumanTask.name))
    found = [StageRow(key, bpmn_id, name, int(n), int(late)) for key, bpmn_id, name, n, late in rows]
    return sorted(found, key=lambda r: (-r.cases, r.process, r.name))


@dataclass(frozen=True)
class ProcessRow:
    process: str
    active: int
    overdue: int  # active cases marked overdue (超时) since a breach
    completed: int
    other: int  # cancelled or failed
    total: int


def processes(session: Session, region: str) -> list[ProcessRow]:
    status = ProcessInstance.status
    rows = session.execute(
        select(ProcessInstance.process_key,
               func.sum(case((status == "active", 1), else_=0)),
               func.sum(case((and_(status == "active", ProcessInstance.overdue.is_(True)), 1), else_=0)),
               func.sum(case((status == "completed", 1), else_=0)),
               func.count())
        .where(within(ProcessInstance.region_code, region))
        .group_by(ProcessInstance.process_key))
    found = []
    for key, active, overdue, completed, total in rows:
        active, overdue, completed, total = int(active or 0), int(overdue or 0), int(completed or 0), int(total)
        found.append(ProcessRow(key, active, overdue, completed, total - active - completed, total))
    return sorted(found, key=lambda r: (-r.active, r.process))


# --------------------------------------------------------------------------- statutory clocks

@dataclass(frozen=True)
class ClockRow:
    name: str
    met: int
    late: int
    running: int
    overdue_now: int
    paused: int

    @property
    def stopped(self) -> int:
        return self.met + self.late

    @property
    def on_time_share(self) -> float | None:
        return self.met / self.stopped if self.stopped else None


@dataclass(frozen=True)
class SlaSummary:
    rows: list[ClockRow]
    total: ClockRow


def sla_compliance(session: Session, region: str, now: datetime) -> SlaSummary:
    """Stopped clocks met on time or late, and running clocks past due now, per clock name."""
    status = SlaClock.status

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(SlaClock.name, count_if(status == "met"), count_if(status == "met_late"),
               count_if(status == "running"), count_if(and_(status == "running", SlaClock.due_at < now)),
               count_if(status == "paused"))
        .where(within(SlaClock.region_code, region), status != "cancelled")
        .group_by(SlaClock.name))
    found = [ClockRow(name, *(int(v or 0) for v in values)) for name, *values in rows]
    found.sort(key=lambda r: (-(r.late + r.overdue_now), -r.stopped, r.name))
    total = ClockRow("", *(sum(getattr(r, f) for r in found)
                           for f in ("met", "late", "running", "overdue_now", "paused")))
    return SlaSummary(found, total)


# --------------------------------------------------------------------------- overdue heatmap

@dataclass(frozen=True)
class Step:
    process: str
    bpmn_id: str
    name: str


@dataclass(frozen=True)
class Cell:
    workdays: int  # working days overdue, summed over the tasks
    tasks: int


@dataclass(frozen=True)
class Heatmap:
    rows: list[str]  # region codes one level below the scope
    columns: list[Step]
    cells: dict[tuple[str, Step], Cell]
    level: int

    @property
    def maximum(self) -> int:
        return max((c.workdays for c in self.cells.values()), default=0)

    def row_total(self, row: str) -> Cell:
        cells = [self.cells[(row, c)] for c in self.columns if (row, c) in self.cells]
        return Cell(sum(c.workdays for c in cells), sum(c.tasks for c in cells))

    def column_total(self, column: Step) -> Cell:
        cells = [self.cells[(r, column)] for r in self.rows if (r, column) in self.cells]
        return Cell(sum(c.workdays for c in cells), sum(c.tasks for c in cells))


def heatmap(session: Session, region: str, now: datetime, calendar) -> Heatmap:
    """Open tasks past due: sub-region × process step → working days overdue (and how many tasks).

    Tasks are grouped by their local due date, so the calendar is asked once per date, not per task.
    Rows list every sub-region with cases, so a clean township shows as a clean row.
    """
    sql = Sql(session, calendar.tz, now)
    level = next_level(region)
    sub = func.substr(ProcessInstance.region_code, 1, level)
    due_day = sql.local_date(HumanTask.due_at)
    grouped = session.execute(
        select(sub, ProcessInstance.process_key, HumanTask.bpmn_id, HumanTask.name, due_day, func.count())
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.status == "open", ProcessInstance.status == "active",
               HumanTask.due_at.is_not(None), HumanTask.due_at < now,
               within(ProcessInstance.region_code, region))
        .group_by(sub, ProcessInstance.process_key, HumanTask.bpmn_id, HumanTask.name, due_day))
    sums: dict[tuple[str, Step], list[int]] = defaultdict(lambda: [0, 0])
    for code, key, bpmn_id, name, day, n in grouped:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        late = max(0, calendar.workdays_between(day, now))
        cell = sums[(code, Step(key, bpmn_id, name))]
        cell[0] += late * int(n)
        cell[1] += int(n)
    regions = set(session.execute(select(func.distinct(sub)).where(
        within(ProcessInstance.region_code, region))).scalars())
    regions |= {code for code, _step in sums}
    by_step: dict[Step, int] = defaultdict(int)
    for (_code, step), (workdays, _tasks) in sums.items():
        by_step[step] += workdays
    columns = sorted(by_step, key=lambda s: (-by_step[s], s.process, s.name))  # the worst step first
    cells = {k: Cell(v[0], v[1]) for k, v in sums.items()}
    return Heatmap(sorted(regions), columns, cells, level)


# --------------------------------------------------------------------------- money

def funds(session: Session, region: str) -> list[FundView]:
    """Funds inside the region, and those covering it (a county fund seen from a township)."""
    condition = true() if not region else or_(
        Fund.region_code.startswith(region, autoescape=True),
        literal(region).startswith(Fund.region_code))
    rows = session.execute(select(Fund).where(condition).order_by(Fund.region_code, Fund.kind, Fund.code))
    return [FundView.of(f) for f in rows.scalars()]


@dataclass(frozen=True)
class CoverageRow:
    """Households and people on a monthly benefit of one programme."""

    programme: str
    households: int
    people: int  # covered members, where the assessment is recorded
    unknown: int  # households whose covered members are not recorded
    monthly: Decimal


def coverage(session: Session, region: str, tz: ZoneInfo, now: datetime) -> list[CoverageRow]:
    """Approved decisions with a monthly amount, the latest per household and programme, unless a
    later decision stopped it; people are the covered members of the case's recorded assessment."""
    sql = Sql(session, tz, now)
    household = func.coalesce(Decision.household_id, -Decision.instance_id)
    approved = (select(func.max(Decision.id).label("id"))
                .join(ProcessInstance, ProcessInstance.id == Decision.instance_id)
                .where(Decision.decision == "approved", Decision.monthly_amount > 0,
                       within(ProcessInstance.region_code, region))
                .group_by(household, Decision.programme).subquery())
    later = aliased(Decision)
    stopped = (select(later.id).where(
        later.programme == Decision.programme,
        func.coalesce(later.household_id, -later.instance_id) == household,
        later.decision == "stop", later.id > Decision.id).exists())
    latest_assessment = (select(AssessmentRow.instance_id, AssessmentRow.programme,
                                func.max(AssessmentRow.id).label("id"))
                         .where(AssessmentRow.instance_id.is_not(None))
                         .group_by(AssessmentRow.instance_id, AssessmentRow.programme).subquery())
    assessment = aliased(AssessmentRow)
    members = sql.list_length(assessment.result, "covered_members")
    rows = session.execute(
        select(Decision.programme, func.count(), func.sum(members),
               func.sum(case((members.is_(None), 1), else_=0)), func.sum(Decision.monthly_amount))
        .join(approved, approved.c.id == Decision.id)
        .outerjoin(latest_assessment, and_(latest_assessment.c.instance_id == Decision.instance_id,
                                           latest_assessment.c.programme == Decision.programme))
        .outerjoin(assessment, assessment.id == latest_assessment.c.id)
        .where(~stopped)
        .group_by(Decision.programme).order_by(Decision.programme))
    return [CoverageRow(programme, int(n), int(people or 0), int(unknown or 0), _money(monthly))
            for programme, n, people, unknown, monthly in rows]


@dataclass(frozen=True)
class PaymentTable:
    months: list[str]  # "2026-01" … every month of the year up to now
    programmes: list[str]
    amounts: dict[tuple[str, str], Decimal]
    counts: dict[tuple[str, str], int]

    def month_total(self, month: str) -> Decimal:
        return sum((v for (m, _p), v in self.amounts.items() if m == month), ZERO)

    def programme_total(self, programme: str) -> Decimal:
        return sum((v for (_m, p), v in self.amounts.items() if p == programme), ZERO)

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)

    @property
    def payments(self) -> int:
        return sum(self.counts.values())


OTHER = "other"


def year_bounds(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(year, 1, 1, tzinfo=tz).astimezone(timezone.utc)
    return start, datetime(year + 1, 1, 1, tzinfo=tz).astimezone(timezone.utc)


def payments_by_month(session: Session, region: str, year: int, now: datetime, tz: ZoneInfo,
                      batches: Sequence[dashboard_benefits.MonthFigure] = ()) -> PaymentTable:
    """Money actually paid in ``year``, per local month and programme: payments from funds, plus the
    monthly batch lines the bank paid (``batches``; their mirror rows in ``payment`` are left out)."""
    start, end = year_bounds(year, tz)
    sql = Sql(session, tz, start)
    month = sql.local_month(Payment.paid_at)
    programme = func.coalesce(Payment.programme, OTHER)
    rows = session.execute(
        select(month, programme, func.sum(Payment.amount), func.count())
        .join(ProcessInstance, ProcessInstance.id == Payment.instance_id)
        .where(Payment.status == "paid", Payment.paid_at >= start, Payment.paid_at < end,
               or_(Payment.purpose.is_(None), Payment.purpose != dashboard_benefits.MONTHLY_PURPOSE),
               within(ProcessInstance.region_code, region))
        .group_by(month, programme))
    amounts, counts = {}, {}
    for m, p, amount, n in rows:
        amounts[(m, p)] = _money(amount)
        counts[(m, p)] = int(n)
    dashboard_benefits.merge_paid(amounts, counts, list(batches))
    local_now = now.astimezone(tz)
    last = 12 if local_now.year > year else local_now.month if local_now.year == year else 0
    months = sorted({f"{year}-{i:02d}" for i in range(1, last + 1)} | {m for m, _p in amounts})
    programmes = sorted({p for _m, p in amounts}, key=lambda p: (p == OTHER, p))
    return PaymentTable(months, programmes, amounts, counts)


@dataclass(frozen=True)
class EmergencySummary:
    cases: int
    paid: int  # cases with at least one payment
    open: int
    average_seconds: float | None  # report → first payment
    within_2h: int
    within_24h: int


def emergency(session: Session, region: str, year: int, tz: ZoneInfo) -> EmergencySummary:
    """Emergency cases reported in ``year`` and their response time (report → first payment)."""
    start, end = year_bounds(year, tz)
    sql = Sql(session, tz, start)
    first = (select(Payment.instance_id, func.min(Payment.paid_at).label("paid_at"))
             .where(Payment.status == "paid").group_by(Payment.instance_id).subquery())
    seconds = sql.seconds(ProcessInstance.created_at, first.c.paid_at)
    row = session.execute(
        select(func.count(ProcessInstance.id), func.count(first.c.paid_at),
               func.sum(case((ProcessInstance.status == "active", 1), else_=0)), func.avg(seconds),
               func.sum(case((seconds <= 2 * 3600, 1), else_=0)),
               func.sum(case((seconds <= 24 * 3600, 1), else_=0)))
        .outerjoin(first, first.c.instance_id == ProcessInstance.id)
        .where(ProcessInstance.process_key == EMERGENCY, ProcessInstance.created_at >= start,
               ProcessInstance.created_at < end, within(ProcessInstance.region_code, region))).one()
    n, paid, active, average, fast, day = row
    return EmergencySummary(int(n or 0), int(paid or 0), int(active or 0),
                            float(average) if average is not None else None, int(fast or 0), int(day or 0))


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


@dataclass
class Figures:
    """Everything the dashboard shows for one region and year."""

    region: str
    year: int
    stages: list[StageRow] = field(default_factory=list)
    processes: list[ProcessRow] = field(default_factory=list)
    sla: SlaSummary | None = None
    heatmap: Heatmap | None = None
    funds: list[FundView] = field(default_factory=list)
    coverage: list[CoverageRow] = field(default_factory=list)
    payments: PaymentTable | None = None
    emergency: EmergencySummary | None = None
    names: dict[str, str] = field(default_factory=dict)
    benefits: dashboard_benefits.BenefitFigures | None = None  # the payment roll and bank batches


def collect(session: Session, region: str, year: int, now: datetime, calendar) -> Figures:
    tz = calendar.tz
    roll = dashboard_benefits.collect(session, region, year, now, tz)
    return Figures(region=region, year=year, stages=stages(session, region, now),
                   processes=processes(session, region), sla=sla_compliance(session, region, now),
                   heatmap=heatmap(session, region, now, calendar), funds=funds(session, region),
                   coverage=coverage(session, region, tz, now),
                   payments=payments_by_month(session, region, year, now, tz, roll.paid),
                   emergency=emergency(session, region, year, tz), names=process_names(session),
                   benefits=roll)
