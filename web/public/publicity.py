"""The village publicity board (码上公示) and the objection form."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from engine.casework.public import guide as guides
from engine.casework.public import publicity
from engine.errors import NotFound, ValidationError
from web.public.common import bp, client_key, limits, programme_names, services


def _village(code: str):
    with services().db.read() as session:
        region = guides.public_region(session, code)
    if region.level != "village":
        raise NotFound("publicity boards are per village")
    return region


@bp.get("/<code>/publicity")
def board(code: str):
    region = _village(code)
    svc = services()
    names = programme_names()
    entries = publicity.board(svc.db, svc.engine, code, programmes=names)
    with svc.db.read() as session:
        results = publicity.results(session, code, programmes=names)
    return render_template("public/publicity.html", region=region, code=code, entries=entries,
                           results=results, objected=request.args.get("objected") == "1")


def _entry(code: str, task_id: int):
    svc = services()
    for entry in publicity.board(svc.db, svc.engine, code, programmes=programme_names()):
        if entry.task_id == task_id:
            return entry
    raise NotFound("no such publicity entry")


@bp.get("/<code>/publicity/<int:entry_id>/objection")
def objection_form(code: str, entry_id: int):
    region = _village(code)
    return render_template("public/objection.html", region=region, code=code, entry=_entry(code, entry_id),
                           text="", errors={})


@bp.post("/<code>/publicity/<int:entry_id>/objection")
def objection_submit(code: str, entry_id: int):
    region = _village(code)
    svc = services()
    text = request.form.get("objection", "")
    try:
        publicity.object_to(svc.db, svc.engine, village=code, task_id=entry_id, text=text, ip=client_key(),
                            now=svc.clock.now(), limits=limits())
    except ValidationError as exc:
        return render_template("public/objection.html", region=region, code=code,
                               entry=_entry(code, entry_id), text=text, errors=exc.fields), 400
    return redirect(url_for("public.board", code=code, objected=1), 303)
