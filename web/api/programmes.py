"""Programmes the installed plugins provide, and one programme's assessment of one household."""

from __future__ import annotations

from engine import plugins
from engine.casework import records
from engine.casework.assessment import assess_programme
from engine.casework.types import Household
from engine.clock import to_local
from engine.errors import NotAllowed, NotFound, ValidationError
from web.api import schemas
from web.api.common import api_blueprint, body_doc, current_actor, load, now, read_json, services

blp = api_blueprint("programmes", "/programmes", "Relief programmes / 救助项目")


def _programmes() -> dict:
    pm = services().pm
    return plugins.programmes(pm) if pm is not None else {}


@blp.route("", methods=["GET"])
@blp.response(200, schemas.Programme(many=True))
def list_programmes():
    """Every programme a plugin provides (dibao, tekun, linshi, charity, and any other)."""
    return [info.to_dict() for info in _programmes().values()]


@blp.route("/<code>", methods=["GET"])
@blp.response(200, schemas.Programme)
def get_programme(code: str):
    """One programme: conditions, documents, options, rule version."""
    info = _programmes().get(code)
    if info is None:
        raise NotFound(f"no plugin provides the programme '{code}' / 没有该救助项目")
    return info.to_dict()


@blp.route("/<code>/assess", methods=["POST"])
@blp.doc(**body_doc(schemas.AssessRequest))
@blp.response(200, schemas.AssessmentAnswer)
def assess(code: str):
    """Assess one household (given inline, or stored: ``household_id``) for one programme.

    An assessment of a stored household is recorded (and audited); an inline one is a trial.
    """
    actor = current_actor()
    records.require_role(actor, records.ASSESSORS, "assess households")
    body = load(schemas.AssessRequest, read_json())
    if code not in _programmes():
        raise NotFound(f"no plugin provides the programme '{code}' / 没有该救助项目")
    if ("household" in body) == ("household_id" in body):
        raise ValidationError("give either household or household_id", {
            "household": ["give either household or household_id / 请提供家庭信息或家庭编号"]})
    svc = services()
    as_of = body.get("as_of") or to_local(now()).date()
    household_id = body.get("household_id")
    with svc.db.write() as session:
        if household_id is not None:
            household = records.get_household(session, household_id, actor=actor).household
        else:
            household = _inline(body["household"])
            if not actor.sees(household.region_code):
                raise NotAllowed(f"region {household.region_code} is outside your region "
                                 "/ 该家庭不在您的辖区内")
        standard = records.standard_for(session, household.region_code, as_of)
        if standard is None:
            raise ValidationError("no standard applies", {"as_of": [
                f"no standard applies to region {household.region_code} on {as_of.isoformat()} "
                "/ 该地区该日期没有适用的救助标准"]})
        result = assess_programme(svc.pm, programme=code, household=household, standard=standard,
                                  as_of=as_of, settings=svc.settings, options=body["options"])
        if household_id is not None:
            records.record_assessment(session, household_id=household_id, assessment=result,
                                      as_of=as_of, actor=actor, now=now())
    return result.to_dict()


def _inline(data: dict) -> Household:
    try:
        return Household.from_dict(data)
    except ValidationError as exc:
        raise ValidationError(exc.message, {f"household.{k}": v for k, v in exc.fields.items()}) from None
