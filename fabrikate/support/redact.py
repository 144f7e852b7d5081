"""The one masker: secrets out of everything fab prints or stores, and control characters out
of everything a definition or a remote said.

    split_userinfo("https://me:p%40ss@host/x.git")  # ('https://host/x.git', 'me', 'p@ss')
    redact_url("cannot fetch https://me:pw@host/x.git")  # 'cannot fetch https://host/x.git'
    mask_text("https://me:pw@host/x?token=abc")  # 'https://***@host/x?token=***'
    printable("\\x1b[2Jgone")  # '^[[2Jgone'

User info in a URL is masked whole, whatever characters the password holds (``/`` and ``@``
included: a URL's user info runs to its last ``@`` before the next URL or blank).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["mask", "mask_text", "printable", "redact_url", "split_userinfo", "strip_credentials"]

_SCHEME = r"[a-zA-Z][a-zA-Z0-9+.-]*://"
# The user info of a URL: everything up to its last "@" that comes before a blank or another URL.
_USERINFO = re.compile(rf"(?P<scheme>{_SCHEME})(?P<user>(?:(?!{_SCHEME})\S)*@)")
_SECRET_QUERY = re.compile(
    r"(?P<key>[?&;](?:[a-z_]*token|[a-z_]*key|sig|signature|password|passwd|secret|"
    r"client_secret|code|auth|authorization|private_token)=)(?P<value>[^&#;\s]+)",
    re.IGNORECASE,
)
# Header-style secrets in free text (e.g. an error that echoes a request).
_BEARER = re.compile(r"(?P<key>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"(?P<key>\b(?:AccountKey|SharedAccessSignature|password|token)=)(?P<value>[^;&\s]+)",
    re.IGNORECASE,
)
# Every pattern above needs one of these: most strings (names, paths, images) have none.
_MAYBE = re.compile(r"://|=|\s")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class AmbiguousURL(ValueError):
    """A URL whose user info holds an unencoded ``/`` or ``@``: where its host is is a guess."""


def split_userinfo(url: str) -> tuple[str, str, str]:
    """``url`` without its user info, and the user name and password, percent-decoded.

    Parsed with the standard library; a URL whose path still holds an ``@`` after that (a
    password with an unencoded ``/``) raises ``AmbiguousURL``, since its host cannot be known.
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url, "", ""
    if "@" in parts.path and ":" in (parts.netloc + parts.path.split("@", 1)[0]):
        raise AmbiguousURL(redact_url(url))
    if "@" not in parts.netloc:
        return url, "", ""
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), unquote(user), unquote(password)


def redact_url(text: str) -> str:
    """Drop the user info of every URL in ``text``."""
    return _USERINFO.sub(r"\g<scheme>", text) if "://" in text else text


def strip_credentials(url: str) -> str:
    """A repository URL as Bedrock stores it: without user info (not even a mask)."""
    return redact_url(url)


def mask_text(text: str) -> str:
    """``text`` with URL user info, token query values and key=value secrets masked."""
    if not _MAYBE.search(text):
        return text
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    text = _SECRET_QUERY.sub(r"\g<key>***", text)
    text = _BEARER.sub(r"\g<key>***", text)
    return _KEY_VALUE.sub(r"\g<key>***", text)


def mask(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` (longest first, to mask none by halves) with ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def printable(text: str) -> str:
    """``text`` fit for a terminal: control characters shown as ``^X`` (as git shows them), so
    a definition or a remote cannot move the cursor, recolour or clear the screen."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_caret, text)


def _caret(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"^{chr(code ^ 0x40)}" if code < 0x80 else f"\\x{code:02x}"
