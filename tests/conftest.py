"""Fixtures: fake OpenAI-compatible servers on loopback, and `sdx` run as a real command in an isolated home.

Every run gets a minimal environment (no real keys), a temp dir as HOME, SDX_HOME and working directory, so
neither the developer's keys nor their config or `.env` files can leak into a test.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fake_server import FakeOpenAI

OPENROUTER_KEY = "sk-or-test-OPENROUTER-0123456789"
OPENAI_KEY = "sk-test-OPENAI-9876543210"


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")


class Sdx:
    """Runs `python -m sdx` as a user would, in an isolated home."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env

    @property
    def config_file(self) -> Path:
        return Path(self.env["SDX_HOME"]) / "config.toml"

    def write_config(self, text: str) -> None:
        self.config_file.write_text(text, encoding="utf-8")

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        env = {**self.env, **(extra or {})}
        return {k: v for k, v in env.items() if v is not None}

    def run(self, *args: str, input: bytes | None = b"", env: dict[str, str] | None = None, timeout: float = 60):
        proc = subprocess.run(
            [sys.executable, "-m", "sdx", *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            cwd=self.home,
            env=self._env(env),
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "sdx", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.home,
            env=self._env(env),
        )

    def run_tty(self, *args: str, env: dict[str, str] | None = None, columns: int = 100, lines: int = 40):
        """Run with stdout and stderr on a pseudo-terminal (stdin closed); returns everything the terminal got."""
        master, slave = pty.openpty()
        _set_size(slave, lines, columns)
        tty_env = {"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(lines), **(env or {})}
        proc = subprocess.Popen(
            [sys.executable, "-m", "sdx", *args],
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            cwd=self.home,
            env=self._env(tty_env),
        )
        os.close(slave)
        output = read_until_exit(master, proc)
        return Result(proc.returncode, output, "")


def _set_size(fd: int, lines: int, columns: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))


def read_until_exit(master: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> bytes:
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return b"".join(chunks)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The server that plays OpenRouter (and OpenAI, on its /v1 path)."""
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def ollama() -> Iterator[FakeOpenAI]:
    """A second server that plays Ollama, reached through OLLAMA_HOST."""
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def sdx(tmp_path: Path, fake: FakeOpenAI, ollama: FakeOpenAI) -> Sdx:
    home = tmp_path / "home"
    sdx_home = home / ".config" / "sdx"
    sdx_home.mkdir(parents=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "SDX_HOME": str(sdx_home),
        "LANG": "C.UTF-8",
        "OPENROUTER_API_KEY": OPENROUTER_KEY,
        "OLLAMA_HOST": f"127.0.0.1:{ollama.port}",
    }
    runner = Sdx(home, env)
    runner.write_config(
        f"""
[providers.openrouter]
base_url = "{fake.root}/api/v1"

[providers.openai]
base_url = "{fake.root}/v1"
"""
    )
    return runner
