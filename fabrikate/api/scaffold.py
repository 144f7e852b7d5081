"""``fab init``: a new HLD, ready for ``fab validate``, ``fab generate`` and a CI pipeline.

    created = init("hld", environments=["dev", "prod"], ci="github")
    print(created.written, created.skipped)

The files come from ``fabrikate/templates/init``. Nothing that exists is overwritten: an
existing ``.gitignore`` gets the lines it lacks, any other existing file is left as it is and
reported as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fabrikate._version import __version__
from fabrikate.errors import InputError
from fabrikate.hld.config import check_environment
from fabrikate.hld.layout import check_name
from fabrikate.hld.model import component_file
from fabrikate.support.fsutil import write_file

__all__ = ["CI_FILES", "HELM_VERSION", "InitResult", "init"]

# Where each CI system looks for its pipeline.
CI_FILES = {
    "github": ".github/workflows/fab.yaml",
    "azure": "azure-pipelines.yml",
    "gitlab": ".gitlab-ci.yml",
}
HELM_VERSION = "3.17.3"  # the helm the pipelines install (the one fab is tested with)


@dataclass
class InitResult:
    """What ``init`` did, as paths relative to the HLD root."""

    root: Path
    written: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)  # existing files given missing lines
    skipped: list[str] = field(default_factory=list)  # existing files left alone


def init(
    path: str | Path = ".",
    *,
    name: str | None = None,
    environments: Sequence[str] = ("dev", "prod"),
    ci: str | None = None,
    branch: str = "main",
) -> InitResult:
    """Scaffold an HLD at ``path`` (created when missing): the root component, config of
    ``common`` and each environment, the ring map, ``.gitignore``, a pre-commit hook and, with
    ``ci`` (github, azure or gitlab), a pipeline for the repository's ``branch``."""
    root = Path(path)
    if component_file(root) is not None:
        raise InputError(f"{root} already holds an HLD ({component_file(root)})")
    name = name or _default_name(root)
    problem = check_name(name, "component name")
    if problem:
        raise InputError(problem)
    for env in environments:
        check_environment(env)
        if env == "common":
            raise InputError("'common' is always there; name the other environments")
    if ci is not None and ci not in CI_FILES:
        raise InputError(f"--ci {ci!r}: choose one of {', '.join(CI_FILES)}")
    values = {
        "name": name,
        "branch": branch,
        "environments": " ".join(environments),
        "diff_envs": " ".join(f"-e {env}" for env in environments) or "",
        "version": __version__,
        "helm": HELM_VERSION,
    }
    files = {
        "component.yaml": _template("component.yaml", values),
        "config/common.yaml": _template("common.yaml", values),
        **{
            f"config/{env}.yaml": _template("environment.yaml", {**values, "environment": env})
            for env in environments
        },
        "manifests/namespace.yaml": _template("namespace.yaml", values),
        "rings.yaml": _template("rings.yaml", values),
        ".pre-commit-config.yaml": _template("pre-commit-config.yaml", values),
    }
    if ci is not None:
        files[CI_FILES[ci]] = _template(f"ci/{ci}.yaml", values)
    result = InitResult(root)
    for rel, text in files.items():
        try:
            write_file(root / rel, text, new=True)
            result.written.append(rel)
        except FileExistsError:
            result.skipped.append(rel)
    _gitignore(root, _template("gitignore", values), result)
    return result


def _default_name(root: Path) -> str:
    """The folder's name, as a component name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.resolve().name).strip("-.")
    return name or "hld"


def _template(name: str, values: dict[str, str]) -> str:
    text = (resources.files("fabrikate") / "templates" / "init" / name).read_text("utf-8")
    return re.sub(r"@(\w+)@", lambda m: values[m.group(1)], text)


def _gitignore(root: Path, wanted: str, result: InitResult) -> None:
    """Write ``.gitignore``, or add the lines an existing one lacks."""
    path = root / ".gitignore"
    try:
        write_file(path, wanted, new=True)
        result.written.append(".gitignore")
        return
    except FileExistsError:
        pass
    text = path.read_text(encoding="utf-8")
    have = {line.strip().strip("/") for line in text.splitlines()}
    missing = [
        line
        for line in wanted.splitlines()
        if line and not line.startswith("#") and line.strip("/") not in have
    ]
    if missing:
        ending = "" if not text or text.endswith("\n") else "\n"
        write_file(path, text + ending + "\n".join(["# fab", *missing]) + "\n")
        result.extended.append(".gitignore")
