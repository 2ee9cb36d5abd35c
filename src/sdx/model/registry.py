"""Model names to endpoints: an alias or `provider:model` becomes a base URL, a key and a model id.

A provider's key is read from that provider's own variable and is only ever paired with that provider's base
URL: nothing here falls back to another provider's key. And a key is only sent to a base URL set in a place at
least as trusted as the key's (`sdx.config.Origin`): a `.env` in the working directory cannot redirect a key
from the environment or the user dir.

A provider whose base URL cannot be used, or would receive a key it must not, is still listed (so `sdx models`
and `sdx doctor` can show why); its `problem` is raised as a ConfigError only when a request would use it.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import SplitResult, urlsplit, urlunsplit

from sdx.config import ENVIRONMENT, Config, Origin
from sdx.errors import ConfigError, register_secret

DEFAULT_MODEL = "gpt-4o-mini"
KEYLESS_ALTERNATIVE = "llama3.2"
OLLAMA_DEFAULT_HOST = "http://localhost:11434"
DUMMY_KEY = "sdx-no-key"  # keyless servers (Ollama, llama.cpp) still need *a* key for the openai client
HOSTNAME = re.compile(r"[A-Za-z0-9_.-]+")
URL_EXAMPLES = "http://localhost:1234/v1 or https://llm.example.com/v1"
OLLAMA_HOST_EXAMPLES = "127.0.0.1:11434, gpu-box or http://gpu-box:11434"


@dataclass(frozen=True)
class BaseUrlSetting:
    """A base URL as set somewhere: its raw value, the setting's name for messages, and where it was set."""

    value: str
    label: str  # "OLLAMA_HOST", or "[providers.lmstudio] base_url"
    origin: Origin

    def where(self) -> str:
        return self.label if self.origin == ENVIRONMENT else f"{self.label} in {self.origin.place}"


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str  # as configured when `problem` is set, for display only
    key_env: str = ""  # empty: the provider needs no key
    headers: Mapping[str, str] = field(default_factory=dict)
    base_url_set_by: BaseUrlSetting | None = None  # None: sdx's built-in URL
    problem: str = ""  # why no request may use this provider ("" when it is usable)
    fix: str = ""

    @property
    def needs_key(self) -> bool:
        return bool(self.key_env)

    def check_usable(self) -> None:
        if self.problem:
            raise ConfigError(self.problem, self.fix)


@dataclass(frozen=True)
class Target:
    """Everything a request needs: where it goes, with which key, for which model."""

    name: str  # what the user typed (or the default), for messages
    provider: Provider
    model_id: str
    api_key: str
    price: tuple[float, float] | None = None  # the config file's [prices] entry: USD per million tokens in, out

    @property
    def spec(self) -> str:
        """`provider:model`, as `[prices]` names it."""
        return f"{self.provider.name}:{self.model_id}"

    @property
    def base_url(self) -> str:
        return self.provider.base_url


def _bracket_bare_ipv6(host: str) -> str:
    """`::1` -> `[::1]` (and `::1/v1` -> `[::1]/v1`), so that the address's colons are not read as a port."""
    address, slash, path = host.partition("/")
    return f"[{address}]{slash}{path}" if _is_ipv6(address) else host


def _split_url(url: str, *, host_required: bool = True) -> SplitResult:
    """`urlsplit`, plus the checks it leaves out; raises ValueError with the reason a person can act on."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        reason = "the port must be a number from 1 to 65535"
        if "IPv6" in str(exc):
            reason = "the brackets around the IPv6 address do not match"
        raise ValueError(reason) from exc
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"the scheme must be http or https, not {parts.scheme!r}")
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    hostname = parts.hostname or ""
    if not hostname and host_required:
        raise ValueError("there is no host name")
    if hostname and not HOSTNAME.fullmatch(hostname) and not _is_ipv6(hostname):
        raise ValueError(f"{hostname!r} is not a host name")
    return parts


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def is_local_host(hostname: str) -> bool:
    """localhost, or a loopback address: a server on this machine."""
    hostname = hostname.lower()
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    """Whether a base URL points at this machine (a local server: no proxy can reach it, one request at a time)."""
    return is_local_host(urlsplit(url).hostname or "")


def normalise_ollama_host(host: str) -> str:
    """`127.0.0.1:11434`, `gpu-box`, `::1`, `http://h:11434/` or `http://h:11434/v1` -> `http://h:11434/v1`.

    `0.0.0.0` and `::` are where Ollama listens, not addresses to call: they become `localhost`. Raises
    ValueError (with the reason) for a value that is no address.
    """
    host = host.strip() or OLLAMA_DEFAULT_HOST
    with_scheme = "://" in host  # `http://` alone names no machine; `:11434` is Ollama's own "this machine"
    if not with_scheme:
        host = "http://" + _bracket_bare_ipv6(host)
    parts = _split_url(host, host_required=with_scheme)
    hostname = parts.hostname or "localhost"
    if hostname in ("0.0.0.0", "::"):
        hostname = "localhost"
    if ":" in hostname:  # IPv6 literal
        hostname = f"[{hostname}]"
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return urlunsplit((parts.scheme, f"{hostname}:{port}", path, "", ""))


def normalise_base_url(url: str) -> str:
    """A provider's base URL, checked; `localhost:1234/v1` gets `http://` (a remote host must say which scheme).

    Raises ValueError (with the reason) for a value that is no usable URL.
    """
    url = url.strip()
    if "://" not in url:
        hostname = urlsplit("http://" + _bracket_bare_ipv6(url)).hostname or ""
        if not is_local_host(hostname):
            raise ValueError("it has no scheme (https:// or http://)")
        url = "http://" + _bracket_bare_ipv6(url)
    _split_url(url)
    return url.rstrip("/")


def base_url_setting(name: str, variable: str, config: Config) -> BaseUrlSetting | None:
    """The variable (environment or .env) first, then the config file: the README's order of precedence."""
    if variable and config.env.get(variable, "").strip():
        return BaseUrlSetting(config.env[variable], variable, config.origin_of(variable))
    spec = config.providers.get(name)
    if spec and spec.base_url:
        return BaseUrlSetting(spec.base_url, f"[providers.{name}] base_url", config.config_origin)
    return None


def with_base_url(base: Provider, setting: BaseUrlSetting | None, ollama: bool = False) -> Provider:
    """`base` sent to the URL `setting` names (normalised), or carrying the reason it cannot be."""
    if setting is None:
        return base
    try:
        url = normalise_ollama_host(setting.value) if ollama else normalise_base_url(setting.value)
    except ValueError as exc:
        return replace(
            base,
            base_url=setting.value,
            base_url_set_by=setting,
            problem=f"{setting.where()} is {setting.value!r}, which is not a usable address: {exc}",
            fix=f"write it like {OLLAMA_HOST_EXAMPLES if ollama else URL_EXAMPLES}",
        )
    return replace(base, base_url=url, base_url_set_by=setting)


def builtin_providers(config: Config) -> dict[str, Provider]:
    openrouter = Provider(
        "openrouter",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        {"X-Title": "sdx"},  # OpenRouter's app attribution
    )
    ollama = Provider("ollama", normalise_ollama_host(""))
    openai = Provider("openai", "https://api.openai.com/v1", "OPENAI_API_KEY")
    return {
        "openrouter": with_base_url(openrouter, base_url_setting("openrouter", "", config)),
        "ollama": with_base_url(ollama, base_url_setting("ollama", "OLLAMA_HOST", config), ollama=True),
        "openai": with_base_url(openai, base_url_setting("openai", "OPENAI_BASE_URL", config)),
    }


BUILTIN_PROVIDERS = ("openrouter", "ollama", "openai")

BUILTIN_ALIASES = {
    "gpt-4o-mini": "openrouter:openai/gpt-4o-mini",
    "llama3.2": "ollama:llama3.2",
}


def providers(config: Config) -> dict[str, Provider]:
    """Built-in providers, with the config file's `[providers.*]` tables added or laid over them.

    Never raises for a provider's own settings: a provider that cannot be used carries its `problem`.
    """
    result = builtin_providers(config)
    for name, spec in config.providers.items():
        if name in result:  # its base_url was taken into account by `base_url_setting`
            result[name] = replace(result[name], key_env=spec.key_env or result[name].key_env)
        elif spec.base_url:
            setting = BaseUrlSetting(spec.base_url, f"[providers.{name}] base_url", config.config_origin)
            result[name] = with_base_url(Provider(name, spec.base_url, spec.key_env), setting)
        else:
            result[name] = Provider(
                name,
                "",
                spec.key_env,
                problem=f"in {config.config_file}: [providers.{name}] has no base_url",
                fix='add base_url = "http://host:port/v1"',
            )
    return {name: refuse_untrusted_redirect(provider, config) for name, provider in result.items()}


def refuse_untrusted_redirect(provider: Provider, config: Config) -> Provider:
    """A provider whose key would go to a base URL set in a less trusted place than the key carries a problem.

    The only untrusted place is the working directory's `.env`: a URL set there may receive a key set in that
    same file, and no other.
    """
    setting = provider.base_url_set_by
    if provider.problem or setting is None or setting.origin.trusted or not provider.key_env:
        return provider
    key_origin = config.origin_of(provider.key_env)
    if not config.env.get(provider.key_env, "").strip() or key_origin == setting.origin:
        return provider
    return replace(
        provider,
        problem=f"refusing to send {provider.key_env} (from {key_origin.place}) to the {setting.label} "
        f"set in {setting.origin.place}",
        fix=f"remove {setting.label} from that file; if you trust that server, set {setting.label} in your "
        f"environment or in {config.home / '.env'}",
    )


def aliases(config: Config) -> dict[str, str]:
    return {**BUILTIN_ALIASES, **config.aliases}


def chosen_model_name(cli_model: str | None, config: Config) -> str:
    """`--model`, else `SDX_MODEL`, else the config file's default, else `gpt-4o-mini`."""
    return cli_model or config.env.get("SDX_MODEL") or config.default_model or DEFAULT_MODEL


def split_spec(spec: str) -> tuple[str, str]:
    """`ollama:qwen2.5:7b` -> (`ollama`, `qwen2.5:7b`): only the first colon separates."""
    provider, _, model = spec.partition(":")
    return provider, model


def alias_chain(name: str, known_aliases: Mapping[str, str], config: Config) -> list[str]:
    """`name` and every alias it leads to: `[fast, qwen, ollama:qwen2.5:7b]`. A loop is a ConfigError."""
    chain = [name]
    while chain[-1] in known_aliases:
        target = known_aliases[chain[-1]]
        if target in chain:
            loop = " → ".join([*chain[chain.index(target) :], target])
            raise ConfigError(
                f"the aliases form a loop: {loop}",
                f"in [aliases] of {config.config_file}, point one of them at provider:model",
            )
        chain.append(target)
    return chain


def resolve_spec(name: str, config: Config, known: Mapping[str, Provider]) -> tuple[Provider, str]:
    """The provider and model id a name leads to (through aliases), without looking at keys."""
    known_aliases = aliases(config)
    chain = alias_chain(name, known_aliases, config)
    provider_name, model_id = split_spec(chain[-1])
    provider = known.get(provider_name)
    if provider is not None and model_id:
        return provider, model_id
    if len(chain) > 1:
        raise broken_alias_error(chain, known, config)
    raise unknown_model_error(name, known_aliases, known)


def resolve(name: str, config: Config, *, key: bool = True) -> Target:
    """Turn a model name into a Target, or raise a ConfigError that says what to type instead. Without `key` (for
    what sends no request, like `batch --dry-run`), a missing key is no error and the Target carries none."""
    provider, model_id = resolve_spec(name, config, providers(config))
    provider.check_usable()
    price = config.prices.get(f"{provider.name}:{model_id}")
    api_key = api_key_for(provider, config) if key else ""
    return Target(name=name, provider=provider, model_id=model_id, api_key=api_key, price=price)


def broken_alias_error(chain: list[str], known: Mapping[str, Provider], config: Config) -> ConfigError:
    path = " → ".join(chain)
    provider_name, model_id = split_spec(chain[-1])
    fix = f"in [aliases] of {config.config_file}, point {chain[-2]!r} at provider:model"
    if not model_id:
        return ConfigError(f"alias {path}: {chain[-1]!r} is neither an alias nor provider:model", fix)
    return ConfigError(
        f"alias {path}: there is no provider {provider_name!r}", f"{fix} (known providers: {', '.join(known)})"
    )


def unknown_model_error(name: str, known_aliases: Mapping[str, str], known: Mapping[str, Provider]) -> ConfigError:
    """What to type instead of a name that is neither an alias nor `provider:model`: only real near matches."""
    provider_name, colon, model_id = name.partition(":")
    listing = "`sdx models` lists the aliases and providers"
    if colon and provider_name not in known:
        close = difflib.get_close_matches(provider_name, list(known), n=1, cutoff=0.6)
        fix = f"did you mean {close[0]}:{model_id}? " if close else f"the providers are {', '.join(known)}; "
        return ConfigError(f"unknown model {name!r}: there is no provider {provider_name!r}", fix + listing)
    if colon:
        return ConfigError(
            f"unknown model {name!r}: it names no model after {provider_name}:",
            f"e.g. {provider_name}:MODEL; {listing}",
        )
    if name in known:
        return ConfigError(
            f"unknown model {name!r}: {name} is a provider, not a model", f"name one of its models: {name}:MODEL"
        )
    close = difflib.get_close_matches(name, [alias for alias in known_aliases if alias != name], n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return ConfigError(f"unknown model {name!r}", f"{hint}{listing}, or use provider:model (e.g. ollama:{name})")


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
