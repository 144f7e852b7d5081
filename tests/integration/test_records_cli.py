"""The records views in the terminal: ``fab status``, ``fab records list/log/diff/mark/prune``
over a SQLite store filled by real ``fab generate`` runs of a two-service tree in two rings."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fabrikate.cli.main import main
from fabrikate.records import open_store
from fabrikate.records.events import ClusterEvent
from fabrikate.records.view import DEPLOYMENTS_HEADER
from tests.fixtures.trees import DATA, git, make_repo

pytestmark = pytest.mark.helm

COMPONENT = """name: shop
subcomponents:
  - {name: web, type: helm, path: ./charts/web}
  - {name: api, type: helm, path: ./charts/api}
"""
RINGS = (
    "rings:\n  prod: {branch: main, default: true}\n  canary: {branch: next}\n  qa: {branch: qa}\n"
)


MANIFESTS = ("1" * 40, "2" * 40, "3" * 40)  # manifest commits: prod (twice), canary, prod


def fab(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _generate(root: Path, *args: str) -> dict:
    code, _, err = fab("generate", "-C", str(root), "prod", *args)
    assert code == 0, err
    with open_store(os.environ["FAB_RECORDS"], create=False) as store:
        return store.records(limit=1)[0]


def _bump(root: Path, chart: str, version: str, image: str) -> None:
    meta = root / "charts" / chart / "Chart.yaml"
    meta.write_text(re.sub(r"(?m)^version: .*$", f"version: {version}", meta.read_text()))
    (root / "charts" / chart / "values.yaml").write_text(
        (root / "charts" / chart / "values.yaml").read_text().replace("nginx:1.25", image)
    )


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A store of four generations: prod twice on main (the second changed nothing), canary on
    the branch next with web 0.2.0 by another author, then prod again with api 0.3.0."""
    tmp = tmp_path
    root = tmp / "hld"
    root.mkdir()
    for chart in ("web", "api"):
        shutil.copytree(DATA / "charts" / "demo", root / "charts" / chart)
    files = {"component.yaml": COMPONENT, "rings.yaml": RINGS, "config/prod.yaml": "config: {}\n"}
    make_repo(root, {**files, ".gitignore": "generated/\n"})
    url = f"sqlite:///{tmp / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", url)
    monkeypatch.setenv("FAB_MANIFEST_COMMIT", MANIFESTS[0])
    first = _generate(root)
    again = _generate(root)
    git(root, "checkout", "-q", "-b", "next")
    _bump(root, "web", "0.2.0", "nginx:1.26")
    git(root, "commit", "-q", "-am", "web 0.2.0", "--author", "Cara Canary <cara@example.com>")
    monkeypatch.setenv("FAB_MANIFEST_COMMIT", MANIFESTS[1])
    canary = _generate(root)
    git(root, "checkout", "-q", "main")
    _bump(root, "api", "0.3.0", "nginx:1.27")
    git(root, "commit", "-q", "-am", "api 0.3.0")
    monkeypatch.setenv("FAB_MANIFEST_COMMIT", MANIFESTS[2])
    last = _generate(root)
    return {"url": url, "root": root, "ids": [first, again, canary, last]}


@pytest.fixture
def url(shop: dict, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FAB_RECORDS", shop["url"])
    return shop["url"]


def test_the_store_holds_what_the_views_are_about(shop: dict) -> None:
    _first, again, canary, _last = shop["ids"]
    assert [r["ring"] for r in shop["ids"]] == ["prod", "prod", "canary", "prod"]
    assert again["output"]["changed"] is False and canary["output"]["changed"] is True
    assert canary["hld"]["commitAuthor"].startswith("Cara Canary")


def test_status_prints_the_matrix(url: str) -> None:
    code, out, err = fab("status")
    assert code == 0, err
    header, *rows = out.splitlines()
    columns = header.split()
    assert columns[0] == "SERVICE"
    assert "prod/prod*" in columns and "prod/canary" in columns and "prod/qa" in columns
    cells = {line.split()[0]: line for line in rows if line and line.split()[0] in ("web", "api")}
    assert set(cells) == {"web", "api"}
    at = {name: header.index(name) for name in ("prod/prod*", "prod/canary", "prod/qa")}
    assert cells["web"][at["prod/prod*"] :].startswith("0.1.0 ")
    assert cells["web"][at["prod/canary"] :].startswith("0.2.0 ")
    assert cells["api"][at["prod/prod*"] :].startswith("0.3.0 ")
    assert cells["api"][at["prod/qa"] :].strip() == "-"  # declared, never deployed
    assert "* default ring" in out
    data = json.loads(fab("status", "-o", "json")[1])
    assert {c["ring"] for c in data["columns"]} >= {"prod", "canary", "qa"}
    web = next(r for r in data["rows"] if r["service"] == "web")
    assert {c["version"] for c in web["cells"].values() if c} == {"0.1.0", "0.2.0"}
    assert yaml.safe_load(fab("status", "-o", "yaml")[1]) == data
    # A filter narrows the columns; one that matches nothing prints the header and "no records".
    header, *rows = fab("status", "--ring", "prod")[1].splitlines()
    web = next(row for row in rows if row.startswith("web "))
    assert web[header.index("prod/canary") :].startswith("- ")  # declared, so still a column
    header, *rows = fab("status", "--image", "nginx:1.26")[1].splitlines()
    assert [row.split()[0] for row in rows[:-1]] == ["web"] and rows[-1] == "* default ring"
    assert rows[0][header.index("prod/prod*") :].startswith("- ")
    code, out, _ = fab("status", "--service", "nothing-like-it")
    assert code == 0 and out.splitlines()[-1] == "no records"
    assert out.startswith("SERVICE")


def _copy(shop: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the shop's store, to write to."""
    db = tmp_path / "copy.db"
    shutil.copy(shop["url"].removeprefix("sqlite:///"), db)
    monkeypatch.setenv("FAB_RECORDS", f"sqlite:///{db}")
    return f"sqlite:///{db}"


def test_status_shows_what_each_cluster_reported(tmp_path: Path, shop: dict, monkeypatch) -> None:
    first, again, canary, last = shop["ids"]
    url = _copy(shop, tmp_path, monkeypatch)
    with open_store(url) as store:
        for cluster, revision, state in (
            ("east", MANIFESTS[2], "healthy"),
            ("west", MANIFESTS[0], "healthy"),
            ("canary-1", MANIFESTS[1], "failed"),
        ):
            ring = "canary" if cluster == "canary-1" else "prod"
            store.add_event(
                ClusterEvent.make(
                    source="flux",
                    cluster=cluster,
                    ring=ring,
                    environment="prod",
                    kind="Kustomization",
                    namespace="flux-system",
                    name="shop",
                    revision=revision,
                    state=state,
                    reason="ReconciliationSucceeded" if state == "healthy" else "HealthCheckFailed",
                    message=None,
                    at=last["finishedAt"],
                )
            )
    header, *rows = fab("status")[1].splitlines()
    api = next(row for row in rows if row.startswith("api "))
    assert api[header.index("prod/prod*") :].startswith("0.3.0 healthy ")
    assert api[header.index("prod/canary") :].startswith("0.1.0 failed ")
    behind = next(row for row in rows if row.startswith("! api prod/prod*: cluster west"))
    assert behind.startswith("! api prod/prod*: cluster west is behind: it runs 0.1.0 (")
    assert "component api: 0.3.0 -> 0.1.0" in behind  # what the older record deploys
    header, *rows = fab("status", "--pivot", "cluster")[1].splitlines()
    assert header.split() == ["SERVICE", "prod/canary@canary-1", "prod/prod@east", "prod/prod@west"]
    api = next(row for row in rows if row.startswith("api "))
    assert api[header.index("prod/prod@east") :].startswith("0.3.0 healthy ")
    assert api[header.index("prod/prod@west") :].startswith("0.1.0 healthy ")
    # The list filters by cluster and shows each record's state there.
    listed = json.loads(fab("records", "list", "--cluster", "west", "--all", "-o", "json")[1])
    assert [(i["rowKey"], i["state"]) for i in listed["items"]] == [
        (again["rowKey"], "healthy"),
        (first["rowKey"], "healthy"),
    ]
    assert canary["rowKey"] in fab("records", "list", "--cluster", "canary-1")[1]


def test_list_shows_the_new_columns_and_folds_unchanged_runs(shop: dict, url: str) -> None:
    first, again, canary, last = shop["ids"]
    code, out, err = fab("records", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [w for h in DEPLOYMENTS_HEADER for w in h.split()]
    ids = [line.split()[0] for line in lines[1:-1]]
    assert ids == [last["rowKey"], canary["rowKey"], first["rowKey"]]  # the repeat is left out
    assert lines[-1] == "(1 unchanged run not shown; --all shows them)"
    row = next(line for line in lines if line.startswith(canary["rowKey"]))
    assert " canary " in row and " next " in row and "Cara Canary" in row
    assert " main " in next(line for line in lines if line.startswith(last["rowKey"]))

    every = fab("records", "list", "--all")[1]
    assert again["rowKey"] in every and "(unchanged)" in every and "not shown" not in every
    assert [i["rowKey"] for i in json.loads(fab("records", "list", "-o", "json")[1])["items"]] == [
        last["rowKey"],
        canary["rowKey"],
        first["rowKey"],
    ]


def test_list_filters_pages_and_says_when_nothing_matches(shop: dict, url: str) -> None:
    first, again, canary, last = shop["ids"]
    only = fab("records", "list", "--ring", "canary")[1].splitlines()
    assert [line.split()[0] for line in only[1:]] == [canary["rowKey"]]
    assert fab("records", "list", "--author", "cara")[1].count("\n") == 2
    assert fab("records", "list", "--component", "api", "--ring", "canary")[1].count("\n") == 2
    assert canary["rowKey"] in fab("records", "list", "--commit", canary["hld"]["commit"][:8])[1]
    exported = json.loads(fab("records", "export", "--ring", "canary")[1])
    assert [r["id"] for r in exported] == [canary["id"]]  # whole records, by the same filters
    lines = fab("records", "export", "--author", "test author", "-o", "jsonl")[1].splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in (last, again, first)]
    # One page at a time: the text ends with the cursor of the next, JSON carries it.
    code, out, _ = fab("records", "list", "--limit", "1", "--all")
    assert code == 0 and out.splitlines()[1].startswith(last["rowKey"])
    cursor = out.splitlines()[-1].removeprefix("more: --cursor ")
    seen = [last["rowKey"]]
    while cursor:
        page = json.loads(
            fab("records", "list", "--limit", "1", "--all", "--cursor", cursor, "-o", "json")[1]
        )
        seen += [i["rowKey"] for i in page["items"]]
        cursor = page["next"]
    assert seen == [r["rowKey"] for r in (last, canary, again, first)]
    # Nothing found: the header, then "no records".
    code, out, _ = fab("records", "list", "--env", "qa", "--since", "1d")
    assert (
        code == 0
        and out.splitlines()[0].startswith("ID")
        and out.splitlines()[1:] == ["no records"]
    )
    assert json.loads(fab("records", "list", "--env", "qa", "-o", "json")[1])["items"] == []
    # Bad input: one line, exit 1.
    for args, message in (
        (["--since", "yesterday"], "since 'yesterday'"),
        (["--cursor", "not-a-cursor"], "bad cursor"),
        (["--outcome", "maybe"], "outcome 'maybe'"),
        (["--type", "robot"], "type 'robot'"),
    ):
        code, out, err = fab("records", "list", *args)
        assert code == 1 and out == "" and err.count("\n") == 1 and message in err, (args, err)


def test_log_says_who_changed_a_component_service_or_image(shop: dict, url: str) -> None:
    first, _again, canary, last = shop["ids"]
    code, out, err = fab("records", "log", "--component", "web")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[:6] == ["STARTED", "ENV", "RING", "SERVICE", "FROM", "TO"]
    assert [r.split()[-1] for r in rows] == [canary["rowKey"], first["rowKey"]]
    assert "0.2.0" in rows[0] and "Cara Canary" in rows[0] and " canary " in rows[0]
    changes = json.loads(fab("records", "log", "--component", "api", "-o", "json")[1])
    assert changes["subject"] == {"component": "api"}
    changes = changes["changes"]
    assert [(c["ring"], c["from"], c["to"]) for c in changes] == [
        ("prod", "0.1.0", "0.3.0"),
        ("canary", None, "0.1.0"),
        ("prod", None, "0.1.0"),
    ]
    assert changes[0]["author"] == "Test Author" and changes[0]["id"] == last["id"]
    images = json.loads(
        fab("records", "log", "--image", "nginx:1.2", "--ring", "prod", "-o", "json")[1]
    )["changes"]
    assert [(c["from"], c["to"]) for c in images] == [
        ("nginx:1.25", "nginx:1.25,nginx:1.27"),
        (None, "nginx:1.25"),
    ]
    service = json.loads(fab("records", "log", "--service", "web", "-o", "json")[1])["changes"]
    # a chart version names web; its image is told too (a new tag alone is a change)
    assert [c["to"] for c in service] == ["0.2.0 (nginx:1.26)", "0.1.0 (nginx:1.25)"]
    code, out, _ = fab("records", "log", "--component", "nothing")
    assert code == 0 and out.splitlines()[1:] == ["no records"]
    code, _, err = fab("records", "log")
    assert code == 2 and "give one of --image, --service or --component" in err
    code, _, err = fab("records", "log", "--image", "a", "--component", "b")
    assert code == 2


def test_diff_takes_ids_environments_and_rings(shop: dict, url: str) -> None:
    first, again, canary, last = shop["ids"]
    code, out, err = fab("records", "diff", "ring:prod", "canary")
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"a: {last['rowKey']} prod/prod")
    assert out.splitlines()[1].startswith(f"b: {canary['rowKey']} prod/canary")
    assert "component web: demo:0.1.0 -> demo:0.2.0" in out.splitlines()
    assert "component api: demo:0.3.0 -> demo:0.1.0" in out.splitlines()
    assert "image web/Deployment/web/main: nginx:1.25 -> nginx:1.26" in out.splitlines()
    assert "object changed: Deployment web (web.yaml)" in out.splitlines()
    # prod is the environment and its default ring; beside the ring canary it is the ring.
    assert fab("records", "diff", "prod", "canary") == (0, out, "")
    same = fab("records", "diff", first["rowKey"], again["id"][:10])[1]
    assert "no component, image or object changes" in same
    data = json.loads(fab("records", "diff", first["id"], "env:prod", "-o", "json")[1])
    assert data["b"]["recordId"] == last["id"] and data["components"]
    assert yaml.safe_load(fab("records", "diff", first["id"], "env:prod", "-o", "yaml")[1]) == data
    code, out, err = fab("records", "diff", "no-such-thing", "prod")
    assert code == 1 and out == "" and err.count("\n") == 1 and "no-such-thing" in err


def test_mark_keeps_a_verdict_on_a_record(tmp_path: Path, shop: dict, monkeypatch) -> None:
    url = _copy(shop, tmp_path, monkeypatch)
    canary = shop["ids"][2]
    code, out, err = fab("records", "mark", canary["rowKey"], "--rollback", "--note", "bad cache")
    assert code == 0, err
    assert out == f"marked {canary['id']} rollback: bad cache\n"
    assert fab("records", "mark", canary["id"][:8], "--hotfix", "--by", "ops")[0] == 0
    with open_store(url, create=False) as store:
        marks = store.marks([canary["id"]])
    assert [(m.kind, m.note) for m in marks] == [("rollback", "bad cache"), ("hotfix", "")]
    assert marks[1].by == "ops" and marks[0].by  # the login name
    assert marks[0].at and marks[0].at <= marks[1].at
    for args, code_wanted, message in (
        ([canary["id"]], 2, "give one of --failed, --hotfix or --rollback"),
        (["nope", "--failed"], 1, "no record 'nope'"),
        ([canary["id"], "--failed", "--note", "x" * 2001], 1, "at most 2000"),
    ):
        code, _, err = fab("records", "mark", *args)
        assert code == code_wanted and message in err, err
    missing = tmp_path / "missing.db"
    code, _, err = fab("records", "mark", "x", "--failed", "--records", f"sqlite:///{missing}")
    assert code == 1 and "no records database" in err and not missing.exists()


def test_prune_prints_each_record_it_removes(tmp_path: Path, shop: dict, monkeypatch) -> None:
    _copy(shop, tmp_path, monkeypatch)
    first, again, canary, last = shop["ids"]
    code, _, err = fab("records", "prune")
    assert code == 2 and "--older-than" in err
    code, _, err = fab("records", "prune", "--older-than", "someday")
    assert code == 1 and "--older-than 'someday'" in err and err.count("\n") == 1
    code, out, err = fab("records", "prune", "--older-than", "0d", "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[2] for line in lines[:-1]] == [
        r["rowKey"] for r in (first, again, canary, last)
    ]
    assert lines[0].startswith("would remove ") and lines[-1].startswith(
        "4 records would be removed"
    )
    assert len(json.loads(fab("records", "list", "--all", "-o", "json")[1])["items"]) == 4
    code, out, err = fab("records", "prune", "--older-than", "0d", "--keep-latest-per-environment")
    assert code == 0, err
    removed = [line.split()[1] for line in out.splitlines()[:-1]]
    assert out.splitlines()[-1].startswith(f"{len(removed)} record")
    kept = [
        i["rowKey"] for i in json.loads(fab("records", "list", "--all", "-o", "json")[1])["items"]
    ]
    assert last["rowKey"] in kept and not set(kept) & set(removed)
    assert sorted(kept + removed) == sorted(r["rowKey"] for r in shop["ids"])
    code, out, _ = fab("records", "prune", "--older-than", "3650d", "-o", "json")
    assert code == 0 and json.loads(out)["removed"] == [] and json.loads(out)["dryRun"] is False


STATIC = {
    "component.yaml": "name: site\nsubcomponents:\n  - {name: web, type: static, path: ./manifests}\n",
    "rings.yaml": "rings:\n  prod: {branch: main, default: true}\n  canary: {branch: next}\n",
    "config/prod.yaml": "config: {}\n",
    "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n",
    ".gitignore": "generated/\n",
}


def test_every_command_on_every_store(store_url: str, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "site"
    make_repo(root, STATIC)
    monkeypatch.setenv("FAB_RECORDS", store_url)
    for ring in ("prod", "prod", "canary"):
        assert fab("generate", "-C", str(root), "prod", "--ring", ring, "--force")[0] == 0
    status = fab("status")[1].splitlines()
    assert status[0].split() == ["SERVICE", "prod/prod*", "prod/canary"]
    assert status[1].split()[0] == "site" and "* default ring" in status
    items = json.loads(fab("records", "list", "--all", "-o", "json")[1])["items"]
    assert [i["ring"] for i in items] == ["canary", "prod", "prod"]
    diff = fab("records", "diff", "ring:prod", "ring:canary")
    assert diff[0] == 0 and diff[1].splitlines()[2] == "no component, image or object changes"
    assert fab("records", "mark", items[0]["id"], "--hotfix", "--note", "n")[0] == 0
    dry = fab("records", "prune", "--older-than", "0d", "--dry-run")[1].splitlines()
    assert dry[-1].startswith("3 records would be removed") and len(dry) == 4
    code, out, err = fab("records", "prune", "--older-than", "0d", "--keep-latest-per-environment")
    assert code == 0, err
    kept = json.loads(fab("records", "list", "--all", "-o", "json")[1])["items"]
    removed = [line.split()[1] for line in out.splitlines()[:-1]]
    assert len(kept) + len(removed) == 3 and items[0]["rowKey"] in [i["rowKey"] for i in kept]
    with open_store(store_url, create=False) as store:
        assert [m.kind for m in store.marks([items[0]["id"]])] == ["hotfix"]
