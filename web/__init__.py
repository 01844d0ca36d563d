"""The web layer: Flask app factory, HTML pages, REST API.  Imports ``engine``; never the reverse."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from engine import bootstrap
from engine.db import database_url_from_env

log = logging.getLogger("jishijiu.web")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: load plugins, deploy ``processes/`` (new content only); never migrate.

    Config keys: DATABASE_URL (default sqlite:///var/jishijiu.db), SECRET_KEY, TESTING,
    SCHEDULER_ENABLED (default on, except under TESTING), plus those of ``engine.bootstrap.build``.

    A key missing from ``config`` comes from the environment, so ``gunicorn 'web:create_app()'``
    needs no code: JISHIJIU_DATABASE_URL, JISHIJIU_SECRET_KEY, JISHIJIU_SCHEDULER_ENABLED (1/0) and
    JISHIJIU_TESTING (1/0, test deployments only) — see docs/operations.md.
    """
    app = Flask(__name__)
    cfg = dict(config or {})
    cfg.setdefault("DATABASE_URL", database_url_from_env())
    cfg.setdefault("TESTING", bootstrap.env_flag("JISHIJIU_TESTING"))
    env_scheduler = os.environ.get("JISHIJIU_SCHEDULER_ENABLED")
    cfg.setdefault("SCHEDULER_ENABLED", (env_scheduler.lower() in ("1", "true", "yes", "on"))
                   if env_scheduler else not cfg["TESTING"])
    if os.environ.get("JISHIJIU_SECRET_KEY"):
        cfg.setdefault("SECRET_KEY", os.environ["JISHIJIU_SECRET_KEY"])
    cfg.setdefault("MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
    cfg.setdefault("SESSION_COOKIE_HTTPONLY", True)
    cfg.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    cfg.setdefault("SESSION_COOKIE_SECURE", not cfg["TESTING"] and cfg.get("HTTPS", False))
    app.config.update(cfg)
    services = bootstrap.build(cfg)
    app.extensions["jishijiu"] = services
    if not app.config.get("SECRET_KEY"):
        # Shared by every worker of the deployment: kept in the database, made once.
        app.config["SECRET_KEY"] = bootstrap.shared_secret(services)
    bootstrap.deploy_processes(services)

    from web import api, ops, pages, public

    app.register_blueprint(ops.bp)

    from web import i18n

    i18n.init_app(app)  # Flask-Babel: Chinese by default, English on request
    api.init_app(app)
    pages.init_app(app)
    public.init_app(app)

    if app.config["SCHEDULER_ENABLED"]:
        from engine.workflow.scheduler import TimerScheduler

        scheduler = TimerScheduler(services)
        scheduler.start()
        app.extensions["jishijiu.scheduler"] = scheduler
    return app


def services_of(app: Flask) -> bootstrap.Services:
    return app.extensions["jishijiu"]
