"""The practice loop around `sdx interview`, in-process against the loopback grading server: a drill of the weakest
dimensions (`--weak`), a retry with its changes (`--retry`), an interrupted interview resumed with the time left
(`--resume`), and a debrief of a graded interview (`sdx chat --cid`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sdx.domain import question_bank, rubric
from sdx.store.history import History
from tests.fake_server import Failure
from tests.runner import Sdx, stored_conversations
from tests.test_interview import QUESTION, GradingServer, grade_json, stored_interview


@pytest.fixture
def fake() -> Iterator[GradingServer]:
    server = GradingServer().start()
    yield server
    server.stop()


SCRIPT = "Requirements first: who uses it?\nA KV store keyed by the short code\n"


def grade_with(recommendation: str = "hire", **scores: int) -> str:
    grade = json.loads(grade_json(recommendation))
    for key, score in scores.items():
        grade["dimensions"][key]["score"] = score
    return json.dumps(grade)


def interview(sdx: Sdx, fake: GradingServer, *args: str, grade: str | None = None, script: str = SCRIPT):
    fake.grades.append(grade or grade_json())
    result = sdx.call("interview", *args, input=script)
    assert result.code == 0, result.stderr
    return result


# ---------------------------------------------------------------------------------------------------------------
# sdx chat --cid on an interview: a debrief


def test_a_graded_interview_opens_a_debrief_seeded_with_transcript_and_grade(sdx: Sdx, fake: GradingServer):
    interview(sdx, fake, QUESTION, grade=grade_with("no hire", estimation=1))
    graded = stored_interview(sdx)
    before = len(fake.chat_requests())
    result = sdx.call("chat", "--cid", graded.id[:10], input="And the cache?\n")
    assert result.code == 0, result.stderr
    assert f"sdx: debrief of the interview “{QUESTION}” ({graded.id})" in result.stderr
    first, second = (request.body["messages"] for request in fake.chat_requests()[before:])
    opening = first[-1]["content"]
    assert opening.startswith("What would a strong answer have covered?\n\nContext/Constraints: This is the transcript")
    assert "Candidate: Requirements first: who uses it?" in opening
    assert "Candidate: A KV store keyed by the short code" in opening
    assert "## Grade: no hire (senior bar)" in opening and "### Estimation: 1/4" in opening
    assert "[sdx interview note]" not in opening
    assert second[1]["content"] == opening  # the seed stays with the first turn
    assert second[-1] == {"role": "user", "content": "And the cache?"}
    conversations = stored_conversations(sdx)
    debrief = next(conversation for conversation in conversations if conversation.kind == "chat")
    assert debrief.meta == {"debrief_of": graded.id}
    assert debrief.title == f"Debrief: {QUESTION}"
    assert [turn.question for turn in debrief.turns] == ["What would a strong answer have covered?", "And the cache?"]
    assert stored_interview(sdx).turns == graded.turns  # nothing added to the graded transcript


def test_a_debrief_asks_the_question_given_instead(sdx: Sdx, fake: GradingServer):
    interview(sdx, fake, QUESTION)
    graded = stored_interview(sdx)
    before = len(fake.chat_requests())
    assert sdx.call("chat", "--cid", graded.id, "Why only 3 on estimation?", input="").code == 0
    [request] = fake.chat_requests()[before:]
    assert request.body["messages"][-1]["content"].startswith("Why only 3 on estimation?\n\nContext/Constraints: ")


def test_an_interview_without_a_grade_is_not_debriefed(sdx: Sdx, fake: GradingServer):
    fake.grades.extend(["no JSON", "still none"])
    assert sdx.call("interview", QUESTION, input=SCRIPT).code == 4
    ungraded = stored_interview(sdx)
    before = len(fake.requests)
    result = sdx.call("chat", "--cid", ungraded.id, input="hello\n")
    assert result.code == 2
    assert result.stderr == (
        f"sdx: error: {ungraded.id} is a mock interview without a grade, so there is nothing to debrief yet"
        f" — grade it first: sdx interview --regrade {ungraded.id[:8]}\n"
    )
    assert len(fake.requests) == before
    assert len(stored_conversations(sdx)) == 1


# ---------------------------------------------------------------------------------------------------------------
# sdx interview --weak


def test_weak_drills_the_lowest_dimensions_and_tells_the_interviewer(sdx: Sdx, fake: GradingServer):
    interview(sdx, fake, QUESTION, grade=grade_with(estimation=1, reliability_scale=2, tradeoffs=2))
    interview(sdx, fake, QUESTION, grade=grade_with(estimation=2, reliability_scale=2, tradeoffs=3))
    before = len(fake.chat_requests())
    result = interview(sdx, fake, "--weak", "--minutes", "20")
    # the weakest: estimation (2, mean 1.5), then reliability and scale (2, mean 2); the first question that
    # exercises both is the video streaming service (#5)
    expected = question_bank.by_number(5)
    assert {"estimation", "reliability_scale"} <= set(expected.dimensions)
    assert f"sdx: drill: Estimation and Reliability and scale, with #5 “{expected.text}”" in result.stderr
    system = fake.chat_requests()[before].body["messages"][0]["content"]
    assert system.startswith(rubric.interviewer_prompt(expected.text, "senior", 20))
    assert "Estimation: what meets the senior bar: " + rubric.DIMENSIONS[1].expected["senior"] in system
    assert "Reliability and scale: what meets the senior bar: " in system
    assert "Trade-offs" not in system.split("This interview is a drill")[1]
    drill = stored_interview(sdx)
    assert drill.meta["question"] == expected.text
    assert drill.meta["drill"] == ["estimation", "reliability_scale"]


def test_weak_without_a_graded_interview_is_a_usage_error(sdx: Sdx, fake: GradingServer):
    result = sdx.call("interview", "--weak", input=SCRIPT)
    assert result.code == 2
    assert result.stderr.startswith(
        "sdx: error: --weak needs a graded interview or review to find the weakest dimensions"
    )
    assert fake.requests == []
    result = sdx.call("interview", "--weak", QUESTION, input=SCRIPT)
    assert result.code == 2 and fake.requests == []


# ---------------------------------------------------------------------------------------------------------------
# sdx interview --retry


def test_retry_asks_the_same_question_and_shows_each_change(sdx: Sdx, fake: GradingServer):
    interview(sdx, fake, "Design a pastebin", "--level", "mid", grade=grade_with("no hire", estimation=1, deep_dive=2))
    earlier = stored_interview(sdx)
    before = len(fake.chat_requests())
    result = interview(sdx, fake, "--retry", earlier.id[:12], grade=grade_with("hire", estimation=3, communication=4))
    system = fake.chat_requests()[before].body["messages"][0]["content"]
    assert system == rubric.interviewer_prompt("Design a pastebin", "mid", 45)
    retry = stored_interview(sdx)
    assert retry.id != earlier.id and retry.meta["retry_of"] == earlier.id
    assert retry.meta["question"] == "Design a pastebin" and retry.meta["level"] == "mid"
    changes = result.out[result.out.index(f"## Against the earlier attempt ({earlier.id[:8]}, no hire)") :]
    assert "| Estimation | 1/4 | 3/4 | +2 |" in changes
    assert "| Deep dive | 2/4 | 3/4 | +1 |" in changes
    assert "| Communication | 3/4 | 4/4 | +1 |" in changes
    assert "| Requirements and scoping | 3/4 | 3/4 | 0 |" in changes
    assert "Total: 25 of 32 (+4)" in changes  # 21 before


def test_retry_of_what_is_not_a_graded_interview_fails_in_one_line_and_stores_nothing(sdx: Sdx, fake: GradingServer):
    assert sdx.call("ask", "--no-log", "warm-up").code == 0
    assert sdx.call("ask", "Design a cache").code == 0
    fake.grades.extend(["no JSON", "still none"])
    assert sdx.call("interview", QUESTION, input=SCRIPT).code == 4
    ungraded = stored_interview(sdx)
    asked = next(c for c in stored_conversations(sdx) if c.kind == "ask")
    with History.open(sdx.config_dir / "history.db") as history:
        before = [(c.id, c.updated_at, c.meta) for c in history.list(limit=50)]
    requests = len(fake.requests)
    for target, message in [
        (asked.id, f"{asked.id} is an ask conversation, not an interview"),
        (ungraded.id, f"{ungraded.id} was never graded, so there is nothing to compare a retry with"),
        ("ZZZZ", "no conversation has an id starting with 'ZZZZ'"),
    ]:
        result = sdx.call("interview", "--retry", target, input=SCRIPT)
        assert result.code == 2, result.stderr
        assert result.stderr.startswith(f"sdx: error: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert len(fake.requests) == requests
    with History.open(sdx.config_dir / "history.db") as history:
        assert [(c.id, c.updated_at, c.meta) for c in history.list(limit=50)] == before


# ---------------------------------------------------------------------------------------------------------------
# sdx interview --resume


def clock_after(seconds: float):
    """A monotonic clock that reads 1000 once (the interview's start), then `seconds` later ever after."""
    readings = iter([1000.0])
    return lambda: next(readings, 1000.0 + seconds)


def test_resume_continues_an_interrupted_interview_with_the_time_that_was_left(sdx: Sdx, fake: GradingServer):
    fake.grading_failures.append(Failure.json_error(400, "bad request"))  # the grade fails: kept, not graded
    script = "Requirements first: who uses it?\n"
    result = sdx.call("interview", QUESTION, "--minutes", "30", input=script, monotonic=clock_after(12 * 60))
    assert result.code == 4, result.stderr
    interrupted = stored_interview(sdx)
    assert interrupted.meta["grade_status"] == "not graded"
    used = interrupted.meta["elapsed"]
    assert used == 12 * 60
    before = len(fake.chat_requests())
    fake.grades.append(grade_json())
    result = sdx.call("interview", "--resume", interrupted.id[:10], input="Then a cache in front\n/done\n")
    assert result.code == 0, result.stderr
    assert "sdx: resuming the interview “Design a URL shortener”: 12:0" in result.stderr
    assert "of 30 minutes used" in result.stderr
    sent = fake.chat_requests()[before]
    note = sent.body["messages"][-1]["content"]
    assert note.startswith("Then a cache in front")
    assert "[sdx interview note] 12:0" in note and "of 30 minutes used" in note
    assert sent.body["messages"][0]["content"] == interrupted.system_prompt  # no new opening: the same interview
    resumed = stored_interview(sdx)
    assert resumed.id == interrupted.id
    assert [turn.question for turn in resumed.turns] == [QUESTION, script.strip(), "Then a cache in front"]
    assert resumed.meta["grade_status"] == "graded"


def test_resume_refuses_a_graded_interview_or_one_out_of_time(sdx: Sdx, fake: GradingServer):
    interview(sdx, fake, QUESTION)
    graded = stored_interview(sdx)
    result = sdx.call("interview", "--resume", graded.id, input="more\n")
    assert result.code == 2
    assert result.stderr.startswith(f"sdx: error: {graded.id} is already graded, so there is nothing to resume")
    assert "sdx interview --retry" in result.stderr


def interrupted_interview(sdx: Sdx, fake: GradingServer, *args: str, used: float | None = None):
    """An interview whose grade failed (kept, not graded) after 12 minutes of a 30-minute interview at mid; `used`:
    the time it had used when it stopped instead (as stored with its last turn)."""
    fake.grading_failures.append(Failure.json_error(400, "bad request"))
    script = "Requirements first: who uses it?\n"
    result = sdx.call(
        "interview", QUESTION, "--minutes", "30", "--level", "mid", *args, input=script, monotonic=clock_after(12 * 60)
    )
    assert result.code == 4, result.stderr
    interrupted = stored_interview(sdx)
    if used is not None:
        interrupted.meta["elapsed"] = used
        with History.open(sdx.config_dir / "history.db") as history:
            history.update_meta(interrupted)
    return stored_interview(sdx)


def history_rows(sdx: Sdx) -> list[tuple]:
    with History.open(sdx.config_dir / "history.db") as history:
        return [(c.id, c.model, c.updated_at, c.meta) for c in history.list(limit=50)]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--level", "staff"], "is at the mid level, and --resume continues it at that level — drop --level; to"
         " practise at staff, start a new interview with --level staff"),
        (["--minutes", "45"], "is 30 minutes long, and --resume continues it with the time it had left"
         " — drop --minutes"),
        (["Design a chat app"], f"asks “{QUESTION}”, and --resume continues it — give no question with --resume"),
        (["--random"], f"asks “{QUESTION}”, and --resume continues it — give no --random with --resume"),
        (["--weak"], f"asks “{QUESTION}”, and --resume continues it — give no --weak with --resume"),
        (["-c", "50M DAU"], "was presented with no constraints, and --resume continues it as it was — drop -c"),
        (["--no-log"], "is in history, and --resume stores its new turns there — drop --no-log"),
    ],
)  # fmt: skip
def test_resume_refuses_an_option_that_would_change_the_stored_interview(
    sdx: Sdx, fake: GradingServer, args: list[str], line: str
):
    interrupted = interrupted_interview(sdx, fake)
    before, requests = history_rows(sdx), len(fake.requests)
    result = sdx.call("interview", "--resume", interrupted.id[:10], *args, input="more\n")
    assert (result.code, result.out) == (2, "")
    assert result.stderr == f"sdx: error: the interview {interrupted.id[:8]} {line}\n"
    assert len(fake.requests) == requests and history_rows(sdx) == before


def test_resume_takes_the_stored_values_given_again_and_m_answers_from_then_on(sdx: Sdx, fake: GradingServer):
    interrupted = interrupted_interview(sdx, fake, "-c", "50M DAU")
    fake.grades.append(grade_json())
    result = sdx.call(
        "interview", "--resume", interrupted.id, QUESTION, "--level", "mid", "--minutes", "30", "-c", "50M DAU",
        "-m", "openrouter:vendor/other", input="Then a cache in front\n",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    interviewer, grader = fake.chat_requests()[-2:]
    assert interviewer.body["model"] == "vendor/other" and grader.body["model"] == "vendor/other"
    resumed = stored_interview(sdx)
    assert resumed.model == "openrouter:vendor/other"  # a later --resume goes on with it, as chat --cid -m does
    assert resumed.meta["grade_status"] == "graded" and resumed.meta["level"] == "mid"


def test_resume_with_no_time_left_grades_at_once_and_keeps_the_clock(sdx: Sdx, fake: GradingServer):
    interrupted = interrupted_interview(sdx, fake, used=31 * 60)
    assert interrupted.meta["elapsed"] == 31 * 60
    requests = len(fake.chat_requests())
    fake.grades.append(grade_json())
    result = sdx.call("interview", "--resume", interrupted.id, input="this is never read\n")
    assert result.code == 0, result.stderr
    assert result.stderr.startswith(
        f"sdx: the interview “{QUESTION}” has no time left (31:00 of 30 minutes used): grading it now\n"
    )
    assert result.out.startswith("---\n\n## Grade: hire (mid bar)\n")
    [grading] = fake.chat_requests()[requests:]  # no interviewer turn: straight to the grade
    assert grading.body.get("stream") is not True
    graded = stored_interview(sdx)
    assert graded.turns == interrupted.turns and graded.meta["elapsed"] == 31 * 60
    assert graded.meta["grade_status"] == "graded"


def test_resume_with_no_time_left_and_a_failing_grade_keeps_the_transcript(sdx: Sdx, fake: GradingServer):
    interrupted = interrupted_interview(sdx, fake, used=30 * 60)
    fake.grading_failures.append(Failure.json_error(400, "bad request"))
    result = sdx.call("interview", "--resume", interrupted.id, input="")
    assert result.code == 4, result.stderr
    kept = stored_interview(sdx)
    assert kept.turns == interrupted.turns and kept.meta["elapsed"] == 30 * 60
    assert kept.meta["grade_status"] == "not graded"


def test_resume_of_what_cannot_be_resumed_is_one_line(sdx: Sdx, fake: GradingServer):
    interview(sdx, fake, QUESTION)
    graded = stored_interview(sdx)
    assert sdx.call("ask", "Design a cache").code == 0
    asked = next(c for c in stored_conversations(sdx) if c.kind == "ask")
    before, requests = history_rows(sdx), len(fake.requests)
    for target, line in [
        (graded.id, f"{graded.id} is already graded, so there is nothing to resume — ask the same question again:"
         f" sdx interview --retry {graded.id[:8]}"),
        (asked.id, f"{asked.id} is an ask conversation, not an interview — see `sdx history --kind interview`"),
        ("ZZZZ", "no conversation has an id starting with 'ZZZZ' — see `sdx history` for the ids"),
    ]:  # fmt: skip
        result = sdx.call("interview", "--resume", target, input="more\n")
        assert (result.code, result.out, result.stderr) == (2, "", f"sdx: error: {line}\n")
    assert len(fake.requests) == requests and history_rows(sdx) == before


def test_regrade_refuses_another_level_or_length_and_takes_the_stored_ones(sdx: Sdx, fake: GradingServer):
    interrupted = interrupted_interview(sdx, fake)
    before = history_rows(sdx)
    for args, line in [
        (["--level", "staff"], "is at the mid level, and --regrade grades it against that level's bar — drop"
         " --level; to practise at staff, start a new interview with --level staff"),
        (["--minutes", "45"], "is 30 minutes long, and --regrade grades it as a 30-minute interview — drop --minutes"),
        (["--no-log"], "is in history, and --regrade stores the new grade there — drop --no-log"),
    ]:  # fmt: skip
        result = sdx.call("interview", "--regrade", interrupted.id, *args)
        assert (result.code, result.stderr) == (2, f"sdx: error: the interview {interrupted.id[:8]} {line}\n")
    assert history_rows(sdx) == before
    fake.grades.append(grade_json())
    result = sdx.call("interview", "--regrade", interrupted.id, "--level", "mid", "--minutes", "30")
    assert result.code == 0, result.stderr
    assert stored_interview(sdx).meta["grade_status"] == "graded"
    graded = stored_interview(sdx)
    result = sdx.call("interview", "--regrade", graded.id, "--level", "staff")
    assert result.stderr.endswith(
        f"— drop --level; to be graded at staff: sdx interview --retry {graded.id[:8]} --level staff\n"
    )


def invented(recommendation: str, dimension: str, **scores: int) -> str:
    """A grade whose quote for `dimension` is not in the transcript (sent back once, and invented again)."""
    grade = json.loads(grade_with(recommendation, **scores))
    grade["dimensions"][dimension]["evidence"] = ["we shard by the phase of the moon"]
    return json.dumps(grade)


def test_a_retry_marks_unverified_scores_and_the_changes_taken_from_them(sdx: Sdx, fake: GradingServer):
    fake.grades.append(invented("no hire", "estimation", estimation=1, deep_dive=2))
    interview(sdx, fake, "Design a pastebin", grade=invented("no hire", "estimation", estimation=1, deep_dive=2))
    earlier = stored_interview(sdx)
    fake.grades.append(invented("hire", "communication", estimation=3, communication=4))
    result = interview(
        sdx, fake, "--retry", earlier.id, grade=invented("hire", "communication", estimation=3, communication=4)
    )
    changes = result.out[result.out.index("## Against the earlier attempt") :].splitlines()
    assert changes[4:] == [
        "| Requirements and scoping | 3/4 | 3/4 | 0 |",
        "| Estimation | 1/4* | 3/4 | +2* |",
        "| API and data model | 3/4 | 3/4 | 0 |",
        "| High-level design | 3/4 | 3/4 | 0 |",
        "| Deep dive | 2/4 | 3/4 | +1 |",
        "| Trade-offs | 3/4 | 3/4 | 0 |",
        "| Reliability and scale | 3/4 | 3/4 | 0 |",
        "| Communication | 3/4 | 4/4* | +1* |",
        "",
        "Total: 25* of 32 (+4*)",
        "",
        "* unverified: an evidence quote behind the score is not in what was graded (such a 3 or 4 does not clear"
        " a drill), or the grade is older than sdx's evidence check; a change or mean marked * is taken from such"
        " a score",
    ]
