"""Regions (division codes and names): everyone signed in reads; admins add or rename."""

from __future__ import annotations

from marshmallow import Schema, fields

from engine.casework import records, regions
from engine.errors import NotFound
from web.api.common import api_blueprint, body_doc, current_actor, read_json, services

blp = api_blueprint("regions", "/regions", "Regions / 行政区划")


class RegionOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, metadata={"description": "province|city|county|township|village"})
    parent_code = fields.String(allow_none=True)


class RegionIn(Schema):
    code = fields.String(required=True, metadata={"description": "2, 4, 6, 9 or 12 digits"})
    name = fields.String(required=True)


class RegionQuery(Schema):
    parent = fields.String(metadata={"description": "children of this code; absent: the top level"})


def _answer(region: regions.Region) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level, "parent_code": region.parent_code}


@blp.route("", methods=["GET"])
@blp.arguments(RegionQuery, location="query")
@blp.response(200, RegionOut(many=True))
def list_regions(query):
    """The regions directly under ``parent`` (or the top level)."""
    current_actor()
    with services().db.read() as session:
        return [_answer(r) for r in regions.children_of(session, query.get("parent"))]


@blp.route("/<string:code>", methods=["GET"])
@blp.response(200, RegionOut(many=True))
def region_path(code):
    """The region and its ancestors, province first."""
    current_actor()
    with services().db.read() as session:
        path = regions.path_of(session, code)
    if not path or path[-1].code != code:
        raise NotFound(f"region {code} not found")
    return [_answer(r) for r in path]


@blp.route("", methods=["POST"])
@blp.doc(**body_doc(RegionIn))
@blp.response(201, RegionOut)
def upsert_region():
    """Add or rename a region (admin)."""
    actor = current_actor()
    records.require_role(actor, records.STANDARD_EDITORS, "edit regions")
    body = read_json()
    code, name = str(body.get("code") or ""), str(body.get("name") or "")
    with services().db.write() as session:
        region = regions.upsert(session, code, name)
    return _answer(region), 201
