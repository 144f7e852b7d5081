"""The one did-you-mean: which known word a mistyped one most likely meant.

suggestion("subcomponent", ["subcomponents", "config"])   # "did you mean 'subcomponents'?"
edits("nmae", "name")                                      # 1 (a swap)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["close_matches", "edits", "suggestion"]


def close_matches(word: str, known: Sequence[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` of ``known`` that look like ``word``, the closest first."""
    import difflib  # only a mistake needs it: a run without one never imports it

    return difflib.get_close_matches(word, list(known), n=n, cutoff=cutoff)


def suggestion(word: str, known: Sequence[str]) -> str:
    """``did you mean 'x'?`` for the closest known word, else the list of known ones."""
    hint = close_matches(word, known)
    return f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(known) or 'none'}"


def edits(a: str, b: str) -> int:
    """The edit distance of two words: insertions, deletions, substitutions and swaps of two
    neighbouring letters (optimal string alignment)."""
    previous, current = None, list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        before, previous, current = previous, current, [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if before is not None and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                current[j] = min(current[j], before[j - 2] + 1)
    return current[-1]
