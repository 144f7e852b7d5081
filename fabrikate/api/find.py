"""``fab find``: search a definitions repository (spec §1.8) without GitHub's API.

    for match in find("elasticsearch"):
        print(match.path, match.description)

The repository (default microsoft/fabrikate-definitions) is cloned shallowly into the user cache
and refreshed on each search; when the refresh fails, the cached copy is searched with a
warning. A definition is any folder with a ``component.yaml|json``; it matches when the keyword
occurs in its path, its definition file or its README.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fabrikate.errors import FabrikateError, InputError, SourceError
from fabrikate.hld.layout import read_file
from fabrikate.hld.model import component_file
from fabrikate.settings import Settings
from fabrikate.sources.credentials import basic_auth, check_source
from fabrikate.support.cache import Cache
from fabrikate.support.process import Command, run
from fabrikate.support.redact import AmbiguousURL, split_userinfo
from fabrikate.support.yamlio import parse_document

__all__ = ["DEFAULT_REPOSITORY", "Definition", "find"]

DEFAULT_REPOSITORY = "https://github.com/microsoft/fabrikate-definitions"

log = logging.getLogger("fabrikate")


@dataclass(frozen=True, slots=True)
class Definition:
    """A definition in the repository: its folder and a one-line description."""

    path: str
    description: str


def find(
    keyword: str,
    repository: str | os.PathLike[str] = DEFAULT_REPOSITORY,
    *,
    settings: Settings | None = None,
) -> list[Definition]:
    """The definitions of ``repository`` (a URL or a local path) that mention ``keyword``
    (case-insensitive)."""
    repository = os.fspath(repository)
    settings = settings or Settings.from_env()
    if not keyword.strip():
        raise InputError("find needs a non-empty keyword")
    checkout = _refresh(repository, settings)
    needle = keyword.lower()
    return [d for d, text in _definitions(checkout) if needle in text.lower()]


def _refresh(url: str, settings: Settings) -> Path:
    """A current shallow checkout of ``url`` in the cache (the cached one when offline)."""
    check_source(url, "definitions repository")

    cache = Cache.of(settings)
    root = cache.folder("definitions")
    checkout = root / hashlib.sha256(url.encode()).hexdigest()[:16]
    # Credentials in the URL go to git as a header in its environment: never on its command
    # line (where every local user sees them) nor into the checkout's .git/config.
    try:
        url, user, password = split_userinfo(url)
    except AmbiguousURL as exc:
        raise SourceError(f"{exc} has '/' or '@' in its user info: percent-encode them") from None
    env = {"GIT_TERMINAL_PROMPT": "0"}
    secrets: tuple[str, ...] = ()
    if user or password:
        header = basic_auth(user, password)
        secrets = (password, header.removeprefix("Basic "))
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.{url}.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: {header}",
        )

    def git(*args: str, cwd: Path | None = None) -> None:
        command = Command(
            (settings.git, *args),
            cwd=str(cwd) if cwd else None,
            env=env,
            timeout=settings.timeout,
            secrets=secrets,
            what=f"git {args[0]}",
        )
        run(command).check()

    with cache.lock("definitions", checkout.name):
        if not (checkout / ".git").is_dir():
            if settings.offline:
                raise SourceError(f"{url} is not cached and --offline is set")
            temp = checkout.with_name(checkout.name + ".new")
            if temp.exists():
                import shutil

                shutil.rmtree(temp)
            git("clone", "--quiet", "--depth", "1", "--", url, str(temp))
            temp.rename(checkout)
        elif not settings.offline:
            try:
                git("fetch", "--quiet", "--depth", "1", "origin", cwd=checkout)
                git("reset", "--quiet", "--hard", "FETCH_HEAD", cwd=checkout)
            except FabrikateError as exc:
                log.warning("could not refresh %s, searching the cached copy: %s", checkout, exc)
    return checkout


def _definitions(checkout: Path) -> Iterator[tuple[Definition, str]]:
    """Every definition folder, with the text a keyword is searched in."""
    for folder, dirs, _ in os.walk(checkout):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "components")
        here = Path(folder)
        definition = component_file(here)
        if definition is None:
            continue
        path = here.relative_to(checkout).as_posix()
        readme = next((here / n for n in ("README.md", "readme.md") if (here / n).is_file()), None)
        readme_text = _read(readme, checkout) if readme else ""
        definition_text = _read(definition, checkout)
        text = "\n".join((path, definition_text, readme_text))
        described = _description(readme_text, definition) if definition_text else ""
        yield Definition(path, described), text


def _read(path: Path, checkout: Path) -> str:
    """A file of the fetched repository: '' when it is a link out of it or not a regular file."""
    try:
        return read_file(path, checkout).decode("utf-8", "replace")
    except InputError:
        return ""


def _description(readme: str, definition: Path) -> str:
    """The first prose line of the README, else a ``description`` key of the definition."""
    for line in readme.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!", "[", "<", "```", "|", "-", "=")):
            return re.sub(r"[*_`]", "", line)[:120]
    try:
        data, _, _ = parse_document(definition)
    except InputError:
        return ""
    value = data.get("description") if isinstance(data, dict) else None
    return str(value).strip() if value else ""
