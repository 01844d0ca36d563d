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
