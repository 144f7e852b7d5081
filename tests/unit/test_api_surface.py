"""The public API is a curated list, and importing it is cheap."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import types
import typing
from typing import Any

import fabrikate

# The public API. A change here is a change for every library user: make it on purpose.
PUBLIC = [
    "Component",
    "ComponentResult",
    "ConfigConflictError",
    "Definition",
    "Diagnostic",
    "DiffResult",
    "Explanation",
    "FabrikateError",
    "Failures",
    "FetchError",
    "GenerateResult",
    "InitResult",
    "InputError",
    "InstallResult",
    "Location",
    "OutputConflict",
    "ProcessError",
    "RecordsError",
    "ResolvedComponent",
    "Settings",
    "SourceError",
    "Store",
    "OutdatedResult",
    "TimedOut",
    "Tree",
    "ValidationFailed",
    "ValidationReport",
    "VendorResult",
    "__version__",
    "add_subcomponent",
    "diff",
    "explain",
    "find_definitions",
    "generate",
    "init",
    "install",
    "load",
    "open_store",
    "outdated",
    "remove_subcomponent",
    "set_config",
    "validate",
    "vendor",
]


def test_all_is_pinned() -> None:
    assert sorted(fabrikate.__all__) == sorted(PUBLIC)
    assert sorted(dir(fabrikate)) == sorted(PUBLIC)


def test_every_exported_name_resolves() -> None:
    for name in fabrikate.__all__:
        assert getattr(fabrikate, name) is not None, name


def _names_of(module: types.ModuleType) -> dict[str, Any]:
    """The module's globals and every name it imports, ``TYPE_CHECKING`` blocks included."""
    names = dict(vars(module))
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            source = importlib.import_module(node.module)
            for alias in node.names:
                if hasattr(source, alias.name):
                    names[alias.asname or alias.name] = getattr(source, alias.name)
    return names


def _classes(annotation: Any) -> set[type]:
    """The classes named anywhere in a type (``list[X] | None`` gives X)."""
    if annotation is type(None):
        return set()
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return {annotation}
    found: set[type] = set()
    origin = typing.get_origin(annotation)
    if isinstance(origin, type) and origin not in (types.UnionType, typing.Union):
        found.add(origin)
    for arg in typing.get_args(annotation):
        found |= _classes(arg)
    return found


def test_every_type_a_public_function_returns_is_exported() -> None:
    exported = [getattr(fabrikate, name) for name in fabrikate.__all__]
    missing = []
    for name in fabrikate.__all__:
        function = getattr(fabrikate, name)
        if not inspect.isfunction(function):
            continue
        annotation = inspect.signature(function).return_annotation
        if isinstance(annotation, str):
            annotation = eval(annotation, _names_of(sys.modules[function.__module__]))
        for cls in _classes(annotation):
            own = cls.__module__.startswith("fabrikate")
            if own and not any(cls is item for item in exported):
                missing.append(f"{name} returns {cls.__module__}.{cls.__qualname__}")
    assert missing == []
    assert _classes(list[fabrikate.Tree] | None) == {list, fabrikate.Tree}  # the walk works


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, fabrikate.cli.main; "
        "heavy = [m for m in ('jsonschema', 'fastjsonschema', 'git', 'ruamel.yaml', 'yaml', "
        "'fabrikate.api', 'fabrikate.support.process', 'psycopg', 'logging', 'subprocess') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_repeat_generate_runs_stay_light(tmp_path, monkeypatch) -> None:
    """An up-to-date run loads none of the rendering layers; a run whose only change is a JSON
    file reads unchanged YAML files from the parse cache, so PyYAML is never imported."""
    root = tmp_path / "hld"
    (root / "m").mkdir(parents=True)
    (root / "component.yaml").write_text(
        "name: app\nsubcomponents:\n- name: files\n  type: static\n  path: m\n"
    )
    (root / "config").mkdir()
    (root / "config" / "common.json").write_text('{"config": {"a": 1}}')
    (root / "m" / "a.json").write_text('{"kind": "A"}\n')
    monkeypatch.setenv("FAB_RECORDS", "none")
    code = (
        "import sys; sys.argv = ['fab', '-q', 'generate', '-C', sys.argv[1]]\n"
        "from fabrikate.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print([m for m in ('yaml', 'fastjsonschema', 'fabrikate.hld.resolve', 'fabrikate.render.tree', "
        "'fabrikate.records.build', 'subprocess') if m in sys.modules])"
    )

    def loaded() -> str:
        run = [sys.executable, "-c", code, str(root)]
        return subprocess.run(run, capture_output=True, text=True, check=True).stdout.strip()

    assert "'yaml'" in loaded()  # the first run parses component.yaml and compiles the schemas
    assert loaded() == "[]"  # up to date
    (root / "config" / "common.json").write_text('{"config": {"a": 2}}')
    changed = loaded()
    assert "fabrikate.render.tree" in changed
    assert "'yaml'" not in changed and "fastjsonschema" not in changed  # but the file is checked
