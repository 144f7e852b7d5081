"""The vendored browser code is exactly the pinned npm release, and is packaged."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path

# file -> (npm package@version it is the dist file of, sha256)
VENDORED = {
    "htmx.min.js": (
        "htmx.org@2.0.11",
        "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
    ),
    "htmx-ext-sse.min.js": (
        "htmx-ext-sse@2.2.4",
        "98a46496de0c3605fbffdce9167ba427bdd9553184f83f149c261891a92c0136",
    ),
}
STATIC = resources.files("fabrikate.dashboard") / "static"


def test_vendored_files_are_the_pinned_releases() -> None:
    notice = (STATIC / "HTMX-LICENSE.txt").read_text()
    for name, (package, digest) in VENDORED.items():
        data = (STATIC / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert package.split("@")[1] in notice and package.split("@")[0] in notice


def test_htmx_is_version_2_0() -> None:
    text = (STATIC / "htmx.min.js").read_text()
    assert 'version:"2.0.11"' in text.replace(" ", "")


def test_templates_and_static_files_are_package_data() -> None:
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["fabrikate"]
    assert "dashboard/templates/*.html" in data and "dashboard/static/*" in data
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    assert {d.split(">")[0] for d in extras["dashboard"]} == {"fastapi", "uvicorn", "jinja2"}
