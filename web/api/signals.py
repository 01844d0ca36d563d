"""Discovery signals: report one (idempotent per source and source_id) or a batch; list and read."""

from __future__ import annotations

import json

import marshmallow as ma
from flask import request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from engine.casework import signals
from engine.casework.signals import SignalView
from engine.errors import EngineError, ValidationError
from web.api import errors, schemas
from web.api.common import (TOTAL_HEADER, api_blueprint, body_doc, current_actor, iso, load,
                            mask_id_numbers, now, read_json, services, with_total)
from web.api.policy import require

blp = api_blueprint("signals", "/signals", "Discovery signals / 主动发现线索")

MAX_BATCH = 1000
MAX_BATCH_BYTES = 8 * 1024 * 1024


def signal_answer(view: SignalView) -> dict:
    return {"id": view.id, "source": view.source, "source_id": view.source_id, "kind": view.kind,
            "region_code": view.region_code, "household_id": view.household_id,
            "details": mask_id_numbers(view.details), "occurred_at": iso(view.occurred_at),
            "received_at": iso(view.received_at), "received_by": view.received_by,
            "status": view.status, "case_id": view.case_id, "error": view.error}


def _receive(body: dict) -> signals.Received:
    return signals.receive(services().db, services().engine, signals.SignalIn(**body),
                           actor=current_actor(), now=now())


@blp.route("", methods=["POST"])
@blp.doc(**body_doc(schemas.SignalIn))
@blp.response(201, schemas.SignalReceived)
@blp.alt_response(200, schema=schemas.SignalReceived, success=True,
                  description="this (source, source_id) was reported before: the original answer")
def report_signal():
    """Report a signal in your region; it starts the discovery process when that is deployed.

    Idempotent: the same ``source`` and ``source_id`` again answers 200 with the original signal
    and ``duplicate: true`` (nothing new is stored or started).
    """
    require(current_actor(), signals.REPORTERS, "report signals")
    received = _receive(load(schemas.SignalIn, read_json()))
    answer = {**signal_answer(received.signal), "duplicate": received.duplicate}
    location = {"Location": url_for("api_signals.get_signal", signal_id=received.signal.id)}
    return answer, 200 if received.duplicate else 201, location


@blp.route("/batch", methods=["POST"])
@blp.doc(**body_doc({"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": schemas.SignalIn},
                    description=f"a JSON array of at most {MAX_BATCH} signals"))
@blp.response(200, schemas.BatchResult)
def report_batch():
    """Report up to 1000 signals: each is stored (or refused) on its own, in its own transaction.

    Every item gets the status ``POST /signals`` would have answered (201, 200 for a duplicate,
    403, 404, 409, 422 with its ``error``); one bad item never stops the others.
    """
    require(current_actor(), signals.REPORTERS, "report signals")
    items = _read_array()
    results = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ValidationError("not a JSON object", {"_schema": ["must be a JSON object"]})
            received = _receive(load(schemas.SignalIn, item))
        except (EngineError, ma.ValidationError) as exc:
            status, code = _status_of(exc)
            fields = dict(getattr(exc, "fields", None) or {})
            if status == 422 and not fields:
                fields = {"_schema": [str(exc)]}
            code = exc.code if isinstance(exc, EngineError) else code
            # ErrorDetail dumps its attribute ``fields_`` as "fields"
            results.append({"index": index, "status": status,
                            "error": {"code": code, "message": str(exc), "fields_": fields}})
            continue
        view = received.signal
        results.append({"index": index, "status": 200 if received.duplicate else 201, "id": view.id,
                        "case_id": view.case_id, "duplicate": received.duplicate,
                        "signal_status": view.status})
    created = sum(1 for r in results if r["status"] == 201)
    duplicates = sum(1 for r in results if r["status"] == 200)
    return {"results": results, "created": created, "duplicates": duplicates,
            "failed": len(results) - created - duplicates}


def _status_of(exc: BaseException) -> tuple[int, str]:
    """The status and code the one error table gives this error."""
    for cls, status, code in errors.ERROR_TABLE:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"  # pragma: no cover - only table classes are caught


def _read_array() -> list:
    if request.content_length is not None and request.content_length > MAX_BATCH_BYTES:
        raise RequestEntityTooLarge()
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BATCH_BYTES:
        raise RequestEntityTooLarge()
    if not raw.strip():
        raise errors.MalformedJson("a JSON array of signals is required / 请提交线索数组")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise errors.MalformedJson("the body is not valid JSON / 提交内容不是有效的 JSON") from None
    if not isinstance(data, list):
        raise ValidationError("the body must be a JSON array", {"_schema": [
            "a JSON array of signals / 请提交线索数组"]})
    if not data:
        raise ValidationError("the batch is empty", {"_schema": ["at least one signal"]})
    if len(data) > MAX_BATCH:
        raise ValidationError("the batch is too long", {"_schema": [
            f"at most {MAX_BATCH} signals per batch / 每批最多 {MAX_BATCH} 条"]})
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


@blp.route("", methods=["GET"])
@blp.arguments(schemas.SignalQuery, location="query")
@blp.response(200, schemas.Signal(many=True), headers=TOTAL_HEADER)
def list_signals(query):
    """Signals in your region, newest first; ``status`` (received | started | failed), ``kind``."""
    with services().db.read() as session:
        views, total = signals.list_signals(
            session, actor=current_actor(), status=query.get("status"), kind=query.get("kind"),
            household_id=query.get("household_id"), limit=query["limit"], offset=query["offset"])
    return with_total([signal_answer(v) for v in views], total)


@blp.route("/<api_id:signal_id>", methods=["GET"])
@blp.response(200, schemas.Signal)
def get_signal(signal_id: int):
    """One signal with the discovery case it started."""
    with services().db.read() as session:
        return signal_answer(signals.get_signal(session, signal_id, actor=current_actor()))
