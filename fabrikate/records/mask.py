"""Credentials never reach a record: userinfo in URLs and token-like query values are masked.

mask_text("clone https://user:s3cret@host/repo.git failed")
# 'clone https://***@host/repo.git failed'
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["mask_text", "mask_tree", "strip_credentials"]

# scheme://userinfo@ — userinfo is everything up to the last "@" before the host's path.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/\s@]+)@")
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


def mask_text(text: str) -> str:
    """``text`` with URL credentials, token query values and key=value secrets masked."""
    if not _MAYBE.search(text):
        return text
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    text = _SECRET_QUERY.sub(r"\g<key>***", text)
    text = _BEARER.sub(r"\g<key>***", text)
    return _KEY_VALUE.sub(r"\g<key>***", text)


def strip_credentials(url: str) -> str:
    """A repository URL as Bedrock stores it: without userinfo (not even a mask)."""
    return _USERINFO.sub(r"\g<scheme>", url)


def mask_tree(value: Any) -> Any:
    """Every string in a JSON-like value passed through ``mask_text``."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_tree(item) for item in value]
    return value
