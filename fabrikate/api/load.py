"""``load``: resolve a tree without running anything.

tree = fabrikate.load("examples/trivia", ["prod"])
print([node.id for node in tree.components])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fabrikate.errors import Diagnostic, FabrikateError, raise_all
from fabrikate.settings import Settings

if TYPE_CHECKING:
    from fabrikate.hld.resolve import Tree

__all__ = ["load", "strict_errors"]


def load(
    path: str | Path = ".",
    environments: Sequence[str] = (),
    *,
    settings: Settings | None = None,
) -> Tree:
    """Resolve the tree at ``path`` for ``environments`` without running anything."""
    from fabrikate.hld.resolve import walk

    settings = settings or Settings.from_env()
    tree = walk(Path(path), environments, allow_outside_root=settings.allow_outside_root)
    raise_all(strict_errors(tree.diagnostics, settings))
    return tree


def strict_errors(diagnostics: Sequence[Diagnostic], settings: Settings) -> list[FabrikateError]:
    """With ``--strict``, every warning as an error."""
    if not settings.strict:
        return []
    return [d.escalated(" (--strict)").as_error() for d in diagnostics if d.level == "warning"]
