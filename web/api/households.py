"""Households: register, read, list, change.  ID numbers are masked unless revealed (audited)."""

from __future__ import annotations

from flask import url_for

from engine.casework import idnumber, records
from engine.casework.types import Household
from engine.errors import ValidationError
from web.api import schemas
from web.api.common import (TOTAL_HEADER, api_blueprint, body_doc, current_actor, iso, now,
                            read_json, services, with_total)

blp = api_blueprint("households", "/households", "Households / 家庭")


def answer(record: records.HouseholdRecord, *, reveal: bool = False) -> dict:
    data = record.household.to_dict() if reveal else records.masked_dict(record.household)
    return {**data, "id": record.id, "version": record.version,
            "created_at": iso(record.created_at), "created_by": record.created_by,
            "updated_at": iso(record.updated_at), "updated_by": record.updated_by}


@blp.route("", methods=["POST"])
@blp.doc(**body_doc(schemas.HouseholdShape))
@blp.response(201, schemas.Household)
def create_household():
    """Register a household in your region (caseworker, assistant in its village, admin)."""
    actor = current_actor()
    records.require_role(actor, records.HOUSEHOLD_EDITORS, "register households")  # 403 before 422
    household = Household.from_dict(read_json())
    with services().db.write() as session:
        household_id = records.create_household(session, household, actor=actor, now=now())
        record = records.get_household(session, household_id, actor=actor)
    location = url_for("api_households.get_household", household_id=household_id)
    return answer(record), 201, {"Location": location}


@blp.route("", methods=["GET"])
@blp.arguments(schemas.HouseholdQuery, location="query")
@blp.response(200, schemas.Household(many=True), headers=TOTAL_HEADER)
def list_households(query):
    """Households in your region, newest first (``X-Total-Count`` counts them all)."""
    actor = current_actor()
    with services().db.read() as session:
        found = records.list_households(session, actor=actor, limit=query["limit"],
                                        offset=query["offset"], region_code=query.get("region_code"))
        total = records.count_households(session, actor=actor, region_code=query.get("region_code"))
    return with_total([answer(r) for r in found], total)


@blp.route("/<api_id:household_id>", methods=["GET"])
@blp.arguments(schemas.RevealQuery, location="query")
@blp.response(200, schemas.Household)
def get_household(query, household_id: int):
    """One household; ``?reveal=id_number`` shows full ID numbers to roles that need them."""
    actor = current_actor()
    if query.get("reveal") == "id_number":
        with services().db.write() as session:
            return answer(records.reveal_id_numbers(session, household_id, actor=actor, now=now()),
                          reveal=True)
    with services().db.read() as session:
        return answer(records.get_household(session, household_id, actor=actor))


@blp.route("/<api_id:household_id>", methods=["PUT"])
@blp.doc(**body_doc(schemas.HouseholdUpdate))
@blp.response(200, schemas.Household)
def update_household(household_id: int):
    """Replace a household's data; send the ``version`` you read to be told (409) of a change."""
    actor = current_actor()
    records.require_role(actor, records.HOUSEHOLD_EDITORS, "change households")
    data = read_json()
    version = data.pop("version", None)
    for key in ("id", "created_at", "created_by", "updated_at", "updated_by"):
        data.pop(key, None)  # what GET answers may be sent back unchanged
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ValidationError("the request is invalid", {"version": ["must be a whole number"]})
    with services().db.write() as session:
        stored = records.get_household(session, household_id, actor=actor)
        household = Household.from_dict(_unmask(data, stored.household))
        record = records.update_household(session, household_id, household, actor=actor, now=now(),
                                          expected_version=version)
    return answer(record)


def _unmask(data: dict, stored: Household) -> dict:
    """Put back the full ID numbers of members sent with the masked form GET answered."""
    by_mask: dict[str, list[str]] = {}
    for member in stored.members:
        by_mask.setdefault(idnumber.mask(member.id_number), []).append(member.id_number)
    members = data.get("members")
    if not isinstance(members, list):
        return data
    restored = []
    for member in members:
        number = member.get("id_number") if isinstance(member, dict) else None
        if isinstance(number, str) and "*" in number and len(by_mask.get(number, [])) == 1:
            member = {**member, "id_number": by_mask[number][0]}
        restored.append(member)
    return {**data, "members": restored}


@blp.route("/<api_id:household_id>/assessments", methods=["GET"])
@blp.response(200, schemas.AssessmentAnswer(many=True))
def list_assessments(household_id: int):
    """The assessments recorded for a household, oldest first."""
    with services().db.read() as session:
        found = records.list_assessments(session, household_id, actor=current_actor())
    return [r.result for r in found]
