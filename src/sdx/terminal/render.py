"""Where the answer goes: rendered live on a terminal, or the raw Markdown, byte for byte, anywhere else.

The stream type is chosen once from whether stdout is a terminal (`--raw` forces raw). Raw output is never
altered; terminal output passes through `sanitize_for_terminal` first, because model output is untrusted text
and escape sequences in it must not drive the user's terminal.

Writing can fail like any I/O: a full disk, a closed stream, a FIFO whose reader left. Such failures become an
`OutputError` (a sentence, exit 2), never "unexpected"; stderr failures are swallowed, as there is nowhere left to
report them. Text for the terminal (Rich's output, lines on stderr) is fitted to the stream's encoding, so a
Latin-1 terminal shows `*` for a bullet instead of crashing; the raw answer is always UTF-8 on the binary buffer.
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol, TextIO

from sdx.environment import current
from sdx.errors import ExitStatus, SdxError

if TYPE_CHECKING:
    from rich.console import Console

    from sdx.terminal.drawing import PendingDrawing
    from sdx.terminal.live_markdown import LiveMarkdown

# C0 controls but tab and newline, DEL, the C1 range (0x9b is a one-byte CSI on some terminals), and the
# bidirectional embeddings, overrides and isolates, which reorder what follows them (`\u202egnp.exe` shows as
# `exe.png`); the invisible marks (LRM, RLM, ALM) that right-to-left text uses are left alone.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r":
        return ""  # CRLF -> LF; a lone CR would move the cursor back over the line
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ESC shows as ␛
    return "\N{SYMBOL FOR DELETE}" if code == 0x7F else "\N{REPLACEMENT CHARACTER}"


def json_text(data: object, terminal: bool) -> str:
    """`data` as indented JSON ending in a newline. For a terminal every non-ASCII character is escaped (`\\u009b`):
    JSON escapes C0 controls itself, but not C1 ones (U+009B is CSI to many terminals) nor bidirectional overrides,
    and model output must not drive the terminal or reorder what it shows. A pipe or a file gets them as they are."""
    return json.dumps(data, indent=2, ensure_ascii=terminal) + "\n"


def sanitize_for_terminal(text: str) -> str:
    """Make control characters visible (ESC as ␛; C1 controls and bidi overrides as �) so the model cannot move
    the cursor, clear the screen, ring the bell, set the clipboard (OSC 52), plant hyperlinks or reorder text."""
    return _UNSAFE.sub(_visible, text)


# Writing failures ------------------------------------------------------------------------------------------------


class OutputError(SdxError):
    """The answer could not be written where the user sent it (a full disk, a closed stdout)."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what, fix, ExitStatus.USAGE)


def write_failure(destination: str, exc: OSError, what: str = "the answer") -> OutputError:
    """The sentence for a failed write of `what` ("the answer", "the output") to `destination` ("stdout",
    "-o notes.md")."""
    reason = "it is closed" if exc.errno == errno.EBADF else os.strerror(exc.errno or errno.EIO).lower()
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free some space, or write {what} somewhere else"
    elif exc.errno == errno.EBADF:
        fix = "run sdx with its output open, e.g. `> answer.md`"
    else:
        fix = f"write {what} somewhere else"
    return OutputError(f"cannot write {what} to {destination}: {reason}", fix)


@contextmanager
def _writing_stdout() -> Iterator[None]:
    """Turns a failed write to stdout into an `OutputError` (a reader that left stays a `BrokenPipeError`, which
    the CLI ends quietly), after detaching stdout so the interpreter's last flush cannot fail once more."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        detach_stdout()
        raise write_failure("stdout", exc) from exc


def detach_stdout() -> None:
    """Point the process's stdout at /dev/null, dropping what is still buffered for it.

    After a failed write (a full disk, `> /dev/full`) the bytes stay in Python's buffer, and the flush at
    interpreter exit would fail again: "Exception ignored … OSError" on stderr, and exit status 120.
    """
    _point_at_devnull(current().stdout)


def _point_at_devnull(stream: object) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # closed, or no file descriptor (in-process tests)
        pass


def require_stdout() -> None:
    """Refuse to start when stdout is closed (`sdx ask … >&-`): the answer would have nowhere to go."""
    stdout = current().stdout
    if stdout is None or getattr(stdout, "closed", False):
        raise OutputError("stdout is closed", "run sdx with its output open, e.g. `> answer.md`")


# Text for the terminal -------------------------------------------------------------------------------------------

_LOOKALIKES = {
    "•": "*", "…": "...", "—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "·": ".", "→": "->", "↔": "<->",
    "─": "-", "━": "=", "│": "|", "┃": "|", "✓": "v", "✗": "x", "␛": "^[",
}  # fmt: skip


def _lookalike(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    unencodable = error.object[error.start : error.end]
    return "".join(_LOOKALIKES.get(char, "?") for char in unencodable), error.end


codecs.register_error("sdx-lookalike", _lookalike)


def fit_to_encoding(text: str, encoding: str | None) -> str:
    """`text` as the stream can show it: characters its encoding lacks become ASCII lookalikes or '?'."""
    if not encoding or codecs.lookup(encoding).name == "utf-8":
        return text
    return text.encode(encoding, "sdx-lookalike").decode(encoding, "replace")


def _is_utf(stream: object) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return codecs.lookup(encoding).name.startswith("utf")


@dataclass
class _FittedStream:
    """What Rich writes to when the stream's encoding is not Unicode: text fitted to it, the rest passed on."""

    stream: TextIO

    @property
    def encoding(self) -> str:
        return self.stream.encoding

    def write(self, text: str) -> int:
        return self.stream.write(fit_to_encoding(text, self.stream.encoding))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()


# Lines on stderr -------------------------------------------------------------------------------------------------

_OPEN_LINES: weakref.WeakSet[object] = weakref.WeakSet()  # binary stdout streams whose last byte was not "\n"


def ensure_line_start() -> None:
    """End the raw answer's last line on stderr if the answer did not end with a newline and stderr shows on the
    same screen or pipe: what sdx says next must not be glued to it. Stdout itself is never altered."""
    env = current()
    stdout = getattr(env.stdout, "buffer", None)
    if stdout is None or stdout not in _OPEN_LINES:
        return
    _OPEN_LINES.discard(stdout)
    if _stderr_shares_stdout():
        _write_stderr("\n")


def _stderr_shares_stdout() -> bool:
    env = current()
    if env.stdout_isatty and env.stderr_isatty:
        return True
    try:
        out, err = os.fstat(env.stdout.fileno()), os.fstat(env.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


_SAYING = threading.local()


@contextmanager
def said_through(hook: Callable[[str], None]) -> Iterator[None]:
    """In this thread, the lines `say` would print go to `hook` instead (a batch worker's, to the progress bar)."""
    previous = getattr(_SAYING, "hook", None)
    _SAYING.hook = hook
    try:
        yield
    finally:
        _SAYING.hook = previous


def say(message: str, *, dim: bool = False) -> None:
    """A line for the user on stderr (never stdout, which belongs to the answer), on a line of its own.

    `dim` greys it out on a terminal that takes colour. A closed or full stderr loses the line silently: there is
    nowhere left to say anything.
    """
    hook = getattr(_SAYING, "hook", None)
    if hook is not None:
        hook(message)
        return
    ensure_line_start()
    env = current()
    if dim and env.stderr_isatty and not env.no_color:
        message = f"\x1b[2m{message}\x1b[0m"
    _write_stderr(message + "\n")


def _write_stderr(text: str) -> None:
    stderr = current().stderr
    try:
        stderr.write(fit_to_encoding(text, getattr(stderr, "encoding", None)))
        stderr.flush()
    except OSError:  # full: and so for good, as the interpreter's last flush would find it (see `detach_stdout`)
        _point_at_devnull(stderr)
    except (AttributeError, ValueError):  # None or closed
        pass


# Sinks -----------------------------------------------------------------------------------------------------------


class Sink(Protocol):
    def write(self, text: str) -> None: ...


@dataclass
class RawSink:
    """Writes the model's text as UTF-8, unchanged, flushed at every chunk so pipes see it stream."""

    stream: BinaryIO

    def write(self, text: str) -> None:
        if not text:
            return
        with _writing_stdout():
            self.stream.write(text.encode("utf-8"))
            self.stream.flush()
        if text.endswith("\n"):
            _OPEN_LINES.discard(self.stream)
        else:
            _OPEN_LINES.add(self.stream)


@dataclass
class TerminalSink:
    """Sanitized text into the live Markdown renderer; a failed write to the terminal is an `OutputError`."""

    live: LiveMarkdown

    def __enter__(self) -> TerminalSink:
        with _writing_stdout():
            self.live.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with _writing_stdout():
            self.live.__exit__(*exc_info)

    def write(self, text: str) -> None:
        with _writing_stdout():
            self.live.feed(sanitize_for_terminal(text))


def stdout_is_terminal() -> bool:
    return current().stdout_isatty


def console(stderr: bool = False, into: TextIO | None = None) -> Console:
    """A Rich console on the current environment's stdout (or stderr), sized and coloured as it says; `into`: one
    that writes what it would show on stdout into that stream instead, drawing nothing live (for a pager)."""
    from rich.console import Console

    env = current()
    columns, lines = env.terminal_size()
    is_terminal = env.stderr_isatty if stderr else env.stdout_isatty
    stream = env.stderr if stderr else env.stdout
    if stream is None or getattr(stream, "closed", False):
        stream = io.StringIO()  # nowhere to write: Rich would fall back to the process's other stream
    if into is not None:
        stream = into
    rich_console = Console(
        file=stream if _is_utf(stream) else _FittedStream(stream),  # type: ignore[arg-type]
        force_terminal=is_terminal,
        force_interactive=False if into is not None else None,
        width=columns if is_terminal else None,
        height=lines if is_terminal else None,
        no_color=env.no_color,
        highlight=False,
        _environ=dict(env.environ),
    )
    rich_console.on_broken_pipe = _reader_gone  # type: ignore[method-assign]
    return rich_console


def _reader_gone() -> None:
    """Rich's own reaction to a closed pipe is `SystemExit(1)`; sdx's boundary ends quietly with 0 instead."""
    raise BrokenPipeError


@contextmanager
def terminal_renderer() -> Iterator[Sink]:
    """Live Markdown on stdout, fed sanitized text; leaving the block draws whatever arrived. The renderer follows
    the terminal's size as it changes, and draws mermaid diagrams (in ASCII when the terminal is not UTF-8)."""
    from sdx.terminal.drawing import ascii_mode_for, start_drawing
    from sdx.terminal.live_markdown import LiveMarkdown

    terminal = console()
    encoding = terminal.encoding

    def draw(source: str, columns: int) -> PendingDrawing:
        return start_drawing(source, columns=columns, ascii_mode=ascii_mode_for(encoding), encoding=encoding)

    with TerminalSink(LiveMarkdown(terminal, size=current().terminal_size, draw=draw)) as sink:
        yield sink


def rendered_markdown(text: str) -> str:
    """`text` as the terminal renderer shows it on this terminal (sanitized, sized, coloured), as a string."""
    from sdx.terminal.live_markdown import LiveMarkdown

    buffer = io.StringIO()
    with LiveMarkdown(console(into=buffer)) as live:
        live.feed(sanitize_for_terminal(text))
    return buffer.getvalue()


@contextmanager
def raw_renderer() -> Iterator[Sink]:
    stdout = current().stdout
    with _writing_stdout():
        stdout.flush()  # what was printed before, through the text layer, goes first
    yield RawSink(stdout.buffer)


def choose_renderer(raw: bool) -> Callable[[], AbstractContextManager[Sink]]:
    """The renderer for stdout; an `OutputError` already here when stdout is closed."""
    require_stdout()
    return raw_renderer if raw or not stdout_is_terminal() else terminal_renderer


class Spinner:
    """ "Asking …" on stderr while the `with` block waits, only when stderr is a terminal. `text` is a string or any
    Rich renderable (redrawn with the spinner: one that shows the time elapsed, say)."""

    def __init__(self, text: object) -> None:
        self.text = text
        self._status: Any = None

    def __enter__(self) -> Spinner:
        if current().stderr_isatty:
            stderr = console(stderr=True)
            spinner = "dots" if stderr.encoding.startswith("utf") else "line"  # braille needs Unicode
            with suppress(OSError, ValueError):  # a full or closed stderr: no spinner
                self._status = stderr.status(self.text, spinner=spinner)  # type: ignore[arg-type]
                self._status.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._status is not None:
            with suppress(OSError, ValueError):
                self._status.stop()


# The -o copy -----------------------------------------------------------------------------------------------------


class FileCopy:
    """The `-o FILE` copy: raw Markdown, written as it arrives. Nothing the user had is ever lost:

    - the path is checked when the copy is made, before any request (a `UsageError`); an existing file is only
      replaced with `force` (`--force`), the rule of `sdx.terminal.named_files`;
    - a regular file (new, or existing, also behind a symlink, which stays) gets the answer in a temporary file
      beside it, moved into place when the first text arrives and appended to from then on: a request that fails
      leaves the old file untouched, an interrupted answer is kept;
    - anything else the user can write (a FIFO, a character device such as /dev/null) is written in place, opened
      when the first text arrives, never truncated nor removed.

    Use it as a context manager, or call `close()` in a `finally`: that removes the temporary file if no text came.
    """

    def __init__(self, path: Path, force: bool = False) -> None:
        from sdx.terminal.named_files import SPECIAL, check_replaceable, temporary_beside

        self.path = path
        self._file: IO[bytes] | None = None
        self._temporary: Path | None = None
        full = current().cwd / path  # a relative path is relative to the command's working directory
        shown = f"-o {str(path) or chr(34) * 2}"
        kind = check_replaceable(full, shown, force=force, example="answer.md")
        if kind == SPECIAL:
            self._target = full  # opened as given: /dev/stdout and /proc/self/fd/N are magic links
        else:
            self._target = Path(os.path.realpath(full))
            self._file, self._temporary = temporary_beside(self._target, shown, existing=kind != "new")

    def __enter__(self) -> FileCopy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, text: str) -> None:
        if not text:
            return
        try:
            if self._file is None:
                self._file = open(self._target, "ab")  # noqa: SIM115  # a FIFO or a device: O_APPEND, no O_TRUNC
            self._file.write(text.encode("utf-8"))
            self._file.flush()
            if self._temporary is not None:
                os.replace(self._temporary, self._target)
                self._temporary = None
        except OSError as exc:
            raise write_failure(f"-o {self.path}", exc) from exc

    def close(self) -> None:
        """Close the file; remove the temporary file (sdx's own) when no text arrived."""
        try:
            if self._file is not None:
                self._file.close()
        except OSError as exc:
            raise write_failure(f"-o {self.path}", exc) from exc
        finally:
            if self._temporary is not None:
                self._temporary.unlink(missing_ok=True)
                self._temporary = None
