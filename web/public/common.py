"""What the public pages share: the blueprint, their error pages and headers, the client key."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import CSRFError

from engine import plugins as plugin_registry
from engine.casework.public.limits import Limits, RateLimited, ip_key
from engine.errors import Conflict, NotFound

bp = Blueprint("public", __name__, url_prefix="/public")


def services():
    from web import services_of

    return services_of(current_app)


def client_key() -> str:
    """The keyed hash of the client's address (behind a proxy, configure ProxyFix so that
    ``remote_addr`` is the client's)."""
    return ip_key(request.remote_addr or "?", current_app.config["SECRET_KEY"])


def limits() -> Limits:
    return Limits.from_config(current_app.config)


def programme_names() -> dict[str, str]:
    return {code: info.name_zh for code, info in plugin_registry.programmes(services().pm).items()}


def message(status: int, title: str, text: str):
    return render_template("public/message.html", title=title, text=text), status


@bp.errorhandler(NotFound)
@bp.errorhandler(404)
def _not_found(_exc=None):
    return message(404, "未找到", "没有找到这个页面。请核对二维码或回执码，或拨打 12345 咨询。")


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict):
    return message(409, "无法办理", exc.message)


@bp.errorhandler(RateLimited)
def _limited(exc: RateLimited):
    page, status = message(429, "提交过于频繁", exc.message)
    return page, status, {"Retry-After": str(exc.retry_after)}


@bp.errorhandler(CSRFError)
def _csrf(_exc):
    return message(400, "页面已过期", "页面已过期，请返回并刷新页面后重新提交。")


@bp.after_request
def _headers(response):
    """No scripts at all; nothing personal may be cached or leak through a Referer."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    return response
