"""The public API is a curated list, and importing it is cheap."""

from __future__ import annotations

import subprocess
import sys

import fabrikate


def test_every_exported_name_resolves() -> None:
    for name in fabrikate.__all__:
        assert getattr(fabrikate, name) is not None, name


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
