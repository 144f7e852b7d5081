"""What the operations return: plain result objects, and the error that carries one.

result = fabrikate.generate("hld", ["prod"])
print(result.output, [c.id for c in result.components], result.warnings)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import Diagnostic

if TYPE_CHECKING:
    from fabrikate.output import WriteResult
    from fabrikate.render.tree import ComponentResult

__all__ = ["GenerateResult", "Validation"]


@dataclass
class GenerateResult:
    """What ``generate`` did.

    ``up_to_date`` means nothing changed since the last identical run, so nothing was rendered:
    ``components`` is then empty and ``files.unchanged`` lists the output.
    """

    root: Path
    environments: tuple[str, ...]
    output: Path
    components: list[ComponentResult] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    files: WriteResult | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    record: dict[str, Any] | None = None  # the deployment record written for this run
    up_to_date: bool = False
    validation: Validation | None = None  # with ``validate``: the check of every object

    @property
    def warnings(self) -> list[Diagnostic]:
        """Every warning of the run."""
        return [d for d in self.diagnostics if d.level == "warning"]

    def keep_record(self, record: dict[str, Any] | None, warnings: list[Diagnostic]) -> None:
        """What ``recording`` tells: the record written, and the warnings of writing it."""
        self.record = record or self.record
        self.diagnostics.extend(warnings)


@dataclass
class Validation:
    """The offline check of every rendered object (``generate(validate=True)``)."""

    kube_version: str
    objects: int
    problems: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """The invalid objects."""
        return [p for p in self.problems if p.level == "error"]
