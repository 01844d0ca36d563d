"""Nightly statistics of the statutory clocks (SLA), per day, region, process and step.

Supervisors ask "how many deadlines fell due in our county yesterday, how many were met, how many
breached, how long did the step take".  Reading that off ``sla_clock`` on every page view would scan
the table; instead one row per (local day, region, process, step) is kept in ``sla_daily_stat``.

What a row counts, for the local day D (Asia/Shanghai, [D 00:00, D+1 00:00)):

* ``due`` — clocks whose due time falls on D;
* ``met`` / ``met_late`` — clocks stopped on D on time / after their breach;
* ``warned``, ``breached``, ``escalated`` — clocks whose 80 % warning, breach (level 1) or level-2
  escalation was recorded on D;
* ``open_overdue`` — a snapshot at the end of D: clocks started, past due and not yet stopped;
* ``avg_workdays_used`` / ``p90_workdays_used`` — over the clocks stopped (met or met late) on D:
  working days in (start, stop] by local date, with the start moved forward by the time the clock
  was paused (停表 does not count), on the national calendar.  p90 is the nearest-rank percentile.

Every region appears twice: at its county (6 digits) and at its township (9 digits) prefix, so a
county supervisor reads one row per step and a township one its own.  ``step`` is the BPMN id of the
user task a clock belongs to, or ``""`` for a clock on the whole case.

Everything is set-based: one grouped query per region level for the counts, one with window
functions for the working days (the working days themselves come from the calendar as a small
VALUES table of day starts, so no per-clock Python loop), then one bulk insert.  Re-running a day
deletes that day's rows first, in the same transaction.

Which day is due runs on the engine clock: :func:`catch_up` (from ``Services.run_due``, i.e. every
scheduler sweep and the TESTING clock endpoint, and from the 01:30 scheduler job) computes every
finished day not computed yet, once — a compare-and-set on a ``setting`` row makes it once even with
several processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Callable

from sqlalchemy import (Date, Index, Integer, Numeric, String, UniqueConstraint, and_, case, cast, column,
                        delete, func, insert, literal, literal_column, or_, select, update, values)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.actors import within_region
from engine.clock import SHANGHAI, to_local
from engine.db import Base
from engine.types_sql import UTCDateTime
from engine.workflow.models import BigId, ProcessInstance, Setting
from engine.workflow.sla import SlaClock

log = logging.getLogger("jishijiu.sla_stats")

LAST_DAY_KEY = "sla_stats_last_day"
#: the nightly run counts a day as finished at 01:30 the next morning (late entries before midnight)
NIGHTLY_AT = time(1, 30)
#: after a long outage (or a test clock jumping years) at most this many days are caught up
MAX_CATCH_UP_DAYS = 31
LEVELS = (("county", 6), ("township", 9))
COUNTS = ("due", "met", "met_late", "warned", "breached", "escalated", "open_overdue")


class SlaDailyStat(Base):
    """One (local day, region prefix, process, step): what the statutory clocks did that day."""

    __tablename__ = "sla_daily_stat"
    __table_args__ = (
        UniqueConstraint("day", "region_code", "process_key", "step"),
        Index("ix_sla_daily_stat_region_day", "region_code", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(16))            # county|township
    process_key: Mapped[str] = mapped_column(String(128))
    step: Mapped[str] = mapped_column(String(255))            # user task BPMN id; "" = the whole case
    step_name: Mapped[str] = mapped_column(String(255))
    due: Mapped[int] = mapped_column(Integer, default=0)
    met: Mapped[int] = mapped_column(Integer, default=0)
    met_late: Mapped[int] = mapped_column(Integer, default=0)
    warned: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    open_overdue: Mapped[int] = mapped_column(Integer, default=0)
    stopped: Mapped[int] = mapped_column(Integer, default=0)  # clocks the averages are over
    avg_workdays_used: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    p90_workdays_used: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class DayReport:
    day: date
    rows: int
    clocks_due: int


Progress = Callable[[int, int], None]   # (days done, days in all)


# =============================================================================== time

def day_window(day: date) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of a local (Asia/Shanghai) day, in UTC."""
    lo = datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(timezone.utc)
    return lo, datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(timezone.utc)


def last_finished_day(now: datetime) -> date:
    """The latest local day whose statistics the nightly run makes at ``now`` (yesterday after 01:30)."""
    local = to_local(now)
    return local.date() - timedelta(days=1 if local.time() >= NIGHTLY_AT else 2)


# =============================================================================== computing

def compute_day(session: Session, day: date, calendar, now: datetime) -> DayReport:
    """Replace ``day``'s rows with fresh ones (in the caller's transaction)."""
    lo, hi = day_window(day)
    rows: dict[tuple, dict] = {}
    for level, width in LEVELS:
        for row in session.execute(_counts_query(width, lo, hi)).mappings():
            rows[(row["region_code"], row["process_key"], row["step"])] = {
                **row, "level": level, "stopped": 0, "avg_workdays_used": None, "p90_workdays_used": None}
    workdays = _workday_starts(session, calendar, lo, hi)
    if workdays is not None:
        for width in (w for _, w in LEVELS):
            for row in session.execute(_workdays_query(session, width, lo, hi, workdays)).mappings():
                key = (row["region_code"], row["process_key"], row["step"])
                if key in rows:
                    rows[key].update(stopped=row["stopped"], avg_workdays_used=_two(row["avg_used"]),
                                     p90_workdays_used=_two(row["p90_used"]))
    session.execute(delete(SlaDailyStat).where(SlaDailyStat.day == day))
    if rows:
        session.execute(insert(SlaDailyStat), [
            {"day": day, "computed_at": now, "step_name": r["step_name"] or "", "level": r["level"],
             "region_code": r["region_code"], "process_key": r["process_key"], "step": r["step"],
             **{k: int(r[k] or 0) for k in COUNTS}, "stopped": r["stopped"],
             "avg_workdays_used": r["avg_workdays_used"], "p90_workdays_used": r["p90_workdays_used"]}
            for r in rows.values()])
    due = sum(int(r["due"] or 0) for r in rows.values() if r["level"] == "county")
    return DayReport(day, len(rows), due)


def _two(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _keys(width: int):
    c = SlaClock
    return (func.substr(c.region_code, 1, width).label("region_code"),
            ProcessInstance.process_key.label("process_key"),
            func.coalesce(c.bpmn_id, literal("")).label("step"))


def _counts_query(width: int, lo: datetime, hi: datetime):
    c = SlaClock

    def within(col):
        return and_(col >= lo, col < hi)

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    stopped_on_day = within(c.stopped_at)
    open_overdue = and_(c.started_at < hi, c.due_at < hi, or_(c.stopped_at.is_(None), c.stopped_at >= hi))
    region, process, step = _keys(width)
    return (select(region, process, step, func.max(c.name).label("step_name"),
                   count_if(within(c.due_at)).label("due"),
                   count_if(and_(stopped_on_day, c.status == "met")).label("met"),
                   count_if(and_(stopped_on_day, c.status == "met_late")).label("met_late"),
                   count_if(within(c.warned_at)).label("warned"),
                   count_if(within(c.breached_at)).label("breached"),
                   count_if(within(c.level2_fired_at)).label("escalated"),
                   count_if(open_overdue).label("open_overdue"))
            .join(ProcessInstance, ProcessInstance.id == c.instance_id)
            .where(func.length(c.region_code) >= width,
                   or_(within(c.due_at), stopped_on_day, within(c.warned_at), within(c.breached_at),
                       within(c.level2_fired_at), open_overdue))
            .group_by(region, process, step))


def _stopped_on_day(lo: datetime, hi: datetime):
    c = SlaClock
    return and_(c.stopped_at >= lo, c.stopped_at < hi, c.status.in_(("met", "met_late")))


def _workday_starts(session: Session, calendar, lo: datetime, hi: datetime):
    """A VALUES table of the UTC instants at which each working day begins, from the earliest start
    of a clock stopped on the day to the day itself; None when no clock stopped that day."""
    earliest = session.execute(select(func.min(SlaClock.started_at))
                               .where(_stopped_on_day(lo, hi))).scalar()
    if earliest is None:
        return None
    first, last = to_local(earliest).date(), to_local(lo).date()
    starts = []
    day = first
    while day <= last:
        if calendar.is_workday(day):
            starts.append((datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(timezone.utc),))
        day += timedelta(days=1)
    if not starts:
        return None
    return values(column("starts_at", UTCDateTime), name="workday_start").data(starts).cte("workday_start")


def _effective_start(session: Session):
    """The clock's start moved forward by its paused seconds (paused time is not used time)."""
    c = SlaClock
    if session.get_bind().dialect.name == "postgresql":
        shifted = c.started_at + c.paused_seconds * literal_column("interval '1 second'")
    else:
        shifted = func.strftime("%Y-%m-%d %H:%M:%f", c.started_at,
                                literal("+") + cast(c.paused_seconds, String) + literal(" seconds"))
    return case((c.paused_seconds > 0, shifted), else_=c.started_at)


def _workdays_query(session: Session, width: int, lo: datetime, hi: datetime, workdays):
    c = SlaClock
    used = (select(func.count()).select_from(workdays)
            .where(workdays.c.starts_at > _effective_start(session), workdays.c.starts_at <= c.stopped_at)
            .scalar_subquery())
    per_clock = (select(*_keys(width), used.label("used"))
                 .join(ProcessInstance, ProcessInstance.id == c.instance_id)
                 .where(_stopped_on_day(lo, hi), func.length(c.region_code) >= width)
                 .subquery("per_clock"))
    p = per_clock.c
    partition = (p.region_code, p.process_key, p.step)
    ranked = select(*partition, p.used,
                    func.row_number().over(partition_by=partition, order_by=p.used).label("rank"),
                    func.count().over(partition_by=partition).label("n")).subquery("ranked")
    r = ranked.c
    # nearest rank: the smallest value whose rank satisfies rank >= 0.9 n, i.e. 10 rank >= 9 n
    return (select(r.region_code, r.process_key, r.step, func.count().label("stopped"),
                   func.avg(r.used * 1.0).label("avg_used"),
                   func.min(case((r.rank * 10 >= r.n * 9, r.used))).label("p90_used"))
            .group_by(r.region_code, r.process_key, r.step))


# =============================================================================== running

def compute_days(services, days: list[date], *, progress: Progress | None = None) -> list[DayReport]:
    """Recompute the given days (the CLI's path): each in its own transaction."""
    reports = []
    for i, day in enumerate(days, 1):
        with services.db.write() as session:
            reports.append(compute_day(session, day, services.calendar, services.clock.now()))
        if progress:
            progress(i, len(days))
    return reports


def catch_up(services) -> list[DayReport]:
    """Compute every finished day since the last nightly run (at most ``MAX_CATCH_UP_DAYS``), once.

    Cheap when nothing is due: the last computed day is remembered in memory after the first read.
    """
    target = last_finished_day(services.clock.now())
    known = getattr(services, "_sla_stats_last_day", None)
    if known is not None and known >= target:
        return []
    with services.db.read() as session:
        row = session.get(Setting, LAST_DAY_KEY)
        last = date.fromisoformat(row.value) if row is not None and row.value else None
    if last is not None and last >= target:
        services._sla_stats_last_day = last
        return []
    first = target if last is None else max(last + timedelta(days=1), target - timedelta(days=MAX_CATCH_UP_DAYS - 1))
    days = [first + timedelta(days=i) for i in range((target - first).days + 1)]
    reports: list[DayReport] = []
    try:
        with services.db.write() as session:
            if not _claim(session, last, target):
                return []  # another process is computing (or computed) these days
            now = services.clock.now()
            reports = [compute_day(session, day, services.calendar, now) for day in days]
    except IntegrityError:
        return []  # another process inserted the setting row first; it computes the days
    except Exception:  # noqa: BLE001 - statistics must never stop the timers; retried next sweep
        log.exception("sla statistics failed for %s to %s", first, target)
        return []
    services._sla_stats_last_day = target
    for report in reports:
        log.info("sla statistics computed", extra={"day": report.day.isoformat(), "rows": report.rows})
    return reports


def _claim(session: Session, last: date | None, target: date) -> bool:
    """Compare-and-set the last computed day from ``last`` to ``target``: True for exactly one process."""
    if last is None:
        if session.get(Setting, LAST_DAY_KEY) is not None:
            return False
        session.add(Setting(key=LAST_DAY_KEY, value=target.isoformat()))
        session.flush()
        return True
    result = session.execute(update(Setting).where(Setting.key == LAST_DAY_KEY,
                                                   Setting.value == last.isoformat())
                             .values(value=target.isoformat()))
    return result.rowcount == 1


# =============================================================================== reading

def read(session: Session, *, region: str, first: date, last: date, scope: str = "") -> list[SlaDailyStat]:
    """Rows of the days [first, last] inside ``region`` and the reader's ``scope`` (both prefixes)."""
    s = SlaDailyStat
    q = (select(s).where(s.day >= first, s.day <= last, within_region(s.region_code, region),
                         within_region(s.region_code, scope))
         .order_by(s.day, s.region_code, s.process_key, s.step))
    return list(session.execute(q).scalars())
