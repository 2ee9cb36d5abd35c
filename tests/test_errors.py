"""The failure catalogue: one line on stderr, the documented exit code, no traceback, no lost text.

In-process (`sdx.call`) unless a real process is what is tested: the exit code through the real entry point,
signals, a reader closing the pipe.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests import runner
from tests.conftest import OPENROUTER_KEY
from tests.fake_server import ANSWER, Failure

USAGE, CONFIG, PROVIDER, NETWORK, INTERRUPTED = 2, 3, 4, 5, 130


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("sdx: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    return lines[0]


def test_missing_key_names_variable_env_file_and_keyless_model(sdx, fake):
    # through the real entry point: the exit code a shell sees
    result = sdx.run("ask", "Design a cache", env={"OPENROUTER_API_KEY": None})
    assert result.code == CONFIG
    line = one_error_line(result.stderr)
    assert "OPENROUTER_API_KEY" in line and ".env" in line and "--model llama3.2" in line
    assert fake.requests == []


def test_key_from_dotenv_in_working_directory(sdx, fake):
    (sdx.home / ".env").write_text("OPENROUTER_API_KEY=sk-from-dotenv-123456\n")
    result = sdx.call("ask", "Design a cache", env={"OPENROUTER_API_KEY": None})
    assert result.code == 0, result.stderr
    assert fake.chat_requests()[0].headers["authorization"] == "Bearer sk-from-dotenv-123456"


def test_unknown_model_suggests_close_matches(sdx, fake):
    result = sdx.call("ask", "--model", "gpt4o-mini", "Design a cache")
    assert result.code == CONFIG
    line = one_error_line(result.stderr)
    assert "unknown model 'gpt4o-mini'" in line and "gpt-4o-mini" in line and "sdx models" in line


def test_empty_question_is_a_usage_error(sdx, fake):
    for args, stdin in ((("ask",), b""), (("ask", "   "), b""), (("ask",), b"  \n\n")):
        result = sdx.call(*args, input=stdin)
        assert result.code == USAGE, (args, result.stderr)
        assert "no question given" in one_error_line(result.stderr)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("failure", "code", "expected"),
    [
        (Failure.json_error(401, "No auth credentials found"), PROVIDER, "rejected the key in OPENROUTER_API_KEY"),
        (Failure.json_error(403, "forbidden"), PROVIDER, "rejected the key in OPENROUTER_API_KEY"),
        (Failure.json_error(402, "Insufficient credits"), PROVIDER, "out of credits"),
        (Failure.json_error(404, "No endpoints found for openai/gpt-4o-mini"), PROVIDER, "has no model"),
        (Failure(404, "404 page not found", content_type="text/plain"), CONFIG, "/v1"),
        (Failure(404, "<!DOCTYPE html><html>nope</html>", content_type="text/html"), CONFIG, "/v1"),
        (
            Failure(400, '{"error": {"message": "This model\'s maximum context length is 8192 tokens"}}'),
            PROVIDER,
            "too long",
        ),
        (
            Failure(
                400,
                '{"error": {"message": "This model\'s maximum context length is 8192 tokens. However, you '
                'requested 9000 tokens"}}',
            ),
            PROVIDER,
            "9,000 tokens, the limit is 8,192",
        ),
        (
            Failure(
                400,
                '{"error": {"code": 400, "message": "the request exceeds the available context size",'
                ' "n_prompt_tokens": 6031, "n_ctx": 2048}}',
            ),
            PROVIDER,
            "too long for openai/gpt-4o-mini: 6,031 tokens, the limit is 2,048",
        ),
        (Failure.json_error(400, "temperature must be a number"), PROVIDER, "temperature must be a number"),
    ],
)
def test_refusals_become_one_line(sdx, fake, failure, code, expected):
    fake.scenario.failures.append(failure)
    result = sdx.call("ask", "Design a cache")
    assert result.code == code, result.stderr
    assert expected in one_error_line(result.stderr)
    assert result.stdout == b""
    assert OPENROUTER_KEY not in result.stderr


def test_ollama_model_not_pulled_says_ollama_pull(sdx, ollama):
    ollama.scenario.failures.append(Failure.json_error(404, 'model "llama3.2" not found, try pulling it first'))
    result = sdx.call("ask", "--model", "llama3.2", "Design a cache")
    assert result.code == PROVIDER
    assert "ollama pull llama3.2" in one_error_line(result.stderr)


def test_ollama_not_running(sdx, ollama):
    url = ollama.base_url
    ollama.stop()
    result = sdx.call("ask", "--model", "llama3.2", "Design a cache")
    assert result.code == NETWORK
    line = one_error_line(result.stderr)
    assert f"cannot reach Ollama at {url}" in line and "ollama serve" in line


def test_dns_failure_names_the_host(sdx):
    sdx.write_config('[providers.nowhere]\nbase_url = "http://no-such-host.invalid/v1"\n')
    result = sdx.call("ask", "--model", "nowhere:m", "Design a cache")
    assert result.code == NETWORK
    assert "no-such-host.invalid" in one_error_line(result.stderr)


def test_tls_to_a_plain_http_server_fails_in_one_line(sdx, fake):
    sdx.write_config(f'[providers.tls]\nbase_url = "https://127.0.0.1:{fake.port}/v1"\n')
    result = sdx.call("ask", "--model", "tls:m", "Design a cache", "--timeout", "5")
    assert result.code == NETWORK
    assert "TLS" in one_error_line(result.stderr)


def test_proxy_html_502_after_retries(sdx, fake):
    for _ in range(4):
        fake.scenario.failures.append(
            Failure(502, "<html><body>Bad Gateway</body></html>", {"Retry-After": "0"}, "text/html")
        )
    result = sdx.call("ask", "Design a cache")
    assert result.code == NETWORK
    assert "HTML page instead of JSON" in one_error_line(result.stderr)
    assert len(fake.chat_requests()) == 4


def test_rate_limit_is_retried_honouring_retry_after(sdx, fake):
    fake.scenario.failures.extend([Failure.json_error(429, "slow down", **{"Retry-After": "1"})] * 2)
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()
    assert runner.SLEPT == [1.0, 1.0]
    assert result.stderr.count("sdx: rate limited (429); retry") == 2
    assert "retry 1/3 in 1s" in result.stderr


def test_rate_limit_without_retry_after_gives_up_with_a_clear_line(sdx, fake):
    fake.scenario.failures.extend([Failure.json_error(429, "slow down")] * 4)
    result = sdx.call("ask", "Design a cache")
    assert result.code == PROVIDER
    assert "rate limiting" in one_error_line(result.stderr)
    assert len(fake.chat_requests()) == 4
    assert runner.SLEPT == [0.5, 1.0, 2.0]  # exponential backoff, never a real sleep


def test_server_error_before_first_token_is_retried(sdx, fake):
    fake.scenario.failures.append(Failure.json_error(503, "overloaded", **{"Retry-After": "0"}))
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert "server error (503); retry 1/3" in result.stderr
    assert runner.SLEPT == [0.0]


def test_no_first_token_within_timeout(sdx, fake):
    fake.scenario.delay_first = 5
    result = sdx.call("ask", "--timeout", "1", "Design a cache")
    assert result.code == NETWORK
    line = one_error_line(result.stderr)
    assert "no answer" in line and "within 1s" in line and "--timeout" in line


def test_timeout_from_config_file(sdx, fake):
    fake.scenario.delay_first = 5
    sdx.write_config("timeout = 1\n" + sdx.config_file.read_text())
    result = sdx.call("ask", "Design a cache")
    assert result.code == NETWORK
    assert "within 1s" in one_error_line(result.stderr)


def test_stall_mid_answer_keeps_the_partial_answer(sdx, fake):
    fake.scenario.stall_after = 4
    target = sdx.home / "a.md"
    result = sdx.call("ask", "--timeout", "1", "-o", str(target), "Design a cache")
    assert result.code == NETWORK
    assert result.stdout == ANSWER[:20].encode() == target.read_bytes()
    line = one_error_line(result.stderr)
    assert "answer interrupted after 4 tokens" in line and "stalled" in line


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("break_after", "the connection closed before the answer finished"),
        ("error_chunk_after", "upstream provider failed"),
        ("bad_chunk_after", "malformed chunk"),
    ],
)
def test_stream_breaking_mid_answer_keeps_the_text(sdx, fake, field, reason):
    setattr(fake.scenario, field, 6)
    target = sdx.home / "a.md"
    result = sdx.call("ask", "-o", str(target), "Design a cache")
    assert result.code == NETWORK, result.stderr
    assert result.stdout == ANSWER[:30].encode() == target.read_bytes()
    line = one_error_line(result.stderr)
    assert line.startswith("sdx: error: answer interrupted after 6 tokens:")
    assert reason in line


def test_ctrl_c_while_streaming_keeps_the_answer_and_exits_130(sdx, fake):
    fake.scenario.delay_between = 0.05
    target = sdx.home / "a.md"
    proc = sdx.popen("ask", "-o", str(target), "Design a cache")
    first = proc.stdout.read(5)
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    stderr = proc.stderr.read().decode()
    assert proc.wait(10) == INTERRUPTED
    assert first == ANSWER[:5].encode()
    assert 0 < len(first + rest) < len(ANSWER)
    assert target.read_bytes() == first + rest
    assert stderr.startswith("sdx: interrupted after") and "partial answer was kept" in stderr
    assert "Traceback" not in stderr


def test_ctrl_c_while_waiting_exits_130(sdx, fake):
    fake.scenario.delay_first = 5
    proc = sdx.popen("ask", "Design a cache")
    deadline = time.monotonic() + 10
    while not fake.chat_requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == INTERRUPTED
    assert proc.stderr.read().decode().strip() == "sdx: interrupted"


def test_stdout_closed_early_exits_quietly(sdx, fake):
    fake.scenario.answer = "".join(f"line {n}\n" for n in range(20000))
    fake.scenario.chunk_size = 50
    proc = sdx.popen("ask", "Design a cache")
    proc.stdout.read(10)
    proc.stdout.close()
    assert proc.wait(20) == 0
    assert proc.stderr.read() == b""


def test_config_file_toml_error_names_file_and_line(sdx, fake):
    sdx.write_config('default_model = "x"\n[providers.local\nbase_url = 1\n')
    result = sdx.call("ask", "Design a cache")
    assert result.code == CONFIG
    line = one_error_line(result.stderr)
    assert str(sdx.config_file) in line and "line 2" in line


def test_stdin_not_utf8_is_replaced_with_a_warning(sdx, fake):
    result = sdx.call("ask", input=b"Design a caf\xe9 ordering system\n")
    assert result.code == 0, result.stderr
    assert "not valid UTF-8" in result.stderr
    assert fake.chat_requests()[0].body["messages"][1]["content"] == "Design a caf\ufffd ordering system"


def test_binary_stdin_is_refused(sdx, fake):
    result = sdx.call("ask", input=b"\x00\x01\x02ELF")
    assert result.code == USAGE
    assert "binary" in one_error_line(result.stderr)
    assert fake.requests == []


def test_huge_stdin_is_refused_before_any_request(sdx, fake):
    result = sdx.call("ask", "Design the storage", input=b"x" * 5_000_000)
    assert result.code == USAGE
    assert "larger than 512 KB" in one_error_line(result.stderr)
    assert fake.requests == []


def test_input_limit_is_configurable(sdx, fake):
    sdx.write_config("max_input_kb = 1\n" + sdx.config_file.read_text())
    result = sdx.call("ask", "Design the storage", input=b"x" * 2000)
    assert result.code == USAGE
    assert "larger than 1 KB" in one_error_line(result.stderr)
