"""Credentials never reach a record: userinfo in URLs and token-like query values are masked.

mask_text("clone https://user:s3cret@host/repo.git failed")
# 'clone https://***@host/repo.git failed'

The patterns live in ``fabrikate.support.redact``, the one masker; records add ``mask_tree``.
"""

from __future__ import annotations

from typing import Any

from fabrikate.support.redact import mask_text, strip_credentials

__all__ = ["mask_text", "mask_tree", "strip_credentials"]


def mask_tree(value: Any) -> Any:
    """Every string in a JSON-like value passed through ``mask_text``."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_tree(item) for item in value]
    return value
