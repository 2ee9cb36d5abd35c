"""Model names to endpoints: an alias or `provider:model` becomes a base URL, a key and a model id.

A provider's key is read from that provider's own variable and is only ever paired with that provider's base
URL: nothing here falls back to another provider's key.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from sdx.config import Config
from sdx.errors import ConfigError, register_secret

DEFAULT_MODEL = "gpt-4o-mini"
KEYLESS_ALTERNATIVE = "llama3.2"
OLLAMA_DEFAULT_HOST = "http://localhost:11434"
DUMMY_KEY = "sdx-no-key"  # keyless servers (Ollama, llama.cpp) still need *a* key for the openai client


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str
    key_env: str = ""  # empty: the provider needs no key
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def needs_key(self) -> bool:
        return bool(self.key_env)


@dataclass(frozen=True)
class Target:
    """Everything a request needs: where it goes, with which key, for which model."""

    name: str  # what the user typed (or the default), for messages
    provider: Provider
    model_id: str
    api_key: str

    @property
    def base_url(self) -> str:
        return self.provider.base_url


def normalise_ollama_host(host: str) -> str:
    """`127.0.0.1:11434`, `gpu-box`, `http://h:11434/` or `http://h:11434/v1` -> `http://h:11434/v1`.

    `0.0.0.0` is where Ollama listens, not an address to call: it becomes `localhost`.
    """
    host = host.strip() or OLLAMA_DEFAULT_HOST
    if "://" not in host:
        host = "http://" + host
    parts = urlsplit(host)
    hostname = parts.hostname or "localhost"
    if hostname == "0.0.0.0":
        hostname = "localhost"
    if ":" in hostname:  # IPv6 literal
        hostname = f"[{hostname}]"
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return urlunsplit((parts.scheme, f"{hostname}:{port}", path, "", ""))


def builtin_providers(env: Mapping[str, str]) -> dict[str, Provider]:
    return {
        "openrouter": Provider(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            {"X-Title": "sdx"},  # OpenRouter's app attribution
        ),
        "ollama": Provider("ollama", normalise_ollama_host(env.get("OLLAMA_HOST", ""))),
        "openai": Provider("openai", env.get("OPENAI_BASE_URL") or "https://api.openai.com/v1", "OPENAI_API_KEY"),
    }


BUILTIN_ALIASES = {
    "gpt-4o-mini": "openrouter:openai/gpt-4o-mini",
    "llama3.2": "ollama:llama3.2",
}


def providers(config: Config) -> dict[str, Provider]:
    """Built-in providers, with the config file's `[providers.*]` tables added or laid over them."""
    result = builtin_providers(config.env)
    for name, spec in config.providers.items():
        base = result.get(name)
        if base is None and not spec.base_url:
            raise ConfigError(
                f"in {config.config_file}: [providers.{name}] has no base_url",
                'add base_url = "http://host:port/v1"',
            )
        result[name] = Provider(
            name=name,
            base_url=(spec.base_url or base.base_url).rstrip("/"),  # type: ignore[union-attr]
            key_env=spec.key_env if base is None or spec.key_env else base.key_env,
            headers=base.headers if base else {},
        )
    return result


def aliases(config: Config) -> dict[str, str]:
    return {**BUILTIN_ALIASES, **config.aliases}


def chosen_model_name(cli_model: str | None, config: Config) -> str:
    """`--model`, else `SDX_MODEL`, else the config file's default, else `gpt-4o-mini`."""
    return cli_model or config.env.get("SDX_MODEL") or config.default_model or DEFAULT_MODEL


def split_spec(spec: str) -> tuple[str, str]:
    """`ollama:qwen2.5:7b` -> (`ollama`, `qwen2.5:7b`): only the first colon separates."""
    provider, _, model = spec.partition(":")
    return provider, model


def resolve(name: str, config: Config) -> Target:
    """Turn a model name into a Target, or raise a ConfigError that says what to type instead."""
    known_providers = providers(config)
    known_aliases = aliases(config)
    spec = known_aliases.get(name, name)
    provider_name, model_id = split_spec(spec)
    provider = known_providers.get(provider_name)
    if provider is None or not model_id:
        raise unknown_model_error(name, known_aliases, known_providers)
    return Target(name=name, provider=provider, model_id=model_id, api_key=api_key_for(provider, config))


def unknown_model_error(name: str, known_aliases: Mapping[str, str], known: Mapping[str, Provider]) -> ConfigError:
    candidates = list(known_aliases) + [f"{p}:" for p in known]
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    if ":" in name and not close:
        hint = f"known providers: {', '.join(known)}; "
    return ConfigError(
        f"unknown model {name!r}",
        f"{hint}run `sdx models` to list aliases, or use provider:model (e.g. ollama:{name.split(':')[-1]})",
    )


def api_key_for(provider: Provider, config: Config) -> str:
    if not provider.needs_key:
        return DUMMY_KEY
    key = config.env.get(provider.key_env, "").strip()
    if not key:
        raise ConfigError(
            f"no API key for {provider.name}: {provider.key_env} is not set",
            f"export {provider.key_env}=… or add it to .env (here or in {config.home}); "
            f"or run a local model with no key: --model {KEYLESS_ALTERNATIVE}",
        )
    register_secret(key)
    return key
