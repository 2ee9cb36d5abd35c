"""Formatting figures for people (rounding happens here and only here), shared with the reference tables."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from sdx.domain.estimates.units import DECIMAL_PREFIXES


def round_significant(value: Fraction, digits: int = 3) -> Decimal:
    """`value` rounded half-even to `digits` significant digits, exactly (no float on the way)."""
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        if exact == 0:
            return Decimal(0)
        return exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), rounding=ROUND_HALF_EVEN)


def plain_decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _scaled(value: Fraction, units: list[tuple[int, str]], digits: int = 3) -> tuple[str, str]:
    """The value in the largest unit in which it rounds to at least 1 (units from largest to smallest)."""
    for size, name in units:
        rounded = round_significant(value / size, digits)
        if rounded >= 1 or size == units[-1][0]:
            return plain_decimal(rounded), name
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
        return f"{plain_decimal(round_significant(value))} bytes"
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
        return plain_decimal(round_significant(value, 3))
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
                number = plain_decimal(Decimal(scaled.numerator) / Decimal(scaled.denominator))
                candidates.append(f"{number} {DECIMAL_PREFIXES[power - 1].upper()}{suffix}")
    return min(candidates, key=len) if candidates else format_bytes(value)


def format_significant(value: Fraction, digits: int = 3) -> str:
    """`value` to `digits` significant digits, without exponent or trailing zeros: `52.6`, `8.64`, `0.5`."""
    return plain_decimal(round_significant(value, digits))


def format_duration(seconds: Fraction) -> str:
    """3 significant digits in the largest unit that reads well: `52.6 min`, `8.76 h`, `8.64 s`, `86.4 ms`."""
    for size, unit in ((86_400, "d"), (3600, "h"), (60, "min"), (1, "s"), (Fraction(1, 1000), "ms")):
        if seconds >= size or unit == "ms":
            return f"{format_significant(seconds / size)} {unit}"
    raise AssertionError("unreachable")


def format_latency(nanoseconds: Fraction) -> str:
    """`0.5 ns`, `3 µs`, `150 ms`."""
    for size, unit in ((10**6, "ms"), (10**3, "µs")):
        if nanoseconds >= size:
            return f"{format_significant(nanoseconds / size)} {unit}"
    return f"{format_significant(nanoseconds)} ns"


def json_number(value: Fraction | int | None) -> int | float | None:
    """A figure for `--json`: an integer when it is whole, else the nearest float; None stays null."""
    if value is None or isinstance(value, int):
        return value
    return value.numerator if value.denominator == 1 else float(value)
