"""What an answer cost, said honestly: reported by the provider, priced from a price list, $0, or unknown.

In this order: the cost the provider reports with the stream's usage (OpenRouter's `usage.cost`): exact. The
config file's `[prices]` entry for the model's `provider:model` (USD per million tokens in and out, times the
token counts): estimated. For an OpenRouter model, OpenRouter's public model list (`GET <base URL>/models`, each
model's `pricing` in USD per token), cached beside the history for a day: estimated. $0 for a server on this
machine. Anything else is unknown, never a silent zero.

The price list is fetched only when an OpenRouter answer came without a reported cost, only after that answer
(nothing waits for it before or during one), in a thread given PRICE_LIST_TIMEOUT seconds, and without a key:
the list is public, and its URL is the provider's own base URL. A failure is one warning and an unknown cost,
remembered for FAILURE_MEMORY seconds so the next answers do not wait for it again.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from sdx.domain.conversation import ERROR, UNANSWERED, Turn
from sdx.environment import current
from sdx.model.registry import Target, is_loopback

REPORTED = "reported"  # the provider said what it cost: exact
LOCAL = "local"  # a server on this machine: $0
CONFIGURED = "prices"  # the config file's [prices] times the token counts: estimated
PRICE_LIST = "price list"  # OpenRouter's public model list times the token counts: estimated
ESTIMATED = frozenset({CONFIGURED, PRICE_LIST})

CACHE_NAME = "prices.json"  # beside history.db
MAX_AGE = 86400.0  # a price list is fetched again after a day
FAILURE_MEMORY = 3600.0  # after a failed fetch, answers for an hour do not try again
PRICE_LIST_TIMEOUT = 3.0  # seconds for the whole price list request
_NO_ANSWER = f"no answer within {PRICE_LIST_TIMEOUT:g}s"
PER_MILLION = 1_000_000

_fetching = threading.Lock()  # one fetch at a time (batch workers finish together)


@dataclass(frozen=True)
class Price:
    """USD per token (and per request)."""

    prompt: float
    completion: float
    request: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.prompt + completion_tokens * self.completion + self.request


@dataclass(frozen=True)
class Priced:
    """A model's price, where it came from, and (when there is none) why."""

    price: Price | None
    source: str = ""
    problem: str = ""


@dataclass
class PriceList:
    """The cached copy of a price list."""

    url: str
    fetched_at: float = 0.0
    failed_at: float = 0.0
    models: dict[str, Price] = field(default_factory=dict)

    def fresh(self, now: float) -> bool:
        return 0 <= now - self.fetched_at < MAX_AGE

    def worth_fetching(self, now: float) -> bool:
        return not self.fresh(now) and not 0 <= now - self.failed_at < FAILURE_MEMORY


def is_estimated(source: str) -> bool:
    return source in ESTIMATED


def cost_text(cost: float | None, source: str) -> str:
    """`$0.0012`, `~$0.0010` for an estimate, `$0` for nothing, `<$0.0001`; "" when unknown."""
    if cost is None:
        return ""
    approx = "~" if is_estimated(source) else ""
    if cost == 0:
        return f"{approx}$0"
    if cost < 0.00005:
        return f"{approx}<$0.0001"
    return f"{approx}${cost:.4f}"


def is_openrouter(target: Target) -> bool:
    """The built-in OpenRouter provider, or any provider whose base URL is OpenRouter's."""
    host = (urlsplit(target.base_url).hostname or "").lower()
    return target.provider.name == "openrouter" or host == "openrouter.ai" or host.endswith(".openrouter.ai")


def price_list_url(target: Target) -> str:
    """OpenRouter's model list lives at `<base URL>/models` (https://openrouter.ai/api/v1/models)."""
    return f"{target.base_url.rstrip('/')}/models"


def cache_path() -> Path:
    from sdx.store.history import history_path

    return history_path().parent / CACHE_NAME


def model_price(target: Target, model_id: str = "", *, fetch: bool) -> Priced:
    """What `target`'s model costs per token; `fetch` allows asking for a price list that is missing or stale."""
    if target.price is not None:
        prompt, completion = target.price
        return Priced(Price(prompt / PER_MILLION, completion / PER_MILLION), CONFIGURED)
    if is_openrouter(target):
        return list_price(target, model_id or target.model_id, fetch=fetch)
    if is_loopback(target.base_url):
        return Priced(Price(0.0, 0.0), LOCAL)
    return Priced(None, problem=f"no price is known for {target.spec}")


class Priceable(Protocol):
    """A request that was answered: a turn, or a grading request (`sdx.domain.conversation`)."""

    model_id: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    cost_source: str


def price_turn(turn: Turn, target: Target, *, fetch: bool) -> str:
    """Fill in the turn's cost and where it came from, when it can be known; returns a warning, or "". A turn the
    server never answered whole (a timeout, a dropped stream, Ctrl-C) generated more than what arrived, perhaps:
    a price times what arrived would be too low, so it is $0 locally, and otherwise unknown unless reported."""
    if turn.cost is None and turn.delivery == UNANSWERED:
        _price_unanswered(turn, target)
        return ""
    if turn.cost is None and turn.status == ERROR and not turn.answer:  # nothing was generated
        return ""
    return price_request(turn, target, fetch=fetch)


def price_request(request: Priceable, target: Target, *, fetch: bool) -> str:
    """Fill in a request's cost and where it came from, when it can be known; returns a warning, or "". A request
    that got no reply (`completion_tokens` None: what it generated is unknown) is known to cost only $0 locally."""
    if request.cost is not None:
        request.cost_source = request.cost_source or REPORTED
        return ""
    if request.completion_tokens is None:
        _price_unanswered(request, target)
        return ""
    priced = model_price(target, request.model_id, fetch=fetch)
    if priced.price is None:
        return priced.problem if fetch and is_openrouter(target) else ""
    request.cost = priced.price.cost(request.prompt_tokens or 0, request.completion_tokens or 0)
    request.cost_source = priced.source
    return ""


def _price_unanswered(request: Priceable, target: Target) -> None:
    """A request whose reply never came whole costs $0 on this machine; anywhere else, nobody knows."""
    if model_price(target, request.model_id, fetch=False).source == LOCAL:
        request.cost, request.cost_source = 0.0, LOCAL


def total_cost(requests: Sequence[Priceable]) -> tuple[float | None, bool, int]:
    """The sum of the known costs (None when none is known), whether part of it is an estimate, and how many of
    the requests have an unknown cost (left out of the sum, never counted as zero)."""
    known = [request for request in requests if request.cost is not None]
    unknown = len(requests) - len(known)
    if not known:
        return None, False, unknown
    estimated = any(is_estimated(request.cost_source) for request in known)
    return sum(request.cost or 0.0 for request in known), estimated, unknown


def list_price(target: Target, model_id: str, *, fetch: bool) -> Priced:
    url = price_list_url(target)
    now = current().wall_clock()
    problem = ""
    with _fetching:  # a batch worker that waited finds the list another one just fetched
        listing = read_cache(url)
        if fetch and listing.worth_fetching(now):
            listing, problem = refresh(listing, now)
    if not fetch and not listing.fresh(now):
        return Priced(None)
    price = listing.models.get(model_id) or listing.models.get(target.model_id)
    if price is None:  # a model the list does not have is unknown, quietly (`sdx usage` counts those)
        return Priced(None, problem=problem)
    return Priced(price, PRICE_LIST)


def read_cache(url: str) -> PriceList:
    """The cached list for `url` (an empty one when there is none, it is damaged, or it is another URL's)."""
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("url") != url:
            return PriceList(url)
        models = {str(name): Price(*map(float, values)) for name, values in dict(data.get("models") or {}).items()}
        return PriceList(url, float(data.get("fetched_at", 0)), float(data.get("failed_at", 0)), models)
    except (OSError, ValueError, TypeError):
        return PriceList(url)


def write_cache(listing: PriceList) -> None:
    """Replace the cache file at once; a cache that cannot be written only means asking again next time."""
    path = cache_path()
    data = {
        "url": listing.url,
        "fetched_at": listing.fetched_at,
        "failed_at": listing.failed_at,
        "models": {name: [p.prompt, p.completion, p.request] for name, p in listing.models.items()},
    }
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".prices-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def refresh(listing: PriceList, now: float) -> tuple[PriceList, str]:
    """Fetch the list again; on failure keep the older prices (if any) and say why."""
    result: dict[str, object] = {}
    thread = threading.Thread(target=_fetch_into, args=(listing.url, result), name="sdx-prices", daemon=True)
    thread.start()
    thread.join(PRICE_LIST_TIMEOUT)  # the thread is left to die with the process if the server hangs
    models = result.get("models")
    if isinstance(models, dict):
        fresh = PriceList(listing.url, fetched_at=now, models=models)
        write_cache(fresh)
        return fresh, ""
    reason = str(result.get("problem") or _NO_ANSWER)
    failed = PriceList(listing.url, listing.fetched_at, now, listing.models)
    write_cache(failed)
    older = "; the older list was used" if listing.models else ""
    return failed, f"cannot get OpenRouter's price list from {listing.url}: {reason}{older}"


def _fetch_into(url: str, result: dict[str, object]) -> None:
    from sdx.model.probe import get_json

    try:
        _status, payload = get_json(url, PRICE_LIST_TIMEOUT)  # no key: the list is public
        result["models"] = parse_price_list(payload)
    except urllib.error.HTTPError as exc:
        result["problem"] = f"it answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        # the socket's own time limit is the thread's: whichever ends first, the same words
        result["problem"] = _NO_ANSWER if isinstance(reason, TimeoutError) else str(reason)
    except (json.JSONDecodeError, UnicodeDecodeError):
        result["problem"] = "it did not answer JSON"
    except ValueError as exc:
        result["problem"] = f"its answer is {exc}"
    except Exception as exc:  # a thread's failure must not be lost: it becomes the warning
        result["problem"] = f"{type(exc).__name__}: {exc}"


def parse_price_list(payload: object) -> dict[str, Price]:
    """`{"data": [{"id": …, "pricing": {"prompt": "0.00000015", "completion": "0.0000006", "request": "0"}}]}`;
    a model whose prices are missing, not numbers or negative (OpenRouter's `-1`: priced per request by the
    router) is left out. Raises ValueError when the payload is no model list."""
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise ValueError("not a model list")
    models = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("pricing"), Mapping):
            continue
        pricing = item["pricing"]
        values = [_per_token(pricing.get(key, "0" if key == "request" else None)) for key in _PRICE_KEYS]
        if isinstance(item.get("id"), str) and all(value is not None for value in values):
            models[item["id"]] = Price(*values)  # type: ignore[arg-type]
    return models


_PRICE_KEYS = ("prompt", "completion", "request")


def _per_token(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
