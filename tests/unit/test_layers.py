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


def _reads_fab_variables(source: str) -> list[int]:
    """The lines where ``source`` reads ``FAB_*`` from the environment (environ, getenv)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript | ast.Call):
            text = ast.unparse(node).replace('"', "'")
            if ("environ" in text or "getenv" in text) and "'FAB_" in text:
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
    )
    assert _reads_fab_variables(source) == [2, 3, 4]
