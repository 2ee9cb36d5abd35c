"""The sentence reader against a corpus: published back-of-envelope problems in their own words (Alex Xu's System
Design Interview, donnemartin/system-design-primer's solutions, Grokking-style problems) and how people type them,
each with the figures computed by hand (tests/data/estimate_corpus.jsonl). Every clause sdx reads must give exactly
those figures; every clause it cannot read must be listed, and yield nothing.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from sdx.domain import estimates as est
from sdx.errors import UsageError

CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "estimate_corpus.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def exact(value: int | str | None) -> Fraction | None:
    return None if value is None else Fraction(value)


def convention(entry: dict[str, object]) -> est.Convention:
    return est.SHORTCUTS if entry.get("shortcuts") else est.EXACT


def test_the_corpus_is_large_and_quotes_its_sources():
    assert len(CORPUS) >= 150
    published = [entry for entry in CORPUS if entry["source"] != "typed"]
    assert len(published) >= 100
    for source in ("Alex Xu", "system-design-primer", "Grokking"):
        assert sum(source in entry["source"] for entry in published) >= 20, source


@pytest.mark.parametrize("entry", CORPUS, ids=[f"{n}:{entry['text'][:40]}" for n, entry in enumerate(CORPUS)])
def test_each_sentence_gives_the_hand_computed_figures(entry):
    if "error" in entry:
        with pytest.raises(UsageError) as refused:
            parsed = est.parse_text(entry["text"], convention=convention(entry))
            est.compute(parsed.stated, parsed.not_understood, convention=convention(entry), blocked=parsed.blocked)
        assert entry["error"] in refused.value.what
        return
    parsed = est.parse_text(entry["text"], convention=convention(entry))
    assert {name: item.value for name, item in parsed.stated.items()} == {
        name: exact(value) for name, value in entry["inputs"].items()
    }
    assert list(parsed.not_understood) == entry.get("not_understood", [])
    figures = entry.get("figures")
    if figures:
        estimate = est.compute(
            parsed.stated, parsed.not_understood, convention=convention(entry), blocked=parsed.blocked
        )
        for name, value in figures.items():
            assert getattr(estimate, name) == exact(value), name


@pytest.mark.parametrize("entry", [e for e in CORPUS if "error" not in e], ids=lambda e: e["text"][:40])
def test_every_clause_read_is_shown_with_how_it_was_read(entry):
    parsed = est.parse_text(entry["text"], convention=convention(entry))
    shown = {name for reading in parsed.readings for name in reading.inputs}
    derived = {name for name, item in parsed.stated.items() if item.note}  # DAU from users × share, a peak factor
    assert set(parsed.stated) <= shown | derived
    assert not {reading.clause for reading in parsed.readings} & set(parsed.not_understood)
