"""`sdx chat` on a real pseudo-terminal, driven by pexpect: the REPL as a user types into it.

Each spawn imports openai (about a second), so these tests are few and each covers a whole session.
"""

from __future__ import annotations

import stat
import sys

import pexpect

from sdx.store.history import History
from tests.fake_server import ANSWER
from tests.terminal_session import TerminalSession

TIMEOUT = 20  # seconds for any one expected output


def spawn_chat(sdx, *args: str) -> TerminalSession:
    env = {**sdx.env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}  # pexpect answers no cursor queries
    child = TerminalSession(
        sys.executable,
        ["-m", "sdx", "chat", *args],
        env=env,
        cwd=str(sdx.home),
        dimensions=(40, 100),
        timeout=TIMEOUT,
        encoding="utf-8",
    )
    return child


def answered(child: TerminalSession) -> None:
    """Wait for the footer that ends an answer, then for the next prompt."""
    child.expect("tokens/s")
    child.expect("›")


def user_messages(server) -> list[list[str]]:
    return [[m["content"] for m in r.body["messages"] if m["role"] != "system"] for r in server.chat_requests()]


def test_a_conversation_with_ctrl_c_mid_answer_a_model_switch_and_ctrl_d(sdx, fake, ollama):
    child = spawn_chat(sdx)
    child.expect("Enter sends")  # the keys' hint in the first prompt
    child.send("Design a URL shortener\r")
    answered(child)
    child.send("How would you shard it?\r")
    answered(child)
    assert user_messages(fake)[1] == ["Design a URL shortener", ANSWER, "How would you shard it?"]

    fake.scenario.delay_between = 0.05  # about three seconds for the whole answer: time to press Ctrl-C
    child.send("Now add click analytics\r")
    child.expect("Requirements")  # the answer is streaming
    child.sendintr()
    child.expect("interrupted after \\d+ tokens; the partial answer was kept")
    child.expect("›")  # back at the prompt, not out of the chat
    fake.scenario.delay_between = 0

    child.send("/model llama3.2\r")
    child.expect("now answering with llama3.2 \\(ollama:llama3.2\\)")
    child.expect("›")
    child.send("What about caching?\r")
    answered(child)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    with History.open(sdx.config_dir / "history.db") as history:
        conversation = history.load(history.latest())
    assert conversation.kind == "chat"
    assert [(turn.question, turn.status) for turn in conversation.turns] == [
        ("Design a URL shortener", "complete"),
        ("How would you shard it?", "complete"),
        ("Now add click analytics", "interrupted"),
        ("What about caching?", "complete"),
    ]
    partial = conversation.turns[2].answer
    assert partial and ANSWER.startswith(partial) and partial != ANSWER
    assert conversation.turns[3].model_id == "llama3.2"
    # the new model gets the whole conversation, the interrupted answer as it was kept
    [switched] = user_messages(ollama)
    assert switched == [
        "Design a URL shortener",
        ANSWER,
        "How would you shard it?",
        ANSWER,
        "Now add click analytics",
        partial,
        "What about caching?",
    ]
    input_history = sdx.config_dir / "chat_input_history"
    assert "What about caching?" in input_history.read_text(encoding="utf-8")
    assert stat.S_IMODE(input_history.stat().st_mode) == 0o600


def test_multi_line_input_paste_save_ctrl_c_at_the_prompt_and_exit(sdx, fake):
    child = spawn_chat(sdx, "--no-log", "Design a URL shortener")  # the argument is the first question
    answered(child)
    child.send("first line\x1b\rsecond line\r")  # Esc-Enter: a new line; Enter: send
    answered(child)
    child.send("\x1b[200~pasted\nblock\x1b[201~\r")  # a bracketed paste keeps its newline; Enter sends it
    answered(child)
    notes = sdx.home / "notes.md"
    notes.write_text("mine", encoding="utf-8")
    child.send("/save notes.md\r")
    child.expect("notes.md exists; replace it\\? \\[y/N\\]")
    child.send("n\r")
    child.expect("notes.md already exists and was left as it is")
    assert notes.read_text(encoding="utf-8") == "mine"
    child.send("/save notes.md\r")
    child.expect("replace it")
    child.send("y\r")
    child.expect("saved 3 turns to notes.md")
    assert notes.read_text(encoding="utf-8").startswith("# Design a URL shortener\n")
    child.send("\x1b[A")  # Up: the last message, not the "y" answered to the question
    child.expect("/save notes.md")
    child.sendintr()
    child.send("half-typed")
    child.sendintr()  # clears the line, the chat goes on
    child.send("/exit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert [messages[-1] for messages in user_messages(fake)] == [
        "Design a URL shortener",
        "first line\nsecond line",
        "pasted\nblock",
    ]
    assert not (sdx.config_dir / "history.db").exists()  # --no-log: nothing stored,
    assert not (sdx.config_dir / "chat_input_history").exists()  # not even the input history
