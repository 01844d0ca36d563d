"""Standards per region and date (data, not code): admins add rows; everyone signed in reads."""

from __future__ import annotations

from decimal import Decimal

from engine.casework import records
from engine.casework.types import Standard
from engine.errors import ValidationError
from web.api import schemas
from web.api.common import api_blueprint, body_doc, current_actor, now, read_json, services

blp = api_blueprint("standards", "/standards", "Assistance standards / 救助标准")


def answer(standard: Standard, standard_id: int | None = None) -> dict:
    data = standard.to_dict()
    multiplier = standard.marginal_multiplier
    if isinstance(multiplier, Decimal):  # 2.0000 as stored → "2"
        data["marginal_multiplier"] = format(multiplier.normalize(), "f")
    if standard_id is not None:
        data["id"] = standard_id
    return data


@blp.route("", methods=["POST"])
@blp.doc(**body_doc(schemas.StandardIn))
@blp.response(201, schemas.Standard)
def add_standard():
    """Add a standards row for a region prefix, valid from a date (admin only)."""
    actor = current_actor()
    records.require_role(actor, records.STANDARD_EDITORS, "set standards")  # 403 before 422
    standard = Standard.from_dict(read_json())
    with services().db.write() as session:
        standard_id = records.add_standard(session, standard, actor=actor, now=now())
    return answer(standard, standard_id), 201


@blp.route("", methods=["GET"])
@blp.arguments(schemas.StandardQuery, location="query")
@blp.response(200, schemas.Standard(many=True))
def list_standards(query):
    """Every standards row, or those that could apply to ``region_code`` (the one in force ``on``)."""
    region_code, on = query.get("region_code"), query.get("on")
    if on is not None and not region_code:
        raise ValidationError("say which region", {"region_code": ["required with 'on'"]})
    with services().db.read() as session:
        if on is not None:
            found = records.standard_for(session, region_code, on)
            return [answer(found)] if found is not None else []
        return [answer(s) for s in records.list_standards(session, region_code=region_code)]
