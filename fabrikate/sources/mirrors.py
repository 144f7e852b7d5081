"""The mirror map: URL prefixes rewritten for every git, chart repository, OCI and http source.

    mirrors = Mirrors.load(Path("hld"), settings)
    hop = mirrors.rewrite("https://kubernetes-charts.storage.googleapis.com/")
    hop.url        # 'https://charts.helm.sh/stable/'
    hop.explain()  # '... -> https://charts.helm.sh/stable/ (built-in rule: a retired host)'

The map is a YAML file::

    builtin: true      # the built-in rules for retired chart hosts (the default)
    mirrors:
      - {from: https://charts.helm.sh/stable, to: https://nexus.corp/helm/stable}
      - {from: https://github.com/, to: https://git.corp/github/}

fab reads the file ``FAB_MIRRORS`` names (``none``: no file), else ``mirrors.yaml`` at the HLD
root, else ``mirrors.yaml`` in the user config folder (``~/.config/fabrikate``). A prefix
matches at a boundary: ``https://host/a`` matches ``https://host/a`` and ``https://host/a/b``,
never ``https://host/ab`` or ``https://host.evil``; scheme and host compare case-insensitively.
The built-in rules come first; the first user rule that matches their result wins, so a
mirror of ``https://charts.helm.sh/stable`` also serves the retired URLs. A user rule whose
``from`` matches the URL as written wins over the built-in rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrikate.errors import InputError, Location
from fabrikate.sources.retired import RETIRED, STABLE
from fabrikate.support.redact import redact_url
from fabrikate.support.yamlio import parse_yaml, read_text

if TYPE_CHECKING:
    from fabrikate.settings import Settings

__all__ = ["MIRRORS_FILE", "Mirrors", "Rewrite", "Rule", "is_stable", "under"]

MIRRORS_FILE = "mirrors.yaml"
_HEAD = re.compile(r"(?i)^([a-z][a-z0-9+.-]*://)([^/?#]*)(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Rule:
    """One rewrite: URLs under ``prefix`` are fetched under ``to`` instead."""

    prefix: str
    to: str
    where: str  # 'built-in rule: a retired host', or 'rule 2 of /path/mirrors.yaml'

    @property
    def builtin(self) -> bool:
        """A rule fab brings along (not the user's)."""
        return self.where.startswith("built-in")

    def apply(self, url: str) -> str | None:
        """``url`` under ``to`` instead of ``prefix``; None when the rule does not match."""
        rest = under(url, self.prefix)
        if rest is None:
            return None
        if not rest:
            return self.to
        if rest[0] == "/":
            return self.to + rest[1:] if self.to.endswith(":") else self.to.rstrip("/") + rest
        if rest[0] in "?#" or self.to.endswith(("/", ":")):
            return self.to + rest
        return f"{self.to}/{rest}"  # after a scp-like prefix such as git@host:


@dataclass(frozen=True)
class Rewrite:
    """Where a URL is fetched from, and the rules that took it there."""

    original: str
    url: str
    rules: tuple[Rule, ...] = ()

    @property
    def rewritten(self) -> bool:
        """Whether any rule applied."""
        return bool(self.rules)

    def explain(self) -> str:
        """``a -> b (rule ...) -> c (rule ...)``, credentials removed."""
        steps, url = [redact_url(self.original)], self.original
        for rule in self.rules:
            url = rule.apply(url) or url
            steps.append(f"{redact_url(url)} ({rule.where})")
        return " -> ".join(steps)


BUILTIN = tuple(Rule(old, new, "built-in rule: a retired host") for old, new in RETIRED)


@dataclass(frozen=True)
class Mirrors:
    """The rules of one run: the built-in ones (unless turned off), then the user's."""

    rules: tuple[Rule, ...] = ()
    builtin: bool = True
    file: str = ""  # where the user's rules came from

    def rewrite(self, url: str) -> Rewrite:
        """Where ``url`` is fetched from (see the module docstring for the order)."""
        direct = self._first(self.rules, url)
        if direct is not None:
            return Rewrite(url, direct[1], (direct[0],))
        hop = self._first(BUILTIN, url) if self.builtin else None
        if hop is None:
            return Rewrite(url, url)
        then = self._first(self.rules, hop[1])
        if then is None:
            return Rewrite(url, hop[1], (hop[0],))
        return Rewrite(url, then[1], (hop[0], then[0]))

    @staticmethod
    def _first(rules: tuple[Rule, ...], url: str) -> tuple[Rule, str] | None:
        for rule in rules:
            found = rule.apply(url)
            if found is not None:
                return rule, found
        return None

    def retired(self, url: str) -> str:
        """Where the charts of a retired URL are now, or '' (whether or not rules are on)."""
        hop = self._first(BUILTIN, url)
        return hop[1] if hop else ""

    def targets(self) -> tuple[str, ...]:
        """The ``to`` prefixes of the user's rules (an access.yaml token mapped to one of them
        goes to every URL that rule rewrites to)."""
        return tuple(rule.to for rule in self.rules)

    def git_config(self) -> list[tuple[str, str]]:
        """The rules as git ``url.<to>.insteadOf`` settings (for hook commands that run git;
        git takes the longest matching prefix, not the first)."""
        return [
            (f"url.{self.rewrite(rule.prefix).url}.insteadOf", rule.prefix)
            for rule in (*self.rules, *(BUILTIN if self.builtin else ()))
        ]

    @classmethod
    def load(cls, root: Path, settings: Settings) -> Mirrors:
        """The map in effect for the tree at ``root`` (an absent file: no user rules)."""
        path = _find(root, settings)
        if path is None:
            return cls(builtin=settings.builtin_mirrors)
        return parse(path, settings.builtin_mirrors)


def _find(root: Path, settings: Settings) -> Path | None:
    if settings.mirrors:
        if settings.mirrors == "none":
            return None
        named = Path(settings.mirrors)
        if not named.is_file():
            raise InputError(f"FAB_MIRRORS names {named}, which is not a file")
        return named
    for candidate in (root / MIRRORS_FILE, _user_file()):
        if candidate.is_file():
            return candidate
    return None


def _user_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("fabrikate", appauthor=False)) / MIRRORS_FILE


def parse(path: Path, builtin: bool = True) -> Mirrors:
    """Read a mirror map file; every mistake is an error naming the file and line."""
    from fabrikate.support.yamlio import locate

    text = read_text(path)
    data, _ = parse_yaml(text, str(path), strings=True)

    def fail(message: str, keypath: list[str | int]) -> InputError:
        where = locate(text, keypath, str(path)) if keypath else Location(str(path), 1, 1)
        return InputError(f"mirror map: {message}", location=where)

    if data is None:
        return Mirrors(builtin=builtin, file=str(path))
    if not isinstance(data, dict):
        raise fail("want a map with 'mirrors' (a list of {from, to}) and 'builtin'", [])
    for key in data:
        if key not in ("mirrors", "builtin"):
            raise fail(f"unknown key {key!r} (want 'mirrors' or 'builtin')", [key])
    switch = data.get("builtin", "true")
    if str(switch).lower() not in ("true", "false"):
        raise fail("'builtin' must be true or false", ["builtin"])
    listed = data.get("mirrors") or []
    if not isinstance(listed, list):
        raise fail("'mirrors' must be a list of {from: URL_PREFIX, to: URL_PREFIX}", ["mirrors"])
    rules = tuple(_rule(entry, n, path, fail) for n, entry in enumerate(listed))
    return Mirrors(rules, builtin and str(switch).lower() == "true", str(path))


def _rule(entry: Any, index: int, path: Path, fail: Any) -> Rule:
    keypath: list[str | int] = ["mirrors", index]
    if not isinstance(entry, dict) or set(entry) != {"from", "to"}:
        raise fail("each rule is {from: URL_PREFIX, to: URL_PREFIX}", keypath)
    for key in ("from", "to"):
        value = entry[key]
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise fail(f"'{key}' must be a URL prefix", [*keypath, key])
        match = _HEAD.match(value)
        if match and "@" in match.group(2) and key == "to":
            raise fail(
                "credentials do not belong in a mirror map: map the mirror's URL to a token "
                "variable in access.yaml",
                [*keypath, key],
            )
        if value.startswith("-"):
            raise fail(f"'{key}' may not start with '-'", [*keypath, key])
    return Rule(entry["from"], entry["to"], f"rule {index + 1} of {path}")


def is_stable(url: str) -> bool:
    """Whether ``url`` is the retired stable chart repository, under its old or new name."""
    return any(
        under(url, prefix) is not None
        for prefix, new in ((STABLE, STABLE), *RETIRED)
        if new == STABLE
    )


def under(url: str, prefix: str) -> str | None:
    """What follows ``prefix`` in ``url`` when ``url`` is under it at a boundary, else None.

    User info in ``url`` is ignored (and dropped by a rewrite: credentials belong to their
    own host). A trailing ``/`` of the prefix is optional.
    """
    url_head, url_rest = _split(url)
    head, rest = _split(prefix)
    if url_head != head:
        return None
    stem = rest.rstrip("/") if head else rest
    if not url_rest.startswith(stem):
        return None
    tail = url_rest[len(stem) :]
    separators = "/?#" if head else "/?#:"
    if tail and not stem.endswith((":", "/")) and tail[0] not in separators:
        return None
    return tail


def _split(url: str) -> tuple[str, str]:
    """(scheme and host, lower-cased, user info dropped; the rest). Scp-like git sources
    (``git@host:path``) have no head."""
    match = _HEAD.match(url)
    if not match:
        return "", url
    host = match.group(2).rpartition("@")[2]
    return (match.group(1) + host).lower(), match.group(3)
