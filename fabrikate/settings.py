"""One frozen settings object per run, passed down and varied with ``dataclasses.replace``.

settings = Settings.from_env(jobs=4)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from fabrikate.errors import InputError

__all__ = ["HOOK_POLICIES", "Secret", "Settings", "default_jobs", "variable"]

HOOK_POLICIES = ("all", "local", "none")
# oci://host[:port]/repository: the repository as the OCI distribution spec names one.
_REMOTE = (
    r"oci://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
)


def default_jobs() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Secret:
    """A token or shared secret that never prints: ``str()`` and ``repr()`` are masked."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"


def _fab(name: str) -> Any:
    """A field whose default is ``FAB_<name>`` when the settings are made (None when unset)."""
    return field(default_factory=lambda: variable(name) or None)


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
    cache_dir: str | None = _fab("CACHE_DIR")  # fab's cache folder; None: the user cache dir
    records: str | None = None  # records store URL (FAB_RECORDS); None: the default SQLite
    record_required: bool = False  # a failed record write fails the generation
    # OCI registries spoken to over plain http (FAB_PLAIN_HTTP_REGISTRIES, comma-separated).
    plain_http_registries: tuple[str, ...] = ()
    # The shared render cache on an OCI registry (FAB_REMOTE_CACHE, oci://host/repository), the
    # secret its entries are signed with, the registry's user:password, and whether to push.
    remote_cache: str | None = None
    remote_cache_key: Secret | None = None
    remote_cache_token: Secret | None = None
    remote_cache_push: bool = False
    mirrors: str | None = None  # the mirror map file (FAB_MIRRORS; 'none': no file); None: look
    builtin_mirrors: bool = True  # the built-in rules for retired chart hosts
    vendor: str | None = None  # install from this vendor folder (fab vendor), with no network
    # What a record says that only the run's caller knows (FAB_<NAME> unless given).
    ring: str | None = _fab("RING")  # None: the ring map's ring for the branch, else the branch
    service: str | None = _fab("SERVICE")
    pr: str | None = _fab("PR")  # the HLD pull request, when the CI does not name it
    records_scope: str | None = _fab("RECORDS_SCOPE")  # None: the HLD repository's name
    correlation_id: str | None = _fab("CORRELATION_ID")
    ci_run_id: str | None = _fab("CI_RUN_ID")  # e.g. the GitHub job id, which Spektate wants
    manifest_repo: str | None = _fab("MANIFEST_REPO")
    manifest_commit: str | None = _fab("MANIFEST_COMMIT")
    source_commit: str | None = _fab("SOURCE_COMMIT")  # the source change deployed
    source_repo: str | None = _fab("SOURCE_REPO")
    source_commit_time: str | None = _fab("SOURCE_COMMIT_TIME")

    def __post_init__(self) -> None:
        if self.remote_cache:  # made in code or from FAB_* alike
            _check_remote(self.remote_cache, self.remote_cache_key, self.remote_cache_token)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``FAB_*`` variables, then the given overrides (None means "unset")."""
        values: dict[str, object] = {}
        if variable("HELM"):
            values["helm"] = variable("HELM")
        if variable("GIT"):
            values["git"] = variable("GIT")
        if variable("NO_CACHE"):
            values["render_cache"] = False
        if variable("TIMEOUT"):
            values["timeout"] = _seconds(variable("TIMEOUT"))
        if variable("RECORDS"):
            values["records"] = variable("RECORDS")
        plain = [h.strip() for h in variable("PLAIN_HTTP_REGISTRIES").split(",") if h.strip()]
        if plain:
            values["plain_http_registries"] = tuple(plain)
        if variable("MIRRORS"):
            values["mirrors"] = variable("MIRRORS")
        values.update(_remote_cache())
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("timeout") == 0:  # from --timeout or FAB_TIMEOUT: no limit
            values["timeout"] = None
        if values.get("jobs") == 0:
            values["jobs"] = default_jobs()
        return cls(**values)  # type: ignore[arg-type]


def variable(name: str) -> str:
    """``FAB_<name>`` ('' when unset): every fab variable is read here and nowhere else."""
    return os.environ.get(f"FAB_{name}", "")


def _seconds(text: str) -> float:
    """``FAB_TIMEOUT`` as seconds; anything but a number >= 0 is an error."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise InputError(f"FAB_TIMEOUT={text!r}: want a number of seconds (0: no limit)")
    return value


def _remote_cache() -> dict[str, object]:
    """The ``FAB_REMOTE_CACHE*`` settings (checked by ``Settings`` itself)."""
    url = variable("REMOTE_CACHE").strip()
    if not url:
        return {}
    key, token = variable("REMOTE_CACHE_KEY").strip(), variable("REMOTE_CACHE_TOKEN").strip()
    push = variable("REMOTE_CACHE_PUSH").strip()
    if push not in ("", "0", "1"):
        raise InputError(f"FAB_REMOTE_CACHE_PUSH={push!r}: want 1 (push) or 0 (read only)")
    return {
        "remote_cache": url.rstrip("/"),
        "remote_cache_key": Secret(key) if key else None,
        "remote_cache_token": Secret(token) if token else None,
        "remote_cache_push": push == "1",
    }


def _check_remote(url: str, key: Secret | None, token: Secret | None) -> None:
    """Refuse a remote cache without its key, with user info, not ``oci://host/repository``,
    or with a token that is not ``user:password``."""
    if key is None or not key.value:
        raise InputError(
            "FAB_REMOTE_CACHE needs FAB_REMOTE_CACHE_KEY, the shared secret its entries are"
            " signed with"
        )
    if "@" in url:
        raise InputError(
            "FAB_REMOTE_CACHE holds user info: credentials go in FAB_REMOTE_CACHE_TOKEN"
        )
    if not re.fullmatch(_REMOTE, url.rstrip("/")):
        raise InputError(f"FAB_REMOTE_CACHE={url!r}: want oci://<host>/<repository>")
    if token is not None and ":" not in token.value:  # never echoed: it is a secret
        raise InputError("FAB_REMOTE_CACHE_TOKEN: want user:password")
