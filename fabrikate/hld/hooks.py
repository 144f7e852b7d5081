"""A component's hooks: ``sh -c`` commands run in its folder before and after install and
generate, with a minimal environment and the ``--hooks`` policy.

    run_hooks(node, "before-generate", settings)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fabrikate.support.process import Command, run

if TYPE_CHECKING:
    from fabrikate.hld.resolve import ResolvedComponent
    from fabrikate.settings import Settings

__all__ = ["GENERATE_HOOKS", "HOOK_ENV_KEEP", "has_generate_hooks", "hook_environment", "run_hooks"]

log = logging.getLogger("fabrikate")

GENERATE_HOOKS = ("before-generate", "after-generate")


# What a hook sees of fab's environment: enough to run tools, never a credential.
HOOK_ENV_KEEP = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TMPDIR",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "FAB_HELM",
    "FAB_GIT",
)


def hook_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The documented, minimal environment of a hook command."""
    env = {key: os.environ[key] for key in HOOK_ENV_KEEP if key in os.environ}
    env.update(extra)
    return env


def run_hooks(
    node: ResolvedComponent, event: str, settings: Settings, extra: Mapping[str, str] | None = None
) -> None:
    """Run a component's hook commands for ``event`` in order with ``sh -c``, as the
    ``--hooks`` policy allows; the first failure raises. ``extra`` adds to their environment
    (install hooks: the mirror map as git settings)."""
    commands = node.component.hook(event)
    if not commands:
        return
    if settings.hooks == "none" or (settings.hooks == "local" and node.remote):
        log.info("skipping hook %s of %s (--hooks %s)", event, node.id, settings.hooks)
        return
    env = {**(extra or {}), "FAB_COMPONENT": node.name, "FAB_COMPONENT_PATH": node.id}
    env["FAB_HOOK"] = event
    for text in commands:
        log.info("hook %s: %s", event, text)
        command = Command(
            ("sh", "-c", text),
            cwd=str(node.physical_path),
            env=hook_environment(env),
            timeout=settings.timeout,
            what=f"hook {event} command {text!r}",
            replace_env=True,
        )
        done = run(command).check()
        for stream in (done.stdout, done.stderr):  # shown with -v
            for line in stream.splitlines():
                log.debug("hook %s of %s: %s", event, node.id, line)


def has_generate_hooks(node: ResolvedComponent) -> bool:
    """Whether ``node`` runs commands around its rendering."""
    return any(node.component.hook(event) for event in GENERATE_HOOKS)
