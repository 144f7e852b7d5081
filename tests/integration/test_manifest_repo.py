"""``fab status --manifest-repo PATH``: with a clone of the manifest repository, a cluster that
applied a later commit runs an earlier record too (``superseded``), rather than not knowing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabrikate.cli.main import main
from fabrikate.records import open_store
from tests.fixtures.record_data import T0, event_for, make_record
from tests.unit.records.test_ancestry import _manifests


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, Path, dict[str, str]]:
    """A SQLite store: api at manifest commit a, db at c (a descendant of a), and cluster east
    healthy at c; the clone of the manifest repository; the record ids by service."""
    a, _, c, _ = _manifests(tmp_path / "manifests")
    url = f"sqlite:///{tmp_path / 'records.db'}"
    api = make_record("api", service="api", manifest=a, at=T0)
    db = make_record("db", service="db", manifest=c, at=T0)
    with open_store(url) as opened:
        opened.add(api)
        opened.add(db)
        opened.add_events([event_for(db, "healthy", cluster="east")])
    return url, tmp_path / "manifests", {"api": api["id"], "db": db["id"]}


def _status(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["status", *args])
    return result.exit_code, result.stdout, result.stderr


def _api_cell(data: dict) -> dict:
    row = next(r for r in data["rows"] if r["service"] == "api")
    return row["cells"]["prod/main"]


def test_status_with_the_clone_shows_a_superseded_record(
    store: tuple[str, Path, dict[str, str]],
) -> None:
    url, clone, _ = store
    code, out, err = _status("--records", url, "-o", "json")
    assert code == 0, err
    assert _api_cell(json.loads(out))["clusters"] == {}  # unknown without the clone
    code, out, err = _status("--records", url, "--manifest-repo", str(clone), "-o", "json")
    assert code == 0, err
    cell = _api_cell(json.loads(out))
    assert cell["clusters"] == {"east": "superseded"} and cell["state"] == "applied"
    text = _status("--records", url, "--manifest-repo", str(clone))[1]
    api = next(line for line in text.splitlines() if line.startswith("api "))
    assert "applied" in api


def test_status_refuses_a_folder_that_is_no_clone(
    store: tuple[str, Path, dict[str, str]], tmp_path: Path
) -> None:
    url, _, _ = store
    (tmp_path / "plain").mkdir()
    code, out, err = _status("--records", url, "--manifest-repo", str(tmp_path / "plain"))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "not a git repository" in err


def test_the_dashboard_refuses_a_folder_that_is_no_clone(tmp_path: Path) -> None:
    from fabrikate.dashboard.app import create_app
    from fabrikate.dashboard.settings import DashboardSettings
    from fabrikate.errors import InputError

    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_store(url):
        pass  # the store exists: the folder given as a clone is what is refused
    folder = tmp_path / "not-a-clone"
    folder.mkdir()
    with pytest.raises(InputError, match="not a git repository"):
        create_app(DashboardSettings(records=url, manifest_repo=folder))
