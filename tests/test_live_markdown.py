"""`LiveMarkdown` on an emulated terminal (pyte): after the stream, scrollback and screen must hold exactly what a
one-shot `console.print(Markdown(answer, hyperlinks=False))` leaves there, however the answer was chunked and
whenever the live area was redrawn. Redraws are driven by a fake clock, so the tests never depend on the machine's
speed.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console
from rich.markdown import Markdown

from sdx.terminal import live_markdown
from sdx.terminal.live_markdown import LiveMarkdown

HEIGHT = 24


@pytest.fixture(autouse=True, scope="module")
def capable_terminal() -> Iterator[None]:
    """Rich draws no live area for TERM=dumb, which CI machines may set."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TERM", "xterm-256color")
        yield


class TmuxScreen(pyte.HistoryScreen):
    """A screen with a scrollback that, as tmux does by default (`scroll-on-clear`), copies its used rows into the
    scrollback when it is cleared whole: ED 2, or ED 0 from the top-left corner."""

    whole_clears = 0

    def erase_in_display(self, how: int = 0, *args: object, **kwargs: object) -> None:
        if how == 2 or (how == 0 and (self.cursor.x, self.cursor.y) == (0, 0)):
            self.whole_clears += 1
            used = [y for y in range(self.lines) if _row(self.buffer[y], self.columns)]
            for y in range(used[-1] + 1 if used else 0):
                row = pyte.screens.StaticDefaultDict(self.buffer[y].default)
                row.update(self.buffer[y])
                self.history.top.append(row)
        super().erase_in_display(how, *args, **kwargs)


class Terminal:
    """A file for `Console` that feeds a pyte screen with a scrollback, which behaves as tmux on a clear."""

    encoding = "utf-8"

    def __init__(self, width: int, height: int = HEIGHT) -> None:
        self.screen = TmuxScreen(width, height, history=100_000)
        self.screen.set_mode(pyte.modes.LNM)  # LF also returns the carriage, as a tty's output does
        self.stream = pyte.Stream(self.screen)

    def write(self, text: str) -> int:
        self.stream.feed(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def reflow(self, columns: int) -> None:
        """Resize to `columns` as tmux, VTE or iTerm2 do: every row is rewrapped to the new width, the cursor stays
        on its character, blank rows below the cursor go. (Rows are taken as the lines they show: a row wrapped by
        an earlier reflow is not joined again, so reflow once per test.)"""
        rows = self.scrollback() + self.display()
        old_row, old_x = len(self.screen.history.top) + self.screen.cursor.y, self.screen.cursor.x
        wrapped: list[str] = []
        cursor_row = cursor_x = 0
        for index, row in enumerate(rows):
            if index == old_row:
                cursor_row, cursor_x = len(wrapped) + old_x // columns, old_x % columns
            wrapped.extend([row[i : i + columns] for i in range(0, len(row), columns)] or [""])
        while len(wrapped) > cursor_row + 1 and not wrapped[-1]:
            wrapped.pop()
        self.__init__(columns, self.screen.lines)  # type: ignore[misc]
        self.write("\n".join(wrapped))
        top = max(0, len(wrapped) - self.screen.lines)
        self.write(f"\x1b[{cursor_row - top + 1};{cursor_x + 1}H")

    def scrollback(self) -> list[str]:
        return [_row(line, self.screen.columns) for line in self.screen.history.top]

    def display(self) -> list[str]:
        return [_row(self.screen.buffer[y], self.screen.columns) for y in range(self.screen.lines)]

    def lines(self) -> list[str]:
        """Scrollback and screen, without trailing spaces and trailing blank lines."""
        rows = self.scrollback() + self.display()
        while rows and not rows[-1]:
            rows.pop()
        return rows


def _row(line: dict, columns: int) -> str:
    return "".join(line[x].data for x in range(columns)).rstrip()  # a wide char's second cell holds ""


def make_console(file: object, width: int, height: int = HEIGHT) -> Console:
    return Console(
        file=file, force_terminal=True, width=width, height=height, color_system="standard", legacy_windows=False
    )


def one_shot(text: str, width: int) -> list[str]:
    terminal = Terminal(width)
    make_console(terminal, width).print(Markdown(text, hyperlinks=False))
    return terminal.lines()


@contextmanager
def fake_clock(step: float) -> Iterator[None]:
    """Each reading of the clock advances it by `step` seconds; with step >= 0.1 every chunk redraws."""
    ticks = itertools.count()
    with mock.patch.object(live_markdown, "monotonic", lambda: next(ticks) * step):
        yield


def streamed(chunks: list[str], width: int, step: float = 1.0) -> list[str]:
    terminal = Terminal(width)
    with fake_clock(step), LiveMarkdown(make_console(terminal, width)) as live:
        for chunk in chunks:
            live.feed(chunk)
    return terminal.lines()


def cut(text: str, positions: list[int]) -> list[str]:
    bounds = [0, *sorted({p % (len(text) + 1) for p in positions}), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def tokens_of(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def assert_same(got: list[str], expected: list[str]) -> None:
    """Equal line lists: every line of the one-shot render once, in order, none cut, none duplicated."""
    assert "\n".join(got) == "\n".join(expected)


# Answers --------------------------------------------------------------------------------------------------------

words = st.sampled_from(
    [
        *[
            "cache",
            "shard",
            "queue",
            "**write path**",
            "`p99`",
            "*eventual*",
            "系统设计",
            "延迟",
            "🚀",
            "📦",
            "a",
            "~~old~~",
        ],
        *["[the paper](https://example.com/dynamo.pdf)", "<https://example.com/raft>"],
    ]
)
inline = st.lists(words, min_size=1, max_size=14).map(" ".join)
paragraph = st.lists(inline, min_size=1, max_size=3).map("\n".join)
heading = st.tuples(st.integers(1, 4), inline).map(lambda h: "#" * h[0] + " " + h[1])
setext = st.tuples(inline, st.sampled_from(["===", "---"])).map("\n".join)
bullets = st.lists(st.tuples(st.sampled_from(["- ", "* ", "  - "]), inline), min_size=1, max_size=8)
bullet_list = st.tuples(bullets, st.sampled_from(["\n", "\n\n"])).map(
    lambda b: b[1].join(marker + text for marker, text in b[0])
)
ordered_list = st.lists(inline, min_size=1, max_size=6).map(
    lambda items: "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))
)
fence = st.tuples(st.sampled_from(["```", "~~~", "````"]), st.sampled_from(["", "python", "text"]), st.integers(0, 40))
code = fence.map(
    lambda f: "\n".join([f[0] + f[1], *(f"    node_{i} --> [LB] --> 系统 {i * 7}" for i in range(f[2])), f[0]])
)
table = st.lists(st.tuples(inline, inline), min_size=1, max_size=6).map(
    lambda rows: "\n".join(["| part | choice |", "|---|:---|", *(f"| {a} | {b} |" for a, b in rows)])
)
quote = st.lists(inline, min_size=1, max_size=3).map(lambda lines: "\n".join("> " + line for line in lines))
rule = st.sampled_from(["---", "***", "___"])
block = st.one_of(paragraph, heading, setext, bullet_list, ordered_list, code, table, quote, rule)
answers = st.lists(st.tuples(block, st.sampled_from(["\n\n", "\n\n", "\n", "\n\n\n"])), min_size=1, max_size=14).map(
    lambda blocks: "".join(text + gap for text, gap in blocks)
)

SECTION = """## High-level design

Clients talk to a **stateless API tier** behind a load balancer; writes go to the primary, reads to replicas.
Each shard owns a key range, and a small metadata service maps ranges to shards.

```
  client --> [ LB ] --> [ API ] --> [ cache ] --> [ shard 1..N ]
                           |
                           v
                       [ queue ] --> [ workers ]
```

### Capacity
- 100M daily users, 20 requests each: about **23k QPS**, 70k at peak
- 1 KB per record, 10 years: about *36 TB*
  - replicated 3x: 110 TB

| component | choice | why |
|---|---|---|
| store | Cassandra | write-heavy, tunable consistency |
| cache | Redis | hot keys, 99% hit rate |

> Trade-off: eventual consistency on reads from replicas.

1. Write to the log
2. Apply to the store
3. Acknowledge the client
---
"""


# Properties ------------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(answer=answers, positions=st.lists(st.integers(0, 10_000), max_size=60), step=st.sampled_from([1.0, 0.04]))
def test_streamed_answer_looks_like_the_one_shot_render(answer: str, positions: list[int], step: float) -> None:
    assert_same(streamed(cut(answer, positions), 60, step), one_shot(answer, 60))


@settings(max_examples=6, deadline=None)
@given(positions=st.lists(st.integers(0, 100_000), min_size=50, max_size=400), width=st.sampled_from([50, 100]))
def test_answer_of_several_screens_in_small_chunks(positions: list[int], width: int) -> None:
    answer = SECTION * 4
    assert_same(streamed(cut(answer, positions), width, 0.03), one_shot(answer, width))


@settings(max_examples=15, deadline=None)
@given(answer=answers, positions=st.lists(st.integers(0, 10_000), max_size=30))
def test_crlf_line_endings_render_as_lf(answer: str, positions: list[int]) -> None:
    assert_same(streamed(cut(answer.replace("\n", "\r\n"), positions), 60), one_shot(answer, 60))


# Hard cases ------------------------------------------------------------------------------------------------------


def test_code_fence_longer_than_the_screen_shows_its_latest_lines_without_scrolling() -> None:
    lines = [f"line {i:03} | {'=' * (i % 30)}" for i in range(150)]
    answer = "```text\n" + "\n".join(lines) + "\n```\n\nAfter the fence.\n"
    terminal = Terminal(60)
    with fake_clock(1.0), LiveMarkdown(make_console(terminal, 60)) as live:
        for i, line in enumerate(lines):
            live.feed(("```text\n" if i == 0 else "") + line + "\n")
            assert terminal.scrollback() == []  # the live area never scrolls
            assert [row for row in terminal.display() if row][-1].strip() == line.strip()
            assert terminal.display()[-1] == ""  # the terminal's last line is left free
        live.feed("```\n\nAfter the fence.\n")
        assert " line 000 |" in terminal.scrollback()  # once closed and followed, the fence is printed
    assert_same(terminal.lines(), one_shot(answer, 60))


def test_long_list_stays_live_until_the_next_block_then_is_printed_once() -> None:
    items = "".join(f"- item {i} with *emphasis* and `code`\n" for i in range(40))
    answer = items + "\nNext paragraph.\n"
    terminal = Terminal(70)
    with fake_clock(0.03), LiveMarkdown(make_console(terminal, 70)) as live:
        for token in tokens_of(items):
            live.feed(token)
        assert terminal.scrollback() == []
        assert [row for row in terminal.display() if row][-1].startswith(" • item 3")  # the list's bottom
        live.feed("\nNext paragraph.\n")
        assert sum("• item" in line for line in terminal.lines()) == 40  # printed, once
    assert_same(terminal.lines(), one_shot(answer, 70))


TALL_LIST = "".join(f"- item {i:02} of a list taller than the screen\n" for i in range(1, 81))
TALL_FENCE = "```\n" + "".join(f"line {i:02} of a code block taller than the screen\n" for i in range(1, 81)) + "```\n"


@pytest.mark.parametrize("block", [TALL_LIST, TALL_FENCE], ids=["list", "fence"])
@pytest.mark.parametrize("start", [0, 29], ids=lambda row: f"from-row-{row}")  # the corner, the last row
def test_block_taller_than_the_screen_is_in_the_scrollback_once(block: str, start: int) -> None:
    """An 80-line block in a 30-row terminal, from the top-left corner (after `clear`) to the last row: the live
    area shows its bottom lines, and nothing of it reaches the scrollback before it is printed, once."""
    answer = block + "\nDone.\n"
    terminal = Terminal(70, 30)
    terminal.write("".join(f"$ earlier line {i}\n" for i in range(start)))
    with fake_clock(0.03), LiveMarkdown(make_console(terminal, 70, 30)) as live:
        for token in tokens_of(block):
            live.feed(token)
            assert terminal.scrollback() == [f"$ earlier line {i}" for i in range(len(terminal.scrollback()))]
        live.feed("\nDone.\n")
    assert_same(terminal.lines(), [f"$ earlier line {i}" for i in range(start)] + one_shot(answer, 70))
    assert terminal.screen.whole_clears == 0


def test_redraws_from_the_top_left_corner_never_clear_the_whole_screen() -> None:
    """`clear; sdx ask …`: the live area's first row is the screen's. tmux copies the screen into the scrollback on
    a whole-screen clear, so a redraw that erased with one would leave a copy of the live area there each time."""
    answer = SECTION * 2
    terminal = Terminal(80)
    with fake_clock(0.03), LiveMarkdown(make_console(terminal, 80)) as live:
        for token in tokens_of(answer):
            live.feed(token)
    assert terminal.screen.whole_clears == 0
    assert_same(terminal.lines(), one_shot(answer, 80))


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("Intro line\n# Heading right after\nText\n## Another\n- a\n- b\nTail\n", id="heading-after-text"),
        pytest.param("Title\n===\nBody\n---\nMore\n\n---\n\nEnd\n", id="setext-and-rules"),
        pytest.param("Intro\n\n| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 25 + "\nafter\n", id="table"),
        pytest.param("Text\n\n```python\ndef f():\n    return 1\n", id="fence-never-closed"),
        pytest.param("Text\n\n````\n```\nnot closed by a shorter fence\n```\n````\nafter\n", id="nested-fences"),
        pytest.param("> quote\nlazy continuation\n\n- item\n\n  continued item\n\nend\n", id="continuations"),
        pytest.param("- only a list\n- to the end\n", id="starts-with-a-list"),
        pytest.param("Text\n#hashtag\n***strong***\n```a`b`\n1)x\nend\n", id="lines-that-start-like-blocks"),
        pytest.param("<!-- html -->\n\npara\n\n<div>\nx\n</div>\n\n***\n> q\n", id="html-blocks"),
        pytest.param("系统设计 🚀 " * 40 + "\n\n| 列 | 值 |\n|---|---|\n| 延迟 📦 | 10 ms |\n", id="wide-chars"),
        pytest.param("", id="empty"),
        pytest.param("\n\n\n", id="blank"),
    ],
)
def test_hard_cases_match_the_one_shot_render(answer: str) -> None:
    for chunks in (list(answer), tokens_of(answer), [answer]):
        assert_same(streamed(chunks, 50), one_shot(answer, 50))


def test_cr_and_lf_in_separate_chunks_make_one_line_break() -> None:
    assert_same(streamed(["one\r", "\ntwo\r", "\r\n", "# three\r"], 40), one_shot("one\ntwo\n\n# three\n", 40))


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_stream_keeps_the_partial_block(error: type[BaseException]) -> None:
    answer = SECTION * 2
    received = answer[: answer.rindex("| cache") + 9]  # inside the second table
    terminal = Terminal(80)
    with pytest.raises(error), fake_clock(0.05), LiveMarkdown(make_console(terminal, 80)) as live:
        for token in tokens_of(received):
            live.feed(token)
        raise error
    assert_same(terminal.lines(), one_shot(received, 80))


def test_blocks_after_a_resize_use_the_new_width() -> None:
    before, after = "First paragraph.\n\n---\n\nLast before the resize.\n", "\n\n---\n\nWider now.\n"
    terminal = Terminal(40)
    console = make_console(terminal, 40)
    with fake_clock(1.0), LiveMarkdown(console) as live:
        live.feed(before)
        terminal.screen.resize(HEIGHT, 70)
        console.width = 70
        live.feed(after)
    rules = [line for line in terminal.lines() if set(line) == {"-"}]
    assert [len(rule) for rule in rules] == [40, 70]
    # the rule's own blank line ends the first piece, and a rule asks for no blank line after it
    expected = [*one_shot("First paragraph.\n\n---\n", 40), "", *one_shot("Last before the resize." + after, 70)]
    assert_same(terminal.lines(), expected)


def test_ctrl_c_echo_does_not_leave_a_duplicated_line() -> None:
    """The terminal echoes `^C` where the cursor is. After a line padded to the full width, the echo would wrap
    to a new line and the erase would land one line low, leaving the live area's first line on screen twice."""
    received = "Intro.\n\n" + " ".join(f"word{i:03}" for i in range(40))  # a paragraph still streaming
    terminal = Terminal(60)
    with pytest.raises(KeyboardInterrupt), fake_clock(1.0), LiveMarkdown(make_console(terminal, 60)) as live:
        for token in tokens_of(received):
            live.feed(token)
        assert terminal.screen.cursor.x == 0  # on the empty line below the live area
        terminal.write("^C")
        raise KeyboardInterrupt
    assert_same(terminal.lines(), one_shot(received, 60))


def test_narrowing_a_reflowing_terminal_shows_the_live_block_once() -> None:
    """tmux, VTE and iTerm2 rewrap the live area's lines when the terminal narrows: erasing as many rows as
    were drawn would leave the top of the rewrapped block on screen, and the block would show twice."""
    words = [f"word{i:03}" for i in range(60)]
    lines = [" ".join(words[i : i + 6]) for i in range(0, 60, 6)]  # complete lines: the intro is printed early
    answer = "Intro paragraph.\n\n" + "\n".join(lines) + "\n"
    half = len(answer) // 2
    terminal = Terminal(80)
    size = [80, HEIGHT]
    with fake_clock(1.0), LiveMarkdown(make_console(terminal, 80), size=lambda: (size[0], size[1])) as live:
        for token in tokens_of(answer[:half]):
            live.feed(token)
        terminal.reflow(50)
        size[0] = 50
        for token in tokens_of(answer[half:]):
            live.feed(token)
    text = " ".join(terminal.lines())
    assert [text.count(word) for word in ["Intro paragraph.", *words]] == [1] * (len(words) + 1)
    assert all(len(line) <= 50 for line in terminal.lines())
    assert terminal.lines()[-len(one_shot(answer, 50)) + 1 :] == one_shot(answer, 50)[1:]  # drawn at the new width


def test_live_area_lines_are_not_padded_to_the_width() -> None:
    terminal = Terminal(60)
    with fake_clock(1.0), LiveMarkdown(make_console(terminal, 60)) as live:
        live.feed("A short line that stays live")
        assert terminal.display()[0] == "A short line that stays live"
        assert (terminal.screen.cursor.y, terminal.screen.cursor.x) == (1, 0)  # not at the end of a padded line
        assert terminal.screen.buffer[0][59].data == " "


LINK = "See [official bank login](http://evil.example/phish) and <https://example.com/raft>.\n"


def osc8_written(markdown: Markdown) -> str:
    file = io.StringIO()
    make_console(file, 80).print(markdown)
    return file.getvalue()


def test_links_show_their_target_and_are_not_terminal_hyperlinks() -> None:
    assert "\x1b]8;id=" in osc8_written(Markdown(LINK))  # what Rich writes for a hyperlink: the check below can fail
    for answer in (LINK, "Intro.\n\n" + LINK + "\n- " + LINK + "\nEnd.\n"):
        file = io.StringIO()
        with fake_clock(1.0), LiveMarkdown(make_console(file, 80)) as live:
            for token in tokens_of(answer):  # the link is drawn in the live area, then printed
                live.feed(token)
        assert "\x1b]8;" not in file.getvalue()
        assert "official bank login (http://evil.example/phish)" in " ".join(streamed(tokens_of(answer), 80))


def test_not_a_terminal_gets_the_one_shot_text() -> None:
    answer = SECTION * 2
    streamed_out, one_shot_out = io.StringIO(), io.StringIO()
    with fake_clock(1.0), LiveMarkdown(Console(file=streamed_out, width=80)) as live:
        for token in tokens_of(answer):
            live.feed(token)
    Console(file=one_shot_out, width=80).print(Markdown(answer, hyperlinks=False))
    assert streamed_out.getvalue() == one_shot_out.getvalue()


class WriteCounter(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += bool(text)
        return super().write(text)


def test_live_area_is_redrawn_at_most_refresh_per_second_times_a_second() -> None:
    file = WriteCounter()
    with fake_clock(0.001), LiveMarkdown(make_console(file, 80), refresh_per_second=10) as live:
        for token in tokens_of("word " * 2000):  # one paragraph: nothing is printed before the end
            live.feed(token)  # 2,500 chunks, and as many clock readings: 2.5 s
    assert 10 <= file.writes <= 2.5 * 10 + 4  # redraws, plus start and stop


# Cost ------------------------------------------------------------------------------------------------------------


def printed_pieces_and_parsed_chars(answer: str) -> tuple[list[str], int]:
    """Streams `answer` in 4-character tokens, redrawing every other token (far more often than real time)."""
    console = make_console(io.StringIO(), 100)
    pieces: list[str] = []
    parsed = 0
    real_print, real_parse = console.print, MarkdownIt.parse

    def record_print(*objects: object, **kwargs: object) -> None:
        pieces.extend(o.markup for o in objects if isinstance(o, Markdown))
        real_print(*objects, **kwargs)

    def count_parse(self: MarkdownIt, src: str, env: object = None) -> list:
        nonlocal parsed
        parsed += len(src)
        return real_parse(self, src, env)

    with (
        mock.patch.object(console, "print", record_print),
        mock.patch.object(MarkdownIt, "parse", count_parse),
        fake_clock(0.05),
        LiveMarkdown(console) as live,
    ):
        for token in tokens_of(answer):
            live.feed(token)
    return pieces, parsed


@pytest.mark.parametrize(
    "answer",
    [lambda n: SECTION * n, lambda n: "```\n" + "x = compute(x) + 1  # step\n" * 30 * n + "```\n"],
    ids=["sections", "one-code-block"],
)
def test_each_block_is_rendered_once_and_work_grows_linearly(answer: Callable[[int], str]) -> None:
    pieces, once = printed_pieces_and_parsed_chars(answer(1))
    assert "".join(pieces) == answer(1)  # printed pieces partition the answer: every block rendered once
    _, twice = printed_pieces_and_parsed_chars(answer(2))
    _, eight_times = printed_pieces_and_parsed_chars(answer(8))
    # going from 2 to 8 adds 6 times what going from 1 to 2 added if the work is linear, 20 times if quadratic
    assert eight_times - twice < 9 * (twice - once)
