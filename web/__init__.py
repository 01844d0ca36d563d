"""The web layer: Flask app factory, HTML pages, REST API.  Imports ``engine``; never the reverse."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from engine import bootstrap
from engine.db import database_url_from_env


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: load plugins, deploy ``processes/`` (new content only); never migrate."""
    app = Flask(__name__)
    cfg = dict(config or {})
    cfg.setdefault("DATABASE_URL", database_url_from_env())
    cfg.setdefault("TESTING", False)
    cfg.setdefault("SCHEDULER_ENABLED", not cfg["TESTING"])
    app.config.update(cfg)
    services = bootstrap.build(cfg)
    app.extensions["jishijiu"] = services
    bootstrap.deploy_processes(services)

    @app.get("/healthz")
    def healthz():
        with services.db.read() as session:
            session.execute(__import__("sqlalchemy").text("select 1"))
        return jsonify({"status": "ok"})

    if app.config["SCHEDULER_ENABLED"]:
        from engine.workflow.scheduler import TimerScheduler

        scheduler = TimerScheduler(services)
        scheduler.start()
        app.extensions["jishijiu.scheduler"] = scheduler
    return app
