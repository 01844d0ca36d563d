"""User accounts and API tokens: hashed passwords, hashed expiring revocable tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from engine.actors import ROLES, Actor
from engine.db import Base
from engine.errors import Conflict, ValidationError
from engine.types_sql import UTCDateTime
from engine.workflow.models import BigId

REGION = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$")
LOCK_AFTER_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)


class UserAccount(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.region)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def validate_account(username: str, password: str, role: str, region: str) -> None:
    fields: dict[str, list[str]] = {}
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{2,64}", username or ""):
        fields["username"] = ["2–64 letters, digits, '.', '_' or '-'"]
    if len(password or "") < 8:
        fields["password"] = ["at least 8 characters"]
    if role not in ROLES:
        fields["role"] = [f"one of: {', '.join(ROLES)}"]
    if not REGION.match(region or ""):
        fields["region"] = ["a region code of 2, 4, 6, 9 or 12 digits"]
    if fields:
        raise ValidationError("the account is invalid", fields)


def create_user(session: Session, *, username: str, password: str, role: str, region: str, now: datetime,
                display_name: str | None = None) -> UserAccount:
    validate_account(username, password, role, region)
    if session.execute(select(UserAccount.id).where(UserAccount.username == username)).first():
        raise Conflict(f"user '{username}' already exists")
    user = UserAccount(username=username, display_name=display_name or username,
                       password_hash=generate_password_hash(password), role=role, region=region,
                       active=True, failed_logins=0, created_at=now)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str, now: datetime) -> UserAccount | None:
    """Check a password; lock the account for a while after repeated failures (login throttling)."""
    user = session.execute(select(UserAccount).where(UserAccount.username == username)).scalar()
    if user is None or not user.active:
        generate_password_hash("timing-equaliser")
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= LOCK_AFTER_FAILURES:
            user.locked_until = now + LOCK_FOR
            user.failed_logins = 0
        return None
    user.failed_logins = 0
    user.locked_until = None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: UserAccount, now: datetime, ttl: timedelta = timedelta(hours=8)) -> tuple[str, int]:
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now, expires_at=now + ttl))
    return token, int(ttl.total_seconds())


def resolve_token(session: Session, token: str, now: datetime) -> UserAccount | None:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token or ""))).scalar()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(UserAccount, row.user_id)
    return user if user is not None and user.active else None


def revoke_token(session: Session, token: str, now: datetime) -> bool:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token or ""))).scalar()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True
