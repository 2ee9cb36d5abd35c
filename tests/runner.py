"""`sdx` run as a real command, as a user runs it: `python -m sdx` in an isolated home.

The environment holds PATH, HOME, SDX_HOME and LANG and nothing else (no API keys, no OLLAMA_HOST) unless a test
adds it, and the home is also the working directory, so neither the developer's keys nor their config or `.env`
files can reach sdx.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SDX = (sys.executable, "-m", "sdx")  # the installed package, run by the interpreter running the tests
TIMEOUT = 90.0  # seconds for one sdx command (a real model on 2 cores needs more than a fake server)

Env = Mapping[str, str | None]  # variables to add or override; None removes one


@dataclass(frozen=True)
class Result:
    """What one sdx command did. From `run_tty`, stdout holds everything the terminal showed (stderr too)."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")


class Sdx:
    """One user of sdx: `home` is HOME and the working directory, `config_dir` (default: `home`) is SDX_HOME."""

    def __init__(self, home: Path, *, config_dir: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.home = home
        self.config_dir = config_dir or home
        for folder in (home, self.config_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "SDX_HOME": str(self.config_dir),
            "LANG": "C.UTF-8",
            **(env or {}),
        }

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    def write_config(self, text: str) -> None:
        self.config_file.write_text(text, encoding="utf-8")

    def _env(self, extra: Env | None) -> dict[str, str]:
        merged = {**self.env, **(extra or {})}
        return {name: value for name, value in merged.items() if value is not None}

    def call(
        self,
        *args: str,
        input: bytes | str | None = None,
        env: Env | None = None,
        tty: bool = False,
        columns: int = 100,
        lines: int = 40,
        monotonic: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> Result:
        """Like `run`, but in this process (see `call_in_process`): use it unless the test needs a real process."""
        return call_in_process(
            args,
            self._env(env),
            self.home,
            input=input,
            tty=tty,
            columns=columns,
            lines=lines,
            monotonic=monotonic,
            wall_clock=wall_clock,
        )

    def popen(
        self, *args: str, env: Env | None = None, stdin: int | None = subprocess.DEVNULL
    ) -> subprocess.Popen[bytes]:
        """Start `sdx ARGS` with stdout and stderr on pipes (read them, or the command may block)."""
        return subprocess.Popen(
            [*SDX, *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.home,
            env=self._env(env),
        )

    def interrupted_once_received(self, received: Callable[[], list[Any]], *args: str) -> tuple[int, bytes]:
        """Start `sdx ARGS`, send it a real SIGINT as soon as `received()` (the server's requests) is not empty, and
        return its exit code and stderr."""
        proc = self.popen(*args)
        deadline = time.monotonic() + 60
        while not received() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert received(), "the request never arrived"
        os.kill(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        return proc.returncode, err

    def run(
        self, *args: str, input: bytes | str | None = None, env: Env | None = None, timeout: float = TIMEOUT
    ) -> Result:
        """Run `sdx ARGS` to the end; `input` is piped to stdin (default: an empty stdin that is no terminal)."""
        proc = subprocess.run(
            [*SDX, *args],
            input=_as_bytes(input),
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            cwd=self.home,
            env=self._env(env),
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))

    def run_tty(
        self,
        *args: str,
        input: bytes | str | None = None,
        env: Env | None = None,
        timeout: float = TIMEOUT,
        columns: int = 100,
        lines: int = 40,
    ) -> Result:
        """Run `sdx ARGS` with a pseudo-terminal (TERM=xterm-256color) as stdout and stderr.

        The terminal is stdin too, unless `input` is given: then that is piped to stdin.
        """
        master, slave = pty.openpty()
        set_terminal_size(slave, lines, columns)
        tty_env = {"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(lines), **(env or {})}
        proc = subprocess.Popen(
            [*SDX, *args],
            stdin=slave if input is None else subprocess.PIPE,
            stdout=slave,
            stderr=slave,
            cwd=self.home,
            env=self._env(tty_env),
            start_new_session=True,  # out of pytest's session: a Ctrl-C meant for pytest does not reach it
        )
        os.close(slave)
        try:
            if proc.stdin is not None:  # as `communicate` does: sdx may exit without reading its input
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(_as_bytes(input) or b"")
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
            output = read_terminal(master, proc, timeout)
        finally:
            os.close(master)
        return Result(proc.returncode, output, "")


def stored_conversations(user: Sdx) -> list[Any]:
    """Every conversation in `user`'s history (a real SQLite file in SDX_HOME), oldest first, with its turns."""
    from sdx.store.history import History

    path = user.config_dir / "history.db"
    if not path.exists():
        return []
    with History.open(path) as history:
        return [history.load(summary.id) for summary in reversed(history.list(limit=1000))]


def _as_bytes(input: bytes | str | None) -> bytes | None:
    return input.encode("utf-8") if isinstance(input, str) else input


def set_terminal_size(fd: int, lines: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))


def read_terminal(master: int, proc: subprocess.Popen[bytes], timeout: float = TIMEOUT) -> bytes:
    """Everything written to the pty until the process exits; after `timeout` seconds, kill it and raise."""
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise subprocess.TimeoutExpired(proc.args, timeout, output=b"".join(chunks))
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every process closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    return b"".join(chunks)


def call_in_process(
    args: tuple[str, ...],
    environ: Mapping[str, str],
    cwd: Path,
    *,
    input: bytes | str | None = None,
    tty: bool = False,
    columns: int = 100,
    lines: int = 40,
    monotonic: Callable[[], float] | None = None,
    wall_clock: Callable[[], float] | None = None,
) -> Result:
    """Run `sdx ARGS` in this process through `sdx.cli.run` with fake streams: the fast tier of tests.

    `tty=True` makes stdout and stderr claim to be terminals (and stdin, unless `input` is given). Retry back-off
    does not sleep: the waits asked for are recorded in `SLEPT`. `monotonic` replaces the clock (e.g. a fake one
    that a test advances, to run out an interview's time); `wall_clock` replaces the time of day (what is stored
    as when, and what `sdx progress` takes as now).
    """
    import io

    from sdx.cli import run
    from sdx.environment import Environment

    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    SLEPT.clear()
    env = Environment(
        stdin=io.BytesIO(_as_bytes(input) or b""),
        stdout=stdout,
        stderr=stderr,
        stdin_isatty=tty and input is None,
        stdout_isatty=tty,
        stderr_isatty=tty,
        environ=dict(environ),
        cwd=cwd,
        columns=columns,
        lines=lines,
        sleep=SLEPT.append,
        **({"monotonic": monotonic} if monotonic else {}),
        **({"wall_clock": wall_clock} if wall_clock else {}),
    )
    code = run(list(args), env)
    stdout.flush()
    stderr.flush()
    return Result(int(code), out.getvalue(), err.getvalue().decode("utf-8", "replace"))


SLEPT: list[float] = []
