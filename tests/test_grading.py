"""Grading (sdx.grading) through `sdx interview`, against loopback servers answering grading requests with fixed
JSON: evidence quotes checked against the transcript, --grader-model and grader_model, the grade's display
(piped Markdown, the table, stacked on a narrow terminal) and grades stored before evidence was checked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sdx.domain import rubric
from sdx.store.history import History
from tests.fake_server import FakeOpenAI
from tests.runner import Sdx
from tests.test_interview import EVIDENCE, QUESTION, GradingServer, grade_json, stored_interview


@pytest.fixture
def fake() -> Iterator[GradingServer]:
    server = GradingServer().start()
    yield server
    server.stop()


# What a candidate says, as a real one would type it; the grader below quotes it, and invents one quote.
ANSWERS = (
    "I'd start with requirements: 100M new links a month, reads 100x writes, links never expire.\n"
    "So about 40 writes/s and 4K reads/s on average; 10 years of links at 500 bytes is about 6 TB.\n"
)
INVENTED = "We would shard the links by user id across 16 Postgres nodes"


def real_looking_grade(invented: bool) -> str:
    """A grade as gpt-4o-mini writes one: typographic apostrophes, quotes cut with …, a full stop added; and, when
    `invented`, a quote the candidate never said."""
    evidence = {
        "requirements": ["I’d start with requirements: 100M new links a month", "links never expire."],
        "estimation": ["about 40 writes/s … 10 years of links at 500 bytes is about 6 TB"],
        "high_level_design": [INVENTED] if invented else [],
    }
    return grade_json("no hire", evidence={key: evidence.get(key, [EVIDENCE]) for key in rubric.DIMENSION_KEYS})


def test_an_invented_quote_is_sent_back_once_naming_it_and_a_corrected_grade_is_verified(
    sdx: Sdx, fake: GradingServer
) -> None:
    fake.grades.extend([real_looking_grade(invented=True), real_looking_grade(invented=False)])
    result = sdx.call("interview", QUESTION, input=ANSWERS)
    assert result.code == 0, result.stderr
    first, second = fake.grading_requests()
    retry = second.body["messages"]
    assert retry[:2] == first.body["messages"]
    assert retry[2] == {"role": "assistant", "content": real_looking_grade(invented=True)}
    sent_back = retry[3]["content"]
    assert f'These evidence quotes are not in the transcript: high_level_design: "{INVENTED}".' in sent_back
    assert "requirements" not in sent_back and "estimation" not in sent_back  # the real quotes are not named
    assert f"sdx: 1 evidence quote is not in the transcript (high_level_design: “{INVENTED}”); asking again" in (
        result.stderr
    )
    stored = stored_interview(sdx).meta
    assert stored["grade"]["evidence_check"] == {"version": 1, "against": "the transcript", "not_found": {}}
    assert stored["grade_raw"] == real_looking_grade(invented=False)
    assert "unverified" not in result.out and "not in the transcript" not in result.out


def test_an_invented_quote_that_persists_is_struck_out_and_its_score_unverified(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.extend([real_looking_grade(invented=True)] * 2)
    result = sdx.call("interview", QUESTION, input=ANSWERS)
    assert result.code == 0, result.stderr
    assert len(fake.grading_requests()) == 2  # sent back once, not again
    stored = stored_interview(sdx)
    check = stored.meta["grade"]["evidence_check"]
    assert check["not_found"] == {"high_level_design": [INVENTED]}
    assert stored.meta["grade_status"] == "graded"

    expected = f"### High-level design: 3/4 (unverified)\n> ~~{INVENTED}~~ *(not in the transcript)*\n"
    assert expected in result.out  # piped: the Markdown
    assert "### Estimation: 3/4\n> about 40 writes/s … 10 years" in result.out  # verified: no mark
    assert result.out.count("(unverified)") == 1
    shown = sdx.call("show", stored.id or "", "--raw")
    assert expected in shown.out

    # on a terminal: the table marks it too
    fake.grades.extend([real_looking_grade(invented=True)] * 2)
    again = sdx.call("interview", "--regrade", stored.id or "", tty=True, columns=160)
    assert again.code == 0, again.stderr
    table = strip_ansi(again.out)
    assert "┃ dimension" in table and "│ unverified │" in table and "(not in the transcript)" in table
    assert f"\x1b[9m“{INVENTED}”" in again.out  # struck through (SGR 9)
    assert table.count("unverified") == 1


def test_a_corrected_grade_that_fails_keeps_the_first_one_marked(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.extend([real_looking_grade(invented=True), "Sorry, here is my analysis instead."])
    result = sdx.call("interview", QUESTION, input=ANSWERS)
    assert result.code == 0, result.stderr
    assert "the corrected grade failed (not valid JSON" in result.stderr
    check = stored_interview(sdx).meta["grade"]["evidence_check"]
    assert check["not_found"] == {"high_level_design": [INVENTED]}


def test_a_grade_stored_before_evidence_was_checked_shows_as_unverified(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(grade_json())
    assert sdx.call("interview", QUESTION, input=ANSWERS).code == 0
    stored = stored_interview(sdx)
    del stored.meta["grade"]["evidence_check"]  # as sdx 0.1 stored it
    with History.open(sdx.config_dir / "history.db") as history:
        history.update_meta(stored)
    shown = sdx.call("show", stored.id or "", "--raw")
    assert shown.code == 0, shown.stderr
    assert f"*{rubric.UNCHECKED_NOTE}*" in shown.out
    assert shown.out.count("/4 (unverified)") == len(rubric.DIMENSIONS)
    assert "~~" not in shown.out  # nothing is said to be invented: it was never checked
    on_terminal = sdx.call("show", stored.id or "", "--no-pager", tty=True)
    assert on_terminal.code == 0 and "unverified" in on_terminal.out


def test_a_not_graded_interview_shows_the_graders_text(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.extend(["The candidate did well overall.", "Overall: hire. ```json {broken"])
    result = sdx.call("interview", QUESTION, input=ANSWERS)
    assert result.code == 4
    shown = sdx.call("show", stored_interview(sdx).id or "", "--raw")
    assert shown.out.endswith(
        "## Grade\n\nnot graded\n\nThe grader's answer, which was not a valid grade:\n\n"
        "````text\nOverall: hire. ```json {broken\n````\n"
    )


def test_the_live_grade_is_stacked_on_a_narrow_terminal(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(real_looking_grade(invented=False))
    result = sdx.call("interview", QUESTION, input=ANSWERS, tty=True, columns=40)
    assert result.code == 0, result.stderr
    out = strip_ansi(result.out)
    grade = out[out.index("Grade: no hire (senior bar)") :]
    assert "┃" not in grade and "…" not in grade.replace("writes/s … 10", "")  # no table, nothing squeezed
    for dimension in rubric.DIMENSIONS:
        assert f"\n{dimension.title}: 3/4\n" in grade
    assert "\n  “links never expire.”\n  - missed: custom aliases\n" in grade
    assert max(len(line.rstrip()) for line in grade.splitlines()) <= 40


def strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)


# ---------------------------------------------------------------------------------------------------------------
# --grader-model


def test_grader_model_grades_with_another_provider(sdx: Sdx, fake: GradingServer, ollama: FakeOpenAI) -> None:
    """Interview with a local model (the Ollama server), grade with a hosted one (the OpenRouter server)."""
    fake.grades.append(real_looking_grade(invented=False))
    result = sdx.call("interview", QUESTION, "-m", "llama3.2", "--grader-model", "gpt-4o-mini", input=ANSWERS)
    assert result.code == 0, result.stderr
    local = ollama.chat_requests()
    assert len(local) == 3 and all(r.body["stream"] is True for r in local)  # the interviewer's turns only
    assert {r.body["model"] for r in local} == {"llama3.2"}
    [grading] = fake.chat_requests()
    assert grading.body["model"] == "openai/gpt-4o-mini" and not grading.body.get("stream")
    assert grading.headers["authorization"] == "Bearer sk-or-test-OPENROUTER-0123456789"
    assert "OPENROUTER" not in json.dumps([r.headers for r in local])  # the key never goes to the local server
    stored = stored_interview(sdx)
    assert stored.model == "llama3.2" and stored.meta["grader"] == "gpt-4o-mini"


def test_grader_model_in_the_config_file(sdx: Sdx, fake: GradingServer, ollama: FakeOpenAI) -> None:
    sdx.write_config('grader_model = "gpt-4o-mini"\n' + sdx.config_file.read_text())
    fake.grades.append(grade_json())
    result = sdx.call("interview", QUESTION, "-m", "llama3.2", input=ANSWERS)
    assert result.code == 0, result.stderr
    assert len(fake.grading_requests()) == 1 and all(r.body["stream"] for r in ollama.chat_requests())

    # --regrade -m names the grader for that regrade, over the config file's
    ollama.scenario.answer = grade_json("strong hire")
    again = sdx.call("interview", "--regrade", stored_interview(sdx).id or "", "-m", "llama3.2")
    assert again.code == 0, again.stderr
    assert stored_interview(sdx).meta["grader"] == "llama3.2"
    assert len(fake.grading_requests()) == 1
