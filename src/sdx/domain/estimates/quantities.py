"""Tokens and quantities in free text: `5M`, `1.5 billion`, `five`, `a hundred`, `300 MB`, `10%`, `3x`, `10:1`.

The tokenizer is one regular expression of alternatives with no nested repetition, run once over the text
(linear, whatever the text), so a pasted 10,000-character spec never makes it backtrack. A quantity is a number
(digits or number words) with the words that scale it (`k`, `million`) and its unit (bytes, percent, times,
a duration); what it counts is the sentence reader's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from sdx.domain.estimates.units import COUNT_MULTIPLIERS, DAYS_PER_MONTH, DAYS_PER_YEAR
from sdx.errors import UsageError

_TOKEN = re.compile(
    r"(?P<nl>\n)|(?P<num>\d+(?:[.,]\d+)*(?:[eE][+-]?\d{1,2}(?![\d]))?)|(?P<word>[A-Za-z]+(?:'[a-z]+)?)|(?P<sym>\S)"
)
_LONGEST_NUMBER = 40
_LARGEST_NUMBER = 10**24


class Token(NamedTuple):
    """A token of free text (a tuple: many are made for a long context)."""

    kind: str  # nl, num, word, sym
    text: str
    start: int
    end: int
    low: str  # the text in lower case


def tokens(text: str) -> list[Token]:
    made = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        token = match[0]
        made.append(Token(match.lastgroup or "sym", token, start, end, token.lower()))
    return made


NUMBER_WORDS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90})
# "once a day", "twice as many", "double the average"
REPEAT_WORDS: dict[str, int] = {
    "once": 1,
    "twice": 2,
    "thrice": 3,
    "double": 2,
    "doubles": 2,
    "triple": 3,
    "triples": 3,
    "quadruple": 4,
}
ORDINALS: dict[str, int] = {
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "twentieth": 20,
    "hundredth": 100,
}
SIZE_UNITS: dict[str, int] = {
    "byte": 1,
    "bytes": 1,
    "kilobyte": 1000,
    "kilobytes": 1000,
    "megabyte": 1000**2,
    "megabytes": 1000**2,
    "gigabyte": 1000**3,
    "gigabytes": 1000**3,
    "terabyte": 1000**4,
    "terabytes": 1000**4,
    "petabyte": 1000**5,
    "petabytes": 1000**5,
    **{f"{p}b": 1000 ** (n + 1) for n, p in enumerate("kmgtpe")},
    **{f"{p}ib": 1024 ** (n + 1) for n, p in enumerate("kmgtpe")},
}
# a duration unit in days ("m" is million, never a minute or a month)
DURATION_UNITS: dict[str, Fraction] = {
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), Fraction(DAYS_PER_YEAR)),
    **dict.fromkeys(("mo", "mos", "month", "months"), Fraction(DAYS_PER_MONTH)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), Fraction(7)),
    **dict.fromkeys(("d", "day", "days"), Fraction(1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), Fraction(1, 24)),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), Fraction(1, 24 * 60)),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), Fraction(1, 86_400)),
}
PERIOD_NAMES = {
    Fraction(DAYS_PER_YEAR): "year",
    Fraction(DAYS_PER_MONTH): "month",
    Fraction(7): "week",
    Fraction(1): "day",
    Fraction(1, 24): "hour",
    Fraction(1, 24 * 60): "minute",
    Fraction(1, 86_400): "second",
}
BIT_UNITS = re.compile(r"(?:[kmgtpe]i?)?(?:b|bits?)|(?:[kmgtpe]i?)?bps")


class NotAQuantity(Exception):
    """A figure written so that it cannot be read for sure (`1,5`, `1.2.3`): the clause is not understood."""


@dataclass(frozen=True)
class Quantity:
    """A number with its unit: kind is count, percent, times, size (bytes), duration (days) or ratio (a:b)."""

    kind: str
    value: Fraction
    first: int  # index of its first token in the clause
    last: int  # index after its last token
    text: str  # as written
    right: Fraction = Fraction(1)  # for a ratio a:b, b (value holds a)


def number_value(token: Token) -> Fraction:
    """The value of a digits token: `1,000`, `2.5`, `1e6`; a comma that is no thousands separator is refused."""
    text = token.text
    if len(text) > _LONGEST_NUMBER:
        raise UsageError(f"{text[:40]!r}… has too many digits", "write it like 50M or 2,000")
    mantissa, _, exponent = text.lower().partition("e")
    whole, *decimals = mantissa.split(".")
    if len(decimals) > 1 or "," in "".join(decimals):
        raise NotAQuantity(text)
    groups = whole.split(",")
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(group) != 3 for group in groups[1:])):
        raise NotAQuantity(text)
    digits = "".join(groups)
    value = Fraction(int(digits + decimals[0]), 10 ** len(decimals[0])) if decimals else Fraction(int(digits))
    if exponent:
        value *= Fraction(10) ** int(exponent)
    return value


def check_magnitude(value: Fraction, text: str) -> Fraction:
    """The number as written (before its unit) is more than zero and below 10^24, as an option's must be."""
    if value == 0:
        raise UsageError(f"{text!r} must be more than zero", "state it without a zero")
    if value >= _LARGEST_NUMBER:
        raise UsageError(f"{text!r} is too large for an estimate", "write it like 50M or 2,000")
    return value


def _number_at(toks: list[Token], i: int) -> tuple[Fraction, int] | None:
    """The number starting at token i and the index after it: digits, or number words (`a hundred`, `five`)."""
    tok = toks[i]
    if tok.kind == "num":
        value, j = number_value(tok), i + 1
    elif tok.kind == "word" and tok.low in NUMBER_WORDS:
        value, j = Fraction(NUMBER_WORDS[tok.low]), i + 1
        if value >= 20 and j < len(toks) and toks[j].low in NUMBER_WORDS and NUMBER_WORDS[toks[j].low] < 10:
            value, j = value + NUMBER_WORDS[toks[j].low], j + 1
    elif tok.kind == "word" and tok.low in ("a", "an") and _next_low(toks, i) in ("hundred", "thousand", "million"):
        value, j = Fraction(1), i + 1
    else:
        return None
    if _next_low(toks, j - 1) == "hundred" and (tok.kind == "word" or value < 100):
        value, j = value * 100, j + 1
    return value, j


def _next_low(toks: list[Token], i: int) -> str:
    return toks[i + 1].low if i + 1 < len(toks) and toks[i + 1].kind == "word" else ""


def quantity_at(toks: list[Token], i: int) -> Quantity | None:
    """The quantity starting at token i, if one does."""
    found = _number_at(toks, i)
    if found is None:
        return None
    value, j = found
    check_magnitude(value, toks[i].text)
    if j < len(toks) and toks[j].kind == "word" and toks[j].low in COUNT_MULTIPLIERS:
        value, j = value * COUNT_MULTIPLIERS[toks[j].low], j + 1
        if j < len(toks) and toks[j].low in ("million", "billion") and toks[j - 1].low in ("thousand", "hundred"):
            value, j = value * COUNT_MULTIPLIERS[toks[j].low], j + 1
    kind, right = "count", Fraction(1)
    unit = toks[j] if j < len(toks) else None
    if (unit is not None and unit.kind == "sym" and unit.text == "%") or (unit is not None and unit.low == "percent"):
        kind, value, j = "percent", value / 100, j + 1
    elif unit is not None and (unit.low in ("x", "times", "fold") or (unit.text == "×" and _is_times_sign(toks, j))):
        kind, j = "times", j + 1
    elif unit is not None and unit.kind == "word" and unit.low in SIZE_UNITS and unit.low != "b":
        _refuse_bits(unit, toks[i].text)
        kind, value, j = "size", value * SIZE_UNITS[unit.low], j + 1
    elif unit is not None and unit.kind == "word" and unit.low in DURATION_UNITS and unit.low != "m":
        kind, value, j = "duration", value * DURATION_UNITS[unit.low], j + 1
    elif unit is not None and unit.kind == "word" and BIT_UNITS.fullmatch(unit.low) and unit.low != "b":
        kind, j = "bits", j + 1
    elif unit is not None and unit.text == ":" and j + 1 < len(toks) and toks[j + 1].kind == "num":
        kind, right, j = "ratio", number_value(toks[j + 1]), j + 2
        if right == 0:
            raise UsageError(f"'{toks[i].text}:0': a ratio cannot divide by zero", "write it like 10:1")
    return Quantity(kind, value, i, j, " ".join(tok.text for tok in toks[i:j]), right)


def _is_times_sign(toks: list[Token], j: int) -> bool:
    """`3×` or `3 × the average` (times) but not `3 × 86,400` (pasted arithmetic)."""
    return not (j + 1 < len(toks) and toks[j + 1].kind == "num")


def _refuse_bits(unit: Token, number: str) -> None:
    """`1 kb`, `8Mb`: a lowercase b means bits; bytes are meant where a size is, so refuse rather than guess."""
    if unit.text[-1] == "b" and unit.low not in ("byte", "bytes") and not unit.low.endswith("bytes"):
        raise UsageError(
            f"'{number} {unit.text}' is in bits (a lowercase b means bits)",
            "give bytes with a capital B: 500 bytes, 1KB, 2.5 MB or 1 KiB",
        )
