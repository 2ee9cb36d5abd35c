"""Properties of the sentence reader (Hypothesis): a problem stated as options and as a sentence gives the same
figures; the order of the clauses changes nothing; a clause listed as not understood never yields a figure."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from sdx.domain import estimates as est
from sdx.domain.estimates import Stated

ALL_FIGURES = (*est.FIGURES, *est.NEW_FIGURES)


def figures(estimate: est.Estimate) -> dict[str, object]:
    return {name: getattr(estimate, name) for name in ALL_FIGURES}


def written(value: int, style: int) -> str:
    """How people write a number: 50000000, 50,000,000 or 50M (when exact)."""
    if style == 1:
        return f"{value:,}"
    if style == 2 and value % 10**6 == 0:
        return f"{value // 10**6}M"
    if style == 2 and value % 1000 == 0:
        return f"{value // 1000}k"
    return str(value)


problem = st.fixed_dictionaries(
    {
        "dau": st.integers(1, 10**4).map(lambda n: n * 1000),
        "writes_per_user": st.integers(1, 200),
        "read_ratio": st.integers(1, 500),
        "size_bytes": st.integers(1, 10**6),
        "retention_days": st.integers(1, 4000),
        "peak": st.integers(1, 10),
        "replication": st.integers(1, 5),
    }
)


def sentence_clauses(values: dict[str, int], style: int) -> list[str]:
    return [
        f"{written(values['dau'], style)} DAU",
        f"{values['writes_per_user']} posts per user per day",
        f"{values['read_ratio']} reads per write",
        f"{written(values['size_bytes'], style % 2)} bytes each",
        f"keep {values['retention_days']} days",
        f"peak {values['peak']}x",
        f"{values['replication']} replicas",
    ]


@settings(max_examples=60, deadline=None)
@given(problem, st.integers(0, 2))
def test_options_and_a_sentence_give_the_same_figures(values, style):
    from_options = est.compute({name: Stated(Fraction(value), f"--{name}") for name, value in values.items()})
    parsed = est.parse_text(", ".join(sentence_clauses(values, style)))
    assert parsed.not_understood == ()
    assert figures(est.compute(parsed.stated)) == figures(from_options)


@settings(max_examples=60, deadline=None)
@given(problem, st.randoms(use_true_random=False))
def test_shuffling_the_clauses_changes_nothing(values, random):
    clauses = [*sentence_clauses(values, 2), "QPS = 1B / 86400", "each user follows 200 people"]
    before = est.parse_text("; ".join(clauses))
    random.shuffle(clauses)
    after = est.parse_text("; ".join(clauses))
    assert {n: s.value for n, s in after.stated.items()} == {n: s.value for n, s in before.stated.items()}
    assert set(after.not_understood) == set(before.not_understood)
    assert figures(est.compute(after.stated)) == figures(est.compute(before.stated))


# clauses read the same whatever surrounds them, each setting its own input
READ_ALONE = {
    "50M DAU": "dau",
    "20 posts per user per day": "writes_per_user",
    "10:1 read to write ratio": "read_ratio",
    "1 KB content per paste": "size_bytes",
    "keep 5 years": "retention_days",
    "peak is three times the average": "peak",
    "no replication": "replication",
    "cache 10% of reads": "cache_ratio",
    "each server handles 20k QPS": "server_qps",
    "each machine has 64 GB RAM": "memory_bytes",
}
# clauses that are never read, whatever surrounds them
NEVER_READ = [
    "Tweets QPS = 150 million * 2 tweets / 24 hour / 3600 seconds = ~3500",
    "Each tweet averages a fanout of 10 deliveries",
    "each DB server handles 5k writes per second",
    "between 5 and 10 KB per message",
    "user_id 8 bytes",
    "500 million tweets per day or 15 billion tweets per month",
    "the peak is roughly 3 to 4 times the average",
    "replicated across 3 regions",
    "each user favorites five tweets per day",
    "reads outnumber writes five to one",
    "12.7 GB of new paste content per month",
    "an update every 30 seconds",
    "1 Gbps network per server",
]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(READ_ALONE)), unique=True, max_size=6),
    st.lists(st.sampled_from(NEVER_READ), unique=True, min_size=1, max_size=5),
    st.randoms(use_true_random=False),
    st.sampled_from(["; ", ". ", "\n", ", "]),
)
def test_nothing_comes_from_a_clause_not_understood(read, unread, random, separator):
    clauses = read + unread
    random.shuffle(clauses)
    parsed = est.parse_text(separator.join(clauses))
    assert set(parsed.not_understood) == set(unread)
    assert set(parsed.stated) == {READ_ALONE[clause] for clause in read}
    alone = est.parse_text(separator.join(clause for clause in clauses if clause in read))
    assert {n: s.value for n, s in parsed.stated.items()} == {n: s.value for n, s in alone.stated.items()}
