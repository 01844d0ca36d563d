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
