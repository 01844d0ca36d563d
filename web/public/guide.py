"""The policy guide (码上知) per township or village, its QR codes and the printable poster."""

from __future__ import annotations

import io

import segno
from flask import Response, current_app, render_template, url_for
from sqlalchemy import select

from engine import plugins as plugin_registry
from engine.casework import regions
from engine.casework.public import guide as guides
from engine.clock import to_local
from web.public.common import bp, services

QR_BORDER = 2


def guide_url(code: str) -> str:
    """The address a QR code carries: ``PUBLIC_BASE_URL`` when set (what phones outside reach),
    else this request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("public.guide", code=code)
    return url_for("public.guide", code=code, _external=True)


def _qr(code: str) -> segno.QRCode:
    with services().db.read() as session:
        guides.public_region(session, code)
    return segno.make(guide_url(code), error="m", micro=False)


@bp.get("/")
def index():
    """Every township and village with a guide (for staff printing posters and for the curious)."""
    with services().db.read() as session:
        rows = session.execute(select(regions.RegionRow).where(
            regions.RegionRow.level.in_(("township", "village"))).order_by(regions.RegionRow.code)).scalars()
        townships: dict[str, dict] = {}
        for row in rows:
            if row.level == "township":
                townships.setdefault(row.code, {"code": row.code, "name": row.name, "villages": []})
            else:
                entry = townships.setdefault(row.code[:9], {"code": row.code[:9], "name": row.code[:9],
                                                            "villages": []})
                entry["villages"].append({"code": row.code, "name": row.name})
    return render_template("public/index.html", townships=list(townships.values()))


@bp.get("/<code>")
def guide(code: str):
    svc = services()
    today = to_local(svc.clock.now()).date()
    with svc.db.read() as session:
        page = guides.policy_guide(session, region_code=code, on_date=today,
                                   programmes=plugin_registry.programmes(svc.pm), settings=svc.settings)
    response = Response(render_template("public/guide.html", guide=page, code=code,
                                        is_village=len(code) == 12))
    response.headers["Cache-Control"] = "public, max-age=300"  # no personal data on this page
    return response


@bp.get("/<code>/qr.svg")
def qr_svg(code: str):
    out = io.BytesIO()
    _qr(code).save(out, kind="svg", scale=8, border=QR_BORDER, xmldecl=False, title="码上服务")
    return Response(out.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/<code>/qr.png")
def qr_png(code: str):
    out = io.BytesIO()
    _qr(code).save(out, kind="png", scale=10, border=QR_BORDER)
    return Response(out.getvalue(), mimetype="image/png",
                    headers={"Cache-Control": "public, max-age=86400",
                             "Content-Disposition": f'inline; filename="jishijiu-{code}.png"'})


@bp.get("/<code>/poster")
def poster(code: str):
    with services().db.read() as session:
        region = guides.public_region(session, code)
        path = regions.path_of(session, code)
        contact = guides.contact_for(session, code)
    return render_template("public/poster.html", region=region, path=path, contact=contact,
                           url=guide_url(code), code=code)
