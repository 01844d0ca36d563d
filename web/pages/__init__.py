"""HTML pages for caseworkers (Flask-Login sessions, CSRF)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page blueprints."""
