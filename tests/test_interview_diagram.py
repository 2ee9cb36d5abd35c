"""`/diagram` in `sdx interview`: the candidate's own diagram is read, drawn by the real d2 on stderr, sent with
their next message and kept in the transcript the grader reads; scripted through piped stdin, in-process, and
once on a real pseudo-terminal (a paste arrives whole there)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pexpect
import pytest

from sdx.commands.interview_diagram import read_diagram, with_diagram
from tests.runner import Sdx
from tests.terminal_session import TerminalSession
from tests.test_interview import GradingServer, grade_json, last_user_message, stored_interview
from tests.test_interview_pty import expect, prompt

QUESTION = "Design an order service"
DIAGRAM = """flowchart LR
  client["Mobile app"] --> api["API (stateless)"]
  api --> db[("Orders DB")]
  api -> cache(("Redis"))"""
BLOCK = f"```mermaid\n{DIAGRAM}\n```"


@pytest.fixture
def fake() -> Iterator[GradingServer]:
    server = GradingServer().start()
    yield server
    server.stop()


def interview(sdx: Sdx, fake: GradingServer, *lines: str, env: dict[str, str] | None = None):
    fake.grades.append(grade_json())
    result = sdx.call("interview", QUESTION, input="\n".join(lines) + "\n", env=env)
    assert result.code == 0, result.stderr
    return result


def test_the_diagram_is_drawn_and_goes_with_the_next_message_into_the_transcript(sdx, fake):
    result = interview(sdx, fake, "/diagram", *DIAGRAM.splitlines(), "/end", "The API scales out", "/done")
    drawing = result.stderr.split("read `->` as `-->`\n")[1].split("sdx: the diagram goes")[0]
    assert "│ Mobile app  │──────▶│ API (stateless)  │" in drawing
    assert "Orders DB" in drawing and "Redis" in drawing and drawing.count("▶") == 3  # three edges, three heads
    assert "sdx: the diagram goes to the interviewer with your next message\n" in result.stderr

    interviewer = fake.interviewer_requests()
    assert len(interviewer) == 2  # the opening, then the message with the diagram: /diagram itself asks nothing
    assert last_user_message(interviewer[1]).startswith(f"The API scales out\n\n{BLOCK}\n\n")
    assert stored_interview(sdx).turns[1].question == f"The API scales out\n\n{BLOCK}"
    grading = last_user_message(fake.grading_requests()[0])
    assert f"Candidate: The API scales out\n\n{BLOCK}\n" in grading


def test_a_diagram_that_does_not_parse_is_not_kept(sdx, fake):
    result = interview(sdx, fake, "/diagram", "flowchart LR", '  a["Client --> b', "/end", "Next idea", "/done")
    assert "sdx: line 2: the label of 'a' has no closing quote\n" in result.stderr
    assert "sdx: the diagram was not kept: fix it and send /diagram again\n" in result.stderr
    assert last_user_message(fake.interviewer_requests()[1]).startswith("Next idea\n\nContext")


def test_a_diagram_still_waiting_at_the_end_is_sent_before_grading(sdx, fake):
    interview(sdx, fake, "/diagram", *DIAGRAM.splitlines())  # end of input ends the diagram and the interview
    interviewer = fake.interviewer_requests()
    assert len(interviewer) == 2
    assert last_user_message(interviewer[1]).startswith(f"Here is my diagram.\n\n{BLOCK}")
    assert BLOCK in last_user_message(fake.grading_requests()[0])


def test_without_d2_the_candidate_sees_the_edges(sdx, fake):
    lines = ["/diagram", *DIAGRAM.splitlines(), "/end", "/done"]
    result = interview(sdx, fake, *lines, env={"SDX_D2": str(sdx.home / "no-d2")})
    assert "; its edges as sdx reads them:\n  Mobile app → API (stateless)\n" in result.stderr
    assert "  API (stateless) → Orders DB, Redis\n" in result.stderr
    assert "┌" not in result.stderr


def test_a_pasted_diagram_arrives_whole_and_ends_at_its_end_line():
    asked: list[str] = []

    def read() -> str:
        asked.append("more")
        return "/end"

    assert read_diagram(f"\n{DIAGRAM}\n\n/end\nnot part of it", read) == DIAGRAM
    assert asked == []
    assert read_diagram("", iter(["flowchart LR", "", "  a --> b", " /end "]).__next__) == "flowchart LR\n\n  a --> b"


def test_backticks_in_a_diagram_cannot_close_its_block_early():
    assert (
        with_diagram("see", 'flowchart LR\n  a["```"] --> b')
        == 'see\n\n````mermaid\nflowchart LR\n  a["```"] --> b\n````'
    )


def test_on_a_terminal_a_pasted_diagram_is_read_whole_and_drawn(sdx, fake):
    """The line editor takes a bracketed paste whole, newlines included: the diagram and its /end in one go."""
    fake.grades.append(grade_json())
    child = TerminalSession(
        sys.executable,
        ["-m", "sdx", "interview", QUESTION],
        env={**sdx.env, "TERM": "xterm-256color"},
        cwd=str(sdx.home),
        dimensions=(40, 120),
        timeout=20,
        encoding="utf-8",
    )
    prompt(child)
    child.send("/diagram\r")
    expect(child, "type or paste your diagram, then a line /end")
    expect(child, "diagram›")
    child.send("\x1b[200~" + DIAGRAM.replace("\n", "\r") + "\r/end\x1b[201~\r")
    expect(child, "│ Mobile app  │──────▶│ API \\(stateless\\)  │")
    expect(child, "the diagram goes to the interviewer with your next message")
    prompt(child)
    child.send("It scales out\r")
    expect(child, "Done\\.")  # the end of the interviewer's reply: a Ctrl-D sent while it streams would be lost
    prompt(child)
    child.sendeof()
    expect(child, r"\[Y/n\]")
    child.send("y\r")
    expect(child, "Grade: hire")
    child.expect(pexpect.EOF)
    assert last_user_message(fake.interviewer_requests()[1]).startswith(f"It scales out\n\n{BLOCK}\n\n")
