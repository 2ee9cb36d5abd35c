"""Turn what a server answered, or what the `openai` client raised, into one sentence, a fix and an exit code.

One failure table (`status_failure`: HTTP status → what, fix, exit code) serves the client and `sdx doctor`.
Works on the exceptions' attributes (status code, body, cause chain), so this module never imports `openai`.
Every text taken from a server is cut to one short line and has the request's key removed from it.
"""

from __future__ import annotations

import json
import math
import re
import socket
import ssl
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sdx.errors import ExitStatus, SdxError
from sdx.model.registry import Provider, Target

if TYPE_CHECKING:
    from sdx.model.client import ChatRequest

RETRY_AFTER_CAP = 30.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)  # worth asking again before any text arrived
CONTEXT_WORDS = (
    "context length",
    "context_length",
    "too long",
    "maximum context",
    "exceeds",
    "too many tokens",
)
BASE_URL_FIX = "check the base URL: OpenAI-compatible servers usually end in /v1"
RETRY_FIX = "run the command again; if it keeps happening, check the server's log"
PROXY_VARIABLES = ("ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def retry_delay(exc: Any, attempt: int, now: float = 0.0) -> float | None:
    """Seconds to wait before retrying, or None when the failure is not worth retrying.

    `Retry-After` is honoured when it is a number of seconds or an HTTP date (`now` is the wall clock), capped;
    anything else (`nan`, `inf`, garbage) falls back to exponential backoff.
    """
    if getattr(exc, "status_code", None) not in RETRYABLE_STATUSES:
        return None
    asked = _retry_after(exc.response.headers.get("retry-after", ""), now)
    if asked is None:
        return backoff(attempt)
    return min(max(asked, 0.0), RETRY_AFTER_CAP)


def backoff(attempt: int) -> float:
    """Seconds before retry `attempt + 1` when the server did not say: 0.5, 1, 2, … capped."""
    return min(BACKOFF_BASE * 2**attempt, BACKOFF_CAP)


def _retry_after(header: str, now: float) -> float | None:
    try:
        seconds = float(header)
    except ValueError:
        try:
            return parsedate_to_datetime(header).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return seconds if math.isfinite(seconds) else None


def one_line(text: str, key: str = "", limit: int = 200) -> str:
    """First non-empty line of a server's text, shortened, with the key redacted."""
    if key and len(key) >= 4:
        text = text.replace(key, "[redacted]")
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def body_message(body: object, default: str = "") -> str:
    """The human part of an error body: `{"error": {"message": ...}}`, `{"message": ...}`, `{"detail": ...}`."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError:
            return body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
        for name in ("message", "detail"):
            if isinstance(body.get(name), str):
                return body[name]
    return default


def server_message(exc: Any) -> str:
    return body_message(getattr(exc, "body", None), getattr(exc, "message", "") or str(exc))


def looks_like_html(content_type: str, text: str) -> bool:
    return "html" in content_type.lower() or text.lstrip().lower().startswith(("<!doctype", "<html"))


def _exc_is_html(exc: Any) -> bool:
    response = getattr(exc, "response", None)
    content_type = response.headers.get("content-type", "") if response is not None else ""
    return looks_like_html(content_type, server_message(exc))


def status_failure(
    status: int,
    message: str,
    provider: Provider,
    url: str,
    *,
    html: bool = False,
    model_id: str | None = None,
    input_size: str = "",
    url_is_right: bool = False,
) -> SdxError:
    """The failure table: what an HTTP error status from a provider means, and what to do about it.

    `model_id` is None when the request named no model (`sdx doctor` listing models): a 404 then means the URL.
    `url_is_right` when the server answered 200 on that URL and put the status in an error object.
    """
    refused = ExitStatus.PROVIDER
    name = provider.name
    said = f"{status}: {message}" if message else str(status)
    if status == 404 and not url_is_right and (html or not _names_a_model(message, model_id)):
        shown = "an HTML page" if html else message
        return SdxError(f"{url} answered 404 ({shown})", BASE_URL_FIX, ExitStatus.CONFIG)
    if status == 405:  # the path exists but takes no POST: not the chat-completions endpoint
        return SdxError(f"{url} answered 405 ({'an HTML page' if html else message})", BASE_URL_FIX, ExitStatus.CONFIG)
    if html:
        return SdxError(
            f"{urlsplit(url).netloc} answered {status} with an HTML page instead of JSON (a proxy or gateway?)",
            "check the base URL and any HTTP proxy (HTTPS_PROXY); try again later",
            ExitStatus.NETWORK,
        )
    if status in (401, 403):
        if not provider.needs_key:
            return SdxError(
                f"{name} requires an API key ({said})",
                f"set key_env for [providers.{name}] in the config file",
                refused,
            )
        return SdxError(
            f"{name} rejected the key in {provider.key_env} ({status})",
            f"check or replace {provider.key_env} (in your environment or .env)",
            refused,
        )
    if status == 402:
        return SdxError(
            f"{name} says the account is out of credits (402)",
            f"add credits to your {name} account, or use a local model: --model llama3.2",
            refused,
        )
    if status == 404:
        if "try pulling" in message or (name == "ollama" and "not found" in message.lower()):
            return SdxError(
                f"model {model_id!r} is not available in Ollama ({message})", f"ollama pull {model_id}", refused
            )
        return SdxError(
            f"{name} has no model {model_id!r} ({message})",
            "check the model id; `sdx models` lists what sdx knows",
            refused,
        )
    if status in (400, 413) and any(word in message.lower() for word in CONTEXT_WORDS):
        return SdxError(
            f"the input is too long for {model_id}: {input_size}",
            "shorten the question or context, or pick a model with a larger context window",
            refused,
        )
    if status == 429:
        return SdxError(
            f"{name} is rate limiting requests (429) and retries did not help",
            "wait a minute and try again, or pick another model with --model",
            refused,
        )
    if status >= 500:
        return SdxError(
            f"{name} failed with a server error ({said})",
            "try again later, or pick another model with --model",
            refused,
        )
    return SdxError(f"{name} refused the request ({said})", "see `sdx doctor`", refused)


def _names_a_model(message: str, model_id: str | None) -> bool:
    """Whether a 404's message is about a model (missing model) rather than the path (wrong base URL)."""
    if model_id is None:
        return False
    lowered = message.lower()
    return model_id.lower() in lowered or "model" in lowered or "no endpoints" in lowered  # OpenRouter's wording


def explain_failure(exc: Any, target: Target, request: ChatRequest | None = None) -> SdxError:
    """The SdxError for a request that failed before any text of the answer arrived."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        return status_failure(
            status,
            one_line(server_message(exc), target.api_key),
            target.provider,
            f"{target.base_url}/chat/completions",
            html=_exc_is_html(exc),
            model_id=target.model_id,
            input_size=input_size(getattr(exc, "body", None), server_message(exc), request),
        )
    return explain_connection(exc, target, request.timeout if request else 0.0)


def explain_stream_error(error: object, target: Target, request: ChatRequest) -> SdxError:
    """An `error` object the server sent inside a 200 reply, before any text: the provider refusing."""
    message = one_line(body_message({"error": error}, "the provider reported an error without a message"))
    message = one_line(message, target.api_key)
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and 400 <= code <= 599:
        return status_failure(
            code,
            message,
            target.provider,
            f"{target.base_url}/chat/completions",
            model_id=target.model_id,
            input_size=input_size(error, message, request),
            url_is_right=True,
        )
    return SdxError(
        f"{target.provider.name} refused to answer: {message}",
        "try again later, or pick another model with --model",
        ExitStatus.PROVIDER,
    )


def stream_error_reason(error: object, target: Target) -> str:
    """Why a stream that already produced text broke, when the server sent an `error` object."""
    message = body_message({"error": error}, "an error without a message")
    return f"{target.provider.name} reported an error: {one_line(message, target.api_key)}"


def not_a_stream(target: Target, content_type: str, first_line: str) -> SdxError:
    """A 200 reply that is not the model's answer: a captive portal, a proxy, a wrong URL."""
    host = urlsplit(target.base_url).netloc
    if looks_like_html(content_type, first_line):
        what = f"{host} answered with a web page instead of the model's answer"
    elif first_line.lstrip().startswith(("{", "[")):
        what = f"{host} answered with a JSON document instead of the model's answer"
    else:
        what = f"{host} answered with something that is not the model's answer ({one_line(first_line, limit=60)!r})"
    return SdxError(
        f"{what}; nothing was received from the model",
        "a network login page or a proxy may be in the way (open any web page in a browser to log in), "
        f"or the base URL is wrong ({target.base_url})",
        ExitStatus.NETWORK,
    )


def empty_answer(target: Target, finish_reason: str | None) -> SdxError:
    """The model finished without writing any text."""
    if finish_reason == "length":
        return SdxError(
            f"{target.name} used up its token limit before writing any text",
            "raise --max-tokens (or leave it out)",
            ExitStatus.PROVIDER,
        )
    if finish_reason == "content_filter":
        return SdxError(
            f"{target.provider.name}'s content filter blocked the answer", "rephrase the question", ExitStatus.PROVIDER
        )
    return SdxError(
        f"{target.name} finished without writing any text (finish reason: {finish_reason or 'none'})",
        "run the command again, rephrase the question, or pick another model with --model",
        ExitStatus.PROVIDER,
    )


def input_size(body: object, message: str, request: ChatRequest | None) -> str:
    """How long the input was: the server's token counts when it gives them (llama.cpp does), else our count."""
    if isinstance(body, dict) and isinstance(body.get("n_prompt_tokens"), int):
        limit = f", the limit is {body['n_ctx']:,}" if isinstance(body.get("n_ctx"), int) else ""
        return f"{body['n_prompt_tokens']:,} tokens{limit}"
    numbers = [int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) tokens", message)]
    if len(numbers) >= 2:  # OpenAI: "maximum context length is 8192 tokens. However, you requested 9000 tokens"
        return f"{max(numbers):,} tokens, the limit is {min(numbers):,}"
    size = sum(len(str(m.get("content") or "")) for m in request.messages) if request else 0
    return f"{size:,} characters (~{size // 4:,} tokens)"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _root_cause(exc: BaseException) -> BaseException:
    return _causes(exc)[-1]


def _broke_while_answering(exc: BaseException) -> bool:
    """Whether the connection was made and then dropped (not a failure to connect at all)."""
    names = {type(cause).__name__ for cause in _causes(exc)}
    return bool(names & {"RemoteProtocolError", "ReadError"}) and "ConnectError" not in names


def is_timeout(exc: BaseException) -> bool:
    return any(
        type(cause).__name__ in ("APITimeoutError", "ReadTimeout", "TimeoutException", "PoolTimeout")
        or "timed out" in str(cause).lower()
        for cause in _causes(exc)
    )


def explain_connection(exc: Any, target: Target, timeout: float, first_token: bool = True) -> SdxError:
    """A request that got no HTTP answer: refused, unresolvable, TLS, timeout, or the server hung up."""
    provider = target.provider
    where = target.base_url
    host = urlsplit(where).hostname or where
    network = ExitStatus.NETWORK
    if is_timeout(exc):
        what = "no answer" if first_token else "the answer stalled"
        return SdxError(
            f"{what} from {where} within {timeout:g}s (timeout)",
            "try again, or raise the limit with --timeout or timeout = … in the config file",
            network,
        )
    root = _root_cause(exc)
    proxy = _proxy_in_the_way(where)
    if proxy and _is_connect_failure(root):
        return SdxError(
            f"cannot connect to the proxy in {proxy} on the way to {where}"
            f" ({one_line(str(root) or type(root).__name__)})",
            f"check that the proxy is running, or unset {proxy} (NO_PROXY={host} goes around it for this host)",
            network,
        )
    if _broke_while_answering(exc):
        return SdxError(
            f"{where} closed the connection before the answer was complete ({one_line(str(root))})", RETRY_FIX, network
        )
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


def _proxy_in_the_way(url: str) -> str:
    """The proxy variable the HTTP client uses for `url` (from the process environment, as httpx reads it), or ""
    when none applies: a loopback server is always reached directly, and NO_PROXY may exempt the host."""
    import os
    import urllib.request

    from sdx.model.registry import is_loopback

    parts = urlsplit(url)
    if is_loopback(url) or urllib.request.proxy_bypass_environment(parts.hostname or ""):
        return ""
    names = (f"{parts.scheme.upper()}_PROXY", f"{parts.scheme}_proxy", "ALL_PROXY", "all_proxy")
    return next((name for name in names if os.environ.get(name)), "")


def _is_connect_failure(root: BaseException) -> bool:
    text = str(root).lower()
    return isinstance(root, ConnectionRefusedError | socket.gaierror) or any(
        words in text for words in ("connection refused", "name or service not known", "temporary failure in name")
    )


def explain_interruption(reason: str, tokens: int) -> SdxError:
    """The SdxError for a stream that broke: the part that arrived is kept (when there is one)."""
    if tokens == 0:
        return SdxError(f"the answer broke off before any text arrived: {reason}", RETRY_FIX, ExitStatus.NETWORK)
    return SdxError(
        f"answer interrupted after {tokens} token{'' if tokens == 1 else 's'}: {reason}",
        "the partial answer was kept; run the command again to retry",
        ExitStatus.NETWORK,
    )


def interruption_reason(exc: BaseException, request: ChatRequest) -> str:
    """Why a stream broke, for `explain_interruption`: a stall or a dropped connection."""
    if is_timeout(exc):
        return explain_connection(exc, request.target, request.timeout, first_token=False).what
    cause = one_line(str(_root_cause(exc)) or type(exc).__name__)
    return f"the connection to {request.target.base_url} broke mid-answer ({cause})"


def socks_missing(exc: ImportError, environ: Mapping[str, str]) -> SdxError:
    """httpx refuses a SOCKS proxy (ALL_PROXY=socks5://…) unless the `socksio` package is installed."""
    variable = next(
        (name for name in PROXY_VARIABLES if environ.get(name, "").lower().startswith("socks")), "ALL_PROXY"
    )
    return SdxError(
        f"{variable} names a SOCKS proxy, but SOCKS support is not installed ({one_line(str(exc), limit=80)})",
        f"install it into sdx's environment: pip install socksio (pipx: pipx inject sdx socksio); or unset {variable}",
        ExitStatus.CONFIG,
    )


CERTIFICATE_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def network_settings_unusable(exc: Exception, environ: Mapping[str, str]) -> SdxError:
    """The HTTP client could not be set up from the proxy or certificate variables (a proxy URL with a bad port or
    scheme, a certificate file that is missing or not a certificate). Only the variables' names are said: a
    proxy URL may carry a password."""
    names = [name for name in (*PROXY_VARIABLES, *CERTIFICATE_VARIABLES) if environ.get(name)]
    which = " or ".join(names) if names else "the proxy and certificate variables"
    return SdxError(
        f"cannot set up connections with the settings in {which}"
        f" ({type(exc).__name__}: {one_line(str(exc), limit=80)})",
        f"fix or unset {which}",
        ExitStatus.CONFIG,
    )
