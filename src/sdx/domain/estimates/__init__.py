"""Back-of-envelope capacity estimates: quantities parsed as people write them, and exact arithmetic on them.

Pure code, no I/O, in four modules whose imports flow one way: `units` (a quantity and its unit) → `formatting`
(rounding for people, here only) → `figures` (what was stated, the defaults, every figure exactly) → `reader`
(free text, clause by clause). Every quantity is a `Fraction`, so nothing is rounded before a figure is displayed:
50M DAU × 20 writes is exactly 1,000,000,000 writes a day and exactly 1e9 / 86,400 writes per second.
"""

from sdx.domain.estimates.figures import (
    DEFAULTS,
    FIGURES,
    INPUT_NAMES,
    Estimate,
    Inputs,
    Row,
    Stated,
    compute,
    describe_assumptions,
    describe_inputs,
    facts_for_prompt,
    inputs_from,
    merge,
    missing_figures,
    rows,
    to_json,
)
from sdx.domain.estimates.formatting import (
    format_byte_rate,
    format_bytes,
    format_count,
    format_days,
    format_exact_bytes,
    format_number,
    format_rate,
    round_significant,
)
from sdx.domain.estimates.reader import PER_USER_MAX, TOTAL_MIN_SHARE, TextParse, estimate_from_text, parse_text
from sdx.domain.estimates.units import (
    CONVENTIONS,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    SECONDS_PER_DAY,
    parse_count,
    parse_duration,
    parse_rate,
    parse_ratio,
    parse_size,
)

__all__ = [
    "CONVENTIONS",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "DEFAULTS",
    "FIGURES",
    "INPUT_NAMES",
    "PER_USER_MAX",
    "SECONDS_PER_DAY",
    "TOTAL_MIN_SHARE",
    "Estimate",
    "Inputs",
    "Row",
    "Stated",
    "TextParse",
    "compute",
    "describe_assumptions",
    "describe_inputs",
    "estimate_from_text",
    "facts_for_prompt",
    "format_byte_rate",
    "format_bytes",
    "format_count",
    "format_days",
    "format_exact_bytes",
    "format_number",
    "format_rate",
    "inputs_from",
    "merge",
    "missing_figures",
    "parse_count",
    "parse_duration",
    "parse_rate",
    "parse_ratio",
    "parse_size",
    "parse_text",
    "round_significant",
    "rows",
    "to_json",
]
