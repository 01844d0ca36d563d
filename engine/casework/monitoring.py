"""The monthly review run (在保必核): compare every household on benefit with the month's data feeds.

Jining's closed loop is *automatic comparison every month → warning → investigation → stop*
(DOMAIN §3.1 "Ongoing management").  This module is the comparison and the hand-over to the
``review`` process:

1. **The roll.**  ``recipient`` lists who is on benefit (household, programme, region, amount, since,
   status).  Until payments build entitlements this table *is* the roll.
2. **The feeds.**  ``data_feed_row`` holds what the 14 departments sent for a month, one row per
   person and event, keyed by ``id_hash`` = sha256 of the normalised ID number — feeds never hold ID
   numbers.  A row may already name its household (``household_id``); otherwise it is matched
   through ``recipient_member`` (id_hash → household), an index kept from the households' member
   lists and refreshed incrementally (only households whose row version changed are re-read).
3. **The run** (:func:`run_monthly_review`) is set-based: one grouped SQL query per rule finds the
   households hit by that rule (index range on ``(month, feed, id_hash)``, join on the member index
   and the roll); only those hits — about 2% of the roll — come back to Python.  The result of every
   comparison is written with one ``INSERT … SELECT`` per batch of household ids (the hits first, with
   their flags; everyone else as ``none`` through an anti-join), never one ORM object per household.
4. **Investigations.**  For each household whose action is ``investigate`` the run starts the
   ``review`` process (``business_key = review:<month>:<household>``) in batches of cases per
   transaction, each case in its own savepoint.  A household that already has a case for the month,
   or a review case still open from an earlier month, gets no second one, so re-running a month
   opens nothing twice.  Without a deployed ``review`` process the result still says ``investigate``
   (note ``not_deployed``) and no case is opened.

Rules are data (:class:`Rule`, configurable through ``REVIEW_RULES`` in the config); the defaults
follow the brief: a death → investigate; a new vehicle (not an exempt kind) or new property above
the limit → investigate; social-insurance contributions as an employee → warn and investigate (a
possible taper); a business registration → investigate; hospital bills above a threshold → warn
only (possible expenditure-type help, not a stop).  Limits marked [A] are assumptions to configure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import (Date, ForeignKey, bindparam, Index, Integer, PrimaryKeyConstraint, String, Text,
                        UniqueConstraint, and_, delete, exists, func, insert, literal, or_, select,
                        text, union_all, update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.actors import SYSTEM, Actor
from engine.casework import idnumber
from engine.casework.models import AssessmentRow, HouseholdRow
from engine.db import Base
from engine.errors import Conflict, EngineError, NotFound, ValidationError
from engine.types_sql import JSONText, Money, UTCDateTime
from engine.workflow import audit
from engine.workflow.models import BigId, ProcessInstance

log = logging.getLogger("jishijiu.review")

#: The 14 departments of the province/city checking platform (DOMAIN §1, §2.4) [A: names are ours].
FEEDS = (
    "social_insurance",       # 人社: contributions (kind employee | resident), pensions
    "property",               # 不动产登记: new real-estate registrations (amount = value)
    "vehicles",               # 公安交管: new vehicle registrations (kind, amount = value)
    "business_registration",  # 市场监管: new business registrations
    "deaths",                 # 公安/卫健: deaths
    "hospital_bills",         # 医保: hospital bills (amount = out-of-pocket)
    "tax",                    # 税务: income tax paid
    "housing_fund",           # 住房公积金: contributions
    "hukou",                  # 户籍: moves, marriages, births
    "civil_service",          # 组织/人社: public employment
    "bank_deposits",          # 人民银行/银保监: deposits above a reporting line
    "securities",             # 证监: securities accounts
    "insurance",              # 银保监: commercial insurance
    "incarceration",          # 司法: imprisonment
)
ACTIONS = ("none", "warn", "investigate")
_RANK = {a: i for i, a in enumerate(ACTIONS)}
RECIPIENT_STATUSES = ("active", "suspended", "stopped")
REVIEW_PROCESS = "review"
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# =============================================================================== tables

class RecipientRow(Base):
    """Who is on benefit: one row per household and programme (the roll)."""

    __tablename__ = "recipient"
    __table_args__ = (
        UniqueConstraint("household_id", "programme"),
        Index("ix_recipient_status_household", "status", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    programme: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    monthly_amount: Mapped[Decimal] = mapped_column(Money)
    since: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|suspended|stopped
    # household.version the member index was built from (NULL: not indexed yet)
    indexed_version: Mapped[int | None] = mapped_column(Integer)


class RecipientMemberRow(Base):
    """The member index: sha256 of each member's ID number → household (feeds match on it)."""

    __tablename__ = "recipient_member"
    __table_args__ = (PrimaryKeyConstraint("id_hash", "household_id"),)

    id_hash: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int] = mapped_column(BigId, index=True)


class FeedRow(Base):
    """One person-event of one department's monthly feed; never an ID number, only its hash."""

    __tablename__ = "data_feed_row"
    __table_args__ = (Index("ix_data_feed_row_month_feed_hash", "month", "feed", "id_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feed: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))       # YYYY-MM
    id_hash: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int | None] = mapped_column(BigId)
    kind: Mapped[str | None] = mapped_column(String(32))     # e.g. employee | resident, car | motorcycle
    amount: Mapped[Decimal | None] = mapped_column(Money)    # value, bill, contribution base … (yuan)
    payload: Mapped[dict | None] = mapped_column(JSONText)   # anything else, small
    source: Mapped[str | None] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewRunRow(Base):
    """One monthly run: when, under which rules, how many compared, flagged and opened."""

    __tablename__ = "review_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))     # running|completed|failed
    compared: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    rules: Mapped[list | None] = mapped_column(JSONText)
    error: Mapped[str | None] = mapped_column(Text)


class ReviewResultRow(Base):
    """The result of comparing one household in one run (written in bulk, never one by one)."""

    __tablename__ = "review_result"
    __table_args__ = (
        UniqueConstraint("run_id", "household_id"),
        Index("ix_review_result_flagged", "run_id", "action",
              sqlite_where=text("action <> 'none'"), postgresql_where=text("action <> 'none'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId)
    household_id: Mapped[int] = mapped_column(BigId)
    flags: Mapped[list] = mapped_column(JSONText)
    action: Mapped[str] = mapped_column(String(16))     # none|warn|investigate
    case_id: Mapped[int | None] = mapped_column(BigId)
    note: Mapped[str | None] = mapped_column(String(255))


# =============================================================================== rules

@dataclass(frozen=True)
class Rule:
    """A household is hit when its rows of ``feed`` this month (after the kind filters) exist and,
    with ``above`` set, their total ``amount`` exceeds it."""

    code: str
    feed: str
    action: str = "investigate"
    kinds: tuple[str, ...] | None = None      # only rows of these kinds
    exclude_kinds: tuple[str, ...] = ()       # rows of these kinds never count
    above: Decimal | None = None              # household total of ``amount`` must exceed this

    def __post_init__(self) -> None:
        if self.feed not in FEEDS:
            raise ValidationError(f"rule {self.code}: unknown feed '{self.feed}'", {"feed": ["unknown feed"]})
        if self.action not in ("warn", "investigate"):
            raise ValidationError(f"rule {self.code}: action must be warn or investigate",
                                  {"action": ["warn or investigate"]})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Rule":
        above = data.get("above")
        kinds = data.get("kinds")
        return cls(code=str(data["code"]), feed=str(data["feed"]), action=str(data.get("action", "investigate")),
                   kinds=tuple(kinds) if kinds is not None else None,
                   exclude_kinds=tuple(data.get("exclude_kinds") or ()),
                   above=Decimal(str(above)) if above is not None else None)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["above"] = None if self.above is None else str(self.above)
        out["kinds"] = list(self.kinds) if self.kinds is not None else None
        out["exclude_kinds"] = list(self.exclude_kinds)
        return out


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("death", "deaths", "investigate"),
    # vehicles essential for production or daily living may be exempt (DOMAIN §2.3) [A: which kinds]
    Rule("vehicle_registered", "vehicles", "investigate",
         exclude_kinds=("motorcycle", "electric_tricycle", "farm_machinery")),
    Rule("property_registered", "property", "investigate", above=Decimal("0")),   # [A] limit: any value
    # contributions as an employee mean employment: warn, then investigate (possible taper)
    Rule("employment", "social_insurance", "investigate", kinds=("employee",)),
    Rule("business_registered", "business_registration", "investigate"),
    # possible expenditure-type help (支出型), not a stop [A: 10 000 yuan in the month]
    Rule("hospital_bills", "hospital_bills", "warn", above=Decimal("10000")),
)


def rules_from_config(config: Mapping[str, Any] | None) -> tuple[Rule, ...]:
    """``REVIEW_RULES``: a list of rule mappings replacing the defaults (or None)."""
    raw = (config or {}).get("REVIEW_RULES")
    if not raw:
        return DEFAULT_RULES
    return tuple(r if isinstance(r, Rule) else Rule.from_dict(r) for r in raw)


# =============================================================================== plain data

@dataclass(frozen=True)
class ReviewRun:
    id: int
    month: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    compared: int
    flagged: int
    opened: int
    error: str | None = None
    timings: dict = field(default_factory=dict, compare=False)   # seconds per phase (this process)

    @classmethod
    def of(cls, row: ReviewRunRow, timings: dict | None = None) -> "ReviewRun":
        return cls(row.id, row.month, row.status, row.started_at, row.finished_at, row.compared,
                   row.flagged, row.opened, row.error, dict(timings or {}))


@dataclass(frozen=True)
class ReviewResult:
    household_id: int
    flags: tuple[str, ...]
    action: str
    case_id: int | None
    note: str | None


@dataclass(frozen=True)
class ImportReport:
    feed: str
    month: str
    imported: int
    matched: int
    rejected: int
    replaced: int


Progress = Callable[[str, int, int], None]   # (phase, done, total)


# =============================================================================== helpers

def id_hash(id_number: str) -> str:
    """sha256 (hex) of the normalised ID number: what feeds and the member index hold."""
    return hashlib.sha256(idnumber.normalize(id_number).encode("ascii")).hexdigest()


def check_month(month: str) -> str:
    if not isinstance(month, str) or not MONTH_RE.match(month):
        raise ValidationError("month must be YYYY-MM", {"month": ["must be YYYY-MM"]})
    return month


def bulk_insert(session: Session, table, rows: Sequence[Mapping[str, Any]] | Iterable[tuple],
                columns: Sequence[str] | None = None) -> int:
    """Insert many rows in one go: COPY on PostgreSQL, executemany elsewhere.

    ``rows`` are mappings, or tuples in the order of ``columns``.  Values must already be plain
    (str, int, Decimal, date, aware datetime; JSON columns as text); nothing is flushed through the ORM.
    """
    table = getattr(table, "__table__", table)
    rows = list(rows)
    if not rows:
        return 0
    if columns is None:
        columns = list(rows[0].keys())
        tuples = [tuple(r[c] for c in columns) for r in rows]
    else:
        tuples = [tuple(r) for r in rows]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        cols = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                for t in tuples:
                    copy.write_row(t)
        return len(tuples)
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" for _ in columns)})',
        [tuple(_sqlite_value(v) for v in t) for t in tuples])
    return len(tuples)


def _sqlite_value(v):
    """What SQLAlchemy would store on SQLite: Decimal as text, aware datetimes as naive UTC."""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime):
        if v.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(v, date):
        return v.isoformat()
    return v


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# =============================================================================== the roll

def enrol(session: Session, *, household_id: int, programme: str, region_code: str,
          monthly_amount: Decimal | str, since: date, status: str = "active") -> int:
    """Put a household on the roll for a programme (or update its row); the recipient id."""
    if status not in RECIPIENT_STATUSES:
        raise ValidationError("unknown recipient status", {"status": [f"one of {', '.join(RECIPIENT_STATUSES)}"]})
    row = session.execute(select(RecipientRow).where(RecipientRow.household_id == household_id,
                                                     RecipientRow.programme == programme)).scalar()
    if row is None:
        row = RecipientRow(household_id=household_id, programme=programme, region_code=region_code,
                           monthly_amount=Decimal(str(monthly_amount)), since=since, status=status)
        session.add(row)
    else:
        row.region_code, row.monthly_amount, row.since, row.status = (
            region_code, Decimal(str(monthly_amount)), since, status)
    session.flush()
    return row.id


def set_recipient_status(session: Session, household_id: int, programme: str, status: str) -> None:
    if status not in RECIPIENT_STATUSES:
        raise ValidationError("unknown recipient status", {"status": [f"one of {', '.join(RECIPIENT_STATUSES)}"]})
    session.execute(update(RecipientRow).where(RecipientRow.household_id == household_id,
                                               RecipientRow.programme == programme).values(status=status))


def refresh_member_index(services, *, page: int = 5000, progress: Progress | None = None) -> int:
    """Re-read the member lists of households on the roll whose row changed since they were indexed.

    Keyset pages over ``household.id``; one short write transaction per page.  The first call
    indexes everyone (JSON parsing and hashing in Python, bulk writes); later calls touch only the
    households whose ``version`` moved.  Returns how many households were (re)indexed.
    """
    h, r = HouseholdRow.__table__, RecipientRow.__table__
    stale = exists().where(r.c.household_id == h.c.id, r.c.status != "stopped",
                           or_(r.c.indexed_version.is_(None), r.c.indexed_version != h.c.version))
    with services.db.read() as session:
        total = session.execute(select(func.count()).select_from(h).where(stale)).scalar() or 0
    done = 0
    last = 0
    if progress:
        progress("index", 0, total)
    while True:
        with services.db.read() as session:
            rows = session.execute(select(h.c.id, h.c.version, h.c.data).where(stale, h.c.id > last)
                                   .order_by(h.c.id).limit(page)).all()
        if not rows:
            break
        last = rows[-1][0]
        members: list[tuple[str, int]] = []
        versions: list[dict] = []
        for hid, version, data in rows:
            doc = json.loads(data) if isinstance(data, str) else data
            hashes = {id_hash(m["id_number"]) for m in (doc or {}).get("members", ())
                      if isinstance(m.get("id_number"), str) and m["id_number"].strip()}
            members.extend((x, hid) for x in hashes)
            versions.append({"hid": hid, "v": version})
        ids = [hid for hid, _, _ in rows]
        with services.db.write() as session:
            for chunk in _chunks(ids, 900):
                session.execute(delete(RecipientMemberRow).where(RecipientMemberRow.household_id.in_(chunk)))
            bulk_insert(session, RecipientMemberRow, members, columns=("id_hash", "household_id"))
            session.connection().execute(
                update(r).where(r.c.household_id == bindparam("hid")).values(indexed_version=bindparam("v")),
                versions)
        done += len(rows)
        if progress:
            progress("index", done, max(total, done))
    return done


# =============================================================================== feeds

def import_feed(services, feed: str, month: str, rows: Iterable[Mapping[str, Any]], *,
                source: str | None = None, replace: bool = True, page: int = 20000) -> ImportReport:
    """Store one department's feed for a month.  Each row has ``id_number`` (hashed here and then
    dropped) or ``id_hash``, optionally ``household_id``, ``kind``, ``amount``; other keys go to the
    payload.  By default the month's earlier rows of the feed are replaced (a re-sent file)."""
    if feed not in FEEDS:
        raise ValidationError(f"unknown feed '{feed}'", {"feed": [f"one of {', '.join(FEEDS)}"]})
    check_month(month)
    now = services.clock.now()
    refresh_member_index(services)   # so that the match count below is right (incremental, cheap)
    imported = rejected = replaced = 0
    batch: list[tuple] = []
    cols = ("feed", "month", "id_hash", "household_id", "kind", "amount", "payload", "source", "imported_at")
    with services.db.write() as session:
        if replace:
            replaced = session.execute(delete(FeedRow).where(FeedRow.feed == feed, FeedRow.month == month)).rowcount
        for raw in rows:
            row = dict(raw)
            number = row.pop("id_number", None)
            hashed = row.pop("id_hash", None)
            if number:
                if not idnumber.is_valid(str(number)):
                    rejected += 1
                    continue
                hashed = id_hash(str(number))
            if not hashed or not re.fullmatch(r"[0-9a-f]{64}", str(hashed)):
                rejected += 1
                continue
            household = row.pop("household_id", None)
            kind = row.pop("kind", None) or None
            amount = row.pop("amount", None)
            try:
                amount = Decimal(str(amount)).quantize(Decimal("0.01")) if amount not in (None, "") else None
                household = int(household) if household not in (None, "") else None
            except (ArithmeticError, ValueError):
                rejected += 1
                continue
            payload = {k: v for k, v in row.items() if v not in (None, "")} or None
            batch.append((feed, month, hashed, household, kind, amount,
                          json.dumps(payload, ensure_ascii=False) if payload else None, source, now))
            if len(batch) >= page:
                imported += bulk_insert(session, FeedRow, batch, columns=cols)
                batch = []
        imported += bulk_insert(session, FeedRow, batch, columns=cols)
        matched = session.execute(
            select(func.count()).select_from(FeedRow).where(
                FeedRow.feed == feed, FeedRow.month == month,
                or_(FeedRow.household_id.isnot(None),
                    exists().where(RecipientMemberRow.id_hash == FeedRow.id_hash)))).scalar() or 0
        audit.append(session, chain=f"feed:{feed}", actor=SYSTEM.username, action="feed.imported",
                     object_type="feed", object_id=f"{feed}:{month}", at=now,
                     after={"month": month, "rows": imported, "rejected": rejected, "replaced": replaced,
                            "source": source})
    return ImportReport(feed, month, imported, matched, rejected, replaced)


# =============================================================================== the run

def _hit_query(rule: Rule, month: str):
    f, m, r = FeedRow.__table__, RecipientMemberRow.__table__, RecipientRow.__table__
    kind_filter = []
    if rule.kinds is not None:
        kind_filter.append(f.c.kind.in_(rule.kinds))
    if rule.exclude_kinds:
        kind_filter.append(or_(f.c.kind.is_(None), f.c.kind.not_in(rule.exclude_kinds)))
    base = [f.c.month == month, f.c.feed == rule.feed, *kind_filter]
    direct = select(f.c.household_id.label("hh"), f.c.amount.label("amount")).where(
        *base, f.c.household_id.isnot(None))
    hashed = select(m.c.household_id.label("hh"), f.c.amount.label("amount")).select_from(
        f.join(m, m.c.id_hash == f.c.id_hash)).where(*base, f.c.household_id.is_(None))
    u = union_all(direct, hashed).subquery("matched")
    query = (select(u.c.hh).where(u.c.hh.in_(select(r.c.household_id).where(r.c.status == "active")))
             .group_by(u.c.hh))
    if rule.above is not None:
        query = query.having(func.coalesce(func.sum(u.c.amount), 0) > rule.above)
    return query


def compare(services, month: str, rules: Sequence[Rule] | None = None) -> dict[int, tuple[list[str], str]]:
    """The households the month's feeds hit: household → (flag codes in rule order, action)."""
    rules = tuple(rules or rules_from_config(services.config))
    hits: dict[int, tuple[list[str], str]] = {}
    with services.db.read() as session:
        for rule in rules:
            for (hh,) in session.execute(_hit_query(rule, month)):
                codes, action = hits.get(hh, ([], "none"))
                if rule.code not in codes:
                    codes.append(rule.code)
                hits[hh] = (codes, rule.action if _RANK[rule.action] > _RANK[action] else action)
    return hits


def run_monthly_review(services, month: str, *, progress: Progress | None = None, batch: int = 50_000,
                       rules: Sequence[Rule] | None = None, actor: Actor = SYSTEM, open_cases: bool = True,
                       cases_per_transaction: int = 50, refresh_index: bool = True,
                       workers: int | None = None) -> ReviewRun:
    """Compare every active household on the roll with ``month``'s feeds; record one result per
    household; open a ``review`` case for each household to investigate (once per month).

    ``workers``: processes opening cases in parallel (default ``REVIEW_WORKERS``, else 2 on
    PostgreSQL — concurrent writers share commits there — and 1 on SQLite, whose writers queue).
    """
    from engine.workflow.scheduler import LeaderLease

    check_month(month)
    rules = tuple(rules or rules_from_config(services.config))
    lease = LeaderLease(services.db, services.clock, name=f"review:{month}", ttl=timedelta(minutes=15))
    if not lease.acquire():
        raise Conflict(f"a review of {month} is already running")
    timings: dict[str, float] = {}
    started = services.clock.now()
    with services.db.write() as session:
        run = ReviewRunRow(month=month, started_at=started, started_by=actor.username, status="running",
                           compared=0, flagged=0, opened=0, rules=[r.to_dict() for r in rules])
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        t = time.perf_counter()
        if refresh_index:
            refresh_member_index(services, progress=progress)
        timings["index"] = time.perf_counter() - t

        t = time.perf_counter()
        if progress:
            progress("compare", 0, len(rules))
        hits = compare(services, month, rules)
        if progress:
            progress("compare", len(rules), len(rules))
        timings["compare"] = time.perf_counter() - t

        t = time.perf_counter()
        compared = _record_results(services, run_id, hits, batch=batch, progress=progress, lease=lease)
        timings["record"] = time.perf_counter() - t

        t = time.perf_counter()
        opened = 0
        if open_cases:
            if workers is None:
                workers = int(services.config.get("REVIEW_WORKERS") or (2 if services.db.dialect == "postgresql" else 1))
            opened = _open_investigations(services, run_id, month, hits, actor=actor, progress=progress,
                                          per_transaction=cases_per_transaction, lease=lease, workers=workers)
        timings["open"] = time.perf_counter() - t
        flagged = sum(1 for _, action in hits.values() if action != "none")
        with services.db.write() as session:
            row = session.get(ReviewRunRow, run_id)
            row.status, row.finished_at = "completed", services.clock.now()
            row.compared, row.flagged, row.opened = compared, flagged, opened
            audit.append(session, chain=f"review:{month}", actor=actor.username, action="review.completed",
                         object_type="review_run", object_id=run_id, at=row.finished_at,
                         after={"compared": compared, "flagged": flagged, "opened": opened,
                                "by_action": _count_actions(hits), "rules": [r.code for r in rules]})
            return ReviewRun.of(row, timings)
    except BaseException as exc:
        with services.db.write() as session:
            row = session.get(ReviewRunRow, run_id)
            row.status, row.finished_at, row.error = "failed", services.clock.now(), str(exc)[:2000]
        raise
    finally:
        try:
            lease.release()
        except Exception:  # noqa: BLE001 - the lease expires anyway
            pass


def _count_actions(hits) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, action in hits.values():
        out[action] = out.get(action, 0) + 1
    return out


def _record_results(services, run_id: int, hits, *, batch: int, progress, lease) -> int:
    """The hits with their flags (bulk), then everyone else as ``none`` (INSERT … SELECT + anti-join),
    in batches of household ids, one transaction each."""
    res, r = ReviewResultRow.__table__, RecipientRow.__table__
    with services.db.read() as session:
        lo, hi, total = session.execute(
            select(func.min(r.c.household_id), func.max(r.c.household_id),
                   func.count(func.distinct(r.c.household_id))).where(r.c.status == "active")).one()
    total = int(total or 0)
    if progress:
        progress("record", 0, total)
    if not total:
        return 0
    flagged = sorted(hits.items())
    done = 0
    cols = ("run_id", "household_id", "flags", "action")
    start = lo
    while start <= hi:
        end = start + batch
        with services.db.write() as session:
            mine = [(run_id, hh, json.dumps(codes), action) for hh, (codes, action) in flagged
                    if start <= hh < end]
            bulk_insert(session, res, mine, columns=cols)
            absent = ~exists().where(res.c.run_id == run_id, res.c.household_id == r.c.household_id)
            rest = (select(literal(run_id), r.c.household_id, literal("[]"), literal("none"))
                    .where(r.c.status == "active", r.c.household_id >= start, r.c.household_id < end, absent)
                    .distinct())
            added = session.execute(insert(res).from_select(list(cols), rest)
                                    .execution_options(preserve_rowcount=True)).rowcount
            done += len(mine) + (added if added and added > 0 else 0)
        lease.acquire()
        if progress:
            progress("record", min(done, total), total)
        start = end
    return done


def _open_investigations(services, run_id: int, month: str, hits, *, actor: Actor, progress,
                         per_transaction: int, lease, workers: int) -> int:
    engine = services.engine
    todo = sorted(hh for hh, (_, action) in hits.items() if action == "investigate")
    if progress:
        progress("open", 0, len(todo))
    if not todo:
        return 0
    with services.db.read() as session:
        try:
            engine.definitions.latest(session, REVIEW_PROCESS)
            deployed = True
        except NotFound:
            deployed = False
    if not deployed:
        with services.db.write() as session:
            for chunk in _chunks(todo, 5000):
                session.connection().execute(_SET_NOTE, [{"run": run_id, "hh": hh, "case_id": None, "note": "not_deployed"}
                                                         for hh in chunk])
        if progress:
            progress("open", len(todo), len(todo))
        return 0
    chunks = [[(hh, hits[hh][0]) for hh in chunk] for chunk in _chunks(todo, per_transaction)]
    opened = done = 0
    pool = _worker_pool(services, workers) if workers > 1 and len(chunks) >= 2 * workers else None
    if pool is None:
        for chunk in chunks:
            opened += _open_chunk(services, run_id, month, chunk, actor)
            done += len(chunk)
            lease.acquire()
            if progress:
                progress("open", done, len(todo))
        return opened
    from concurrent.futures import as_completed

    with pool:
        futures = {pool.submit(_open_chunk_in_worker, run_id, month, chunk, actor): len(chunk) for chunk in chunks}
        for future in as_completed(futures):
            opened += future.result()
            done += futures[future]
            lease.acquire()
            if progress:
                progress("open", done, len(todo))
    return opened


_SET_NOTE = (update(ReviewResultRow.__table__)
             .where(ReviewResultRow.__table__.c.run_id == bindparam("run"),
                    ReviewResultRow.__table__.c.household_id == bindparam("hh"))
             .values(case_id=bindparam("case_id"), note=bindparam("note")))


def _open_chunk(services, run_id: int, month: str, chunk: list[tuple[int, list[str]]], actor: Actor) -> int:
    """Open the review cases of a few households in one transaction, each in its own savepoint; link
    each result to its case.  A household with a case for this month already, or with a review case
    still open, gets none."""
    engine = services.engine
    opened = 0
    notes: list[dict] = []
    households = [hh for hh, _ in chunk]
    with services.db.write() as session:
        keys = {hh: f"review:{month}:{hh}" for hh in households}
        same_month = dict(session.execute(
            select(ProcessInstance.business_key, ProcessInstance.id)
            .where(ProcessInstance.business_key.in_(list(keys.values())))).all())
        still_open = dict(session.execute(
            select(ProcessInstance.household_id, func.max(ProcessInstance.id))
            .where(ProcessInstance.process_key == REVIEW_PROCESS, ProcessInstance.status == "active",
                   ProcessInstance.household_id.in_(households))
            .group_by(ProcessInstance.household_id)).all())
        starts = _start_data(session, [hh for hh in households
                                       if keys[hh] not in same_month and hh not in still_open])
        for hh, flags in chunk:
            if keys[hh] in same_month:
                notes.append({"run": run_id, "hh": hh, "case_id": same_month[keys[hh]], "note": "already_opened"})
                continue
            if hh in still_open:
                notes.append({"run": run_id, "hh": hh, "case_id": still_open[hh], "note": "open_case"})
                continue
            region, data = starts[hh]
            data = {**data, "flags": list(flags), "review_month": month, "review_run_id": run_id}
            try:
                with session.begin_nested():
                    view = engine.start(REVIEW_PROCESS, actor=actor, region_code=region, data=data,
                                        household_id=hh, business_key=keys[hh], session=session)
                notes.append({"run": run_id, "hh": hh, "case_id": view.id, "note": "opened"})
                opened += 1
            except Exception as exc:  # noqa: BLE001 - one household's failure must not stop the run
                log.warning("review case for household %s not opened: %s", hh, exc)
                notes.append({"run": run_id, "hh": hh, "case_id": None, "note": f"failed: {exc}"[:255]})
        session.connection().execute(_SET_NOTE, notes)
    return opened


# --- worker processes (PostgreSQL): cases open in parallel, each worker with its own engine ------

_WORKER: dict = {}


def _worker_pool(services, workers: int):
    """A pool of ``workers`` processes, each building its own services from the same config, or
    None when the config cannot travel to another process."""
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    config = {k: v for k, v in services.config.items() if k != "CLOCK"}
    clock = services.config.get("CLOCK")
    try:
        pickle.dumps((config, clock))
    except Exception:  # noqa: BLE001
        return None
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(config, clock))


def _worker_init(config: dict, clock) -> None:
    from engine import bootstrap

    if clock is not None:
        config = {**config, "CLOCK": clock}
    _WORKER["services"] = bootstrap.build(config)


def _open_chunk_in_worker(run_id: int, month: str, chunk, actor: Actor) -> int:
    return _open_chunk(_WORKER["services"], run_id, month, chunk, actor)


def _start_data(session: Session, households: list[int]) -> dict[int, tuple[str, dict]]:
    """Region and start data of the ``review`` process for each household: its main programme on the
    roll and the assessment in force (the latest recorded one, else one made from the roll)."""
    if not households:
        return {}
    r = RecipientRow
    roll: dict[int, RecipientRow] = {}
    for row in session.execute(select(r).where(r.household_id.in_(households), r.status == "active")
                               .order_by(r.household_id, r.id)).scalars():
        current = roll.get(row.household_id)
        if current is None or (current.programme != "dibao" and row.programme == "dibao"):
            roll[row.household_id] = row
    latest: dict[tuple[int, str], dict] = {}
    for a in session.execute(select(AssessmentRow).where(AssessmentRow.household_id.in_(households))
                             .order_by(AssessmentRow.household_id, AssessmentRow.as_of, AssessmentRow.id)).scalars():
        if isinstance(a.result, dict) and a.result.get("eligible"):
            latest[(a.household_id, a.programme)] = a.result
    sizes = {hid: len((json.loads(d) if isinstance(d, str) else d or {}).get("members", ()))
             for hid, d in session.execute(select(HouseholdRow.id, HouseholdRow.data)
                                           .where(HouseholdRow.id.in_(households)))}
    out = {}
    for hh in households:
        row = roll[hh]
        in_force = latest.get((hh, row.programme)) or {
            "programme": row.programme, "eligible": True, "monthly_amount": f"{row.monthly_amount:.2f}",
            "one_off_amount": "0.00", "covered_members": list(range(sizes.get(hh, 1) or 1)),
            "marginal": None, "reasons": [], "rule_version": "recipient-roll"}
        in_force = {**in_force, "monthly_amount": f"{row.monthly_amount:.2f}"}
        out[hh] = (row.region_code, {"programme": row.programme, "in_force": in_force,
                                     "previous_household": None, "taper_ends": None})
    return out


# =============================================================================== reading

def runs(services, month: str | None = None) -> list[ReviewRun]:
    with services.db.read() as session:
        q = select(ReviewRunRow).order_by(ReviewRunRow.id)
        if month:
            q = q.where(ReviewRunRow.month == check_month(month))
        return [ReviewRun.of(row) for row in session.execute(q).scalars()]


def results(services, run_id: int, *, flagged_only: bool = True, limit: int | None = None) -> list[ReviewResult]:
    with services.db.read() as session:
        q = select(ReviewResultRow).where(ReviewResultRow.run_id == run_id).order_by(ReviewResultRow.household_id)
        if flagged_only:
            q = q.where(ReviewResultRow.action != "none")
        if limit:
            q = q.limit(limit)
        return [ReviewResult(r.household_id, tuple(r.flags or ()), r.action, r.case_id, r.note)
                for r in session.execute(q).scalars()]
