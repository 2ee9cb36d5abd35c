"""The streams sdx writes to, as users set them up: stdout on a full disk or closed, stderr closed, both on one
pipe, a terminal that is dumb or not UTF-8. Each case ends in the answer, a sentence or a quiet exit, never a
traceback or "unexpected".
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import shlex
import shutil
import signal
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from sdx.environment import Environment, installed
from sdx.terminal.render import Spinner, console, ensure_line_start, fit_to_encoding, say
from tests.fake_server import ANSWER, Failure
from tests.runner import SDX, set_terminal_size
from tests.test_live_markdown import Terminal

USAGE, PROVIDER, NETWORK = 2, 4, 5
BULLETS = "# Plan — draft\n\n- first “quoted” step…\n- 系统 second\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"


def run_with(sdx, *args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.CompletedProcess:
    """`sdx ARGS` as a real process whose streams the test sets up (`stdout=`, `stderr=`, `preexec_fn=`)."""
    return subprocess.run(
        [*SDX, *args],
        stdin=subprocess.DEVNULL,
        cwd=sdx.home,
        env={**sdx.env, **(env or {})},
        timeout=60,
        **popen,  # type: ignore[call-overload]
    )


def visible(screen: str) -> str:
    """The text without its colour and cursor sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)


def close_fd(fd: int):
    return lambda: os.close(fd)


# Stdout and stderr that cannot be written --------------------------------------------------------------------------


def test_stdout_on_a_full_disk_is_one_sentence(sdx, fake):
    with open("/dev/full", "wb") as full:  # the machine's /dev/full, only ever written to through stdout
        proc = run_with(sdx, "ask", "Design a cache", stdout=full, stderr=subprocess.PIPE)
    assert proc.returncode == USAGE
    assert proc.stderr.decode() == (
        "sdx: error: cannot write the answer to stdout: no space left on device"
        " — free some space, or write the answer somewhere else\n"
    )


def test_closed_stdout_is_a_quiet_exit(sdx, fake):
    proc = run_with(sdx, "ask", "Design a cache", stderr=subprocess.PIPE, preexec_fn=close_fd(1))
    assert (proc.returncode, proc.stderr) == (0, b"")


def test_closed_stderr_still_answers(sdx, fake):
    proc = run_with(sdx, "ask", "Design a cache", stdout=subprocess.PIPE, preexec_fn=close_fd(2))
    assert proc.returncode == 0
    assert proc.stdout == ANSWER.encode()


def test_closed_stderr_never_puts_a_failure_on_stdout(sdx, fake):
    fake.scenario.break_after = 3
    proc = run_with(sdx, "ask", "Design a cache", stdout=subprocess.PIPE, preexec_fn=close_fd(2))
    assert proc.returncode == NETWORK
    assert proc.stdout == ANSWER[:15].encode()


def test_full_stderr_is_ignored(sdx, fake):
    fake.scenario.finish_reason = "length"  # sdx warns on stderr that the answer was cut off
    with open("/dev/full", "wb") as full:
        proc = run_with(sdx, "ask", "Design a cache", stdout=subprocess.PIPE, stderr=full)
    assert proc.returncode == 0
    assert proc.stdout == ANSWER.encode()


def test_saying_something_on_a_closed_or_full_stderr_does_nothing() -> None:
    closed = io.TextIOWrapper(io.BytesIO())
    closed.close()
    for stderr in (None, closed, FullStream()):
        stdout = io.TextIOWrapper(io.BytesIO())
        with installed(Environment(stdin=None, stdout=stdout, stderr=stderr, stderr_isatty=True)):  # type: ignore[arg-type]
            say("sdx: warning: nobody will read this")
            with Spinner("Asking…"):
                pass
        stdout.flush()
        assert stdout.buffer.getvalue() == b""  # never on stdout instead


class FullStream(io.TextIOWrapper):
    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


# The line after a raw answer ---------------------------------------------------------------------------------------


def test_error_after_an_answer_cut_mid_line_starts_its_own_line_on_a_shared_pipe(sdx, fake):
    fake.scenario.break_after = 3  # "# Design a URL…": 15 characters, no newline
    proc = run_with(sdx, "ask", "Design a cache", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == NETWORK
    partial, _, error = proc.stdout.decode().partition("\n")
    assert partial == ANSWER[:15]
    assert error.startswith("sdx: error: answer interrupted after 3 tokens")


def test_error_after_an_answer_cut_mid_line_leaves_a_separate_stdout_alone(sdx, fake):
    fake.scenario.break_after = 3
    result = sdx.call("ask", "Design a cache")
    assert result.code == NETWORK
    assert result.stdout == ANSWER[:15].encode()
    assert result.stderr.startswith("sdx: error: answer interrupted")


@pytest.mark.parametrize(("answer", "blank"), [("no newline at the end", "\n"), ("newline at the end\n", "")])
def test_summary_after_a_raw_answer_on_a_terminal_starts_its_own_line(sdx, fake, answer, blank):
    fake.scenario.answer = answer
    result = sdx.call("ask", "--raw", "Design a cache", tty=True, env={"NO_COLOR": "1"})
    assert result.code == 0
    assert result.stdout == answer.encode()
    after_spinner = result.stderr.rpartition("\x1b[2K")[2]
    assert re.fullmatch(re.escape(blank) + r"gpt-4o-mini · \d+ tokens · [\d.]+s\n", after_spinner), result.stderr


@contextmanager
def streams(encoding: str = "utf-8", tty: bool = True) -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding=encoding, write_through=True)
    stderr = io.TextIOWrapper(err, encoding=encoding, write_through=True)
    env = Environment(
        stdin=None, stdout=stdout, stderr=stderr, stdout_isatty=tty, stderr_isatty=tty, columns=60, lines=20
    )
    try:
        with installed(env):
            yield out, err
    finally:  # the wrappers would close the BytesIO objects when collected
        stdout.detach()
        stderr.detach()


def test_ensure_line_start_only_acts_once_and_only_after_an_open_line() -> None:
    from sdx.terminal.render import raw_renderer

    with streams() as (out, err):
        ensure_line_start()
        assert err.getvalue() == b""
        with raw_renderer() as sink:
            sink.write("half a line")
        ensure_line_start()
        ensure_line_start()
        assert err.getvalue() == b"\n"
        assert out.getvalue() == b"half a line"


def test_dim_line_is_plain_on_a_dumb_terminal() -> None:
    with streams() as (_, err):
        say("summary", dim=True)
    assert err.getvalue() == b"\x1b[2msummary\x1b[0m\n"
    with streams() as (_, err), installed_term("dumb"):
        say("summary", dim=True)
    assert err.getvalue() == b"summary\n"


@contextmanager
def installed_term(term: str) -> Iterator[None]:
    from sdx.environment import current

    env = current()
    previous = env.environ
    env.environ = {**previous, "TERM": term}
    try:
        yield
    finally:
        env.environ = previous


def test_dumb_terminal_gets_no_escape_sequences(sdx, fake):
    result = sdx.call("ask", "Design a cache", tty=True, env={"TERM": "dumb"})
    assert result.code == 0
    assert "\x1b" not in result.stdout.decode() + result.stderr
    assert "Cassandra" in result.stdout.decode()


# Terminals that are not UTF-8 --------------------------------------------------------------------------------------


def test_fit_to_encoding_uses_lookalikes_then_question_marks() -> None:
    assert fit_to_encoding("• a — b… “c” 系统 é", "latin-1") == '* a - b... "c" ?? é'
    assert fit_to_encoding("• a — 系统", "utf-8") == "• a — 系统"


def test_rendered_markdown_on_a_latin1_stream_degrades_instead_of_crashing() -> None:
    from rich.markdown import Markdown

    with streams("latin-1") as (out, _):
        console().print(Markdown(BULLETS))
    shown = visible(out.getvalue().decode("latin-1"))
    assert '* first "quoted" step...' in shown and "?? second" in shown
    assert "Plan - draft" in shown


def test_spinner_on_a_latin1_terminal_uses_ascii() -> None:
    with streams("latin-1") as (_, err), Spinner("Asking gpt-4o-mini…"):
        pass
    shown = visible(err.getvalue().decode("latin-1"))
    assert "- Asking gpt-4o-mini..." in shown
    assert "?" not in shown


def test_latin1_terminal_shows_the_answer(sdx, fake):
    fake.scenario.answer = BULLETS
    result = sdx.run_tty("ask", "Design a cache", env={"PYTHONIOENCODING": "latin-1", "NO_COLOR": "1"})
    screen = result.stdout.decode("latin-1")
    assert result.code == 0, screen
    assert 'first "quoted" step...' in screen and "Traceback" not in screen


@pytest.mark.parametrize("variables", [{"PYTHONIOENCODING": "latin-1"}, {"LANG": "en_US.ISO-8859-1", "LC_ALL": ""}])
def test_piped_answer_stays_utf8_byte_for_byte_whatever_the_locale(sdx, fake, variables):
    fake.scenario.answer = BULLETS
    proc = run_with(sdx, "ask", "Design a cache", env=variables, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == BULLETS.encode()


def test_non_utf8_locale_on_a_terminal_does_not_crash(sdx, fake):
    fake.scenario.answer = BULLETS
    result = sdx.run_tty("ask", "Design a cache", env={"LANG": "en_US.ISO-8859-1", "LC_ALL": "en_US.ISO-8859-1"})
    screen = result.stdout.decode("latin-1")
    assert result.code == 0, screen
    assert "step" in screen and "Traceback" not in screen and "unexpected" not in screen


def test_failure_on_a_latin1_terminal_is_one_sentence(sdx, fake):
    fake.scenario.failures.append(Failure.json_error(401, "No auth credentials found"))
    result = sdx.run_tty("ask", "Design a cache", env={"PYTHONIOENCODING": "latin-1"})
    screen = result.stdout.decode("latin-1")
    assert result.code == PROVIDER, screen
    assert "sdx: error:" in screen and "Traceback" not in screen


def test_doctor_on_a_latin1_terminal_tells_a_pass_from_a_failure(sdx, fake):
    """✓ and ✗ would both be "?" on a terminal that cannot show them."""
    result = sdx.run_tty("doctor", env={"PYTHONIOENCODING": "latin-1", "NO_COLOR": "1"})
    screen = result.stdout.decode("latin-1").replace("\r\n", "\n")
    assert "\nok openrouter answers at " in "\n" + screen, screen
    assert "\nFAIL openai: OPENAI_API_KEY is not set - export it" in "\n" + screen, screen  # "—" as "-"
    assert "\nok default model gpt-4o-mini -> openrouter:" in "\n" + screen, screen
    assert "?" not in screen


# Ctrl-C on a real terminal -------------------------------------------------------------------------------------------


def test_ctrl_c_on_a_real_terminal_leaves_every_line_once(sdx, fake):
    """The terminal driver echoes `^C` where the cursor is, between sdx's writes: no line may end up twice."""
    words = [f"word{i:03}" for i in range(90)]
    fake.scenario.answer = "Intro.\n\n" + "\n".join(" ".join(words[i : i + 6]) for i in range(0, 90, 6)) + "\n"
    fake.scenario.delay_between = 0.03
    output = run_on_a_terminal_until(sdx, b"word042", b"\x03")
    terminal = Terminal(60)
    terminal.write(output.decode("utf-8", "replace"))
    text = " ".join(terminal.lines())
    shown = [text.count(word) for word in ["Intro.", *words]]
    assert set(shown) <= {0, 1} and shown[:40] == [1] * 40, terminal.lines()
    assert "sdx: interrupted after" in text


Action = Callable[[subprocess.Popen, int, int, bytes], None]


def run_on_a_terminal_until(sdx, seen: bytes, action: bytes | Action, status: int = 130, timeout: float = 30) -> bytes:
    """`sdx ask` on a pseudo-terminal that is its controlling terminal. Once `seen` was written, type `action`, and
    return everything the terminal received; or call `action` with the process, both ends of the terminal and the
    output so far, and return what the terminal received after that."""
    master, slave = pty.openpty()
    set_terminal_size(slave, 24, 80 if callable(action) else 60)
    proc = subprocess.Popen(
        [*SDX, "ask", "Design a cache"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=sdx.home,
        env={**sdx.env, "TERM": "xterm-256color"},
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # so that ^C reaches sdx as SIGINT
    )
    chunks: list[bytes] = []
    done = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            if not done and seen in b"".join(chunks):
                done = True
                if callable(action):
                    action(proc, master, slave, b"".join(chunks))
                    chunks.clear()
                else:
                    os.write(master, action)
            if proc.poll() is not None and not select.select([master], [], [], 0.2)[0]:
                break
    finally:
        os.close(master)
        os.close(slave)
        if proc.poll() is None:
            proc.kill()
    assert proc.wait(10) == status
    return b"".join(chunks)


def test_narrowing_a_real_terminal_mid_answer_shows_every_line_once(sdx, fake):
    """The terminal is narrowed while the answer streams (sdx stopped meanwhile, so no write lands between the
    resize and the emulator's reflow): sdx must notice the new width and erase the rewrapped live area."""
    words = [f"word{i:03}" for i in range(120)]
    fake.scenario.answer = "Intro.\n\n" + "\n".join(" ".join(words[i : i + 8]) for i in range(0, 120, 8)) + "\n"
    fake.scenario.delay_between = 0.02
    terminal = Terminal(80)

    def narrow(proc: subprocess.Popen, master: int, slave: int, earlier: bytes) -> None:
        proc.send_signal(signal.SIGSTOP)
        terminal.write((earlier + drain(master)).decode("utf-8", "replace"))
        set_terminal_size(slave, 24, 50)
        terminal.reflow(50)
        proc.send_signal(signal.SIGCONT)

    output = run_on_a_terminal_until(sdx, b"word030", narrow, status=0)
    terminal.write(output.decode("utf-8", "replace"))
    text = " ".join(terminal.lines())
    assert [text.count(word) for word in ["Intro.", *words]] == [1] * (len(words) + 1), terminal.lines()
    assert max(len(line) for line in terminal.lines()[-5:]) <= 50  # the end of the answer is drawn at the new width


def drain(master: int) -> bytes:
    chunks = []
    while select.select([master], [], [], 0.2)[0]:
        chunks.append(os.read(master, 65536))
    return b"".join(chunks)


# tmux -------------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tmux_scrollback_holds_each_line_of_a_block_taller_than_the_screen_once(sdx, fake):
    """In tmux (its own defaults: `scroll-on-clear` is on), from the top-left corner as after `clear`, an answer
    that is one 80-item list in a 30-row pane: a redraw that cleared the whole screen, or a live area that scrolled,
    would leave copies of the items in the scrollback."""
    fake.scenario.answer = "".join(f"- item {i:02} of the list\n" for i in range(1, 81)) + "\nDone.\n"
    fake.scenario.chunk_size = 12
    fake.scenario.delay_between = 0.01
    server = ["tmux", "-L", f"sdx-test-{os.getpid()}-{id(fake)}", "-f", "/dev/null"]
    command = shlex.join([*SDX, "ask", "Design a cache"]) + "; echo sdx-exited-$?; sleep 60"
    tmux_env = {**sdx.env, "TERM": "xterm-256color"}
    pane_size = ["-x", "100", "-y", "30"]
    subprocess.run([*server, "new-session", "-d", *pane_size, "-c", str(sdx.home), command], env=tmux_env, check=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pane = subprocess.run([*server, "capture-pane", "-p", "-S", "-", "-E", "-"], capture_output=True, text=True)
            if "sdx-exited-" in pane.stdout:
                break
            time.sleep(0.2)
    finally:
        subprocess.run([*server, "kill-server"], capture_output=True)
    assert "sdx-exited-0" in pane.stdout, pane.stdout
    assert [pane.stdout.count(f"item {i:02} ") for i in range(1, 81)] == [1] * 80, pane.stdout
    assert pane.stdout.count("Done.") == 1
