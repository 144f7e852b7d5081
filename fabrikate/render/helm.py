"""The helm generator: ``helm template`` of a component's chart, its stdout read as helm 3
prints it (the one place helm 3 and 4 are made alike).

    generator = HelmGenerator(settings, cache)
    key = generator.key(node)                     # chart files, values, namespace, helm, fab
    documents = generator.documents(node, diagnostics)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import threading
from pathlib import Path
from typing import Any

from fabrikate._version import __version__
from fabrikate.errors import Diagnostic, FabrikateError, ProcessError
from fabrikate.hld import layout
from fabrikate.hld.resolve import ResolvedComponent
from fabrikate.render.documents import split_documents
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest
from fabrikate.support.fsutil import read_regular
from fabrikate.support.helm import Helm, identity

__all__ = ["HELM_FLAGS", "HELM_OUTPUT_FORMAT", "HelmGenerator", "helm_documents", "helm_template"]

HELM_FLAGS = ("--include-crds",)
# Part of the render cache key: a change to how helm's output is read changes it.
HELM_OUTPUT_FORMAT = "helm3-trimmed"
# The one ``timings`` entry: how long each component's render took last time it ran, by
# component (``_timing_id``), for every tree using the cache; the newest are kept.
TIMINGS_KEY = digest("helm-times")
TIMINGS_KEPT = 5000


class HelmGenerator:
    """``type: helm``: ``helm template`` of the component's chart, with fab's helm homes.

    Its cache key covers everything that can change the output: the chart's files, the merged
    values, namespace, release name, helm's binary and flags, and fab's version.
    """

    def __init__(self, settings: Settings, cache: Cache, *, remember: bool = True) -> None:
        self.helm = Helm.of(settings, cache)
        self.cache = cache if remember else None  # the render times
        self._charts: dict[str, str] = {}  # chart folder -> digest of its files
        self._checked: dict[str, layout.Chart] = {}  # component -> its chart, checked to render
        self._sizes: dict[str, int] = {}  # chart folder -> how many files it has
        self._reals: dict[str, str] = {}  # chart path as written -> its folder, links resolved
        self._identity: str | None = None
        self._lock = threading.Lock()
        self._last: dict[str, float] | None = None  # the timings entry, read once
        self._took: dict[str, float] = {}  # this run's render times
        self._times_lock = threading.Lock()
        # At most ``jobs`` helm processes at once: a render reads the output of its helm while
        # the next helm already runs (the pool has more workers than jobs, see api/render.py).
        self._slots = threading.BoundedSemaphore(max(1, settings.jobs))

    def key(self, node: ResolvedComponent) -> str | None:
        """The digest of the chart's files (each checked first) and of everything else."""
        values = json.dumps(node.config.config, sort_keys=True, ensure_ascii=False, default=str)
        return digest(
            "helm-template",
            __version__,
            self.identity(),
            self.chart_digest(self._checked.get(node.id) or layout.checked_chart(node)),
            values,
            node.namespace,
            node.name,
            " ".join(HELM_FLAGS),
            HELM_OUTPUT_FORMAT,
        )

    def documents(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
        """``helm template`` of the chart, once its files passed the layout's checks."""
        chart = self._checked[node.id] = layout.checked_chart(node)
        # The chart's digest is taken now, from the files helm is about to read (its checks
        # first: helm follows links), so an entry written after the run is keyed by them.
        self.chart_digest(chart)
        return helm_template(node, chart.path, self.helm, diagnostics, self._slots)

    def cost(self, node: ResolvedComponent) -> float:
        """The seconds ``node`` took last time (kept in the cache), else a guess from the
        number of its chart's files."""
        known = self._last_times().get(_timing_id(node))
        if known is not None:
            return known
        real = self._reals.get(str(layout.chart_dir(node)))
        if real not in self._sizes:  # a guess needs no check of a known chart: rendering checks
            try:
                chart = layout.checked_chart(node)
                real = self._real(chart.path)
                if real not in self._sizes:
                    self._sizes[real] = len(layout.chart_files(chart))
            except FabrikateError:  # rendering reports it
                return 0.0
        return 0.03 + 0.002 * self._sizes[real]  # helm's start, then a little per file

    def took(self, node: ResolvedComponent, seconds: float) -> None:
        """Hear how long ``helm template`` of ``node`` took, for the next run's order."""
        with self._times_lock:
            self._took[_timing_id(node)] = round(seconds, 4)

    def remember(self) -> None:
        """Keep the render times heard in the one ``timings`` entry, with the older times of
        the components this run did not render."""
        if self.cache is None or not self._took:
            return
        with self._times_lock:
            times = {k: v for k, v in self._last_times().items() if k not in self._took}
            times.update(self._took)
        kept = dict(list(times.items())[-TIMINGS_KEPT:])
        self.cache.put("timings", TIMINGS_KEY, json.dumps(kept, separators=(",", ":")).encode())

    def _last_times(self) -> dict[str, float]:
        """The times the ``timings`` entry holds (read once per run)."""
        if self._last is None:
            entry = self.cache.get("timings", TIMINGS_KEY) if self.cache is not None else None
            self._last = _read_times(entry)
        return self._last

    def chart_digest(self, chart: layout.Chart) -> str:
        """A digest of every file of a chart, computed once per run and chart folder (however
        many paths lead to it: ``a/../charts/x`` and ``b/../charts/x``)."""
        real = self._real(chart.path)
        found = self._charts.get(real)
        if found is None:
            parts: list[bytes | str] = []
            for rel, path in layout.chart_files(chart):
                parts.append(rel)
                parts.append(read_regular(path))
            found = self._charts[real] = digest(*parts)
        return found

    def _real(self, path: Path) -> str:
        """``path`` with its links resolved, once per run and path as written (the run reads
        each chart as it was when first seen, as its digest)."""
        written = str(path)
        real = self._reals.get(written)
        if real is None:
            real = self._reals[written] = os.path.realpath(written)
        return real

    def identity(self) -> str:
        """What the configured helm is, for the key (``support.helm.identity``), found once."""
        with self._lock:
            if self._identity is None:
                self._identity = identity(self.helm.binary)
            return self._identity


def _timing_id(node: ResolvedComponent) -> str:
    """A component's name in the timings entry: its logical path and chart (no absolute
    path), hashed short."""
    return digest("helm-time", node.id, node.component.path)[:16]


def _read_times(entry: bytes | None) -> dict[str, float]:
    """The times of a ``timings`` entry, which is untrusted: anything but finite seconds by
    name is left out."""
    try:
        data = json.loads(entry) if entry else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        name: float(seconds)
        for name, seconds in data.items()
        if type(seconds) in (int, float) and math.isfinite(seconds) and seconds >= 0
    }


def helm_template(
    node: ResolvedComponent,
    chart: Path,
    helm: Helm,
    diagnostics: list[Diagnostic],
    slots: contextlib.AbstractContextManager[Any] | None = None,
) -> list[str]:
    """``helm template`` of ``chart`` (inside ``slots``, when given), its output checked."""
    # Values go to helm's stdin as JSON, which is YAML that keeps every type: "1e3", "yes" and
    # "0777" stay strings.
    values = json.dumps(node.config.config, ensure_ascii=False, default=str).encode()
    args = (
        "template",
        "--values",
        "-",
        "--namespace",
        node.namespace,
        *HELM_FLAGS,
        "--",
        node.name,
        str(chart),
    )
    with slots or contextlib.nullcontext():
        result = helm.run(args, what="helm template", input=values)
    if result.returncode != 0:
        message = _helm_message(result.stderr)
        raise ProcessError(
            f"helm template failed for chart {chart}: {message}",
            returncode=result.returncode,
            stderr=result.stderr,
        )
    for line in result.stderr.splitlines():
        if line.strip():
            diagnostics.append(Diagnostic("warning", f"helm: {line.strip()}", component=node.id))
    _check_manifests(result.stdout, chart)
    return helm_documents(result.stdout)


# A rendered template's document (not a CRD file, which both helms print as it is written).
_TEMPLATE_SOURCE = re.compile(r"# Source: [^/\n]+(?:/charts/[^/\n]+)*/templates/")
# Go's unicode.IsSpace, which helm 3 trims with (Python's str.isspace also has \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)


def helm_documents(stdout: str) -> list[str]:
    """The documents of ``helm template``'s output, byte for byte as helm 3 prints them.

    helm 3 trims the white space around each rendered template; helm 4.2 and later keep its
    trailing newline, which puts a blank line before every ``---`` (helm/helm#32565). Trimming
    here, the one place helm output is read, makes both give the same files.
    """
    return [
        doc.rstrip(_GO_SPACE) + "\n" if _TEMPLATE_SOURCE.match(doc) else doc
        for doc in split_documents(stdout)
    ]


def _check_manifests(text: str, chart: Path) -> None:
    """helm's stdout is untrusted tool output: it must be YAML documents, with no NUL byte."""
    import yaml

    problem, line = "", 0
    if "\0" in text:
        problem, line = "a NUL byte", text.count("\n", 0, text.index("\0")) + 1
    else:
        try:
            _parse(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem, line = f"invalid YAML ({exc.problem})", (mark.line + 1 if mark else 1)
        except yaml.YAMLError as exc:
            problem, line = f"invalid YAML ({exc})", 1
    if problem:
        lines = text.splitlines() or [""]
        line = min(line, len(lines))  # an error at the end of the stream: its last line
        bad = lines[line - 1]
        raise ProcessError(
            f"helm template printed {problem} for chart {chart}, line {line}: {bad[:80]!r}"
        )


def _parse(text: str) -> None:
    """Parse a YAML stream for its syntax alone: with libyaml, all in C (no event objects,
    a sixth of the cost of iterating its events), else PyYAML's events."""
    import yaml

    if yaml.__with_libyaml__:
        from yaml._yaml import CParser

        CParser(text).raw_parse()
        return
    for _ in yaml.parse(text, Loader=yaml.SafeLoader):
        pass


def _helm_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    return " | ".join(errors or lines[-3:]) or "no message"
