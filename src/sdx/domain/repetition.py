"""Telling a degenerate answer (a model caught in a loop, writing the same text over and over) from Markdown that
is merely repetitive, as the answer streams in.

A loop repeats its text exactly: the end of the answer is the same unit (a phrase, a line, a paragraph) written
again and again, until the token limit. Legitimate Markdown repeats shapes, not text: table rows, bullets and
code lines look alike but differ in their words, numbers or names; the few lines that do repeat exactly (a `}`,
a blank line, a `|` in a drawing) stay short. So the detector fires only on an exact repetition (an ordered
list's item numbers aside: `1. Use a cache`, `2. Use a cache` … is a loop too) that is both long (`MIN_SPAN`
characters) and many times over (`MIN_REPEATS`): 40 copies of a 20-character phrase, 5 of a 200-character
paragraph. It looks at the end of the text only, every `CHECK_EVERY` characters, so a long answer costs a few
string searches, never a rescan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_SPAN = 800  # characters of exact repetition at least
MIN_REPEATS = 5  # copies of the unit at least
MAX_UNIT = 1000  # the longest unit looked for (a paragraph or two)
PROBE = 32  # characters at the end of the text looked for further back: where they recur, a copy may start
CANDIDATES = 8  # the nearest places looked at (a loop's end is checked again CHECK_EVERY characters later)
CHECK_EVERY = 200  # characters of new text between two looks
KEPT = MAX_UNIT * MIN_REPEATS + MIN_SPAN  # the end of the answer a look needs
_ITEM_NUMBER = re.compile(r"^([ \t]*)\d+([.)][ \t])", re.MULTILINE)  # `12. ` starting an ordered list's item


@dataclass(frozen=True)
class Repetition:
    unit: str  # the text repeated (an ordered list's item number as `#`)
    repeats: int  # how many times in a row it appears at the end of the answer

    def sentence(self, limit: int = 60) -> str:
        """What happened, for the warning and the stored turn: `the answer kept repeating “…” (40 times in a row)`;
        the unit on one line, shortened, without control characters (it is the model's text)."""
        words = " ".join(re.sub(r"^\s*#([.)]\s)", "", self.unit).split())
        words = "".join(char if char.isprintable() else "?" for char in words)
        shown = f"“{words if len(words) <= limit else words[: limit - 1] + '…'}”" if words else "blank space"
        return f"the answer kept repeating {shown} ({self.repeats} times in a row)"


class RepetitionDetector:
    """Fed the answer's text as it arrives; `feed` returns the `Repetition` once the end is a loop, else None."""

    def __init__(self) -> None:
        self._tail = ""
        self._new: list[str] = []
        self._unchecked = 0

    def feed(self, text: str) -> Repetition | None:
        self._new.append(text)
        self._unchecked += len(text)
        if self._unchecked < CHECK_EVERY:
            return None
        self._tail = (self._tail + "".join(self._new))[-KEPT:]
        self._new.clear()
        self._unchecked = 0
        return repetition_at_end(_ITEM_NUMBER.sub(r"\1#\2", self._tail))


def repetition_at_end(text: str) -> Repetition | None:
    """The shortest unit that `text` ends with at least MIN_REPEATS times over at least MIN_SPAN characters."""
    if len(text) < MIN_SPAN:
        return None
    end = len(text)
    for period in _candidate_periods(text):
        span = max(MIN_SPAN, MIN_REPEATS * period)
        if span > end:
            continue
        probe = text[-PROBE:]
        if not all(text.startswith(probe, end - PROBE - copy * period) for copy in range(2, MIN_REPEATS)):
            continue  # a quick look at where the copies would start, before comparing them whole
        if text[-span + period :] == text[-span : end - period]:
            return Repetition(_as_written(text[-period:]), _repeats(text, period))
    return None


def _candidate_periods(text: str) -> list[int]:
    """The distances back to the nearest earlier places where the text's last PROBE characters also appear: the
    only lengths a unit repeating up to the end can have."""
    probe = text[-PROBE:]
    periods = []
    end = len(text) - 1
    start = max(0, len(text) - PROBE - MAX_UNIT)
    while len(periods) < CANDIDATES and (found := text.rfind(probe, start, end)) >= 0:
        periods.append(len(text) - PROBE - found)
        end = found + PROBE - 1
    return periods


def _as_written(unit: str) -> str:
    """The unit turned to start where a copy of it starts a line (or a word), as a reader sees it repeat."""
    for boundary in ("\n", " "):
        cut = unit.find(boundary)
        if 0 <= cut < len(unit) - 1:
            return unit[cut + 1 :] + unit[: cut + 1]
    return unit


def _repeats(text: str, period: int) -> int:
    """How many whole copies of the last `period` characters the text ends with."""
    unit = text[-period:]
    count, end = 0, len(text)
    while end >= period and text[end - period : end] == unit:
        count += 1
        end -= period
    return count
