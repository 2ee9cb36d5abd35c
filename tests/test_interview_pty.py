"""`sdx interview` on a real pseudo-terminal, driven by pexpect: one whole session as a candidate types it.

One spawn only (each imports openai, about a second): the opening, a message, `/hint`, `/next` (the toolbar
shows the phase and the time left), Ctrl-C in the middle of the interviewer's reply, Ctrl-D and the question
whether to end, then the grade table.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pexpect
import pytest

from sdx.store.history import History
from tests.runner import Sdx
from tests.terminal_session import TerminalSession
from tests.test_interview import QUESTION, GradingServer, grade_json

TIMEOUT = 20  # seconds for any one expected output


@pytest.fixture
def fake() -> Iterator[GradingServer]:
    server = GradingServer().start()
    yield server
    server.stop()


def expect(child: TerminalSession, pattern: object) -> None:
    """`child.expect(pattern)`, answering prompt-toolkit's cursor position requests on the way (the bottom
    toolbar is only drawn once the terminal has said where the cursor is, as real terminals do)."""
    while child.expect([pattern, "\x1b\\[6n"]) == 1:
        child.send("\x1b[40;1R")


def prompt(child: TerminalSession) -> None:
    expect(child, "you›")


def test_an_interview_typed_on_a_terminal(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(grade_json("strong hire"))
    env = {**sdx.env, "TERM": "xterm-256color"}
    child = TerminalSession(
        sys.executable,
        ["-m", "sdx", "interview", "--minutes", "20", "--level", "staff", QUESTION],
        env=env,
        cwd=str(sdx.home),
        dimensions=(40, 120),
        timeout=TIMEOUT,
        encoding="utf-8",
    )
    expect(child, "mock interview · staff · 20 minutes")
    expect(child, "Requirements")  # the opening, rendered
    expect(child, r"phase 1/6: requirements · (20:00|19:\d\d) left")  # said once, then kept in the toolbar
    prompt(child)
    expect(child, "Ctrl-D ends and grades")  # the keys' hint as the first prompt's placeholder
    expect(child, "\x1b\\[0;7mphase 1/6: requirements · (20:00|19:\\d\\d) left")  # the toolbar, in reverse video
    child.send("How many URLs a month?\r")
    prompt(child)
    child.send("/hint\r")
    prompt(child)
    child.send("/next\r")
    expect(child, "phase 2/6: estimation")
    prompt(child)

    fake.scenario.delay_between = 0.05  # about three seconds for the whole reply: time to press Ctrl-C
    child.send("I'd estimate 40 writes a second\r")
    expect(child, "Requirements")  # the reply is streaming
    child.sendintr()
    expect(child, "reply stopped; your turn")
    prompt(child)
    fake.scenario.delay_between = 0

    child.sendeof()
    expect(child, r"End the interview and grade it\? \[Y/n\]")
    child.send("y\r")
    expect(child, "Grade: strong hire \\(staff bar\\)")
    expect(child, "Communication")
    expect(child, "Hints used: 1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    with History.open(sdx.config_dir / "history.db") as history:
        stored = history.load(history.latest(kind="interview") or "")
    assert [(turn.question, turn.status) for turn in stored.turns] == [
        (QUESTION, "complete"),
        ("How many URLs a month?", "complete"),
        ("/hint", "complete"),
        ("/next", "complete"),
        ("I'd estimate 40 writes a second", "interrupted"),
    ]
    assert stored.meta["grade_status"] == "graded" and stored.meta["grade"]["recommendation"] == "strong hire"
    [grading] = fake.grading_requests()
    assert "Candidate: I'd estimate 40 writes a second" in grading.body["messages"][1]["content"]
    assert "How many URLs a month?" in (sdx.config_dir / "interview_input_history").read_text(encoding="utf-8")
