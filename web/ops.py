"""Operator endpoints: /healthz and Prometheus /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    services = current_app.extensions["jishijiu"]
    try:
        with services.db.read() as session:
            session.execute(text("select 1"))
    except Exception:  # noqa: BLE001 - health is a yes/no answer
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    scheduler = current_app.extensions.get("jishijiu.scheduler")
    return jsonify({"status": "ok", "database": "ok",
                    "scheduler": "embedded" if scheduler is not None else "external"})


@bp.get("/metrics")
def metrics():
    services = current_app.extensions["jishijiu"]
    return Response(generate_latest(services.metrics.registry), mimetype=CONTENT_TYPE_LATEST)
