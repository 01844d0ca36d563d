"""Who is acting: a user's role and region prefix decide what they may see and do."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("assistant", "caseworker", "approver", "committee", "supervisor", "designer", "admin")


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    region: str  # a prefix of 2, 4, 6, 9 or 12 digits; "" only for the system

    def sees(self, region_code: str | None) -> bool:
        """True when ``region_code`` lies inside this actor's region (an empty region sees all)."""
        if self.region == "":
            return True
        return bool(region_code) and region_code.startswith(self.region)

    def in_group(self, group: str | None) -> bool:
        return self.role == "admin" or (group is not None and group == self.role)


SYSTEM = Actor("system", "admin", "")


def within_region(column, prefix: str):
    """SQL for "``column`` lies inside region ``prefix``" as a range, so a btree index serves it on every
    database and collation (a LIKE 'prefix%' cannot use the index under PostgreSQL's default collation)."""
    from sqlalchemy import and_, true

    if not prefix:
        return true()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # digits only: '9' + 1 is ':'
    return and_(column >= prefix, column < upper)


DENIED = "access.denied"


def record_denial(db, actor: Actor, *, at, status: int, method: str, path: str, reason: str) -> None:
    """Write one ``access.denied`` audit event on the user's chain, in its own transaction.

    A refusal (403, or 404 for an object outside the user's region — or absent: the answer never says
    which) is itself worth keeping: repeated probing of other regions shows up in the trail.  The
    request's own transaction has already rolled back, so this one stands alone; a failure to record
    is logged and never changes the answer the user gets.
    """
    import logging

    from engine.workflow import audit

    try:
        with db.write() as session:
            audit.append(session, chain=f"user:{actor.username}", actor=actor.username, action=DENIED,
                         object_type="request", object_id=path[:64], at=at,
                         after={"method": method, "path": path[:500], "status": status, "role": actor.role,
                                "region": actor.region, "reason": reason[:200]})
    except Exception:  # noqa: BLE001 - the refusal stands whether or not it could be recorded
        logging.getLogger("jishijiu.audit").warning("could not record a denial of %s %s for %s",
                                                    method, path, actor.username, exc_info=True)
