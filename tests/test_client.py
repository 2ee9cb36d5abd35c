"""The streaming client against the fake server: what it decodes, what it sends, and how each server failure reads.

Most tests run `sdx` in-process (`sdx.call`); the ones about the process environment (proxies, the variables the
openai package reads itself) run it as a real process, because that is where those are read.
"""

from __future__ import annotations

import email.utils
import time

import pytest

from sdx.model.client import ChatRequest, StreamStats, answer_deltas
from sdx.model.registry import Provider, Target
from tests import runner
from tests.conftest import OPENROUTER_KEY
from tests.fake_server import ANSWER, Failure, FakeOpenAI
from tests.test_errors import CONFIG, NETWORK, PROVIDER, one_error_line


def openrouter_at(fake, **request: object) -> ChatRequest:
    provider = Provider("openrouter", f"{fake.root}/api/v1", "OPENROUTER_API_KEY")
    target = Target("gpt-4o-mini", provider, "openai/gpt-4o-mini", OPENROUTER_KEY)
    return ChatRequest(target=target, messages=[{"role": "user", "content": "Design a cache"}], **request)


def collect(request: ChatRequest) -> tuple[str, StreamStats]:
    stats = StreamStats()
    return "".join(answer_deltas(request, stats)), stats


# --- what the client decodes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_stats_carry_the_servers_usage_cost_and_model(fake, stream):
    fake.scenario.usage_completion_tokens = 123
    fake.scenario.usage_prompt_tokens = 77
    fake.scenario.cost = 0.00042
    fake.scenario.model_reported = "openai/gpt-4o-mini-2024-07-18"
    text, stats = collect(openrouter_at(fake, stream=stream))
    assert text == ANSWER
    assert (stats.usage_completion_tokens, stats.usage_prompt_tokens, stats.tokens) == (123, 77, 123)
    assert stats.cost == pytest.approx(0.00042)
    assert stats.model == "openai/gpt-4o-mini-2024-07-18"
    assert stats.finish_reason == "stop"
    assert stats.first_token_at is not None and stats.first_token_at >= stats.started


def test_without_usage_the_chunks_are_counted_and_cost_is_unknown(fake):
    fake.scenario.usage = False
    text, stats = collect(openrouter_at(fake))
    assert text == ANSWER
    assert stats.usage_completion_tokens is None and stats.cost is None
    assert stats.tokens == stats.chunks == -(-len(ANSWER) // fake.scenario.chunk_size)


def test_summary_on_a_terminal_shows_the_reported_token_count(sdx, fake):
    fake.scenario.usage_completion_tokens = 321
    result = sdx.call("ask", "Design a cache", tty=True)
    assert result.code == 0, result.stderr
    assert "gpt-4o-mini · 321 tokens ·" in result.stderr


def test_extra_request_options_are_sent_and_defaults_are_unchanged(fake):
    collect(
        openrouter_at(
            fake,
            options={
                "temperature": 0.2,
                "response_format": {"type": "json_object"},
                "extra_body": {"provider": {"order": ["openai"], "allow_fallbacks": False}},
            },
        )
    )
    collect(openrouter_at(fake))
    graded, plain = (request.body for request in fake.chat_requests())
    assert graded["temperature"] == 0.2
    assert graded["response_format"] == {"type": "json_object"}
    assert graded["provider"] == {"order": ["openai"], "allow_fallbacks": False}
    assert graded["stream"] is True and graded["stream_options"] == {"include_usage": True}
    assert set(plain) == {"model", "messages", "stream", "stream_options"}


def test_answer_text_that_looks_like_sse_survives_one_character_chunks(sdx, fake):
    fake.scenario.answer = "data: not an event\n\n: nor a comment\n[DONE]\n" + ANSWER
    fake.scenario.chunk_size = 1
    fake.scenario.comments = False
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert result.stdout == fake.scenario.answer.encode()


def test_null_error_and_usage_fields_in_every_chunk_are_no_error(sdx, fake):
    fake.scenario.null_fields = True
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()


# --- the server refusing or misbehaving --------------------------------------------------------------------------


def test_error_event_before_the_first_token_is_the_provider_refusing(sdx, fake):
    fake.scenario.error_chunk_after = 0
    result = sdx.call("ask", "Design a cache")
    assert result.code == PROVIDER, result.stderr
    line = one_error_line(result.stderr)
    assert "server error (502: upstream provider failed)" in line
    assert "cannot connect" not in line and "kept" not in line
    assert result.stdout == b""


def test_error_event_with_a_status_code_goes_through_the_failure_table(sdx, fake):
    fake.scenario.error_chunk_after = 0
    fake.scenario.stream_error = {"message": "Insufficient credits", "code": 402}
    fake.scenario.stream_error_choices = True  # as OpenRouter sends it
    result = sdx.call("ask", "Design a cache")
    assert result.code == PROVIDER
    assert "out of credits" in one_error_line(result.stderr)


def test_error_event_without_a_code_says_the_providers_message(sdx, fake):
    fake.scenario.error_chunk_after = 0
    fake.scenario.stream_error = {"message": "Model is overloaded, try later"}
    result = sdx.call("ask", "Design a cache")
    assert result.code == PROVIDER
    assert "openrouter refused to answer: Model is overloaded, try later" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("after", "code", "said"), [(0, PROVIDER, "server error (500: slot unavailable)"), (6, NETWORK, "after 6 tokens")]
)
def test_llama_cpp_error_lines_are_errors(sdx, fake, after, code, said):
    fake.scenario.error_chunk_after = after
    fake.scenario.stream_error = {"code": 500, "message": "slot unavailable", "type": "server_error"}
    fake.scenario.stream_error_line = True
    result = sdx.call("ask", "Design a cache")
    assert result.code == code, result.stderr
    line = one_error_line(result.stderr)
    assert "slot unavailable" in line and said in line
    assert result.stdout == ANSWER[: 5 * after].encode()


def test_openrouter_style_error_mid_answer_keeps_the_text(sdx, fake):
    fake.scenario.error_chunk_after = 6
    fake.scenario.stream_error_choices = True
    target = sdx.home / "a.md"
    result = sdx.call("ask", "-o", str(target), "Design a cache")
    assert result.code == NETWORK
    assert result.stdout == ANSWER[:30].encode() == target.read_bytes()
    line = one_error_line(result.stderr)
    assert "answer interrupted after 6 tokens: openrouter reported an error: upstream provider failed" in line


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (
            Failure(200, "<!DOCTYPE html><html><body>Hotel Wi-Fi login</body></html>", content_type="text/html"),
            "web page",
        ),
        (Failure(200, '{"status": "ok", "portal": "login"}'), "JSON document"),
        (Failure(200, "Please log in first", content_type="text/plain"), "not the model's answer"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_a_200_that_is_not_an_answer_says_so_and_keeps_nothing(sdx, fake, failure, said, stream):
    fake.scenario.failures.append(failure)
    target = sdx.home / "notes.md"
    args = ("ask", "-o", str(target), "Design a cache") + (() if stream else ("--no-stream",))
    result = sdx.call(*args)
    assert result.code == NETWORK, result.stderr
    line = one_error_line(result.stderr)
    assert said in line and "nothing was received from the model" in line
    assert "kept" not in line and "interrupted" not in line
    assert result.stdout == b""


def test_a_200_json_error_object_is_the_provider_refusing(sdx, fake):
    fake.scenario.failures.append(Failure(200, '{\n  "error": {"message": "No allowed providers", "code": 404}\n}'))
    result = sdx.call("ask", "Design a cache")
    assert result.code == PROVIDER
    assert "No allowed providers" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("finish_reason", "said", "fix"),
    [
        ("stop", "finished without writing any text (finish reason: stop)", "run the command again"),
        ("length", "used up its token limit before writing any text", "--max-tokens"),
        ("content_filter", "content filter blocked the answer", "rephrase"),
    ],
)
def test_an_answer_without_text_is_an_error(sdx, fake, finish_reason, said, fix):
    fake.scenario.answer = ""
    fake.scenario.finish_reason = finish_reason
    result = sdx.call("ask", "Design a cache")
    assert result.code == PROVIDER, result.stderr
    line = one_error_line(result.stderr)
    assert said in line and fix in line


@pytest.mark.parametrize("answer", ["", "  \n\n \t\n"])
@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_an_empty_or_blank_answer_is_an_error(sdx, fake, answer, stream):
    fake.scenario.answer = answer
    result = sdx.call("ask", stream, "Design a cache")
    assert result.code == PROVIDER
    assert "finished without writing any text" in one_error_line(result.stderr)


def test_a_stream_that_closes_before_any_text_does_not_claim_to_keep_anything(sdx, fake):
    fake.scenario.break_after = 0
    result = sdx.call("ask", "Design a cache")
    assert result.code == NETWORK
    line = one_error_line(result.stderr)
    assert "the answer broke off before any text arrived" in line and "kept" not in line


def test_server_dying_during_a_whole_answer_is_not_cannot_connect(sdx, fake):
    fake.scenario.break_whole_answer = True
    result = sdx.call("ask", "--no-stream", "Design a cache")
    assert result.code == NETWORK, result.stderr
    line = one_error_line(result.stderr)
    assert "closed the connection before the answer was complete" in line
    assert "cannot connect" not in line


def test_wrong_path_on_the_ollama_host_is_blamed_on_the_url_not_the_model(sdx, ollama):
    # llama.cpp's server behind OLLAMA_HOST, asked on a path it does not serve
    ollama.scenario.failures.append(
        Failure(404, '{"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}')
    )
    result = sdx.call("ask", "--model", "llama3.2", "Design a cache")
    assert result.code == CONFIG, result.stderr
    line = one_error_line(result.stderr)
    assert "answered 404 (File Not Found)" in line and "/v1" in line and "ollama pull" not in line


def test_method_not_allowed_is_blamed_on_the_url(sdx, fake):
    fake.scenario.failures.append(Failure(405, '{"detail": "Method Not Allowed"}'))
    result = sdx.call("ask", "Design a cache")
    assert result.code == CONFIG
    line = one_error_line(result.stderr)
    assert "answered 405 (Method Not Allowed)" in line and "check the base URL" in line


def test_keyless_provider_answering_401_reads_the_same_in_ask_and_doctor(sdx):
    gateway = FakeOpenAI().start()
    try:
        sdx.write_config(sdx.config_file.read_text() + f'\n[providers.gateway]\nbase_url = "{gateway.base_url}"\n')
        expected = "gateway requires an API key (401: missing bearer token)"
        gateway.scenario.failures.append(Failure.json_error(401, "missing bearer token"))
        asked = sdx.call("ask", "--model", "gateway:m", "Design a cache")
        assert asked.code == PROVIDER
        assert expected in one_error_line(asked.stderr)
        gateway.scenario.failures.append(Failure.json_error(401, "missing bearer token", path="/models"))
        doctor = sdx.call("doctor")
        assert f"✗ {expected} — set key_env for [providers.gateway]" in doctor.out
        assert "the key in  was" not in doctor.out
    finally:
        gateway.stop()


# --- Retry-After --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "slept"),
    [("nan", [0.5, 1.0]), ("inf", [0.5, 1.0]), ("-inf", [0.5, 1.0]), ("soon", [0.5, 1.0]), ("2", [2.0, 2.0])],
)
def test_retry_after_that_is_not_a_number_of_seconds_falls_back_to_backoff(sdx, fake, retry_after, slept):
    fake.scenario.failures.extend([Failure.json_error(429, "slow down", **{"Retry-After": retry_after})] * 2)
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()
    assert slept == runner.SLEPT
    assert "nan" not in result.stderr and "inf" not in result.stderr


def test_retry_after_as_an_http_date(sdx, fake):
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    fake.scenario.failures.append(Failure.json_error(503, "overloaded", **{"Retry-After": when}))
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    [slept] = runner.SLEPT
    assert 8 <= slept <= 10


# --- the process environment (a real process: the HTTP and openai packages read it themselves) ------------------


def test_http_proxy_is_not_used_for_a_server_on_this_machine(sdx, fake):
    dead_proxy = "http://127.0.0.1:9"
    result = sdx.run(
        "ask", "Design a cache", env={"HTTP_PROXY": dead_proxy, "http_proxy": dead_proxy, "ALL_PROXY": dead_proxy}
    )
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()


def test_socks_proxy_without_socks_support_says_how_to_fix_it(sdx):
    sdx.write_config('[providers.remote]\nbase_url = "http://llm.example.invalid/v1"\n')
    result = sdx.run("ask", "--model", "remote:m", "Design a cache", env={"ALL_PROXY": "socks5://127.0.0.1:9"})
    assert result.code == CONFIG, result.stderr
    line = one_error_line(result.stderr)
    assert "ALL_PROXY names a SOCKS proxy" in line and "pip install socksio" in line


def test_openai_organization_and_project_go_only_to_openai(sdx, fake):
    env = {
        "OPENAI_ORG_ID": "org-private",
        "OPENAI_PROJECT_ID": "proj-private",
        "OPENAI_API_KEY": "sk-openai-test-0123456789",
        "OPENAI_CUSTOM_HEADERS": "Authorization: Bearer sk-openai-ambient-0123456789",
    }
    assert sdx.run("ask", "Design a cache", env=env).code == 0
    assert sdx.run("ask", "--model", "openai:gpt-4o", "Design a cache", env=env).code == 0
    to_openrouter, to_openai = (request.headers for request in fake.chat_requests())
    assert "openai-organization" not in to_openrouter and "openai-project" not in to_openrouter
    assert to_openrouter["authorization"] == f"Bearer {OPENROUTER_KEY}"
    assert to_openai["openai-organization"] == "org-private" and to_openai["openai-project"] == "proj-private"
    assert to_openai["authorization"] == "Bearer sk-openai-test-0123456789"


def test_a_retryable_error_event_before_the_first_token_is_retried(sdx, fake):
    """A 502 sent as the stream's first event is the provider failing before the answer: retried like an HTTP 502
    (the back-off recorded, never slept), and the answer of the next attempt is the one printed."""
    from tests.runner import SLEPT

    served: list[int] = []
    stream = fake._stream

    def once_failing(handler, body):
        served.append(1)
        fake.scenario.error_chunk_after = 0 if len(served) == 1 else None
        stream(handler, body)

    fake._stream = once_failing
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()
    assert "sdx: server error (502) before the answer began; retry 1/3 in 0s" in result.stderr
    assert SLEPT == [0.5] and len(fake.chat_requests()) == 2


def test_a_refusal_event_before_the_first_token_is_not_retried(sdx, fake):
    fake.scenario.error_chunk_after = 0
    fake.scenario.stream_error = {"message": "Insufficient credits", "code": 402}
    assert sdx.call("ask", "Design a cache").code == PROVIDER
    assert len(fake.chat_requests()) == 1
