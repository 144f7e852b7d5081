"""Which CI run this is: Azure Pipelines, GitHub Actions or GitLab CI, from their variables.

info = detect(os.environ)   # {"provider": "github", "runId": "…", "runUrl": "…", …}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["actor", "detect", "pull_request"]

# Variables naming who started the run, by provider.
_ACTORS = ("BUILD_REQUESTEDFOR", "GITHUB_ACTOR", "GITLAB_USER_NAME")
# Run reasons of a push (a merge lands as one), where the actor is who merged.
_PUSHES = {"individualci", "batchedci", "push"}
# Run reasons that mean "a PR validation build", never a deployment (bedrock#1333).
_VALIDATION = {"pullrequest", "pull_request", "pull_request_target", "merge_request_event"}


def _azdo(env: Mapping[str, str]) -> dict[str, Any]:
    run_id = env.get("BUILD_BUILDID")
    base = env.get("SYSTEM_COLLECTIONURI", "").rstrip("/")
    project = env.get("SYSTEM_TEAMPROJECT", "")
    url = f"{base}/{project}/_build/results?buildId={run_id}" if base and run_id else None
    return {
        "provider": "azdo",
        "runId": run_id,
        "runNumber": env.get("BUILD_BUILDNUMBER"),
        "runUrl": url,
        "reason": env.get("BUILD_REASON"),
        "branch": env.get("BUILD_SOURCEBRANCHNAME"),
    }


def _github(env: Mapping[str, str]) -> dict[str, Any]:
    run_id = env.get("GITHUB_RUN_ID")
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repo = env.get("GITHUB_REPOSITORY")
    return {
        "provider": "github",
        "runId": run_id,
        "runNumber": env.get("GITHUB_RUN_NUMBER"),
        "runUrl": f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else None,
        "reason": env.get("GITHUB_EVENT_NAME"),
        "branch": env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME"),
    }


def _gitlab(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "provider": "gitlab",
        "runId": env.get("CI_PIPELINE_ID"),
        "runNumber": env.get("CI_PIPELINE_IID"),
        "runUrl": env.get("CI_PIPELINE_URL"),
        "reason": env.get("CI_PIPELINE_SOURCE"),
        "branch": env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME"),
    }


def detect(env: Mapping[str, str], run_id: str | None = None) -> dict[str, Any]:
    """The CI run described by ``env`` (``provider: local`` outside CI); ``run_id`` overrides
    the run id the CI gives."""
    if env.get("TF_BUILD", "").lower() == "true":
        info = _azdo(env)
    elif env.get("GITHUB_ACTIONS") == "true":
        info = _github(env)
    elif env.get("GITLAB_CI") == "true":
        info = _gitlab(env)
    else:
        info = {"provider": "local", "runId": None, "runNumber": None, "runUrl": None}
        info.update(reason=None, branch=None)
    if run_id:  # e.g. the GitHub job id, which Spektate wants in p3
        info["runId"] = run_id
    info["validationOnly"] = (info.get("reason") or "").lower() in _VALIDATION
    return info


def pull_request(env: Mapping[str, str]) -> str | None:
    """The PR or merge request this run builds, when the CI says so."""
    for key in ("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "SYSTEM_PULLREQUEST_PULLREQUESTID"):
        if env.get(key):
            return env[key]
    ref = env.get("GITHUB_REF", "")
    if ref.startswith("refs/pull/"):
        return ref.split("/")[2]
    return env.get("CI_MERGE_REQUEST_IID") or None


def actor(env: Mapping[str, str], reason: str | None) -> str | None:
    """Who pushed the commit this run builds (who merged, for a merge), when the CI says so."""
    if (reason or "").lower() not in _PUSHES:
        return None
    return next((env[key] for key in _ACTORS if env.get(key)), None)
