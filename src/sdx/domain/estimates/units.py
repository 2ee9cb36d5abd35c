"""Units and quantities: a number with its unit as people write it (`50M`, `1 KB`, `5y`, `100:1`), exactly.

Every quantity is a `Fraction`. Units are decimal (1 KB = 1,000 bytes) unless written in binary (1 KiB = 1,024
bytes); a year is 365 days and a month 30. A bad quantity raises `UsageError` naming the part that is wrong.
"""

from __future__ import annotations

import re
from fractions import Fraction

from sdx.errors import UsageError

SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365
DAYS_PER_MONTH = 30
CONVENTIONS = "1 KB = 1,000 bytes (KiB = 1,024), a year = 365 days, a month = 30 days, a day = 86,400 s"

NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]?\d{1,2}(?!\d))?|\.\d+"
_LARGEST_NUMBER = 10**24
_LONGEST_NUMBER = 40  # characters: beyond any real estimate, and far below Python's int-to-str limit
_QUANTITY = re.compile(rf"^\s*(?P<sign>[+-]?)\s*(?P<number>{NUMBER})\s*(?P<unit>.*?)\s*$", re.IGNORECASE)

COUNT_MULTIPLIERS: dict[str, int] = {  # "5M users", "5 million users": also read by the sentence reader
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mm": 10**6,
    "mn": 10**6,
    "million": 10**6,
    "millions": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "billions": 10**9,
    "t": 10**12,
    "tn": 10**12,
    "trillion": 10**12,
}
_COUNT_UNITS: dict[str, int] = {"": 1, **COUNT_MULTIPLIERS}
DECIMAL_PREFIXES = "kmgtpe"
_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    **{f"{prefix}b": 1000 ** (power + 1) for power, prefix in enumerate(DECIMAL_PREFIXES)},
    **{f"{prefix}ib": 1024 ** (power + 1) for power, prefix in enumerate(DECIMAL_PREFIXES)},
}
_DURATION_UNITS: dict[str, Fraction] = {
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), Fraction(DAYS_PER_YEAR)),
    **dict.fromkeys(("mo", "mos", "month", "months"), Fraction(DAYS_PER_MONTH)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), Fraction(7)),
    **dict.fromkeys(("d", "day", "days"), Fraction(1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), Fraction(1, 24)),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), Fraction(1, 24 * 60)),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), Fraction(1, SECONDS_PER_DAY)),
}
_RATE_SUFFIX = re.compile(r"\s*(?:/\s*s(?:ec)?|qps|rps|req/s|per second)$", re.IGNORECASE)


def _split(text: str, what: str, example: str) -> tuple[Fraction, str]:
    """The number and the (lower-case) unit of `text`; refuse a missing number and anything not positive."""
    match = _QUANTITY.match(text)
    if not match:
        raise UsageError(f"{what}: {text.strip()!r} is not a quantity", f"write it like {example}")
    if len(match["number"]) > _LONGEST_NUMBER:
        raise UsageError(f"{what}: {text.strip()[:40]!r}… has too many digits", f"write it like {example}")
    value = Fraction(match["number"].replace(",", ""))
    if match["sign"] == "-" or value == 0:
        raise UsageError(f"{what}: {text.strip()!r} must be more than zero", f"write it like {example}")
    if value >= _LARGEST_NUMBER:  # products of such inputs must stay printable as JSON floats (< 1e308)
        raise UsageError(f"{what}: {text.strip()!r} is too large for an estimate", f"write it like {example}")
    return value, match["unit"].lower()


def _unknown_unit(what: str, text: str, unit: str, example: str) -> UsageError:
    return UsageError(f"{what}: unknown unit {unit!r} in {text.strip()!r}", f"write it like {example}")


def parse_count(text: str, what: str = "count") -> Fraction:
    """`50M`, `1.5B`, `10k`, `2 million`, `1,000`, `11.6 K` → the number (K/M/B/T are powers of 1,000)."""
    example = "50M, 1.5B, 10k or 2,000"
    value, unit = _split(text, what, example)
    if unit not in _COUNT_UNITS:
        raise _unknown_unit(what, text, unit, example)
    return value * _COUNT_UNITS[unit]


def parse_rate(text: str, what: str = "rate") -> Fraction:
    """A count per second: `20k`, `20k QPS`, `11.6 K/s`."""
    return parse_count(_RATE_SUFFIX.sub("", text.strip()), what)


def parse_size(text: str, what: str = "size") -> Fraction:
    """`1KB` (1,000 bytes), `2.5 KB`, `1KiB` (1,024), `3 MB`, `500 bytes`, `500` → bytes.

    A lowercase `b` means bits (`1Kb`, `1 kb`, `8 Mb`): refused, naming the unit, rather than taken for bytes.
    """
    example = "500 bytes, 1KB, 2.5 MB or 1 KiB"
    value, unit = _split(text, what, example)
    if _is_bits(text):
        raise UsageError(
            f"{what}: {text.strip()!r} is in bits (a lowercase b means bits)",
            f"give bytes with a capital B: {example}",
        )
    if unit not in _SIZE_UNITS:
        raise _unknown_unit(what, text, unit, example)
    return value * _SIZE_UNITS[unit]


_BITS_UNIT = re.compile(r"(?:[kmgtpe]i?)?b(?:its?)?\s*$")


def _is_bits(text: str) -> bool:
    """`1Kb`, `1 kb`, `8Mb`, `500b`, `64 kbit`: a unit whose b is lowercase (case-sensitive, unlike the rest)."""
    match = _QUANTITY.match(text)
    unit = match["unit"] if match else ""
    return bool(_BITS_UNIT.fullmatch(unit.lower())) and unit[-1:] != "B" and unit.lower() not in ("byte", "bytes")


def parse_duration(text: str, what: str = "duration") -> Fraction:
    """`5y`, `18mo`, `90d`, `2w`, `12h` → days. A bare number or `m` (month or minute?) is refused."""
    example = "5y, 18mo, 90d or 12h"
    value, unit = _split(text, what, example)
    if unit == "":
        raise UsageError(f"{what}: {text.strip()!r} has no unit", f"write it like {example}")
    if unit not in _DURATION_UNITS:
        raise _unknown_unit(what, text, unit, example)
    return value * _DURATION_UNITS[unit]


def parse_ratio(text: str, what: str = "ratio") -> Fraction:
    """`10`, `3x`, `100:1` (= 100), `20%` (= 0.2), `0.2`."""
    example = "10, 3x, 100:1, 0.2 or 20%"
    if ":" in text:
        (left, left_unit), (right, right_unit) = (_split(side, what, example) for side in text.split(":", 1))
        if left_unit or right_unit:
            raise _unknown_unit(what, text, left_unit or right_unit, example)
        return left / right
    value, unit = _split(text, what, example)
    if unit in ("", "x", "×"):
        return value
    if unit == "%":
        return value / 100
    raise _unknown_unit(what, text, unit, example)
