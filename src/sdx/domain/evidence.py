"""Checking a grade's evidence: every quote the grader gives must be in the material it graded.

A quote matches when it appears in the source after both are normalised: case and runs of whitespace are
ignored, typographic quotes, apostrophes and dashes read as their ASCII forms, Markdown emphasis is dropped, and
the quotation marks or punctuation a grader puts around a quote are not part of it. A quote cut with `…` or
`...` (or `[…]`) matches when its parts appear in that order. Pure code, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CHECK_VERSION = 1  # stored with the result, so a later, different check can tell its own results apart

_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.+)\s*\]|…|\.\.\.+)\s*")
_TYPOGRAPHIC = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "″": '"',
        "«": '"',
        "»": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "\u00a0": " ",
    }
)
_EMPHASIS = re.compile(r"[*_`]+")
_SPACE = re.compile(r"\s+")
_EDGES = " \"'.,;:!?()[]{}<>-"


def normalise(text: str) -> str:
    """Lower case, one space for any run of whitespace, ASCII quotes and dashes, no Markdown emphasis marks."""
    text = text.translate(_TYPOGRAPHIC)
    text = _EMPHASIS.sub("", text)
    return _SPACE.sub(" ", text).strip().casefold()


def quote_parts(quote: str) -> list[str]:
    """The normalised pieces of a quote, split where it was cut with an ellipsis; empty pieces dropped."""
    parts = (normalise(part).strip(_EDGES) for part in _ELLIPSIS.split(quote.translate(_TYPOGRAPHIC)))
    return [part for part in parts if part]


def quote_found(quote: str, normalised_source: str) -> bool:
    """Whether every part of `quote` is in `normalised_source` (see `normalise`), in order."""
    parts = quote_parts(quote)
    if not parts:
        return False  # an empty quote (or one that is only "…") is no evidence
    position = 0
    for part in parts:
        found = normalised_source.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


def quotes_not_found(evidence: Mapping[str, Sequence[str]], source: str) -> dict[str, list[str]]:
    """Per dimension key, the quotes that are not in `source` (dimensions whose quotes are all found are left out)."""
    normalised = normalise(source)
    missing = {key: [q for q in quotes if not quote_found(q, normalised)] for key, quotes in evidence.items()}
    return {key: quotes for key, quotes in missing.items() if quotes}


# ---------------------------------------------------------------------------------------------------------------
# The result, as stored in the grade (`grade["evidence_check"]`) and read back for display

CHECK_KEY = "evidence_check"


def check_record(not_found: Mapping[str, Sequence[str]], against: str) -> dict[str, object]:
    """What is stored with the grade: `{"version", "against": "the transcript", "not_found": {key: [quotes]}}`."""
    return {"version": CHECK_VERSION, "against": against, "not_found": {key: list(q) for key, q in not_found.items()}}


@dataclass(frozen=True)
class EvidenceView:
    """How a stored grade's evidence reads: checked or not (a grade stored before sdx checked quotes), and which
    quotes were not in the material graded."""

    checked: bool
    against: str = "the transcript"
    not_found: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def unverified(self, key: str) -> bool:
        """A dimension's score is unverified when its evidence was never checked or a quote of it was not found."""
        return not self.checked or bool(self.not_found.get(key))

    def invented(self, key: str, quote: str) -> bool:
        return self.checked and quote in self.not_found.get(key, ())

    @property
    def missing_note(self) -> str:
        return f"not in {self.against}"


def evidence_view(grade: object) -> EvidenceView:
    """The evidence check stored in `grade` (a grade's dict); anything else, or nothing, reads as unchecked."""
    record = grade.get(CHECK_KEY) if isinstance(grade, Mapping) else None
    if not isinstance(record, Mapping) or not isinstance(record.get("not_found"), Mapping):
        return EvidenceView(checked=False)
    not_found = {
        str(key): [quote for quote in quotes if isinstance(quote, str)]
        for key, quotes in record["not_found"].items()
        if isinstance(quotes, list)
    }
    against = record.get("against")
    return EvidenceView(True, against if isinstance(against, str) and against else "the transcript", not_found)
