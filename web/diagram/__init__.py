"""A BPMN diagram as a self-contained SVG, drawn on the server from the file's BPMNDI.

Used by the case page (where the case is now and the path it took) and the designer pages, and by
the REST API for ``GET /api/v1/cases/{id}/diagram``.  The XML is parsed with the hardened parser
(no DTD, no entities, size and depth limits) and every text that reaches the SVG is escaped.
A file without diagram interchange (hand-written BPMN) is laid out automatically: columns by flow
order, rows by lane.

The path taken is inferred from what the engine records cheaply: ``done`` holds completed human
tasks and fired timers, ``current`` the open tasks (and pending intermediate timers).  Automatic
steps between them — script and service tasks, gateways, start and end events — run in the same
transaction as the step before them, so they are marked done when they lie on the way from one
recorded node to another, or follow a done node without a branch.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.diagram.model import Diagram, has_layout, read_diagram, taken  # noqa: F401
from web.diagram.svg import render_diagram, render_svg  # noqa: F401

__all__ = ["render_svg", "case_positions", "has_layout", "Diagram", "read_diagram", "render_diagram", "taken"]


# --------------------------------------------------------------------------- where a case is

def case_positions(session: Session, instance_id: int) -> tuple[set[str], set[str]]:
    """(current, done) BPMN ids of a case from the task and timer tables — no workflow loading."""
    from engine.workflow.models import HumanTask, Timer

    current: set[str] = set()
    done: set[str] = set()
    for bpmn_id, status in session.execute(select(HumanTask.bpmn_id, HumanTask.status).where(
            HumanTask.instance_id == instance_id)):
        if status == "open":
            current.add(bpmn_id)
        elif status == "completed":
            done.add(bpmn_id)
    for bpmn_id, status in session.execute(select(Timer.bpmn_id, Timer.status).where(
            Timer.instance_id == instance_id)):
        if status == "pending":
            current.add(bpmn_id)
        elif status == "fired":
            done.add(bpmn_id)
    return current, done - current

