"""`sdx estimate` as a user runs it (in-process tier): piped text, the terminal table, JSON, errors, --reference."""

from __future__ import annotations

import io
import json
import re

import pytest

from sdx.commands.estimate import print_estimate_table
from sdx.domain.estimates import estimate_from_text
from sdx.environment import Environment, installed
from tests.runner import Sdx

ISSUE_OPTIONS = ("--dau", "50M", "--writes", "20", "--read-ratio", "10", "--size", "1KB", "--retention", "5y")
ISSUE_SENTENCE = "50M DAU, 20 posts per user per day, 10 reads per write, 1 KB each, keep 5 years"


@pytest.fixture
def sdx(tmp_path) -> Sdx:
    """An isolated user; no servers: `estimate` sends no request."""
    return Sdx(tmp_path / "home")


def without_styles(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


PIPED = """\
writes per day                  1 B/day  = 50 M DAU × 20 writes/user
writes/s (average)             11.6 K/s  = 1 B ÷ 86,400 s
writes/s (peak)                23.1 K/s  = 11,574.07 × 2 peak
reads/s (average)               116 K/s  = 11,574.07 × 10 reads/write
reads/s (peak)                  231 K/s  = 115,740.74 × 2 peak
writes per month             30 B/month  = 11,574.07/s × 2.592 M s
reads per month             300 B/month  = 115,740.74/s × 2.592 M s
storage per day                1 TB/day  = 1 B writes × 1 KB
storage per month           30 TB/month  = 30 B writes × 1 KB
storage in total                5.48 PB  = 1 TB/day × 1,825 days × 3 replicas
records kept                     1.82 T  = 1 B/day × 1,825 days
key length (base 62)       7 characters  = 62^7 = 3.52 T ≥ 1.82 T records
ingress                       11.6 MB/s  = 11,574.07/s × 1 KB
ingress (bits)                92.6 Mbps  = 11.6 MB/s × 8 bits
egress                         116 MB/s  = 115,740.74/s × 1 KB
egress (bits)                  926 Mbps  = 116 MB/s × 8 bits
cache (a day's hot reads)          2 TB  = 0.2 × 115,740.74/s × 86,400 s × 1 KB

inputs: DAU 50 M; writes per user per day 20; reads per write 10; size per write 1 KB; retention 1,825 days; \
peak-to-average 2×; replication 3; cached share of a day's reads 0.2
defaults assumed: peak-to-average 2×; replication 3; cached share of a day's reads 0.2
missing: requests per second per server (--server-qps) for a server count
units: 1 KB = 1,000 bytes (KiB = 1,024), a year = 365 days, a month = 30 days, a day = 86,400 s
"""
READINGS = """\
read: '50M DAU' → DAU 50 M
read: '20 posts per user per day' → writes per user per day 20
read: '10 reads per write' → reads per write 10
read: '1 KB each' → size per write 1 KB
read: 'keep 5 years' → retention 1,825 days
"""


def with_readings(readings: str) -> str:
    """PIPED with the lines saying how each clause of the sentence was read, above the inputs."""
    figures, _, notes = PIPED.partition("\n\ninputs:")
    return f"{figures}\n\n{readings}inputs:{notes}"


def test_piped_output_is_plain_aligned_text_with_the_formulas(sdx):
    result = sdx.call("estimate", *ISSUE_OPTIONS)
    assert (result.code, result.stderr) == (0, "")
    assert result.out == PIPED
    assert "\x1b" not in result.out


def test_a_sentence_gives_the_same_figures_as_the_options(sdx):
    result = sdx.call("estimate", ISSUE_SENTENCE)
    assert (result.code, result.stderr) == (0, "")
    assert result.out == with_readings(READINGS)


def test_options_and_a_sentence_combine(sdx):
    result = sdx.call("estimate", "50M DAU, 1 KB each, keep 5 years", "--writes", "20", "--read-ratio", "10")
    readings = "".join(line + "\n" for line in READINGS.splitlines() if "posts" not in line and "reads" not in line)
    assert (result.code, result.out) == (0, with_readings(readings))


def test_what_the_sentence_held_and_was_not_understood_is_listed_on_stderr(sdx):
    result = sdx.call("estimate", f"{ISSUE_SENTENCE}, 300M MAU, QPS = 1B / 86400")
    assert result.code == 0
    assert result.out == with_readings(READINGS + "read: '300M MAU' → users 300 M (not used: the DAU is stated)\n")
    assert result.stderr == "sdx: not understood, ignored: 'QPS = 1B / 86400' (pasted arithmetic)\n"


def test_json_has_the_documented_keys_in_base_units(sdx):
    result = sdx.call(
        "estimate", "--writes-per-day", "10B", "--size", "2.5KB", "--retention", "90d", "--peak", "3",
        "--server-qps", "20k", "--json",
    )  # fmt: skip
    assert (result.code, result.stderr) == (0, "")
    data = json.loads(result.out)
    assert list(data) == [
        "writes_per_day", "write_qps", "write_qps_peak", "read_qps", "read_qps_peak", "storage_per_day_bytes",
        "storage_total_bytes", "ingress_bytes_per_s", "egress_bytes_per_s", "cache_bytes", "servers", "inputs",
        "assumptions", "units", "not_understood", "notes", "reads_per_day", "writes_per_month", "reads_per_month",
        "storage_per_month_bytes", "records_total", "key_length_base62", "ingress_bits_per_s", "egress_bits_per_s",
        "cache_working_set_bytes", "cache_machines", "storage_machines", "readings", "shortcuts",
    ]  # fmt: skip
    assert data["writes_per_day"] == 10_000_000_000
    assert data["write_qps"] == pytest.approx(115_740.7407407)
    assert data["storage_per_day_bytes"] == 25_000_000_000_000
    assert data["storage_total_bytes"] == 6_750_000_000_000_000
    assert data["cache_bytes"] == 5_000_000_000_000
    assert data["servers"] == 35
    assert data["inputs"]["size_bytes"] == 2500 and data["inputs"]["retention_days"] == 90
    assert data["inputs"]["dau"] is None
    assert data["assumptions"] == {"read_ratio": 1, "replication": 3, "cache_ratio": 0.2}


def test_json_without_a_size_has_nulls(sdx):
    data = json.loads(sdx.call("estimate", "--dau", "1M", "--writes", "1", "--json").out)
    assert data["storage_per_day_bytes"] is None and data["cache_bytes"] is None and data["servers"] is None
    assert data["writes_per_day"] == 1_000_000


def test_on_a_terminal_a_table_shows_human_units_and_formulas(sdx):
    result = sdx.call("estimate", *ISSUE_OPTIONS, "--server-qps", "20k", tty=True, env={"NO_COLOR": "1"}, columns=140)
    assert (result.code, result.stderr) == (0, "")
    out = without_styles(result.out)
    assert "\x1b[1m" in result.out  # bold values: styles stay, colours go
    assert "Capacity estimate" in out
    assert "│ writes/s (average)" in out and "11.6 K/s │ 1 B ÷ 86,400 s" in out
    assert "5.48 PB │ 1 TB/day × 1,825 days × 3 replicas" in out
    assert "│ servers" in out and "13 │ ⌈(23,148.15 + 231,481.48) ÷ 20,000 per server⌉" in out
    assert "\nunits: 1 KB = 1,000 bytes (KiB = 1,024), a year = 365 days, a month = 30 days, a day = 86,400 s\n" in out


def test_the_table_can_go_to_stderr_for_ask(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=None, stdout=out, stderr=err, stderr_isatty=True, environ={"NO_COLOR": "1"},
                      cwd=tmp_path, columns=140, lines=40)  # fmt: skip
    estimate = estimate_from_text(ISSUE_SENTENCE)
    assert estimate is not None
    with installed(env):
        print_estimate_table(estimate, stderr=True)
    assert out.getvalue() == ""
    assert "11.6 K/s │ 1 B ÷ 86,400 s" in without_styles(err.getvalue())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dau", "50X", "--writes", "2"), "sdx: error: --dau: unknown unit 'x' in '50X' — write it like 50M"),
        (("--dau", "0", "--writes", "2"), "sdx: error: --dau: '0' must be more than zero"),
        (("--dau", "-5", "--writes", "2"), "sdx: error: --dau: '-5' must be more than zero"),
        (("--writes-per-day", "1M", "--size", "3 XB"), "sdx: error: --size: unknown unit 'xb' in '3 XB'"),
        (("--writes-per-day", "1M", "--retention", "5"), "sdx: error: --retention: '5' has no unit"),
        (("--dau", "1", "--writes", "2", "--writes-per-day", "5"), "sdx: error: contradictory figures: --writes 2 and"),
        (("--writes", "2",), "sdx: error: writes per user need the number of users — add --dau"),
        ((), "sdx: error: nothing to estimate — give --dau and --writes"),
        (("Design a chat system",), "sdx: error: no figure understood in 'Design a chat system'"),
        (("50M DAU, 10M DAU",), "sdx: error: contradictory figures: '50M DAU' and '10M DAU'"),
        (("50M DAU", "--dau", "10M", "--writes", "1"), "sdx: error: contradictory figures: --dau 10M and '50M DAU'"),
        (("0 DAU, 5 writes per user per day",), "sdx: error: '0 DAU': '0' must be more than zero"),
        (("--writes-per-day", "1M", "--peak", "0.5"), "sdx: error: --peak 0.5: the peak-to-average"),
        (("--writes-per-day", "1M", "--cache-ratio", "150%"), "sdx: error: --cache-ratio 150%: the cached share"),
        (("--writes-per-day", "1M", "--size", "1Kb"), "sdx: error: --size: '1Kb' is in bits (a lowercase b"),
        (("--writes-per-day", "1M", "--size", "1Mb"), "sdx: error: --size: '1Mb' is in bits (a lowercase b"),
        (("50M DAU, 5000 messages/day",),
         "sdx: error: nothing to estimate: the write rate is unknown (not understood, ignored: '5000 messages/day')"),
        (("50M DAU, reads outnumber writes five to one, 100k QPS",),
         "sdx: error: the write rate rests on 'reads outnumber writes five to one', which sdx did not understand"),
    ],
)  # fmt: skip
def test_bad_input_is_a_usage_error_naming_the_part(sdx, args, message):
    result = sdx.call("estimate", *args)
    assert result.code == 2
    assert result.out == ""
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_reference_names_its_sources_when_piped(sdx):
    result = sdx.call("estimate", "--reference")
    assert (result.code, result.stderr) == (0, "")
    lines = result.out.splitlines()
    assert lines[0].startswith("Latency numbers (source: Jeff Dean & Peter Norvig's")
    assert "gist.github.com/jboner/2841832, 2012 version" in lines[0]
    assert "L1 cache reference                                    0.5 ns" in lines
    assert any(line.startswith("Send a packet California → Netherlands → California   150 ms") for line in lines)
    assert "2^50   1,125,899,906,842,624  1 quadrillion  1 PiB (pebibyte)" in lines
    assert "99.99%             52.6 min        4.32 min        8.64 s" in lines
    assert "seconds in a day                                    86,400" in lines
    assert "seconds in a month (30 days)            2,592,000 (~2.6 M)" in lines


def test_reference_on_a_terminal_and_as_json(sdx):
    shown = sdx.call("estimate", "--reference", tty=True, env={"NO_COLOR": "1"}, columns=140)
    out = without_styles(shown.out)
    assert shown.code == 0 and "│ L1 cache reference" in out and "source: computed by sdx" in out
    data = json.loads(sdx.call("estimate", "--reference", "--json").out)
    assert list(data) == ["latency", "powers_of_two", "availability", "time"]
    assert data["latency"]["rows"][0] == {"operation": "L1 cache reference", "ns": 0.5, "note": ""}
    four_nines = next(r for r in data["availability"]["rows"] if r["availability_percent"] == "99.99")
    assert four_nines["downtime_per_year_s"] == 3153.6


def test_help_lists_the_options(sdx):
    result = sdx.call("estimate", "--help")
    assert result.code == 0
    for option in ("--dau", "--writes-per-day", "--read-ratio", "--size", "--retention", "--peak", "--replication",
                   "--cache-ratio", "--server-qps", "--qps", "--peak-qps", "--reads-per-user", "--reads-per-day",
                   "--cache-data", "--memory", "--disk", "--json", "--reference"):  # fmt: skip
        assert option in result.out


BASE = "10M DAU, 1 write per user per day, 1 KB each, keep 1 year"


@pytest.mark.parametrize(
    ("options", "clause"),
    [
        (("--reads-per-user", "20"), "20 reads per user per day"),
        (("--cache-data", "20%"), "cache 20% of the data"),
        (("--memory", "64GB"), "each machine has 64 GB RAM"),
        (("--disk", "10TB"), "10 TB of disk per server"),
    ],
)
def test_each_input_a_sentence_can_state_has_an_option_of_its_own(sdx, options, clause):
    """The option gives the very figures its clause gives (only the readings of the clause differ)."""
    by_option = json.loads(sdx.call("estimate", BASE, *options, "--json").out)
    by_sentence = json.loads(sdx.call("estimate", f"{BASE}, {clause}", "--json").out)
    assert len(by_sentence["readings"]) == len(by_option["readings"]) + 1
    del by_option["readings"], by_sentence["readings"]
    assert by_option == by_sentence


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        (("--qps", "100k", "--size", "1KB", "--retention", "1y"), "100k QPS, 1 KB each, keep 1 year"),
        (("--peak-qps", "50k", "--size", "1KB"), "50k QPS at peak, 1 KB each"),
        (("--writes-per-day", "1M", "--reads-per-day", "50M", "--size", "1KB"),
         "1M writes per day, 50M reads per day, 1 KB each"),
    ],
)  # fmt: skip
def test_rates_in_all_have_options_too(sdx, options, sentence):
    by_option = json.loads(sdx.call("estimate", *options, "--json").out)
    by_sentence = json.loads(sdx.call("estimate", sentence, "--json").out)
    del by_option["readings"], by_sentence["readings"]
    assert by_option == by_sentence
    assert any(value is not None for key, value in by_option.items() if key.endswith("_qps"))


def test_a_rate_per_user_beside_a_dau_uses_the_dau(sdx):
    result = sdx.call("estimate", "50 million daily active users, 20 tweets per day each", "--json")
    assert (result.code, result.stderr) == (0, "")
    data = json.loads(result.out)
    assert data["writes_per_day"] == 1_000_000_000
    assert data["inputs"]["dau"] == 50_000_000 and data["inputs"]["writes_per_user"] == 20


def test_a_dau_option_makes_a_small_daily_count_in_the_text_per_user(sdx):
    result = sdx.call("estimate", "--dau", "50M", "20 messages/day")
    assert (result.code, result.stderr) == (0, "")
    assert result.out.splitlines()[0].endswith("1 B/day  = 50 M DAU × 20 writes/user")
    assert "note: '20 messages/day' read per user a day: at most 1,000" in result.out


def test_a_dau_the_write_rate_does_not_use_is_noted(sdx):
    result = sdx.call("estimate", "--dau", "50M", "--writes-per-day", "10B")
    assert result.code == 0
    assert "note: DAU 50 M not used: the write rate comes from --writes-per-day 10B (that is 200 writes" in result.out


def test_a_peak_qps_is_the_peak_in_the_output(sdx):
    result = sdx.call("estimate", "100k QPS at peak, read:write 10:1")
    assert (result.code, result.stderr) == (0, "")
    lines = result.out.splitlines()
    assert lines[0].endswith("= 100,000 req/s at peak ÷ 2 peak ÷ (1 + 10) × 86,400 s")
    assert re.search(r"^writes/s \(peak\) +9\.09 K/s ", result.out, re.M)
    assert re.search(r"^reads/s \(peak\) +90\.9 K/s ", result.out, re.M)
    assert "defaults assumed: peak-to-average 2×" in result.out
