"""REST API /api/v1 (flask-smorest)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API blueprints."""
