"""A signal at the chat or interview prompt while prompt-toolkit is busy with a burst of keys (what closing a
terminal window does): sdx ends at once with 143 or 129, the terminal restored, what was answered stored."""

from __future__ import annotations

import signal
import sys
import termios
import time

import pexpect
import pytest

from tests.runner import stored_conversations
from tests.terminal_session import TerminalSession
from tests.test_chat_pty import answered, spawn_chat

BURST = "the quick brown fox jumps over the lazy dog " * 400  # 18 KB of typing, several seconds of key handling


def burst_then_signal(child: TerminalSession, signum: int) -> tuple[float, bool]:
    """Type the burst and, while the editor is still handling it, send `signum`: (seconds until sdx is gone,
    whether it left the terminal as it found it)."""
    echoed = ""
    for start in range(0, len(BURST), 512):  # typed in pieces, its echo read meanwhile: neither side blocks
        child.send(BURST[start : start + 512])
        echoed += drain(child)
        if start >= len(BURST) // 4 and "lazy dog" in echoed:
            break  # a quarter typed, the rest still arriving: the editor is busy with the keys
    child.kill(signum)
    sent = time.monotonic()
    child.expect(pexpect.EOF, timeout=10)
    seconds = time.monotonic() - sent
    restored = terminal_restored(child)
    child.close()
    return seconds, restored


def drain(child: TerminalSession) -> str:
    try:
        return child.read_nonblocking(1 << 20, timeout=0.01)
    except pexpect.TIMEOUT:
        return ""


def terminal_restored(child: TerminalSession) -> bool:
    """The pseudo-terminal's mode is cooked again: line editing and echo on, as before sdx took it raw."""
    _iflag, _oflag, _cflag, lflag, *_ = termios.tcgetattr(child.child_fd)
    return bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)


@pytest.mark.parametrize(("signum", "said"), [(signal.SIGTERM, "sdx: terminated"), (signal.SIGHUP, "sdx: hung up")])
def test_a_signal_while_the_chat_prompt_handles_a_burst_of_keys_ends_sdx(sdx, fake, signum, said):
    child = spawn_chat(sdx, "Design a URL shortener")
    answered(child)
    seconds, restored = burst_then_signal(child, signum)
    output = child.before
    assert child.exitstatus == 128 + signum, output[-2000:]
    assert seconds < 10, seconds  # within a second on an idle machine; before, it never ended at all
    assert restored
    assert "Unhandled exception" not in output and "Press ENTER" not in output
    assert said in output
    [conversation] = stored_conversations(sdx)
    assert [(turn.question, turn.status) for turn in conversation.turns] == [("Design a URL shortener", "complete")]


def test_sigterm_while_the_interview_prompt_handles_a_burst_of_keys_ends_sdx(sdx, fake):
    env = {**sdx.env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = TerminalSession(
        sys.executable,
        ["-m", "sdx", "interview", "--minutes", "20", "Design a URL shortener"],
        env=env,
        cwd=str(sdx.home),
        dimensions=(40, 100),
        timeout=20,
        encoding="utf-8",
    )
    child.expect("you›")
    seconds, restored = burst_then_signal(child, signal.SIGTERM)
    assert child.exitstatus == 143, child.before[-2000:]
    assert seconds < 10 and restored, seconds
    assert "Unhandled exception" not in child.before and "sdx: terminated" in child.before
    [interview] = stored_conversations(sdx)
    assert [turn.status for turn in interview.turns] == ["complete"]  # the opening, stored as it happened
    assert interview.meta["grade_status"] == "not graded"
