"""Secrets come from a file or a FAB_* variable, with one clear line when the file is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabrikate.dashboard.settings import read_secret
from fabrikate.errors import InputError


def test_a_file_wins_over_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAB_DASHBOARD_TOKEN", "from-env")
    assert read_secret("auth token", None, "DASHBOARD_TOKEN").value == "from-env"
    file = tmp_path / "token"
    file.write_text("from-file\n")
    assert read_secret("auth token", file, "DASHBOARD_TOKEN").value == "from-file"


def test_neither_is_none() -> None:
    assert read_secret("auth token", None, "DASHBOARD_TOKEN") is None


@pytest.mark.parametrize("text", ["", "two\nlines\n"])
def test_a_file_must_hold_one_line(tmp_path: Path, text: str) -> None:
    file = tmp_path / "token"
    file.write_text(text)
    with pytest.raises(InputError, match="must hold one non-empty line"):
        read_secret("auth token", file, "DASHBOARD_TOKEN")


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the ingest secret file"):
        read_secret("ingest secret", tmp_path / "nope", "DASHBOARD_INGEST_SECRET")
