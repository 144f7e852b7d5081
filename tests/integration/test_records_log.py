"""``fab records log`` answers from a bounded read: it shows the newest --limit changes, says
when more exist and how to get them (--cursor), and never drops one between pages."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from fabrikate.records import open_store
from fabrikate.records.view import LOG_HEADER
from tests.fixtures.record_data import T0, make_record


@pytest.fixture
def url(tmp_path: Path) -> str:
    """api in prod/main: 12 generations, each a new tag."""
    made = f"sqlite:///{tmp_path / 'records.db'}"
    with open_store(made) as store:
        for n in range(12):
            store.add(
                make_record(f"l{n}", service="api", tag=f"1.{n}", at=T0 + n * timedelta(hours=1))
            )
    return made


def _log(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["records", "log", "--records", url, "--image", "acr.example.com/api", *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_the_log_shows_the_newest_changes_and_how_to_get_more(url: str) -> None:
    code, out, err = _log(url, "--limit", "5")
    assert code == 0, err
    header, *rows, more = out.splitlines()
    assert header.split()[0] == LOG_HEADER[0] and len(rows) == 5
    assert more.startswith("showing the newest 5 changes; more: --cursor ")
    cursor = more.split("--cursor ")[1].split()[0]
    data = json.loads(_log(url, "--limit", "5", "--cursor", cursor, "-o", "json")[1])
    assert [c["to"] for c in data["changes"]] == [
        f"acr.example.com/api:1.{n}" for n in range(6, 1, -1)
    ]
    assert data["next"] and data["more"] is True and data["read"] <= 12
    last = json.loads(_log(url, "--limit", "5", "--cursor", data["next"], "-o", "json")[1])
    assert [c["to"] for c in last["changes"]] == [
        "acr.example.com/api:1.1",
        "acr.example.com/api:1.0",
    ]
    assert last["next"] is None and last["changes"][-1]["from"] is None  # the first one
    code, out, _ = _log(url)
    assert code == 0 and len(out.splitlines()) == 13  # all 12 and the header: nothing more


def test_a_bad_cursor_or_limit_is_one_line(url: str) -> None:
    code, out, err = _log(url, "--cursor", "nonsense")
    assert code == 1 and out == "" and err.count("\n") == 1 and "cursor" in err
    code, out, err = _log(url, "--limit", "501")
    assert code == 1 and out == "" and err.count("\n") == 1 and "limit 501" in err
