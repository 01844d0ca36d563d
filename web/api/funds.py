"""Funds: balances, ledgers, allocations, donations and reconciliation — money never goes negative.

A user sees the funds whose region is a prefix of theirs (the county's relief budget, seen from a
township) or lies inside it (the village charity funds of a township); money is moved only in funds
inside the user's own region.  Amounts are decimal strings; a JSON number is refused.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask import request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.casework import funds
from engine.casework.funds import Fund, FundEntry
from engine.errors import Conflict, NotAllowed, NotFound, ValidationError
from engine.workflow import audit
from web.api import schemas
from web.api.common import (TOTAL_HEADER, api_blueprint, body_doc, current_actor, iso, load, now,
                            read_json, services, with_total)
from web.api.policy import (DONATION_TAKERS, FUND_ALLOCATORS, FUND_CREATORS, FUND_READERS,
                            require)

blp = api_blueprint("funds", "/funds", "Funds and their ledgers / 资金台账")

CHARITY_KINDS = frozenset(k for k in funds.FUND_KINDS if k.startswith("charity"))
PREFIX_LENGTHS = (2, 4, 6, 9, 12)


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def fund_answer(f: Fund) -> dict:
    return {"id": f.id, "code": f.code, "kind": f.kind, "region_code": f.region_code,
            "name": f.name, "balance": money(f.balance), "reserved": money(f.reserved)}


def entry_answer(e: FundEntry) -> dict:
    return {"id": e.id, "fund_id": e.fund_id, "kind": e.kind, "amount": money(e.amount),
            "balance_delta": money(e.balance_delta), "reserved_delta": money(e.reserved_delta),
            "balance_after": money(e.balance_after), "reserved_after": money(e.reserved_after),
            "reference": e.reference, "note": e.note, "at": iso(e.at), "actor": e.actor}


def chain(fund_id: int) -> str:
    return f"fund:{fund_id}"


def _visibility(actor: Actor):
    """SQL: the fund's region is a prefix of the actor's, or lies inside it."""
    if not actor.region:
        return Fund.id.isnot(None)
    prefixes = [actor.region[:n] for n in PREFIX_LENGTHS if n <= len(actor.region)]
    return or_(Fund.region_code.in_(prefixes),
               Fund.region_code.startswith(actor.region, autoescape=True))


def _sees(actor: Actor, region_code: str) -> bool:
    return actor.sees(region_code) or actor.region.startswith(region_code)


def _visible(session: Session, fund_id: int, actor: Actor) -> Fund:
    fund = session.get(Fund, fund_id)
    if fund is None or not _sees(actor, fund.region_code):
        raise NotFound(f"fund {fund_id} not found / 未找到该资金")
    return fund


def _movable(session: Session, fund_id: int, actor: Actor) -> Fund:
    """A fund the actor may move money in: inside their own region (a higher level's: 403)."""
    fund = _visible(session, fund_id, actor)
    if not actor.sees(fund.region_code):
        raise NotAllowed(f"fund {fund.code} belongs to region {fund.region_code}, above yours "
                         "/ 该资金属于上级，不能在此入账")
    return fund


@blp.route("", methods=["GET"])
@blp.arguments(schemas.FundQuery, location="query")
@blp.response(200, schemas.Fund(many=True), headers=TOTAL_HEADER)
def list_funds(query):
    """Funds of your region, of the levels above it and of the villages under it."""
    actor = current_actor()
    require(actor, FUND_READERS, "read funds")
    conditions = [_visibility(actor)]
    if query.get("kind"):
        conditions.append(Fund.kind == query["kind"])
    with services().db.read() as session:
        total = session.execute(select(func.count(Fund.id)).where(*conditions)).scalar()
        rows = session.execute(select(Fund).where(*conditions)
                               .order_by(Fund.region_code, Fund.code)
                               .limit(query["limit"]).offset(query["offset"])).scalars()
        items = [fund_answer(f) for f in rows]
    return with_total(items, int(total or 0))


@blp.route("", methods=["POST"])
@blp.doc(**body_doc(schemas.FundIn))
@blp.response(201, schemas.Fund)
def create_fund():
    """Open a fund in your region (admin); it starts at 0.00."""
    actor = current_actor()
    require(actor, FUND_CREATORS, "open funds")
    body = load(schemas.FundIn, read_json())
    if not actor.sees(body["region_code"]):
        raise NotAllowed(f"region {body['region_code']} is outside your region {actor.region} "
                         "/ 不在您的辖区内")
    at = now()
    with services().db.write() as session:
        if session.execute(select(Fund.id).where(Fund.code == body["code"])).scalar() is not None:
            raise Conflict(f"a fund with the code {body['code']!r} exists / 资金代码已存在")
        fund = funds.create_fund(session, code=body["code"], kind=body["kind"],
                                 region_code=body["region_code"], name=body["name"])
        audit.append(session, chain=chain(fund.id), actor=actor.username, action="fund.created",
                     object_type="fund", object_id=fund.id, at=at,
                     after={"code": fund.code, "kind": fund.kind, "region_code": fund.region_code,
                            "name": fund.name})
        answer = fund_answer(fund)
    return answer, 201, {"Location": url_for("api_funds.get_fund", fund_id=answer["id"])}


@blp.route("/<api_id:fund_id>", methods=["GET"])
@blp.response(200, schemas.Fund)
def get_fund(fund_id: int):
    """A fund's balance (available) and what is reserved."""
    actor = current_actor()
    require(actor, FUND_READERS, "read funds")
    with services().db.read() as session:
        return fund_answer(_visible(session, fund_id, actor))


@blp.route("/<api_id:fund_id>/ledger", methods=["GET"])
@blp.arguments(schemas.PagedQuery, location="query")
@blp.response(200, schemas.FundEntry(many=True), headers=TOTAL_HEADER)
def fund_ledger(query, fund_id: int):
    """The fund's append-only ledger, newest first (``X-Total-Count`` counts every entry)."""
    actor = current_actor()
    require(actor, FUND_READERS, "read funds")
    with services().db.read() as session:
        _visible(session, fund_id, actor)
        total = session.execute(select(func.count(FundEntry.id))
                                .where(FundEntry.fund_id == fund_id)).scalar()
        items = [entry_answer(e) for e in funds.ledger(session, fund_id, limit=query["limit"],
                                                       offset=query["offset"])]
    return with_total(items, int(total or 0))


IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no spaces
IDEMPOTENCY_DOC = {"parameters": [{
    "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "maxLength": 64},
    "description": "a key of your choosing (1–64 printable ASCII characters) that makes a retry safe: "
                   "a second request with the same key books nothing and answers the first entry "
                   "with 200; the same key with another fund or amount is 409. Keys are per user."}]}


def idempotency_key(actor: Actor) -> str | None:
    """The request's ``Idempotency-Key``, scoped to the user (two clients never share a key)."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(raw):
        raise ValidationError("invalid Idempotency-Key", {"Idempotency-Key": [
            "1–64 printable ASCII characters without spaces / 幂等键须为 1–64 个可见 ASCII 字符"]})
    return f"{actor.username}:{raw}"


def _post(fund_id: int, kind: str, amount: Decimal, *, actor: Actor, reference: str | None,
          note: str | None, check=None):
    at = now()
    key = idempotency_key(actor)
    try:
        with services().db.write() as session:
            fund = _movable(session, fund_id, actor)
            if check is not None:
                check(fund)
            earlier = funds.replayed(session, fund, kind, amount, key)
            if earlier is not None:  # a retry: the money moved the first time
                return {**entry_answer(earlier), "fund": fund_answer(fund)}, 200
            entry = funds.post(session, fund, kind, amount, at=at, actor=actor.username,
                               reference=reference, note=note, idempotency_key=key)
            audit.append(session, chain=chain(fund.id), actor=actor.username, action=f"fund.{kind}",
                         object_type="fund_entry", object_id=entry.id, at=at,
                         after={"amount": money(entry.amount), "balance_after": money(entry.balance_after),
                                "reference": reference, "note": note})
            answer = {**entry_answer(entry), "fund": fund_answer(fund)}
    except DataError:  # the balance would pass the largest amount a column holds
        raise Conflict("the fund's balance would exceed the largest amount it can hold "
                       "/ 超出资金余额上限") from None
    return answer, 201


@blp.route("/<api_id:fund_id>/allocations", methods=["POST"])
@blp.doc(**body_doc(schemas.AllocationIn), **IDEMPOTENCY_DOC)
@blp.response(201, schemas.FundPosted)
@blp.alt_response(200, schema=schemas.FundPosted, description="a retry with an Idempotency-Key already booked")
def allocate(fund_id: int):
    """Put budget money into a fund of your region (admin, approver)."""
    actor = current_actor()
    require(actor, FUND_ALLOCATORS, "allocate money to funds")
    body = load(schemas.AllocationIn, read_json())
    return _post(fund_id, "allocation", body["amount"], actor=actor, reference=None,
                 note=body.get("note"))


@blp.route("/<api_id:fund_id>/donations", methods=["POST"])
@blp.doc(**body_doc(schemas.DonationIn), **IDEMPOTENCY_DOC)
@blp.response(201, schemas.FundPosted)
@blp.alt_response(200, schema=schemas.FundPosted, description="a retry with an Idempotency-Key already booked")
def donate(fund_id: int):
    """Book a donation into a charity fund of your region (caseworker, admin)."""
    actor = current_actor()
    require(actor, DONATION_TAKERS, "book donations")
    body = load(schemas.DonationIn, read_json())

    def charity_only(fund: Fund) -> None:
        if fund.kind not in CHARITY_KINDS:
            raise ValidationError("donations go to charity funds only", {"fund": [
                f"fund {fund.code} is a {fund.kind} fund; donations go to "
                f"{', '.join(sorted(CHARITY_KINDS))} funds only / 捐赠只能进入慈善基金"]})

    return _post(fund_id, "donation", body["amount"], actor=actor,
                 reference=f"donor:{body['donor']}"[:128], note=body.get("note"),
                 check=charity_only)


@blp.route("/<api_id:fund_id>/reconciliation", methods=["GET"])
@blp.response(200, schemas.Reconciliation)
def reconciliation(fund_id: int):
    """The fund's balance and reservations against the sums of its ledger, to the fen."""
    actor = current_actor()
    require(actor, FUND_READERS, "read funds")
    with services().db.read() as session:
        _visible(session, fund_id, actor)
        sums = funds.reconcile(session, fund_id)
        entries = session.execute(select(func.count(FundEntry.id))
                                  .where(FundEntry.fund_id == fund_id)).scalar()
    balance_diff = sums["balance"] - sums["ledger_balance"]
    reserved_diff = sums["reserved"] - sums["ledger_reserved"]
    return {"fund_id": fund_id, "balance": money(sums["balance"]),
            "ledger_balance": money(sums["ledger_balance"]), "reserved": money(sums["reserved"]),
            "ledger_reserved": money(sums["ledger_reserved"]),
            "balance_difference": money(balance_diff), "reserved_difference": money(reserved_diff),
            "entries": int(entries or 0), "ok": balance_diff == 0 and reserved_diff == 0}
