"""Every error of the API has one shape: ``{"error": {"code", "message", "fields"}}``.

The status code of each engine error is decided here, in one table, and nowhere else (STYLE 5).
Werkzeug's HTTP exceptions (unknown route, wrong method, too large, webargs' 422) are answered in
the same shape, so a client never sees HTML or a bare 500 for bad input.  The handlers are
registered on the API blueprints only (their handlers outrank the app's), so the HTML pages keep
their own error pages; unknown /api/v1 paths reach an API blueprint through a catch-all route.
"""

from __future__ import annotations

import logging
from typing import Any

import marshmallow
from flask import Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import BadRequest, HTTPException, default_exceptions

from engine.actors import record_denial
from engine.errors import (Conflict, DefinitionError, EngineError, ExpressionError, NotAllowed,
                           NotFound, ValidationError, WorkflowError)

log = logging.getLogger("jishijiu.api")

API_PREFIX = "/api/v1"

# (exception class, HTTP status, fallback code); the first class the error is an instance of wins.
ERROR_TABLE: tuple[tuple[type[BaseException], int, str], ...] = (
    (ValidationError, 422, "validation_error"),
    (DefinitionError, 422, "invalid_definition"),
    (ExpressionError, 422, "invalid_expression"),
    (WorkflowError, 422, "workflow_error"),
    (NotFound, 404, "not_found"),
    (NotAllowed, 403, "not_allowed"),
    (Conflict, 409, "conflict"),
    (EngineError, 422, "engine_error"),  # any other refusal the engine makes on purpose
    (marshmallow.ValidationError, 422, "validation_error"),
    (StaleDataError, 409, "conflict"),
    (IntegrityError, 409, "conflict"),
    (OperationalError, 503, "unavailable"),
)

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "not_allowed", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests", 500: "internal_error", 503: "unavailable",
}

MESSAGES = {
    401: "a valid bearer token is required / 请先登录",
    404: "not found / 未找到",
    405: "method not allowed for this resource",
    413: "the request is too large / 提交的内容过大",
    500: "internal error; the operator has been told / 系统内部错误",
    503: "the database is busy; try again / 系统繁忙，请稍后重试",
}


class MalformedJson(BadRequest):
    """The body is not JSON (or not the JSON object the endpoint needs)."""

    code = 400
    api_code = "malformed_json"


def error_body(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None,
               **extra: Any) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {},
                                  **extra}})
    response.status_code = status
    return response


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow/webargs messages → ``{"a.b[0].c": [..]}`` (locations like "json" dropped)."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, path))
        return out
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    if isinstance(messages, (list, tuple)):
        out = {}
        for value in messages:
            for key, texts in _flatten(value, prefix).items():
                out.setdefault(key, []).extend(texts)
        return out
    return {prefix or "_schema": [str(messages)]}


def marshmallow_fields(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "files", "form",
                                                        "view_args", "headers", "path"}:
        merged: dict[str, list[str]] = {}
        for value in messages.values():
            merged.update(_flatten(value))
        return merged
    return _flatten(messages)


def audit_denial(status: int, exc: BaseException) -> None:
    """A 403 or 404 given to a signed-in caller leaves an ``access.denied`` audit row (R8); the answer
    itself stays the same, so a 404 never tells whether the object exists elsewhere."""
    actor = g.get("actor")
    if status not in (403, 404) or actor is None or request.url_rule is None:
        return
    svc = current_app.extensions.get("jishijiu")
    if svc is None:
        return
    record_denial(svc.db, actor, at=svc.clock.now(), status=status, method=request.method,
                  path=request.path, reason=type(exc).__name__)


def handle_engine_error(exc: BaseException) -> ResponseReturnValue:
    for cls, status, fallback in ERROR_TABLE:
        if isinstance(exc, cls):
            break
    else:  # pragma: no cover - handlers are only registered for the table's classes
        return handle_unexpected(exc)
    audit_denial(status, exc)
    if status >= 500:
        log.exception("API request failed in %s %s", request.method, request.path)
        return error_body(status, fallback, MESSAGES[status])
    if isinstance(exc, marshmallow.ValidationError):
        return error_body(status, fallback, "the request is invalid / 提交的内容有误",
                          marshmallow_fields(exc.messages))
    if isinstance(exc, (StaleDataError, IntegrityError)):
        log.warning("write conflict in %s %s: %s", request.method, request.path, exc)
        return error_body(status, fallback, "changed by someone else meanwhile; reload and try "
                                            "again / 数据已被他人修改，请刷新后重试")
    code = getattr(exc, "code", fallback) if isinstance(exc, EngineError) else fallback
    fields = dict(getattr(exc, "fields", None) or {})
    extra: dict[str, Any] = {}
    if isinstance(exc, DefinitionError):
        extra["problems"] = [{"file": p.file, "element": p.element_id, "line": p.line,
                              "message": p.message} for p in exc.problems]
        fields = fields or {"file": [str(p) for p in exc.problems] or [str(exc)]}
    elif isinstance(exc, (ExpressionError, WorkflowError)) and getattr(exc, "element_id", None):
        extra["element"] = exc.element_id
    if status == 422 and not fields:
        fields = {"_schema": [str(exc)]}
    return error_body(status, code, str(exc), fields, **extra)


def handle_http_exception(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    if status < 400:  # redirects are not errors
        return exc
    audit_denial(status, exc)
    data = getattr(exc, "data", None) or {}
    if "messages" in data:  # raised by webargs while parsing query, files or body
        if status == 400:
            return error_body(400, "malformed_json", "the body is not valid JSON / 提交内容不是有效的 JSON")
        return error_body(status, HTTP_CODES.get(status, "validation_error"),
                          "the request is invalid / 提交的内容有误", marshmallow_fields(data["messages"]))
    code = getattr(exc, "api_code", None) or HTTP_CODES.get(status, "http_error")
    custom = exc.description and exc.description != type(exc).description
    message = exc.description if custom else MESSAGES.get(status, exc.description or exc.name)
    response = error_body(status, code, message, {"_schema": [message]} if status == 422 else None)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="jishijiu"'
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_unexpected(exc: BaseException) -> ResponseReturnValue:
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unexpected error in %s %s", request.method, request.path)
    return error_body(500, "internal_error", MESSAGES[500])


def register_on_blueprint(blueprint) -> None:
    """Errors raised inside API views: blueprint handlers outrank any app-level HTML handler."""
    for cls, _status, _code in ERROR_TABLE:
        blueprint.register_error_handler(cls, handle_engine_error)
    for status in default_exceptions:
        blueprint.register_error_handler(status, handle_http_exception)
    blueprint.register_error_handler(HTTPException, handle_http_exception)
    blueprint.register_error_handler(Exception, handle_unexpected)
