"""Rules of the layout that import-linter cannot state (the rest are contracts in pyproject)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parents[2] / "fabrikate"


def test_no_module_imports_the_package_init() -> None:
    graph = grimp.build_graph("fabrikate", cache_dir=None)
    assert graph.find_modules_that_directly_import("fabrikate") == set()
    assert "fabrikate.api.generate" in graph.find_modules_that_directly_import(
        "fabrikate.records.recording"
    )  # the graph sees imports inside functions


def _fab_name(node: ast.AST | None) -> bool:
    """A literal ``'FAB_...'``, or an f-string that starts so."""
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    return isinstance(node, ast.Constant) and str(node.value).startswith("FAB_")


def _reads_fab_variables(source: str) -> list[int]:
    """The lines where ``source`` reads ``FAB_*`` from the environment or a mapping of it
    (``environ``, ``getenv``, ``env.get('FAB_X')``, ``env['FAB_X']``); writes do not count."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if _fab_name(node.slice):
                found.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name in ("get", "getenv") and node.args and _fab_name(node.args[0]):
                found.append(node.lineno)
    return sorted(set(found))


def test_settings_is_the_only_reader_of_fab_variables() -> None:
    readers = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in _reads_fab_variables(path.read_text())
    ]
    source = (PACKAGE / "settings.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if text.startswith("def variable("))
    assert readers == [f"fabrikate/settings.py:{line + 2}"]  # settings.variable's one line


def test_the_reader_check_sees_each_way_of_reading() -> None:
    source = (
        "import os\n"
        "a = os.environ.get('FAB_CACHE_DIR')\n"
        'b = os.environ["FAB_RECORDS"]\n'
        "c = os.getenv('FAB_GIT')\n"
        "d = os.environ.get('HOME')\n"
        "e = env.get('FAB_PR')\n"
        "f = env['FAB_SERVICE']\n"
        "env['FAB_HOOK'] = 'install'\n"
    )
    assert _reads_fab_variables(source) == [2, 3, 4, 6, 7]
