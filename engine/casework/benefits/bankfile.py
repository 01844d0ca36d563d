"""The bank's files: the payment file we send (代发文件) and the result file the bank sends back.

Both are CSV in UTF-8 (a byte-order mark is written, and accepted or not on reading; GB18030 is
accepted on reading because many bank systems still write it).  Each file starts with a two-row
control block — names, then values — followed by the column names and one row per line.  The
layouts, column by column, are in ``docs/benefits.md``; the exporter writes nothing that changes
between two exports of the same batch, so exporting again gives the same bytes (same sha256).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.casework import idnumber
from engine.casework.benefits import months
from engine.casework.benefits.cycles import line_reference
from engine.casework.benefits.models import PaymentBatchRow, PaymentLineRow
from engine.errors import ValidationError

PAYMENT_CONTROL = ("批次号", "地区代码", "发放月份", "总笔数", "总金额")
PAYMENT_COLUMNS = ("序号", "业务编号", "户名", "账号", "开户银行", "证件号码", "金额", "项目", "所属月份", "摘要")
RESULT_CONTROL = ("批次号", "总笔数", "总金额", "成功笔数", "成功金额", "失败笔数", "失败金额")
RESULT_COLUMNS = ("序号", "业务编号", "账号", "金额", "结果", "失败原因")
ID_MODES = ("masked", "full", "none")
PROGRAMME_ZH = {"dibao": "低保金", "tekun": "特困供养金"}
SUCCESS = {"成功", "S", "SUCCESS", "PAID", "0000"}
FAILURE = {"失败", "F", "FAIL", "FAILED"}
MAX_RESULT_BYTES = 64 * 1024 * 1024


def batch_code(batch: PaymentBatchRow) -> str:
    return f"JSJ{batch.region_code}{batch.month.replace('-', '')}{batch.id:06d}"


def _id(value: str | None, mode: str) -> str:
    if not value or mode == "none":
        return ""
    return value if mode == "full" else idnumber.mask(value)


def payment_rows(session: Session, batch: PaymentBatchRow, id_mode: str = "masked") -> Iterator[list[str]]:
    if id_mode not in ID_MODES:
        raise ValidationError("unknown ID mode", {"id_mode": [f"one of {', '.join(ID_MODES)}"]})
    yield list(PAYMENT_CONTROL)
    yield [batch_code(batch), batch.region_code, batch.month, str(batch.line_count), months.yuan(batch.total_fen)]
    yield list(PAYMENT_COLUMNS)
    t = PaymentLineRow
    q = (select(t.month, t.programme, t.household_id, t.attempt, t.holder, t.account_no, t.bank, t.holder_id_number,
                t.amount_fen, t.kind).where(t.batch_id == batch.id).order_by(t.id)
         .execution_options(yield_per=5000))
    for seq, (month, programme, household_id, attempt, holder, account_no, bank, id_number, fen, kind) in \
            enumerate(session.execute(q), start=1):
        label = PROGRAMME_ZH.get(programme, programme)
        memo = f"{label}{month[:4]}年{month[5:]}月" + ("补发" if kind != "regular" else "")
        yield [str(seq), line_reference(month, programme, household_id, attempt), holder, account_no, bank,
               _id(id_number, id_mode), months.yuan(fen), programme, month, memo]


def payment_file(session: Session, batch: PaymentBatchRow, id_mode: str = "masked") -> tuple[bytes, str]:
    """The whole payment file and its sha256."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in payment_rows(session, batch, id_mode):
        writer.writerow(row)
    data = b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ResultLine:
    row: int
    reference: str
    account_no: str
    amount_fen: int
    paid: bool
    reason: str


@dataclass(frozen=True)
class ResultFile:
    batch_code: str
    count: int
    total_fen: int
    paid_count: int
    paid_fen: int
    failed_count: int
    failed_fen: int
    lines: tuple[ResultLine, ...]
    sha256: str


def _decode(data: bytes) -> str:
    if len(data) > MAX_RESULT_BYTES:
        raise ValidationError("the result file is too large", {"file": [f"at most {MAX_RESULT_BYTES} bytes"]})
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError("the result file is neither UTF-8 nor GB18030", {"file": ["unknown text encoding"]})


def _fen(text: str, where: str, problems: dict) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        problems.setdefault(where, []).append(f"{text!r} is not an amount")
        return 0
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        problems.setdefault(where, []).append(f"{text!r} is not an amount in yuan with at most two decimals")
        return 0
    return int(value * 100)


def _int(text: str, where: str, problems: dict) -> int:
    if not text.strip().isdigit():
        problems.setdefault(where, []).append(f"{text!r} is not a count")
        return 0
    return int(text.strip())


def parse_result(data: bytes) -> ResultFile:
    """Read a bank result file; every problem is reported at once (``row N`` → messages)."""
    sha = hashlib.sha256(data).hexdigest()
    rows = [r for r in csv.reader(io.StringIO(_decode(data))) if any(c.strip() for c in r)]
    problems: dict[str, list[str]] = {}
    if len(rows) < 3 or tuple(c.strip() for c in rows[0][:len(RESULT_CONTROL)]) != RESULT_CONTROL \
            or tuple(c.strip() for c in rows[2][:len(RESULT_COLUMNS)]) != RESULT_COLUMNS:
        raise ValidationError("not a result file in the documented layout",
                              {"file": ["rows 1 and 3 must be the control and column names of docs/benefits.md"]})
    control = [c.strip() for c in rows[1]] + [""] * len(RESULT_CONTROL)
    code = control[0]
    count, total = _int(control[1], "row 2", problems), _fen(control[2], "row 2", problems)
    paid_count, paid = _int(control[3], "row 2", problems), _fen(control[4], "row 2", problems)
    failed_count, failed = _int(control[5], "row 2", problems), _fen(control[6], "row 2", problems)
    lines = []
    for n, raw in enumerate(rows[3:], start=4):
        where = f"row {n}"
        cells = [c.strip() for c in raw] + [""] * len(RESULT_COLUMNS)
        outcome = cells[4].upper()
        if outcome not in SUCCESS and cells[4] not in SUCCESS and outcome not in FAILURE and cells[4] not in FAILURE:
            problems.setdefault(where, []).append(f"result {cells[4]!r} is neither 成功 nor 失败")
        ok = outcome in SUCCESS or cells[4] in SUCCESS
        if not cells[1]:
            problems.setdefault(where, []).append("业务编号 is empty")
        lines.append(ResultLine(n, cells[1], cells[2], _fen(cells[3], where, problems), ok,
                                "" if ok else (cells[5] or "银行未说明原因")[:255]))
    if problems:
        raise ValidationError("the result file has errors", problems)
    return ResultFile(code, count, total, paid_count, paid, failed_count, failed, tuple(lines), sha)
