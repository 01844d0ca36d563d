"""Abuse limits for the public forms, without a CAPTCHA: counted in the database.

Counting rows of ``public_submission`` (rather than a per-process memory store) means the limits
hold across gunicorn workers and restarts with no extra service; the indexes make each count a
short range scan.  Two writers racing past the limit at the same instant may both get through on
PostgreSQL — a limit against abuse, not an invariant, so that is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.casework.public.models import PublicSubmission
from engine.errors import EngineError


class RateLimited(EngineError):
    """Too many submissions from one phone or one address; ``retry_after`` in seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    per_phone_per_day: int = 3  # help requests from one phone number in 24 hours
    per_ip_per_hour: int = 20  # any public submission from one address in an hour

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(per_phone_per_day=int(config.get("PUBLIC_HELP_PER_PHONE_PER_DAY", 3)),
                   per_ip_per_hour=int(config.get("PUBLIC_SUBMISSIONS_PER_IP_PER_HOUR", 20)))


def ip_key(address: str, secret: str | bytes) -> str:
    """A keyed hash of the client address: enough to count by, useless to read back."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, (address or "?").encode(), hashlib.sha256).hexdigest()


def check_and_record(session: Session, *, kind: str, ip: str, phone: str | None, now: datetime,
                     limits: Limits) -> None:
    """Refuse with :class:`RateLimited` when a limit is reached, else record this submission."""
    hour_ago = now - timedelta(hours=1)
    by_ip = session.execute(select(func.count(PublicSubmission.id)).where(
        PublicSubmission.ip_key == ip, PublicSubmission.at > hour_ago)).scalar() or 0
    if by_ip >= limits.per_ip_per_hour:
        raise RateLimited("提交过于频繁，请一小时后再试，或拨打热线求助。", retry_after=3600)
    if phone is not None:
        day_ago = now - timedelta(hours=24)
        by_phone = session.execute(select(func.count(PublicSubmission.id)).where(
            PublicSubmission.phone == phone, PublicSubmission.kind == kind,
            PublicSubmission.at > day_ago)).scalar() or 0
        if by_phone >= limits.per_phone_per_day:
            raise RateLimited("该手机号今天已多次提交求助，工作人员会尽快联系您；紧急情况请拨打热线。",
                              retry_after=24 * 3600)
    session.add(PublicSubmission(kind=kind, ip_key=ip, phone=phone, at=now))
    session.flush()
