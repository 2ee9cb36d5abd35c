"""The model of figures: what was stated, the defaults, and every figure computed exactly from them.

A figure is computed only from what was stated and the documented defaults (read ratio 1, peak 2×, 3 copies,
cache 20% of a day's reads). A default is not applied where the text stated that figure in a clause sdx could not
read (`blocked`): the figures resting on it are left out, and a note says which clause.
"""

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
from sdx.domain.estimates.units import CONVENTIONS, DAYS_PER_MONTH, SECONDS_PER_DAY
from sdx.errors import UsageError

DEFAULTS: dict[str, Fraction] = {
    "read_ratio": Fraction(1),
    "peak": Fraction(2),
    "replication": Fraction(3),
    "cache_ratio": Fraction(1, 5),
}


@dataclass(frozen=True)
class Convention:
    """Seconds in a day and in a month: exact (86,400 and 30 days), or the books' shortcuts (--shortcuts)."""

    name: str
    seconds_per_day: int
    seconds_per_month: int
    units: str


EXACT = Convention("exact", SECONDS_PER_DAY, SECONDS_PER_DAY * DAYS_PER_MONTH, CONVENTIONS)
SHORTCUTS = Convention(
    "shortcuts",
    100_000,
    2_500_000,
    "shortcuts: a day = 10^5 s (Xu), a month = 2.5 M s (system-design-primer); 1 KB = 1,000 bytes, a year = 365"
    " days, a month = 30 days for retention",
)


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
    reads_per_user: Fraction | None = None  # reads per user per day ("users watch 5 videos per day")
    reads_per_day: Fraction | None = None  # reads a day in total ("100 million paste reads per month" / 30)
    cache_data_ratio: Fraction | None = None  # cached share of the stored data ("cache 20% of the data")
    memory_bytes: Fraction | None = None  # memory per machine ("each machine has 64 GB RAM")
    disk_bytes: Fraction | None = None  # disk per machine ("10 TB of disk per server")


INPUT_NAMES = tuple(f.name for f in fields(Inputs))


@dataclass(frozen=True)
class Stated:
    """One stated input: its value and where it came from (`--dau 50M`, `'50M DAU'`), for error messages."""

    value: Fraction
    origin: str
    note: str = ""  # how it was derived, when it was ("DAU 100 M = '1B users' × '10% daily active'")


@dataclass(frozen=True)
class Reading:
    """One clause of free text read completely, and how: `'5M DAU'` → `DAU 5 M`."""

    clause: str
    reading: str
    inputs: tuple[str, ...]  # the inputs it set ("dau"), empty when it only informs another ("1B users")


@dataclass(frozen=True)
class Estimate:
    """The figures (None where an input they need was not stated) and what they were computed from."""

    inputs: Inputs  # with defaults applied
    assumptions: dict[str, Fraction]  # the defaults that were applied
    writes_per_day: Fraction | None
    write_qps: Fraction | None
    write_qps_peak: Fraction | None
    read_qps: Fraction | None
    read_qps_peak: Fraction | None
    storage_per_day_bytes: Fraction | None
    storage_total_bytes: Fraction | None
    ingress_bytes_per_s: Fraction | None
    egress_bytes_per_s: Fraction | None
    cache_bytes: Fraction | None
    servers: int | None
    not_understood: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # how a figure was read or derived, and stated figures left unused
    reads_per_day: Fraction | None = None
    writes_per_month: Fraction | None = None
    reads_per_month: Fraction | None = None
    storage_per_month_bytes: Fraction | None = None
    records_total: Fraction | None = None
    key_length_base62: int | None = None
    ingress_bits_per_s: Fraction | None = None
    egress_bits_per_s: Fraction | None = None
    cache_working_set_bytes: Fraction | None = None
    cache_machines: int | None = None
    storage_machines: int | None = None
    readings: tuple[Reading, ...] = field(default=())
    convention: Convention = EXACT
    reasons: dict[str, str] = field(default_factory=dict)  # why each clause not understood was not


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
NEW_FIGURES = (
    "reads_per_day",
    "writes_per_month",
    "reads_per_month",
    "storage_per_month_bytes",
    "records_total",
    "key_length_base62",
    "ingress_bits_per_s",
    "egress_bits_per_s",
    "cache_working_set_bytes",
    "cache_machines",
    "storage_machines",
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
_READ_INPUTS = ("reads_per_user", "reads_per_day")


def _refuse_contradictory_rates(stated: dict[str, Stated]) -> None:
    """Writes per user, writes per day and a total QPS each fix the write rate: only one may be given."""
    for group, what in ((_RATE_INPUTS, "write"), (_READ_INPUTS, "read")):
        per_user, per_day = f"{what}s_per_user", f"{what}s_per_day"
        agree = "dau" in stated and per_user in stated and per_day in stated
        if agree and stated["dau"].value * stated[per_user].value == stated[per_day].value:
            group = tuple(name for name in group if name != per_day)  # "…, this gives 20 billion messages a day"
        rates = [stated[name].origin for name in group if name in stated]
        if len(rates) > 1:
            raise UsageError(
                f"contradictory figures: {' and '.join(rates)} both set the {what} rate",
                "give writes per user (--writes, with --dau) or writes per day in total (--writes-per-day), not both",
            )
    totals = [stated[name].origin for name in ("total_qps", "peak_total_qps") if name in stated]
    reads = [stated[name].origin for name in _READ_INPUTS if name in stated]
    if totals and reads:
        raise UsageError(
            f"contradictory figures: {totals[0]} (reads + writes) and {reads[0]} both set the read rate",
            "give the total rate with a read:write ratio, or the reads and the writes",
        )


def _check_ranges(inputs: Inputs, stated: dict[str, Stated]) -> None:
    """`inputs` holds only what was stated (no defaults yet), so each figure checked has its origin in `stated`."""

    def origin(name: str) -> str:
        return stated[name].origin

    if inputs.peak is not None and inputs.peak < 1:
        raise UsageError(f"{origin('peak')}: the peak-to-average factor cannot be below 1", "write it like 2 or 3x")
    shares = {"cache_ratio": "the cached share of a day's reads", "cache_data_ratio": "the cached share of the data"}
    for name, what in shares.items():
        if getattr(inputs, name) is not None and getattr(inputs, name) > 1:
            raise UsageError(f"{origin(name)}: {what} cannot exceed 1", "write it like 0.2 or 20%")
    if inputs.replication is not None and inputs.replication < 1:
        raise UsageError(f"{origin('replication')}: fewer than one copy of the data", "write it like 1 or 3")


def inputs_from(stated: dict[str, Stated]) -> Inputs:
    return Inputs(**{name: item.value for name, item in stated.items()})


@dataclass(frozen=True)
class _Rates:
    writes_per_day: Fraction | None
    reads_per_day: Fraction | None
    left_out: tuple[str, ...]


def compute(
    stated: dict[str, Stated],
    not_understood: tuple[str, ...] = (),
    *,
    convention: Convention = EXACT,
    readings: tuple[Reading, ...] = (),
    blocked: dict[str, str] | None = None,
) -> Estimate:
    """Every figure, exactly; a usage error when neither the write nor the read rate can be known.

    `blocked`: defaults not to apply, each with the clause that stated it unreadably.
    """
    blocked = blocked or {}
    given = inputs_from(stated)
    _check_ranges(given, stated)
    assumptions = {
        name: value for name, value in DEFAULTS.items() if getattr(given, name) is None and name not in blocked
    }
    if given.reads_per_user is not None or given.reads_per_day is not None:
        assumptions.pop("read_ratio", None)  # reads are stated: no ratio is needed, none is assumed
    inputs = replace(given, **assumptions)
    rates = _rates(inputs, stated, convention, blocked)
    day, month = convention.seconds_per_day, convention.seconds_per_month
    writes, reads = rates.writes_per_day, rates.reads_per_day
    peak, size = inputs.peak, inputs.size_bytes
    write_qps = None if writes is None else writes / day
    read_qps = None if reads is None else reads / day
    storage_per_day = _times(writes, size)
    records = _times(writes, inputs.retention_days)
    one_copy = _times(storage_per_day, inputs.retention_days)
    storage_total = _times(one_copy, inputs.replication)
    cache = None if read_qps is None or size is None else _times(inputs.cache_ratio, read_qps * day * size)
    working_set = _times(inputs.cache_data_ratio, one_copy)
    peaks = (_times(write_qps, peak), _times(read_qps, peak))
    servers = None
    if inputs.server_qps is not None and None not in peaks:
        servers = math.ceil((peaks[0] + peaks[1]) / inputs.server_qps)  # type: ignore[operator]
    in_memory = working_set if working_set is not None else cache
    estimate = Estimate(
        inputs=inputs,
        assumptions=assumptions,
        writes_per_day=writes,
        write_qps=write_qps,
        write_qps_peak=peaks[0],
        read_qps=read_qps,
        read_qps_peak=peaks[1],
        storage_per_day_bytes=storage_per_day,
        storage_total_bytes=storage_total,
        ingress_bytes_per_s=_times(write_qps, size),
        egress_bytes_per_s=_times(read_qps, size),
        cache_bytes=cache,
        servers=servers,
        not_understood=not_understood,
        notes=(*_notes(stated, writes), *rates.left_out, *_left_out_by_blocked(inputs, blocked)),
        reads_per_day=reads,
        writes_per_month=_times(write_qps, month),
        reads_per_month=_times(read_qps, month),
        storage_per_month_bytes=_times(_times(write_qps, month), size),
        records_total=records,
        key_length_base62=None if records is None else key_length(records),
        ingress_bits_per_s=_times(_times(write_qps, size), 8),
        egress_bits_per_s=_times(_times(read_qps, size), 8),
        cache_working_set_bytes=working_set,
        cache_machines=_machines(in_memory, inputs.memory_bytes),
        storage_machines=_machines(storage_total, inputs.disk_bytes),
        readings=readings,
        convention=convention,
    )
    return estimate


def _times(a: Fraction | int | None, b: Fraction | int | None) -> Fraction | None:
    return None if a is None or b is None else Fraction(a) * b


def _machines(total: Fraction | None, per_machine: Fraction | None) -> int | None:
    return None if total is None or per_machine is None else max(1, math.ceil(total / per_machine))


def key_length(records: Fraction) -> int:
    """The fewest base-62 characters that give every record its own key: 62^k ≥ records."""
    length = 1
    while 62**length < records:
        length += 1
    return length


def _rates(inputs: Inputs, stated: dict[str, Stated], convention: Convention, blocked: dict[str, str]) -> _Rates:
    """Writes and reads a day from whichever rates were stated (and the ratio between them)."""
    day = convention.seconds_per_day
    left_out: list[str] = []
    writes = _writes_per_day(inputs, day)
    reads = inputs.reads_per_day
    if reads is None and inputs.reads_per_user is not None:
        if inputs.dau is None:
            raise UsageError("reads per user need the number of users", "add --dau (e.g. --dau 50M)")
        reads = inputs.dau * inputs.reads_per_user
    ratio = inputs.read_ratio
    if reads is not None and writes is not None and "read_ratio" in stated and reads != writes * ratio:
        raise UsageError(
            f"contradictory figures: {stated['read_ratio'].origin} but the reads and writes stated give"
            f" {format_number(reads / writes)} reads per write",
            "state the rates or the ratio, not both",
        )
    if writes is None and reads is not None and "read_ratio" in stated:
        writes = reads / stated["read_ratio"].value
    if reads is None and writes is not None and ratio is not None:
        reads = writes * ratio
    if writes is None and reads is None:
        for name in ("read_ratio", "peak"):
            if name in blocked and (inputs.total_qps or inputs.peak_total_qps or inputs.peak_write_qps):
                raise UsageError(
                    f"the write rate rests on {blocked[name]}, which sdx did not understand",
                    "state it as a figure sdx reads: 'read:write 10:1', 'peak 3x'",
                )
        if inputs.writes_per_user is not None:
            raise UsageError("writes per user need the number of users", "add --dau (e.g. --dau 50M)")
        raise UsageError(
            "nothing to estimate: the write rate is unknown",
            "give --dau with --writes (writes per user per day), or --writes-per-day",
        )
    if writes is None:
        left_out.append("writes left out: no write rate or read:write ratio was stated")
    if reads is None and "read_ratio" in blocked:
        left_out.append(f"reads left out: {blocked['read_ratio']} was not understood (no default 1:1 stands in)")
    return _Rates(writes, reads, tuple(left_out))


def _writes_per_day(inputs: Inputs, day: int) -> Fraction | None:
    """Writes a day from whichever rate was stated; a rate stated at peak is divided by the peak factor."""
    ratio, peak = inputs.read_ratio, inputs.peak
    if inputs.writes_per_day is not None:
        return inputs.writes_per_day
    if inputs.total_qps is not None:
        return None if ratio is None else inputs.total_qps / (1 + ratio) * day
    if inputs.peak_total_qps is not None:
        return None if ratio is None or peak is None else inputs.peak_total_qps / peak / (1 + ratio) * day
    if inputs.peak_write_qps is not None:
        return None if peak is None else inputs.peak_write_qps / peak * day
    if inputs.writes_per_user is not None and inputs.dau is not None:
        return inputs.dau * inputs.writes_per_user
    return None


def _notes(stated: dict[str, Stated], writes_per_day: Fraction | None) -> tuple[str, ...]:
    """How derived figures were derived, and a stated DAU that the write rate does not use (never silently)."""
    notes = [item.note for item in stated.values() if item.note]
    uses_dau = ("writes_per_user", "reads_per_user")
    if "dau" in stated and not any(name in stated for name in uses_dau) and writes_per_day is not None:
        dau = stated["dau"].value
        source = next((stated[name].origin for name in _RATE_INPUTS if name in stated), None)
        if source is not None:
            notes.append(
                f"DAU {format_number(dau)} not used: the write rate comes from {source}"
                f" (that is {format_number(writes_per_day / dau)} writes per user a day)"
            )
    return tuple(notes)


_BLOCKED_FIGURES = {
    "peak": "peak figures and servers",
    "replication": "total storage and storage machines",
    "cache_ratio": "the cache",
}


def _left_out_by_blocked(inputs: Inputs, blocked: dict[str, str]) -> list[str]:
    return [
        f"{what} left out: {blocked[name]} was not understood (no default stands in)"
        for name, what in _BLOCKED_FIGURES.items()
        if name in blocked and getattr(inputs, name) is None
    ]


# ---------------------------------------------------------------------------------------------------------------
# Rows: each figure in human units with its formula, numbers put in (for the table, the plain text, the model)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: str  # human units, rounded
    formula: str  # the arithmetic with the numbers put in
    assumes: tuple[str, ...] = ()  # the defaults it rests on (read_ratio, peak, replication, cache_ratio)


def rows(estimate: Estimate) -> list[Row]:
    """The figures that could be computed, in reading order."""
    e, i = estimate, estimate.inputs
    n = format_number
    size = format_exact_bytes(i.size_bytes) if i.size_bytes is not None else ""
    day = f"{n(Fraction(e.convention.seconds_per_day))} s"
    month = f"{n(Fraction(e.convention.seconds_per_month))} s"
    rate_assumes = _rate_assumptions(e)
    table: list[Row] = []
    if e.writes_per_day is not None and e.write_qps is not None:
        table += [
            Row(
                "writes_per_day",
                "writes per day",
                f"{format_count(e.writes_per_day)}/day",
                _writes_formula(e),
                rate_assumes["write"],
            ),
            Row(
                "write_qps",
                "writes/s (average)",
                format_rate(e.write_qps),
                f"{n(e.writes_per_day)} ÷ {day}",
                rate_assumes["write"],
            ),
        ]
        if e.write_qps_peak is not None:
            table.append(
                Row(
                    "write_qps_peak",
                    "writes/s (peak)",
                    format_rate(e.write_qps_peak),
                    f"{n(e.write_qps)} × {n(i.peak)} peak",
                    _with(rate_assumes["write"], e, "peak"),
                )
            )
    if e.read_qps is not None and e.reads_per_day is not None:
        read_formula = _reads_formula(e, day)
        table.append(Row("read_qps", "reads/s (average)", format_rate(e.read_qps), read_formula, rate_assumes["read"]))
        if e.read_qps_peak is not None:
            table.append(
                Row(
                    "read_qps_peak",
                    "reads/s (peak)",
                    format_rate(e.read_qps_peak),
                    f"{n(e.read_qps)} × {n(i.peak)} peak",
                    _with(rate_assumes["read"], e, "peak"),
                )
            )
    table += _monthly_rows(e, month, rate_assumes)
    table += _storage_rows(e, size, rate_assumes["write"])
    table += _bandwidth_rows(e, size, rate_assumes)
    table += _cache_and_machine_rows(e, size, day, rate_assumes["read"])
    return table


def _with(assumes: tuple[str, ...], estimate: Estimate, name: str) -> tuple[str, ...]:
    return (*assumes, name) if name in estimate.assumptions and name not in assumes else assumes


def _rate_assumptions(e: Estimate) -> dict[str, tuple[str, ...]]:
    """The defaults the write and the read rates rest on: a total or peak rate split by an assumed ratio or peak."""
    i, assumed = e.inputs, e.assumptions
    write: list[str] = []
    if i.writes_per_day is None and (i.total_qps is not None or i.peak_total_qps is not None):
        write += [name for name in ("read_ratio",) if name in assumed]
    if i.writes_per_day is None and (i.peak_total_qps is not None or i.peak_write_qps is not None):
        write += [name for name in ("peak",) if name in assumed]
    read = list(write)
    if i.reads_per_day is None and i.reads_per_user is None and "read_ratio" in assumed and "read_ratio" not in read:
        read.append("read_ratio")
    return {"write": tuple(write), "read": tuple(read)}


def _monthly_rows(e: Estimate, month: str, assumes: dict[str, tuple[str, ...]]) -> list[Row]:
    n = format_number
    table = []
    if e.writes_per_month is not None and e.write_qps is not None:
        table.append(
            Row(
                "writes_per_month",
                "writes per month",
                f"{format_count(e.writes_per_month)}/month",
                f"{n(e.write_qps)}/s × {month}",
                assumes["write"],
            )
        )
    if e.reads_per_month is not None and e.read_qps is not None:
        table.append(
            Row(
                "reads_per_month",
                "reads per month",
                f"{format_count(e.reads_per_month)}/month",
                f"{n(e.read_qps)}/s × {month}",
                assumes["read"],
            )
        )
    return table


def _storage_rows(e: Estimate, size: str, assumes: tuple[str, ...]) -> list[Row]:
    i, n = e.inputs, format_number
    table = []
    if e.storage_per_day_bytes is not None and e.writes_per_day is not None:
        table.append(
            Row(
                "storage_per_day_bytes",
                "storage per day",
                f"{format_bytes(e.storage_per_day_bytes)}/day",
                f"{n(e.writes_per_day)} writes × {size}",
                assumes,
            )
        )
    if e.storage_per_month_bytes is not None and e.writes_per_month is not None:
        table.append(
            Row(
                "storage_per_month_bytes",
                "storage per month",
                f"{format_bytes(e.storage_per_month_bytes)}/month",
                f"{n(e.writes_per_month)} writes × {size}",
                assumes,
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
                _with(assumes, e, "replication"),
            )
        )
    if e.records_total is not None and e.writes_per_day is not None and i.retention_days is not None:
        table.append(
            Row(
                "records_total",
                "records kept",
                format_count(e.records_total),
                f"{n(e.writes_per_day)}/day × {format_days(i.retention_days)}",
                assumes,
            )
        )
        table.append(
            Row(
                "key_length_base62",
                "key length (base 62)",
                f"{e.key_length_base62} characters",
                f"62^{e.key_length_base62} = {format_count(Fraction(62 ** (e.key_length_base62 or 0)))}"
                f" ≥ {format_count(e.records_total)} records",
                assumes,
            )
        )
    return table


def _bandwidth_rows(e: Estimate, size: str, assumes: dict[str, tuple[str, ...]]) -> list[Row]:
    n = format_number
    table = []
    if e.ingress_bytes_per_s is not None and e.write_qps is not None and e.ingress_bits_per_s is not None:
        table += [
            Row(
                "ingress_bytes_per_s",
                "ingress",
                format_byte_rate(e.ingress_bytes_per_s),
                f"{n(e.write_qps)}/s × {size}",
                assumes["write"],
            ),
            Row(
                "ingress_bits_per_s",
                "ingress (bits)",
                format_bit_rate(e.ingress_bits_per_s),
                f"{format_byte_rate(e.ingress_bytes_per_s)} × 8 bits",
                assumes["write"],
            ),
        ]
    if e.egress_bytes_per_s is not None and e.read_qps is not None and e.egress_bits_per_s is not None:
        table += [
            Row(
                "egress_bytes_per_s",
                "egress",
                format_byte_rate(e.egress_bytes_per_s),
                f"{n(e.read_qps)}/s × {size}",
                assumes["read"],
            ),
            Row(
                "egress_bits_per_s",
                "egress (bits)",
                format_bit_rate(e.egress_bits_per_s),
                f"{format_byte_rate(e.egress_bytes_per_s)} × 8 bits",
                assumes["read"],
            ),
        ]
    return table


def format_bit_rate(bits_per_s: Fraction) -> str:
    """`92.6 Mbps`: bits per second with decimal prefixes, as network links are sold."""
    return format_bytes(bits_per_s).replace(" bytes", " bps").replace("B", "bps")


def _cache_and_machine_rows(e: Estimate, size: str, day: str, read_assumes: tuple[str, ...]) -> list[Row]:
    i, n = e.inputs, format_number
    table = []
    if e.cache_bytes is not None and e.read_qps is not None:
        table.append(
            Row(
                "cache_bytes",
                "cache (a day's hot reads)",
                format_bytes(e.cache_bytes),
                f"{n(i.cache_ratio)} × {n(e.read_qps)}/s × {day} × {size}",
                _with(read_assumes, e, "cache_ratio"),
            )
        )
    if e.cache_working_set_bytes is not None and i.cache_data_ratio is not None and i.retention_days is not None:
        one_copy = e.cache_working_set_bytes / i.cache_data_ratio
        table.append(
            Row(
                "cache_working_set_bytes",
                "cache (working set)",
                format_bytes(e.cache_working_set_bytes),
                f"{n(i.cache_data_ratio)} × {format_exact_bytes(one_copy)} stored (one copy)",
            )
        )
    if e.servers is not None and i.server_qps is not None and e.write_qps_peak is not None and e.read_qps_peak:
        table.append(
            Row(
                "servers",
                "servers",
                f"{e.servers:,}",
                f"⌈({n(e.write_qps_peak)} + {n(e.read_qps_peak)}) ÷ {n(i.server_qps)} per server⌉",
                tuple(dict.fromkeys((*read_assumes, *(["peak"] if "peak" in e.assumptions else [])))),
            )
        )
    if e.cache_machines is not None and i.memory_bytes is not None:
        held = e.cache_working_set_bytes if e.cache_working_set_bytes is not None else e.cache_bytes
        assert held is not None
        table.append(
            Row(
                "cache_machines",
                "cache machines",
                f"{e.cache_machines:,}",
                f"⌈{format_bytes(held)} ÷ {format_exact_bytes(i.memory_bytes)} memory per machine⌉",
                () if e.cache_working_set_bytes is not None else _with(read_assumes, e, "cache_ratio"),
            )
        )
    if e.storage_machines is not None and i.disk_bytes is not None and e.storage_total_bytes is not None:
        table.append(
            Row(
                "storage_machines",
                "storage machines",
                f"{e.storage_machines:,}",
                f"⌈{format_bytes(e.storage_total_bytes)} ÷ {format_exact_bytes(i.disk_bytes)} disk per machine⌉",
                tuple(name for name in ("replication",) if name in e.assumptions),
            )
        )
    return table


def _writes_formula(e: Estimate) -> str:
    inputs = e.inputs
    if inputs.writes_per_day is not None:
        return "given"
    n = format_number
    day = f"{n(Fraction(e.convention.seconds_per_day))} s"
    if inputs.total_qps is not None:
        return f"{n(inputs.total_qps)} req/s ÷ (1 + {n(inputs.read_ratio)}) × {day}"
    if inputs.peak_total_qps is not None:
        return (
            f"{n(inputs.peak_total_qps)} req/s at peak ÷ {n(inputs.peak)} peak ÷ (1 + {n(inputs.read_ratio)}) × {day}"
        )
    if inputs.peak_write_qps is not None:
        return f"{n(inputs.peak_write_qps)} writes/s at peak ÷ {n(inputs.peak)} peak × {day}"
    if inputs.writes_per_user is not None:
        return f"{format_number(inputs.dau)} DAU × {format_number(inputs.writes_per_user)} writes/user"
    return f"{n(e.reads_per_day)} reads/day ÷ {n(inputs.read_ratio)} reads/write"  # type: ignore[arg-type]


def _reads_formula(e: Estimate, day: str) -> str:
    i, n = e.inputs, format_number
    if i.reads_per_day is not None:
        return f"{n(i.reads_per_day)} reads/day ÷ {day}"
    if i.reads_per_user is not None:
        return f"{n(i.dau)} DAU × {n(i.reads_per_user)} reads/user ÷ {day}"  # type: ignore[arg-type]
    return f"{n(e.write_qps)} × {n(i.read_ratio)} reads/write"  # type: ignore[arg-type]


def describe_inputs(inputs: Inputs) -> list[str]:
    """Each stated or assumed input in human units: `DAU 50 M`, `size 1 KB`, `retention 1,825 days`."""
    described = {
        "dau": lambda v: f"DAU {format_number(v)}",
        "writes_per_user": lambda v: f"writes per user per day {format_number(v)}",
        "writes_per_day": lambda v: f"writes per day {format_number(v)}",
        "total_qps": lambda v: f"requests per second (reads + writes) {format_number(v)}",
        "peak_total_qps": lambda v: f"requests per second at peak (reads + writes) {format_number(v)}",
        "peak_write_qps": lambda v: f"writes per second at peak {format_number(v)}",
        "reads_per_user": lambda v: f"reads per user per day {format_number(v)}",
        "reads_per_day": lambda v: f"reads per day {format_number(v)}",
        "read_ratio": lambda v: f"reads per write {format_number(v)}",
        "size_bytes": lambda v: f"size per write {format_exact_bytes(v)}",
        "retention_days": lambda v: f"retention {format_days(v)}",
        "peak": lambda v: f"peak-to-average {format_number(v)}×",
        "replication": lambda v: f"replication {format_number(v)}",
        "cache_ratio": lambda v: f"cached share of a day's reads {format_number(v)}",
        "cache_data_ratio": lambda v: f"cached share of the stored data {format_number(v)}",
        "server_qps": lambda v: f"requests per second per server {format_number(v)}",
        "memory_bytes": lambda v: f"memory per machine {format_exact_bytes(v)}",
        "disk_bytes": lambda v: f"disk per machine {format_exact_bytes(v)}",
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
    """A compact Markdown block for the model: figures read from the text as facts not to recompute, figures
    resting on a default as assumptions it may revise."""
    table = rows(estimate)
    facts = [row for row in table if not row.assumes]
    assumed = [row for row in table if row.assumes]
    lines: list[str] = []
    if facts:
        lines += [
            "Capacity estimates computed by sdx from the stated constraints; use these numbers, do not recompute them:",
            "",
            *(f"- {row.label}: {row.value} ({row.formula})" for row in facts),
        ]
    if assumed:
        names = sorted({name for row in assumed for name in row.assumes})
        lines += [
            *([""] if lines else []),
            f"Estimates that rest on defaults sdx assumed ({', '.join(names)}): revise them if the question implies"
            " otherwise:",
            "",
            *(f"- {row.label}: {row.value} ({row.formula})" for row in assumed),
        ]
    lines.append(f"- inputs: {'; '.join(describe_inputs(estimate.inputs))}")
    if estimate.assumptions:
        lines.append(f"- defaults assumed: {'; '.join(describe_assumptions(estimate))}")
    lines += [f"- read from the text: {r.clause!r} → {r.reading}" for r in estimate.readings[: _UNDERSTOOD_SHOWN * 2]]
    lines += [f"- note: {note}" for note in estimate.notes]
    lines.append(f"- units: {estimate.convention.units}")
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
    result["units"] = estimate.convention.units
    result["not_understood"] = list(estimate.not_understood)
    result["notes"] = list(estimate.notes)
    result.update({name: json_number(getattr(estimate, name)) for name in NEW_FIGURES})
    result["readings"] = [
        {"clause": r.clause, "reading": r.reading, "inputs": list(r.inputs)} for r in estimate.readings
    ]
    result["shortcuts"] = estimate.convention is SHORTCUTS
    return result
