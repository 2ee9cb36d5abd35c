"""Turn what the `openai` client raised into one sentence and a fix.

Works on the exceptions' attributes (status code, body, cause chain), so this module never imports `openai`.
Every text taken from a server is cut to one short line and has the request's key removed from it.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sdx.errors import ExitStatus, SdxError
from sdx.model.registry import Target

if TYPE_CHECKING:
    from sdx.model.client import ChatRequest

RETRY_AFTER_CAP = 30.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
CONTEXT_WORDS = (
    "context length",
    "context_length",
    "too long",
    "maximum context",
    "exceeds",
    "too many tokens",
)


def retry_delay(exc: Any, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None when the failure is not worth retrying."""
    status = getattr(exc, "status_code", None)
    if status != 429 and status not in (500, 502, 503, 504):
        return None
    header = exc.response.headers.get("retry-after", "")
    try:
        return min(max(float(header), 0.0), RETRY_AFTER_CAP)
    except ValueError:
        return min(BACKOFF_BASE * 2**attempt, BACKOFF_CAP)


def one_line(text: str, key: str = "", limit: int = 200) -> str:
    """First non-empty line of a server's text, shortened, with the key redacted."""
    if key and len(key) >= 4:
        text = text.replace(key, "[redacted]")
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def server_message(exc: Any) -> str:
    """The human part of an error body: `{"error": {"message": ...}}`, `{"message": ...}` or raw text."""
    body = getattr(exc, "body", None)
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
        if isinstance(body.get("message"), str):
            return body["message"]
    return getattr(exc, "message", "") or str(exc)


def looks_like_html(exc: Any) -> bool:
    response = getattr(exc, "response", None)
    content_type = response.headers.get("content-type", "") if response is not None else ""
    text = server_message(exc).lstrip().lower()
    return "html" in content_type or text.startswith(("<!doctype", "<html"))


def explain_failure(exc: Any, target: Target, request: ChatRequest | None = None) -> SdxError:
    """The SdxError for a request that failed before any text of the answer arrived."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        return _explain_status(exc, status, target, request)
    return _explain_connection(exc, target, request.timeout if request else 0.0, first_token=True)


def _explain_status(exc: Any, status: int, target: Target, request: ChatRequest | None) -> SdxError:
    provider = target.provider
    message = one_line(server_message(exc), target.api_key)
    url = f"{target.base_url}/chat/completions"
    refused = ExitStatus.PROVIDER
    if (looks_like_html(exc) and status in (404, 405)) or "page not found" in message.lower():
        return SdxError(
            f"{url} answered {status} ({'an HTML page' if looks_like_html(exc) else message})",
            "check the base URL: OpenAI-compatible servers usually end in /v1",
            ExitStatus.CONFIG,
        )
    if looks_like_html(exc):
        return SdxError(
            f"{urlsplit(url).netloc} answered {status} with an HTML page instead of JSON (a proxy or gateway?)",
            "check the base URL and any HTTP proxy (HTTPS_PROXY); try again later",
            ExitStatus.NETWORK,
        )
    if status in (401, 403):
        if not provider.needs_key:
            return SdxError(
                f"{provider.name} requires an API key ({status}: {message})",
                f"set key_env for [providers.{provider.name}] in the config file",
                refused,
            )
        return SdxError(
            f"{provider.name} rejected the key in {provider.key_env} ({status})",
            f"check or replace {provider.key_env} (in your environment or .env)",
            refused,
        )
    if status == 402:
        return SdxError(
            f"{provider.name} says the account is out of credits (402)",
            f"add credits to your {provider.name} account, or use a local model: --model llama3.2",
            refused,
        )
    if status == 404:
        if "try pulling" in message or provider.name == "ollama":
            return SdxError(
                f"model {target.model_id!r} is not available in Ollama ({message})",
                f"ollama pull {target.model_id}",
                refused,
            )
        return SdxError(
            f"{provider.name} has no model {target.model_id!r} ({message})",
            "check the model id; `sdx models` lists what sdx knows",
            refused,
        )
    if status in (400, 413) and any(word in message.lower() for word in CONTEXT_WORDS):
        return SdxError(
            f"the input is too long for {target.model_id}: {input_size(exc, request)}",
            "shorten the question or context, or pick a model with a larger context window",
            refused,
        )
    if status == 429:
        return SdxError(
            f"{provider.name} is rate limiting requests (429) and retries did not help",
            "wait a minute and try again, or pick another model with --model",
            refused,
        )
    if status >= 500:
        return SdxError(
            f"{provider.name} failed with a server error ({status}: {message})",
            "try again later, or pick another model with --model",
            refused,
        )
    return SdxError(f"{provider.name} refused the request ({status}: {message})", "see `sdx doctor`", refused)


def input_size(exc: Any, request: ChatRequest | None) -> str:
    """How long the input was: the server's token counts when it gives them (llama.cpp does), else our count."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("n_prompt_tokens"), int):
        limit = f", the limit is {body['n_ctx']:,}" if isinstance(body.get("n_ctx"), int) else ""
        return f"{body['n_prompt_tokens']:,} tokens{limit}"
    numbers = [int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) tokens", server_message(exc))]
    if len(numbers) >= 2:  # OpenAI: "maximum context length is 8192 tokens. However, you requested 9000 tokens"
        return f"{max(numbers):,} tokens, the limit is {min(numbers):,}"
    size = sum(len(m["content"]) for m in request.messages) if request else 0
    return f"{size:,} characters (~{size // 4:,} tokens)"


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while exc.__cause__ is not None or exc.__context__ is not None:
        if id(exc) in seen:
            break
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def _explain_connection(exc: Any, target: Target, timeout: float, first_token: bool) -> SdxError:
    provider = target.provider
    where = target.base_url
    host = urlsplit(where).hostname or where
    network = ExitStatus.NETWORK
    if type(exc).__name__ == "APITimeoutError" or "timed out" in str(exc).lower():
        what = "no answer" if first_token else "the answer stalled"
        return SdxError(
            f"{what} from {where} within {timeout:g}s (timeout)",
            "try again, or raise the limit with --timeout or timeout = … in the config file",
            network,
        )
    root = _root_cause(exc)
    if isinstance(root, ConnectionRefusedError) or "connection refused" in str(root).lower():
        if provider.name == "ollama":
            return SdxError(
                f"cannot reach Ollama at {where}",
                "start it with `ollama serve`, or point OLLAMA_HOST at the machine that runs it",
                network,
            )
        return SdxError(f"cannot connect to {where} (connection refused)", "is the server running?", network)
    if isinstance(root, socket.gaierror) or "name or service not known" in str(root).lower():
        return SdxError(f"cannot resolve host {host!r}", "check the base URL and your network/DNS", network)
    if isinstance(root, ssl.SSLError) or "ssl" in type(root).__name__.lower():
        return SdxError(
            f"TLS handshake with {host} failed ({one_line(str(root))})",
            "check http:// vs https:// in the base URL, or your proxy's certificates (SSL_CERT_FILE)",
            network,
        )
    return SdxError(
        f"cannot connect to {where} ({one_line(str(root) or type(root).__name__)})",
        "check the base URL and your network",
        network,
    )


def explain_interruption(exc: Any, tokens: int, request: ChatRequest) -> SdxError:
    """The SdxError for a stream that broke after part of the answer arrived (the part is kept)."""
    name = type(exc).__name__
    if isinstance(exc, ValueError):
        reason = "the server sent a malformed chunk"
    elif isinstance(exc, ConnectionError):
        reason = str(exc)
    elif name == "APITimeoutError":
        reason = _explain_connection(exc, request.target, request.timeout, first_token=False).what
    elif name == "APIConnectionError":
        cause = one_line(str(_root_cause(exc)))
        reason = f"the connection to {request.target.base_url} broke mid-answer ({cause})"
    else:
        reason = f"{request.target.provider.name} reported an error: " + one_line(
            server_message(exc), request.target.api_key
        )
    return SdxError(
        f"answer interrupted after {tokens} token{'' if tokens == 1 else 's'}: {reason}",
        "the partial answer was kept; run the command again to retry",
        ExitStatus.NETWORK,
    )
