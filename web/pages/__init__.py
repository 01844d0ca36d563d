"""HTML pages for caseworkers and designers (Flask-Login sessions, CSRF on every form).

One blueprint per concern: ``auth`` (log in and out, language), ``inbox``, ``tasks``, ``cases``,
``designer``, ``dashboard`` (supervisors' figures), ``supervision`` (escalations, 停表).  Every
page checks the role (403) and every object the user's region (404, never saying that it exists).  CSRF protection covers every unsafe request outside ``/api/``, which
authenticates with bearer tokens instead of cookies.
"""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from web.i18n import LANGUAGES, current_language, gettext, html_lang
from web.pages import auth, cases, dashboard, designer, inbox, supervision, tasks
from web.pages.common import local_time, mask_text, role_label, status_label

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _csrf(app: Flask) -> None:
    """Check CSRF tokens ourselves so that ``/api/`` (bearer tokens, no cookies) is left alone."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf = app.extensions.get("csrf") or CSRFProtect(app)

    @app.before_request
    def _protect_pages():
        if not app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.method not in UNSAFE or request.endpoint is None:
            return
        if request.path == "/api" or request.path.startswith("/api/"):
            return
        if request.blueprint == "designer":
            # a BPMN file travels back as a form field when it is deployed (Flask's default: 500 kB)
            request.max_form_memory_size = int(app.config.get("DESIGNER_FORM_MAX_BYTES", 8 * 1024 * 1024))
        view = app.view_functions.get(request.endpoint)
        if view is not None and f"{view.__module__}.{view.__name__}" in getattr(csrf, "_exempt_views", set()):
            return
        csrf.protect()


def init_app(app: Flask) -> None:
    """Register the page blueprints, login, CSRF and the template helpers."""
    _csrf(app)
    auth.init_login(app)
    for blueprint in (auth.bp, inbox.bp, tasks.bp, cases.bp, designer.bp, dashboard.bp, supervision.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(
        _=gettext, current_language=current_language, html_lang=html_lang, LANGUAGES=LANGUAGES,
        role_label=role_label, status_label=status_label, local_time=local_time, mask=mask_text)
