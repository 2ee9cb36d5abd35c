"""Cheap reachability checks for `sdx models` and `sdx doctor`, with the standard library only.

These run on every `sdx models`, so they use `urllib` (no `openai` import) and a short timeout. A server on this
machine is reached directly, whatever HTTP_PROXY says (as the client does).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from sdx.model.client_errors import body_message, looks_like_html, one_line
from sdx.model.registry import Provider, is_loopback


@dataclass
class ProbeResult:
    reachable: bool
    models: list[str] = field(default_factory=list)
    problem: str = ""  # why it is not reachable, or why the list is empty
    status: int | None = None
    url: str = ""  # the URL that gave `status`
    message: str = ""  # the human part of an error reply, one line
    html: bool = False  # the error reply was a web page


def get_json(url: str, timeout: float, api_key: str = "") -> tuple[int, object]:
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if is_loopback(url) else []))
    with opener.open(request, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null")


def ollama_root(base_url: str) -> str:
    return base_url.rstrip("/").removesuffix("/v1")


def _names(payload: object, list_key: str, name_key: str) -> list[str]:
    items = payload.get(list_key, []) if isinstance(payload, dict) else []
    return sorted(str(item.get(name_key)) for item in items if isinstance(item, dict) and item.get(name_key))


def probe(provider: Provider, api_key: str = "", timeout: float = 1.5) -> ProbeResult:
    """Ask the provider which models it has: Ollama's `/api/tags`, falling back to `/models`.

    The key goes only to this provider's own base URL.
    """
    urls = []
    if provider.name == "ollama":
        urls.append((f"{ollama_root(provider.base_url)}/api/tags", "models", "name"))
    urls.append((f"{provider.base_url}/models", "data", "id"))
    result = ProbeResult(reachable=False)
    for url, list_key, name_key in urls:
        try:
            status, payload = get_json(url, timeout, api_key if "/api/tags" not in url else "")
            return ProbeResult(True, _names(payload, list_key, name_key), status=status)
        except urllib.error.HTTPError as exc:
            result = _http_error(url, exc, api_key)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return ProbeResult(False, problem=f"cannot reach {url}: {reason}")
        except (ValueError, http.client.InvalidURL) as exc:  # a proxy variable urllib cannot use (`http://p:abc`)
            return ProbeResult(False, problem=f"cannot reach {url} with the proxy settings: {one_line(str(exc))}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            result = ProbeResult(True, problem=f"{url} did not answer JSON")
    return result


def _http_error(url: str, exc: urllib.error.HTTPError, api_key: str) -> ProbeResult:
    try:
        text = exc.read(4096).decode("utf-8", "replace")
    except OSError:
        text = ""
    html = looks_like_html(exc.headers.get("content-type", "") if exc.headers else "", text)
    message = one_line(body_message(text, text) or str(exc.reason), api_key)
    return ProbeResult(True, problem=f"{url} answered {exc.code}", status=exc.code, url=url, message=message, html=html)
