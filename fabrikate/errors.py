"""The exceptions fabrikate raises.

Every error a user can cause is a ``FabrikateError``; the CLI prints its one line and exits 1::

    FabrikateError            anything the user can fix: bad input, a failed tool, a missing file
    ├── InputError            a definition, config or argument is invalid
    │   ├── ConfigConflictError   two config layers disagree on a value's type
    │   ├── OutputConflict    a file fab did not write is where it must write
    │   └── NotFound          a record, ring, environment or cluster asked for is not there
    ├── ProcessError          an external command (helm, git, a hook) failed
    │   └── TimedOut          ... or outlived its timeout and was killed
    ├── SourceError           a remote source could not be fetched
    │   └── FetchError        ... with the cause in a few words (``unknown host``)
    ├── RecordsError          a deployment record could not be written or read
    │   ├── UnknownRecord     no record has the id asked for (also a NotFound)
    │   └── AmbiguousRecord   several records start with it (also an InputError)
    ├── EventError            a cluster event (Flux, Argo CD) is malformed or badly signed
    ├── ValidationFailed      ``generate(validate=True)`` wrote objects that are invalid
    └── Failures              several of the above at once (``errors`` lists them)

    Interrupted (a BaseException)   SIGINT or SIGTERM; the CLI exits 130 or 143

Misuse of the library (wrong argument types, say) raises the ordinary Python errors instead,
so that ``except FabrikateError`` never hides a bug. ``HttpFailure`` and ``MergeConflict``
are signals inside fab (as is ``support.redact.AmbiguousURL``, a ``ValueError`` of the masker,
which this module imports): the code that catches them raises one of the above.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fabrikate.support.redact import printable

__all__ = [
    "AmbiguousRecord",
    "ConfigConflictError",
    "Diagnostic",
    "EventError",
    "FabrikateError",
    "Failures",
    "FetchError",
    "HttpFailure",
    "InputError",
    "Interrupted",
    "Location",
    "MergeConflict",
    "NotFound",
    "OutputConflict",
    "ProcessError",
    "RecordsError",
    "SourceError",
    "TimedOut",
    "ToolNotFound",
    "UnknownRecord",
    "ValidationFailed",
    "component_context",
    "raise_all",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: a file, and the 1-based line and column when known."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class FabrikateError(Exception):
    """An error the user can act on; ``str()`` is the one line the CLI prints."""

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        component: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.component = component

    def __str__(self) -> str:
        text = self.message
        if self.location is not None:
            text = f"{self.location}: {text}"
        if self.component is not None:
            text = f"{text} [component {self.component}]"
        return printable(text)  # parts come from definitions and tools: never raw escapes


class InputError(FabrikateError):
    """A definition, config file or argument is invalid."""


class OutputConflict(InputError):
    """A file fab did not write is in the way of one it must write."""


class NotFound(InputError):
    """A record, ring, environment or cluster the user asked for is not in the store."""


class ConfigConflictError(InputError):
    """Two config layers give one key values of types that cannot be merged."""


class ProcessError(FabrikateError):
    """An external command failed, could not start, or timed out."""

    def __init__(
        self,
        message: str,
        *,
        returncode: int | None = None,
        stderr: str = "",
        location: Location | None = None,
        component: str | None = None,
    ) -> None:
        super().__init__(message, location=location, component=component)
        self.returncode = returncode
        self.stderr = stderr


class TimedOut(ProcessError):
    """A command outlived its timeout and was killed."""


class ToolNotFound(ProcessError):
    """The executable of a command does not exist."""


class SourceError(FabrikateError):
    """A remote source (git, helm repository, OCI registry, http) could not be fetched."""


class FetchError(SourceError):
    """A fetch failed; ``cause`` says why in a few words (``unknown host``, ``http 404``)."""

    def __init__(self, message: str, *, cause: str = "", component: str | None = None) -> None:
        super().__init__(message, component=component)
        self.cause = cause


class RecordsError(FabrikateError):
    """A deployment record could not be written or read."""


class UnknownRecord(NotFound, RecordsError):
    """No record has the id, row key or prefix asked for."""


class AmbiguousRecord(InputError, RecordsError):
    """Several records start with the prefix asked for."""


class EventError(FabrikateError):
    """A cluster event (a Flux or Argo CD notification) is malformed or not signed right."""


class ValidationFailed(FabrikateError):
    """``generate(validate=True)`` found invalid objects; the output was written all the same
    (as Fabrikate's ``--validate`` did) and ``result`` (the ``GenerateResult``) tells the whole
    run."""

    def __init__(self, result: Any) -> None:  # an api.results.GenerateResult
        assert result.validation is not None
        checked = result.validation
        super().__init__(f"{len(checked.errors)} of {checked.objects} objects are invalid")
        self.result = result


class Failures(FabrikateError):
    """Several things failed at once; ``errors`` holds each (the CLI prints one line each)."""

    def __init__(self, errors: Sequence[FabrikateError], what: str = "errors") -> None:
        super().__init__(f"{len(errors)} {what}")
        self.errors = list(errors)


def raise_all(errors: Sequence[FabrikateError], what: str = "errors") -> None:
    """Raise the one error, or ``Failures`` of several (duplicates dropped); nothing if none."""
    unique = list({str(e): e for e in errors}.values())
    if len(unique) == 1:
        raise unique[0]
    if unique:
        raise Failures(unique, what)


class Interrupted(BaseException):
    """The run was interrupted (SIGINT or SIGTERM).

    Signal handlers never raise: raising at an arbitrary bytecode can break an import or a class
    body half-way. They only call ``stop_all``; running commands die, and the code raises this
    at the next safe point (a command's end, ``check_interrupted``).
    """


@contextlib.contextmanager
def component_context(path: str) -> Iterator[None]:
    """Stamp the logical component path onto any ``FabrikateError`` leaving the block."""
    try:
        yield
    except FabrikateError as exc:
        if exc.component is None:
            exc.component = path
        raise


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A warning or error found while reading a tree, kept as data for the caller to print."""

    level: str  # "warning" or "error"
    message: str
    location: Location | None = None
    component: str | None = None
    code: str = ""  # what kind of problem, for code that treats some kinds differently

    def __str__(self) -> str:
        text = self.message if self.location is None else f"{self.location}: {self.message}"
        text = text if self.component is None else f"{text} [component {self.component}]"
        return printable(text)

    def as_error(self) -> InputError:
        """The same problem as an exception."""
        return InputError(self.message, location=self.location, component=self.component)

    def to_data(self) -> tuple[str, str, str | None, int | None, int | None, str | None, str]:
        """Plain values for storing (``from_data`` reads them back)."""
        where = self.location
        file, line, column = (where.file, where.line, where.column) if where else (None,) * 3
        return self.level, self.message, file, line, column, self.component, self.code

    @classmethod
    def from_data(cls, data: Sequence[Any]) -> Diagnostic:
        """The diagnostic ``to_data`` stored."""
        level, message, file, line, column, component, code = data
        location = Location(file, line, column) if file is not None else None
        return cls(level, message, location, component, code)

    def escalated(self, why: str = "") -> Diagnostic:
        """The same problem as an error."""
        return Diagnostic("error", self.message + why, self.location, self.component, self.code)


# Signals inside fab, turned into a ``FabrikateError`` (with the file and component) by the code
# that catches them; they never reach a user.


class HttpFailure(Exception):
    """A download failed; ``cause`` says why in a few words, ``status`` is the HTTP code."""

    def __init__(self, cause: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail
        self.status = status
        self.challenge = ""  # a 401's WWW-Authenticate, for a token exchange


class MergeConflict(Exception):
    """Raised by ``merge_values``; the caller turns it into a ``ConfigConflictError``."""

    def __init__(self, keypath: tuple[str, ...], higher: Any, lower: Any) -> None:
        super().__init__(keypath)
        self.keypath = keypath
        self.higher = higher
        self.lower = lower
