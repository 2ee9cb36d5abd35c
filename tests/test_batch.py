"""`sdx batch` against the loopback server: files, index, concurrency, 429s, failures, resuming, Ctrl-C, bad input."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sdx.commands.batch import MAX_CONCURRENCY, most_severe
from sdx.domain.batch_input import Question, file_name, parse_questions, slug
from sdx.domain.prompts import SYSTEM_PROMPT
from sdx.domain.question_bank import texts
from tests import runner
from tests.fake_server import ANSWER, Failure, FakeOpenAI, chunks_of

TOKENS = len(chunks_of(ANSWER, 5))  # the fake server counts a chunk a token
QUESTIONS = ["Design a URL shortener", "Design a rate limiter", "Design a chat system"]


class BatchServer(FakeOpenAI):
    """The fake server, instrumented: requests in flight (and their maximum), failures chosen by the question's
    words, and the first N streams broken mid-answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_when: dict[str, Failure] = {}
        self.streams_to_break = 0
        super().__init__()

    def _handler_class(self) -> Any:
        server = self
        base: Any = super()._handler_class()

        class Counting(base):  # type: ignore[misc, valid-type]
            def do_POST(self) -> None:
                with server.lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    super().do_POST()
                finally:
                    with server.lock:
                        server.in_flight -= 1

        return Counting

    def _record(self, handler: Any, body: Any) -> None:
        handler.sdx_body = body
        super()._record(handler, body)

    def _serve_failure(self, handler: Any) -> bool:
        body = getattr(handler, "sdx_body", None) or {}
        asked = body.get("messages", [{}])[-1].get("content", "")
        for words, failure in self.fail_when.items():
            if words in asked:
                data = failure.body.encode() if isinstance(failure.body, str) else failure.body
                handler._send(failure.status, data, failure.content_type, failure.headers)
                return True
        return super()._serve_failure(handler)

    def _stream(self, handler: Any, body: Any) -> None:
        with self.lock:
            broken = self.streams_to_break > 0
            self.streams_to_break -= broken
        if not broken:
            super()._stream(handler, body)
            return
        saved = self.scenario  # only with --concurrency 1: the scenario is the server's, not the request's
        self.scenario = replace(saved, break_after=3)
        try:
            super()._stream(handler, body)
        finally:
            self.scenario = saved

    def asked(self) -> list[str]:
        return [r.body["messages"][-1]["content"] for r in self.chat_requests()]


@pytest.fixture
def server(sdx: runner.Sdx) -> Any:
    """The instrumented server, playing OpenRouter (the default model's provider)."""
    instrumented = BatchServer().start()
    sdx.write_config(f'[providers.openrouter]\nbase_url = "{instrumented.root}/api/v1"\n')
    yield instrumented
    instrumented.stop()


def write_questions(sdx: runner.Sdx, text: str, name: str = "q.txt") -> str:
    (sdx.home / name).write_text(text, encoding="utf-8")
    return name


def guide(sdx: runner.Sdx) -> Path:
    return sdx.home / "guide"


def answer_files(sdx: runner.Sdx) -> list[str]:
    return sorted(p.name for p in guide(sdx).iterdir() if p.name != "index.md")


def stored_turns(sdx: runner.Sdx) -> list[tuple[str, str, str]]:
    path = sdx.config_dir / "history.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT c.kind, t.question, t.status FROM turns t JOIN conversations c ON c.id = t.conversation_id"
            " ORDER BY t.question"
        ).fetchall()


# --- the whole flow ----------------------------------------------------------------------------------------------


def test_each_question_becomes_a_complete_file_linked_from_the_index(sdx, server):
    name = write_questions(sdx, "\n".join(QUESTIONS) + "\n")
    result = sdx.call("batch", name, "--out", "guide", "--concurrency", "2")
    assert result.code == 0, result.stderr
    assert result.stdout == b""
    assert answer_files(sdx) == [
        "01-design-a-url-shortener.md",
        "02-design-a-rate-limiter.md",
        "03-design-a-chat-system.md",
    ]
    text = (guide(sdx) / "02-design-a-rate-limiter.md").read_text()
    assert text.startswith("> **Question:** Design a rate limiter\n\n" + ANSWER)
    assert text.endswith(f" tokens={TOKENS} -->\n") and "model=gpt-4o-mini;" in text
    index = (guide(sdx) / "index.md").read_text()
    assert "3 of 3 questions answered · model `gpt-4o-mini`" in index
    assert "| 2 | [Design a rate limiter](02-design-a-rate-limiter.md) | done | gpt-4o-mini |" in index
    assert sorted(server.asked()) == sorted(QUESTIONS)
    assert server.chat_requests()[0].body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "sdx: 3 questions to answer with gpt-4o-mini into guide, 2 at a time" in result.stderr
    assert f"✓ 01-design-a-url-shortener.md ({TOKENS} tokens" in result.stderr
    assert "sdx: 3 of 3 answers are in guide; index: guide/index.md" in result.stderr
    assert stored_turns(sdx) == [("batch", q, "complete") for q in sorted(QUESTIONS)]


def test_no_log_or_log_false_keeps_answers_out_of_history(sdx, server):
    name = write_questions(sdx, QUESTIONS[0])
    assert sdx.call("batch", name, "--out", "guide", "--no-log").code == 0
    sdx.write_config(f'log = false\n[providers.openrouter]\nbase_url = "{server.root}/api/v1"\n')
    assert sdx.call("batch", name, "--out", "guide", "--force").code == 0
    assert len(server.chat_requests()) == 2
    assert stored_turns(sdx) == []


def test_context_goes_with_every_question(sdx, server):
    name = write_questions(sdx, "\n".join(QUESTIONS[:2]))
    assert sdx.call("batch", name, "--out", "guide", "--context", "50M DAU").code == 0
    assert sorted(server.asked()) == sorted(f"{q}\n\nContext/Constraints: 50M DAU" for q in QUESTIONS[:2])


def test_examples_and_stdin_are_inputs_too(sdx, server):
    assert sdx.call("batch", "--examples", "--out", "guide", "-j", "4").code == 0
    assert sorted(server.asked()) == sorted(texts())
    assert len(answer_files(sdx)) == len(texts()) >= 40
    result = sdx.call("batch", "-", "--out", "piped", input="Design a key-value store\n")
    assert result.code == 0, result.stderr
    assert (sdx.home / "piped" / "01-design-a-key-value-store.md").exists()


def test_progress_bar_and_ticks_on_a_terminal(sdx, server):
    name = write_questions(sdx, "\n".join(QUESTIONS))
    result = sdx.call("batch", name, "--out", "guide", tty=True)
    assert result.code == 0, result.stderr
    assert result.stdout == b""
    assert "✓ 01-design-a-url-shortener.md" in result.stderr
    assert "3/3" in result.stderr and "Answering" in result.stderr


# --- concurrency and the rate-limit budget -------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3])
def test_server_sees_n_requests_at_once_and_never_more(sdx, server, concurrency):
    server.scenario.delay_first = 0.2
    name = write_questions(sdx, "\n".join(f"Design system number {n}" for n in range(6)))
    result = sdx.call("batch", name, "--out", "guide", "--concurrency", str(concurrency))
    assert result.code == 0, result.stderr
    assert server.max_in_flight == concurrency
    assert len(server.chat_requests()) == 6


def test_a_loopback_server_gets_one_request_at_a_time_by_default(sdx, server):
    server.scenario.delay_first = 0.1
    name = write_questions(sdx, "\n".join(QUESTIONS))
    result = sdx.call("batch", name, "--out", "guide")
    assert result.code == 0, result.stderr
    assert "1 at a time" in result.stderr
    assert server.max_in_flight == 1


def test_absurd_concurrency_is_capped_and_said(sdx, server):
    name = write_questions(sdx, QUESTIONS[0])
    result = sdx.call("batch", name, "--out", "guide", "--concurrency", "100000")
    assert result.code == 0, result.stderr
    assert f"--concurrency 100000 is more than providers accept; using {MAX_CONCURRENCY}" in result.stderr


def test_429s_pause_the_whole_batch_and_lose_no_question(sdx, server):
    server.scenario.delay_first = 0.05
    for _ in range(2):
        server.scenario.failures.append(Failure.json_error(429, "slow down", **{"Retry-After": "7"}))
    name = write_questions(sdx, "\n".join(f"Design system number {n}" for n in range(5)))
    result = sdx.call("batch", name, "--out", "guide", "--concurrency", "2")
    assert result.code == 0, result.stderr
    assert len(answer_files(sdx)) == 5
    assert len(server.chat_requests()) == 7
    assert "rate limited (429)" in result.stderr and "the whole batch waits" in result.stderr
    assert 7.0 in runner.SLEPT  # the request that was refused waited as asked
    assert any(0 < s < 7.0 for s in runner.SLEPT)  # and a request not yet sent waited out the rest of the pause


# --- failures, retries and resuming --------------------------------------------------------------------------------


def test_one_failing_question_does_not_stop_the_others(sdx, server):
    server.fail_when["rate limiter"] = Failure.json_error(402, "Insufficient credits")
    name = write_questions(sdx, "\n".join(QUESTIONS))
    result = sdx.call("batch", name, "--out", "guide", "-j", "2")
    assert result.code == 4, result.stderr
    assert answer_files(sdx) == ["01-design-a-url-shortener.md", "03-design-a-chat-system.md"]
    assert "sdx:   ✗ 02-design-a-rate-limiter.md: openrouter says the account is out of credits (402)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == (
        "sdx: error: 1 of 3 questions failed — run the same command again to ask only those (finished answers are kept)"
    )
    index = (guide(sdx) / "index.md").read_text()
    assert "| 2 | Design a rate limiter | failed: openrouter says the account is out of credits (402) |" in index
    assert ("batch", "Design a rate limiter", "error") in stored_turns(sdx)


def test_a_rerun_asks_only_what_is_not_finished_and_force_asks_all(sdx, server):
    server.fail_when["rate limiter"] = Failure.json_error(402, "Insufficient credits")
    name = write_questions(sdx, "\n".join(QUESTIONS))
    assert sdx.call("batch", name, "--out", "guide").code == 4
    server.fail_when.clear()
    server.requests.clear()
    result = sdx.call("batch", name, "--out", "guide")
    assert result.code == 0, result.stderr
    assert server.asked() == ["Design a rate limiter"]
    assert "(2 already done)" in result.stderr and "(2 from an earlier run)" in result.stderr
    index = (guide(sdx) / "index.md").read_text()
    assert "| 1 | [Design a URL shortener](01-design-a-url-shortener.md) | done | gpt-4o-mini |" in index
    server.requests.clear()
    assert sdx.call("batch", name, "--out", "guide").code == 0
    assert server.asked() == []
    assert sdx.call("batch", name, "--out", "guide", "--force").code == 0
    assert len(server.asked()) == 3


def test_a_stream_that_breaks_is_asked_again_whole(sdx, server):
    server.streams_to_break = 1
    name = write_questions(sdx, QUESTIONS[0])
    result = sdx.call("batch", name, "--out", "guide", "-j", "1")
    assert result.code == 0, result.stderr
    assert len(server.chat_requests()) == 2
    assert "asking again (2/3)" in result.stderr
    assert (guide(sdx) / "01-design-a-url-shortener.md").read_text().count(ANSWER) == 1


def test_a_stream_that_keeps_breaking_fails_after_three_attempts_leaving_no_file(sdx, server):
    server.streams_to_break = 3
    name = write_questions(sdx, QUESTIONS[0])
    result = sdx.call("batch", name, "--out", "guide", "-j", "1")
    assert result.code == 5, result.stderr
    assert len(server.chat_requests()) == 3
    assert answer_files(sdx) == []
    assert not any(guide(sdx).glob(".*.part"))


def test_most_severe_code_a_bug_then_config_then_usage_then_provider_then_network():
    assert most_severe([5, 4, 5]) == 4
    assert most_severe([5, 4, 3]) == 3
    assert most_severe([4, 2]) == 2
    assert most_severe([5, 3, 1]) == 1
    assert most_severe([5]) == 5


SIGNALS = [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]


@pytest.mark.parametrize(("signum", "code", "word"), SIGNALS)
def test_a_signal_leaves_no_partial_answer_under_a_final_name_and_a_rerun_completes(sdx, server, signum, code, word):
    server.scenario.delay_between = 0.03  # about 1.6 s per answer
    name = write_questions(sdx, "\n".join(QUESTIONS))
    proc = sdx.popen("batch", name, "--out", "guide", "-j", "1")
    second = guide(sdx) / ".02-design-a-rate-limiter.md.part"
    deadline = time.monotonic() + 30
    while not (second.exists() and second.stat().st_size > 200) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (guide(sdx) / "01-design-a-url-shortener.md").exists()  # the first answer is done, the second streaming
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert out == b""
    assert answer_files(sdx) == ["01-design-a-url-shortener.md"]  # no temporary file left, nothing half-written
    assert err.decode().rstrip().splitlines()[-1] == (
        f"sdx: {word}: 1 of 3 answers are in guide; run the same command again to answer the other 2"
    )
    index = (guide(sdx) / "index.md").read_text()
    assert "| 1 | [Design a URL shortener](01-design-a-url-shortener.md) | done |" in index
    assert "| 2 | Design a rate limiter | not answered yet |" in index
    server.scenario.delay_between = 0
    server.requests.clear()
    result = sdx.call("batch", name, "--out", "guide", "-j", "2")
    assert result.code == 0, result.stderr
    assert sorted(server.asked()) == sorted(QUESTIONS[1:])
    assert all((guide(sdx) / f).read_text().endswith(f"tokens={TOKENS} -->\n") for f in answer_files(sdx))


# --- input ---------------------------------------------------------------------------------------------------------


def test_multi_line_questions_comments_and_duplicates(sdx, server):
    text = (
        "# my list\n"
        "Design a feed\n\n"
        "with ranking\n"
        "---\n"
        "# the next one\n"
        "Design a cache\n"
        "---\n"
        "\nDesign a feed\n\nwith ranking\n\n"
        "---\n"
    )
    name = write_questions(sdx, text)
    result = sdx.call("batch", name, "--out", "guide")
    assert result.code == 0, result.stderr
    assert server.asked() == ["Design a feed\n\nwith ranking", "Design a cache"]
    assert "sdx: note: line 10 repeats question 1; it is asked once" in result.stderr
    assert answer_files(sdx) == ["01-design-a-feed-with-ranking.md", "02-design-a-cache.md"]
    assert (
        (guide(sdx) / "01-design-a-feed-with-ranking.md")
        .read_text()
        .startswith("> **Question:** Design a feed\n>\n> with ranking\n\n")
    )


def test_parse_one_question_a_line():
    parsed = parse_questions("  Design A  \n\n# comment\n   # indented comment\nDesign B\nDesign A\n")
    assert [(q.number, q.text, q.line) for q in parsed.questions] == [(1, "Design A", 1), (2, "Design B", 5)]
    assert parsed.duplicates == [(6, 1)]


def test_parse_separated_blocks_keep_their_inner_lines():
    parsed = parse_questions("---\nA\n  indented\n---\n\n---\nB\n")
    assert [q.text for q in parsed.questions] == ["A\n  indented", "B"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Design a URL shortener (bit.ly)!", "design-a-url-shortener-bit-ly"),
        ("Über-scale CDN: café", "uber-scale-cdn-cafe"),
        ("设计一个聊天系统", "question"),
        ("../../etc/passwd", "etc-passwd"),
        ("CON", "con"),
        ("word " * 40, "-".join(["word"] * 12)),
        ("x" * 100, "x" * 60),
    ],
)
def test_slugs_are_readable_and_safe(text, expected):
    assert slug(text) == expected


def test_file_names_are_numbered_as_wide_as_the_list():
    assert file_name(Question(7, "Design a cache", 7), 9) == "07-design-a-cache.md"
    assert file_name(Question(7, "Design a cache", 7), 120) == "007-design-a-cache.md"
    assert file_name(Question(2, "设计", 2), 3) == "02-question.md"


def file_with(data: bytes) -> Callable[[Path], object]:
    return lambda home: (home / "q.txt").write_bytes(data)


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (file_with(b""), ["q.txt"], "q.txt has no questions"),
        (file_with(b"# only\n\n"), ["q.txt"], "q.txt has no questions"),
        (lambda home: None, ["missing.txt"], "no such file: missing.txt"),
        (lambda home: (home / "dir").mkdir(), ["dir"], "dir is a directory"),
        (file_with(b"\x7fELF\x00\x01"), ["q.txt"], "q.txt looks binary"),
        (file_with(b"caf\xe9\n"), ["q.txt"], "q.txt is not UTF-8 text"),
        (lambda home: None, [], "no questions given"),
        (file_with(b"Design X"), ["q.txt", "--examples"], "give a file of questions or --examples, not both"),
        (file_with(b"Design X"), ["q.txt", "-j", "0"], "--concurrency must be at least 1 (got 0)"),
        (file_with(b"Design X"), ["q.txt", "-j", "-3"], "--concurrency must be at least 1 (got -3)"),
    ],
)
def test_bad_input_is_one_line_before_any_request(sdx, server, setup, args, message):
    setup(sdx.home)
    result = sdx.call("batch", *args, "--out", "guide")
    assert result.code == 2, result.stderr
    assert result.stderr.startswith(f"sdx: error: {message}") and result.stderr.count("\n") == 1, result.stderr
    assert server.requests == []


def test_out_that_is_a_file_is_refused(sdx, server):
    write_questions(sdx, "Design X")
    (sdx.home / "guide").write_text("not a directory")
    result = sdx.call("batch", "q.txt", "--out", "guide")
    assert result.code == 2
    assert result.stderr == (
        "sdx: error: --out guide is a file, not a directory — give a directory (it is created when missing)\n"
    )
    assert server.requests == []


def test_out_under_a_file_is_refused(sdx, server):
    write_questions(sdx, "Design X")
    result = sdx.call("batch", "q.txt", "--out", "q.txt/guide")
    assert result.code == 2
    assert result.stderr == (
        "sdx: error: cannot write in --out q.txt/guide: Not a directory — pick a directory you can write to\n"
    )
    assert server.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_out_that_is_not_writable_is_refused(sdx, server):
    write_questions(sdx, "Design X")
    locked = sdx.home / "locked"
    locked.mkdir(mode=0o500)
    result = sdx.call("batch", "q.txt", "--out", "locked")
    assert result.code == 2
    assert result.stderr.startswith("sdx: error: cannot write in --out locked: Permission denied")
    assert server.requests == []


def test_a_question_over_max_input_kb_is_refused(sdx, server):
    sdx.write_config(f'max_input_kb = 1\n[providers.openrouter]\nbase_url = "{server.root}/api/v1"\n')
    write_questions(sdx, "Design X\nDesign " + "y" * 2000 + "\n")
    result = sdx.call("batch", "q.txt", "--out", "guide")
    assert result.code == 2
    assert result.stderr.startswith("sdx: error: question 2 (line 2) and its context are larger than 1 KB")
    assert server.requests == []


def test_a_model_name_from_the_server_cannot_break_out_of_the_trailer_comment(sdx, server):
    name = write_questions(sdx, QUESTIONS[0])
    result = sdx.call("batch", name, "--out", "guide", "-m", "openrouter:evil--><h1>x</h1>")
    assert result.code == 0, result.stderr
    text = (guide(sdx) / "01-design-a-url-shortener.md").read_text()
    assert "<!-- sdx batch: model=openrouter:evil--__h1_x_/h1_; date=" in text
    assert text.count("-->") == 1


def test_the_eta_is_the_pace_so_far_even_when_answers_land_together():
    import io

    from sdx.commands.batch import Progress
    from sdx.environment import Environment, installed

    env = Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), monotonic=lambda: 100.0)
    with installed(env):
        progress = Progress(10)
        assert progress._eta() == "-:--:--"
        progress._started, progress.finished = 40.0, 2  # two answers after 60 s, landing together
        assert progress._eta() == "0:04:00"  # 30 s each, 8 to go
