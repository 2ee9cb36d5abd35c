"""Talk to an OpenAI-compatible endpoint: stream the answer's text, retry what is worth retrying.

`openai` costs about 300 ms to import, so it is imported inside the functions that send requests and never at
module level: `sdx --help`, `sdx examples` and `sdx models` do not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sdx.environment import current
from sdx.model import debug
from sdx.model.client_errors import explain_failure, explain_interruption, retry_delay
from sdx.model.registry import Target

MAX_RETRIES = 3


@dataclass(frozen=True)
class ChatRequest:
    target: Target
    messages: list[dict[str, str]]
    stream: bool = True
    timeout: float = 60.0
    max_tokens: int | None = None
    retries: int = MAX_RETRIES


@dataclass
class StreamStats:
    """What we learned about the answer while it arrived; filled in by `answer_deltas`."""

    chunks: int = 0  # content-bearing chunks received: the token count when the server sends no usage
    usage_completion_tokens: int | None = None
    usage_prompt_tokens: int | None = None
    finish_reason: str | None = None
    started: float = field(default_factory=lambda: current().monotonic())
    first_token_at: float | None = None

    @property
    def tokens(self) -> int:
        return self.usage_completion_tokens if self.usage_completion_tokens is not None else self.chunks


def make_client(target: Target, timeout: float) -> Any:
    from openai import OpenAI

    return OpenAI(
        api_key=target.api_key,
        base_url=target.base_url,
        max_retries=0,  # sdx retries itself, so it can say on stderr what it is waiting for
        timeout=timeout,
        default_headers=dict(target.provider.headers),
        http_client=debug.logging_http_client(timeout) if debug.enabled() else None,
    )


def _create(client: Any, request: ChatRequest) -> Any:
    kwargs: dict[str, Any] = {"model": request.target.model_id, "messages": request.messages}
    if request.max_tokens is not None:
        kwargs["max_tokens"] = request.max_tokens
    if request.stream:
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    return client.chat.completions.create(**kwargs)


def open_response(
    client: Any, request: ChatRequest, on_wait: Callable[[str, float], None] = lambda _m, _s: None
) -> Any:
    """Send the request, retrying 429 and 5xx (before any text arrived) with capped backoff."""
    import openai

    attempt = 0
    while True:
        try:
            return _create(client, request)
        except openai.APIError as exc:
            delay = retry_delay(exc, attempt)
            if delay is None or attempt >= request.retries:
                raise explain_failure(exc, request.target, request) from exc
            attempt += 1
            on_wait(f"{_short_reason(exc)}; retry {attempt}/{request.retries} in {delay:.0f}s", delay)
            current().sleep(delay)


def _short_reason(exc: Any) -> str:
    status = getattr(exc, "status_code", None)
    return "rate limited (429)" if status == 429 else f"server error ({status})"


def answer_deltas(
    request: ChatRequest,
    stats: StreamStats,
    on_wait: Callable[[str, float], None] = lambda _m, _s: None,
) -> Iterator[str]:
    """Yield the answer's text as it arrives. Raises SdxError for every failure it can explain."""
    import openai

    client = make_client(request.target, request.timeout)
    response = open_response(client, request, on_wait)
    if not request.stream:
        yield from _whole_answer(response, stats)
        return
    try:
        for chunk in response:
            text = _take_chunk(chunk, stats)
            if text:
                yield text
        if stats.finish_reason is None:  # the connection closed without the server saying the answer ended
            raise ConnectionError("the connection closed before the answer finished")
    except (openai.APIError, ValueError, ConnectionError) as exc:  # ValueError: a chunk that is not JSON
        if stats.chunks == 0 and isinstance(exc, openai.APIError):
            raise explain_failure(exc, request.target, request) from exc
        raise explain_interruption(exc, stats.tokens, request) from exc
    finally:
        response.close()


def _take_chunk(chunk: Any, stats: StreamStats) -> str:
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        stats.usage_completion_tokens = getattr(usage, "completion_tokens", None)
        stats.usage_prompt_tokens = getattr(usage, "prompt_tokens", None)
    if not chunk.choices:
        return ""
    choice = chunk.choices[0]
    if choice.finish_reason:
        stats.finish_reason = choice.finish_reason
    text = (choice.delta.content if choice.delta else None) or ""
    if text:
        stats.chunks += 1
        if stats.first_token_at is None:
            stats.first_token_at = current().monotonic()
    return text


def _whole_answer(completion: Any, stats: StreamStats) -> Iterator[str]:
    if completion.usage is not None:
        stats.usage_completion_tokens = completion.usage.completion_tokens
        stats.usage_prompt_tokens = completion.usage.prompt_tokens
    if completion.choices:
        stats.finish_reason = completion.choices[0].finish_reason
        text = completion.choices[0].message.content or ""
        if text:
            stats.chunks = 1
            stats.first_token_at = current().monotonic()
            yield text
