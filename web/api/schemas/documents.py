"""Issued documents (PDF): the list entry, and the body that (re)issues one."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine.casework.documents import CASE_KINDS, KINDS
from web.api.schemas.base import Strict


class DocumentIssue(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(CASE_KINDS),
                         metadata={"description": "approval_notice | refusal_notice | change_notice | publicity_list"})


class Document(ma.Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(allow_none=True, required=True)
    household_id = fields.Integer(allow_none=True, required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    title = fields.String(required=True)
    reference = fields.String(allow_none=True, required=True,
                              metadata={"description": "what it was issued for: decision:5, batch:12, …"})
    template_version = fields.String(required=True)
    sha256 = fields.String(required=True, metadata={"description": "of the PDF bytes; the audit event "
                                                                   "document.issued carries the same"})
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    download = fields.String(required=True, metadata={"description": "GET this URL for the PDF"})


class DocumentCreate(Strict):
    """A document that belongs to no single case: a batch summary or a region's publicity list."""

    kind = fields.String(required=True, validate=validate.OneOf(("batch_summary", "publicity_list")))
    batch_id = fields.Integer(strict=True, validate=validate.Range(1, 10**18 - 1),
                              metadata={"description": "batch_summary: the payment batch"})
    region_code = fields.String(validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$"),
                                metadata={"description": "publicity_list: the village or township"})
    programme = fields.String(validate=validate.Length(1, 64),
                              metadata={"description": "publicity_list: the programme code, e.g. dibao"})

    @ma.validates_schema
    def _needs(self, data, **_kwargs):
        wanted = ("batch_id",) if data.get("kind") == "batch_summary" else ("region_code", "programme")
        missing = {name: ["required for this kind"] for name in wanted if name not in data}
        if missing:
            raise ma.ValidationError(missing)


class DocumentQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    kind = fields.String(validate=validate.OneOf(KINDS))
    reference = fields.String(validate=validate.Length(1, 128),
                              metadata={"description": "e.g. batch:12, region:370827101201:dibao"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))
