"""Capacity estimates: worked examples checked by hand, quantity parsing, free text, and Hypothesis properties."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdx.domain import estimates as est
from sdx.domain import reference as ref
from sdx.domain.estimates import (
    Stated,
    compute,
    estimate_from_text,
    facts_for_prompt,
    format_byte_rate,
    format_bytes,
    format_count,
    format_exact_bytes,
    format_number,
    format_rate,
    parse_count,
    parse_duration,
    parse_ratio,
    parse_size,
    parse_text,
)
from sdx.domain.estimates import formatting as fmt
from sdx.errors import UsageError


def stated(**values: str | int | Fraction) -> dict[str, Stated]:
    return {name: Stated(Fraction(value), f"--{name}") for name, value in values.items()}


def by_key(estimate: est.Estimate) -> dict[str, est.Row]:
    return {row.key: row for row in est.rows(estimate)}


# ---------------------------------------------------------------------------------------------------------------
# Worked examples, checked by hand


def test_50m_dau_20_writes_is_a_billion_a_day_and_11574_07_writes_per_second():
    # 50,000,000 × 20 = 1,000,000,000 a day; / 86,400 = 11,574.074…/s; × 10 reads = 115,740.74…/s
    e = compute(stated(dau=50_000_000, writes_per_user=20, read_ratio=10, size_bytes=1000, retention_days=1825))
    assert e.writes_per_day == 1_000_000_000
    assert e.write_qps == Fraction(1_000_000_000, 86_400)
    assert format_number(e.write_qps) == "11,574.07"
    assert e.write_qps_peak == Fraction(2_000_000_000, 86_400)  # default peak 2
    assert format_number(e.read_qps) == "115,740.74"
    assert e.storage_per_day_bytes == 10**12  # 1 TB a day
    assert e.storage_total_bytes == 10**12 * 1825 * 3  # 5 years, 3 replicas (default) = 5.475 PB
    assert e.ingress_bytes_per_s == Fraction(10**12, 86_400)  # 11.57 MB/s
    assert e.cache_bytes == 2 * 10**12  # 0.2 × one day of reads (10 B reads × 1 KB)
    assert e.servers is None
    assert e.assumptions == {"peak": 2, "replication": 3, "cache_ratio": Fraction(1, 5)}
    rows = by_key(e)
    assert rows["write_qps"].value == "11.6 K/s"
    assert rows["write_qps"].formula == "1 B ÷ 86,400 s"
    assert rows["writes_per_day"].formula == "50 M DAU × 20 writes/user"
    assert rows["storage_total_bytes"].value == "5.48 PB"
    assert rows["storage_total_bytes"].formula == "1 TB/day × 1,825 days × 3 replicas"
    assert rows["egress_bytes_per_s"].value == "116 MB/s"
    assert rows["cache_bytes"].value == "2 TB"


def test_10b_writes_a_day_at_peak_3_needs_35_servers_of_20k_qps():
    # 1e10 / 86,400 = 115,740.74/s writes = reads (ratio 1); peak ×3 each: 694,444.44/s / 20,000 = 34.7 → 35
    e = compute(stated(writes_per_day=10**10, size_bytes=2500, retention_days=90, peak=3, server_qps=20_000))
    assert e.write_qps_peak + e.read_qps_peak == Fraction(6 * 10**10, 86_400)
    assert e.servers == 35
    assert e.storage_per_day_bytes == 25 * 10**12  # 25 TB a day
    assert e.storage_total_bytes == 25 * 10**12 * 90 * 3  # 6.75 PB
    assert by_key(e)["servers"].formula == "⌈(347,222.22 + 347,222.22) ÷ 20,000 per server⌉"
    assert by_key(e)["storage_total_bytes"].value == "6.75 PB"


def test_twitter_150m_dau_2_tweets_is_about_3500_qps_as_in_the_book():
    e = compute(stated(dau=150_000_000, writes_per_user=2))
    assert format_number(e.write_qps) == "3,472.22"
    assert format_rate(e.write_qps_peak) == "6.94 K/s"


def test_a_total_qps_is_split_between_reads_and_writes():
    e = compute(stated(total_qps=100_000, read_ratio=100))
    assert e.write_qps + e.read_qps == 100_000
    assert e.read_qps == 100 * e.write_qps


def test_a_server_count_is_exact_on_a_boundary():
    # 21,600 writes/s + 21,600 reads/s (ratio 1, peak 1) = 43,200/s over 21,600 per server: exactly 2, not 3
    e = compute(stated(writes_per_day=86_400 * 21_600, server_qps=21_600, peak=1))
    assert e.servers == 2
    assert compute(stated(writes_per_day=86_400 * 21_600 + 1, server_qps=21_600, peak=1)).servers == 3


def test_figures_that_need_a_size_or_retention_are_left_out_and_said_to_be_missing():
    e = compute(stated(dau="1000000", writes_per_user=1))
    assert e.storage_per_day_bytes is None and e.cache_bytes is None and e.storage_total_bytes is None
    assert [row.key for row in est.rows(e)] == [
        "writes_per_day",
        "write_qps",
        "write_qps_peak",
        "read_qps",
        "read_qps_peak",
        "writes_per_month",
        "reads_per_month",
    ]
    assert any("--size" in hint for hint in est.missing_figures(e))
    as_json = est.to_json(e)
    assert as_json["storage_total_bytes"] is None and as_json["servers"] is None


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (stated(writes_per_user=20), "writes per user need the number of users"),
        (stated(dau=10), "nothing to estimate"),
        (stated(dau=10, writes_per_day=5, peak=Fraction(1, 2)), "--peak: the peak-to-average factor cannot be below 1"),
        (stated(writes_per_day=5, cache_ratio=2), "--cache_ratio: the cached share"),
    ],
)
def test_impossible_inputs_are_usage_errors(inputs, message):
    with pytest.raises(UsageError) as caught:
        compute(inputs)
    assert message in caught.value.what
    assert caught.value.status == 2


def test_writes_per_user_and_writes_per_day_together_are_contradictory():
    with pytest.raises(UsageError, match="contradictory figures: --writes_per_user and --writes_per_day"):
        est.merge(stated(writes_per_user=2), stated(writes_per_day=5))


# ---------------------------------------------------------------------------------------------------------------
# Quantities


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("50M", 50_000_000),
        ("1.5B", 1_500_000_000),
        ("10k", 10_000),
        ("10K", 10_000),
        ("2 million", 2_000_000),
        ("1,000,000", 1_000_000),
        ("3bn", 3_000_000_000),
        ("1e9", 10**9),
        ("11.6 K", 11_600),
        ("0.5", Fraction(1, 2)),
    ],
)
def test_counts_parse_as_people_write_them(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1KB", 1000),
        ("2.5 KB", 2500),
        ("1KiB", 1024),
        ("3 MB", 3_000_000),
        ("1 GiB", 2**30),
        ("500 bytes", 500),
        ("500B", 500),
        ("500", 500),
        ("18.3 TB", 18_300_000_000_000),
    ],
)
def test_sizes_are_decimal_unless_written_in_binary(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize(
    ("text", "days"),
    [("5y", 1825), ("18mo", 540), ("90d", 90), ("12h", Fraction(1, 2)), ("2 weeks", 14), ("1 year", 365)],
)
def test_durations_use_a_365_day_year_and_a_30_day_month(text, days):
    assert parse_duration(text) == days


@pytest.mark.parametrize(("text", "value"), [("10", 10), ("3x", 3), ("100:1", 100), ("20%", Fraction(1, 5))])
def test_ratios(text, value):
    assert parse_ratio(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_count, "0", "--dau: '0' must be more than zero"),
        (parse_count, "-5M", "--dau: '-5M' must be more than zero"),
        (parse_count, "50X", "--dau: unknown unit 'x' in '50X'"),
        (parse_count, "lots", "--dau: 'lots' is not a quantity"),
        (parse_size, "3 XB", "--dau: unknown unit 'xb' in '3 XB'"),
        (parse_duration, "5", "--dau: '5' has no unit"),
        (parse_duration, "5m", "--dau: unknown unit 'm' in '5m'"),  # month or minute? refused, not guessed
        (parse_ratio, "3 apples", "--dau: unknown unit 'apples'"),
        (parse_ratio, "10 apples:1", "--dau: unknown unit 'apples' in '10 apples:1'"),
        (parse_ratio, "10:0", "--dau: '0' must be more than zero"),
        (parse_count, "1" * 5000, "--dau: '1111111111"),  # too many digits, not a crash
        (parse_count, "1e999999999", "--dau: unknown unit"),  # not ten to the billion, computed
        (parse_count, "1e24", "--dau: '1e24' is too large for an estimate"),
    ],
)
def test_bad_quantities_are_usage_errors_naming_the_part(parse, text, message):
    with pytest.raises(UsageError) as caught:
        parse(text, "--dau")
    assert caught.value.what.startswith(message)
    assert caught.value.fix.startswith("write it like")


# ---------------------------------------------------------------------------------------------------------------
# Formatting


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(10**9, 86_400), "11.6 K"),
        (Fraction(10**9), "1 B"),
        (Fraction(999_600), "1 M"),  # rounding carries into the next unit
        (Fraction(694), "694"),
        (Fraction(1, 86_400), "0.0000116"),
    ],
)
def test_counts_format_with_three_significant_digits(value, text):
    assert format_count(value) == text


def test_sizes_format_in_decimal_units():
    assert format_bytes(Fraction(18_250_000_000_000)) == "18.2 TB"  # half-even on the exact value
    assert format_bytes(Fraction(500)) == "500 bytes"
    assert format_byte_rate(Fraction(212_000_000)) == "212 MB/s"
    assert format_exact_bytes(Fraction(1024)) == "1 KiB"
    assert format_exact_bytes(Fraction(2500)) == "2.5 KB"
    assert format_exact_bytes(Fraction(1234567)) == "1,234,567 bytes"
    assert format_exact_bytes(Fraction(1536)) == "1.5 KiB"


positive = st.fractions(min_value=Fraction(1, 10**6), max_value=10**16).filter(lambda x: x > 0)


@given(positive)
def test_counts_round_trip_within_rounding(value):
    back = parse_count(format_count(value))
    assert abs(back - value) <= value * Fraction(5, 1000)


@given(positive)
def test_sizes_round_trip_within_rounding(value):
    back = parse_size(format_bytes(value))
    assert abs(back - value) <= value * Fraction(5, 1000)


@given(st.integers(min_value=1, max_value=10**18))
def test_exact_numbers_in_formulas_read_back_exactly(value):
    assert parse_count(format_number(Fraction(value))) == value
    assert parse_size(format_exact_bytes(Fraction(value))) == value


@given(positive, positive)
def test_formatting_keeps_the_order(a, b):
    low, high = sorted((a, b))
    assert parse_count(format_count(low)) <= parse_count(format_count(high))
    assert parse_size(format_bytes(low)) <= parse_size(format_bytes(high))


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["KB", "MB", "GB", "KiB", "MiB", "GiB"]))
def test_units_scale_by_1000_or_1024(number, unit):
    base = 1024 if "i" in unit else 1000
    power = "KMG".index(unit[0]) + 1
    assert parse_size(f"{number} {unit}") == number * base**power


# ---------------------------------------------------------------------------------------------------------------
# Monotonicity: more of any input never means less of any figure

counts = st.integers(min_value=1, max_value=10**10)
INPUTS = ["dau", "writes_per_user", "read_ratio", "size_bytes", "retention_days", "peak", "replication", "cache_ratio"]


@given(
    st.fixed_dictionaries(
        {
            "dau": counts,
            "writes_per_user": st.integers(1, 1000),
            "read_ratio": st.integers(1, 1000),
            "size_bytes": counts,
            "retention_days": st.integers(1, 3650),
            "peak": st.integers(1, 10),
            "replication": st.integers(1, 5),
            "cache_ratio": st.fractions(Fraction(1, 100), 1),
            "server_qps": counts,
        }
    ),
    st.sampled_from(INPUTS),
    st.integers(1, 10**6),
)
def test_figures_grow_with_every_input(values, grown, extra):
    before = compute(stated(**values))
    bigger = dict(values)
    bigger[grown] = min(Fraction(bigger[grown]) + extra, 1) if grown == "cache_ratio" else bigger[grown] + extra
    after = compute(stated(**bigger))
    for name in est.FIGURES:
        assert getattr(after, name) >= getattr(before, name), name


# ---------------------------------------------------------------------------------------------------------------
# Free text


@pytest.mark.parametrize(
    ("phrase", "name", "value"),
    [
        ("50M DAU", "dau", 50_000_000),
        ("DAU of 2 million", "dau", 2_000_000),
        ("10B messages/day", "writes_per_day", 10**10),
        ("1 billion writes per day", "writes_per_day", 10**9),
        ("100k QPS", "total_qps", 100_000),
        ("500 writes/s", "writes_per_day", 500 * 86_400),
        ("1 KB per message", "size_bytes", 1000),
        ("each record is 500 bytes", "size_bytes", 500),
        ("messages average 2 KiB", "size_bytes", 2048),
        ("keep 5 years", "retention_days", 1825),
        ("retain data for 18 months", "retention_days", 540),
        ("90 days of history", "retention_days", 90),
        ("read:write 100:1", "read_ratio", 100),
        ("write:read ratio 1:10", "read_ratio", 10),
        ("10 reads per write", "read_ratio", 10),
        ("peak 3x", "peak", 3),
        ("3x at peak", "peak", 3),
        ("3 replicas", "replication", 3),
        ("replication factor of 2", "replication", 2),
        ("cache 10% of reads", "cache_ratio", Fraction(1, 10)),
        ("20 posts per user per day", "writes_per_user", 20),
        ("each user sends 40 messages a day", "writes_per_user", 40),
        ("each server handles 20k QPS", "server_qps", 20_000),
        ("5k rps per node", "server_qps", 5_000),
    ],
)
def test_the_phrases_people_write_are_understood(phrase, name, value):
    parsed = parse_text(phrase)
    assert {key: item.value for key, item in parsed.stated.items()} == {name: value}
    assert parsed.not_understood == ()


def test_the_issue_sentence_gives_the_same_estimate_as_the_options():
    text = "50M DAU, 20 posts per user per day, 10 reads per write, 1 KB each, keep 5 years"
    from_text = estimate_from_text(text)
    from_options = compute(
        stated(dau=50_000_000, writes_per_user=20, read_ratio=10, size_bytes=1000, retention_days=1825)
    )
    assert from_text is not None and replace(from_text, readings=()) == from_options
    assert [reading.clause for reading in from_text.readings] == [clause.strip() for clause in text.split(",")]


def test_what_is_not_understood_is_listed_never_guessed():
    parsed = parse_text("Design Twitter: 50M DAU, 300M MAU, 20 posts per user per day; top-10 trends")
    assert set(parsed.stated) == {"dau", "writes_per_user"}
    assert parsed.not_understood == ("top-10 trends",)
    assert est.Reading("300M MAU", "users 300 M (not used: the DAU is stated)", ()) in parsed.readings


def test_views_a_day_are_reads_not_writes():
    parsed = parse_text("1B views per day")
    assert {name: item.value for name, item in parsed.stated.items()} == {"reads_per_day": 10**9}
    assert parsed.not_understood == ()


@pytest.mark.parametrize("verb", ["read", "watch", "view"])
def test_a_count_of_things_users_read_is_not_a_count_of_users(verb):
    """ "users read 5 items per day" once read as DAU 5."""
    parsed = parse_text(f"10M DAU, users {verb} 5 items per day")
    assert {name: item.value for name, item in parsed.stated.items()} == {"dau": 10**7, "reads_per_user": 5}
    alone = parse_text(f"users {verb} 5 items per day")
    assert "dau" not in alone.stated


def test_requests_a_day_are_a_total_rate():
    assert parse_text("864M requests per day").stated["total_qps"].value == 10_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("50M DAU, later 10M DAU", "contradictory figures: '50M DAU' and 'later 10M DAU'"),
        ("20 posts per user per day, 10B messages/day", "contradictory figures: '20 posts per user per day' and"),
        ("0 DAU", "'0 DAU': '0' must be more than zero"),
    ],
)
def test_contradictory_or_zero_figures_in_text_are_usage_errors(text, message):
    with pytest.raises(UsageError) as caught:
        parse_text(text)
    assert caught.value.what.startswith(message)
    assert estimate_from_text(text) is None  # an ask never fails on its context


def test_the_same_figure_twice_is_not_a_contradiction():
    assert parse_text("50M DAU ... 50M DAU").stated["dau"].value == 50_000_000


@pytest.mark.parametrize("text", ["Design a URL shortener", "50M DAU", "Design a top-10 leaderboard", ""])
def test_no_estimate_without_a_write_rate(text):
    assert estimate_from_text(text) is None


@given(st.text(max_size=200))
def test_estimate_from_text_never_raises(text):
    estimate_from_text(text)


@given(st.text(alphabet="0123456789.,e:%x KBMDAUdaysper/", max_size=300))
def test_estimate_from_text_never_raises_on_figures(text):
    estimate = estimate_from_text(text)
    if estimate is not None:
        facts_for_prompt(estimate)


def test_absurd_figures_give_no_estimate_rather_than_a_crash():
    assert estimate_from_text("1" * 5000 + " DAU, 1 write per user per day") is None
    assert estimate_from_text("1e99 DAU, 1 write per user per day") is None
    huge = "9e23 DAU, 9e23 writes per user per day, 9e23 EiB each, keep 9e23 years, 9e23 reads per write"
    estimate = estimate_from_text(huge)
    assert estimate is not None and "storage in total" in facts_for_prompt(estimate)
    json.dumps(est.to_json(estimate))
    assert format_number(Fraction(10**400 + 1, 3)).endswith(",333.67")  # exact, no float overflow


NEAR_MISSES = ["50M DAU", "1 KB each", "peak 3x", "keep 1 year", "10 writes per user per day", "10:1 read:write"]


@given(st.lists(st.sampled_from([*NEAR_MISSES, "5 copies", "and", ",", "2024", "Design X", "0 DAU"]), max_size=8))
def test_estimate_from_text_never_raises_on_near_misses(words):
    estimate_from_text(" ".join(words))


# ---------------------------------------------------------------------------------------------------------------
# For the model


def test_facts_for_the_model_are_the_computed_figures_with_inputs_and_assumptions():
    estimate = estimate_from_text("50M DAU, 20 posts per user per day, 1 KB each, keep 5 years, top-10 list")
    assert estimate is not None
    facts = facts_for_prompt(estimate)
    lines = facts.splitlines()
    assert lines[0] == (
        "Capacity estimates computed by sdx from the stated constraints; use these numbers, do not recompute them:"
    )
    assert "- writes/s (average): 11.6 K/s (1 B ÷ 86,400 s)" in lines
    assert "- storage in total: 5.48 PB (1 TB/day × 1,825 days × 3 replicas)" in lines
    assert (
        "- inputs: DAU 50 M; writes per user per day 20; reads per write 1; size per write 1 KB; retention 1,825 days;"
        in facts
    )
    assert "- defaults assumed: reads per write 1; peak-to-average 2×; replication 3;" in facts
    assert "a year = 365 days" in facts
    assert lines[-1] == "- not understood by sdx (not used): top-10 list"


# ---------------------------------------------------------------------------------------------------------------
# Reference tables


def test_availability_downtime_is_exact():
    four_nines = ref.downtime("99.99")
    assert four_nines.per_year_s == Fraction(31_536, 10)  # 0.0001 × 31,536,000 s = 52.56 min
    assert fmt.format_duration(four_nines.per_year_s) == "52.6 min"
    assert four_nines.per_day_s == Fraction(864, 100)


def test_latency_table_names_its_version_and_spans_l1_to_a_continent():
    assert "jboner" in ref.LATENCY_SOURCE and "2012" in ref.LATENCY_SOURCE
    assert ref.LATENCIES[0].operation == "L1 cache reference"
    assert fmt.format_latency(ref.LATENCIES[0].nanoseconds) == "0.5 ns"
    assert fmt.format_latency(ref.LATENCIES[-1].nanoseconds) == "150 ms"
    assert [p.value for p in ref.POWERS_OF_TWO] == [2**10, 2**20, 2**30, 2**40, 2**50]


def test_facts_list_at_most_five_ignored_clauses():
    estimate = estimate_from_text("1B writes per day; " + "; ".join(f"{n} widgets" for n in range(1, 9)))
    assert estimate is not None and len(estimate.not_understood) == 8
    last = facts_for_prompt(estimate).splitlines()[-1]
    assert (
        last == "- not understood by sdx (not used): 1 widgets; 2 widgets; 3 widgets; 4 widgets; 5 widgets; and 3 more"
    )


@pytest.mark.parametrize(
    "text",
    [
        "DAU" + " " * 200_000,  # adjacent optional spaces backtrack quadratically on a long run
        "1" * 200_000,  # a figure tried from every position of a run of digits
        "x 1 y\n" * 40_000,  # a figure in each of many clauses
        "each user " * 20_000,
    ],
    ids=["spaces", "digits", "clauses", "phrases"],
)
def test_long_contexts_are_parsed_in_linear_time(text):
    started = time.process_time()  # CPU time: other processes on a loaded machine do not count
    estimate_from_text(text)
    assert time.process_time() - started < 10  # quadratic behaviour takes minutes here


# ---------------------------------------------------------------------------------------------------------------
# Review fixes: per-user rates beside a DAU, rates stated at peak, bits


@pytest.mark.parametrize("text", ["1Kb", "1 kb", "1Mb", "8 mb", "500b", "64 kbit"])
def test_a_lowercase_b_means_bits_and_is_refused(text):
    with pytest.raises(UsageError, match="in bits"):
        parse_size(text, "--size")


@pytest.mark.parametrize(
    "text",
    [
        "50 million daily active users, 20 tweets per day each",
        "50M DAU, 20 posts per day per user",
        "50M DAU, 20 messages/day",
        "50M DAU, 20 writes/user/day",
        "20 tweets a day apiece, 50M DAU",
    ],
)
def test_a_rate_beside_a_dau_is_per_user(text):
    e = estimate_from_text(text)
    assert e is not None
    assert e.inputs.dau == 50_000_000 and e.inputs.writes_per_user == 20
    assert e.writes_per_day == 1_000_000_000
    assert e.not_understood == ()


def test_an_unqualified_per_day_count_read_per_user_says_so():
    e = estimate_from_text("50M DAU, 20 messages/day")
    assert e is not None
    assert any(note.startswith("'20 messages/day' read per user a day") for note in e.notes)
    assert "'20 messages/day' read per user a day" in est.facts_for_prompt(e)


def test_writes_per_user_per_day_with_slashes_are_understood():
    assert parse_text("20 writes/user/day").stated["writes_per_user"].value == 20


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("50M DAU, 5000 messages/day", "5000 messages/day"),  # too many for one person, too few for a total
        ("10k DAU, 20 messages/day", "20 messages/day"),  # plausible both ways
        ("50M DAU, 20 requests a day", "20 requests a day"),  # requests per user: not a write rate
    ],
)
def test_an_ambiguous_rate_beside_a_dau_is_listed_not_guessed(text, clause):
    parsed = parse_text(text)
    assert set(parsed.stated) == {"dau"}
    assert parsed.not_understood == (clause,)
    assert estimate_from_text(text) is None


def test_a_large_per_day_count_beside_a_dau_is_a_total_and_the_dau_left_unused_is_noted():
    e = estimate_from_text("50M DAU, 10B messages/day")
    assert e is not None and e.writes_per_day == 10**10
    assert e.notes == (
        "DAU 50 M not used: the write rate comes from '10B messages/day' (that is 200 writes per user a day)",
    )
    assert est.to_json(e)["notes"] == list(e.notes)
    assert "- note: DAU 50 M not used" in est.facts_for_prompt(e)


def test_a_per_day_count_said_in_total_is_a_total():
    e = estimate_from_text("50M DAU, 20k uploads a day in total")
    assert e is not None and e.writes_per_day == 20_000 and e.inputs.writes_per_user is None
    assert any(note.startswith("DAU 50 M not used") for note in e.notes)


def test_a_dau_given_as_an_option_decides_the_reading_of_the_text():
    assert parse_text("20 messages/day").stated["writes_per_day"].value == 20  # no DAU: a total, as before
    assert parse_text("20 messages/day", dau=Fraction(50_000_000)).stated["writes_per_user"].value == 20


def test_dau_is_users_times_the_daily_active_share():
    e = estimate_from_text("1B users, 10% daily active, 2 posts a day")
    assert e is not None
    assert e.inputs.dau == 100_000_000 and e.inputs.writes_per_user == 2 and e.writes_per_day == 200_000_000
    assert "DAU 100 M = '1B users' × '10% daily active'" in e.notes
    assert e.not_understood == ()
    assert parse_text("300M MAU, DAU is 10%").stated["dau"].value == 30_000_000


def test_users_that_are_not_daily_active_are_not_a_dau():
    parsed = parse_text("1B users, 2 posts a day")
    assert set(parsed.stated) == {"writes_per_user"}  # per user: never 2 posts a day in total
    assert parsed.not_understood == ("1B users",)
    assert estimate_from_text("1B users, 2 posts a day") is None


@pytest.mark.parametrize(
    "text",
    ["100k QPS at peak", "peak 100k QPS", "peak of 100k QPS", "100k peak QPS", "at peak, 100k QPS", "peak QPS 100k"],
)
def test_a_qps_stated_at_peak_is_the_peak(text):
    e = estimate_from_text(f"{text}, read:write 10:1")
    assert e is not None
    assert e.inputs.peak_total_qps == 100_000 and e.inputs.total_qps is None
    assert e.write_qps_peak + e.read_qps_peak == 100_000  # the peak stated, not twice it
    assert e.write_qps + e.read_qps == 50_000  # average = peak ÷ the default 2× peak
    assert e.assumptions["peak"] == 2
    assert by_key(e)["writes_per_day"].formula == "100,000 req/s at peak ÷ 2 peak ÷ (1 + 10) × 86,400 s"


def test_a_peak_qps_uses_the_stated_peak_factor():
    e = estimate_from_text("peak 120k QPS, peak 3x")
    assert e is not None and e.write_qps + e.read_qps == 40_000 and e.write_qps_peak + e.read_qps_peak == 120_000
    assert "peak" not in e.assumptions


def test_writes_per_second_at_peak_are_the_peak():
    e = estimate_from_text("5k writes/s at peak")
    assert e is not None and e.write_qps_peak == 5_000 and e.write_qps == 2_500
    assert by_key(e)["writes_per_day"].formula == "5,000 writes/s at peak ÷ 2 peak × 86,400 s"


@pytest.mark.parametrize("text", ["peak 3x, 100k QPS", "100k QPS peak 3x", "100k QPS, 3x at peak"])
def test_an_average_qps_beside_a_peak_factor_stays_the_average(text):
    e = estimate_from_text(text)
    assert e is not None and e.write_qps + e.read_qps == 100_000 and e.inputs.peak_total_qps is None
    assert e.inputs.peak == 3


@pytest.mark.parametrize("text", ["100k QPS, peak 300k QPS", "100k QPS, peak 300k", "peak 300k, 100k QPS"])
def test_an_average_and_an_absolute_peak_give_the_peak_factor(text):
    e = estimate_from_text(text)
    assert e is not None and e.inputs.peak == 3 and "peak" not in e.assumptions
    assert e.write_qps + e.read_qps == 100_000 and e.write_qps_peak + e.read_qps_peak == 300_000


@pytest.mark.parametrize("text", ["50M DAU, each user reads 20 posts a day", "50M DAU, 20 reads per user per day"])
def test_reads_per_user_are_reads_and_no_write_is_made_up(text):
    e = estimate_from_text(text)
    assert e is not None and e.reads_per_day == 10**9 and e.writes_per_day is None and e.write_qps is None
    assert "writes left out: no write rate or read:write ratio was stated" in e.notes
    assert [row.key for row in est.rows(e)][:2] == ["read_qps", "read_qps_peak"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("10B messages/day, 1 KB each, keep 1 year, -5 replicas", "'-5 replicas'"),
        ("-20 KB per message, 10B messages/day", "'-20 KB'"),
        ("keep -5 years, 10B messages/day, 1 KB each", "'-5 years'"),
        ("peak -3x, 10B messages/day", "'-3x'"),
        ("50M DAU, −20 posts per user per day", "'−20 posts'"),
    ],
)
def test_a_negative_figure_in_text_is_refused_not_read_as_positive(text, named):
    with pytest.raises(UsageError) as refused:
        est.parse_text(text)
    assert refused.value.what.startswith(f"{named}: a quantity must be more than zero")
    assert est.estimate_from_text(text) is None


def test_a_list_dash_or_a_range_is_no_minus_sign():
    parsed = est.parse_text("- 50M DAU\n- 20 posts per user per day\n- 5-10 KB each")
    assert {"dau", "writes_per_user"} <= set(parsed.stated)  # no minus sign read anywhere
