"""Generators turn a resolved component into a list of YAML documents; they never write files.

    docs = Renderer(settings).render(node, diagnostics)
    docs = [inject_namespace(doc, "prod", CLUSTER_SCOPED) for doc in docs]
    with Pool(jobs=2) as pool:                 # a whole tree, helm runs starting during the walk
        renders = TreeRender(settings, renderer, pool)
        tree = walk(root, ["prod"], found=renders.offer)
        results = renders.finish(tree)
    inject_namespaces(results, renderer)

``helm`` runs ``helm template`` and reads stdout only; ``static`` reads manifest files;
containers produce nothing. Documents are text, each ending with a newline, with empty
documents dropped.
"""

from __future__ import annotations

# PyYAML is imported by the functions that parse rendered documents: a run served from the
# caches never needs it.
import json
import logging
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Collection, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabrikate._version import __version__
from fabrikate.errors import (
    Diagnostic,
    FabrikateError,
    InputError,
    Location,
    ProcessError,
    component_context,
)
from fabrikate.hld import layout
from fabrikate.hld.hooks import has_generate_hooks, run_hooks
from fabrikate.hld.resolve import ResolvedComponent, Tree
from fabrikate.settings import Settings
from fabrikate.support.cache import Cache, digest
from fabrikate.support.fsutil import read_regular
from fabrikate.support.parallel import Pool
from fabrikate.support.process import Command, run
from fabrikate.support.progress import Event, Progress
from fabrikate.support.text import plural

__all__ = [
    "CLUSTER_SCOPED",
    "STATIC_SUFFIXES",
    "ComponentResult",
    "Renderer",
    "TreeRender",
    "cluster_scoped_kinds",
    "helm_documents",
    "helm_version",
    "inject_namespace",
    "inject_namespaces",
    "input_paths",
    "join_documents",
    "split_documents",
]

log = logging.getLogger("fabrikate")

STATIC_SUFFIXES = (".yaml", ".yml", ".json")
HELM_FLAGS = ("--include-crds",)
# Part of the render cache key: a change to how helm's output is read changes it.
HELM_OUTPUT_FORMAT = "helm3-trimmed"

# Kinds that live outside namespaces (kubectl api-resources --namespaced=false).
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersion",
        "StorageVersionMigration",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)

_SEPARATOR = re.compile(r"^---(?:[ \t]+(.*))?$")
_CONTENT = re.compile(r"^[ \t]*[^ \t#\r\n]", re.MULTILINE)


def split_documents(text: str) -> list[str]:
    """Split a YAML stream on ``---`` lines; drop empty and comment-only documents."""
    docs: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        match = _SEPARATOR.match(stripped)
        if match or stripped == "...":
            docs.append("".join(current))
            current = [match.group(1) + "\n"] if match and match.group(1) else []
        else:
            current.append(line)
    docs.append("".join(current))
    return [doc if doc.endswith("\n") else doc + "\n" for doc in docs if _CONTENT.search(doc)]


def join_documents(docs: Iterable[str]) -> str:
    """One YAML stream: every document after a ``---`` line."""
    return "".join(f"---\n{doc}" for doc in docs)


def input_paths(tree: Tree) -> list[Path]:
    """Every folder a generation of ``tree`` reads: component folders, charts, manifests."""
    paths = []
    for node in tree.components:
        paths.append(node.physical_path)
        if node.component.type == "helm":
            paths.append(layout.chart_dir(node))
        elif node.component.type == "static":
            paths.append(layout.static_dir(node))
    return paths


@dataclass
class ComponentResult:
    """One rendered component, with what rendering it noticed."""

    node: ResolvedComponent
    documents: list[str]
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Logical path plus name."""
        return self.node.id

    @property
    def file(self) -> str:
        """The output file, relative to the output folder."""
        return f"{self.node.id}.yaml"


@dataclass
class TreeRender:
    """Renders a tree on ``pool``: a helm component the cache cannot serve starts as soon as the
    walk finds it (``offer``), so helm runs while the rest of the tree is read; ``finish``
    renders the rest and returns every component in tree order (namespaces not injected yet).

    Cache hits are served by one task beside the helm runs, so reading the cache overlaps them.
    """

    settings: Settings
    renderer: Renderer
    pool: Pool
    started: dict[str, Future[ComponentResult | Exception]] = field(default_factory=dict)
    served: set[str] = field(default_factory=set)  # needing no helm run, file read or hook
    progress: Progress | None = None

    def offer(self, node: ResolvedComponent) -> None:
        """Sort ``node`` as the walk places it: served by the cache, or a helm run started now.
        A component with generate hooks waits for ``visit``."""
        if has_generate_hooks(node):
            return
        if self.renderer.ready(node):
            self.served.add(node.id)
        elif node.component.type == "helm":
            self.started[node.id] = self.pool.submit(self.one, node)

    def visit(self, node: ResolvedComponent) -> None:
        """The walk's visit of a component with generate hooks (``hooked``): it is rendered,
        hooks and all, before its children are read, as Fabrikate did (a hook may create their
        folders). A failure is the walk's: it skips the subtree."""
        done: Future[ComponentResult | Exception] = Future()
        done.set_result(self.one(node))
        self.started[node.id] = done

    @staticmethod
    def hooked(node: ResolvedComponent) -> bool:
        """Whether ``node`` has generate hooks, and so is rendered by ``visit``."""
        return has_generate_hooks(node)

    def one(self, node: ResolvedComponent) -> ComponentResult:
        """Render one component, with its hooks."""
        started = time.perf_counter()
        result = ComponentResult(node, [])
        shown = self.progress is not None and node.component.type in ("helm", "static")
        if shown:
            self.tell(Event(node.id, "rendering"))
        try:
            with component_context(node.id):
                run_hooks(node, "before-generate", self.settings)
                result.documents = self.renderer.render(node, result.diagnostics)
                run_hooks(node, "after-generate", self.settings)
        except FabrikateError as exc:
            if shown:
                self.tell(Event(node.id, "failed", str(exc)))
            raise
        result.seconds = time.perf_counter() - started
        if shown:
            count = plural(len(result.documents), "document")
            self.tell(Event(node.id, "done", count, cached=node.id in self.served))
        return result

    def tell(self, event: Event) -> None:
        """Report progress (``progress`` is set)."""
        assert self.progress is not None
        self.progress(event)

    def finish(self, tree: Tree) -> list[ComponentResult | Exception]:
        """Every component of ``tree`` rendered, in tree order: each result or its failure.
        Components whose visit failed are left out (the walk reported them)."""
        nodes = [
            n for n in tree.components if not (has_generate_hooks(n) and n.id not in self.started)
        ]
        hits = [n for n in nodes if n.id in self.served]
        rest = [n for n in nodes if n.id not in self.served and n.id not in self.started]
        futures = dict(self.started)
        batch = None
        for node in [*rest[:1], None, *rest[1:]] if hits else rest:
            if node is None:
                batch = self.pool.submit(self.serve, hits)
            else:
                futures[node.id] = self.pool.submit(self.one, node)
        self.pool.wait()
        from_cache = batch.result() if batch is not None else {}
        return [
            futures[n.id].result() if n.id in futures else _pick(from_cache, n.id) for n in nodes
        ]

    def serve(self, hits: list[ResolvedComponent]) -> dict[str, ComponentResult]:
        """Components the cache serves, one after another (threads would only slow them)."""
        return {node.id: self.one(node) for node in hits}


def _pick(batch: dict[str, ComponentResult] | Exception, key: str) -> ComponentResult | Exception:
    return batch if isinstance(batch, Exception) else batch[key]


def inject_namespaces(results: list[ComponentResult], renderer: Renderer) -> None:
    """Inject namespaces once every CRD of the tree is known (their scope decides)."""
    targets = [
        r
        for r in results
        if r.node.component.type == "helm"
        and r.node.config.inject_namespace
        and r.node.config.namespace
    ]
    if not targets:
        return
    scoped = cluster_scoped_kinds(doc for r in results for doc in r.documents)
    for item in targets:
        with component_context(item.id):
            item.documents = renderer.inject(item.documents, item.node.config.namespace, scoped)


@dataclass
class Renderer:
    """Renders the components of one run, reusing cached output whose inputs did not change.

    A helm component's cache key covers everything that can change its output: the chart's
    files, the merged values, namespace, release name, helm's version and flags, and fab's
    version. Static and container components are cheap to read and are never cached.
    """

    settings: Settings
    cache: Cache | None = None
    hits: int = 0
    misses: int = 0
    _charts: dict[str, str] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict)
    _helm_version: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ready(self, node: ResolvedComponent) -> bool:
        """Whether ``cached`` would serve the component (checked without reading the entry)."""
        if node.component.type not in ("helm", "static"):
            return True
        if node.component.type != "helm" or self.cache is None:
            return False
        try:
            return self.cache.has("render", self.key(node, _chart(node)))
        except FabrikateError:  # rendering it reports the problem, naming the component
            return False

    def cached(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str] | None:
        """The documents of a component that needs no helm run (a container, or a helm
        component whose output is in the render cache); None when it must be rendered."""
        if node.component.type not in ("helm", "static"):
            return []
        if node.component.type != "helm" or self.cache is None:
            return None
        cached = self.cache.get("render", self.key(node, _chart(node)))
        if cached is None:
            return None
        entry = json.loads(cached)
        diagnostics.extend(Diagnostic("warning", w, component=node.id) for w in entry["warnings"])
        with self._lock:
            self.hits += 1
        return entry["documents"]

    def render(self, node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
        """The documents of one component."""
        if node.component.type == "static":
            return _static(node, diagnostics)
        ready = self.cached(node, diagnostics)
        if ready is not None:
            return ready
        chart = _chart(node)
        if self.cache is None:
            layout.chart_files(chart)  # helm follows links: check them before it runs
            return _helm(node, chart.path, self.settings, diagnostics)
        key = self.key(node, chart)
        found: list[Diagnostic] = []
        documents = _helm(node, chart.path, self.settings, found)
        diagnostics.extend(found)
        entry = {"documents": documents, "warnings": [d.message for d in found]}
        self.cache.put("render", key, json.dumps(entry).encode())
        with self._lock:
            self.misses += 1
        return documents

    def inject(self, documents: list[str], namespace: str, scoped: frozenset[str]) -> list[str]:
        """``inject_namespace`` over documents, remembered in the cache."""
        if self.cache is None:
            return [inject_namespace(doc, namespace, scoped) for doc in documents]
        key = digest("inject", __version__, namespace, *sorted(scoped), *documents)
        cached = self.cache.get("inject", key)
        if cached is not None:
            return json.loads(cached)
        injected = [inject_namespace(doc, namespace, scoped) for doc in documents]
        self.cache.put("inject", key, json.dumps(injected).encode())
        return injected

    def key(self, node: ResolvedComponent, chart: layout.Chart) -> str:
        """The render cache key of a helm component, computed once per run."""
        found = self._keys.get(node.id)
        if found is None:
            found = self._keys[node.id] = self._key(node, chart)
        return found

    def _key(self, node: ResolvedComponent, chart: layout.Chart) -> str:
        values = json.dumps(node.config.config, sort_keys=True, ensure_ascii=False, default=str)
        return digest(
            "helm-template",
            __version__,
            self.helm_version(),
            self.chart_digest(chart),
            values,
            node.namespace,
            node.name,
            " ".join(HELM_FLAGS),
            HELM_OUTPUT_FORMAT,
        )

    def chart_digest(self, chart: layout.Chart) -> str:
        """A digest of every file of a chart, computed once per run and chart folder (however
        many paths lead to it: ``a/../charts/x`` and ``b/../charts/x``)."""
        real = os.path.realpath(chart.path)
        found = self._charts.get(real)
        if found is None:
            found = self._charts[real] = _tree_digest(chart)
        return found

    def helm_version(self) -> str:
        """``helm version --short`` of the configured binary, remembered by the binary's stat."""
        with self._lock:
            if self._helm_version is None:
                self._helm_version = helm_version(self.settings.helm, self.cache)
            return self._helm_version


def _chart(node: ResolvedComponent) -> layout.Chart:
    """The chart of a helm component, which must be there and pass the layout's checks."""
    return layout.checked_chart(node)


def _tree_digest(chart: layout.Chart) -> str:
    """A digest of every file helm would read from the chart (each checked first)."""
    parts: list[bytes | str] = []
    for rel, path in layout.chart_files(chart):
        parts.append(rel)
        parts.append(read_regular(path))
    return digest(*parts)


def helm_version(helm: str, cache: Cache | None) -> str:
    """`helm version --short`, remembered in the cache by the binary's path, size and mtime."""
    binary = shutil.which(helm) or helm
    try:
        stat = os.stat(binary)
    except OSError as exc:
        raise ProcessError(f"helm not found: {helm} (set FAB_HELM or put helm on PATH)") from exc
    key = digest("helm-version", os.path.realpath(binary), str(stat.st_size), str(stat.st_mtime_ns))
    if cache is not None:
        known = cache.get("tools", key)
        if known:
            return known.decode()
    version = run(Command((binary, "version", "--short"), timeout=60, what="helm version"))
    text = version.check().stdout.strip()
    if cache is not None:
        cache.put("tools", key, text.encode())
    return text


def _helm(
    node: ResolvedComponent,
    chart: Path,
    settings: Settings,
    diagnostics: list[Diagnostic],
) -> list[str]:
    # Values go to helm's stdin as JSON, which is YAML that keeps every type: "1e3", "yes" and
    # "0777" stay strings.
    values = json.dumps(node.config.config, ensure_ascii=False, default=str).encode()
    argv = (
        settings.helm,
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
    result = run(Command(argv, timeout=settings.timeout, what="helm template", input=values))
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
            for _ in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
                pass  # events only: the syntax check, at a third of the cost of composing
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


def _helm_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    return " | ".join(errors or lines[-3:]) or "no message"


def _static(node: ResolvedComponent, diagnostics: list[Diagnostic]) -> list[str]:
    folder = layout.checked_static(node)
    if not folder.is_dir():
        raise InputError(f"static manifests folder {folder} does not exist")
    where = layout.boundary_name(node)
    docs: list[str] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        info = layout.stat_inside(path, node.boundary, "static manifest", where)
        if stat.S_ISDIR(info.st_mode):
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "sub-folder skipped in static manifests",
                    Location(str(path)),
                    node.id,
                )
            )
            continue
        if path.suffix.lower() not in STATIC_SUFFIXES:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "not a .yaml, .yml or .json file; skipped in static manifests",
                    Location(str(path)),
                    node.id,
                )
            )
            continue
        try:
            text = read_regular(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"cannot read static manifest: {exc}", location=Location(str(path))
            ) from exc
        docs.extend(split_documents(text))
    return docs


def cluster_scoped_kinds(docs: Iterable[str]) -> frozenset[str]:
    """The built-in cluster-scoped kinds plus those of cluster-scoped CRDs among ``docs``."""
    kinds = set(CLUSTER_SCOPED)
    for doc in docs:
        if "CustomResourceDefinition" not in doc:
            continue
        import yaml

        try:
            data = yaml.load(doc, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and data.get("kind") == "CustomResourceDefinition":
            spec = data.get("spec") or {}
            if isinstance(spec, dict) and spec.get("scope") == "Cluster":
                kind = (spec.get("names") or {}).get("kind")
                if isinstance(kind, str):
                    kinds.add(kind)
    return frozenset(kinds)


def inject_namespace(doc: str, namespace: str, cluster_scoped: Collection[str]) -> str:
    """Add ``metadata.namespace`` to a namespaced object lacking one; change nothing else.

    The text is edited in place, so comments, key order and quoting are kept.
    """
    import yaml

    try:
        root = yaml.compose(doc, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise FabrikateError(f"cannot inject namespace into an invalid document: {exc}") from exc
    if not isinstance(root, yaml.MappingNode):
        return doc
    fields = {key.value: value for key, value in root.value if isinstance(key, yaml.ScalarNode)}
    kind = fields.get("kind")
    if isinstance(kind, yaml.ScalarNode) and kind.value in cluster_scoped:
        return doc
    metadata = fields.get("metadata")
    if not isinstance(metadata, yaml.MappingNode):
        return doc
    entries = {k.value: (k, v) for k, v in metadata.value if isinstance(k, yaml.ScalarNode)}
    value = _quote(namespace)
    if "namespace" in entries:
        key, current = entries["namespace"]
        if not (isinstance(current, yaml.ScalarNode) and current.tag.endswith(":null")):
            return doc
        if current.start_mark.index == current.end_mark.index:  # `namespace:` with no value
            at = key.end_mark.index
            colon = doc.index(":", at)
            return doc[: colon + 1] + " " + value + doc[colon + 1 :]
        return doc[: current.start_mark.index] + value + doc[current.end_mark.index :]
    if metadata.flow_style or not metadata.value:
        return _inject_roundtrip(doc, namespace)
    anchor_key, anchor_value = entries.get("name", metadata.value[0])
    indent = anchor_key.start_mark.column
    if (
        isinstance(anchor_value, yaml.ScalarNode)
        and anchor_value.start_mark.line == anchor_value.end_mark.line
    ):
        line_end = doc.find("\n", anchor_value.end_mark.index)
        at = len(doc) if line_end < 0 else line_end + 1
    else:
        at = anchor_key.start_mark.index - indent
    return doc[:at] + " " * indent + f"namespace: {value}\n" + doc[at:]


def _quote(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same string."""
    import yaml

    plain = yaml.safe_load(value) if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value) else None
    return value if plain == value else json.dumps(value)


def _inject_roundtrip(doc: str, namespace: str) -> str:
    """Fallback for flow-style or empty ``metadata``: a ruamel round trip."""
    import io

    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    data: Any = rt.load(doc)
    data["metadata"]["namespace"] = namespace
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()
