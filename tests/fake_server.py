"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions protocol and misbehaves on demand.

It serves `POST …/chat/completions` (SSE when `stream` is true, one JSON body otherwise), `GET …/models` and
Ollama's `GET /api/tags`, records every request, and follows a `Scenario` that says what to answer and how to
fail. Tests drive the real `sdx` command (and so the real `openai` client) against it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = """# Design a URL shortener

## 1. Requirements
- Shorten a long URL to a 7-character code.
- Redirect with **p99 < 20 ms**.

## 2. High-level design
```
client -> LB -> api -> cache -> db
```

| component | choice |
|-----------|--------|
| store     | Cassandra |

Done.
"""


@dataclass
class Failure:
    """One canned HTTP response, served instead of the next request whose path ends with `path` (by default the
    next chat request: a price-list or model-list GET on the way does not use it up)."""

    status: int
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    path: str = "/chat/completions"

    @classmethod
    def json_error(cls, status: int, message: str, *, path: str = "/chat/completions", **headers: str) -> Failure:
        body = json.dumps({"error": {"message": message, "type": "api_error", "code": status}})
        return cls(status, body, headers, path=path)


@dataclass
class Scenario:
    answer: str = ANSWER
    chunk_size: int = 5
    failures: deque[Failure] = field(default_factory=deque)  # served in order, each to a request on its path
    models: list[str] = field(default_factory=lambda: ["openai/gpt-4o-mini", "llama3.2:latest"])
    tags: bool = True  # serve Ollama's /api/tags
    usage: bool = True  # honour stream_options.include_usage; send usage with a whole answer
    delay_first: float = 0.0  # seconds before the first byte of the response
    delay_between: float = 0.0  # seconds between chunks
    break_after: int | None = None  # drop the connection after N content chunks
    error_chunk_after: int | None = None  # send an in-stream error object after N content chunks
    bad_chunk_after: int | None = None  # send a chunk that is not JSON after N content chunks
    stall_after: int | None = None  # stop sending (but keep the connection) after N content chunks
    comments: bool = True  # interleave `: keep-alive` SSE comments, as OpenRouter does
    finish_reason: str = "stop"
    usage_completion_tokens: int | None = None  # reported completion tokens (default: the number of content chunks)
    usage_prompt_tokens: int = 50
    cost: float | None = None  # OpenRouter's usage.cost, when set
    model_reported: str | None = None  # the model id the chunks name (default: the one requested)
    stream_error: dict[str, Any] = field(
        default_factory=lambda: {"message": "upstream provider failed", "code": 502}
    )  # the error object sent by error_chunk_after
    stream_error_choices: bool = False  # send it as OpenRouter does, with a `finish_reason: "error"` choice
    stream_error_line: bool = False  # send it as llama.cpp's server does: `error: {...}` instead of `data: …`
    break_whole_answer: bool = False  # drop the connection halfway through a non-streamed answer
    null_fields: bool = False  # every chunk carries `"error": null` and `"usage": null`
    prices: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> OpenRouter's `pricing` in /models
    models_body: bytes | None = None  # served as GET …/models instead of the list (e.g. not JSON)
    models_delay: float = 0.0  # seconds before answering GET …/models


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def chunks_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout, a cancelled stream) is what a real server sees too: no traceback on
        stderr, where it would land in whichever test is running then."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class FakeOpenAI:
    def __init__(self) -> None:
        self.scenario = Scenario()
        self.requests: list[Recorded] = []
        self.stop_event = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # a short poll: `stop` (every test's teardown) waits up to one poll interval for the serving loop
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._record(self, None)
                if server._serve_failure(self):
                    return
                if self.path == "/api/tags" and server.scenario.tags:
                    self._json(200, {"models": [{"name": m} for m in server.scenario.models]})
                elif self.path.endswith("/models") and self.path != "/api/models":
                    server._models(self)
                else:
                    self._send(404, b"404 page not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                server._record(self, body)
                if server._serve_failure(self):
                    return
                if not self.path.endswith("/chat/completions"):
                    self._send(404, b"404 page not found", "text/plain")
                    return
                time.sleep(server.scenario.delay_first)
                if body.get("stream"):
                    server._stream(self, body)
                elif server.scenario.break_whole_answer:
                    server._break_completion(self, body)
                else:
                    self._json(200, server._completion(body))

            def _json(self, status: int, payload: object) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _models(self, handler: Any) -> None:
        """The model list, as OpenRouter's `/api/v1/models` when the scenario has prices."""
        scenario = self.scenario
        if scenario.models_delay:
            self.stop_event.wait(scenario.models_delay)
        if scenario.models_body is not None:
            handler._send(200, scenario.models_body, "application/json")
            return
        models = [*scenario.models, *(m for m in scenario.prices if m not in scenario.models)]
        data = [{"id": m, **({"pricing": scenario.prices[m]} if m in scenario.prices else {})} for m in models]
        handler._json(200, {"object": "list", "data": data})

    def _record(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        self.requests.append(
            Recorded(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
        )

    def _serve_failure(self, handler: Any) -> bool:
        failures = self.scenario.failures
        if not failures or not handler.path.endswith(failures[0].path):
            return False
        failure = failures.popleft()
        data = failure.body.encode() if isinstance(failure.body, str) else failure.body
        handler._send(failure.status, data, failure.content_type, failure.headers)
        return True

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self.scenario.answer
        completion: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.scenario.model_reported or body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
        if self.scenario.usage:
            completion["usage"] = self._usage(42 if self.scenario.usage_completion_tokens is None else None)
        return completion

    def _usage(self, chunks: int | None) -> dict[str, Any]:
        """The usage object: the scenario's numbers, else `chunks` completion tokens."""
        scenario = self.scenario
        completion = scenario.usage_completion_tokens if chunks is None else chunks
        usage: dict[str, Any] = {
            "prompt_tokens": scenario.usage_prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": scenario.usage_prompt_tokens + completion,
        }
        if scenario.cost is not None:
            usage["cost"] = scenario.cost
        return usage

    def _break_completion(self, handler: Any, body: dict[str, Any]) -> None:
        """Announce the whole JSON answer, send half of it, and hang up."""
        data = json.dumps(self._completion(body)).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(2)

    def _stream(self, handler: Any, body: dict[str, Any]) -> None:
        scenario = self.scenario
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        model = scenario.model_reported or body["model"]

        def event(payload: object) -> None:
            handler.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            handler.wfile.flush()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            payload: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if scenario.null_fields:
                payload |= {"error": None, "usage": None}
            return payload

        try:
            if scenario.comments:
                handler.wfile.write(b": OPENROUTER PROCESSING\n\n")
            event(chunk({"role": "assistant"}))
            pieces = chunks_of(scenario.answer, scenario.chunk_size)
            for n, piece in enumerate(pieces):
                if n == scenario.break_after:
                    handler.connection.shutdown(2)
                    return
                if n == scenario.error_chunk_after:
                    error_event: dict[str, Any] = {"error": scenario.stream_error}
                    if scenario.stream_error_choices:
                        error_event |= chunk({"content": ""}, "error")
                    if scenario.stream_error_line:
                        handler.wfile.write(f"error: {json.dumps(scenario.stream_error)}\n\n".encode())
                        handler.wfile.flush()
                    else:
                        event(error_event)
                    return
                if n == scenario.bad_chunk_after:
                    handler.wfile.write(b"data: {not json\n\n")
                    handler.wfile.flush()
                    return
                if n == scenario.stall_after:
                    self.stop_event.wait(30)
                    return
                event(chunk({"content": piece}))
                if scenario.delay_between:
                    time.sleep(scenario.delay_between)
            event(chunk({}, scenario.finish_reason))
            if scenario.usage and (body.get("stream_options") or {}).get("include_usage"):
                usage = self._usage(len(pieces) if scenario.usage_completion_tokens is None else None)
                event(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                )
            handler.wfile.write(b"data: [DONE]\n\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
