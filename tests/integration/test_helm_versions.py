"""One output for helm 3 and helm 4: the same charts give byte-identical files (issue 12).

helm 4.2 and later keep each rendered template's trailing newline, so without normalising every
document would gain a blank line and a helm upgrade would rewrite the whole manifest repository.
This test renders the same charts with both pinned binaries and compares the bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import fabrikate
from fabrikate.settings import Settings

REPO = Path(__file__).resolve().parent.parent.parent
CHARTS = REPO / "tests" / "data" / "charts"
HELMS = {v: REPO / ".tools" / f"helm-{v}" / "helm" for v in ("v3.17.3", "v4.3.1")}

pytestmark = [
    pytest.mark.helm,
    pytest.mark.skipif(
        not all(p.is_file() for p in HELMS.values()), reason="needs both helms: make tools"
    ),
]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_helm_3_and_helm_4_write_the_same_bytes(tmp_path: Path) -> None:
    root = tmp_path / "hld"
    shutil.copytree(REPO / "examples" / "trivia", root)
    for chart in ("versions", "demo"):
        shutil.copytree(CHARTS / chart, root / "charts" / chart)
    component = (root / "component.yaml").read_text()
    (root / "component.yaml").write_text(
        component
        + "  - name: versions\n    type: helm\n    path: ./charts/versions\n"
        + "  - name: demo\n    type: helm\n    path: ./charts/demo\n"
    )
    outputs = {}
    for version, helm in HELMS.items():
        settings = Settings.from_env(helm=str(helm), render_cache=False)
        fabrikate.generate(root, ["prod"], output=tmp_path / version, settings=settings)
        outputs[version] = files(tmp_path / version)
    helm3, helm4 = outputs.values()
    assert helm3 == helm4
    versions = helm3["versions.yaml"].decode()
    assert "name: versions-trailing\n---\n" in versions  # helm 4 printed a blank line here
    assert "  script: |+\n    echo kept\n---\n" in versions  # as helm 3 prints it
