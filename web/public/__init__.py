"""The public pages (码上服务) under ``/public``: no login, phone-sized, Chinese only, no scripts.

``guide`` — the policy guide (码上知), its QR codes and printable poster; ``help`` — the help
request form (码上办), the receipt and the satisfaction rating; ``publicity`` — the village
publicity board (码上公示) and objections.  The CSRF check of ``web.pages`` covers these forms
too (it protects every unsafe request outside ``/api/``).
"""

from __future__ import annotations

from flask import Flask

from web.public import guide, helpdesk, publicity
from web.public.common import bp


def init_app(app: Flask) -> None:
    from web.pages.dashboard_satisfaction import panel

    app.register_blueprint(bp)
    app.jinja_env.globals.setdefault("satisfaction_panel", panel)


__all__ = ["init_app", "guide", "helpdesk", "publicity"]
