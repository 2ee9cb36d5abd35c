"""Markdown rendered live on a terminal while the answer streams in, at a cost linear in the answer's length.

The text is cut into top-level blocks (paragraph, heading, list, table, code fence, quote, rule) with the
parser Rich's `Markdown` uses. A block is finished once a later block has started, as seen by parsing the
complete lines received so far: it is then rendered once with `Markdown` and printed for good above the live
area. Only the last block, which may still grow, is live: redrawn at most `refresh_per_second` times a second
in the live area (`_LiveArea`), cropped to its bottom lines so that drawing it never scrolls the terminal (lines
scrolled out of a live area could not be redrawn, and would stay in the scrollback twice): with the cursor's line
below them, they fill the screen but its last line. Nor does a redraw ever clear the whole screen, which tmux would
copy into the scrollback. Only this tail is ever parsed again.

Printed piece by piece, the answer looks the same as `console.print(Markdown(answer, hyperlinks=False))` at the
same width, blank lines between blocks included (see `_print_blocks`). Links show their target in brackets after
their text: the model's text is untrusted, and a terminal hyperlink (OSC 8) would hide where it leads. What
differs from a one-shot render is what it joins across blocks:

- a reference link (`[text][label]`) whose definition `[label]: url` lies in another printed piece is not
  resolved and shows as plain text;
- after the terminal is resized, pieces already printed keep the width they were printed at.

A ```mermaid block is drawn in its place as a box-and-arrow diagram (`sdx.terminal.drawing`), given a `draw`
function: the drawing starts as soon as the block's closing line arrives and runs while the stream goes on; the
block, and what follows it, is printed once its drawing is ready (at the latest when the stream ends). A diagram
that cannot be drawn right is printed as its source, then its list of edges and a dim line saying why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple

from markdown_it import MarkdownIt
from markdown_it.token import Token
from rich.console import Console, NewLine
from rich.control import Control
from rich.markdown import Markdown, UnknownElement
from rich.segment import ControlType, Segment, SegmentLines
from rich.style import Style
from rich.text import Text

from sdx.environment import interrupts_held

if TYPE_CHECKING:
    from sdx.terminal.drawing import PendingDrawing

_CARRIAGE_RETURNS = re.compile(r"\r\n?")


class _OpenFence(NamedTuple):
    marker: str  # ``` or ~~~ (or longer): a line closing the fence contains it
    opening_line: str


class LiveMarkdown:
    """Feed text with `feed`; leaving the `with` block (normally or by an exception) prints all of it.

    `size`, when given, is asked for the terminal's (columns, lines) at each redraw, so the rendering follows a
    resize; without it the console's size is used as it is. `draw`, when given, starts drawing a Mermaid diagram
    (its source) for the console's width; without it a mermaid block is printed as any code block.
    """

    def __init__(
        self,
        console: Console,
        refresh_per_second: float = 10.0,
        size: Callable[[], tuple[int, int]] | None = None,
        draw: Callable[[str, int], PendingDrawing] | None = None,
    ) -> None:
        self.console = console
        self._interval = 1.0 / refresh_per_second
        self._size = size
        # Rich's parser, for block structure only: inline markup never moves a block boundary
        self._parser = MarkdownIt("commonmark").enable("strikethrough").enable("table").disable("inline")
        self._area = _LiveArea(console)
        self._tail: list[str] = []  # the text not printed yet, in chunks
        self._parsed = 0  # where the tail's complete lines were parsed (or skipped as fence content) up to
        self._fence: _OpenFence | None = None  # set when the tail's last block is a code fence still open
        self._held_cr = False
        self._blank_line_due = False
        self._next_update = 0.0
        self._draw = draw
        self._drawings: dict[str, PendingDrawing] = {}  # by the diagram's source
        self._held = False  # whether a finished diagram's drawing, not ready, holds back the blocks from it on

    def __enter__(self) -> LiveMarkdown:
        self._area.start()
        return self

    def feed(self, text: str) -> None:
        self._tail.append(self._normalize_newlines(text))
        if monotonic() >= self._next_update:
            self._update()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._follow_terminal_size()
            with self.console:  # one write: the live area goes, the rest of the answer is printed for good
                self._area.erase()
                self._area.widths = []
                self._print_blocks("".join(self._tail) + ("\n" if self._held_cr else ""))
        finally:
            self._area.stop()
            for drawing in self._drawings.values():
                drawing.cancel()

    def _normalize_newlines(self, text: str) -> str:
        """CRLF and CR to LF, as markdown-it does, so that line numbers agree; a CR ending a chunk waits for
        the next one, which may start with its LF."""
        if self._held_cr:
            text = "\r" + text
        self._held_cr = text.endswith("\r")
        return _CARRIAGE_RETURNS.sub("\n", text[:-1] if self._held_cr else text)

    def _update(self) -> None:
        """Prints the blocks just finished and redraws the live area, in one write.

        The output is rendered first and written in one go, and what it changed is recorded right after: Ctrl-C
        while rendering writes nothing, so the screen is always as recorded and `__exit__` erases exactly the live
        area. The printed blocks leave the tail last, so that an interruption loses no text.
        """
        self._follow_terminal_size()
        finished, tail = self._split_finished("".join(self._tail))
        lines = self._live_lines(tail) if self.console.is_interactive else []  # a dumb terminal: finished blocks
        blank_line_due = self._blank_line_due
        try:
            with self.console.capture() as capture:
                self._area.erase()
                if finished:
                    self._print_blocks(finished)
                widths = self._area.draw(lines)
        except BaseException:
            self._blank_line_due = blank_line_due
            raise
        with interrupts_held():  # a Ctrl-C typed as the screen changes must not leave it different from the record
            self.console.file.write(capture.get())
            self.console.file.flush()
            self._area.widths = widths
        self._tail = [tail]
        self._next_update = monotonic() + self._interval

    def _follow_terminal_size(self) -> None:
        if self._size is not None and self.console.is_terminal:
            size = self._size()
            if size != tuple(self.console.size):
                self.console.size = size

    def _split_finished(self, tail: str) -> tuple[str, str]:
        """The finished blocks at the start of the tail (maybe none), and the rest.

        Blocks only change with a new complete line and, inside an open fence, only with a line that may close
        it, so the tail is parsed again only then: a long code block costs one scan of its text.
        """
        complete = tail.rfind("\n") + 1
        parsed, self._parsed = self._parsed, complete
        unchanged = complete == parsed or (self._fence and tail.find(self._fence.marker, parsed, complete) < 0)
        if unchanged and not self._held:
            return "", tail
        lines = tail[:complete]
        blocks = _top_level(self._parser.parse(lines))
        self._fence = _open_fence(blocks[-1], lines) if blocks else None
        waiting = self._start_drawings(blocks, lines)
        self._held = waiting is not None
        last = min(waiting, len(blocks) - 1) if waiting is not None else len(blocks) - 1
        if last < 1:
            return "", tail
        cut = _line_offset(lines, blocks[last].map[0])  # type: ignore[index]  # top-level blocks have a map
        self._parsed -= cut
        return tail[:cut], tail[cut:]

    def _start_drawings(self, blocks: list[Token], lines: str) -> int | None:
        """Starts drawing each closed mermaid block not started yet; returns the index of the first one whose
        drawing is not ready (it and what follows must wait), or None."""
        waiting = None
        for index, block in enumerate(blocks):
            if not self._is_diagram(block, lines):
                continue
            drawing = self._drawing(block.content)
            if waiting is None and not drawing.done():
                waiting = index
        return waiting

    def _is_diagram(self, block: Token, source: str) -> bool:
        """A closed ```mermaid fence, when there is a `draw` function (an open one may still change)."""
        if self._draw is None or block.type != "fence" or block.info.strip().split(" ")[0].lower() != "mermaid":
            return False
        rows = source.split("\n")
        start, end = block.map  # type: ignore[misc]
        last = rows[end - 1].strip() if end - 1 < len(rows) else ""
        return end - start > 1 and last.startswith(block.markup) and not last.strip(block.markup[0])

    def _drawing(self, source: str) -> PendingDrawing:
        if source not in self._drawings:
            assert self._draw is not None
            self._drawings[source] = self._draw(source, self.console.width)
        return self._drawings[source]

    def _live_lines(self, tail: str) -> list[list[Segment]]:
        """The rendered tail's bottom lines, as many as fit above the terminal's last line.

        A long open fence is rendered from its opening line and last lines only: the earlier lines would be
        cropped anyway, and rendering them at every draw would make a long code block quadratic.
        """
        height = max(1, self.console.height - 2)  # and the cursor's line below them, above the terminal's last
        source = tail
        if self._fence:
            rows = tail.rsplit("\n", height)
            if len(rows) > height:
                source = "\n".join([self._fence.opening_line, *rows[1:]])
        return self.console.render_lines(Markdown(source, hyperlinks=False), pad=False)[-height:]

    def _print_blocks(self, source: str) -> None:
        """Prints finished blocks, each closed mermaid block as its drawing, the rest as Markdown."""
        if self._draw is None or "mermaid" not in source:
            self._print_markdown(source)
            return
        lines = source if source.endswith("\n") else source + "\n"
        position = 0
        for block in _top_level(self._parser.parse(lines)):
            if self._is_diagram(block, lines):
                start, end = (_line_offset(lines, line) for line in block.map)  # type: ignore[union-attr]
                self._print_markdown(source[position:start])
                self._print_drawing(source[start:end], block.content)
                position = end
        self._print_markdown(source[position:])

    def _print_drawing(self, fence: str, content: str) -> None:
        """The drawing of a diagram; or its source block as written, its edges and why it was not drawn."""
        drawing = self._drawing(content).result()
        if drawing.text is None:
            self._print_markdown(fence)
            lines = [Text(edge) for edge in drawing.edges] + [Text(drawing.reason, style="dim")]
            self.console.print(*lines, sep="\n")
        else:
            blank = [NewLine()] if self._blank_line_due else []
            self.console.print(*blank, Text(drawing.text.rstrip("\n"), no_wrap=True, overflow="crop"))
        self._blank_line_due = True

    def _print_markdown(self, source: str) -> None:
        """Prints finished blocks, with the blank line Rich would put before the first one.

        Rich puts a blank line before a block when the element closed last asks for one (all but a horizontal
        rule). For a list, quote or table, that element is its own first child, so the piece's render has the
        blank line already; for other blocks it is the previous piece's last block.
        """
        markdown = Markdown(source, hyperlinks=False)
        tokens = markdown.parsed
        blocks = _top_level(tokens)
        if not blocks:
            return
        has_blank_line = tokens[0].nesting == 1 and tokens[1].nesting == 1
        self.console.print(*([NewLine()] if self._blank_line_due and not has_blank_line else []), markdown)
        self._blank_line_due = Markdown.elements.get(blocks[-1].type, UnknownElement).new_line


class _LiveArea:
    """The block in progress, drawn below everything printed and redrawn in place.

    Its lines are drawn without the spaces that pad them to the width, and followed by an empty line that holds
    the cursor. So a key the user presses lands there: the `^C` that the terminal echoes wraps no line, and is
    erased with the area. To erase, the cursor goes up as many rows as the lines take at the terminal's current
    width (after a narrowing, a terminal that reflows, such as tmux, VTE or iTerm2, has rewrapped them) and
    everything below is cleared (see `erase`). Rows that a narrowing rewraps above the screen's top are in the
    scrollback already, and stay there.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.widths: list[int] = []  # the cell widths of the lines on screen, above the cursor

    def start(self) -> None:
        if self.console.is_interactive:
            self.console.show_cursor(False)

    def stop(self) -> None:
        if self.console.is_interactive:
            self.console.show_cursor(True)

    def erase(self) -> None:
        """Erases the lines drawn (`widths`), and anything typed on the cursor's line.

        The screen is cleared from the area's first row down, but from its second column (and that row's first
        cell then): the area's first row may be the screen's first (after `clear`), and tmux takes a clear to the
        screen's end from the top-left corner for a whole-screen clear, which (`scroll-on-clear`, on by default)
        copies the screen into the scrollback: every redraw would leave a copy of the live area there.
        """
        if not self.console.is_interactive:
            return
        columns = max(1, self.console.width)
        rows = sum(max(1, -(-width // columns)) for width in self.widths)
        erase = Control(
            ControlType.CARRIAGE_RETURN,
            *([(ControlType.CURSOR_UP, rows)] if rows else []),
            (ControlType.CURSOR_FORWARD, 1),
        )
        # to the screen's end, then the row's start to the cursor, and back to the row's start
        erase.segment = Segment(erase.segment.text + "\x1b[J\x1b[1K\r", None, erase.segment.control)
        self.console.control(erase)

    def draw(self, lines: list[list[Segment]]) -> list[int]:
        """Draws the lines and returns their widths, to be recorded as `widths` once they are on screen."""
        lines = [_unpadded(line) for line in lines]
        if lines:
            self.console.print(SegmentLines(lines, new_lines=True))
        return [Segment.get_line_length(line) for line in lines]


def _unpadded(line: list[Segment]) -> list[Segment]:
    """The line without its trailing spaces, but those that show (a code block's background)."""
    line = list(line)
    while line:
        text, style, control = line[-1]
        if control or _shows_on_spaces(style):
            break
        stripped = text.rstrip(" ")
        if stripped:
            line[-1] = Segment(stripped, style)
            break
        line.pop()
    return line


def _shows_on_spaces(style: Style | None) -> bool:
    return style is not None and (style.bgcolor is not None or bool(style.reverse) or bool(style.underline))


def _top_level(tokens: Sequence[Token]) -> list[Token]:
    """The tokens opening a top-level block (closing tokens have no line map)."""
    return [token for token in tokens if token.level == 0 and token.map]


def _open_fence(block: Token, lines: str) -> _OpenFence | None:
    """The fence `block` when it runs to the end of `lines` without a closing line (an open fence takes
    everything after it, so it ends early only if closed)."""
    if block.type != "fence":
        return None
    rows = lines.split("\n")  # `lines` ends with a newline: the last row is empty
    start, end = block.map  # type: ignore[misc]
    last = rows[end - 1].strip()
    closed = end - start > 1 and last.startswith(block.markup) and not last.strip(block.markup[0])
    return None if closed or end < len(rows) - 1 else _OpenFence(block.markup, rows[start])


def _line_offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    return offset
