"""Benefits in payment: bank accounts, entitlements, the county's monthly payment batches, the bank's
files and the figures.  A batch belongs to a county: county-level users act on it, a township's
users may read it, anyone else gets 404.  Who may do what:

* bank account — set: caseworker, assistant, admin (their households); read: household readers;
* entitlements — read: caseworker, approver, supervisor, admin; suspend/resume: caseworker, approver, admin;
* batches — draft, export, reconcile: caseworker, approver, admin at county level or above;
  approve and lock: approver, admin (not the person who drafted the batch).
"""

from __future__ import annotations

from flask import Response, request, url_for

from engine.casework import records
from engine.casework.benefits import bankfile, cycles, entitlements, figures as benefit_figures, reconcile
from engine.errors import NotAllowed, NotFound, ValidationError
from web.api.common import api_blueprint, body_doc, current_actor, load, now, read_json, services, with_total, TOTAL_HEADER
from web.api.policy import require
from web.api.schemas import benefits as schemas

blp = api_blueprint("benefits", "/benefits", "Benefits in payment / 社会化发放")

READERS = frozenset({"admin", "caseworker", "approver", "supervisor"})
CHANGERS = frozenset({"admin", "caseworker", "approver"})
CLERKS = frozenset({"admin", "caseworker", "approver"})
APPROVERS = frozenset({"admin", "approver"})


def _config(key: str, default):
    return services().config.get(key, default)


def _county(actor, region_code: str) -> None:
    """The actor acts on the county's batch: the county lies inside their region."""
    if not actor.sees(region_code):
        if actor.region.startswith(region_code):
            raise NotAllowed("only the county (or above) acts on its payment batches / 仅县级可操作发放批次")
        raise NotFound(f"region {region_code} not found / 未找到该地区")


# --------------------------------------------------------------------------- bank account

@blp.route("/households/<api_id:household_id>/bank-account", methods=["PUT"])
@blp.doc(**body_doc(schemas.BankAccountIn))
@blp.response(200, schemas.BankAccount)
def set_bank_account(household_id: int):
    """Record the one account the household's monthly benefits are paid into (一卡发放)."""
    actor = current_actor()
    body = load(schemas.BankAccountIn, read_json())
    with services().db.write() as session:
        row = records.set_bank_account(session, household_id, body, actor=actor, now=now())
        return records.bank_account_dict(row)


@blp.route("/households/<api_id:household_id>/bank-account", methods=["GET"])
@blp.arguments(schemas.RevealAccountQuery, location="query")
@blp.response(200, schemas.BankAccount)
def get_bank_account(query, household_id: int):
    """The household's account, the number masked unless ``?reveal=account_no`` (audited roles only)."""
    actor = current_actor()
    with services().db.read() as session:
        answer = records.get_bank_account(session, household_id, actor=actor,
                                          reveal=query.get("reveal") == "account_no")
    if answer is None:
        raise NotFound(f"household {household_id} has no bank account / 该家庭未登记银行账户")
    return answer


# --------------------------------------------------------------------------- entitlements

@blp.route("/entitlements", methods=["GET"])
@blp.arguments(schemas.EntitlementQuery, location="query")
@blp.response(200, schemas.Entitlement(many=True), headers=TOTAL_HEADER)
def list_entitlements(query):
    """Entitlements in your region (``X-Total-Count`` counts them all)."""
    actor = current_actor()
    require(actor, READERS, "read entitlements")
    with services().db.read() as session:
        items, total = entitlements.listing(session, region=actor.region, household_id=query.get("household_id"),
                                            programme=query.get("programme"), status=query.get("status"),
                                            limit=query["limit"], offset=query["offset"])
    return with_total(items, total)


@blp.route("/entitlements/<api_id:entitlement_id>", methods=["GET"])
@blp.response(200, schemas.Entitlement)
def get_entitlement(entitlement_id: int):
    """One entitlement with its periods and every change (reason, decision, who, when)."""
    actor = current_actor()
    require(actor, READERS, "read entitlements")
    with services().db.read() as session:
        return entitlements.detail(session, entitlement_id, region=actor.region)


def _change(entitlement_id: int, action: str):
    actor = current_actor()
    require(actor, CHANGERS, "change entitlements")
    body = load(schemas.EntitlementChangeIn, read_json())
    with services().db.write() as session:
        return entitlements.change_manually(session, entitlement_id, action=action, from_month=body["from_month"],
                                            reason=body["reason"], actor=actor.username, at=now(),
                                            region=actor.region)


@blp.route("/entitlements/<api_id:entitlement_id>/suspend", methods=["POST"])
@blp.doc(**body_doc(schemas.EntitlementChangeIn))
@blp.response(200, schemas.Entitlement)
def suspend_entitlement(entitlement_id: int):
    """Suspend payment from a month (暂停发放), with a written reason; 409 unless active or tapering."""
    return _change(entitlement_id, "suspend")


@blp.route("/entitlements/<api_id:entitlement_id>/resume", methods=["POST"])
@blp.doc(**body_doc(schemas.EntitlementChangeIn))
@blp.response(200, schemas.Entitlement)
def resume_entitlement(entitlement_id: int):
    """Resume a suspended entitlement from a month at its amount; months missed are back-paid."""
    return _change(entitlement_id, "resume")


# --------------------------------------------------------------------------- batches

@blp.route("/batches", methods=["POST"])
@blp.doc(**body_doc(schemas.BatchIn))
@blp.response(201, schemas.Batch)
def draft_batch():
    """Draft (or re-draft) the county's batch for a month; an approved or later batch is answered
    unchanged with 200 — re-running the cycle pays nobody twice."""
    actor = current_actor()
    require(actor, CLERKS, "draft payment batches")
    body = load(schemas.BatchIn, read_json())
    _county(actor, body["region_code"])
    with services().db.write() as session:
        batch = cycles.draft(session, region_code=body["region_code"], month=body["month"], actor=actor.username,
                             at=now(), arrears_months=int(_config("BENEFITS_ARREARS_MONTHS",
                                                                  cycles.DEFAULT_ARREARS_MONTHS)))
        answer = cycles.batch_dict(batch)
    status = 201 if answer["status"] == "draft" else 200
    return answer, status, {"Location": url_for("api_benefits.get_batch", batch_id=answer["id"])}


@blp.route("/batches", methods=["GET"])
@blp.arguments(schemas.BatchQuery, location="query")
@blp.response(200, schemas.Batch(many=True), headers=TOTAL_HEADER)
def list_batches(query):
    """Batches of your county (or of the counties in your region), newest month first."""
    actor = current_actor()
    require(actor, READERS, "read payment batches")
    with services().db.read() as session:
        items, total = cycles.list_batches(session, region=actor.region, month=query.get("month"),
                                           limit=query["limit"], offset=query["offset"])
    return with_total(items, total)


@blp.route("/batches/<api_id:batch_id>", methods=["GET"])
@blp.response(200, schemas.Batch)
def get_batch(batch_id: int):
    actor = current_actor()
    require(actor, READERS, "read payment batches")
    with services().db.read() as session:
        return cycles.batch_dict(cycles.get_batch(session, batch_id, region=actor.region))


@blp.route("/batches/<api_id:batch_id>/lines", methods=["GET"])
@blp.arguments(schemas.LineQuery, location="query")
@blp.response(200, schemas.Line(many=True), headers=TOTAL_HEADER)
def list_lines(query, batch_id: int):
    """The batch's lines (account numbers and ID numbers masked)."""
    actor = current_actor()
    require(actor, READERS, "read payment batches")
    with services().db.read() as session:
        cycles.get_batch(session, batch_id, region=actor.region)
        items, total = cycles.list_lines(session, batch_id, status=query.get("status"), limit=query["limit"],
                                         offset=query["offset"])
    return with_total(items, total)


@blp.route("/batches/<api_id:batch_id>/approve", methods=["POST"])
@blp.response(200, schemas.Batch)
def approve_batch(batch_id: int):
    """Approve a draft (审核): another person than the one who drafted it."""
    actor = current_actor()
    require(actor, APPROVERS, "approve payment batches")
    with services().db.write() as session:
        return cycles.batch_dict(cycles.approve(session, batch_id, actor=actor.username, region=actor.region,
                                                at=now()))


@blp.route("/batches/<api_id:batch_id>/lock", methods=["POST"])
@blp.response(200, schemas.Batch)
def lock_batch(batch_id: int):
    """Lock an approved batch and debit each programme's fund (409 if a fund would go negative)."""
    actor = current_actor()
    require(actor, APPROVERS, "lock payment batches")
    with services().db.write() as session:
        return cycles.batch_dict(cycles.lock(session, batch_id, actor=actor.username, region=actor.region,
                                             at=now(), fund_kinds=_config("BENEFITS_FUND_KINDS", None)))


@blp.route("/batches/<api_id:batch_id>/bank-file", methods=["GET"])
@blp.arguments(schemas.ExportQuery, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="text/csv")
def export_batch(query, batch_id: int):
    """The payment file for the bank (CSV, layout in docs/benefits.md); the batch becomes exported.
    ``id_mode`` full | masked | none — what the bank needs of the holder's ID number."""
    actor = current_actor()
    require(actor, CLERKS, "export payment batches")
    mode = request.args.get("id_mode") or _config("BENEFITS_BANK_FILE_ID", "masked")
    with services().db.write() as session:
        data, batch = reconcile.export(session, batch_id, actor=actor.username, region=actor.region, at=now(),
                                       id_mode=mode)
    name = f"payment-{batch['region_code']}-{batch['month']}-{batch['id']}.csv"
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": batch["file_sha256"]})


@blp.route("/batches/<api_id:batch_id>/bank-result", methods=["POST"])
@blp.response(200, schemas.Batch)
def reconcile_batch(batch_id: int):
    """Import the bank's result file (multipart field ``file``, or the CSV as the body): every line
    marked paid or failed, totals checked to the fen, failures returned to the fund for re-issue."""
    actor = current_actor()
    require(actor, CLERKS, "reconcile payment batches")
    # a county's result file is larger than the API's usual 8 MB (about 60 bytes a line)
    request.max_content_length = bankfile.MAX_RESULT_BYTES
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    if not data:
        raise ValidationError("no result file", {"file": ["required"]})
    with services().db.write() as session:
        return reconcile.reconcile(session, batch_id, data, actor=actor.username, region=actor.region, at=now(),
                                   fund_kinds=_config("BENEFITS_FUND_KINDS", None))


# --------------------------------------------------------------------------- figures

@blp.route("/figures", methods=["GET"])
@blp.arguments(schemas.FiguresQuery, location="query")
@blp.response(200, schemas.Figures)
def figures(query):
    """People covered, money paid per month and programme, failed payments — for your region."""
    actor = current_actor()
    require(actor, READERS, "read benefit figures")
    region = query.get("region_code") or actor.region
    if not actor.sees(region):
        raise NotFound(f"region {region} not found / 未找到该地区")
    months = [m.strip() for m in query["months"].split(",") if m.strip()] if query.get("months") else None
    with services().db.read() as session:
        return benefit_figures(session, region, months)
