"""`--debug` / `SDX_DEBUG=1`: print the HTTP exchange on stderr, credentials redacted.

The exchange is logged by event hooks (`event_hooks`) on the HTTP client the `openai` package is given, so what
is printed is what went over the wire, not what we meant to send.
"""

from __future__ import annotations

from typing import Any

from sdx.errors import redact

SECRET_HEADERS = {"authorization", "api-key", "x-api-key", "proxy-authorization", "cookie", "set-cookie"}
BODY_LIMIT = 2000
_STATE = {"on": False}


def set_enabled(on: bool) -> None:
    _STATE["on"] = on


def enabled() -> bool:
    return _STATE["on"]


def _log(line: str) -> None:
    from sdx.environment import current

    print(redact(f"sdx debug: {line}"), file=current().stderr, flush=True)


def note(line: str) -> None:
    """A remark on how the request is sent, printed only when debugging."""
    if enabled():
        _log(line)


def _headers(headers: Any) -> str:
    return ", ".join(
        f"{name}: {'[redacted]' if name.lower() in SECRET_HEADERS else value}" for name, value in headers.items()
    )


def log_request(request: Any) -> None:
    _log(f"> {request.method} {request.url}")
    _log(f"> {_headers(request.headers)}")
    body = request.content.decode("utf-8", "replace")
    _log(f"> {body[:BODY_LIMIT]}{'…' if len(body) > BODY_LIMIT else ''}")


def log_response(response: Any) -> None:
    _log(f"< {response.status_code} {response.reason_phrase}")
    _log(f"< {_headers(response.headers)}")


def event_hooks() -> dict[str, list[Any]]:
    """Hooks for the HTTP client the `openai` package is given: log each request and response when debugging."""
    return {"request": [log_request], "response": [log_response]} if enabled() else {}
