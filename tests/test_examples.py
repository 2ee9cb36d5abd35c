"""The question bank and `sdx examples`: its content checked against the rubric, the filters, JSON, and the
numbered list read back by `sdx batch -`."""

from __future__ import annotations

import json

from sdx.domain import question_bank, rubric
from sdx.domain.batch_input import parse_questions
from tests import runner

# The eleven built-in questions of 0.1.0, in their order: `ask --example N` must keep meaning the same one.
FIRST_ELEVEN = [
    "Design a URL shortener like bit.ly",
    "Design a rate limiter for a public API",
    "Design a chat system like WhatsApp or Slack",
    "Design a news feed like Twitter's home timeline",
    "Design a video streaming service like YouTube or Netflix",
    "Design a ride-sharing service like Uber",
    "Design a distributed key-value store like DynamoDB",
    "Design a web crawler that fetches a billion pages a month",
    "Design a notification service for email, SMS and push",
    "Design search autocomplete (typeahead) for a large site",
    "Design a distributed cache like Redis",
]


def test_the_bank_keeps_the_first_eleven_and_holds_forty_distinct_questions():
    texts = question_bank.texts()
    assert list(texts[:11]) == FIRST_ELEVEN
    assert len(texts) >= 40
    assert len({text.casefold() for text in texts}) == len(texts)


def test_every_question_names_rubric_dimensions_a_level_and_topics():
    assert tuple(rubric.LEVELS) == question_bank.LEVELS
    for question in question_bank.questions():
        assert question.topics, question
        assert 1 <= len(question.dimensions) <= 3, question
        assert set(question.dimensions) <= set(rubric.DIMENSION_KEYS), question
        assert len(set(question.dimensions)) == len(question.dimensions), question
        assert question.level in rubric.LEVELS, question
    exercised = {key for question in question_bank.questions() for key in question.dimensions}
    assert exercised == set(rubric.DIMENSION_KEYS)  # --weak finds a drill for every dimension
    assert {question.level for question in question_bank.questions()} == set(rubric.LEVELS)


def test_examples_lists_the_bank_numbered(sdx: runner.Sdx):
    result = sdx.call("examples")
    assert result.code == 0, result.stderr
    lines = result.out.splitlines()
    assert len(lines) == len(question_bank.questions())
    assert lines[0] == " 1. Design a URL shortener like bit.ly"
    assert lines[10] == "11. Design a distributed cache like Redis"


def test_examples_by_topic_and_level_as_json(sdx: runner.Sdx):
    result = sdx.call("examples", "--topic", "storage", "--level", "staff", "--json")
    assert result.code == 0, result.stderr
    listed = json.loads(result.out)
    assert [item["number"] for item in listed] == [
        q.number for q in question_bank.questions() if "storage" in q.topics and q.level == "staff"
    ]
    assert len(listed) >= 3
    seven = listed[0]
    assert seven == {
        "number": 7,
        "question": "Design a distributed key-value store like DynamoDB",
        "topics": ["storage", "consistency"],
        "dimensions": ["deep_dive", "tradeoffs", "reliability_scale"],
        "level": "staff",
    }
    assert result.stderr == ""


def test_a_filtered_list_keeps_the_numbers_ask_takes(sdx: runner.Sdx, fake):
    line = sdx.call("examples", "--topic", "payments", "--level", "staff").out.splitlines()[0]
    number, _, text = line.strip().partition(". ")
    assert sdx.call("ask", "--example", number, "--no-log").code == 0
    assert fake.chat_requests()[0].body["messages"][1]["content"] == text


def test_random_draws_one_from_the_filtered_questions(sdx: runner.Sdx):
    allowed = {f"{q.number:>2}. {q.text}" for q in question_bank.select("geospatial", "senior")}
    seen = set()
    for _ in range(4):
        result = sdx.call("examples", "--random", "--topic", "geospatial", "--level", "senior")
        assert result.code == 0, result.stderr
        assert len(result.out.splitlines()) == 1
        seen.add(result.out.rstrip("\n"))
    assert seen <= allowed
    assert len(json.loads(sdx.call("examples", "--random", "--json").out)) == 1


def test_unknown_topic_or_level_is_one_usage_line(sdx: runner.Sdx):
    result = sdx.call("examples", "--topic", "blockchain")
    assert result.code == 2
    assert result.out == ""
    assert result.stderr.startswith("sdx: error: unknown topic 'blockchain' — choose one of: caching, ")
    assert len(result.stderr.splitlines()) == 1
    result = sdx.call("examples", "--level", "principal")
    assert result.code == 2
    assert result.stderr == "sdx: error: unknown level 'principal' — choose one of: mid, senior, staff\n"


def test_no_match_says_so_and_json_is_an_empty_list(sdx: runner.Sdx):
    result = sdx.call("examples", "--topic", "payments", "--level", "mid")
    assert (result.code, result.out) == (0, "")
    assert "no built-in question has the topic payments and is asked at the mid level" in result.stderr
    assert sdx.call("examples", "--topic", "payments", "--level", "mid", "--json").out == "[]\n"


def test_examples_piped_into_batch_are_not_numbered_twice(sdx: runner.Sdx, fake):
    listed = sdx.call("examples", "--topic", "geospatial").out
    result = sdx.call("batch", "-", "--out", "guide", "--no-log", "-j", "1", input=listed)
    assert result.code == 0, result.stderr
    asked = sorted(request.body["messages"][1]["content"] for request in fake.chat_requests())
    assert asked == sorted(q.text for q in question_bank.select("geospatial"))
    names = sorted(path.name for path in (sdx.home / "guide").iterdir())
    assert "01-design-a-ride-sharing-service-like-uber.md" in names


def test_only_a_list_numbered_on_every_line_loses_its_numbers():
    parsed = parse_questions(" 1. Design a cache\n 2) Design a queue\n\n10. Design a feed\n")
    assert [q.text for q in parsed.questions] == ["Design a cache", "Design a queue", "Design a feed"]
    mixed = parse_questions("1. Design a cache\nDesign a queue\n")
    assert [q.text for q in mixed.questions] == ["1. Design a cache", "Design a queue"]
    assert [q.text for q in parse_questions("2.5 million users: design a counter\n").questions] == [
        "2.5 million users: design a counter"
    ]
