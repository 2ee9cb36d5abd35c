"""`sdx ask` end to end through the real openai client against the fake server."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from sdx.domain.prompts import SYSTEM_PROMPT
from sdx.domain.question_bank import texts
from tests.conftest import OPENROUTER_KEY
from tests.fake_server import ANSWER

EXAMPLES = texts()


def test_piped_answer_is_the_served_markdown_byte_for_byte(sdx, fake):
    result = sdx.run("ask", "Design a URL shortener")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()
    assert result.stderr == ""


def test_unicode_and_odd_chunking_survive_byte_for_byte(sdx, fake):
    fake.scenario.answer = "## Überblick 🚀\n\n表 | x\n--|--\n\x1b[31mred\x1b[0m\r\nend"
    fake.scenario.chunk_size = 1
    result = sdx.run("ask", "Design a cache")
    assert result.stdout == fake.scenario.answer.encode()


def test_request_carries_system_prompt_model_and_question(sdx, fake):
    sdx.run("ask", "Design a URL shortener")
    [request] = fake.chat_requests()
    assert request.path == "/api/v1/chat/completions"
    assert request.body["model"] == "openai/gpt-4o-mini"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "Design a URL shortener"},
    ]
    assert request.headers["authorization"] == f"Bearer {OPENROUTER_KEY}"
    assert request.headers["x-title"] == "sdx"


def test_questions_are_sent_as_the_user_wrote_them(sdx, fake):
    asked = [
        "design a chat system",
        "a rate limiter",
        "Explain consistent hashing",
        "设计一个聊天系统",
        "¿Cómo diseñar Twitter?",
    ]
    for question in asked:
        assert sdx.call("ask", question).code == 0
    assert [r.body["messages"][1]["content"] for r in fake.chat_requests()] == asked


def test_context_option_is_added_to_the_user_message(sdx, fake):
    sdx.run("ask", "--context", "50M DAU", "Design a chat system like Slack")
    user = fake.chat_requests()[0].body["messages"][1]["content"]
    assert user == "Design a chat system like Slack\n\nContext/Constraints: 50M DAU"


def test_a_dash_means_the_question_is_on_stdin(sdx, fake):
    result = sdx.call("ask", "-", input=b"Design from stdin\n")
    assert result.code == 0, result.stderr
    assert fake.chat_requests()[0].body["messages"][1]["content"] == "Design from stdin"


def test_question_from_stdin(sdx, fake):
    result = sdx.run("ask", input=b"Design a URL shortener\n")
    assert result.code == 0, result.stderr
    assert fake.chat_requests()[0].body["messages"][1]["content"] == "Design a URL shortener"


def test_argument_is_the_question_and_stdin_the_context(sdx, fake):
    sdx.run("ask", "--no-estimate", "Design the storage layer for this", input=b"# Spec\nWrites: 10k/s\n")
    user = fake.chat_requests()[0].body["messages"][1]["content"]
    assert user == "Design the storage layer for this\n\nContext/Constraints: # Spec\nWrites: 10k/s"


def test_example_question(sdx, fake):
    result = sdx.run("ask", "--example", "3")
    assert result.code == 0, result.stderr
    assert fake.chat_requests()[0].body["messages"][1]["content"] == EXAMPLES[2]


def test_example_out_of_range_is_a_usage_error(sdx, fake):
    result = sdx.run("ask", "--example", "99")
    assert result.code == 2
    assert result.stderr.startswith("sdx: error: there is no example 99 — pick 1 to")
    assert fake.requests == []


def test_examples_lists_at_least_the_seeds_seven(sdx):
    result = sdx.run("examples")
    lines = result.out.splitlines()
    assert len(lines) == len(EXAMPLES) >= 7
    assert lines[0] == f" 1. {EXAMPLES[0]}"


def test_no_stream_waits_for_the_whole_answer(sdx, fake):
    result = sdx.run("ask", "--no-stream", "Design a URL shortener")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()
    assert "stream" not in fake.chat_requests()[0].body


def test_output_file_holds_the_raw_markdown(sdx, fake):
    target = sdx.home / "answer.md"
    result = sdx.run("ask", "-o", str(target), "Design a URL shortener")
    assert result.code == 0, result.stderr
    assert target.read_bytes() == ANSWER.encode() == result.stdout


def test_stream_without_usage_chunk_or_comments_still_works(sdx, fake):
    fake.scenario.usage = False
    fake.scenario.comments = False
    result = sdx.run("ask", "Design a URL shortener")
    assert result.stdout == ANSWER.encode()


def test_a_whole_answer_without_usage_has_its_tokens_estimated_from_its_length(sdx, fake):
    fake.scenario.usage = False
    assert sdx.call("ask", "--no-stream", "Design a URL shortener").code == 0
    with closing(sqlite3.connect(sdx.config_dir / "history.db")) as db:
        stored = db.execute("SELECT completion_tokens, tokens_estimated FROM turns").fetchall()
    assert stored == [(len(ANSWER) // 4, 1)]  # not 1: the whole answer came as one chunk


def test_truncated_answer_warns_on_stderr(sdx, fake):
    fake.scenario.finish_reason = "length"
    result = sdx.run("ask", "Design a URL shortener")
    assert result.code == 0
    assert result.stdout == ANSWER.encode()
    assert "sdx: warning: the answer was cut off at the model's token limit" in result.stderr


def test_max_tokens_is_sent(sdx, fake):
    sdx.run("ask", "--max-tokens", "64", "Design a URL shortener")
    assert fake.chat_requests()[0].body["max_tokens"] == 64


def test_terminal_output_is_rendered_not_raw(sdx, fake):
    result = sdx.run_tty("ask", "Design a URL shortener")
    assert result.code == 0
    screen = result.stdout.decode()
    assert "\x1b[" in screen
    assert "# Design a URL shortener" not in screen
    assert "Design a URL shortener" in screen
    assert "Cassandra" in screen


def test_raw_flag_prints_markdown_on_a_terminal(sdx, fake):
    result = sdx.run_tty("ask", "--raw", "Design a URL shortener")
    assert result.code == 0
    assert "# Design a URL shortener" in result.stdout.decode()


def test_no_color_on_a_terminal_drops_colour_codes(sdx, fake):
    result = sdx.run_tty("ask", "Design a URL shortener", env={"NO_COLOR": "1"})
    assert result.code == 0
    assert "\x1b[3" not in result.stdout.decode()  # no foreground colours
    assert "Cassandra" in result.stdout.decode()


def test_models_json_lists_aliases_providers_and_ollama_models(sdx, fake, ollama):
    result = sdx.run("models", "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["default"] == "gpt-4o-mini"
    aliases = {row["alias"]: row for row in report["aliases"]}
    assert aliases["gpt-4o-mini"]["model_id"] == "openai/gpt-4o-mini"
    assert aliases["gpt-4o-mini"]["base_url"] == f"{fake.root}/api/v1"
    assert aliases["gpt-4o-mini"]["key_present"] is True
    assert aliases["llama3.2"]["key_present"] is None
    providers = {row["name"]: row for row in report["providers"]}
    assert providers["ollama"]["reachable"] is True
    assert providers["ollama"]["models"] == ["llama3.2:latest", "openai/gpt-4o-mini"]
    assert providers["openai"]["key_present"] is False
    assert OPENROUTER_KEY not in result.out


def test_models_table_says_when_ollama_is_down(sdx, ollama):
    ollama.stop()
    result = sdx.run("models")
    assert result.code == 0
    assert "not running" in result.out
    assert "missing" in result.out  # OPENAI_API_KEY
