"""The test clock (registered only with ``TESTING`` on): move time and run everything due."""

from __future__ import annotations

from datetime import timedelta

from engine.bootstrap import Services
from engine.errors import Conflict, ValidationError
from web.api import schemas
from web.api.common import api_blueprint, body_doc, current_actor, iso, load, read_json, services
from web.api.policy import require

blp = api_blueprint("test_clock", "/_test", "Test clock (TESTING only) / 测试时钟")

MAX_OFFSET = timedelta(days=100 * 366)


def move_clock(svc: Services, *, advance_seconds: float | None = None, to=None) -> None:
    """Shift the engine clock: the offset kept in the database (so every process agrees), or a
    fake clock a test injected."""
    clock = svc.clock
    target = to if to is not None else clock.now() + timedelta(seconds=advance_seconds)
    offset = svc.test_offset() if svc.test_offset is not None else 0.0
    real = clock.now() - timedelta(seconds=offset)
    if abs(target - real) > MAX_OFFSET:
        raise ValidationError("too far", {"set" if to is not None else "advance_seconds": [
            "the test clock stays within 100 years of the real time"]})
    if svc.test_offset is not None:
        svc.test_offset.set((target - real).total_seconds())
    elif hasattr(clock, "set"):
        clock.set(target)
    else:
        raise Conflict("this engine's clock cannot be moved")


def run_due(svc: Services) -> list[dict]:
    """Fire BPMN timers and statutory-clock steps until nothing more is due (what the scheduler does)."""
    due = svc.run_due()
    return ([{"kind": "timer", "case_id": t.instance_id, "element": t.bpmn_id, "level": None,
              "due_at": iso(t.due_at)} for t in due["timers"]]
            + [{"kind": f"sla_{e.kind}", "case_id": e.instance_id, "element": None, "level": e.level,
                "due_at": None} for e in due["sla"]])


@blp.route("/clock", methods=["GET"])
@blp.response(200, schemas.ClockState)
def read_clock():
    """The engine's now."""
    require(current_actor(), frozenset({"admin"}), "use the test clock")
    return {"now": iso(services().clock.now()), "fired": []}


@blp.route("/clock", methods=["POST"])
@blp.doc(**body_doc(schemas.ClockMove))
@blp.response(200, schemas.ClockState)
def set_clock():
    """``{"advance_seconds": N}`` or ``{"set": "2023-03-06T10:00:00+08:00"}`` (admin), then run
    everything that is due."""
    require(current_actor(), frozenset({"admin"}), "use the test clock")
    body = load(schemas.ClockMove, read_json())
    if ("advance_seconds" in body) == ("set" in body):
        raise ValidationError("give advance_seconds or set", {
            "_schema": ["give exactly one of advance_seconds and set"]})
    svc = services()
    move_clock(svc, advance_seconds=body.get("advance_seconds"), to=body.get("set"))
    fired = run_due(svc)
    return {"now": iso(svc.clock.now()), "fired": fired}
