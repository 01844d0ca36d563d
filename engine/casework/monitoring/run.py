"""The monthly run: compare, record every result in bulk, open review cases for the flagged."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Sequence

from sqlalchemy import bindparam, exists, func, insert, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from engine.actors import SYSTEM, Actor
from engine.casework.models import AssessmentRow, HouseholdRow
from engine.errors import Conflict, NotFound
from engine.workflow import audit
from engine.workflow.models import ProcessInstance
from engine.casework import bulk
from engine.casework.monitoring.roll import refresh_member_index
from engine.casework.monitoring.models import (ACTION_RANK, REVIEW_PROCESS, FeedRow, RecipientMemberRow, RecipientRow,
                                               ReviewResultRow, ReviewRunRow)
from engine.casework.monitoring.rules import (Progress, ReviewResult, ReviewRun, Rule, check_month,
                                              rules_from_config)

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

log = logging.getLogger("jishijiu.review")


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
                hits[hh] = (codes, rule.action if ACTION_RANK[rule.action] > ACTION_RANK[action] else action)
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
            bulk.bulk_insert(session, res, mine, columns=cols)
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
            engine.newest(session, REVIEW_PROCESS)
            deployed = True
        except NotFound:
            deployed = False
    if not deployed:
        with services.db.write() as session:
            for chunk in bulk.chunks(todo, 5000):
                session.connection().execute(_SET_NOTE, [{"run": run_id, "hh": hh, "case_id": None, "note": "not_deployed"}
                                                         for hh in chunk])
        if progress:
            progress("open", len(todo), len(todo))
        return 0
    chunks = [[(hh, hits[hh][0]) for hh in chunk] for chunk in bulk.chunks(todo, per_transaction)]
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

