"""The roll (who is on benefit), its member index, and the departments' monthly feeds."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from engine.actors import SYSTEM
from engine.casework import idnumber
from engine.casework.models import HouseholdRow
from engine.errors import ValidationError
from engine.workflow import audit
from engine.casework.bulk import bulk_insert, chunks
from engine.casework.monitoring.models import (FEEDS, RECIPIENT_STATUSES, FeedRow, RecipientMemberRow,
                                               RecipientRow)
from engine.casework.monitoring.rules import ImportReport, Progress, check_month, id_hash

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
            for chunk in chunks(ids, 900):
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

