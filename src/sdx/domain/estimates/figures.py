"""The model of figures: what was stated, the defaults, and every figure computed exactly from them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction

from sdx.domain.estimates.formatting import (
    format_byte_rate,
    format_bytes,
    format_count,
    format_days,
    format_exact_bytes,
    format_number,
    format_rate,
    json_number,
)
from sdx.domain.estimates.units import CONVENTIONS, SECONDS_PER_DAY
from sdx.errors import UsageError

DEFAULTS: dict[str, Fraction] = {
    "read_ratio": Fraction(1),
    "peak": Fraction(2),
    "replication": Fraction(3),
    "cache_ratio": Fraction(1, 5),
}


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

    result: dict[str, object] = {name: json_number(getattr(estimate, name)) for name in FIGURES}
    result["inputs"] = {name: json_number(getattr(estimate.inputs, name)) for name in INPUT_NAMES}
    result["assumptions"] = {name: json_number(value) for name, value in estimate.assumptions.items()}
    result["units"] = CONVENTIONS
    result["not_understood"] = list(estimate.not_understood)
    result["notes"] = list(estimate.notes)
    return result
