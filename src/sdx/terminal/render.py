"""Where the answer goes: rendered live on a terminal, or the raw Markdown, byte for byte, anywhere else.

The stream type is chosen once from whether stdout is a terminal (`--raw` forces raw). Raw output is never
altered; terminal output passes through `TerminalSanitizer` first, because model output is untrusted text
and escape sequences in it must not drive the user's terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from sdx.environment import current

if TYPE_CHECKING:
    from rich.console import Console

# C0 controls but tab and newline, DEL, and the C1 range (0x9b is a one-byte CSI on some terminals).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r":
        return ""  # CRLF -> LF; a lone CR would move the cursor back over the line
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ESC shows as ␛
    return "\N{SYMBOL FOR DELETE}" if code == 0x7F else "\N{REPLACEMENT CHARACTER}"


def sanitize_for_terminal(text: str) -> str:
    """Make control characters visible (ESC as ␛) so the model cannot move the cursor, clear the screen,
    ring the bell, set the clipboard (OSC 52) or plant hyperlinks."""
    return _UNSAFE.sub(_visible, text)


class Sink(Protocol):
    def write(self, text: str) -> None: ...


@dataclass
class RawSink:
    """Writes the model's text as UTF-8, unchanged, flushed at every chunk so pipes see it stream."""

    stream: BinaryIO

    def write(self, text: str) -> None:
        self.stream.write(text.encode("utf-8"))
        self.stream.flush()


class FileCopy:
    """The `-o FILE` copy: raw Markdown, written as it arrives so an interrupted answer is kept.

    The file is created before the request so a bad path fails before any tokens are spent, and removed again
    when no text at all arrived.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = False
        self._file = path.open("wb")

    def write(self, text: str) -> None:
        self._file.write(text.encode("utf-8"))
        self._file.flush()
        self.written = True

    def close(self) -> None:
        self._file.close()
        if not self.written:
            self.path.unlink(missing_ok=True)


def stdout_is_terminal() -> bool:
    return current().stdout_isatty


def console(stderr: bool = False) -> Console:
    """A Rich console on the current environment's stdout (or stderr), sized and coloured as it says."""
    from rich.console import Console

    env = current()
    columns, lines = env.terminal_size()
    is_terminal = env.stderr_isatty if stderr else env.stdout_isatty
    return Console(
        file=env.stderr if stderr else env.stdout,
        force_terminal=is_terminal,
        width=columns if is_terminal else None,
        height=lines if is_terminal else None,
        no_color=env.no_color,
        highlight=False,
        _environ=dict(env.environ),
    )


@contextmanager
def terminal_renderer() -> Iterator[Sink]:
    """Live Markdown on stdout, fed sanitized text; leaving the block draws whatever arrived."""
    from sdx.terminal.live_markdown import LiveMarkdown

    with LiveMarkdown(console()) as live:
        yield TerminalSink(live.feed)


@dataclass
class TerminalSink:
    feed: Callable[[str], None]

    def write(self, text: str) -> None:
        self.feed(sanitize_for_terminal(text))


@contextmanager
def raw_renderer() -> Iterator[Sink]:
    stdout = current().stdout
    stdout.flush()
    yield RawSink(stdout.buffer)


def choose_renderer(raw: bool) -> Callable[[], AbstractContextManager[Sink]]:
    return raw_renderer if raw or not stdout_is_terminal() else terminal_renderer


class Spinner:
    """ "Asking …" on stderr while the `with` block waits, only when stderr is a terminal."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._status: Any = None

    def __enter__(self) -> Spinner:
        if current().stderr_isatty:
            self._status = console(stderr=True).status(self.text, spinner="dots")
            self._status.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._status is not None:
            self._status.stop()


def say(message: str) -> None:
    """A line for the user on stderr (never stdout, which belongs to the answer)."""
    print(message, file=current().stderr, flush=True)
