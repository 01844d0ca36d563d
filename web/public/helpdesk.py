"""The help request form (即时求助 / 码上办), the receipt and the satisfaction rating."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from engine.casework import regions
from engine.casework.public import guide as guides
from engine.casework.public import help as helpdesk
from engine.casework.public import ratings
from engine.errors import ValidationError
from web.public.common import bp, client_key, limits, services


def _villages(code: str) -> list[regions.Region]:
    """The villages the form offers: the village itself, or every village of the township."""
    with services().db.read() as session:
        region = guides.public_region(session, code)
        if region.level == "village":
            return [region]
        return regions.children_of(session, code)


def _form_page(code: str, values: dict, errors: dict, status: int = 200):
    return render_template("public/help.html", code=code, villages=_villages(code), values=values,
                           errors=errors, urgencies=helpdesk.URGENCIES), status


@bp.get("/<code>/help")
def help_form(code: str):
    return _form_page(code, {"urgency": "normal"}, {})


@bp.post("/<code>/help")
def help_submit(code: str):
    villages = {v.code for v in _villages(code)}
    values = {k: (request.form.get(k) or "").strip() for k in ("name", "phone", "village", "description",
                                                                "urgency")}
    if len(villages) == 1:
        values["village"] = next(iter(villages))
    errors = {} if values["village"] in villages else {"village": ["请选择所在村（社区）。"]}
    form = helpdesk.HelpForm(**values)
    errors.update(form.check())
    if errors:
        return _form_page(code, values, errors, 400)
    svc = services()
    try:
        receipt_code, _ = helpdesk.submit(svc.db, svc.engine, form, ip=client_key(), now=svc.clock.now(),
                                          limits=limits())
    except ValidationError as exc:
        return _form_page(code, values, exc.fields, 400)
    return redirect(url_for("public.receipt", receipt_code=helpdesk.display(receipt_code), new=1), 303)


@bp.route("/receipt", methods=["GET", "POST"])
def receipt_lookup():
    """Type the receipt code to see the progress (without JavaScript: a plain GET form)."""
    code = helpdesk.normalise(request.values.get("code", ""))
    if code:
        return redirect(url_for("public.receipt", receipt_code=helpdesk.display(code)), 303)
    return render_template("public/receipt_lookup.html")


@bp.get("/receipt/<receipt_code>")
def receipt(receipt_code: str):
    svc = services()
    view = helpdesk.receipt(svc.db, svc.engine, receipt_code)
    return render_template("public/receipt.html", receipt=view, code=helpdesk.display(helpdesk.normalise(receipt_code)),
                           new=request.args.get("new") == "1", ratings=ratings.RATINGS, errors={})


@bp.post("/receipt/<receipt_code>/rate")
def rate(receipt_code: str):
    svc = services()
    try:
        ratings.rate(svc.db, svc.engine, receipt_code, rating=request.form.get("rating", ""),
                     comment=request.form.get("comment", ""), ip=client_key(), now=svc.clock.now(),
                     limits=limits())
    except ValidationError as exc:
        view = helpdesk.receipt(svc.db, svc.engine, receipt_code)
        return render_template("public/receipt.html", receipt=view, code=helpdesk.display(
            helpdesk.normalise(receipt_code)), new=False, ratings=ratings.RATINGS, errors=exc.fields), 400
    return redirect(url_for("public.receipt", receipt_code=receipt_code, rated=1), 303)
