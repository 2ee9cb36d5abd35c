"""A command on a real pseudo-terminal, driven like `pexpect.spawn`, but started without forking this process.

`pexpect.spawn` forks the test process (`pty.fork`) and runs Python in the child before `exec`. The test process
has threads (the loopback servers of the tests), and a fork of a threaded process can deadlock in the child on a
lock another thread held; Python 3.12 warns about it ("use of forkpty() may lead to deadlocks"). Here the child
is started by `subprocess` (fork and exec in C, no Python in between) through a small launcher that makes the
pseudo-terminal its controlling terminal, so Ctrl-C typed at it is a SIGINT as on a real terminal, and the
parent drives the master side with pexpect's `fdspawn`.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Mapping, Sequence

from pexpect import fdpexpect

# the launcher: stdin is the terminal's slave side, and the child leads a new session (start_new_session)
_LAUNCH = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"


class TerminalSession(fdpexpect.fdspawn):
    """`command` running on a new pseudo-terminal of `dimensions` (rows, columns)."""

    def __init__(
        self,
        command: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        dimensions: tuple[int, int] = (24, 80),
        timeout: float = 30,
        encoding: str | None = "utf-8",
    ) -> None:
        master, slave = os.openpty()
        rows, columns = dimensions
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _LAUNCH, command, *args],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
            )
        finally:
            os.close(slave)
        super().__init__(master, timeout=timeout, encoding=encoding)
        self.exitstatus: int | None = None
        self.signalstatus: int | None = None

    def sendintr(self) -> None:
        """Ctrl-C: the terminal's interrupt character, which the terminal turns into SIGINT for the command."""
        self.send(chr(termios.tcgetattr(self.child_fd)[6][termios.VINTR][0]))

    def sendeof(self) -> None:
        """Ctrl-D at the start of a line."""
        self.send(chr(termios.tcgetattr(self.child_fd)[6][termios.VEOF][0]))

    def kill(self, signum: int) -> None:
        self.process.send_signal(signum)

    def close(self, timeout: float = 10) -> None:
        """Closes the terminal and waits for the command: `exitstatus` (or `signalstatus`) says how it ended."""
        super().close()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait()
        self.exitstatus, self.signalstatus = (None, -code) if code < 0 else (code, None)
