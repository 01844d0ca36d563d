"""REST API /api/v1 (flask-smorest): OpenAPI at /api/v1/openapi.json, a readable page at /api/v1/docs.

One blueprint per resource; every one of them checks the bearer token before its views and answers
errors in the one shape of :mod:`web.api.errors`.  The test clock exists only with ``TESTING``.
"""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map

from web.api import errors, schemas
from web.api.common import IdConverter, id_param_schema
from web.api.docs_page import DOCS_HTML

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer",
                                   "description": "POST /api/v1/auth/token gives the token"}}


class JishijiuApi(Api):
    ERROR_SCHEMA = schemas.Error

    def _register_error_handlers(self) -> None:
        """Our blueprints answer their errors themselves; the HTML pages keep theirs."""


def init_app(app: Flask) -> None:
    """Register the API blueprints (and the test clock when ``TESTING`` is on)."""
    from web.api import (auth, benefits, cases, clocks, documents, funds, households, migrations,
                         processes, programmes, referrals, regions, signals, sla_stats, standards, tasks,
                         testing)

    app.config.setdefault("API_TITLE", "jishijiu 济时救 REST API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", errors.API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Social-assistance casework on BPMN. Errors are always "
                                '{"error": {"code", "message", "fields"}}; times are ISO 8601 '
                                "with an offset; money is a decimal string."},
        "components": {"securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearerAuth": []}],
    })
    app.url_map.converters["api_id"] = IdConverter
    api = JishijiuApi(app)
    api.register_converter(IdConverter, id_param_schema)
    resources = [auth.blp, households.blp, standards.blp, programmes.blp, cases.blp, clocks.blp,
                 tasks.blp, processes.blp, migrations.blp, signals.blp, referrals.blp, funds.blp, regions.blp,
                 benefits.blp, documents.blp, sla_stats.blp]
    if app.config.get("TESTING"):
        resources.append(testing.blp)
    for blueprint in resources:
        api.register_blueprint(blueprint)
    app.register_blueprint(_fallback_blueprint())
    app.extensions["jishijiu.api"] = api


def _fallback_blueprint() -> FlaskBlueprint:
    """The docs page, and a catch-all so that unknown /api/v1 paths answer in the API shape."""
    blp = FlaskBlueprint("api_fallback", __name__, url_prefix=errors.API_PREFIX)
    errors.register_on_blueprint(blp)

    @blp.get("/docs")
    def docs():
        return DOCS_HTML, 200, {"Content-Type": "text/html; charset=utf-8",
                                "Content-Security-Policy": "default-src 'self'; "
                                "script-src 'unsafe-inline'; style-src 'unsafe-inline'"}

    @blp.route("/", defaults={"rest": ""}, methods=METHODS, strict_slashes=False)
    @blp.route("/<path:rest>", methods=METHODS)
    def unknown(rest: str):
        raise _routing_error()

    return blp


def _routing_error() -> HTTPException:
    """404, or 405 with ``Allow`` when the path exists for other methods."""
    routes = current_app.extensions.get("jishijiu.api.routes")
    if routes is None:
        rules = [rule.empty() for rule in current_app.url_map.iter_rules()
                 if rule.rule.startswith(errors.API_PREFIX)
                 and not rule.endpoint.startswith("api_fallback.")]
        routes = Map(rules, converters=current_app.url_map.converters)
        current_app.extensions["jishijiu.api.routes"] = routes
    try:
        routes.bind("localhost").match(request.path, method=request.method)
    except HTTPException as exc:
        return exc if exc.code in (404, 405) else NotFound()
    return NotFound()
