"""The one did-you-mean."""

from __future__ import annotations

from fabrikate.support.suggest import close_matches, edits, suggestion


def test_suggestion_names_the_closest_word_or_lists_the_known_ones() -> None:
    assert suggestion("wbe", ["web", "db"]) == "did you mean 'web'?"
    assert suggestion("zzz", ["web", "db"]) == "known: web, db"
    assert suggestion("zzz", []) == "known: none"


def test_close_matches_orders_by_likeness_and_honours_the_cutoff() -> None:
    assert close_matches("ingres", ["ingress", "egress", "nginx"], n=2) == ["ingress", "egress"]
    assert close_matches("ingres", ["nginx"], cutoff=0.9) == []


def test_edits_counts_a_swap_of_neighbours_as_one() -> None:
    assert edits("nmae", "name") == 1
    assert edits("subcomponent", "subcomponents") == 1
    assert edits("", "abc") == 3
    assert edits("kitten", "sitting") == 3
