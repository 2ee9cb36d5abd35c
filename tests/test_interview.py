"""`sdx interview`, scripted through piped stdin, in-process against the loopback server.

The interviewer's turns are streamed (answered with the scenario's answer); the grading request is the one
request that is not streamed, so the server below answers it from a queue of grader texts, and can refuse it
once with a 400 that names `response_format`.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sdx.domain import rubric
from sdx.domain.conversation import Conversation
from sdx.store.history import History
from tests.fake_server import ANSWER, Failure, FakeOpenAI, Recorded
from tests.runner import Sdx

QUESTION = "Design a URL shortener"
KEYS = rubric.DIMENSION_KEYS
MARKER = "<!-- sdx: end of answer {n} -->\n"


class GradingServer(FakeOpenAI):
    """Streams the scenario's answer to the interviewer's turns; answers grading requests from `grades`."""

    def __init__(self) -> None:
        super().__init__()
        self.grades: deque[str] = deque()
        self.grading_failures: deque[Failure] = deque()

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        completion = super()._completion(body)
        if self.grades:
            completion["choices"][0]["message"]["content"] = self.grades.popleft()
        return completion

    def _serve_failure(self, handler: Any) -> bool:
        body = self.requests[-1].body
        if self.grading_failures and isinstance(body, dict) and not body.get("stream"):
            failure = self.grading_failures.popleft()
            handler._send(failure.status, failure.body.encode(), failure.content_type, failure.headers)
            return True
        return super()._serve_failure(handler)

    def grading_requests(self) -> list[Recorded]:
        return [r for r in self.chat_requests() if not r.body.get("stream")]

    def interviewer_requests(self) -> list[Recorded]:
        return [r for r in self.chat_requests() if r.body.get("stream") is True]


@pytest.fixture
def fake() -> Iterator[GradingServer]:
    server = GradingServer().start()
    yield server
    server.stop()


EVIDENCE = "shorten a long URL to a 7-character code"  # in every transcript here: the interviewer's replies


def grade_json(recommendation: str = "hire", evidence: dict[str, list[str]] | None = None) -> str:
    """A grade as a grader writes it; `evidence` replaces some dimensions' quotes."""
    dimension = {"score": 3, "evidence": [EVIDENCE], "missed": ["custom aliases"]}
    return json.dumps(
        {
            "dimensions": {key: {**dimension, "evidence": (evidence or {}).get(key, [EVIDENCE])} for key in KEYS},
            "recommendation": recommendation,
            "summary": "Clear scoping and a sensible store.",
            "strengths": ["asked about scale first"],
            "practice_next": ["estimation out loud", "cache eviction", "failure modes"],
        }
    )


def stored_interview(sdx: Sdx) -> Conversation:
    with History.open(sdx.config_dir / "history.db") as history:
        latest = history.latest(kind="interview")
        assert latest is not None
        return history.load(latest)


def last_user_message(request: Recorded) -> str:
    return request.body["messages"][-1]["content"]


SESSION = "\n".join(
    [
        "What scale should I design for?",
        "/hint",
        "/next",
        "/estimate 100M DAU, 1 write per user per day, 500 bytes each",
        "A KV store keyed by the short code, with a cache in front",
        "/done",
        "this line is never sent",
    ]
)


def test_a_whole_interview_is_run_graded_shown_and_stored(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(grade_json("hire"))
    result = sdx.call("interview", QUESTION, "--level", "mid", "--minutes", "30", input=SESSION)
    assert result.code == 0, result.stderr

    interviewer = fake.interviewer_requests()
    assert len(interviewer) == 5  # opening, a question, /hint, /next, the message with the figures
    system = interviewer[0].body["messages"][0]
    assert system == {"role": "system", "content": rubric.interviewer_prompt(QUESTION, "mid", 30)}
    assert interviewer[0].body["messages"][1]["content"].startswith(QUESTION)
    assert "present the problem briefly" in last_user_message(interviewer[0])
    assert last_user_message(interviewer[1]).startswith("What scale should I design for?")
    assert last_user_message(interviewer[2]).startswith("/hint")
    assert "asked for a hint (hint 1)" in last_user_message(interviewer[2])
    assert "moved on to phase 2/6: estimation" in last_user_message(interviewer[3])
    with_figures = last_user_message(interviewer[4])
    assert with_figures.startswith("A KV store keyed by the short code")
    assert "writes/s (average): 1.16 K/s" in with_figures
    assert all("never sent" not in json.dumps(r.body) for r in fake.requests if r.body)

    [grading] = fake.grading_requests()
    body = grading.body
    assert body["temperature"] == 0 and not body.get("stream") and body["max_tokens"] == 4096
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "interview_grade", "schema": rubric.grade_schema(), "strict": True},
    }
    assert body["provider"] == {"require_parameters": True}  # the default model is on OpenRouter
    assert body["messages"][0] == {"role": "system", "content": rubric.grader_prompt("mid", 1)}
    transcript = body["messages"][1]["content"]
    assert "Candidate: What scale should I design for?" in transcript
    assert "Candidate: [asks for a hint]" in transcript
    assert "Candidate: [moves on to the next phase]" in transcript
    assert "Candidate: A KV store keyed by the short code, with a cache in front" in transcript
    assert transcript.count("Interviewer: # Design a URL shortener") == 5

    # the screen: the phase on stderr, the estimate table on stderr, the replies and the grade on stdout
    assert re.search(r"^sdx: phase 1/6: requirements · (30:00|29:[0-5]\d) left", result.stderr, re.MULTILINE)
    assert "sdx: phase 2/6: estimation" in result.stderr
    assert "Capacity estimate" in result.stderr
    replies = "".join(ANSWER + MARKER.format(n=n) for n in range(1, 6))
    assert result.out.startswith(replies)
    grade_view = result.out[len(replies) :]  # piped: the grade as the Markdown `sdx show --raw` gives
    stored = stored_interview(sdx)
    shown = sdx.call("show", stored.id or "", "--raw")
    assert grade_view.startswith("---\n\n## Grade: hire (mid bar)\n\nClear scoping and a sensible store.\n\n")
    assert shown.out.endswith(grade_view)
    assert "┃" not in grade_view and "│" not in grade_view  # no box-drawn table
    for dimension in rubric.DIMENSIONS:
        assert f"### {dimension.title}: 3/4\n> {EVIDENCE}\n- missed: custom aliases" in grade_view
    assert "**Practise next**\n\n1. estimation out loud\n2. cache eviction\n3. failure modes" in grade_view
    assert grade_view.endswith("Hints used: 1\n")
    assert "unverified" not in grade_view

    assert stored.kind == "interview" and stored.title == QUESTION
    assert [turn.question for turn in stored.turns] == [
        QUESTION,
        "What scale should I design for?",
        "/hint",
        "/next",
        "A KV store keyed by the short code, with a cache in front",
    ]
    assert stored.meta["level"] == "mid" and stored.meta["minutes"] == 30 and stored.meta["question"] == QUESTION
    assert stored.meta["hints"] == 1
    assert stored.meta["grade_status"] == "graded"
    assert stored.meta["grade"]["recommendation"] == "hire"
    assert stored.meta["grade_raw"] == grade_json("hire")
    assert stored.meta["grade"]["evidence_check"] == {"version": 1, "against": "the transcript", "not_found": {}}
    assert stored.meta["grader"] == "gpt-4o-mini"


def test_an_invalid_grade_is_asked_for_again_with_the_problems_quoted(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.extend(['```json\n{"dimensions": {}, "recommendation": "maybe"}\n```', grade_json("no hire")])
    result = sdx.call("interview", QUESTION, input="I'd start with the requirements\n")
    assert result.code == 0, result.stderr
    first, second = fake.grading_requests()
    retry = second.body["messages"]
    assert retry[:2] == first.body["messages"]
    assert retry[2]["role"] == "assistant" and "maybe" in retry[2]["content"]
    assert retry[3]["role"] == "user"
    assert "recommendation: Value error, must be one of" in retry[3]["content"]
    assert "dimensions.requirements: Field required" in retry[3]["content"]
    assert "sdx: the grade was not valid (" in result.stderr and "asking again" in result.stderr
    assert "Grade: no hire (senior bar)" in result.out
    assert stored_interview(sdx).meta["grade_status"] == "graded"


def test_a_grade_invalid_twice_fails_in_one_line_and_keeps_the_transcript(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.extend(["The candidate did well overall.", "Still no JSON, sorry."])
    result = sdx.call("interview", QUESTION, input="I'd start with the requirements\n/done\n")
    assert result.code == 4
    stored = stored_interview(sdx)
    errors = [line for line in result.stderr.splitlines() if line.startswith("sdx: error:")]
    assert errors == [
        "sdx: error: gpt-4o-mini did not produce a valid grade twice (not valid JSON: Expecting value at line 1"
        " column 1); not graded — the transcript and the grader's text are kept; grade it again with"
        f" `sdx interview --regrade {stored.id}` (try a larger model)"
    ]
    assert len(fake.grading_requests()) == 2
    assert [turn.question for turn in stored.turns] == [QUESTION, "I'd start with the requirements"]
    assert stored.meta["grade_status"] == "not graded"
    assert stored.meta["grade"] is None
    assert stored.meta["grade_raw"] == "Still no JSON, sorry."
    assert "Grade:" not in result.out

    # --regrade tries again later, from the stored transcript alone
    fake.grades.append(grade_json("strong hire"))
    again = sdx.call("interview", "--regrade", stored.id[:10])
    assert again.code == 0, again.stderr
    assert "Grade: strong hire (senior bar)" in again.out
    regrading = fake.grading_requests()[-1].body["messages"][1]["content"]
    assert "Candidate: I'd start with the requirements" in regrading
    regraded = stored_interview(sdx)
    assert regraded.meta["grade_status"] == "graded" and regraded.meta["grader"] == "gpt-4o-mini"
    assert regraded.system_prompt == stored.system_prompt  # the interviewer's: the grader's prompt is not stored
    assert len(fake.interviewer_requests()) == 2  # nothing was asked of the interviewer again

    # a regrade that fails leaves that grade as it was, and stores nothing of the grader's text
    fake.grades.extend(["no JSON", "no JSON either"])
    failed = sdx.call("interview", "--regrade", stored.id[:10])
    assert failed.code == 4
    assert failed.stderr.splitlines() == [
        "sdx: the grade was not valid (not valid JSON: Expecting value at line 1 column 1); asking again",
        "sdx: error: gpt-4o-mini did not produce a valid grade twice (not valid JSON: Expecting value at line 1"
        " column 1); the earlier grade stands — the stored interview is unchanged; grade it again with"
        f" `sdx interview --regrade {stored.id}` (try a larger model)",
    ]
    kept = stored_interview(sdx)
    assert kept.meta == regraded.meta and kept.updated_at == regraded.updated_at


def test_a_server_that_rejects_response_format_is_asked_without_it_and_remembered(
    sdx: Sdx, fake: GradingServer
) -> None:
    fake.grading_failures.append(Failure.json_error(400, "Unrecognized request argument supplied: response_format"))
    fake.grades.extend([grade_json(), grade_json()])
    result = sdx.call("interview", QUESTION, input="Requirements first\n")
    assert result.code == 0, result.stderr
    refused, accepted = fake.grading_requests()
    assert "response_format" in refused.body
    assert "response_format" not in accepted.body and "provider" not in accepted.body
    assert accepted.body["messages"] == refused.body["messages"]  # the schema is still described in the prompt
    assert "does not take a JSON schema (response_format); asking without it" in result.stderr
    assert "Grade: hire" in result.out
    remembered = json.loads((sdx.config_dir / "no-response-format.json").read_text())
    assert remembered == [f"{fake.root}/api/v1"]

    # the next interview with the same base URL does not send it at all
    again = sdx.call("interview", QUESTION, input="Requirements first\n")
    assert again.code == 0, again.stderr
    assert "response_format" not in fake.grading_requests()[-1].body
    assert "asking without it" not in again.stderr


def test_a_grading_request_that_fails_keeps_the_interview_for_regrade(sdx: Sdx, fake: GradingServer) -> None:
    from tests.runner import SLEPT

    fake.grading_failures.extend([Failure.json_error(503, "overloaded"), Failure.json_error(402, "no credits")])
    result = sdx.call("interview", QUESTION, input="Requirements first\n")
    assert result.code == 4
    stored = stored_interview(sdx)
    assert "sdx: server error (503); retry 1/3 in 0s" in result.stderr and SLEPT == [0.5]
    assert f"sdx: not graded — the interview is kept; grade it again with `sdx interview --regrade {stored.id}`" in (
        result.stderr.splitlines()
    )
    assert result.stderr.rstrip().splitlines()[-1].startswith("sdx: error: openrouter says the account is out of")
    assert len(fake.grading_requests()) == 2
    assert stored.meta["grade_status"] == "not graded" and len(stored.turns) == 2


def test_a_failed_regrade_of_a_graded_interview_says_the_stored_one_is_unchanged(sdx: Sdx, fake: GradingServer) -> None:
    """The request failing (refused, or not answered within --timeout) after a grade was stored: every line true."""
    fake.grades.append(grade_json("strong hire"))
    assert sdx.call("interview", QUESTION, input="Requirements first\n").code == 0
    graded = stored_interview(sdx)
    unchanged = f"sdx: the earlier grade stands — the stored interview is unchanged; grade it again with" \
        f" `sdx interview --regrade {graded.id}`"  # fmt: skip

    fake.grading_failures.append(Failure.json_error(402, "no credits"))
    refused = sdx.call("interview", "--regrade", graded.id or "")
    assert refused.code == 4
    assert refused.stderr.splitlines()[:1] == [unchanged]
    assert refused.stderr.splitlines()[1].startswith("sdx: error: openrouter says the account is out of credits")

    fake.scenario.delay_first = 2.0
    late = sdx.call("interview", "--regrade", graded.id or "", "--timeout", "0.3")
    assert late.code == 5
    assert late.stderr.splitlines() == [
        "sdx: the earlier grade stands — the stored interview is unchanged",
        "sdx: error: gpt-4o-mini did not finish the grade within 0.3s — grade it with another model:"
        f" `sdx interview --regrade {graded.id} --grader-model MODEL`, or allow longer with --timeout",
    ]
    kept = stored_interview(sdx)
    assert (kept.meta, kept.updated_at) == (graded.meta, graded.updated_at)


def test_a_failed_grade_with_no_log_says_nothing_is_kept(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.extend(["no JSON", "no JSON either"])
    invalid = sdx.call("interview", QUESTION, "--no-log", input="Requirements first\n")
    assert invalid.code == 4
    assert invalid.stderr.splitlines()[-1] == (
        "sdx: error: gpt-4o-mini did not produce a valid grade twice (not valid JSON: Expecting value at line 1"
        " column 1); not graded — it was not stored (--no-log), so it cannot be graded later (try a larger model)"
    )
    fake.grading_failures.append(Failure.json_error(402, "no credits"))
    refused = sdx.call("interview", QUESTION, "--no-log", input="Requirements first\n")
    assert refused.code == 4
    assert (
        refused.stderr.splitlines()[-2]
        == "sdx: not graded — it was not stored (--no-log), so it cannot be graded later"
    )
    assert not (sdx.config_dir / "history.db").exists()


def test_a_web_page_instead_of_a_grade_is_one_line_and_keeps_the_interview(sdx: Sdx, fake: GradingServer) -> None:
    fake.grading_failures.append(
        Failure(200, "<!DOCTYPE html><html>Log in to the Wi-Fi</html>", content_type="text/html")
    )
    result = sdx.call("interview", QUESTION, input="Requirements first\n")
    assert result.code == 5, result.stderr
    assert "unexpected" not in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("sdx: error: 127.0.0.1:")
    assert "answered with a web page instead of the model's answer" in result.stderr
    assert stored_interview(sdx).meta["grade_status"] == "not graded"


def test_a_transcript_too_long_for_a_local_model_is_warned_about(sdx: Sdx, ollama: FakeOpenAI) -> None:
    long_message = "We shard by the code and replicate three ways. " * 600  # about 7,000 tokens
    result = sdx.call("interview", QUESTION, "-m", "llama3.2", input=long_message + "\n")
    assert "sdx: warning: the transcript and rubric are about" in result.stderr
    assert "more than llama3.2 may take" in result.stderr
    grading = ollama.chat_requests()[-1].body
    assert grading["response_format"]["type"] == "json_schema" and "provider" not in grading  # not OpenRouter
    short = sdx.call("interview", QUESTION, "-m", "llama3.2", input="Requirements first\n")
    assert "warning: the transcript" not in short.stderr


class StepClock:
    """A monotonic clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_the_interview_ends_when_time_runs_out(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(grade_json())
    lines = "\n".join(f"message {n}" for n in range(1, 30)) + "\n"
    result = sdx.call("interview", QUESTION, "--minutes", "1", input=lines, monotonic=StepClock(step=1.0))
    assert result.code == 0, result.stderr
    assert "sdx: time is up: the interview is over" in result.stderr
    sent = [last_user_message(r) for r in fake.interviewer_requests()]
    assert 2 <= len(sent) < 29  # some messages were answered, then the clock ended it
    assert sent[-1].startswith(f"message {len(sent) - 1}")
    assert "phase 6/6: wrap-up" in result.stderr  # the clock moved the phases on
    assert "Grade: hire" in result.out
    assert len(stored_interview(sdx).turns) == len(sent)


def test_no_log_stores_nothing(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(grade_json())
    result = sdx.call("interview", QUESTION, "--no-log", input="Requirements first\n")
    assert result.code == 0, result.stderr
    assert not (sdx.config_dir / "history.db").exists()


def test_a_random_question_from_the_examples(sdx: Sdx, fake: GradingServer) -> None:
    from sdx.domain.question_bank import texts

    fake.grades.append(grade_json())
    result = sdx.call("interview", "--random", input="")
    assert result.code == 0, result.stderr
    assert "nothing to grade" in result.stderr
    assert fake.chat_requests()[0].body["messages"][1]["content"].split("\n\n")[0] in texts()
    assert fake.grading_requests() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "sdx: error: no question given — try: sdx interview"),
        ([QUESTION, "--random"], "sdx: error: give a question or --random, not both"),
        ([QUESTION, "--level", "principal"], "sdx: error: unknown level 'principal' — choose one of: mid, senior"),
        ([QUESTION, "--minutes", "0"], "sdx: error: Invalid value for '--minutes'"),
        ([QUESTION, "--regrade", "01ABC"], "sdx: error: --regrade grades a stored interview: give it without a"),
    ],
)
def test_usage_errors(sdx: Sdx, fake: GradingServer, args: list[str], message: str) -> None:
    result = sdx.call("interview", *args, input="")
    assert result.code == 2
    assert result.stderr.startswith(message)
    assert fake.requests == []


def test_regrade_refuses_a_conversation_that_is_not_an_interview(sdx: Sdx, fake: GradingServer, tmp_path: Path) -> None:
    with History.open(sdx.config_dir / "history.db") as history:
        conversation = Conversation(kind="chat", model="gpt-4o-mini", system_prompt="s", prompt_version="1")
        history.create(conversation)
    result = sdx.call("interview", "--regrade", conversation.id or "")
    assert result.code == 2
    assert "is a chat conversation, not an interview" in result.stderr
    with History.open(sdx.config_dir / "history.db") as history:
        asked = Conversation(kind="ask", model="gpt-4o-mini", system_prompt="s", prompt_version="1")
        history.create(asked)
    assert "is an ask conversation, not an interview" in sdx.call("interview", "--regrade", asked.id or "").stderr


def test_commands_on_their_own_send_nothing(sdx: Sdx, fake: GradingServer) -> None:
    result = sdx.call("interview", QUESTION, input="/time\n/bogus\n/estimate\n/estimate lots of users\n/done\n")
    assert result.code == 0
    assert len(fake.chat_requests()) == 1  # the opening; nothing to grade
    time_line = r"^sdx: 0:0\d used of 45 minutes · phase 1/6: requirements · 4[45]:\d\d left$"
    assert re.search(time_line, result.stderr, re.MULTILINE)
    assert "sdx: unknown command /bogus" in result.stderr
    assert "/estimate needs the constraints" in result.stderr
    assert "could not estimate from that" in result.stderr
