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
        "import sys, fabrikate.cli; "
        "heavy = [m for m in ('jsonschema', 'fastjsonschema', 'git', 'ruamel.yaml', 'yaml', "
        "'fabrikate.api', 'fabrikate.process', 'psycopg', 'logging', 'subprocess') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
