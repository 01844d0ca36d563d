"""The engine's one error hierarchy.

Every error a caller can act on derives from :class:`EngineError`.  Messages are written for the
person who has to fix the problem — a process designer (file and element), a caseworker (field) or
an operator.  HTTP status codes are *not* decided here; ``web/`` maps these classes in one table.
"""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Problem:
    """One problem found in a BPMN file: where it is and what is wrong."""

    file: str
    message: str
    element_id: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return f"{where}: {self.message}"


class DefinitionError(EngineError):
    """A BPMN definition is unsafe, malformed or invalid; names the file and the element."""

    code = "invalid_definition"

    def __init__(self, problems: list[Problem] | Problem) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        self.file = first.file if first else None
        self.element_id = first.element_id if first else None
        text = "; ".join(str(p) for p in self.problems) or "invalid definition"
        super().__init__(text)


class ExpressionError(EngineError):
    """An expression, script or timer value was refused or failed; names the BPMN element."""

    code = "invalid_expression"

    def __init__(self, message: str, *, expression: str | None = None,
                 element_id: str | None = None) -> None:
        self.expression = expression
        self.element_id = element_id
        self.reason = message  # without the element prefix, for reports that show the element apart
        prefix = f"[{element_id}] " if element_id else ""
        super().__init__(prefix + message)


class NotFound(EngineError):
    """The object does not exist, or is outside the caller's region (never say which)."""

    code = "not_found"


class TaskNotFound(NotFound):
    code = "task_not_found"


class NotAllowed(EngineError):
    """The caller's role or level may not do this."""

    code = "not_allowed"


class Conflict(EngineError):
    """Somebody else got there first (claimed, completed, stale version, fund would go negative)."""

    code = "conflict"


class ValidationError(EngineError):
    """Input data is invalid; ``fields`` maps each field name to its messages."""

    code = "validation_error"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        self.fields = fields or {}
        super().__init__(message, fields=self.fields)


class WorkflowError(EngineError):
    """The workflow itself failed while running (a script raised, a service operation failed)."""

    code = "workflow_error"

    def __init__(self, message: str, *, element_id: str | None = None) -> None:
        self.element_id = element_id
        prefix = f"[{element_id}] " if element_id else ""
        super().__init__(prefix + message)
