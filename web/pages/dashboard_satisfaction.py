"""The satisfaction panel of the dashboard: ratings given on the public receipt page and the
follow-ups that "dissatisfied" ratings opened (engine.casework.public.ratings)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user

from engine.casework.public import ratings
from web.pages.common import SUPERVISING_ROLES, services

PANEL_ROLES = (*SUPERVISING_ROLES, "approver")


@dataclass(frozen=True)
class Panel:
    satisfied: int
    neutral: int
    dissatisfied: int
    followups_open: int
    followups_overdue: int
    rate_text: str


def panel(region: str | None = None) -> Panel | None:
    """The figures under ``region`` (the dashboard's scope), never wider than the user's region."""
    if not current_user.is_authenticated or current_user.role not in PANEL_ROLES:
        return None
    scope = region if region and region.startswith(current_user.region) else current_user.region
    svc = services()
    with svc.db.read() as db:
        figures = ratings.figures(db, scope, now=svc.clock.now())
    rate = figures.rate
    return Panel(figures.satisfied, figures.neutral, figures.dissatisfied, figures.followups_open,
                 figures.followups_overdue, "—" if rate is None else f"{rate * 100:.1f}%")
