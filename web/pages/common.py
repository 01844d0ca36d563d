"""What every page blueprint shares: the acting user, role checks, errors, countdowns and masking."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import UserMixin, current_user, login_required
from flask_wtf.csrf import CSRFError

from engine.actors import Actor, record_denial
from engine.casework import idnumber
from engine.clock import to_local
from engine.errors import Conflict, NotAllowed, NotFound
from web.i18n import gettext as _

#: Who may open which kind of page (DESIGN "Who may do what").  Region is checked on every object.
CASEWORK_ROLES = ("assistant", "caseworker", "approver", "committee", "supervisor", "admin")
REVEAL_ROLES = ("caseworker", "approver", "admin")
DESIGN_ROLES = ("designer", "admin")
SUPERVISING_ROLES = ("supervisor", "admin")

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])")


@dataclass(frozen=True)
class WebUser(UserMixin):
    """The logged-in account as Flask-Login sees it (loaded from the database on every request)."""

    id: str
    username: str
    display_name: str
    role: str
    region: str

    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.region)


def services():
    from web import services_of

    return services_of(current_app)


def actor() -> Actor:
    return current_user.actor()


def now() -> datetime:
    return services().clock.now()


def roles_required(*roles: str) -> Callable:
    """Log in first, then the role must be one of ``roles`` (403 otherwise)."""

    def wrap(view):
        @functools.wraps(view)
        @login_required
        def inner(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths are followed after a POST (no open redirects)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return fallback
    return target


# --------------------------------------------------------------------------- errors and headers

def _error_page(status: int, title: str, message: str, detail: str | None = None):
    """The page echoes the request's path and query (the language switch returns there): an ID number
    typed into either is masked like everywhere else (R9)."""
    html = render_template("error.html", status=status, title=title, message=message, detail=detail)
    return mask_text(html), status


def _audit_denial(status: int, exc) -> None:
    """Pages leave the same ``access.denied`` audit row as the API for a signed-in user's 403/404."""
    if not current_user.is_authenticated or request.url_rule is None:
        return
    svc = services()
    record_denial(svc.db, actor(), at=svc.clock.now(), status=status, method=request.method,
                  path=request.path, reason=type(exc).__name__ if exc is not None else "abort")


def _not_found(exc=None):
    _audit_denial(404, exc)
    return _error_page(404, _("未找到"), _("没有这个页面，或者它不在您的辖区内。"))


def _forbidden(exc=None):
    _audit_denial(403, exc)
    detail = exc.message if isinstance(exc, NotAllowed) else None
    return _error_page(403, _("无权操作"), _("您的角色不能打开此页面或执行此操作。"), detail)


def _conflict(exc: Conflict):
    return _error_page(409, _("操作冲突"), _("其他人已先处理了这一项，请刷新后再试。"), exc.message)


def _csrf_error(_exc: CSRFError):
    return _error_page(400, _("表单已过期"), _("页面已过期或来源不明，请返回并刷新页面后重新提交。"))


def _too_large(_exc=None):
    return _error_page(413, _("文件过大"), _("上传的文件超过了大小限制。"))


def _headers(response):
    """Pages carry personal data: never cached, never framed, scripts only from this site."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'")
    return response


def page_blueprint(name: str, import_name: str, **kwargs: Any) -> Blueprint:
    """A blueprint with the pages' error pages and security headers."""
    bp = Blueprint(name, import_name, **kwargs)
    bp.register_error_handler(NotFound, _not_found)
    bp.register_error_handler(404, _not_found)
    bp.register_error_handler(NotAllowed, _forbidden)
    bp.register_error_handler(403, _forbidden)
    bp.register_error_handler(Conflict, _conflict)
    bp.register_error_handler(CSRFError, _csrf_error)
    bp.register_error_handler(413, _too_large)
    bp.after_request(_headers)
    return bp


# --------------------------------------------------------------------------- display helpers

def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(value).strftime(fmt) if value is not None else ""


def mask_text(value: Any) -> str:
    """Any text shown to people, with every ID number in it masked."""
    return ID_NUMBER.sub(lambda m: idnumber.mask(m.group(0)), str(value))


@dataclass(frozen=True)
class Countdown:
    text: str
    level: str  # overdue | warn | ok | none
    due: str


def countdown(due_at: datetime | None, created_at: datetime | None, at: datetime, calendar,
              warn_fraction: float = 0.8) -> Countdown:
    """Working days left or overdue, and the SLA colour: red when overdue, amber from 80% elapsed
    or on the last working day, green otherwise."""
    if due_at is None:
        return Countdown(_("无时限"), "none", "")
    due = local_time(due_at)
    if due_at < at:
        days = -calendar.workdays_between(at, due_at)
        if days <= 0:
            return Countdown(_("已超期"), "overdue", due)
        return Countdown(_("超期 %(n)d 个工作日", n=days), "overdue", due)
    days = calendar.workdays_between(at, due_at)
    text = _("今日到期") if days == 0 else _("剩余 %(n)d 个工作日", n=days)
    level = "ok"
    if days <= 1:
        level = "warn"
    elif created_at is not None and due_at > created_at:
        elapsed = (at - created_at) / (due_at - created_at)
        if elapsed >= warn_fraction:
            level = "warn"
    return Countdown(text, level, due)


def role_label(role: str | None) -> str:
    labels = {
        "assistant": _("村协理员"), "caseworker": _("乡镇经办"), "approver": _("县级审核"),
        "committee": _("评议委员"), "supervisor": _("督导"), "designer": _("流程设计"),
        "admin": _("管理员"),
    }
    return labels.get(role or "", role or "")


def status_label(status: str) -> str:
    labels = {"active": _("办理中"), "completed": _("已办结"), "cancelled": _("已撤销"),
              "error": _("出错"), "open": _("待办理"), "claimed": _("已领取")}
    return labels.get(status, status)
