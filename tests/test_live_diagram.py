"""Mermaid blocks drawn in place by the live Markdown renderer, on an emulated terminal (pyte), and through the
whole program: `sdx ask` on a real pseudo-terminal against the fake server, the answer split mid-diagram."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from sdx.environment import Environment, installed
from sdx.terminal.drawing import Drawing, draw, start_drawing
from sdx.terminal.live_markdown import LiveMarkdown
from tests.test_live_markdown import Terminal, fake_clock, make_console, one_shot

DIAGRAM = """\
flowchart TD
    client["Client"] --> lb["Load Balancer"]
    lb --> api1["API 1"] & api2["API 2"]
    api1 --> db[("Orders DB")]
    api2 --> db
"""

ANSWER = f"""\
## High-level design

The load balancer spreads requests over stateless API servers.

```mermaid
{DIAGRAM}```

Both servers write to one **primary** database.
"""

WIDTH = 80


@pytest.fixture(autouse=True)
def environment() -> Iterator[None]:
    with installed(Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), environ={})):
        yield


def real_draw(source: str, columns: int):  # type: ignore[no-untyped-def]
    return start_drawing(source, columns=columns)


def streamed(chunks: list[str], draw_function=real_draw, width: int = WIDTH) -> list[str]:  # type: ignore[no-untyped-def]
    terminal = Terminal(width)
    with fake_clock(1.0), LiveMarkdown(make_console(terminal, width), draw=draw_function) as live:
        for chunk in chunks:
            live.feed(chunk)
    return terminal.lines()


def drawing_rows(source: str, width: int = WIDTH) -> list[str]:
    text = draw(source, columns=width).text
    assert text is not None
    return text.rstrip("\n").splitlines()


def occurrences(lines: list[str], rows: list[str]) -> int:
    return sum(lines[i : i + len(rows)] == rows for i in range(len(lines)))


@pytest.mark.parametrize("size", [3, 11, 40])
def test_a_diagram_split_mid_block_is_drawn_once_in_its_place(size: int) -> None:
    chunks = [ANSWER[i : i + size] for i in range(0, len(ANSWER), size)]
    rows = drawing_rows(DIAGRAM)

    lines = streamed(chunks)

    before = one_shot("## High-level design\n\nThe load balancer spreads requests over stateless API servers.\n", WIDTH)
    after = one_shot("Both servers write to one **primary** database.\n", WIDTH)
    assert lines == [*before, "", *rows, "", *after]
    assert occurrences(lines, rows) == 1
    assert not any("flowchart" in line or "-->" in line for line in lines)


class HeldDrawing:
    """A drawing that is ready only when the test says so."""

    def __init__(self, source: str) -> None:
        self.ready = False
        self.source = source

    def done(self) -> bool:
        return self.ready

    def result(self) -> Drawing:
        return Drawing(self.source, "[the drawing]\n")

    def cancel(self) -> None:
        pass


def test_the_stream_goes_on_while_the_diagram_is_drawn_and_what_follows_waits_for_it() -> None:
    held: list[HeldDrawing] = []

    def slow_draw(source: str, columns: int) -> HeldDrawing:
        held.append(HeldDrawing(source))
        return held[-1]

    terminal = Terminal(WIDTH)
    with fake_clock(1.0), LiveMarkdown(make_console(terminal, WIDTH), draw=slow_draw) as live:  # type: ignore[arg-type]
        live.feed(ANSWER)
        live.feed("\nA paragraph after it.\n\nAnd another.\n\n")
        assert len(held) == 1  # started once, when the block closed
        printed = terminal.scrollback() + terminal.display()
        assert "[the drawing]" not in printed
        held[0].ready = True
        live.feed("The end.\n")
        assert "[the drawing]" in terminal.lines()
    lines = terminal.lines()
    assert lines.count("[the drawing]") == 1
    assert lines.index("[the drawing]") < lines.index("A paragraph after it.") < lines.index("The end.")


def test_a_diagram_that_cannot_be_drawn_shows_its_source_its_edges_and_why() -> None:
    answer = 'Intro.\n\n```mermaid\nflowchart LR\n  a["\u05e9\u05e8\u05ea"] --> b["DB"]\n```\n\nOutro.\n'

    lines = streamed([answer])

    index = lines.index("שרת → DB")
    assert any('a["שרת"] --> b["DB"]' in line for line in lines[:index])
    assert lines[index + 1] == "diagram not drawn: a label has right-to-left text"
    assert lines[-1] == "Outro."


def test_an_unparsable_diagram_shows_its_source_and_the_error() -> None:
    answer = "```mermaid\nflowchart TD\n  Load Balancer --> API\n```\n"

    lines = streamed([answer])

    assert any("Load Balancer --> API" in line for line in lines)
    assert " ".join(lines[-2:]) == "diagram not drawn: line 2: expected an edge such as `-->`, found 'Balancer --> API'"


def test_a_block_left_open_at_the_end_is_printed_as_code_not_drawn() -> None:
    calls: list[str] = []

    def counting_draw(source: str, columns: int):  # type: ignore[no-untyped-def]
        calls.append(source)
        return start_drawing(source, columns=columns)

    lines = streamed(["Intro.\n\n```mermaid\nflowchart TD\n  a --> b\n"], counting_draw)

    assert calls == []
    assert any("a --> b" in line for line in lines)


def test_without_a_draw_function_a_mermaid_block_is_code() -> None:
    terminal = Terminal(WIDTH)
    with fake_clock(1.0), LiveMarkdown(make_console(terminal, WIDTH)) as live:
        live.feed(ANSWER)

    assert terminal.lines() == one_shot(ANSWER, WIDTH)


# The whole program -----------------------------------------------------------------------------------------------


def screen_of(output: bytes, width: int = 100, height: int = 40) -> list[str]:
    terminal = Terminal(width, height)
    terminal.write(output.decode("utf-8"))
    return terminal.lines()


def test_ask_on_a_terminal_draws_the_streamed_diagram_once(sdx, fake) -> None:  # type: ignore[no-untyped-def]
    fake.scenario.answer = ANSWER
    fake.scenario.chunk_size = 7  # the diagram arrives in pieces cut mid-line
    rows = drawing_rows(DIAGRAM, 100)

    result = sdx.run_tty("ask", "Design an order service", columns=100, lines=40)

    assert result.code == 0
    lines = screen_of(result.stdout)
    assert occurrences(lines, rows) == 1
    assert not any("flowchart" in line for line in lines)
    assert "Both servers write to one primary database." in lines


def test_piped_and_saved_answers_are_the_model_s_bytes(sdx, fake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake.scenario.answer = ANSWER
    fake.scenario.chunk_size = 7

    piped = sdx.call("ask", "--no-log", "Design an order service")
    saved = sdx.run_tty("ask", "-o", "answer.md", "Design an order service")
    raw = sdx.run_tty("ask", "--raw", "Design an order service")

    assert piped.stdout == ANSWER.encode()
    assert (sdx.home / "answer.md").read_bytes() == ANSWER.encode()
    assert saved.code == 0
    assert ANSWER.replace("\n", "\r\n").encode() in raw.stdout
