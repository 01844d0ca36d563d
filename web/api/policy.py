"""Which roles may use cases and tasks (DESIGN "Who may do what").

Households, standards and assessments keep their rules in :mod:`engine.casework.records`; the
engine checks regions and task groups itself.  These sets cover what the engine leaves open.
"""

from __future__ import annotations

from engine.actors import Actor
from engine.casework.records import require_role

CASE_STARTERS = frozenset({"admin", "caseworker", "assistant"})
CASE_READERS = frozenset({"admin", "caseworker", "assistant", "approver", "supervisor", "committee"})
TASK_READERS = CASE_READERS
PROCESS_READERS = frozenset({"admin", "designer", "caseworker", "assistant", "approver", "supervisor",
                             "committee"})


def require(actor: Actor, roles: frozenset[str], what: str) -> None:
    """NotAllowed (403) unless the actor's role is one of ``roles``."""
    require_role(actor, roles, what)


# Signals keep their role sets in engine.casework.signals (the engine checks them itself).

REFERRAL_WRITERS = frozenset({"admin", "caseworker", "approver"})  # create slips, record feedback
REFERRAL_READERS = frozenset({"admin", "caseworker", "approver", "supervisor"})

FUND_READERS = frozenset({"admin", "caseworker", "approver", "supervisor"})
FUND_CREATORS = frozenset({"admin"})
FUND_ALLOCATORS = frozenset({"admin", "approver"})
DONATION_TAKERS = frozenset({"admin", "caseworker"})

CLOCK_HOLDERS = frozenset({"admin", "caseworker", "approver", "supervisor"})  # 停表 / resume
CASE_RETRIERS = frozenset({"admin", "supervisor"})
MIGRATORS = frozenset({"admin", "designer"})
