"""Bedrock's ``deployment create``: stitch pipeline stages into one deployment row (spec §1.4).

    key = create(store, "hello-bedrock", Stage(p1="6872", image_tag="hello-bedrock-master-6872",
                 commit_id="5b54eb4", service="hello-bedrock"))

Differences from bedrock-cli, on purpose (docs/compatibility.md): the intended "absent or
equal" match rule, MERGE instead of replace, every value lowercased, short SHAs cut to exactly
7 characters, an explicit correlation id that wins over the heuristics, and a retry when a
parallel writer changed the row first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import NamedTuple

from fabrikate.errors import InputError, RecordsError
from fabrikate.records.mask import strip_credentials
from fabrikate.records.stores.base import Row, Store

__all__ = ["Stage", "check_stage", "create", "new_row_key", "select"]

_ATTEMPTS = 10
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
# What later stages copy from an earlier row when they must insert a new one (spec §1.4).
_KEEP_STAGE2 = ("commitId", "p1", "service", "sourceRepo")
_KEEP_STAGE3 = ("commitId", "env", "hldRepo", "imageTag", "p1", "p2", "service", "sourceRepo")


class Stage(NamedTuple):
    """The values one pipeline stage knows, by Bedrock flag."""

    p1: str | None = None
    image_tag: str | None = None
    commit_id: str | None = None
    service: str | None = None
    p2: str | None = None
    hld_commit_id: str | None = None
    env: str | None = None
    p3: str | None = None
    manifest_commit_id: str | None = None
    pr: str | None = None
    repository: str | None = None
    correlation_id: str | None = None
    extra: Mapping[str, str] | None = None  # native fields added to the row (e.g. fabRecordId)

    def normalised(self) -> Stage:
        """Lowercase values, 7-character short SHAs, repository URLs without credentials."""
        values = {}
        for name, value in self._asdict().items():
            if isinstance(value, str):
                value = value.strip().lower() or None
                if value and name.endswith("commit_id") and _SHA.match(value):
                    value = value[:7]
                if value and name == "repository":
                    value = strip_credentials(value)
            values[name] = value
        return Stage(**values)


def new_row_key() -> str:
    """A deployment id as bedrock-cli makes it: 12 hex digits of a random UUID."""
    return uuid.uuid4().hex[:12]


def _present(values: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def _qualifies(row: Row, values: Mapping[str, str | None], names: tuple[str, ...]) -> bool:
    """Each of ``names`` is absent from the row or equal to the new value."""
    return all(not row.fields.get(n) or row.fields.get(n) == (values.get(n) or "") for n in names)


def _plan(store: Store, scope: str, stage: Stage) -> tuple[Row | None, dict[str, str]]:
    """Which row to merge into (None: insert) and the fields to write."""
    if stage.p1:
        if not (stage.image_tag and stage.commit_id and stage.service):
            raise InputError("--p1 needs --image-tag, --commit-id and --service")
        values = {
            "p1": stage.p1,
            "imageTag": stage.image_tag,
            "commitId": stage.commit_id,
            "service": stage.service,
            "sourceRepo": stage.repository,
        }
        return None, _present(values)
    if stage.p2:
        if not (stage.hld_commit_id and stage.env and stage.image_tag):
            raise InputError("--p2 needs --hld-commit-id, --env and --image-tag")
        values = {
            "p2": stage.p2,
            "hldCommitId": stage.hld_commit_id,
            "env": stage.env,
            "pr": stage.pr,
            "hldRepo": stage.repository,
        }
        rows = store.find_rows(scope, "imageTag", stage.image_tag)
        return _match(rows, values, ("p2", "hldCommitId", "env"), _KEEP_STAGE2, stage.image_tag)
    if stage.p3 and stage.hld_commit_id:
        values = {
            "p3": stage.p3,
            "hldCommitId": stage.hld_commit_id,
            "manifestCommitId": stage.manifest_commit_id,
            "pr": stage.pr,
            "manifestRepo": stage.repository,
        }
        rows = store.find_rows(scope, "hldCommitId", stage.hld_commit_id)
        if not rows and stage.pr:
            rows = store.find_rows(scope, "pr", stage.pr)
        row, merged = _match(rows, values, ("p3", "manifestCommitId"), _KEEP_STAGE3, None)
        if row is None and not rows:  # a generation nobody announced: a manual HLD edit
            merged.update(_present({"env": stage.env, "service": stage.service}))
        return row, merged
    if stage.p3 and stage.manifest_commit_id:
        rows = store.find_rows(scope, "p3", stage.p3)
        if not rows:
            raise RecordsError(
                f"No manifest generation found to update manifest commit {stage.manifest_commit_id}"
            )
        values = {"manifestCommitId": stage.manifest_commit_id, "manifestRepo": stage.repository}
        return rows[0], _present(values)
    raise InputError(
        "No action could be performed: give --p1, --p2, or --p3 with --hld-commit-id "
        "or --manifest-commit-id"
    )


def _match(
    rows: list[Row],
    values: Mapping[str, str | None],
    names: tuple[str, ...],
    keep: tuple[str, ...],
    image_tag: str | None,
) -> tuple[Row | None, dict[str, str]]:
    """Merge into the first qualifying row; else copy the newest row's kept fields."""
    new = _present(values)
    for row in rows:
        if _qualifies(row, values, names):
            return row, new
    if rows:
        copied = {k: rows[0].fields[k] for k in keep if rows[0].fields.get(k)}
        new = {**copied, **new}
    if image_tag:
        new["imageTag"] = image_tag
    return None, new


def _explicit(store: Store, scope: str, stage: Stage) -> tuple[Row | None, dict[str, str]]:
    """With a correlation id the row is known: merge every given value into it."""
    values = {
        "p1": stage.p1,
        "imageTag": stage.image_tag,
        "commitId": stage.commit_id,
        "service": stage.service,
        "p2": stage.p2,
        "hldCommitId": stage.hld_commit_id,
        "env": stage.env,
        "p3": stage.p3,
        "manifestCommitId": stage.manifest_commit_id,
        "pr": stage.pr,
    }
    if stage.repository:
        repo_field = "sourceRepo" if stage.p1 else "hldRepo" if stage.p2 else "manifestRepo"
        values[repo_field] = stage.repository
    rows = store.find_rows(scope, "RowKey", stage.correlation_id or "")
    return (rows[0] if rows else None), _present(values)


def check_stage(scope: str, stage: Stage) -> Stage:
    """``stage`` normalised; an invalid scope or correlation id raises ``InputError``."""
    if not scope or any(c in scope for c in "/\\#?"):
        raise InputError(f"invalid scope (partition key) {scope!r}: empty or has / \\ # ?")
    stage = stage.normalised()
    if stage.correlation_id and not re.fullmatch(r"[0-9a-z-]{1,64}", stage.correlation_id):
        raise InputError(f"invalid correlation id {stage.correlation_id!r}")
    return stage


def create(store: Store, scope: str, stage: Stage) -> str:
    """Record ``stage`` in ``scope``'s deployment rows; return the deployment id (RowKey)."""
    stage = check_stage(scope, stage)
    extra = dict(stage.extra or {})
    for _ in range(_ATTEMPTS):
        with store.lock(scope):
            if stage.correlation_id:
                row, values = _explicit(store, scope, stage)
                key = stage.correlation_id
            else:
                row, values = _plan(store, scope, stage)
                key = new_row_key()
            values.update(extra)
            if row is not None:
                if store.merge_row(row, values):
                    return row.row_key
            elif store.insert_row(Row(scope, key, values)):
                return key
    raise RecordsError(f"deployment row of scope {scope!r} kept changing; gave up after retries")


def select(
    rows: list[Row],
    *,
    build_id: str | None = None,
    commit_id: str | None = None,
    deployment_id: str | None = None,
    image_tag: str | None = None,
    ring: str | None = None,
    service: str | None = None,
) -> list[Row]:
    """Rows matching every given filter, compared as stored (lowercase, 7-character commits)."""
    given = Stage(
        p1=build_id, commit_id=commit_id, image_tag=image_tag, env=ring, service=service
    ).normalised()
    wanted = _present(
        {
            "p1": given.p1,
            "commitId": given.commit_id,
            "imageTag": given.image_tag,
            "env": given.env,
            "service": given.service,
        }
    )
    key = deployment_id.strip().lower() if deployment_id else None
    return [
        row
        for row in rows
        if (key is None or row.row_key == key)
        and all(row.fields.get(name) == value for name, value in wanted.items())
    ]
