"""`sdx show` and `sdx export` of an interview: the candidate's words as the grader reads them, never sdx's hidden
notes to the interviewer (`[sdx interview note] …`) or headings like `## 3. /hint`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sdx.domain.rubric import NOTE_MARK
from tests.runner import Sdx
from tests.test_interview import QUESTION, SESSION, GradingServer, grade_json, stored_interview


@pytest.fixture
def fake() -> Iterator[GradingServer]:
    server = GradingServer().start()
    yield server
    server.stop()


def test_show_and_export_of_an_interview_render_it_as_the_grader_reads_it(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(grade_json("hire"))
    assert sdx.call("interview", QUESTION, "--minutes", "30", input=SESSION).code == 0
    interview = stored_interview(sdx)
    assert NOTE_MARK in interview.turns[1].context  # stored for the interviewer, with every turn
    shown = sdx.call("show", interview.id).out
    exported = sdx.call("export", interview.id).out
    assert shown == exported
    assert NOTE_MARK not in shown and "minutes used" not in shown and "present the problem briefly" not in shown
    headings = [part.partition("\n")[0] for part in shown.split("\n---\n\n")[1:]]  # each turn's, after its rule
    assert headings[:5] == [
        f"## 1. {QUESTION}",
        "## 2. What scale should I design for?",
        "## 3. [asks for a hint]",
        "## 4. [moves on to the next phase]",
        "## 5. A KV store keyed by the short code, with a cache in front",
    ]
    assert "**Context:**" not in shown
    figures = shown.index("> **Figures from /estimate:**")
    assert shown.index("## 5. A KV store") < figures and "writes/s (average): 1.16 K/s" in shown[figures:]
