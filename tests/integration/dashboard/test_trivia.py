"""The issue's "done when": a store filled by real ``fab generate`` runs of examples/trivia in
three rings, two clusters syncing by replayed (signed) Flux events, and every page answering,
as JSON and in the page: what runs in production, who changed it through which pull request,
did each cluster sync, and which branch runs in each ring and who wrote it."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from fabrikate.cli.main import main
from fabrikate.dashboard.settings import DashboardSettings, Secret
from tests.fixtures.trees import git
from tests.integration.dashboard.conftest import client
from tests.unit.records.test_events import body, flux, signed

REPO = Path(__file__).resolve().parents[3]
SECRET = "flux-hmac-s3cret"
RINGS = {"master": "1.2.0", "develop": "1.3.0", "canary": "1.4.0"}  # ring -> api image tag
pytestmark = pytest.mark.helm


def _manifest(ring: str) -> str:
    return hashlib.sha1(f"manifest-{ring}".encode()).hexdigest()


def _generate(root: Path, ring: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAB_MANIFEST_COMMIT", _manifest(ring))
    monkeypatch.setenv("FAB_MANIFEST_REPO", "https://github.com/org/trivia-manifests")
    result = CliRunner().invoke(main, ["generate", "-C", str(root), "prod"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def trivia(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """Three rings of examples/trivia generated from their branches; the dashboard over them."""
    root = tmp_path / "hld"
    shutil.copytree(REPO / "examples" / "trivia", root, ignore=shutil.ignore_patterns("generated"))
    (root / ".gitignore").write_text("generated/\ncomponents/\nhelm_repos/\n")
    (root / "bedrock.yaml").write_text(
        "rings:\n  master:\n    isDefault: true\n  develop: {}\n  canary: {}\n"
    )
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("FAB_RECORDS", url)
    git(root, "init", "-q", "-b", "master")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "trivia")
    prod = root / "config" / "prod.yaml"
    for ring, tag in RINGS.items():
        git(root, "checkout", "-q", "-B", ring, "master")
        if ring != "master":
            prod.write_text(prod.read_text().replace('tag: "1.2.0"', f'tag: "{tag}"'))
            git(
                root,
                "-c",
                f"user.name={ring.title()} Dev",
                "-c",
                f"user.email={ring}@example.com",
                "commit",
                "-q",
                "-am",
                f"api {tag}",
                "--author",
                f"{ring.title()} Dev <{ring}@example.com>",
            )
        else:  # production changes arrive by a merged pull request
            git(root, "checkout", "-q", "-b", "bump")
            prod.write_text(prod.read_text() + "\n")
            git(root, "commit", "-q", "-am", "bump")
            git(root, "checkout", "-q", "master")
            git(
                root, "merge", "-q", "--no-ff", "bump", "-m", "Merge pull request #57 from org/bump"
            )
        _generate(root, ring, monkeypatch)
    settings = DashboardSettings(records=url, ingest_secret=Secret(SECRET), poll_seconds=0.2)
    yield from client(settings)


def _sync(web: TestClient, cluster: str, ring: str, *, failed: bool = False) -> None:
    meta = {
        "kustomize.toolkit.fluxcd.io/revision": f"{ring}@sha1:{_manifest(ring)}",
        "cluster": cluster,
        "ring": ring,
    }
    extra = (
        {"severity": "error", "reason": "HealthCheckFailed", "message": "backend not ready"}
        if failed
        else {}
    )
    raw = body(flux(metadata=meta, **extra))
    assert (
        web.post("/api/v1/ingest/flux", content=raw, headers=signed(raw, SECRET)).status_code == 201
    )


def grid_drift(web: TestClient, ring: str) -> list[dict]:
    """The drift markers of the backend's cell in ``ring``."""
    grid = web.get("/api/v1/matrix").json()
    backend = next(r for r in grid["rows"] if r["service"] == "backend")
    return list(backend["cells"][f"prod/{ring}"]["drift"])


def test_every_page_answers_the_seed_questions(trivia: TestClient) -> None:
    web = trivia
    _sync(web, "east", "master")
    _sync(web, "west", "develop")
    _sync(web, "west", "canary", failed=True)

    # What version of each service runs in production (the default ring, master)?
    grid = web.get("/api/v1/matrix").json()
    assert [c["ring"] for c in grid["columns"]][:1] == ["master"] and grid["columns"][0]["default"]
    backend = next(r for r in grid["rows"] if r["service"] == "backend")
    images = {key: cell["image"] for key, cell in backend["cells"].items()}
    assert images == {
        f"prod/{ring}": f"triviaacr.azurecr.io/api:{tag}" for ring, tag in RINGS.items()
    }
    page = web.get("/").text
    assert all(f"api:{tag}" in page for tag in RINGS.values())

    # Who changed it, through which pull request?
    master = web.get("/api/v1/deployments?ring=master").json()["items"]
    assert master[0]["pr"] == "57" and master[0]["mergedBy"] == "Test Committer"
    one = web.get(f"/api/v1/deployments/{master[0]['id']}").json()
    assert [s["name"] for s in one["journey"]][:4] == [
        "source",
        "image",
        "pull-request",
        "generated",
    ]
    assert "#57" in web.get(f"/deployments/{master[0]['id']}").text
    # No source commit time (no image build stage here): the lead time is unknown, not "0s".
    assert one["record"]["source"] is None or not one["record"]["source"].get("commitTime")
    assert one["leadTimeSeconds"] is None
    assert one["leadTimeUnknown"] == "the record has no source commit time"
    page = web.get(f"/deployments/{master[0]['id']}").text
    assert 'class="lead-time none"' in page and "lead time <strong" not in page

    # Did each cluster sync?
    east, west = web.get("/api/v1/clusters/east").json(), web.get("/api/v1/clusters/west").json()
    assert east["health"]["state"] == "healthy" and east["record"]["ring"] == "master"
    assert west["health"]["state"] == "failed"
    assert web.get("/api/v1/matrix?pivot=cluster").json()["columns"]
    assert "backend not ready" in web.get("/clusters/west").text
    failed = web.get("/api/v1/deployments?ring=canary").json()["items"][0]
    assert failed["state"] == "failed"

    # Which branch runs in each ring, and who is its author?
    for ring in RINGS:
        data = web.get(f"/api/v1/rings/{ring}").json()
        assert data["branch"] == ring and data["default"] == (ring == "master")
        items = web.get(f"/api/v1/deployments?ring={ring}").json()["items"]
        assert items[0]["branch"] == ring
        if ring != "master":
            assert items[0]["author"] == f"{ring.title()} Dev"
            assert f"{ring.title()} Dev" in web.get(f"/deployments?ring={ring}").text

    # One chart version in every ring: the image tags are what differ, and say so.
    for ring, tag in RINGS.items():
        if ring == "master":
            continue
        listed = web.get(f"/api/v1/rings/{ring}").json()["services"]
        backend = next(s for s in listed if s["service"] == "backend")
        assert backend["version"] == backend["defaultVersion"]  # the chart's
        assert backend["sameAsDefault"] is False
        assert [(d["kind"], d["a"], d["b"]) for d in backend["differences"]] == [
            ("image", "triviaacr.azurecr.io/api:1.2.0", f"triviaacr.azurecr.io/api:{tag}")
        ]
        frontend = next(s for s in listed if s["service"] == "frontend")
        assert frontend["sameAsDefault"] is True and frontend["differences"] == []
        assert "differs: image" in web.get(f"/rings/{ring}").text
        drifts = [d for d in grid_drift(web, ring) if d["kind"] == "aheadOfDefault"]
        assert [d["changes"] for d in drifts] == [1]

    # Promotion: what master would get from develop.
    diff = web.get("/api/v1/compare?a=ring:master&b=ring:develop&service=").json()
    assert any(i["b"] == "triviaacr.azurecr.io/api:1.3.0" for i in diff["images"])
    for path in ("/metrics", "/environments/prod", "/healthz", "/api/deployments"):
        assert web.get(path).status_code == 200, path
