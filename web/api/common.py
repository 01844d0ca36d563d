"""Small helpers every API module shares: services, time, JSON bodies, pagination, blueprints."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge, Unauthorized
from werkzeug.routing import BaseConverter

from engine import accounts
from engine.actors import Actor
from engine.bootstrap import Services
from engine.casework import idnumber
from engine.clock import to_local
from engine.errors import ValidationError
from web.api import errors

MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_ID = 2**63 - 1
MAX_PAGE = 200


def services() -> Services:
    return current_app.extensions["jishijiu"]


def now() -> datetime:
    """The engine's (business) time: the test clock moves it."""
    return services().clock.now()


def wall_now() -> datetime:
    """Real time, for tokens and login locks: moving the test clock must not log everyone out."""
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> datetime | None:
    """An aware time as people read it (Asia/Shanghai, "+08:00"); marshmallow writes ISO 8601."""
    return to_local(dt) if dt is not None else None


class IdConverter(BaseConverter):
    """Path ids: 1 to 18 digits, so a huge number is "not found", never a database overflow."""

    regex = r"[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


def id_param_schema(_converter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}


# --------------------------------------------------------------------------- authentication

PUBLIC_ENDPOINTS = {"api_auth.issue_token"}  # everything else needs a bearer token


class NotAuthenticated(Unauthorized):
    api_code = "unauthorized"


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_token() -> None:
    """Resolve the bearer token into ``g.actor``; 401 when it is missing, unknown or expired."""
    if request.method == "OPTIONS" or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = _bearer()
    if token is None or len(token) > 512:
        raise NotAuthenticated("a bearer token is required: Authorization: Bearer <token> / 请先登录")
    with services().db.read() as session:
        user = accounts.resolve_token(session, token, wall_now())
        actor = user.actor() if user is not None else None
    if actor is None:
        raise NotAuthenticated("the token is unknown, expired or revoked / 登录已失效，请重新登录")
    g.actor = actor
    g.token = token
    return None


def current_actor() -> Actor:
    return g.actor


def api_blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    """A flask-smorest blueprint ``api_<name>`` under /api/v1 whose views need a bearer token
    (deny by default)."""
    blp = Blueprint(f"api_{name}", __name__, url_prefix=errors.API_PREFIX + url_prefix,
                    description=description)
    blp.before_request(require_token)
    errors.register_on_blueprint(blp)
    return blp


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def read_json(*, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object: 400 when it is not JSON, 413 when too large."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise RequestEntityTooLarge()
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge()
    if not raw.strip():
        if required:
            raise errors.MalformedJson("a JSON object is required as the body / 请提交 JSON 内容")
        return {}
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise errors.MalformedJson("the body is not valid JSON / 提交内容不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object", {"_schema": ["must be a JSON object"]})
    if _depth(data) > MAX_JSON_DEPTH:
        raise ValidationError("the body is nested too deeply",
                              {"_schema": [f"nested deeper than {MAX_JSON_DEPTH} levels"]})
    return data


def load(schema: type[ma.Schema] | ma.Schema, data: Any, *, prefix: str = "") -> dict[str, Any]:
    """Load with a marshmallow schema; its messages become an engine ValidationError."""
    instance = schema() if isinstance(schema, type) else schema
    try:
        return instance.load(data)
    except ma.ValidationError as exc:
        fields = errors.marshmallow_fields(exc.messages)
        if prefix:
            fields = {f"{prefix}{key}": value for key, value in fields.items()}
        raise ValidationError("the request is invalid / 提交的内容有误", fields) from None


def body_doc(schema: type[ma.Schema] | ma.Schema | dict, *, description: str | None = None,
             content_type: str = "application/json") -> dict:
    """``@blp.doc(**body_doc(S))``: documents a JSON body that the view parses with :func:`load`."""
    body: dict[str, Any] = {"required": True, "content": {content_type: {"schema": schema}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


class PageQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_PAGE),
                              metadata={"description": "at most this many items (1–200)"})
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 10**9),
                               metadata={"description": "skip this many items"})


TOTAL_HEADER = {"X-Total-Count": {"description": "how many items match, over all pages",
                                  "schema": {"type": "integer"}}}


def with_total(items: Any, total: int):
    return items, 200, {"X-Total-Count": str(total)}


def mask_id_numbers(value: Any) -> Any:
    """Mask anything shaped like an ID number inside free-form data (case data, audit payloads)."""
    if isinstance(value, str):
        return idnumber.mask_in_text(value)
    if isinstance(value, dict):
        return {k: mask_id_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_id_numbers(v) for v in value]
    return value
