"""The ``case_document`` table: every PDF the bureau issued, byte for byte, with its sha256.

A document is never updated: re-issuing makes a new row, and the audit event of each issue carries
the sha256, so the trail proves which bytes went to the family (环环有痕迹).  Batch documents (a
payment batch summary, a village publicity list) have no case; they carry a ``reference`` such as
``batch:12`` and the region they belong to, which is what scopes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.types_sql import UTCDateTime
from engine.workflow.models import BigId


class CaseDocument(Base):
    __tablename__ = "case_document"
    __table_args__ = (Index("ix_case_document_reference", "reference"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(BigId, index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128))  # decision:5, batch:12, region:3708…
    title: Mapped[str] = mapped_column(String(255))
    template_version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
