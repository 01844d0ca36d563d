"""Document templates as data: one TOML file per kind under ``templates/``.

A template is a title, a version and a list of blocks (title, number, paragraph, facts, table,
list, signature, receipt).  Texts take ``${name}`` placeholders filled with :class:`string.Template`
— no attribute access, no expressions, nothing a template could run — and a block with ``when``
is kept only when that context value is truthy.  A missing placeholder is an error, not a blank on
a legal notice.  The version is stored with every issued document, so a changed wording shows.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Any, Mapping

from engine.errors import EngineError

KINDS = ("approval_notice", "refusal_notice", "change_notice", "publicity_list", "batch_summary")
BLOCK_TYPES = ("title", "number", "paragraph", "facts", "table", "list", "signature", "receipt")


class TemplateError(EngineError):
    """A template names a placeholder the context does not have, or has an unknown block."""


@dataclass(frozen=True)
class DocumentTemplate:
    kind: str
    version: str
    title: str
    blocks: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Block:
    """One filled block: texts are final strings, tables are lists of string rows."""

    type: str
    text: str = ""
    caption: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    header: tuple[str, ...] = ()


def _read(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("templates", f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=None)
def common() -> dict[str, Any]:
    """Shared wording: programme names, relations, appeal periods, publicity days."""
    return _read("common")


@lru_cache(maxsize=None)
def load(kind: str) -> DocumentTemplate:
    if kind not in KINDS:
        raise TemplateError(f"unknown document kind {kind!r}")
    data = _read(kind)
    blocks = tuple(data.get("blocks", ()))
    for block in blocks:
        if block.get("type") not in BLOCK_TYPES:
            raise TemplateError(f"template {kind}: unknown block type {block.get('type')!r}")
    return DocumentTemplate(kind=data["kind"], version=str(data["version"]), title=data["title"],
                            blocks=blocks)


def fill(text: str, context: Mapping[str, Any]) -> str:
    try:
        return Template(text).substitute({k: _text(v) for k, v in context.items()})
    except (KeyError, ValueError) as exc:
        raise TemplateError(f"template placeholder {exc} has no value") from None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def fill_blocks(template: DocumentTemplate, context: Mapping[str, Any]) -> list[Block]:
    """The template's blocks with every placeholder replaced and tables/lists taken from context."""
    filled: list[Block] = []
    for block in template.blocks:
        when = block.get("when")
        if when and not context.get(when):
            continue
        kind = block["type"]
        caption = fill(block.get("caption", ""), context)
        if kind == "facts":
            rows = tuple((fill(k, context), fill(v, context)) for k, v in block["rows"])
            filled.append(Block(kind, caption=caption, rows=rows))
        elif kind == "table":
            columns = block["columns"]
            source = context.get(block["rows"]) or []
            rows = tuple(tuple(_text(row.get(key)) for _label, key in columns) for row in source)
            filled.append(Block(kind, caption=caption, header=tuple(label for label, _key in columns),
                                rows=rows))
        elif kind == "list":
            items = tuple((_text(item),) for item in (context.get(block["items"]) or []))
            filled.append(Block(kind, caption=caption, rows=items))
        elif kind == "signature":
            filled.append(Block(kind, rows=tuple((fill(line, context),) for line in block["lines"])))
        else:
            filled.append(Block(kind, text=fill(block["text"], context), caption=caption))
    return filled
