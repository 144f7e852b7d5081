"""`fab generate` records every run: the record's content, masking, flags and the commands.

Static components keep these fast; one test renders a real helm chart.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabrikate
from fabrikate.cli.main import main
from fabrikate.errors import FabrikateError
from fabrikate.records import open_store, validate
from tests.fixtures.trees import git, make_repo

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"

WORKLOADS = """
apiVersion: v1
kind: Pod
metadata: {name: pod}
spec:
  initContainers: [{name: init, image: busybox:1.36}]
  containers: [{name: main, image: nginx:1.25}]
  ephemeralContainers: [{name: debug, image: "debian@sha256:DIGEST"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec: {template: {spec: {containers: [{name: app, image: "reg.example.com:5000/team/app:2.0"}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: sts}
spec: {template: {spec: {containers: [{name: db, image: postgres:16}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec: {template: {spec: {initContainers: [{name: prep, image: alpine:3}],
  containers: [{name: agent, image: fluent/fluent-bit:3.0}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec: {template: {spec: {containers: [{name: r, image: redis}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: job}
spec: {template: {spec: {containers: [{name: j, image: "perl:5.34"}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cron}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: "curl:8"}]}}}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: rollout}
spec: {template: {spec: {containers: [{name: ro, image: "ghcr.io/o/ro:1"}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-workload}
data: {image: "ignored:1"}
""".replace("DIGEST", "a" * 64)


def _hld(tree, workloads: str = WORKLOADS, remote: str | None = None) -> Path:
    root = tree(
        {
            "component.yaml": """
                name: app
                subcomponents:
                - name: web
                  type: static
                  path: ./manifests
            """,
            "config/prod.yaml": "config: {}\n",
            ".gitignore": "generated/\n",
        }
    )
    (root / "manifests").mkdir()
    (root / "manifests" / "all.yaml").write_text(workloads)
    make_repo(root)
    if remote:
        git(root, "remote", "add", "origin", remote)
    return root


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", url)
    return url


def _records(url: str) -> list[dict]:
    with open_store(url) as store:
        return store.records()


def test_generate_writes_a_valid_record_with_every_image(tree, db: str) -> None:
    root = _hld(tree)
    result = fabrikate.generate(root, ["prod"])
    [record] = _records(db)
    assert result.record == record
    assert validate(record) == []
    assert record["outcome"] == "succeeded" and record["environment"] == "prod"
    assert record["hld"]["commitShort"] == record["hld"]["commit"][:7]
    assert record["hld"]["dirty"] is False and record["hld"]["branch"] == "main"
    assert record["scope"] == "hld"  # the HLD folder's name when there is no remote
    assert [c["logicalPath"] for c in record["components"]] == ["app", "web"]
    images = {(i["kind"], i["containerType"], i["image"]) for i in record["images"]}
    assert images == {
        ("Pod", "initContainers", "busybox:1.36"),
        ("Pod", "containers", "nginx:1.25"),
        ("Pod", "ephemeralContainers", "debian@sha256:" + "a" * 64),
        ("Deployment", "containers", "reg.example.com:5000/team/app:2.0"),
        ("StatefulSet", "containers", "postgres:16"),
        ("DaemonSet", "initContainers", "alpine:3"),
        ("DaemonSet", "containers", "fluent/fluent-bit:3.0"),
        ("ReplicaSet", "containers", "redis"),
        ("Job", "containers", "perl:5.34"),
        ("CronJob", "containers", "curl:8"),
        ("Rollout", "containers", "ghcr.io/o/ro:1"),
    }
    app = next(i for i in record["images"] if i["workload"] == "dep")
    assert (app["repository"], app["tag"]) == ("reg.example.com:5000/team/app", "2.0")
    assert record["output"]["resources"]["ConfigMap"] == 1
    assert record["output"]["changed"] is True
    with open_store(db) as store:
        assert store.rows(None) == []  # a local run (no CI run id) is no Spektate deployment


def test_record_inputs_come_from_the_settings_given_or_the_environment(
    tree, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _hld(tree)
    monkeypatch.setenv("FAB_SERVICE", "from-env")
    monkeypatch.setenv("FAB_PR", "41")
    given = fabrikate.Settings(
        records=db,
        service="api",
        pr="7",
        records_scope="team",
        correlation_id="c-1",
        ci_run_id="job-9",
        manifest_repo="https://u:s3cret@git.example.com/m.git",
        manifest_commit="ABCDEF1234",
        ring="canary",
    )
    fabrikate.generate(root, ["prod"], settings=given)
    fabrikate.generate(root, ["prod"], settings=fabrikate.Settings(records=db))
    first, second = sorted(_records(db), key=lambda r: r["startedAt"])
    assert (first["service"], first["hld"]["pr"], first["scope"]) == ("api", "7", "team")
    assert (first["correlationId"], first["ci"]["runId"], first["ring"]) == (
        "c-1",
        "job-9",
        "canary",
    )
    assert first["manifest"]["repo"] == "https://git.example.com/m.git"
    assert first["manifest"]["commit"] == "abcdef1234"
    assert (second["service"], second["hld"]["pr"]) == ("from-env", "41")  # Settings() reads FAB_*


def test_output_changed_only_when_the_rendered_files_change(tree, db: str) -> None:
    root = _hld(tree)
    fabrikate.generate(root, ["prod"])
    fabrikate.generate(root, ["prod"])
    (root / "manifests" / "all.yaml").write_text(WORKLOADS.replace("redis", "redis:7"))
    fabrikate.generate(root, ["prod"])
    newest, same, first = _records(db)
    assert [first["output"]["changed"], same["output"]["changed"]] == [True, False]
    assert newest["output"]["changed"] is True and newest["hld"]["dirty"] is True
    assert first["output"]["digest"] == same["output"]["digest"] != newest["output"]["digest"]


def test_failed_run_is_recorded_and_credentials_never_stored(tree, db: str, tmp_path) -> None:
    root = _hld(tree, remote="https://build:s3cr3t-pat@dev.azure.com/org/proj/_git/hld")
    component = (root / "component.yaml").read_text() + (
        "- name: chart\n  type: helm\n  method: helm\n"
        "  source: https://x-access-token:ghp_tok3n@charts.example.com/?token=qu3ry\n"
        "  path: mychart\n"
    )
    (root / "component.yaml").write_text(component)
    with pytest.raises(FabrikateError, match="no helm chart"):
        fabrikate.generate(root, ["prod"])
    [record] = _records(db)
    assert validate(record) == []
    assert record["outcome"] == "failed" and record["output"] is None
    assert "no helm chart" in record["error"]["message"]
    assert record["error"]["component"] == "chart"
    assert record["scope"] == "hld" and record["hld"]["repo"].startswith("https://dev.azure.com")
    source = next(c["source"] for c in record["components"] if c["name"] == "chart")
    assert source == "https://***@charts.example.com/?token=***"
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("records.db*"))
    assert b"charts.example.com" in stored
    for secret in (b"s3cr3t-pat", b"ghp_tok3n", b"qu3ry"):
        assert secret not in stored


def test_write_failure_warns_unless_the_record_is_required(tree, tmp_path: Path) -> None:
    root = _hld(tree)
    (tmp_path / "file").write_text("")
    broken = f"sqlite:///{tmp_path / 'file' / 'records.db'}"  # a file where a folder must be
    result = fabrikate.generate(
        root, ["prod"], settings=fabrikate.Settings.from_env(records=broken)
    )
    assert result.files is not None and result.record is None
    assert any("could not write the deployment record" in w.message for w in result.warnings)
    settings = fabrikate.Settings.from_env(records=broken, record_required=True)
    with pytest.raises(FabrikateError, match=r"deployment record.*--record-required"):
        fabrikate.generate(root, ["prod"], settings=settings)


def test_a_bug_in_building_the_record_is_not_turned_into_a_warning(
    tree, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabrikate.records import build

    def broken(*args: object) -> dict:
        raise TypeError("a bug in the record")

    monkeypatch.setattr(build, "build_record", broken)
    with pytest.raises(TypeError, match="a bug in the record"):
        fabrikate.generate(_hld(tree), ["prod"])
    assert _records(db) == []


def test_default_store_is_sqlite_in_the_user_data_dir(tree, monkeypatch) -> None:
    root = _hld(tree)
    fabrikate.generate(root, ["prod"])  # FAB_RECORDS=none from conftest: nothing written
    data = Path(os.environ["XDG_DATA_HOME"])
    assert not (data / "fabrikate").exists()
    monkeypatch.delenv("FAB_RECORDS")
    fabrikate.generate(root, ["prod"])
    with sqlite3.connect(data / "fabrikate" / "records.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT count(*) FROM fab_record").fetchone() == (1,)


def test_ci_run_is_projected_as_a_deployment_row(tree, db: str, monkeypatch) -> None:
    root = _hld(tree, remote="https://github.com/Org/HLD.git")
    git(root, "commit", "-q", "--allow-empty", "-m", "Merge pull request #57 from o/deploy")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_REPOSITORY", "Org/HLD")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    fabrikate.generate(root, ["prod"])
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")  # validation: no deployment row
    fabrikate.generate(root, ["prod"])
    validation, push = _records(db)
    assert push["ci"]["runUrl"] == "https://github.com/Org/HLD/actions/runs/4242"
    assert validation["ci"]["validationOnly"] is True
    with open_store(db) as store:
        [row] = store.rows("HLD")
    assert row.fields["p3"] == "4242" and row.fields["pr"] == "57"
    assert row.fields["hldCommitId"] == push["hld"]["commitShort"]
    assert row.fields["hldRepo"] == "https://github.com/org/hld.git"
    # Spektate's env is the ring: with no ring map, the HLD branch (bedrock#1164).
    assert push["ring"] == push["hld"]["branch"] and push["hld"]["branch"]
    assert row.fields["env"] == push["ring"] and row.fields["fabRecordId"] == push["id"]


@pytest.mark.helm
def test_helm_component_records_chart_version(tree, db: str) -> None:
    root = tree(
        {
            "component.yaml": """
                name: app
                subcomponents:
                - name: demo
                  type: helm
                  path: ./demo
            """,
        }
    )
    shutil.copytree(CHARTS / "demo", root / "demo")
    fabrikate.generate(root, [])
    [record] = _records(db)
    assert record["environment"] == "common" and record["hld"]["commit"] is None
    demo = next(c for c in record["components"] if c["name"] == "demo")
    assert demo["chart"] == {"name": "demo", "version": "0.1.0"}
    assert [i["image"] for i in record["images"]] == ["nginx:1.25"]
    assert record["tool"]["helm"]


@pytest.mark.helm
def test_what_the_record_says_of_each_component_matches_the_files_written(tree, db: str) -> None:
    """Components are described as they render; one with a namespace injected afterwards is
    described as written, injected namespace and all."""
    from fabrikate.records.build import describe
    from fabrikate.render.documents import split_documents

    root = _helm_hld(tree)
    result = fabrikate.generate(root, ["prod"])
    [record] = _records(db)
    images, objects = [], []
    for component in result.components:
        text = (result.output / component.file).read_text()
        found = describe(component.id, component.file, split_documents(text))
        images.extend(found.images)
        objects.extend(found.objects)
    assert record["images"] == images and record["objects"] == objects
    namespaces = {(o["component"], o["kind"]): o["namespace"] for o in record["objects"]}
    assert namespaces[("injected", "ConfigMap")] == "team"
    assert namespaces[("plain", "ConfigMap")] is None


def test_cli_list_show_diff_export(tree, db: str) -> None:
    root = _hld(tree)
    runner = CliRunner()
    assert runner.invoke(main, ["-q", "generate", "-C", str(root), "prod"]).exit_code == 0
    (root / "manifests" / "all.yaml").write_text(WORKLOADS.replace("postgres:16", "postgres:17"))
    assert runner.invoke(main, ["-q", "generate", "-C", str(root), "prod"]).exit_code == 0
    listed = runner.invoke(main, ["records", "list", "--env", "prod"])
    lines = listed.output.splitlines()
    assert lines[0].split()[:4] == ["ID", "STARTED", "SCOPE", "ENV"] and len(lines) == 3
    new, old = (line.split()[0] for line in lines[1:])
    shown = json.loads(runner.invoke(main, ["records", "show", new[:6]]).output)
    assert shown["rowKey"] == new
    diffed = runner.invoke(main, ["records", "diff", old, new])
    assert "image web/StatefulSet/sts/db: postgres:16 -> postgres:17" in diffed.output
    assert "redis" not in diffed.output
    exported = json.loads(runner.invoke(main, ["records", "export", "--output", "json"]).output)
    assert [r["rowKey"] for r in exported] == [new, old]
    empty = runner.invoke(main, ["records", "list", "--since", "1d", "--env", "qa"]).output
    assert empty.splitlines()[1:] == ["no records"]
    bad = runner.invoke(main, ["records", "list", "--since", "yesterday"])
    assert bad.exit_code == 1 and "since 'yesterday'" in bad.output


def test_cli_deployment_create_and_get(db: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        main,
        [
            "deployment",
            "create",
            "-p",
            "app",
            "--p1",
            "10",
            "--image-tag",
            "app:10",
            "--commit-id",
            "abcdef0123",
            "--service",
            "app",
        ],
    )
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    stage2 = [
        "deployment",
        "create",
        "-p",
        "app",
        "--p2",
        "11",
        "--hld-commit-id",
        "1234567",
        "--env",
        "Master",
        "--image-tag",
        "app:10",
        "--pr",
        "5",
    ]
    assert runner.invoke(main, stage2).output.strip() == key
    get = ["deployment", "get", "-r", "MASTER", "-c", "ABCDEF0123456789", "-o", "json"]
    got = json.loads(runner.invoke(main, get).output)
    assert runner.invoke(main, [*get[:-2], "-s", "other", "-o", "json"]).output.strip() == "[]"
    assert [(r["RowKey"], r["commitId"], r["env"]) for r in got] == [(key, "abcdef0", "master")]
    table = runner.invoke(main, ["deployment", "get", "-p", "app"]).output.splitlines()
    assert table[0].split()[:3] == ["ID", "SCOPE", "SERVICE"] and table[1].startswith(key)
    none = runner.invoke(main, ["deployment", "create", "-p", "app"])
    assert none.exit_code == 1 and "No action could be performed" in none.output


def _parallel_generate(root: Path, url: str, tmp_path: Path, count: int = 8) -> None:
    """``count`` processes at once, each on its own copy of one HLD commit (a tree is locked)."""
    env = {**os.environ, "FAB_RECORDS": url, "FAB_RECORDS_SCOPE": "hld", "TF_BUILD": "True"}
    copies = [shutil.copytree(root, tmp_path / f"hld{i}") for i in range(count)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fabrikate", "-q", "generate", "-C", str(copy), "prod"],
            env={**env, "BUILD_BUILDID": str(100 + i)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, copy in enumerate(copies)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "could not write" not in err, err


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_parallel_generates_lose_no_record(tree, tmp_path: Path, kind: str, request) -> None:
    url = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    root = _hld(tree)
    _parallel_generate(root, url, tmp_path)
    records = _records(url)
    assert len(records) == 8 and len({r["id"] for r in records}) == 8
    with open_store(url) as store:
        rows = store.rows("hld")
    # One HLD commit generated by 8 runs: the first inserts, the others copy (spec §1.4).
    assert sorted(r.fields["p3"] for r in rows) == [str(100 + i) for i in range(8)]


def test_git_component_records_its_reference_and_clone_commit(tree, db: str) -> None:
    root = tree(
        {
            "component.yaml": """
                name: app
                subcomponents:
                - name: remote
                  method: git
                  source: https://bot:ghp_s3cret@git.example.com/org/remote.git
                  version: v1.0.0
            """,
        }
    )
    make_repo(root)
    cloned = make_repo(
        root / "components" / "remote",  # where `fab install` clones it
        {
            "component.yaml": "name: remote\ntype: static\npath: ./m\n",
            "m/cm.yaml": "kind: ConfigMap\n",
        },
    )
    fabrikate.generate(root, ["prod"])
    [record] = _records(db)
    remote = next(c for c in record["components"] if c["name"] == "remote")
    assert remote == {
        "logicalPath": "remote/remote",
        "name": "remote",
        "type": "static",
        "method": "git",
        "source": "https://***@git.example.com/org/remote.git",
        "mirror": None,  # fab install did not place it: no mirror is known
        "path": None,
        "version": "v1.0.0",
        "branch": None,
        "commit": cloned,
        "chart": None,
    }
    assert record["hld"]["dirty"] is False  # the clone under components/ is fab's own


def test_hld_facts_of_a_folder_in_a_bigger_repository(tmp_path: Path) -> None:
    from fabrikate.records.gitinfo import hld_info

    repo = tmp_path / "repo"
    sha = make_repo(repo, {"hld/component.yaml": "name: app\n", "other/file": "x\n"})
    git(repo, "remote", "add", "upstream", "https://u:pat@git.example.com/o/up.git")
    git(repo, "remote", "add", "origin", "https://git.example.com/o/hld.git")
    root, excluded = repo / "hld", ("generated", "components")
    facts = hld_info(root, excluded, "from-ci")
    assert (facts["top"], facts["commit"], facts["repo"]) == (
        repo.resolve(),
        sha,
        "https://git.example.com/o/hld.git",
    )
    assert facts["branch"] == git(repo, "branch", "--show-current") and facts["dirty"] is False
    (repo / "other" / "file").write_text("changed outside the HLD folder\n")
    (root / "generated").mkdir()
    (root / "generated" / "new.yaml").write_text("fab's own output\n")
    git(repo, "checkout", "-q", "--detach")
    facts = hld_info(root, excluded, "from-ci")
    assert (facts["branch"], facts["dirty"]) == ("from-ci", False)  # detached: the CI's branch
    (root / "config.yaml").write_text("untracked\n")
    assert hld_info(root, excluded, None)["dirty"] is True
    git(repo, "remote", "remove", "origin")
    assert hld_info(root, excluded, None)["repo"] == "https://git.example.com/o/up.git"


def test_hld_facts_outside_git_and_before_the_first_commit(tmp_path: Path) -> None:
    from fabrikate.records.gitinfo import hld_info

    assert hld_info(tmp_path, (), None)["commit"] is None and "top" not in hld_info(
        tmp_path, (), None
    )
    git(tmp_path, "init", "-q")
    facts = hld_info(tmp_path, (), "main")
    assert (facts["commit"], facts["branch"], facts["dirty"]) == (None, None, True)


def _helm_hld(tree) -> Path:
    """A chart rendered twice, once with its namespace injected, and a static component."""
    root = tree(
        {
            "component.yaml": """
                name: app
                subcomponents:
                - {name: plain, type: helm, path: ./demo}
                - {name: injected, type: helm, path: ./demo}
                - {name: web, type: static, path: ./manifests}
            """,
            "config/prod.yaml": """
                subcomponents:
                  injected: {namespace: team, injectNamespace: true}
            """,
        }
    )
    shutil.copytree(CHARTS / "demo", root / "demo")
    (root / "manifests").mkdir()
    (root / "manifests" / "all.yaml").write_text(WORKLOADS)
    return root


@pytest.mark.helm
def test_a_run_the_render_cache_serves_describes_its_components_from_the_cache(
    tree, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabrikate.records import images

    root = _helm_hld(tree)
    fabrikate.generate(root, ["prod"])

    def unexpected(documents: object) -> None:
        raise AssertionError("the documents were parsed again")

    with monkeypatch.context() as patch:
        patch.setattr(images, "parse_documents", unexpected)
        served = fabrikate.generate(root, ["prod"])
    assert served.cache_hits == 2
    first, second = _records(db)
    assert second["images"] == first["images"] and second["objects"] == first["objects"]
    namespaces = {(o["component"], o["kind"]): o["namespace"] for o in second["objects"]}
    assert namespaces[("injected", "ConfigMap")] == "team"  # described as written


@pytest.mark.helm
def test_a_forced_run_over_cached_renders_imports_no_yaml_parser(tree, db: str) -> None:
    """Chart facts, CRD scopes and record descriptions all come from the cache."""
    root = _helm_hld(tree)
    (root / "manifests" / "crd.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: gadgets.example.com\nspec:\n  scope: Cluster\n  names:\n    kind: Gadget\n"
        "---\napiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n"
    )
    code = (
        "import sys; sys.argv = ['fab', '-q', 'generate', '--force', '-C', sys.argv[1], 'prod']\n"
        "from fabrikate.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('yaml' in sys.modules)"
    )
    run = [sys.executable, "-c", code, str(root)]
    loaded = [subprocess.run(run, capture_output=True, text=True, check=True) for _ in range(2)]
    assert [out.stdout.strip() for out in loaded] == ["True", "False"]
    first, second = _records(db)
    assert second["objects"] == first["objects"] and second["images"] == first["images"]
    namespaces = {(o["component"], o["kind"]): o["namespace"] for o in second["objects"]}
    assert namespaces[("injected", "ConfigMap")] == "team"


@pytest.mark.helm
@pytest.mark.parametrize(
    "entry",
    [
        b"not json",
        b"[]",
        json.dumps({"images": [], "objects": [], "kinds": "ConfigMap"}).encode(),
        json.dumps({"images": [{"image": 1}], "objects": [], "kinds": []}).encode(),
        json.dumps({"images": [], "objects": [{"kind": "ConfigMap"}], "kinds": []}).encode(),
    ],
)
def test_a_description_entry_of_the_wrong_shape_or_component_is_a_miss(
    tree, db: str, entry: bytes
) -> None:
    from fabrikate.api import describing
    from fabrikate.settings import Settings
    from fabrikate.support.cache import Cache

    root = _helm_hld(tree)
    first = fabrikate.generate(root, ["prod"])
    cache = Cache.of(Settings.from_env())
    plain, injected = (c for c in first.components if c.id in ("plain", "injected"))
    sound = cache.get(describing.KIND, describing._key(plain))
    assert sound is not None and describing._cached(plain, cache) is not None
    cache.put(describing.KIND, describing._key(plain), entry)
    # a sound entry, of another component: its objects would name the wrong one
    cache.put(describing.KIND, describing._key(injected), sound)
    assert describing._cached(plain, cache) is None
    assert describing._cached(injected, cache) is None
    fabrikate.generate(root, ["prod"])
    before, after = _records(db)
    assert after["images"] == before["images"] and after["objects"] == before["objects"]
