"""Champion comparability (sentiment/core/promotion.py): when recorded metrics are usable."""

from __future__ import annotations

from sentiment.core.promotion import Champion, needs_rescoring, rescored


def test_recorded_metrics_are_used_only_on_the_same_data() -> None:
    champion = Champion("3", {"accuracy": 0.9}, "fp-a")
    assert not needs_rescoring(champion, "fp-a")
    assert needs_rescoring(champion, "fp-b")
    assert needs_rescoring(Champion("3", {}, "fp-a"), "fp-a")  # nothing recorded


def test_rescored_champion_says_so() -> None:
    champion = Champion("3", {"accuracy": 0.9}, "fp-a", tags={"t": "1"})
    again = rescored(champion, {"accuracy": 0.8})
    assert (again.metrics, again.reevaluated, again.tags) == ({"accuracy": 0.8}, True, {"t": "1"})
    assert champion.metrics == {"accuracy": 0.9}
    assert not champion.reevaluated
