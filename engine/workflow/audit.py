"""Append-only, hash-chained audit trail (环环有痕迹、步步能倒查).

One chain per case (``case:<id>``) or per object (``definition:<key>``, ``user:<name>``), so writers
of different cases never wait on one row.  Each event's hash is sha256 over the previous hash and the
event's canonical JSON (sorted keys, no spaces, UTF-8).  A periodic anchor records every chain's head,
hash-chained itself, so deleting the newest events of a chain is detectable too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import bindparam, event as sa_event, func, select
from sqlalchemy.orm import Session

from engine.types_sql import dumps
from engine.workflow.models import AuditAnchor, AuditEvent

GENESIS = "0" * 64


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(json.loads(dumps(payload)), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(payload)).hexdigest()


def _payload(e: AuditEvent) -> dict[str, Any]:
    return {"chain": e.chain, "seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
            "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
            "before": e.before, "after": e.after}


def case_chain(instance_id: int) -> str:
    return f"case:{instance_id}"


_HEADS = "jsj_audit_heads"
_HEAD = (select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.chain == bindparam("chain"))
         .order_by(AuditEvent.seq.desc()).limit(1))  # built once: this runs in every step


def append(session: Session, *, chain: str, actor: str, action: str, object_type: str,
           object_id: str | int, at: datetime, before: Any = None, after: Any = None) -> AuditEvent:
    """Add one event at the head of ``chain`` inside the caller's transaction.

    The event is a pending ORM object: it is inserted with the transaction's next flush, together
    with every other pending event (one batched INSERT instead of one per event).  The chain's head
    is read once per transaction and then followed in ``session.info``; a savepoint rolled back, or
    the transaction ending, forgets it (the events added inside the savepoint go with it).
    """
    at = at.astimezone(timezone.utc)  # the column gives UTC back; hash what verify will read
    heads = session.info.setdefault(_HEADS, {})
    head = heads.get(chain)
    if head is None:
        head = session.execute(_HEAD, {"chain": chain}).first() or (0, GENESIS)
    seq, prev = head[0] + 1, head[1]
    event = AuditEvent(chain=chain, seq=seq, at=at, actor=actor, action=action,
                       object_type=object_type, object_id=str(object_id),
                       before=json.loads(dumps(before)) if before is not None else None,
                       after=json.loads(dumps(after)) if after is not None else None,
                       prev_hash=prev, hash="")
    event.hash = _hash(prev, _payload(event))
    session.add(event)
    heads[chain] = (seq, event.hash)
    return event


def prefetch_heads(session: Session, chains: list[str]) -> None:
    """Read the heads of several chains at once (a batch of cases about to be stepped together).

    Only for chains whose writers are locked out meanwhile (each case's chain is extended only
    behind its instance row lock); a chain without events starts at the genesis hash."""
    heads = session.info.setdefault(_HEADS, {})
    wanted = [c for c in chains if c not in heads]
    if not wanted:
        return
    found = _chain_heads(session, wanted)
    for chain in wanted:
        heads[chain] = found.get(chain, (0, GENESIS))


def _chain_heads(session: Session, chains: list[str] | None = None) -> dict[str, tuple[int, str]]:
    """chain -> (seq, hash) of its newest event, for the given chains or all of them."""
    latest = select(AuditEvent.chain, func.max(AuditEvent.seq).label("seq"))
    if chains is not None:
        latest = latest.where(AuditEvent.chain.in_(chains))
    latest = latest.group_by(AuditEvent.chain).subquery()
    return {chain: (seq, h) for chain, seq, h in session.execute(
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash).join(
            latest, (AuditEvent.chain == latest.c.chain) & (AuditEvent.seq == latest.c.seq)))}


def _forget_heads(session: Session, *_args) -> None:
    session.info.pop(_HEADS, None)


# A rolled-back savepoint drops the events added inside it, so the followed heads are stale.
sa_event.listen(Session, "after_soft_rollback", _forget_heads)
sa_event.listen(Session, "after_commit", _forget_heads)


def anchor(session: Session, at: datetime) -> AuditAnchor:
    """Record every chain's head (seq, hash) in a new, itself chained, anchor row."""
    at = at.astimezone(timezone.utc)
    session.flush()
    heads = {chain: [seq, h] for chain, (seq, h) in _chain_heads(session).items()}
    prev = session.execute(select(AuditAnchor.hash).order_by(AuditAnchor.id.desc()).limit(1)).scalar()
    prev = prev or GENESIS
    row = AuditAnchor(at=at, heads=heads, prev_hash=prev,
                      hash=_hash(prev, {"at": at.isoformat(), "heads": heads}))
    session.add(row)
    session.flush()
    return row


@dataclass
class VerifyReport:
    events: int = 0
    chains: int = 0
    anchors: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, chains: Iterable[str] | None = None) -> VerifyReport:
    """Recompute every hash; report edited, inserted or deleted events and broken anchors."""
    session.flush()  # events appended in this session are still pending
    report = VerifyReport()
    wanted = set(chains) if chains is not None else None
    anchored: dict[tuple[str, int], tuple[str, str]] = {}  # (chain, seq) -> (hash, anchored at)
    prev_anchor = GENESIS
    for row in session.execute(select(AuditAnchor).order_by(AuditAnchor.id)).scalars():
        report.anchors += 1
        if row.prev_hash != prev_anchor or _hash(row.prev_hash, {"at": row.at.isoformat(),
                                                                "heads": row.heads}) != row.hash:
            report.problems.append(f"anchor {row.id}: anchor chain is broken (edited or deleted)")
        prev_anchor = row.hash
        for chain, (seq, h) in row.heads.items():
            if wanted is None or chain in wanted:
                anchored[(chain, seq)] = (h, row.at.isoformat())

    query = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)
    if wanted is not None:
        query = query.where(AuditEvent.chain.in_(sorted(wanted)))
    last_seq: dict[str, int] = {}
    current, expected_seq, prev = None, 1, GENESIS
    for event in session.execute(query).scalars().yield_per(2000):
        report.events += 1
        if event.chain != current:
            current, expected_seq, prev = event.chain, 1, GENESIS
            report.chains += 1
        if event.seq != expected_seq:
            report.problems.append(f"{event.chain}: event #{expected_seq} is missing (next is #{event.seq})")
        if event.prev_hash != prev:
            report.problems.append(f"{event.chain} #{event.seq}: previous hash does not match "
                                   "(an event before it was changed or deleted)")
        if _hash(event.prev_hash, _payload(event)) != event.hash:
            report.problems.append(f"{event.chain} #{event.seq}: content does not match its hash "
                                   f"(the {event.action} event was edited)")
        mark = anchored.pop((event.chain, event.seq), None)
        if mark is not None and mark[0] != event.hash:
            report.problems.append(f"{event.chain} #{event.seq}: differs from the hash anchored at {mark[1]}")
        last_seq[event.chain] = event.seq
        expected_seq, prev = event.seq + 1, event.hash
    for (chain, seq), (_h, at) in sorted(anchored.items()):
        report.problems.append(f"{chain}: events up to #{seq} were anchored at {at} but the chain now "
                               f"ends at #{last_seq.get(chain, 0)} (events were deleted)")
    return report
