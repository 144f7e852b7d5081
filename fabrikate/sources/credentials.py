"""Access tokens for private sources (``access.yaml``, spec §5) and masking of every secret.

    tokens = Credentials()
    tokens.load(Path("."), component="./root")
    token = tokens.token_for("https://example.com/private.git", component="./root/app")

``access.yaml`` maps a source URL to the name of an environment variable that holds its token.
The token is used for that exact source only, sent as an HTTP basic-auth header (never put in a
URL or a config file), and masked in everything fab prints or raises.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from fabrikate.errors import InputError, Location, SourceError
from fabrikate.sources.mirrors import under
from fabrikate.support.redact import AmbiguousURL, mask, redact_url, split_userinfo
from fabrikate.support.yamlio import parse_yaml, read_text

__all__ = ["Credentials", "Grant", "basic_auth", "check_source"]

ACCESS_FILE = "access.yaml"
# Git transports that run a command or open a descriptor instead of fetching data.
_COMMAND_TRANSPORTS = re.compile(r"(?i)^\s*(ext|fd)::")


def check_source(value: str, what: str) -> None:
    """Refuse a source or ref that git or helm would read as an option or a command."""
    if value.startswith("-"):
        raise InputError(f"{what} {value!r} starts with '-'; sources and refs are never options")
    if _COMMAND_TRANSPORTS.match(value):
        raise InputError(f"{what} {redact_url(value)!r} uses a git transport that runs commands")
    if "\0" in value or "\n" in value:
        raise InputError(f"{what} {value!r} contains a control character")


def basic_auth(user: str, password: str) -> str:
    """The value of an HTTP ``Authorization`` header for basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True)
class Grant:
    """A token for one source: where it was declared and the variable it came from."""

    url: str
    variable: str
    declared_in: str
    token: str

    def header(self, user: str = "") -> str:
        """The basic-auth header that carries the token (the URL's user name, if any)."""
        return basic_auth(user or "x-access-token", self.token)

    def __repr__(self) -> str:
        return f"Grant(url={self.url!r}, variable={self.variable!r}, token='***')"


@dataclass
class Credentials:
    """Every ``access.yaml`` entry seen this run (first declaration wins) and every secret."""

    entries: dict[str, tuple[str, str]] = field(default_factory=dict)  # url -> (variable, file)
    secrets: set[str] = field(default_factory=set)
    # The mirror map's targets: a token mapped to one covers every URL under it.
    prefixes: tuple[str, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self, directory: Path, component: str) -> None:
        """Read ``<directory>/access.yaml`` if there is one."""
        path = directory / ACCESS_FILE
        if not path.is_file():
            return
        data, _ = parse_yaml(read_text(path), str(path))
        if data is None:
            return
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise InputError(
                "access.yaml must map source URLs to environment variable names",
                location=Location(str(path)),
                component=component,
            )
        with self._lock:
            for url, variable in data.items():
                self.entries.setdefault(url, (variable, str(path)))

    def grant(self, url: str, component: str) -> Grant | None:
        """The token declared for exactly ``url`` (or for the mirror target it is under); an
        unset or empty variable is an error."""
        with self._lock:
            found = self.entries.get(url)
            if found is None:
                found = next(
                    (
                        self.entries[p]
                        for p in self.prefixes
                        if p in self.entries and under(url, p) is not None
                    ),
                    None,
                )
        if found is None:
            return None
        variable, declared_in = found
        token = os.environ.get(variable, "")
        if not token:
            raise SourceError(
                f"environment variable {variable!r} named in {declared_in} for "
                f"{redact_url(url)} is not set or empty",
                component=component,
            )
        if not url.lower().startswith("https://") and not url.lower().startswith("http://"):
            raise SourceError(
                f"access token for {redact_url(url)} (from {declared_in}): tokens are only sent "
                "to http(s) sources",
                component=component,
            )
        with self._lock:
            self.secrets.add(token)
        return Grant(url, variable, declared_in, token)

    def userinfo(self, url: str, component: str) -> tuple[str, str, str]:
        """``url`` without credentials, and its user name and password (percent-decoded,
        and remembered as secrets in both spellings)."""
        try:
            clean, user, password = split_userinfo(url)
        except AmbiguousURL as exc:
            raise SourceError(
                f"source {exc} has '/' or '@' in its user info: percent-encode them ('%2F', '%40')",
                component=component,
            ) from None
        raw = urlsplit(url).netloc.rpartition("@")[0].partition(":")[2]
        self.add_secret(password, raw, quote(password, safe=""))
        return clean, user, password

    def add_secret(self, *values: str) -> None:
        """Remember more values to mask (passwords from URLs or helm's repository config)."""
        with self._lock:
            self.secrets.update(v for v in values if v)

    def known(self) -> tuple[str, ...]:
        """Every secret of this run, longest first."""
        with self._lock:
            return tuple(sorted(self.secrets, key=len, reverse=True))

    def mask(self, text: str) -> str:
        """``text`` with every known secret and every URL password removed."""
        return redact_url(mask(text, self.known()))
