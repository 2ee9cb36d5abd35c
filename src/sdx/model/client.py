"""Talk to an OpenAI-compatible endpoint: stream the answer's text, retry what is worth retrying.

The `openai` package sends the requests (keys, timeouts, HTTP errors); the streamed answer is read through its raw
streaming response and each `data:` line is decoded with `json.loads`, because building the package's typed object
for every chunk costs more than everything else sdx does with it. Non-streamed answers use the typed path.

`openai` costs about 300 ms to import, so it is imported inside the functions that send requests and never at
module level: `sdx --help`, `sdx examples` and `sdx models` do not pay for it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sdx.domain.conversation import ANSWERED, UNANSWERED, UNSENT
from sdx.environment import current
from sdx.errors import SdxError
from sdx.model import debug
from sdx.model.client_errors import (
    RETRYABLE_STATUSES,
    backoff,
    empty_answer,
    explain_failure,
    explain_interruption,
    explain_stream_error,
    interruption_reason,
    network_settings_unusable,
    not_a_stream,
    retry_delay,
    socks_missing,
    stream_error_reason,
)
from sdx.model.registry import Target, is_loopback

MAX_RETRIES = 3
SSE_FIELDS = (":", "event:", "id:", "retry:")  # lines of an event stream that carry no data (":" is a comment)


@dataclass(frozen=True)
class ChatRequest:
    target: Target
    messages: list[dict[str, Any]]
    stream: bool = True
    timeout: float = 60.0
    max_tokens: int | None = None
    retries: int = MAX_RETRIES
    # More arguments for `chat.completions.create`, sent as given: `temperature`, `response_format`,
    # `extra_body` (e.g. OpenRouter's `{"provider": {...}}`).
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class StreamStats:
    """What we learned about the answer while it arrived; filled in by `answer_deltas`."""

    chunks: int = 0  # content-bearing chunks received: the token count when the server sends no usage
    wrote: bool = False  # whether any of the text is more than whitespace
    usage_completion_tokens: int | None = None
    usage_prompt_tokens: int | None = None
    finish_reason: str | None = None
    model: str | None = None  # the model id the server says answered
    cost: float | None = None  # what the request cost, when the provider says (OpenRouter's usage.cost)
    started: float = field(default_factory=lambda: current().monotonic())
    first_token_at: float | None = None

    @property
    def tokens(self) -> int:
        return self.usage_completion_tokens if self.usage_completion_tokens is not None else self.chunks


class _StreamBroke(Exception):
    """The event stream cannot go on; `reason` says why in words for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ErrorEvent(Exception):
    """The server sent an `error` object inside the stream (OpenRouter: with `finish_reason: "error"`)."""

    def __init__(self, error: object) -> None:
        super().__init__(str(error))
        self.error = error


class _NotAStream(Exception):
    """A 200 reply to a streaming request whose first line is not part of an event stream."""

    def __init__(self, first_line: str) -> None:
        super().__init__(first_line)
        self.first_line = first_line


@dataclass
class Delivery:
    """How far the latest attempt of a request got: whether the whole request was written to the server's
    connection (`sent`, traced by the HTTP library), and whether a whole reply came back (`replied`: the end of the
    HTTP body, or for a stream the end the protocol says, set by `_streamed_answer`: an event stream is closed once
    its last event is read, before its body ends, and one that breaks off may still end its body cleanly)."""

    sent: bool = False
    replied: bool = False

    @property
    def unanswered(self) -> bool:
        """The server has the request and its reply never came whole: a timeout, a dropped connection, Ctrl-C or
        a signal while waiting. A request that never reached the server (refused, unresolved, TLS, a connect
        timeout) is not; nor is one the server replied to, even with an error."""
        return self.sent and not self.replied

    @property
    def outcome(self) -> str:
        """UNSENT, UNANSWERED or ANSWERED (`sdx.domain.conversation`), as a turn stores it."""
        return UNANSWERED if self.unanswered else ANSWERED if self.sent else UNSENT

    def trace(self, event: str, _info: dict[str, Any]) -> None:  # httpcore's `trace` extension
        if event.endswith(".send_request_body.complete"):
            self.sent = True
        elif event.endswith(".receive_response_body.complete"):
            self.replied = True


_watched = threading.local()  # the Delivery that the requests of this thread report to, while one is watched


@contextmanager
def watching(delivery: Delivery) -> Iterator[Delivery]:
    """Report how far each request this thread sends gets to `delivery` (each attempt starts it afresh)."""
    _watched.delivery = delivery
    try:
        yield delivery
    finally:
        _watched.delivery = None


def _stream_ended(whole: bool) -> None:
    """Say whether the watched stream's reply came whole (its end, or an error the server sent)."""
    delivery: Delivery | None = getattr(_watched, "delivery", None)
    if delivery is not None:
        delivery.replied = whole


def _trace_delivery(request: Any) -> None:
    """A request hook: the request of a watched thread is traced into its Delivery."""
    delivery: Delivery | None = getattr(_watched, "delivery", None)
    if delivery is not None:
        delivery.sent = delivery.replied = False
        request.extensions["trace"] = delivery.trace


def _http_client(target: Target, timeout: float) -> Any:
    """The openai package's own default HTTP client, with hooks: delivery tracing (`watching`), debug logging.

    A loopback server is always reached directly: a proxy cannot reach this machine's loopback, so
    HTTP_PROXY/ALL_PROXY would only be in the way (environment proxies are ignored for it).
    """
    from openai import DefaultHttpxClient

    loopback = is_loopback(target.base_url)
    if loopback:
        debug.note(f"{target.base_url} is on this machine: proxy variables are ignored for it")
    try:
        hooks = debug.event_hooks()
        hooks["request"] = [_trace_delivery, *hooks.get("request", [])]
        return DefaultHttpxClient(timeout=timeout, trust_env=not loopback, event_hooks=hooks)
    except ImportError as exc:  # httpx: "Using SOCKS proxy, but the 'socksio' package is not installed"
        if "socks" in str(exc).lower():
            raise socks_missing(exc, current().environ) from exc
        raise
    except Exception as exc:  # httpx reads proxies and certificates from the process environment, and may refuse them
        raise network_settings_unusable(exc, os.environ) from exc


def _openai_only_headers(target: Target) -> dict[str, Any]:
    """Headers the openai package adds from OPENAI_ORG_ID / OPENAI_PROJECT_ID: removed for every other provider.

    The key is named explicitly, so that no `Authorization` from OPENAI_CUSTOM_HEADERS can replace it.
    """
    from openai import Omit

    headers: dict[str, Any] = {"Authorization": f"Bearer {target.api_key}"}
    if target.provider.name != "openai":
        headers |= {"OpenAI-Organization": Omit(), "OpenAI-Project": Omit()}
    return headers


_clients = threading.local()


def make_client(target: Target, timeout: float) -> Any:
    """The thread's client for this endpoint, key and timeout, made once: a new client loads the CA bundle into a
    new SSL context (~20 ms of CPU, holding the GIL), which would serialise `sdx batch`'s workers."""
    key = (target.base_url, target.api_key, tuple(sorted(target.provider.headers.items())), timeout, debug.enabled())
    cache: dict[tuple[Any, ...], Any] = _clients.__dict__.setdefault("by_key", {})
    if key not in cache:
        cache[key] = _new_client(target, timeout)
    return cache[key]


def _new_client(target: Target, timeout: float) -> Any:
    from openai import OpenAI

    return OpenAI(
        api_key=target.api_key,
        base_url=target.base_url,
        max_retries=0,  # sdx retries itself, so it can say on stderr what it is waiting for
        timeout=timeout,
        default_headers={**target.provider.headers, **_openai_only_headers(target)},
        http_client=_http_client(target, timeout),
    )


def _arguments(request: ChatRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": request.target.model_id, "messages": request.messages, **request.options}
    if request.max_tokens is not None:
        kwargs["max_tokens"] = request.max_tokens
    if request.stream:
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _send(client: Any, request: ChatRequest) -> Any:
    """A streamed request gives the SDK's raw response (close it); the SDK raises HTTP errors when it opens."""
    if request.stream:
        return client.chat.completions.with_streaming_response.create(**_arguments(request)).__enter__()
    return client.chat.completions.create(**_arguments(request))


def open_response(
    client: Any, request: ChatRequest, on_wait: Callable[[str, float], None] = lambda _m, _s: None
) -> Any:
    """Send the request, retrying 429 and 5xx (before any text arrived) with capped backoff."""
    import openai

    attempt = 0
    while True:
        try:
            return _send(client, request)
        except openai.APIError as exc:
            delay = retry_delay(exc, attempt, current().wall_clock())
            if delay is None or attempt >= request.retries:
                raise explain_failure(exc, request.target, request) from exc
            attempt += 1
            status = getattr(exc, "status_code", None)
            on_wait(f"{_short_reason(status)}; retry {attempt}/{request.retries} in {delay:.0f}s", delay)
            current().sleep(delay)


def _short_reason(status: int | None) -> str:
    return "rate limited (429)" if status == 429 else f"server error ({status})"


def answer_deltas(
    request: ChatRequest,
    stats: StreamStats,
    on_wait: Callable[[str, float], None] = lambda _m, _s: None,
) -> Iterator[str]:
    """Yield the answer's text as it arrives. Raises SdxError for every failure it can explain."""
    client = make_client(request.target, request.timeout)
    attempt = 0
    while True:
        response = open_response(client, request, on_wait)
        if not request.stream:
            yield from _whole_answer(response, stats, request)
            return
        try:
            yield from _streamed_answer(response, stats, request, may_retry=attempt < request.retries)
            return
        except _RetryableEvent as event:  # a 429/5xx sent as the stream's first event: retried as an HTTP one is
            delay = backoff(attempt)
            attempt += 1
            on_wait(f"{event.reason} before the answer began; retry {attempt}/{request.retries} in {delay:.0f}s", delay)
            current().sleep(delay)
        finally:
            response.close()


class _RetryableEvent(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _retryable_status(error: object) -> int | None:
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return code if code in RETRYABLE_STATUSES else None


def _streamed_answer(response: Any, stats: StreamStats, request: ChatRequest, may_retry: bool) -> Iterator[str]:
    http = _http_library(response)
    lines = response.iter_lines()
    whole = False  # the server's reply came to its end, or was an error it sent
    try:
        yield from _read_events(lines, stats)
        whole = True
    except _ErrorEvent as event:
        whole = True
        if stats.chunks == 0:
            status = _retryable_status(event.error)
            if may_retry and status is not None:
                raise _RetryableEvent(_short_reason(status)) from None
            raise explain_stream_error(event.error, request.target, request) from None
        raise explain_interruption(stream_error_reason(event.error, request.target), stats.tokens) from None
    except _StreamBroke as broke:
        raise explain_interruption(broke.reason, stats.tokens) from None
    except http.TransportError as exc:  # a timeout between chunks, or the connection dropped
        raise explain_interruption(interruption_reason(exc, request), stats.tokens) from exc
    except _NotAStream as odd:
        whole = True
        raise _explain_not_a_stream(odd.first_line, lines, response, request, http) from None
    finally:
        _stream_ended(whole)
    if not stats.wrote:  # nothing, or only whitespace
        raise empty_answer(request.target, stats.finish_reason)


def _read_events(lines: Iterator[str], stats: StreamStats) -> Iterator[str]:
    """The event stream's text deltas; the hot loop of a streamed answer.

    Each `data:` line is one chunk, as OpenAI-compatible servers send them; comments, `event:`/`id:` lines and the
    blank lines between events carry nothing for us. `[DONE]` or a finish reason ends the answer properly.
    """
    loads = json.loads
    for line in lines:
        if line.startswith("data:"):
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                chunk = loads(data)
            except json.JSONDecodeError:
                raise _StreamBroke("the server sent a malformed chunk") from None
            text = _take_chunk(chunk, stats)
            if text:
                yield text
        elif line.startswith("error:"):  # llama.cpp's server sends its errors as `error: {json}` lines
            raise _ErrorEvent(_error_line(line[6:]))
        elif line and not line.startswith(SSE_FIELDS):
            if stats.chunks == 0:
                raise _NotAStream(line)
            raise _StreamBroke("the server sent a malformed chunk")
    if stats.finish_reason is None:  # the connection closed without the server saying the answer ended
        raise _StreamBroke("the connection closed before the answer finished")


def _error_line(data: str) -> object:
    payload = _json_or_none(data)
    if isinstance(payload, dict):
        return payload.get("error") or payload
    return {"message": data.strip()}


def _take_chunk(chunk: Any, stats: StreamStats) -> str:
    """Record what one decoded chunk says about the answer; return its text."""
    if type(chunk) is not dict:
        raise _StreamBroke("the server sent a malformed chunk")
    if chunk.get("error"):  # an `"error": null` field is no error
        raise _ErrorEvent(chunk["error"])
    usage = chunk.get("usage")
    if usage:
        _take_usage(usage, stats)
    if stats.model is None and isinstance(chunk.get("model"), str):
        stats.model = chunk["model"]
    choices = chunk.get("choices")
    if not choices:
        return ""
    choice = choices[0]
    if type(choice) is not dict:
        raise _StreamBroke("the server sent a malformed chunk")
    reason = choice.get("finish_reason")
    if reason:
        if reason == "error":
            raise _ErrorEvent({"message": "the provider ended the answer with an error"})
        stats.finish_reason = reason
    delta = choice.get("delta")
    text = delta.get("content") if type(delta) is dict else None
    if not text or type(text) is not str:
        return ""
    stats.chunks += 1
    if stats.first_token_at is None:
        stats.first_token_at = current().monotonic()
    if not stats.wrote and not text.isspace():
        stats.wrote = True
    return text


def _take_usage(usage: object, stats: StreamStats) -> None:
    if not isinstance(usage, dict):
        return
    stats.usage_completion_tokens = _number(usage.get("completion_tokens"), int)
    stats.usage_prompt_tokens = _number(usage.get("prompt_tokens"), int)
    stats.cost = _number(usage.get("cost"), float)


def _number(value: object, kind: type) -> Any:
    """An int or float from JSON, or None (JSON booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def _http_library(response: Any) -> Any:
    """The module (httpx2, or httpx for older openai releases) whose errors the raw response raises."""
    import sys

    return sys.modules[type(response.http_response).__module__.partition(".")[0]]


def _explain_not_a_stream(
    first_line: str, rest: Iterator[str], response: Any, request: ChatRequest, http: Any
) -> SdxError:
    """A 200 reply that is no event stream. A JSON `error` object in it is the provider refusing."""
    content_type = response.http_response.headers.get("content-type", "")
    if first_line.lstrip().startswith("{"):
        payload = _json_or_none(first_line)
        if payload is None:  # a JSON document spread over several lines
            try:
                payload = _json_or_none(first_line + "\n" + "\n".join(_some_lines(rest)))
            except http.TransportError:
                payload = None
        if isinstance(payload, dict) and payload.get("error"):
            return explain_stream_error(payload["error"], request.target, request)
    return not_a_stream(request.target, content_type, first_line)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _some_lines(lines: Iterator[str], limit: int = 64 * 1024) -> Iterator[str]:
    """The rest of a small reply (at most `limit` characters), to read an error object spread over lines."""
    seen = 0
    for line in lines:
        seen += len(line)
        if seen > limit:
            return
        yield line


def _whole_answer(completion: Any, stats: StreamStats, request: ChatRequest) -> Iterator[str]:
    target = request.target
    if isinstance(completion, str):  # the SDK hands back the text of a reply that is not JSON
        raise not_a_stream(target, "html" if completion.lstrip().startswith("<") else "", completion)
    error = getattr(completion, "error", None)  # a 200 reply carrying an error object
    if error:
        raise explain_stream_error(error, target, request)
    stats.model = getattr(completion, "model", None) or None
    usage = getattr(completion, "usage", None)
    if usage is not None:
        stats.usage_completion_tokens = usage.completion_tokens
        stats.usage_prompt_tokens = usage.prompt_tokens
        stats.cost = _number(getattr(usage, "cost", None), float)
    choices = getattr(completion, "choices", None)
    if choices is None:  # JSON, but not a chat completion
        raise not_a_stream(target, "application/json", "{…}")
    text = ""
    if choices:
        stats.finish_reason = choices[0].finish_reason
        text = choices[0].message.content or ""
    if not text.strip():
        raise empty_answer(target, stats.finish_reason)
    stats.chunks = 1
    stats.first_token_at = current().monotonic()
    yield text
