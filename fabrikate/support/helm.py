"""The one way fab runs helm, for install and generate alike: with fab's own config, cache and
data homes inside fab's cache, so the user's helm configuration never changes what fab fetches
or renders (flux-local's isolation).

    helm = Helm.of(settings, cache)
    done = helm.run(["template", "--values", "-", "--", "app", "charts/app"], what="helm template")
    print(version(settings.helm, cache))
    key = identity(settings.helm)     # what the binary is, for cache keys: no process started
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from fabrikate.errors import FabrikateError, ProcessError
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest
from fabrikate.support.fsutil import which
from fabrikate.support.process import Command, Completed, run

__all__ = ["GOGC", "Helm", "go_runtime", "identity", "version"]


class Helm(NamedTuple):
    """A helm binary, the folder of fab's helm homes, and the timeout of each command."""

    binary: str
    home: Path
    timeout: float | None = 300.0

    @classmethod
    def of(cls, settings: Settings, cache: Cache) -> Helm:
        """The helm of a run: ``settings.helm``, homes in ``cache``'s ``helm`` folder."""
        return cls(settings.helm, cache.folder("helm"), settings.timeout)

    @property
    def environment(self) -> dict[str, str]:
        """The homes, as helm's variables, and Go's collector setting (an overlay on the
        process environment)."""
        return {
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_DATA_HOME": str(self.home / "data"),
            **go_runtime(),
        }

    def command(
        self,
        args: Sequence[str],
        *,
        what: str,
        input: bytes | None = None,
        secrets: Sequence[str] = (),
    ) -> Command:
        """``helm ARGS`` with fab's homes."""
        return Command(
            (self.binary, *args),
            env=self.environment,
            timeout=self.timeout,
            secrets=tuple(secrets),
            what=what,
            input=input,
        )

    def run(
        self,
        args: Sequence[str],
        *,
        what: str,
        input: bytes | None = None,
        secrets: Sequence[str] = (),
    ) -> Completed:
        """Run ``helm ARGS`` to its end; the caller reads the return code and both streams."""
        return run(self.command(args, what=what, input=input, secrets=secrets))

    def user_environment(self) -> dict[str, str]:
        """``helm env`` of the user's own configuration (not fab's homes): where their
        repositories and registry logins are, read and never written; empty without helm."""
        try:
            command = Command((self.binary, "env"), env=go_runtime(), timeout=30, what="helm env")
            out = run(command).check().stdout
        except FabrikateError:  # no helm env means no user configuration
            return {}
        pairs = (line.split("=", 1) for line in out.splitlines() if "=" in line)
        return {k: v.strip('"') for k, v in pairs}


GOGC = "400"


def go_runtime() -> dict[str, str]:
    """Go's collector setting for helm, unless the environment sets its own ``GOGC``."""
    # Go collects first at a 4 MB heap, and helm allocates past that several times as it
    # starts: collecting at five times the live heap instead of twice cut the CPU of bench/'s
    # helm calls by a fifth, at the same peak memory for its charts (README: a big chart's
    # peak grows, which GOGC or GOMEMLIMIT of the user's own bound).
    return {} if "GOGC" in os.environ else {"GOGC": GOGC}


def _binary(helm: str) -> tuple[str, str | None]:
    """The program ``helm`` names, and its cache key (None for a script)."""
    binary = which(helm) or helm
    try:
        return binary, _binary_key(binary)
    except OSError as exc:
        raise ProcessError(f"helm not found: {helm} (set FAB_HELM or put helm on PATH)") from exc


def _binary_key(binary: str) -> str | None:
    """A cache key for the program at ``binary`` that survives copying it elsewhere (or, for
    one that cannot be read, its path, size and time); None for a script (``#!``), such as a
    version manager's shim, whose helm can change while the script stays the same."""
    try:
        handle = open(binary, "rb")  # noqa: SIM115 (closed below)
    except PermissionError:
        stat = os.stat(binary)
        return digest(
            "helm-version", os.path.realpath(binary), str(stat.st_size), str(stat.st_mtime_ns)
        )
    with handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(_SAMPLE)
        if head.startswith(b"#!"):
            return None
        handle.seek(max(0, size - _SAMPLE))
        tail = handle.read(_SAMPLE)
    return digest("helm-version", str(size), head, tail)


_SAMPLE = 64 * 1024
_VERSION = re.compile(r"v?\d+\.\d+[\w.+-]{0,100}")  # what `helm version --short` prints
# One asks at a time, so a second caller finds the first one's answer in the cache.
_ASKING = threading.Lock()


def identity(helm: str) -> str:
    """What the helm ``helm`` names is, for cache keys: its binary's key, read without running
    it; for a script, the version it reports now."""
    binary, key = _binary(helm)
    return key if key is not None else digest("helm-script", _ask(binary))


def version(helm: str, cache: Cache | None) -> str:
    """`helm version --short`, remembered in the cache by the binary's size and the digest of
    its first and last 64 KiB: not by its path or time, which differ on a fresh CI runner with
    the cache restored. A script's answer is never remembered."""
    binary, key = _binary(helm)
    if cache is None or key is None:
        return _ask(binary)
    with _ASKING:
        known = (cache.get("tools", key) or b"").decode("utf-8", "replace")
        if _VERSION.fullmatch(known):  # anything else is a damaged entry: asked again
            return known
        text = _ask(binary)
        cache.put("tools", key, text.encode())
        return text


def _ask(binary: str) -> str:
    """`helm version --short` of ``binary``, asked now."""
    argv = (binary, "version", "--short")
    done = run(Command(argv, env=go_runtime(), timeout=60, what="helm version"))
    return done.check().stdout.strip()
