"""`sdx estimate`: capacity figures from options and/or a sentence, as a table, plain text or JSON.

On a terminal a Rich table (value in human units and the formula with the numbers put in); piped, the same rows
as aligned plain text; `--json`, one object in base units. What the sentence held that was not understood is
listed on stderr, never guessed. `--reference` prints the standard tables instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import BinaryIO

from sdx.domain import estimates as est
from sdx.domain import reference as ref
from sdx.domain.estimates import formatting as fmt
from sdx.environment import current
from sdx.errors import UsageError
from sdx.terminal.render import console, say


@dataclass(frozen=True)
class EstimateOptions:
    """The command line as typed (strings, parsed here so errors can name the option and its value)."""

    text: str | None = None
    dau: str | None = None
    writes: str | None = None
    writes_per_day: str | None = None
    read_ratio: str | None = None
    size: str | None = None
    retention: str | None = None
    peak: str | None = None
    replication: str | None = None
    cache_ratio: str | None = None
    server_qps: str | None = None
    qps: str | None = None
    peak_qps: str | None = None
    reads_per_user: str | None = None
    reads_per_day: str | None = None
    cache_data: str | None = None
    memory: str | None = None
    disk: str | None = None


_OPTIONS: dict[str, tuple[str, Callable[[str, str], Fraction]]] = {
    "dau": ("--dau", est.parse_count),
    "writes": ("--writes", est.parse_count),
    "writes_per_day": ("--writes-per-day", est.parse_count),
    "read_ratio": ("--read-ratio", est.parse_ratio),
    "size": ("--size", est.parse_size),
    "retention": ("--retention", est.parse_duration),
    "peak": ("--peak", est.parse_ratio),
    "replication": ("--replication", est.parse_ratio),
    "cache_ratio": ("--cache-ratio", est.parse_ratio),
    "server_qps": ("--server-qps", est.parse_rate),
    "qps": ("--qps", est.parse_rate),
    "peak_qps": ("--peak-qps", est.parse_rate),
    "reads_per_user": ("--reads-per-user", est.parse_count),
    "reads_per_day": ("--reads-per-day", est.parse_count),
    "cache_data": ("--cache-data", est.parse_ratio),
    "memory": ("--memory", est.parse_size),
    "disk": ("--disk", est.parse_size),
}
_INPUT_FOR_OPTION = {
    "writes": "writes_per_user",
    "size": "size_bytes",
    "retention": "retention_days",
    "qps": "total_qps",
    "peak_qps": "peak_total_qps",
    "cache_data": "cache_data_ratio",
    "memory": "memory_bytes",
    "disk": "disk_bytes",
}


def run_estimate(
    options: EstimateOptions,
    *,
    as_json: bool = False,
    reference: bool = False,
    shortcuts: bool = False,
    stdin: BinaryIO | None = None,
) -> None:
    """`stdin`: piped input, read as the sentence when the argument is `-` or absent."""
    if reference:
        print_reference(as_json=as_json)
        return
    options = _with_piped_text(options, stdin)
    convention = est.SHORTCUTS if shortcuts else est.EXACT
    estimate = estimate_from_options(options, convention)
    for clause in estimate.not_understood:
        why = estimate.reasons.get(clause, "")
        say(f"sdx: not understood, ignored: {clause!r}" + (f" ({why})" if why else ""))
    if as_json:
        print(json.dumps(est.to_json(estimate), indent=2), file=current().stdout)
    elif current().stdout_isatty:
        print_estimate_table(estimate, stderr=False)
    else:
        print(plain_estimate(estimate), file=current().stdout)


def _with_piped_text(options: EstimateOptions, stdin: BinaryIO | None) -> EstimateOptions:
    """`sdx estimate -` reads the sentence from stdin; so does `echo … | sdx estimate` with no sentence and no
    option (with options, a pipe left open by a script is never waited for)."""
    if options.text not in (None, "-"):
        return options
    if options.text is None and any(getattr(options, name) is not None for name in _OPTIONS):
        return options
    if stdin is None:
        if options.text == "-":
            raise UsageError(
                "`sdx estimate -` reads the sentence from stdin, but nothing is piped",
                'try: echo "50M DAU, 20 posts per user per day" | sdx estimate -',
            )
        return options
    from sdx.commands.ask import read_stdin
    from sdx.config import load_config

    piped = read_stdin(stdin, load_config().max_input_kb).strip()
    if not piped and options.text == "-":
        raise UsageError(
            "stdin was empty", 'pipe a sentence: echo "50M DAU, 20 posts per user per day" | sdx estimate -'
        )
    return replace(options, text=piped or None)


def estimate_from_options(options: EstimateOptions, convention: est.Convention = est.EXACT) -> est.Estimate:
    """Options and free text merged (a figure given both ways must agree), then computed."""
    from_options = _stated_options(options, convention)
    not_understood: tuple[str, ...] = ()
    from_text: dict[str, est.Stated] = {}
    readings: tuple[est.Reading, ...] = ()
    blocked: dict[str, str] = {}
    reasons: dict[str, str] = {}
    if options.text is not None:
        dau = from_options["dau"].value if "dau" in from_options else None
        parsed = est.parse_text(options.text, dau=dau, convention=convention)
        if not parsed.stated:
            listed = "; ".join(f"{clause!r} ({why})" for clause, why in parsed.reasons.items())
            raise UsageError(
                f"no figure understood in {_short(options.text)!r}" + (f": not understood: {listed}" if listed else ""),
                'write figures like "50M DAU, 20 posts per user per day, 1 KB each, keep 5 years", or use options',
            )
        from_text, not_understood = parsed.stated, parsed.not_understood
        readings, blocked, reasons = parsed.readings, parsed.blocked, parsed.reasons
    if not from_options and not from_text:
        raise UsageError(
            "nothing to estimate",
            'give --dau and --writes (or --writes-per-day), or a sentence: sdx estimate "50M DAU, 20 writes per '
            'user per day"',
        )
    try:
        stated = est.merge(from_options, from_text)
        computed = est.compute(stated, not_understood, convention=convention, readings=readings, blocked=blocked)
        return replace(computed, reasons=reasons)
    except UsageError as exc:
        if not not_understood:
            raise
        ignored = "; ".join(repr(clause) for clause in not_understood)
        raise UsageError(f"{exc.what} (not understood, ignored: {ignored})", exc.fix) from None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 80 else f"{text[:79]}…"


def _stated_options(options: EstimateOptions, convention: est.Convention = est.EXACT) -> dict[str, est.Stated]:
    stated = {}
    for field_name, (flag, parse) in _OPTIONS.items():
        raw = getattr(options, field_name)
        if raw is not None:
            value = parse(raw, flag)
            stated[_INPUT_FOR_OPTION.get(field_name, field_name)] = est.Stated(value, f"{flag} {raw}")
    return stated


# ---------------------------------------------------------------------------------------------------------------
# Views


def print_estimate_table(estimate: est.Estimate, *, stderr: bool) -> None:
    """The figures as a Rich table on stdout (or stderr: `ask` shows it before the answer streams)."""
    from rich.table import Table

    table = Table(title="Capacity estimate", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right", style="bold")
    table.add_column("formula", style="dim")
    for row in est.rows(estimate):
        table.add_row(row.label, row.value, row.formula)
    out = console(stderr=stderr)
    out.print(table)
    for note in _notes(estimate):
        out.print(note, style="dim", markup=False)


def plain_estimate(estimate: est.Estimate) -> str:
    """The figures as aligned plain text, for pipes: label, value, formula."""
    table = est.rows(estimate)
    label_width = max(len(row.label) for row in table)
    value_width = max(len(row.value) for row in table)
    lines = [f"{row.label:<{label_width}}  {row.value:>{value_width}}  = {row.formula}" for row in table]
    return "\n".join([*lines, "", *_notes(estimate)])


def _notes(estimate: est.Estimate) -> list[str]:
    notes = [f"read: {reading.clause!r} → {reading.reading}" for reading in estimate.readings]
    notes.append(f"inputs: {'; '.join(est.describe_inputs(estimate.inputs))}")
    if estimate.assumptions:
        notes.append(f"defaults assumed: {'; '.join(est.describe_assumptions(estimate))}")
    notes += [f"note: {note}" for note in estimate.notes]
    notes += [f"missing: {hint}" for hint in est.missing_figures(estimate)]
    notes.append(f"units: {estimate.convention.units}")
    return notes


def print_reference(*, as_json: bool) -> None:
    if as_json:
        print(json.dumps(ref.reference_json(), indent=2), file=current().stdout)
        return
    sections = _reference_sections()
    if current().stdout_isatty:
        from rich.table import Table

        out = console()
        for title, source, headers, body in sections:
            table = Table(title=title, title_justify="left", caption=f"source: {source}", caption_justify="left")
            for number, header in enumerate(headers):
                table.add_column(header, justify="left" if number == 0 else "right")
            for cells in body:
                table.add_row(*cells)
            out.print(table)
        return
    blocks = []
    for title, source, headers, body in sections:
        widths = [max(len(cells[n]) for cells in [headers, *body]) for n in range(len(headers))]
        lines = [f"{title} (source: {source})"]
        for cells in [headers, *body]:
            first, *rest = cells
            line = "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])
            lines.append(line.rstrip())
        blocks.append("\n".join(lines))
    print("\n\n".join(blocks), file=current().stdout)


Section = tuple[str, str, list[str], list[list[str]]]


def _reference_sections() -> list[Section]:
    latency = [[r.operation, fmt.format_latency(r.nanoseconds), r.note] for r in ref.LATENCIES]
    powers = [[f"2^{p.exponent}", f"{p.value:,}", p.approximately, p.name] for p in ref.POWERS_OF_TWO]
    nines = [
        [
            f"{d.availability}%",
            fmt.format_duration(d.per_year_s),
            fmt.format_duration(d.per_month_s),
            fmt.format_duration(d.per_day_s),
        ]
        for d in ref.nines()
    ]
    time = [list(pair) for pair in ref.TIME_CONVERSIONS]
    return [
        ("Latency numbers", ref.LATENCY_SOURCE, ["operation", "latency", "note"], latency),
        ("Powers of two", ref.POWERS_SOURCE, ["power", "exact", "approximately", "name"], powers),
        ("Availability", ref.NINES_SOURCE, ["availability", "downtime/year", "downtime/month", "downtime/day"], nines),
        ("Time", ref.TIME_SOURCE, ["what", "value"], time),
    ]
