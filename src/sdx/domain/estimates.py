"""Back-of-envelope capacity estimates: quantities parsed as people write them, and exact arithmetic on them.

Pure code, no I/O. Every quantity is a `Fraction`, so nothing is rounded before a figure is displayed:
50M DAU × 20 writes is exactly 1,000,000,000 writes a day and exactly 1e9 / 86,400 writes per second.
Units are decimal (1 KB = 1,000 bytes) unless written in binary (1 KiB = 1,024 bytes); a year is 365 days and a
month 30. A bad quantity raises `UsageError` naming the part that is wrong.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from sdx.errors import UsageError

SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365
DAYS_PER_MONTH = 30
CONVENTIONS = "1 KB = 1,000 bytes (KiB = 1,024), a year = 365 days, a month = 30 days, a day = 86,400 s"

DEFAULTS: dict[str, Fraction] = {
    "read_ratio": Fraction(1),
    "peak": Fraction(2),
    "replication": Fraction(3),
    "cache_ratio": Fraction(1, 5),
}

# ---------------------------------------------------------------------------------------------------------------
# Parsing one quantity

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]?\d{1,2}(?!\d))?|\.\d+"
_LARGEST_NUMBER = 10**24
_LONGEST_NUMBER = 40  # characters: beyond any real estimate, and far below Python's int-to-str limit
_QUANTITY = re.compile(rf"^\s*(?P<sign>[+-]?)\s*(?P<number>{_NUMBER})\s*(?P<unit>.*?)\s*$", re.IGNORECASE)

_COUNT_UNITS: dict[str, int] = {
    "": 1,
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mm": 10**6,
    "mn": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "t": 10**12,
    "tn": 10**12,
    "trillion": 10**12,
}
_DECIMAL_PREFIXES = "kmgtpe"
_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    **{f"{prefix}b": 1000 ** (power + 1) for power, prefix in enumerate(_DECIMAL_PREFIXES)},
    **{f"{prefix}ib": 1024 ** (power + 1) for power, prefix in enumerate(_DECIMAL_PREFIXES)},
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


# ---------------------------------------------------------------------------------------------------------------
# Formatting (rounding happens here and only here)


def round_significant(value: Fraction, digits: int = 3) -> Decimal:
    """`value` rounded half-even to `digits` significant digits, exactly (no float on the way)."""
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        if exact == 0:
            return Decimal(0)
        return exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), rounding=ROUND_HALF_EVEN)


def _plain_decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _scaled(value: Fraction, units: list[tuple[int, str]], digits: int = 3) -> tuple[str, str]:
    """The value in the largest unit in which it rounds to at least 1 (units from largest to smallest)."""
    for size, name in units:
        rounded = round_significant(value / size, digits)
        if rounded >= 1 or size == units[-1][0]:
            return _plain_decimal(rounded), name
    raise AssertionError("unreachable: the last unit always matches")


_COUNT_SCALE = [(10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K"), (1, "")]
_BYTE_SCALE = [(1000**power, f"{prefix.upper()}B") for power, prefix in reversed(list(enumerate("kmgtpe", 1)))]


def format_count(value: Fraction) -> str:
    """3 significant digits with K, M, B or T: 11,574.07 → `11.6 K`; 1e9 → `1 B`; 694.4 → `694`."""
    number, unit = _scaled(value, _COUNT_SCALE)
    return f"{number} {unit}" if unit else number


def format_rate(value: Fraction) -> str:
    return f"{format_count(value)}/s"


def format_bytes(value: Fraction) -> str:
    """3 significant digits, decimal units: 1.83e13 → `18.3 TB`; below 1 KB in bytes: `500 bytes`."""
    if round_significant(value) < 1000:
        return f"{_plain_decimal(round_significant(value))} bytes"
    number, unit = _scaled(value, _BYTE_SCALE)
    return f"{number} {unit}"


def format_byte_rate(value: Fraction) -> str:
    return f"{format_bytes(value)}/s"


def format_days(days: Fraction) -> str:
    return f"{format_number(days)} days" if days != 1 else "1 day"


def format_number(value: Fraction) -> str:
    """For formulas: exact when it can be short (`86,400`, `50 M`, `1.5 B`), else two decimals (`11,574.07`)."""
    if value.denominator == 1:
        if value >= 10**6:
            number, unit = _scaled(value, _COUNT_SCALE, digits=4)
            if Fraction(Decimal(number)) * dict((name, size) for size, name in _COUNT_SCALE)[unit] == value:
                return f"{number} {unit}"
        return f"{value.numerator:,}"
    if value < 1:
        return _plain_decimal(round_significant(value, 3))
    with localcontext() as ctx:
        ctx.prec = len(str(value.numerator // value.denominator)) + 10  # every integer digit, then the cents
        cents = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return f"{cents:,.2f}"


def format_exact_bytes(value: Fraction) -> str:
    """For formulas: the shortest exact form (`1 KB`, `2.5 KB`, `1 KiB`, `1,234 bytes`), else rounded."""
    candidates = [f"{value.numerator:,} bytes"] if value.denominator == 1 else []
    for base, suffix in ((1000, "B"), (1024, "iB")):
        for power in range(6, 0, -1):
            scaled = value / base**power
            if scaled >= 1 and (scaled < 1000 or power == 6) and (scaled * 1000).denominator == 1:
                number = _plain_decimal(Decimal(scaled.numerator) / Decimal(scaled.denominator))
                candidates.append(f"{number} {_DECIMAL_PREFIXES[power - 1].upper()}{suffix}")
    return min(candidates, key=len) if candidates else format_bytes(value)


# ---------------------------------------------------------------------------------------------------------------
# Inputs and the estimate


@dataclass(frozen=True)
class Inputs:
    """What the user stated (None: not stated). Counts per day, bytes, days, requests per second."""

    dau: Fraction | None = None
    writes_per_user: Fraction | None = None
    writes_per_day: Fraction | None = None
    total_qps: Fraction | None = None  # reads + writes per second on average ("100k QPS" in free text)
    peak_total_qps: Fraction | None = None  # reads + writes per second at peak ("100k QPS at peak")
    peak_write_qps: Fraction | None = None  # writes per second at peak ("5k writes/s at peak")
    read_ratio: Fraction | None = None
    size_bytes: Fraction | None = None
    retention_days: Fraction | None = None
    peak: Fraction | None = None
    replication: Fraction | None = None
    cache_ratio: Fraction | None = None
    server_qps: Fraction | None = None


INPUT_NAMES = tuple(f.name for f in fields(Inputs))


@dataclass(frozen=True)
class Stated:
    """One stated input: its value and where it came from (`--dau 50M`, `'50M DAU'`), for error messages."""

    value: Fraction
    origin: str
    note: str = ""  # how it was derived, when it was ("DAU 100 M = '1B users' × '10% daily active'")


@dataclass(frozen=True)
class Estimate:
    """The figures (None where an input they need was not stated) and what they were computed from."""

    inputs: Inputs  # with defaults applied
    assumptions: dict[str, Fraction]  # the defaults that were applied
    writes_per_day: Fraction
    write_qps: Fraction
    write_qps_peak: Fraction
    read_qps: Fraction
    read_qps_peak: Fraction
    storage_per_day_bytes: Fraction | None
    storage_total_bytes: Fraction | None
    ingress_bytes_per_s: Fraction | None
    egress_bytes_per_s: Fraction | None
    cache_bytes: Fraction | None
    servers: int | None
    not_understood: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # how a figure was read or derived, and stated figures left unused


FIGURES = (
    "writes_per_day",
    "write_qps",
    "write_qps_peak",
    "read_qps",
    "read_qps_peak",
    "storage_per_day_bytes",
    "storage_total_bytes",
    "ingress_bytes_per_s",
    "egress_bytes_per_s",
    "cache_bytes",
    "servers",
)


def merge(*sources: dict[str, Stated]) -> dict[str, Stated]:
    """All stated inputs; the same input stated twice with different values is a usage error naming both."""
    merged: dict[str, Stated] = {}
    for source in sources:
        for name, stated in source.items():
            earlier = merged.get(name)
            if earlier is not None and earlier.value != stated.value:
                raise UsageError(
                    f"contradictory figures: {earlier.origin} and {stated.origin}", "state each figure once"
                )
            merged.setdefault(name, stated)
    _refuse_contradictory_rates(merged)
    return merged


_RATE_INPUTS = ("writes_per_user", "writes_per_day", "total_qps", "peak_total_qps", "peak_write_qps")


def _refuse_contradictory_rates(stated: dict[str, Stated]) -> None:
    """Writes per user, writes per day and a total QPS each fix the write rate: only one may be given."""
    rates = [stated[name].origin for name in _RATE_INPUTS if name in stated]
    if len(rates) > 1:
        raise UsageError(
            f"contradictory figures: {' and '.join(rates)} both set the write rate",
            "give writes per user (--writes, with --dau) or writes per day in total (--writes-per-day), not both",
        )


def _check_ranges(inputs: Inputs, stated: dict[str, Stated]) -> None:
    """`inputs` holds only what was stated (no defaults yet), so each figure checked has its origin in `stated`."""

    def origin(name: str) -> str:
        return stated[name].origin

    if inputs.peak is not None and inputs.peak < 1:
        raise UsageError(f"{origin('peak')}: the peak-to-average factor cannot be below 1", "write it like 2 or 3x")
    if inputs.cache_ratio is not None and inputs.cache_ratio > 1:
        raise UsageError(
            f"{origin('cache_ratio')}: the cached share of a day's reads cannot exceed 1", "write it like 0.2 or 20%"
        )


def inputs_from(stated: dict[str, Stated]) -> Inputs:
    return Inputs(**{name: item.value for name, item in stated.items()})


def compute(stated: dict[str, Stated], not_understood: tuple[str, ...] = ()) -> Estimate:
    """Every figure, exactly; a usage error when the write rate cannot be known."""
    given = inputs_from(stated)
    _check_ranges(given, stated)
    assumptions = {name: value for name, value in DEFAULTS.items() if getattr(given, name) is None}
    inputs = replace(given, **assumptions)
    read_ratio, peak = inputs.read_ratio, inputs.peak
    assert read_ratio is not None and peak is not None and inputs.replication is not None
    assert inputs.cache_ratio is not None
    writes_per_day = _writes_per_day(inputs, read_ratio, peak)
    write_qps = writes_per_day / SECONDS_PER_DAY
    read_qps = write_qps * read_ratio
    size = inputs.size_bytes
    storage_per_day = None if size is None else writes_per_day * size
    storage_total = (
        None
        if storage_per_day is None or inputs.retention_days is None
        else storage_per_day * inputs.retention_days * inputs.replication
    )
    servers = None if inputs.server_qps is None else math.ceil((write_qps * peak + read_qps * peak) / inputs.server_qps)
    return Estimate(
        inputs=inputs,
        assumptions=assumptions,
        writes_per_day=writes_per_day,
        write_qps=write_qps,
        write_qps_peak=write_qps * peak,
        read_qps=read_qps,
        read_qps_peak=read_qps * peak,
        storage_per_day_bytes=storage_per_day,
        storage_total_bytes=storage_total,
        ingress_bytes_per_s=None if size is None else write_qps * size,
        egress_bytes_per_s=None if size is None else read_qps * size,
        cache_bytes=None if size is None else inputs.cache_ratio * read_qps * SECONDS_PER_DAY * size,
        servers=servers,
        not_understood=not_understood,
        notes=_notes(stated, writes_per_day),
    )


def _notes(stated: dict[str, Stated], writes_per_day: Fraction) -> tuple[str, ...]:
    """How derived figures were derived, and a stated DAU that the write rate does not use (never silently)."""
    notes = [item.note for item in stated.values() if item.note]
    if "dau" in stated and "writes_per_user" not in stated:
        dau = stated["dau"].value
        source = next(stated[name].origin for name in _RATE_INPUTS if name in stated)
        notes.append(
            f"DAU {format_number(dau)} not used: the write rate comes from {source}"
            f" (that is {format_number(writes_per_day / dau)} writes per user a day)"
        )
    return tuple(notes)


def _writes_per_day(inputs: Inputs, read_ratio: Fraction, peak: Fraction) -> Fraction:
    """Writes a day from whichever rate was stated; a rate stated at peak is divided by the peak factor."""
    if inputs.writes_per_day is not None:
        return inputs.writes_per_day
    if inputs.total_qps is not None:
        return inputs.total_qps / (1 + read_ratio) * SECONDS_PER_DAY
    if inputs.peak_total_qps is not None:
        return inputs.peak_total_qps / peak / (1 + read_ratio) * SECONDS_PER_DAY
    if inputs.peak_write_qps is not None:
        return inputs.peak_write_qps / peak * SECONDS_PER_DAY
    if inputs.writes_per_user is not None and inputs.dau is not None:
        return inputs.dau * inputs.writes_per_user
    if inputs.writes_per_user is not None:
        raise UsageError("writes per user need the number of users", "add --dau (e.g. --dau 50M)")
    raise UsageError(
        "nothing to estimate: the write rate is unknown",
        "give --dau with --writes (writes per user per day), or --writes-per-day",
    )


# ---------------------------------------------------------------------------------------------------------------
# Rows: each figure in human units with its formula, numbers put in (for the table, the plain text, the model)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: str  # human units, rounded
    formula: str  # the arithmetic with the numbers put in


def rows(estimate: Estimate) -> list[Row]:
    """The figures that could be computed, in reading order."""
    e, i = estimate, estimate.inputs
    n = format_number
    size = format_exact_bytes(i.size_bytes) if i.size_bytes is not None else ""
    table = [
        Row("writes_per_day", "writes per day", f"{format_count(e.writes_per_day)}/day", _writes_formula(i)),
        Row("write_qps", "writes/s (average)", format_rate(e.write_qps), f"{n(e.writes_per_day)} ÷ 86,400 s"),
        Row("write_qps_peak", "writes/s (peak)", format_rate(e.write_qps_peak), f"{n(e.write_qps)} × {n(i.peak)} peak"),
        Row(
            "read_qps",
            "reads/s (average)",
            format_rate(e.read_qps),
            f"{n(e.write_qps)} × {n(i.read_ratio)} reads/write",
        ),
        Row("read_qps_peak", "reads/s (peak)", format_rate(e.read_qps_peak), f"{n(e.read_qps)} × {n(i.peak)} peak"),
    ]
    if e.storage_per_day_bytes is not None:
        table.append(
            Row(
                "storage_per_day_bytes",
                "storage per day",
                f"{format_bytes(e.storage_per_day_bytes)}/day",
                f"{n(e.writes_per_day)} writes × {size}",
            )
        )
    if e.storage_total_bytes is not None and e.storage_per_day_bytes is not None and i.retention_days is not None:
        table.append(
            Row(
                "storage_total_bytes",
                "storage in total",
                format_bytes(e.storage_total_bytes),
                f"{format_exact_bytes(e.storage_per_day_bytes)}/day × {format_days(i.retention_days)}"
                f" × {n(i.replication)} replicas",
            )
        )
    if e.ingress_bytes_per_s is not None and e.egress_bytes_per_s is not None:
        table += [
            Row(
                "ingress_bytes_per_s",
                "ingress",
                format_byte_rate(e.ingress_bytes_per_s),
                f"{n(e.write_qps)}/s × {size}",
            ),
            Row("egress_bytes_per_s", "egress", format_byte_rate(e.egress_bytes_per_s), f"{n(e.read_qps)}/s × {size}"),
        ]
    if e.cache_bytes is not None:
        table.append(
            Row(
                "cache_bytes",
                "cache (a day's hot reads)",
                format_bytes(e.cache_bytes),
                f"{n(i.cache_ratio)} × {n(e.read_qps)}/s × 86,400 s × {size}",
            )
        )
    if e.servers is not None and i.server_qps is not None:
        table.append(
            Row(
                "servers",
                "servers",
                f"{e.servers:,}",
                f"⌈({n(e.write_qps_peak)} + {n(e.read_qps_peak)}) ÷ {n(i.server_qps)} per server⌉",
            )
        )
    return table


def _writes_formula(inputs: Inputs) -> str:
    if inputs.writes_per_day is not None:
        return "given"
    n = format_number
    if inputs.total_qps is not None:
        return f"{n(inputs.total_qps)} req/s ÷ (1 + {n(inputs.read_ratio)}) × 86,400 s"
    if inputs.peak_total_qps is not None:
        return (
            f"{n(inputs.peak_total_qps)} req/s at peak ÷ {n(inputs.peak)} peak ÷ (1 + {n(inputs.read_ratio)})"
            " × 86,400 s"
        )
    if inputs.peak_write_qps is not None:
        return f"{n(inputs.peak_write_qps)} writes/s at peak ÷ {n(inputs.peak)} peak × 86,400 s"
    return f"{format_number(inputs.dau)} DAU × {format_number(inputs.writes_per_user)} writes/user"


def describe_inputs(inputs: Inputs) -> list[str]:
    """Each stated or assumed input in human units: `DAU 50 M`, `size 1 KB`, `retention 1,825 days`."""
    described = {
        "dau": lambda v: f"DAU {format_number(v)}",
        "writes_per_user": lambda v: f"writes per user per day {format_number(v)}",
        "writes_per_day": lambda v: f"writes per day {format_number(v)}",
        "total_qps": lambda v: f"requests per second (reads + writes) {format_number(v)}",
        "peak_total_qps": lambda v: f"requests per second at peak (reads + writes) {format_number(v)}",
        "peak_write_qps": lambda v: f"writes per second at peak {format_number(v)}",
        "read_ratio": lambda v: f"reads per write {format_number(v)}",
        "size_bytes": lambda v: f"size per write {format_exact_bytes(v)}",
        "retention_days": lambda v: f"retention {format_days(v)}",
        "peak": lambda v: f"peak-to-average {format_number(v)}×",
        "replication": lambda v: f"replication {format_number(v)}",
        "cache_ratio": lambda v: f"cached share of a day's reads {format_number(v)}",
        "server_qps": lambda v: f"requests per second per server {format_number(v)}",
    }
    return [
        describe(getattr(inputs, name)) for name, describe in described.items() if getattr(inputs, name) is not None
    ]


def missing_figures(estimate: Estimate) -> list[str]:
    """What to add to get the figures that are missing."""
    i = estimate.inputs
    hints = []
    if i.size_bytes is None:
        hints.append("a size per write (--size, '1 KB per message') for storage, bandwidth and cache")
    elif i.retention_days is None:
        hints.append("a retention (--retention, 'keep 5 years') for total storage")
    if i.server_qps is None:
        hints.append("requests per second per server (--server-qps) for a server count")
    return hints


_UNDERSTOOD_SHOWN = 5  # a long context may hold many figures sdx ignores; the model has the context itself


def facts_for_prompt(estimate: Estimate) -> str:
    """A compact Markdown block of the figures for the model, who must use them rather than recompute them."""
    lines = [
        "Capacity estimates computed by sdx from the stated constraints; use these numbers, do not recompute them:",
        "",
    ]
    lines += [f"- {row.label}: {row.value} ({row.formula})" for row in rows(estimate)]
    lines.append(f"- inputs: {'; '.join(describe_inputs(estimate.inputs))}")
    if estimate.assumptions:
        lines.append(f"- defaults assumed: {'; '.join(describe_assumptions(estimate))}")
    lines += [f"- note: {note}" for note in estimate.notes]
    lines.append(f"- units: {CONVENTIONS}")
    if estimate.not_understood:
        shown, more = estimate.not_understood[:_UNDERSTOOD_SHOWN], len(estimate.not_understood) - _UNDERSTOOD_SHOWN
        extra = f"; and {more} more" if more > 0 else ""
        lines.append(f"- not understood by sdx (not used): {'; '.join(shown)}{extra}")
    return "\n".join(lines)


def describe_assumptions(estimate: Estimate) -> list[str]:
    return describe_inputs(Inputs(**estimate.assumptions))


def to_json(estimate: Estimate) -> dict[str, object]:
    """The `--json` object: the figures in base units (requests/s, bytes, bytes/s), inputs and assumptions."""

    def number(value: Fraction | int | None) -> int | float | None:
        if value is None or isinstance(value, int):
            return value
        return value.numerator if value.denominator == 1 else float(value)

    result: dict[str, object] = {name: number(getattr(estimate, name)) for name in FIGURES}
    result["inputs"] = {name: number(getattr(estimate.inputs, name)) for name in INPUT_NAMES}
    result["assumptions"] = {name: number(value) for name, value in estimate.assumptions.items()}
    result["units"] = CONVENTIONS
    result["not_understood"] = list(estimate.not_understood)
    result["notes"] = list(estimate.notes)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Free text: "50M DAU, 20 posts per user per day, 10 reads per write, 1 KB each, keep 5 years"

_COUNT_WORDS = r"thousand|million|billion|trillion|mn|bn|tn|mm|k|m|b|t"
# A figure starts where no digit does: a long run of digits is then tried once, not from each of its positions.
_FIGURE = rf"(?<!\d)(?<!\d[.,])(?:{_NUMBER})"
_COUNT = rf"(?P<q>(?:{_FIGURE})(?:\s*(?:{_COUNT_WORDS})\b)?)"
_NUM = rf"(?P<q>{_FIGURE})"
_SIZE = rf"(?P<q>(?:{_FIGURE})\s*(?:[kmgtpe]i?b|bytes?)\b)"
_DURATION = (
    rf"(?P<q>(?:{_FIGURE})\s*(?:years?|yrs?|y|months?|mos?|weeks?|wks?|w|days?|d|hours?|hrs?|h)\b"
    r"|(?:a|an|one)\s+(?:year|month|week|day))"
)
_PER_SECOND = r"(?:qps|rps|req/s|(?:requests?|queries|reqs?)\s*(?:/|per)\s*s(?:ec(?:ond)?)?)\b"
_SERVER = r"(?:servers?|nodes?|machines?|hosts?|instances?|boxes|box)\b"
_USER = r"(?:users?|dau|persons?|members?)\b"
_PER = r"(?:per|a|/|each|every)"
_GAP = r"[^,;.\d]{0,30}?"  # words inside one clause, no figure
_WORDS = r"(?:[a-z]+\s+){0,2}?"
_READ_NOUNS = re.compile(
    r"\b(?:reads?|reading|views?|viewing|watch\w*|visits?|lookups?|fetch\w*|gets?|clicks?|impressions?|searche?s?)\b",
    re.I,
)
_REQUEST_NOUNS = re.compile(r"\b(?:requests?|queries|calls|hits|api calls)\b", re.I)
_SIZE_NOUNS = re.compile(r"\b(?:[kmgtpe]i?b|bytes?|bits?)\b", re.I)
_USER_NOUNS = re.compile(rf"\b{_USER}", re.I)
_NOUNS = r"(?P<nouns>(?:[a-z]+\b\s*){0,2}?)"  # up to two words: "posts", "new photos"
_DAY = r"(?:(?:per|a|/|each|every)\s*day\b|daily\b)"
# "per user", "/user", "each" (not "each of 1 KB", "each 2 KB", "each is…"), "apiece"
_PER_USER = (
    rf"(?:(?:per|a|/|each|every)\s*{_USER}"
    r"|(?:each|apiece)\b(?!\s*(?:of|is|are|at|about|around|averag\w*|weigh\w*|up)\b|\s*[~\d]))"
)
_TOTAL = r"(?:in\s+total|total|overall|in\s+aggregate|altogether|across\s+(?:all\s+)?users|platform[- ]wide)\b"
# Free text with a DAU stated: an "N things a day" that says neither per user nor in total is read as per user
# when a person could do that many (at most PER_USER_MAX) and, as a total, it would be fewer than one a day per
# 1,000 users; as a total when no person would do that many and it is at least one a day per 1,000 users;
# otherwise (both readings or neither plausible) it is listed as not understood.
PER_USER_MAX = 1000
TOTAL_MIN_SHARE = Fraction(1, 1000)
_AT_PEAK = (
    r"(?:at\s+(?:the\s+)?peak\b|during\s+(?:the\s+)?peaks?\b|in\s+peak\b|\(\s*peak\s*\)"
    r"|peak\b(?![- ]to[- ]average|\s*(?:factor|multiplier|ratio|of|is|=|:|~|\d)))"  # not "100k QPS, peak 3x"
)
_PEAK_LEAD = (
    r"\bpeak(?:s|ing)?\b(?:\s*(?:(?:traffic|load|throughput|rate|of|at|is|around|about|reach(?:es|ing)?|"
    r"hit(?:s|ting)?|up\s+to)\b|[=:~,]))*\s*"
)
_WRITES_PER_SECOND = (
    r"(?:(?:writes?|posts?|messages?|uploads?|inserts?|events?)\s*(?:/|per)\s*s(?:ec(?:ond)?)?\b"
    rf"|writes?\s*{_PER_SECOND})"
)


def _days_of(text: str) -> Fraction:
    words = text.lower().split()
    if words[0] in ("a", "an", "one"):
        return parse_duration(f"1 {words[1]}")
    return parse_duration(text)


def _ratio_pair(a: str, b: str) -> Fraction:
    return parse_ratio(f"{a}:{b}", "read:write ratio")


@dataclass(frozen=True)
class _Pattern:
    name: str
    regex: re.Pattern[str]
    value: object  # callable on the match → Fraction (or None to skip the match)


def _p(name: str, pattern: str, value: object = None) -> _Pattern:
    return _Pattern(name, re.compile(pattern, re.IGNORECASE), value)


def _count(match: re.Match[str]) -> Fraction:
    return parse_count(match["q"])


def _noun_kind(words: str) -> str:
    """What an "N <words> a day" counts: `write`, `request` (reads + writes), or `other` (reads, bytes, users)."""
    if _READ_NOUNS.search(words) or _SIZE_NOUNS.search(words) or _USER_NOUNS.search(words):
        return "other"
    return "request" if _REQUEST_NOUNS.search(words) else "write"


def _writes_per_user(match: re.Match[str]) -> Fraction | tuple[str, None]:
    """`20 posts per user per day`, `each user sends 40 messages a day`. Reads or requests per user are not
    writes: the phrase is blocked (no later pattern reads it as a total) and listed as not understood."""
    words = match["nouns"] if "nouns" in match.re.groupindex else match.group()
    kind = _noun_kind(_USER_NOUNS.sub(" ", words or ""))  # "each user sends…": the user is not the noun counted
    return parse_count(match["q"]) if kind == "write" else ("blocked", None)


@dataclass(frozen=True)
class _PerDay:
    """An "N things a day" whose reading (per user or in total) waits for the DAU; see PER_USER_MAX."""

    kind: str  # write or request
    value: Fraction
    total: bool  # said in total ("10B messages a day in total")


def _per_day(match: re.Match[str]) -> tuple[str, _PerDay] | None:
    """`10B messages/day` → writes; `1B requests a day` → reads + writes; `1B views/day` is neither."""
    kind = _noun_kind(match["nouns"] or "")
    if kind == "other":
        return None
    total = bool(match["pre"] or match["total"] or re.search(r"\b(?:total|overall)\b", match["nouns"] or "", re.I))
    return "per_day", _PerDay(kind, parse_count(match["q"]), total)


def _share(match: re.Match[str]) -> Fraction:
    share = parse_ratio(f"{match['q']}%")
    if share > 1:
        raise UsageError(f"share: {match['q']}% is more than all the users", "write it like 10%")
    return share


@functools.cache
def _patterns() -> list[_Pattern]:
    """Compiled on first use: `sdx estimate --reference` and other commands need none of them."""
    return [
        # requests per second one server handles
        _p("server_qps", rf"{_COUNT}\s*{_PER_SECOND}\s*(?:per|/|on\s+(?:a|one|each))\s*{_SERVER}", _count),
        _p("server_qps", rf"\b{_SERVER}{_GAP}{_COUNT}\s*{_PER_SECOND}", _count),
        # requests or writes per second at peak (before the averages below)
        _p("peak_write_qps", rf"{_COUNT}\s*{_WRITES_PER_SECOND}\s*{_AT_PEAK}", _count),
        _p("peak_write_qps", rf"{_COUNT}\s*peak\s*{_WRITES_PER_SECOND}", _count),
        _p("peak_write_qps", rf"{_PEAK_LEAD}{_COUNT}\s*{_WRITES_PER_SECOND}", _count),
        _p("peak_total_qps", rf"{_COUNT}\s*{_PER_SECOND}\s*{_AT_PEAK}", _count),
        _p("peak_total_qps", rf"{_COUNT}\s*peak\s*{_PER_SECOND}", _count),
        _p("peak_total_qps", rf"{_PEAK_LEAD}{_COUNT}\s*{_PER_SECOND}", _count),
        _p("peak_total_qps", rf"\bpeak\s*(?:qps|rps)\s*(?:of|=|:|is|at|around|about|~|\s)*{_COUNT}", _count),
        # writes per user per day: "20 posts per user per day", "20 writes/user/day", "20 tweets per day each"
        _p("writes_per_user", rf"{_COUNT}\s*{_NOUNS}{_PER_USER}\s*{_DAY}", _writes_per_user),
        _p("writes_per_user", rf"{_COUNT}\s*{_NOUNS}{_DAY}\s*{_PER_USER}", _writes_per_user),
        _p(
            "writes_per_user",
            rf"\b(?:each|every|a|an|per|the average)\s+{_USER}{_GAP}{_COUNT}\s+{_WORDS}"
            rf"(?:{_PER}\s*day\b|daily\b)",
            _writes_per_user,
        ),
        # a share of the users active daily ("1B users, 10% daily active"): DAU = users × share
        _p(
            "dau_share",
            rf"(?P<q>{_FIGURE})\s*%\s*(?:of\s+(?:them|users|those|all\s+users|the\s+users|mau)\s+)?(?:are\s+)?"
            r"(?:daily\s+active|active\s+daily|dau\b|daily\s+users\b|use\s+it\s+daily\b)",
            _share,
        ),
        _p(
            "dau_share",
            rf"\b(?:dau|daily\s+active\s+users)\s*(?:is|are|=|:|of|~|about|around|\s)*(?P<q>{_FIGURE})\s*%",
            _share,
        ),
        # daily active users
        _p(
            "dau",
            rf"{_COUNT}\s*(?:dau\b|daily\s+active\s+users\b|daily\s+users\b|active\s+users\s+{_PER}\s+day\b)",
            _count,
        ),
        _p("dau", rf"\b(?:dau|daily active users)\s*(?:of|=|:|is|are|at|around|about|~|\s)*{_COUNT}", _count),
        _p(
            "users",
            rf"{_COUNT}\s*(?:(?:total|registered|monthly\s+active|active)\s+)?(?:users|accounts|members|subscribers"
            r"|customers)\b|(?:" + _COUNT.replace("?P<q>", "?P<q2>") + r")\s*(?:mau\b|monthly\s+active\s+users\b)",
            lambda m: parse_count(m["q"] or m["q2"]),
        ),
        # write rates per second, and total requests per second
        _p(
            "writes_per_day",
            rf"{_COUNT}\s*(?:writes?|posts?|messages?|uploads?|inserts?|events?)\s*(?:/|per)\s*"
            r"s(?:ec(?:ond)?)?\b",
            lambda m: parse_count(m["q"]) * SECONDS_PER_DAY,
        ),
        _p("writes_per_day", rf"{_COUNT}\s*writes?\s*{_PER_SECOND}", lambda m: parse_count(m["q"]) * SECONDS_PER_DAY),
        _p("total_qps", rf"{_COUNT}\s*{_PER_SECOND}", _count),
        _p("total_qps", rf"\b(?:qps|rps)\s*(?:of|=|:|is|at|around|about|~|\s)*{_COUNT}", _count),
        # writes (or requests) per day: per user or in total (decided once the DAU is known)
        _p(
            "per_day",
            rf"(?P<pre>\b(?:a\s+)?total\s+(?:of\s+)?)?{_COUNT}\s*{_NOUNS}{_DAY}(?P<total>\s*{_TOTAL})?",
            _per_day,
        ),
        # read:write ratio
        _p(
            "read_ratio",
            r"\bread\s*[:/-]?\s*write(?:\s+ratio)?\s*(?:of|=|:|is|~|about|\s)*"
            rf"(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})",
            lambda m: _ratio_pair(m["a"], m["b"]),
        ),
        _p(
            "read_ratio",
            r"\bwrite\s*[:/-]?\s*read(?:\s+ratio)?\s*(?:of|=|:|is|~|about|\s)*"
            rf"(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})",
            lambda m: _ratio_pair(m["b"], m["a"]),
        ),
        _p(
            "read_ratio",
            rf"(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})\s*(?:read\s*[:/-]?\s*write|reads?\s+to\s+writes?)",
            lambda m: _ratio_pair(m["a"], m["b"]),
        ),
        _p(
            "read_ratio",
            rf"\bread[- ]heavy\s*(?:,|\(|at|of|:|\s)*(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})",
            lambda m: _ratio_pair(m["a"], m["b"]),
        ),
        _p(
            "read_ratio",
            rf"{_NUM}\s*(?:reads?|views?|lookups?)\s*(?:per|for\s+(?:each|every)|/|to\s+(?:one|1|each|every))"
            r"\s*(?:writes?|posts?|messages?|uploads?)\b",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "read_ratio",
            rf"{_NUM}\s*(?:x|×|times)?\s*(?:more\s+)?reads\s+than\s+writes\b",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "read_ratio",
            rf"\bread(?:[-: /]*write)?\s+ratio\s*(?:of|=|:|is|\s)*{_NUM}\b(?!\s*:)",
            lambda m: parse_ratio(m["q"]),
        ),
        # peak-to-average
        _p("peak", rf"\bpeak\b{_GAP}{_NUM}\s*(?:x|×|times)(?![a-z])", lambda m: parse_ratio(m["q"])),
        _p(
            "peak",
            rf"{_NUM}\s*(?:x|×|times)\s*(?:the\s+)?(?:average\s+)?(?:at\s+)?peak\b",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "peak",
            rf"\bpeak(?:[- ]to[- ]average)?\s*(?:factor|multiplier|ratio)\s*(?:of|=|:|is|\s)*{_NUM}",
            lambda m: parse_ratio(m["q"]),
        ),
        # replication
        _p(
            "replication",
            rf"{_NUM}\s*(?:replicas\b|copies\b|[- ]?(?:way|x|fold)\s+replicat\w*|[- ]replicated\b)",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "replication",
            rf"\breplicat\w*\s*(?:factor)?\s*(?:of|=|:|is|to|\s)*{_NUM}(?:\s*(?:x|×|times|ways?)\b)?",
            lambda m: parse_ratio(m["q"]),
        ),
        # cached share of the reads
        _p("cache_ratio", rf"\bcach\w*\b{_GAP}(?P<q>{_FIGURE})\s*%", lambda m: parse_ratio(f"{m['q']}%")),
        _p(
            "cache_ratio",
            rf"(?P<q>{_FIGURE})\s*%\s*(?:of\s+)?{_WORDS}(?:cached|in\s+(?:the\s+)?cache)\b",
            lambda m: parse_ratio(f"{m['q']}%"),
        ),
        # size per write
        _p("size_bytes", rf"{_SIZE}\s*(?:per\b|/|each\b|an?\s)", lambda m: parse_size(m["q"])),
        _p(
            "size_bytes", rf"\b(?:each|every|per|average|avg|typical|mean)\b{_GAP}{_SIZE}", lambda m: parse_size(m["q"])
        ),
        _p("size_bytes", rf"\bsize\s*(?:is|of|=|:|~|about|around|\s)*{_SIZE}", lambda m: parse_size(m["q"])),
        _p(
            "size_bytes",
            rf"{_SIZE}\s+(?:messages?|records?|objects?|rows?|entries|items?|posts?|events?|payloads?)\b",
            lambda m: parse_size(m["q"]),
        ),
        # retention
        _p(
            "retention_days",
            rf"\b(?:keep|kept|keeping|retain|retained|retaining|retention|store|stored|storing|persist\w*)"
            rf"\b{_GAP}{_DURATION}",
            lambda m: _days_of(m["q"]),
        ),
        _p(
            "retention_days",
            rf"{_DURATION}\s+(?:of\s+)?(?:retention|history|data|storage)\b",
            lambda m: _days_of(m["q"]),
        ),
    ]


_FIGURE_IN_TEXT = re.compile(r"\d")
_CLAUSE_BREAK = re.compile(r"[;\n]|,(?!\d{3}(?!\d))|\.(?!\d)")


@dataclass(frozen=True)
class TextParse:
    stated: dict[str, Stated]
    not_understood: tuple[str, ...]


def parse_text(text: str, dau: Fraction | None = None) -> TextParse:
    """The figures stated in free text, and the clauses with figures that were not understood (never guessed).

    `dau`: a DAU stated outside the text (`--dau`), which decides how "N things a day" reads as it would in it.
    A figure stated twice with different values is a usage error naming both phrases.
    """
    text = _squeeze_spaces(text)
    if negative := _NEGATIVE_FIGURE.search(text):  # the patterns read digits only: "-5 replicas" would become 5
        raise UsageError(f"{negative.group()!r}: a quantity must be more than zero", "state it without a minus sign")
    taken = bytearray(len(text))  # 1 where a pattern took the character
    found: list[tuple[int, str, Stated]] = []
    pending: list[tuple[int, int, str, object]] = []  # start, end, name, value: resolved once all is read
    for pattern in _patterns():
        for match in pattern.regex.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            try:
                outcome = pattern.value(match)  # type: ignore[operator]
            except UsageError as exc:  # name the phrase, not the parser: "'0 DAU': '0' must be more than zero"
                raise UsageError(f"{match.group().strip()!r}: {exc.what.partition(': ')[2]}", exc.fix) from None
            if outcome is None:
                continue
            name, value = outcome if isinstance(outcome, tuple) else (pattern.name, outcome)
            taken[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
            if name in _PENDING:
                pending.append((match.start(), match.end(), name, value))
            else:
                found.append((match.start(), name, Stated(value, repr(match.group().strip()))))
    found.sort(key=lambda item: item[0])
    stated = merge(*({name: item} for _, name, item in found))
    found += _resolve(text, pending, stated, dau, taken)
    found.sort(key=lambda item: item[0])
    stated = merge(*({name: item} for _, name, item in found))
    return TextParse(stated, _leftovers(text, taken))


_PENDING = ("per_day", "users", "dau_share", "blocked")
# a minus sign stuck to a figure ("-5 replicas", "(-20 KB"), not a range ("5-10") nor a list's dash ("- 50M DAU")
_NEGATIVE_FIGURE = re.compile(r"(?<![\w.])[-−]\d[\d,.]*(?:\s?[a-z%]+)?", re.IGNORECASE)


def _resolve(
    text: str,
    pending: list[tuple[int, int, str, object]],
    stated: dict[str, Stated],
    dau: Fraction | None,
    taken: bytearray,
) -> list[tuple[int, str, Stated]]:
    """The figures that depend on others: DAU = users × a daily-active share, then each "N things a day" read
    per user or in total (see PER_USER_MAX). What cannot be decided is given back to the not-understood list."""

    def phrase(start: int, end: int) -> str:
        return repr(text[start:end].strip())

    def untake(start: int, end: int) -> None:
        taken[start:end] = bytes(end - start)

    resolved: list[tuple[int, str, Stated]] = []
    users = [(start, end, value) for start, end, name, value in pending if name == "users"]
    shares = [(start, end, value) for start, end, name, value in pending if name == "dau_share"]
    population = dau if dau is not None else stated["dau"].value if "dau" in stated else None
    if len({value for *_, value in users}) == 1 and len({value for *_, value in shares}) == 1:
        (u_start, u_end, total_users), (s_start, s_end, share) = users[0], shares[0]
        assert isinstance(total_users, Fraction) and isinstance(share, Fraction)
        origin = f"{phrase(u_start, u_end)} × {phrase(s_start, s_end)}"
        derived = Stated(total_users * share, origin, f"DAU {format_number(total_users * share)} = {origin}")
        resolved.append((min(u_start, s_start), "dau", derived))
        population = population if population is not None else derived.value
    else:
        for start, end, *_ in users + shares:
            untake(start, end)
        if population is None and users:  # not a DAU, but it says a day's count may be per user
            population = min(value for *_, value in users)  # type: ignore[type-var]
    for start, end, name, value in pending:
        if name == "blocked":
            untake(start, end)
        if name != "per_day":
            continue
        assert isinstance(value, _PerDay)
        reading = "total" if value.total or population is None else _reading(value.value, population)
        origin = phrase(start, end)
        if reading == "total" and value.kind == "write":
            resolved.append((start, "writes_per_day", Stated(value.value, origin)))
        elif reading == "total":
            resolved.append((start, "total_qps", Stated(value.value / SECONDS_PER_DAY, origin)))
        elif reading == "per_user" and value.kind == "write":
            note = (
                f"{origin} read per user a day: at most {PER_USER_MAX:,}, and as a total it would be under one a day"
                f" per 1,000 of the {format_number(population)} users stated"
            )
            resolved.append((start, "writes_per_user", Stated(value.value, origin, note)))
        else:
            untake(start, end)
    return resolved


def _reading(count: Fraction, population: Fraction) -> str | None:
    """`per_user`, `total`, or None (ambiguous) for "N things a day" beside a DAU: see PER_USER_MAX."""
    per_user = count <= PER_USER_MAX
    total = count >= population * TOTAL_MIN_SHARE
    if per_user and not total:
        return "per_user"
    if total and not per_user:
        return "total"
    return None


def _squeeze_spaces(text: str) -> str:
    """Runs of spaces become one (a line break stays one line break): no pattern then meets a long run of
    whitespace, where adjacent optional spaces (`\\s*(?:of)?\\s*`) would backtrack in quadratic time."""
    return _LINE_BREAKS.sub("\n", _SPACES.sub(" ", text))


_SPACES = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r" ?\n\s*")  # after _SPACES: linear, it starts at the one space or the break


def _leftovers(text: str, taken: bytearray) -> tuple[str, ...]:
    """The clauses holding a figure that no pattern took (in one pass: contexts can be long)."""
    clauses: dict[str, None] = {}
    start = 0
    for end in [*(m.end() for m in _CLAUSE_BREAK.finditer(text)), len(text)]:
        for figure in _FIGURE_IN_TEXT.finditer(text, start, end):
            if not taken[figure.start()]:
                clause = text[start:end].strip(" \t\n,;.")
                clauses.setdefault(clause if len(clause) <= 80 else f"{clause[:79]}…")
                break
        start = end
    return tuple(clauses)


def estimate_from_text(text: str) -> Estimate | None:
    """The estimate for a question and its context, or None when no write rate can be known from them.

    Never raises: an `ask` must not fail because of its context (contradictions and bad figures give None).
    """
    try:
        parsed = parse_text(text)
        if not parsed.stated:
            return None
        return compute(parsed.stated, parsed.not_understood)
    except UsageError:
        return None
