"""`sdx chat` with stdin not a terminal: one message per line, each answered in turn, every turn stored.

The interactive REPL runs through a real pseudo-terminal in tests/test_chat_pty.py.
"""

from __future__ import annotations

from sdx.domain.prompts import SYSTEM_PROMPT
from tests.fake_server import ANSWER, Failure
from tests.runner import stored_conversations as stored

USAGE, CONFIG, REFUSED = 2, 3, 4


def marker(number: int) -> bytes:
    return f"<!-- sdx: end of answer {number} -->\n".encode()


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_each_piped_line_is_a_follow_up_and_answers_are_separated_by_markers(sdx, fake):
    result = sdx.call("chat", input="Design a URL shortener\n\nHow would you shard it?\n")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode() + marker(1) + ANSWER.encode() + marker(2)
    assert result.stderr == ""
    first, second = (request.body["messages"] for request in fake.chat_requests())
    system = {"role": "system", "content": SYSTEM_PROMPT}
    assert first == [system, user("Design a URL shortener")]
    assert second == [system, user("Design a URL shortener"), assistant(ANSWER), user("How would you shard it?")]
    [conversation] = stored(sdx)
    assert (conversation.kind, conversation.model, conversation.title) == (
        "chat",
        "gpt-4o-mini",
        "Design a URL shortener",
    )
    assert [(turn.question, turn.answer, turn.status) for turn in conversation.turns] == [
        ("Design a URL shortener", ANSWER, "complete"),
        ("How would you shard it?", ANSWER, "complete"),
    ]


def test_an_answer_without_a_final_newline_gets_one_before_its_marker(sdx, fake):
    fake.scenario.answer = "Use consistent hashing."
    result = sdx.call("chat", "Design a cache", input="and eviction?\n")
    assert result.code == 0, result.stderr
    assert result.stdout == b"Use consistent hashing.\n" + marker(1) + b"Use consistent hashing.\n" + marker(2)
    assert [request.body["messages"][-1] for request in fake.chat_requests()] == [
        user("Design a cache"),
        user("and eviction?"),
    ]


def test_a_failed_turn_costs_its_line_and_the_chat_goes_on_with_the_worst_status(sdx, fake):
    fake.scenario.failures.append(Failure.json_error(402, "Insufficient credits"))
    result = sdx.call("chat", input="Design a URL shortener\nDesign a rate limiter\n")
    assert result.code == REFUSED
    assert result.stdout == marker(1) + ANSWER.encode() + marker(2)
    assert result.stderr.count("sdx: error:") == 1 and "out of credits" in result.stderr
    [conversation] = stored(sdx)
    assert [(turn.status, turn.answer) for turn in conversation.turns] == [("error", ""), ("complete", ANSWER)]
    # the failed question is kept in history, but not sent again: it would be a question with no reply
    assert fake.chat_requests()[-1].body["messages"][1:] == [user("Design a rate limiter")]


def test_a_broken_stream_keeps_its_text_and_the_next_line_is_answered(sdx, fake):
    fake.scenario.break_after = 4
    result = sdx.call("chat", input="Design a URL shortener\n")
    assert result.code == 5
    assert result.stdout == ANSWER[:20].encode() + b"\n" + marker(1)
    [turn] = stored(sdx)[0].turns
    assert (turn.status, turn.answer) == ("interrupted", ANSWER[:20])


def test_slash_commands_switch_model_and_context_and_start_afresh(sdx, fake, ollama):
    script = (
        "Design a URL shortener\n"
        "/model no-such-model\n"
        "/context 50M DAU, global\n"
        "/model llama3.2\n"
        "How would you shard it?\n"
        "/new\n"
        "Design a rate limiter\n"
        "/frobnicate\n"
    )
    result = sdx.call("chat", input=script)
    assert result.code == CONFIG  # the worst of: unknown model (3), unknown command (2)
    assert "sdx: error: unknown model 'no-such-model'" in result.stderr
    assert "sdx: error: unknown command /frobnicate — /help lists the commands" in result.stderr
    assert "now answering with llama3.2 (ollama:llama3.2)" in result.stderr
    assert result.stdout == ANSWER.encode().join([b"", marker(1), marker(2), marker(3)])
    [first] = fake.chat_requests()
    [follow_up, fresh] = ollama.chat_requests()
    assert first.body["model"] == "openai/gpt-4o-mini" and follow_up.body["model"] == "llama3.2"
    assert follow_up.body["messages"][1:] == [
        user("Design a URL shortener"),
        assistant(ANSWER),
        user("How would you shard it?\n\nContext/Constraints: 50M DAU, global"),
    ]
    assert fresh.body["messages"][1:] == [user("Design a rate limiter")]  # /new: no earlier turns, no context
    chat, new = stored(sdx)
    assert [turn.question for turn in chat.turns] == ["Design a URL shortener", "How would you shard it?"]
    assert chat.turns[1].context == "50M DAU, global" and chat.turns[1].model_id == "llama3.2"
    assert [turn.question for turn in new.turns] == ["Design a rate limiter"]
    assert (new.kind, new.model) == ("chat", "llama3.2")


def test_exit_stops_reading(sdx, fake):
    result = sdx.call("chat", input="Design a URL shortener\n/exit\nDesign a rate limiter\n")
    assert result.code == 0
    assert len(fake.chat_requests()) == 1
    assert result.stdout == ANSWER.encode() + marker(1)


def test_save_writes_markdown_and_never_overwrites_from_a_pipe(sdx, fake):
    notes = sdx.home / "notes.md"
    result = sdx.call("chat", input="/save notes.md\nDesign a URL shortener\n/save notes.md\n/save notes.md\n")
    assert result.code == USAGE
    assert "sdx: error: there is nothing to save yet" in result.stderr
    assert "sdx: saved 1 turn to notes.md" in result.stderr
    assert (
        "sdx: error: notes.md already exists — /save --force notes.md to replace it, or choose another file name"
        in result.stderr
    )
    text = notes.read_text(encoding="utf-8")
    assert text.startswith("# Design a URL shortener\n") and ANSWER.strip() in text
    notes.write_text("mine", encoding="utf-8")
    assert sdx.call("chat", input="Design a cache\n/save notes.md\n").code == USAGE
    assert notes.read_text(encoding="utf-8") == "mine"


def test_history_lists_recent_conversations_on_stderr(sdx, fake):
    sdx.call("chat", input="Design a URL shortener\n")
    result = sdx.call("chat", input="/history\n")
    assert result.code == 0 and result.stdout == b""
    header, row = result.stderr.splitlines()
    assert header.split() == ["ID", "WHEN", "KIND", "MODEL", "TURNS", "COST", "TITLE"]
    assert row.startswith(stored(sdx)[0].id[:8]) and row.endswith(
        "chat  gpt-4o-mini  1      ?     Design a URL shortener"
    )


def test_continue_resumes_the_latest_conversation_with_its_model(sdx, fake, ollama):
    assert sdx.call("chat", "-m", "llama3.2", input="Design a URL shortener\n").code == 0
    result = sdx.call("chat", "-C", input="How would you shard it?\n")
    assert result.code == 0, result.stderr
    assert "sdx: continuing “Design a URL shortener” (1 turn, llama3.2)" in result.stderr
    assert fake.chat_requests() == []
    assert ollama.chat_requests()[-1].body["messages"][1:] == [
        user("Design a URL shortener"),
        assistant(ANSWER),
        user("How would you shard it?"),
    ]
    [conversation] = stored(sdx)
    assert len(conversation.turns) == 2
    assert sdx.call("chat", "--cid", conversation.id[:12].lower(), input="And caching?\n").code == 0
    assert len(stored(sdx)[0].turns) == 3


def test_continue_with_nothing_to_continue_is_a_usage_error(sdx, fake):
    result = sdx.call("chat", "-C", input="hello\n")
    assert result.code == USAGE
    assert result.stderr == "sdx: error: there is no earlier conversation to continue — start one: sdx chat\n"
    assert fake.chat_requests() == []


def test_no_log_and_log_false_store_nothing(sdx, fake):
    result = sdx.call("chat", "--no-log", input="Design a URL shortener\n/history\n")
    assert result.code == 0 and result.stderr == "sdx: no conversations yet\n"
    assert not (sdx.config_dir / "history.db").exists()
    sdx.write_config("log = false\n" + sdx.config_file.read_text())
    assert sdx.call("chat", input="Design a rate limiter\n").code == 0
    assert len(fake.chat_requests()) == 2
    assert stored(sdx) == []


def test_an_unknown_model_fails_before_reading_anything(sdx, fake):
    result = sdx.call("chat", "-m", "no-such-model", input="Design a URL shortener\n")
    assert result.code == CONFIG
    assert result.stdout == b"" and fake.chat_requests() == []


def test_piped_questions_onto_a_terminal_are_rendered_with_a_footer(sdx, fake):
    fake.scenario.usage_completion_tokens = 54
    result = sdx.call("chat", input="Design a URL shortener\n", tty=True, env={"NO_COLOR": "1"})
    assert result.code == 0, result.stderr
    out = result.stdout.decode()
    assert "<!--" not in out and "**" not in out and "p99 < 20 ms" in out  # rendered, no markers
    assert "› Design a URL shortener\n" in result.stderr
    footer = "gpt-4o-mini · 50 in / 54 out · first token "
    assert result.stderr.count(footer) == 1
    assert result.stderr.rstrip().endswith(" tokens/s")  # the footer is the last line; no cost was reported


def test_a_message_over_the_input_limit_is_refused_and_the_next_one_answered(sdx, fake):
    sdx.write_config("max_input_kb = 1\n" + sdx.config_file.read_text())
    result = sdx.call("chat", input="x" * 2000 + "\nDesign a cache\n")
    assert result.code == USAGE
    assert "sdx: error: the message and context are larger than 1 KB" in result.stderr
    assert result.stdout == marker(1) + ANSWER.encode() + marker(2)
    assert [messages[-1]["content"] for messages in (r.body["messages"] for r in fake.chat_requests())] == [
        "Design a cache"
    ]


def test_continue_and_cid_together_are_a_usage_error(sdx, fake):
    result = sdx.call("chat", "-C", "--cid", "01JD", input="hello\n")
    assert result.code == USAGE
    assert result.stderr.startswith("sdx: error: give -C or --cid, not both — -C resumes the most recent")


def test_a_read_with_a_deadline_ends_in_time_up_with_the_line_unsent():
    """What ends an interview whose clock runs out while the candidate types (prompt-toolkit on a pipe input)."""
    import time

    import pytest
    from prompt_toolkit import PromptSession
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from sdx.terminal.prompt_input import TimeUp, _deadline

    with create_pipe_input() as keys:
        keys.send_text("half a sentence")
        session = PromptSession(input=keys, output=DummyOutput())
        started = time.monotonic()
        with pytest.raises(TimeUp):
            session.prompt("you› ", pre_run=_deadline(0.3))
        assert 0.25 < time.monotonic() - started < 5
        keys.send_text("sent\r")
        assert session.prompt("you› ", pre_run=_deadline(None)) == "sent"
