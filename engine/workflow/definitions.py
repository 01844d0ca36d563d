"""Deployed process definitions: validate, deploy new versions, and hand out parsed specs (cached)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.errors import DefinitionError, NotFound, Problem
from engine.workflow import audit
from engine.workflow.models import ProcessDefinition
from engine.workflow.spiff.parser import Checks, ParsedDefinition, parse_definition, sha256_of


@dataclass(frozen=True)
class DefinitionInfo:
    id: int
    key: str
    version: int
    name: str | None
    filename: str
    sha256: str
    deployed_at: datetime
    deployed_by: str

    @classmethod
    def of(cls, row: ProcessDefinition) -> "DefinitionInfo":
        return cls(row.id, row.key, row.version, row.name, row.filename, row.sha256,
                   row.deployed_at, row.deployed_by)


@dataclass(frozen=True)
class DeployOutcome:
    definition: DefinitionInfo
    created: bool


def _lock_key(session: Session, key: str) -> None:
    """A transaction-scoped lock per process key (PostgreSQL advisory lock; SQLite writers are serial)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    number = int.from_bytes(hashlib.sha256(f"definition:{key}".encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})


class DefinitionRepository:
    """Definitions in the database plus a process-wide cache of parsed specs (by definition id)."""

    def __init__(self, checks: Checks) -> None:
        self.checks = checks
        self._cache: dict[int, ParsedDefinition] = {}
        self._lock = threading.Lock()

    # --- validation and deployment ------------------------------------------------------------
    def validate(self, data: bytes, filename: str) -> list[Problem]:
        try:
            parse_definition(data, filename, self.checks)
        except DefinitionError as exc:
            return exc.problems
        return []

    def deploy(self, session: Session, data: bytes, filename: str, *, actor: str, at: datetime,
               skip_if_known: bool = False) -> DeployOutcome:
        """Store a new version when the content differs from the latest version of its key.

        With ``skip_if_known`` (start-up deployment of ``processes/``) a file whose sha256 matches
        *any* stored version of its key is skipped, so a restart never overrides a version a designer
        deployed later from the browser.
        """
        parsed = parse_definition(data, Path(filename).name, self.checks)
        digest = sha256_of(data)
        _lock_key(session, parsed.key)  # two workers deploying processes/ at start-up take turns
        latest = self._latest_row(session, parsed.key)
        if latest is not None:
            if latest.sha256 == digest:
                return DeployOutcome(DefinitionInfo.of(latest), created=False)
            if skip_if_known:
                known = session.execute(select(ProcessDefinition).where(
                    ProcessDefinition.key == parsed.key, ProcessDefinition.sha256 == digest)
                    .order_by(ProcessDefinition.version.desc()).limit(1)).scalar()
                if known is not None:
                    return DeployOutcome(DefinitionInfo.of(known), created=False)
        version = (latest.version + 1) if latest else 1
        row = ProcessDefinition(key=parsed.key, version=version, name=parsed.meta.name,
                                filename=Path(filename).name, sha256=digest, bpmn_xml=data,
                                deployed_at=at, deployed_by=actor,
                                meta={"process_ids": parsed.process_ids})
        session.add(row)
        session.flush()
        audit.append(session, chain=f"definition:{parsed.key}", actor=actor, action="definition.deployed",
                     object_type="definition", object_id=row.id, at=at,
                     after={"key": parsed.key, "version": version, "sha256": digest,
                            "filename": row.filename})
        with self._lock:
            self._cache[row.id] = parsed
        return DeployOutcome(DefinitionInfo.of(row), created=True)

    # --- lookups --------------------------------------------------------------------------------
    @staticmethod
    def _latest_row(session: Session, key: str) -> ProcessDefinition | None:
        return session.execute(select(ProcessDefinition).where(ProcessDefinition.key == key)
                               .order_by(ProcessDefinition.version.desc()).limit(1)).scalar()

    def latest(self, session: Session, key: str) -> DefinitionInfo:
        row = self._latest_row(session, key)
        if row is None:
            raise NotFound(f"no process '{key}' is deployed")
        return DefinitionInfo.of(row)

    def get_info(self, session: Session, definition_id: int) -> DefinitionInfo:
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"definition {definition_id} does not exist")
        return DefinitionInfo.of(row)

    def by_version(self, session: Session, key: str, version: int) -> DefinitionInfo:
        row = session.execute(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version)).scalar()
        if row is None:
            raise NotFound(f"process '{key}' has no version {version}")
        return DefinitionInfo.of(row)

    def list_latest(self, session: Session) -> list[DefinitionInfo]:
        newest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
            .group_by(ProcessDefinition.key).subquery()
        rows = session.execute(select(ProcessDefinition).join(
            newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v))
            .order_by(ProcessDefinition.key)).scalars()
        return [DefinitionInfo.of(r) for r in rows]

    def versions(self, session: Session, key: str) -> list[DefinitionInfo]:
        rows = session.execute(select(ProcessDefinition).where(ProcessDefinition.key == key)
                               .order_by(ProcessDefinition.version)).scalars()
        return [DefinitionInfo.of(r) for r in rows]

    def xml(self, session: Session, definition_id: int) -> bytes:
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"definition {definition_id} does not exist")
        return row.bpmn_xml

    def parsed(self, session: Session, definition_id: int) -> ParsedDefinition:
        cached = self._cache.get(definition_id)
        if cached is not None:
            return cached
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"definition {definition_id} does not exist")
        # Stored definitions were valid when deployed; parse without re-running the static checks
        # (an operation a plugin no longer registers must not make old cases unreadable).
        parsed = parse_definition(row.bpmn_xml, row.filename, Checks())
        with self._lock:
            self._cache.setdefault(definition_id, parsed)
        return self._cache[definition_id]
