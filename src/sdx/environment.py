"""Everything sdx takes from the world it runs in, in one object that tests replace.

The streams, whether each is a terminal, the terminal's size, the variables, the working directory and the
clocks. Production code reads them through `current()`; the CLI's `run()` installs the environment it was given
for the duration of one command, so tests can run commands in-process against fake streams, a fake clock and
a `sleep` that does not sleep (retry back-off never waits for real in tests).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, TextIO


def _isatty(stream: object) -> bool:
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (ValueError, OSError):  # closed
        return False


@dataclass
class Environment:
    """The outside world of one sdx command. `stdout` and `stderr` are text streams with a `.buffer`."""

    stdin: BinaryIO | None
    stdout: TextIO
    stderr: TextIO
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)
    cwd: Path = field(default_factory=Path.cwd)
    columns: int | None = None  # None: ask the terminal
    lines: int | None = None
    monotonic: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_system(cls) -> Environment:
        return cls(
            stdin=sys.stdin.buffer if sys.stdin is not None else None,
            stdout=_usable_text_stream(sys.stdout),
            stderr=_usable_text_stream(sys.stderr),
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
            environ=os.environ,
            cwd=Path.cwd(),
        )

    def terminal_size(self) -> tuple[int, int]:
        """(columns, lines): the injected size, else the real terminal's, else 80×24."""
        if self.columns and self.lines:
            return self.columns, self.lines
        size = shutil.get_terminal_size((80, 24))
        return self.columns or size.columns, self.lines or size.lines

    def with_absolute_dirs(self) -> Environment:
        """This environment with a relative `SDX_HOME` (or XDG directory) made absolute, once, against the working
        directory: every later reading of it, and every message naming it, means the same place."""
        relative = {
            name: str(self.cwd / value)
            for name in DIRECTORY_VARIABLES
            if (value := self.environ.get(name)) and not value.startswith("~") and not Path(value).is_absolute()
        }
        return replace(self, environ={**self.environ, **relative}) if relative else self

    @property
    def no_color(self) -> bool:
        return bool(self.environ.get("NO_COLOR")) or self.environ.get("TERM") == "dumb"


DIRECTORY_VARIABLES = ("SDX_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")


def _usable_text_stream(stream: TextIO | None) -> TextIO:
    """A closed stream (`>&-`) becomes a sink that drops text; a stream whose encoding cannot show every character
    (a Latin-1 locale) replaces what it cannot show instead of crashing on the first bullet."""
    if stream is None:
        return open(os.devnull, "w", encoding="utf-8")
    encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
    if encoding != "utf8" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="replace")
    return stream


def readable_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """The command line as text sdx can send and store, and the arguments that had to be repaired.

    Python hands over bytes it could not decode (`$(printf 'K\\xfcrzer')`, or UTF-8 under a C locale without
    UTF-8 mode) as lone surrogates, which no encoder accepts. Their bytes are read again as UTF-8; bytes that are
    no UTF-8 become U+FFFD, as undecodable stdin does. One place for every argument, before any command sees it.
    """
    readable, repaired = [], []
    for argument in argv:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            data = _original_bytes(argument)
            try:
                argument = data.decode("utf-8")
            except UnicodeDecodeError:
                argument = data.decode("utf-8", errors="replace")
                repaired.append(argument)
        readable.append(argument)
    return readable, repaired


def _original_bytes(argument: str) -> bytes:
    try:
        return os.fsencode(argument)  # the bytes as they were given (surrogateescape)
    except UnicodeEncodeError:  # a surrogate no decoder made: its code is kept, to be replaced
        return argument.encode("utf-8", errors="surrogatepass")


_current: Environment | None = None


def current() -> Environment:
    """The environment of the running command (the real one when no command installed another)."""
    global _current
    if _current is None:
        _current = Environment.from_system()
    return _current


@contextmanager
def installed(env: Environment) -> Iterator[Environment]:
    """Make `env` the current environment, and the process's std streams, for the duration of a command."""
    global _current
    previous = _current
    saved = sys.stdout, sys.stderr
    _current = env
    sys.stdout, sys.stderr = env.stdout, env.stderr  # what libraries print (click's help) goes there too
    try:
        yield env
    finally:
        sys.stdout, sys.stderr = saved
        _current = previous


HELD_SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C (and SIGTERM, SIGHUP) wait for the end of the block, then take effect as they would have: for the
    few statements that must not be cut in half (a turn written to history, a redraw of the live area)."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _frame: caught.append(signum)) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        for signum in caught:
            signal.raise_signal(signum)
