"""PyYAML's import-time pattern is compiled on first use, and still does its work."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from fabrikate.support.lazy import YAML_NON_PRINTABLE, LazyPattern

PROBE = """
import fabrikate, yaml.reader
pattern = yaml.reader.Reader.NON_PRINTABLE
print(type(pattern).__name__, pattern._compiled is None)
"""


def test_importing_yaml_after_fabrikate_compiles_no_reader_pattern() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["LazyPattern", "True"]


def test_the_pure_python_reader_still_refuses_control_characters() -> None:
    with pytest.raises(yaml.reader.ReaderError, match="#x0001"):
        yaml.safe_load("a: b\x01")
    assert yaml.safe_load("a: b\u00e9") == {"a": "b\u00e9"}


def test_a_lazy_pattern_matches_as_the_compiled_one() -> None:
    lazy = LazyPattern(YAML_NON_PRINTABLE)
    assert lazy.search("ok\x07") is not None
    assert lazy.search("ok \U0001f600") is None
    assert lazy.pattern == YAML_NON_PRINTABLE
