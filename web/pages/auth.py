"""Log in and out (Flask-Login sessions), the language switch, and the front door.

Throttling has two layers: the account locks after repeated failures (``accounts.authenticate``)
and each client address may fail only so often in a window (:class:`FailureLimiter`), which also
stops one address from trying many user names.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from flask import (current_app, flash, redirect, render_template, request, session, url_for)
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import select

from engine import accounts
from engine.workflow import audit
from web.i18n import LANGUAGES, gettext as _
from web.pages.common import (CASEWORK_ROLES, DESIGN_ROLES, WebUser, now, page_blueprint, safe_next,
                              services)

bp = page_blueprint("auth", __name__)


class FailureLimiter:
    """At most ``limit`` failed logins per client address within ``window`` (in engine time)."""

    def __init__(self, limit: int, window: timedelta, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, at: datetime) -> deque[datetime]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= at - self.window:
            hits.popleft()
        return hits

    def blocked(self, key: str, at: datetime) -> bool:
        with self._lock:
            return len(self._recent(key, at)) >= self.limit

    def fail(self, key: str, at: datetime) -> None:
        with self._lock:
            hits = self._recent(key, at)
            hits.append(at)
            self._hits[key] = hits
            self._hits.move_to_end(key)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)


def init_login(app) -> None:
    manager = getattr(app, "login_manager", None) or LoginManager(app)
    manager.login_view = "auth.login"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str):
        if not user_id.isdigit():
            return None
        with services().db.read() as db:
            row = db.get(accounts.UserAccount, int(user_id))
            if row is None or not row.active:
                return None
            return WebUser(str(row.id), row.username, row.display_name or row.username, row.role,
                           row.region)

    @manager.unauthorized_handler
    def unauthorized():
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("auth.login"))

    app.config.setdefault("LOGIN_IP_MAX_FAILURES", 20)
    app.config.setdefault("LOGIN_IP_WINDOW_SECONDS", 600)
    app.extensions["jishijiu.login_limiter"] = FailureLimiter(
        int(app.config["LOGIN_IP_MAX_FAILURES"]),
        timedelta(seconds=int(app.config["LOGIN_IP_WINDOW_SECONDS"])))


def _limiter() -> FailureLimiter:
    return current_app.extensions["jishijiu.login_limiter"]


def home_for(role: str) -> str:
    if role in DESIGN_ROLES and role not in CASEWORK_ROLES:
        return url_for("designer.index")
    return url_for("inbox.index")


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_for(current_user.role))


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = request.values.get("next")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(target, home_for(current_user.role)))
    if request.method == "GET":
        return render_template("auth/login.html", next=target or "", username="", error=None)

    username = (request.form.get("username") or "").strip()[:128]
    password = request.form.get("password") or ""
    client = request.remote_addr or "unknown"
    at = now()
    if _limiter().blocked(client, at):
        return render_template("auth/login.html", next=target or "", username=username,
                               error=_("登录失败次数过多，请稍后再试。")), 429
    svc = services()
    with svc.db.write() as db:
        user = accounts.authenticate(db, username, password, at) if username else None
        if user is not None:
            who = WebUser(str(user.id), user.username, user.display_name or user.username, user.role,
                          user.region)
            audit.append(db, chain=f"user:{user.username}", actor=user.username, action="user.login",
                         object_type="user", object_id=user.username, at=at, after={"ip": client})
        elif username:
            known = db.execute(select(accounts.UserAccount.id).where(
                accounts.UserAccount.username == username)).first()
            if known is not None:
                audit.append(db, chain=f"user:{username}", actor=username, action="user.login_failed",
                             object_type="user", object_id=username, at=at, after={"ip": client})
    if user is None:
        _limiter().fail(client, at)
        return render_template("auth/login.html", next=target or "", username=username,
                               error=_("用户名或密码错误。连续失败 5 次后账户将锁定 15 分钟。")), 401
    lang = session.get("lang")
    session.clear()  # a fresh session at every login
    if lang:
        session["lang"] = lang
    login_user(who)
    return redirect(safe_next(target, home_for(who.role)), code=303)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        with services().db.write() as db:
            audit.append(db, chain=f"user:{current_user.username}", actor=current_user.username,
                         action="user.logout", object_type="user", object_id=current_user.username,
                         at=now())
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已安全退出。"), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/lang")
def switch_language():
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("auth.index")), code=303)
