"""One frozen settings object per run, passed down and varied with ``dataclasses.replace``.

settings = Settings.from_env(jobs=4)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from fabrikate.errors import InputError

__all__ = ["HOOK_POLICIES", "Settings", "default_jobs"]

HOOK_POLICIES = ("all", "local", "none")


def default_jobs() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that tunes a run: tools, parallelism, timeouts and policies."""

    helm: str = "helm"
    git: str = "git"
    jobs: int = field(default_factory=default_jobs)
    timeout: float | None = 600.0  # seconds for each external command; None waits forever
    strict: bool = False
    hooks: str = "all"
    allow_outside_root: bool = False
    offline: bool = False
    wait: bool = False  # wait for another fab process on the same tree instead of failing

    render_cache: bool = True
    incremental: bool = False  # skip a generate whose inputs and output did not change (fab: on)
    render_cache_bytes: int = 512 * 1024 * 1024
    records: str | None = None  # records store URL; None: FAB_RECORDS, else the default SQLite
    record_required: bool = False  # a failed record write fails the generation

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``FAB_*`` variables, then the given overrides (None means "unset")."""
        values: dict[str, object] = {}
        if os.environ.get("FAB_HELM"):
            values["helm"] = os.environ["FAB_HELM"]
        if os.environ.get("FAB_GIT"):
            values["git"] = os.environ["FAB_GIT"]
        if os.environ.get("FAB_NO_CACHE"):
            values["render_cache"] = False
        if os.environ.get("FAB_TIMEOUT"):
            values["timeout"] = _seconds(os.environ["FAB_TIMEOUT"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("timeout") == 0:  # from --timeout or FAB_TIMEOUT: no limit
            values["timeout"] = None
        if values.get("jobs") == 0:
            values["jobs"] = default_jobs()
        return cls(**values)  # type: ignore[arg-type]


def _seconds(text: str) -> float:
    """``FAB_TIMEOUT`` as seconds; anything but a number >= 0 is an error."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise InputError(f"FAB_TIMEOUT={text!r}: want a number of seconds (0: no limit)")
    return value
