"""The evidence check (sdx.domain.evidence) on quotes as graders really write them: typographic quotes and
apostrophes, a quote cut with an ellipsis, another case, a full stop added, Markdown emphasis in the transcript,
a quote across a line break; and the paraphrases and inventions that are not quotes at all."""

from __future__ import annotations

import pytest

from sdx.domain.evidence import check_record, evidence_view, normalise, quote_found, quotes_not_found

# A transcript as sdx builds it (rubric.transcript), from a real-looking session.
TRANSCRIPT = """\
Question: Design a rate limiter

Interviewer: Let's design a rate limiter for a public API. Where would you like to start?

Candidate: First, who calls it? I'd assume **10M users**, each allowed 100 requests per minute,
and the limiter must add less than 5 ms at p99.

Interviewer: Fine. How would you count requests?

Candidate: A sliding-window counter in Redis, keyed by user_id and the current minute. It's cheap: one INCR
and one EXPIRE per request. If Redis is down we fail open, because blocking every API call is worse.
"""


@pytest.mark.parametrize(
    "quote",
    [
        "I'd assume 10M users",  # the transcript has **10M users**: emphasis is not part of the words
        "I’d assume 10M users, each allowed 100 requests per minute",  # a typographic apostrophe
        "“A sliding-window counter in Redis”",  # quoted again by the grader
        "a sliding-window counter in redis, keyed by user_id and the current minute.",  # case, a full stop
        "100 requests per minute, and the limiter must add less than 5 ms at p99",  # across a line break
        "A sliding-window counter in Redis … we fail open",  # cut with an ellipsis
        "It's cheap... one INCR and one EXPIRE [...] blocking every API call is worse",  # three dots, [...]
        "sliding–window counter",  # an en dash for the hyphen
    ],
)
def test_quotes_as_graders_write_them_are_found(quote: str) -> None:
    assert quote_found(quote, normalise(TRANSCRIPT)), quote


@pytest.mark.parametrize(
    "quote",
    [
        "We would use a token bucket per user",  # invented
        "a sliding-window counter in Memcached",  # a word changed
        "we fail open … A sliding-window counter",  # the parts exist, but not in this order
        "the candidate proposed Redis",  # the grader's paraphrase, not the candidate's words
        "…",  # nothing but the cut
        "",
    ],
)
def test_quotes_that_are_not_in_the_transcript_are_not_found(quote: str) -> None:
    assert not quote_found(quote, normalise(TRANSCRIPT)), quote


def test_the_quotes_not_found_are_listed_by_dimension() -> None:
    evidence = {
        "requirements": ["I’d assume 10M users", "Users are mostly mobile"],
        "estimation": [],
        "deep_dive": ["one INCR and one EXPIRE per request"],
    }
    assert quotes_not_found(evidence, TRANSCRIPT) == {"requirements": ["Users are mostly mobile"]}


def test_a_stored_check_reads_back_and_an_old_grade_reads_as_unchecked() -> None:
    grade = {"evidence_check": check_record({"deep_dive": ["made up"]}, "the design")}
    view = evidence_view(grade)
    assert view.checked and view.missing_note == "not in the design"
    assert view.unverified("deep_dive") and not view.unverified("estimation")
    assert view.invented("deep_dive", "made up") and not view.invented("deep_dive", "real")
    for old in ({"dimensions": {}}, None, {"evidence_check": "garbage"}, {"evidence_check": {"not_found": [1]}}):
        unchecked = evidence_view(old)
        assert not unchecked.checked and unchecked.unverified("estimation")
        assert not unchecked.invented("estimation", "anything")
