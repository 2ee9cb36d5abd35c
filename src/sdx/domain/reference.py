"""The numbers every engineer should know, for `sdx estimate --reference`: pure data, each table with its source.

Latency: published versions disagree (Jeff Dean's 2009 slides send 2 KB over 1 Gbps in 20 µs and list no SSD;
Colin Scott's interactive 2020 figures give 2 µs to compress 1 KB and 16 µs for a random SSD read). sdx ships one
version, named in `LATENCY_SOURCE`: the 2012 table most interview material quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sdx.domain.estimates.formatting import json_number
from sdx.domain.estimates.units import DAYS_PER_MONTH, DAYS_PER_YEAR, SECONDS_PER_DAY

LATENCY_SOURCE = (
    'Jeff Dean & Peter Norvig\'s "Latency numbers every programmer should know", as collected by Jonas Bonér '
    "(gist.github.com/jboner/2841832, 2012 version); modern hardware is faster for SSD and compression"
)
POWERS_SOURCE = "exact powers of two; binary prefixes per IEC 80000-13 (KiB … PiB)"
NINES_SOURCE = "computed by sdx: (1 − availability) × period, with a 365-day year and a 30-day month"
TIME_SOURCE = "computed by sdx: 86,400 s a day, 30-day month, 365-day year"


@dataclass(frozen=True)
class Latency:
    operation: str
    nanoseconds: Fraction
    note: str = ""


LATENCIES: tuple[Latency, ...] = (
    Latency("L1 cache reference", Fraction(1, 2)),
    Latency("Branch mispredict", Fraction(5)),
    Latency("L2 cache reference", Fraction(7), "14× L1 cache"),
    Latency("Mutex lock/unlock", Fraction(25)),
    Latency("Main memory reference", Fraction(100), "20× L2, 200× L1"),
    Latency("Compress 1 KB with Zippy (Snappy)", Fraction(3_000)),
    Latency("Send 1 KB over a 1 Gbps network", Fraction(10_000)),
    Latency("Read 4 KB randomly from SSD", Fraction(150_000), "~1 GB/s SSD"),
    Latency("Read 1 MB sequentially from memory", Fraction(250_000)),
    Latency("Round trip within the same datacenter", Fraction(500_000)),
    Latency("Read 1 MB sequentially from SSD", Fraction(1_000_000), "4× memory"),
    Latency("Disk seek", Fraction(10_000_000), "20× datacenter round trip"),
    Latency("Read 1 MB sequentially from disk", Fraction(20_000_000), "80× memory, 20× SSD"),
    Latency("Send a packet California → Netherlands → California", Fraction(150_000_000)),
)


@dataclass(frozen=True)
class PowerOfTwo:
    exponent: int
    approximately: str
    name: str

    @property
    def value(self) -> int:
        return 2**self.exponent


POWERS_OF_TWO: tuple[PowerOfTwo, ...] = (
    PowerOfTwo(10, "1 thousand", "1 KiB (kibibyte)"),
    PowerOfTwo(20, "1 million", "1 MiB (mebibyte)"),
    PowerOfTwo(30, "1 billion", "1 GiB (gibibyte)"),
    PowerOfTwo(40, "1 trillion", "1 TiB (tebibyte)"),
    PowerOfTwo(50, "1 quadrillion", "1 PiB (pebibyte)"),
)

AVAILABILITIES: tuple[str, ...] = ("90", "99", "99.9", "99.95", "99.99", "99.999", "99.9999")


@dataclass(frozen=True)
class Downtime:
    availability: str  # percent, as written
    per_year_s: Fraction
    per_month_s: Fraction
    per_day_s: Fraction


def downtime(availability_percent: str) -> Downtime:
    """The downtime an availability allows, exactly, per 365-day year, 30-day month and day."""
    unavailable = 1 - Fraction(availability_percent) / 100
    per_day = unavailable * SECONDS_PER_DAY
    return Downtime(availability_percent, per_day * DAYS_PER_YEAR, per_day * DAYS_PER_MONTH, per_day)


def nines() -> list[Downtime]:
    return [downtime(a) for a in AVAILABILITIES]


TIME_CONVERSIONS: tuple[tuple[str, str], ...] = (
    ("seconds in a day", f"{SECONDS_PER_DAY:,}"),
    ("seconds in a month (30 days)", f"{SECONDS_PER_DAY * DAYS_PER_MONTH:,} (~2.6 M)"),
    ("seconds in a year (365 days)", f"{SECONDS_PER_DAY * DAYS_PER_YEAR:,} (~31.5 M)"),
    ("1 M requests a day", "~11.6 per second"),
    ("1 B requests a day", "~11.6 K per second"),
    ("1 request per second", "86.4 K a day, 2.59 M a month"),
)


def reference_json() -> dict[str, object]:
    """The tables for `--reference --json`, in base units (nanoseconds, seconds)."""

    return {
        "latency": {
            "source": LATENCY_SOURCE,
            "rows": [{"operation": r.operation, "ns": json_number(r.nanoseconds), "note": r.note} for r in LATENCIES],
        },
        "powers_of_two": {
            "source": POWERS_SOURCE,
            "rows": [
                {"power": p.exponent, "value": p.value, "approximately": p.approximately, "name": p.name}
                for p in POWERS_OF_TWO
            ],
        },
        "availability": {
            "source": NINES_SOURCE,
            "rows": [
                {
                    "availability_percent": d.availability,
                    "downtime_per_year_s": json_number(d.per_year_s),
                    "downtime_per_month_s": json_number(d.per_month_s),
                    "downtime_per_day_s": json_number(d.per_day_s),
                }
                for d in nines()
            ],
        },
        "time": {"source": TIME_SOURCE, "rows": [{"what": what, "value": value} for what, value in TIME_CONVERSIONS]},
    }
