"""Where settings come from: the command line, the environment, `.env` files, and the config file in the user dir.

Precedence for a variable: the real environment, then `./.env` (the working directory), then `<user dir>/.env`.
The `.env` files are read into a mapping, never into `os.environ`, so nothing leaks to child processes, and
without `${VAR}` interpolation, so a `.env` cannot copy a key into another variable (a URL, say).

Each variable's origin is kept beside the merged mapping: a key may only be sent to a base URL set in a place at
least as trusted as the key's (see `Origin`).
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdx.errors import ConfigError, UsageError

CONFIG_FILE_NAME = "config.toml"
DEFAULT_TIMEOUT = 60.0
MAX_TIMEOUT = 86400.0  # a day; larger values overflow the socket layer's clock
DEFAULT_MAX_INPUT_KB = 512
MAX_INPUT_KB = 65536  # 64 MB: far above any model's context window (about 8 MB of text at 2M tokens)


@dataclass(frozen=True)
class Origin:
    """Where a setting came from. Untrusted: the working directory's `.env`, which any checkout can carry.

    Trusted: sdx's built-in values, the command line, the environment and the user dir (its config.toml and .env).
    """

    place: str  # for messages: "the environment", or a file's path
    trusted: bool = True


ENVIRONMENT = Origin("the environment")


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the config file declares it (fields left empty fall back to built-in values)."""

    name: str
    base_url: str = ""
    key_env: str = ""


@dataclass(frozen=True)
class Config:
    env: Mapping[str, str]  # the merged variables (environment over ./.env over <user dir>/.env)
    home: Path
    default_model: str = ""
    grader_model: str = ""  # the model that grades interviews and reviews; "": the interview's own
    timeout: float = DEFAULT_TIMEOUT
    max_input_kb: int = DEFAULT_MAX_INPUT_KB
    log: bool = True  # store turns in the history database
    context_tokens: int | None = None  # the budget for a follow-up's messages; None: by provider (sdx.turn)
    max_tokens: int | None = None  # each answer's cap; --max-tokens wins; None: the server's own limit
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # provider:model -> USD per 1M in, out
    env_origins: Mapping[str, Origin] = field(default_factory=dict)  # variables from a .env file; others: environment

    @property
    def config_file(self) -> Path:
        return self.home / CONFIG_FILE_NAME

    @property
    def config_origin(self) -> Origin:
        return Origin(str(self.config_file))

    def origin_of(self, variable: str) -> Origin:
        """Where `variable`'s value in `env` came from."""
        return self.env_origins.get(variable, ENVIRONMENT)


def user_dir(environ: Mapping[str, str]) -> Path:
    """The user dir: `SDX_HOME`, else `$XDG_CONFIG_HOME/sdx`, else `~/.config/sdx` (from the environment only)."""
    if environ.get("SDX_HOME"):
        return Path(environ["SDX_HOME"]).expanduser()
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"]).expanduser() / "sdx"
    return Path.home() / ".config" / "sdx"


def decode_text(data: bytes) -> str:
    """UTF-8 (a byte-order mark is dropped), or UTF-16 with a byte-order mark (PowerShell's `>` writes that);
    raises UnicodeDecodeError for anything else."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def decode_text_file(data: bytes, path: Path) -> str:
    """The text of a settings file (`decode_text`); a ConfigError naming the file when it is not text."""
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (bad byte at offset {exc.start})",
            "save it as UTF-8 (PowerShell: Set-Content -Encoding utf8)",
        ) from exc


def read_text_file(path: Path) -> str | None:
    """The file's text, None when there is no such file; unreadable or undecodable files are a ConfigError."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "fix its permissions or remove it") from exc
    return decode_text_file(data, path)


def read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    text = read_text_file(path) or ""
    from dotenv.parser import parse_stream  # only paid for when a .env exists

    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):  # no ${VAR} interpolation: values are taken as written
        if binding.error:
            _warn(f"sdx: warning: line {binding.original.line} of {path} is not NAME=value; it was ignored")
        elif binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
    return values


def _warn(line: str) -> None:
    from sdx.environment import current

    print(line, file=current().stderr, flush=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def merged_env(environ: Mapping[str, str], home: Path, cwd: Path) -> tuple[dict[str, str], dict[str, Origin]]:
    """The variables sdx sees, and for each one read from a `.env` file, that file as its origin."""
    env: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    files = [(home / ".env", True)]
    if not _same_file(cwd / ".env", home / ".env"):
        files.append((cwd / ".env", False))
    for path, trusted in files:  # least precedence first
        values = read_env_file(path)
        env.update(values)
        origins.update(dict.fromkeys(values, Origin(str(path), trusted)))
    env.update(environ)
    for name in environ:
        origins.pop(name, None)
    return env, origins


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib.loads(text)


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    text = read_text_file(path) or ""
    try:
        return _toml_loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError: "... (at line 3, column 7)"
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", "fix that line") from exc


def _expect(value: Any, kind: type | tuple[type, ...], where: str, path: Path) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(
            f"in {path}: {where} must be {_kind_in_words(kind)}", "see the README's Configuration section"
        )
    return value


_KIND_WORDS = {int: "a whole number", float: "a number", str: "text in quotes", bool: "true or false", dict: "a table"}


def _kind_in_words(kind: type | tuple[type, ...]) -> str:
    """`int` as "a whole number", `(int, float)` as "a number": what a TOML value must be, in plain words."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "a number"
    return " or ".join(_KIND_WORDS.get(k, k.__name__) for k in kinds)


def timeout_problem(seconds: float) -> str:
    """Why `seconds` cannot be a timeout, or "" when it can."""
    if math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT:
        return ""
    return f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:.0f} (got {seconds:g})"


def max_input_kb_problem(kb: int) -> str:
    """Why `kb` cannot be the input limit, or "" when it can."""
    if 1 <= kb <= MAX_INPUT_KB:
        return ""
    return f"must be a whole number of KB from 1 to {MAX_INPUT_KB} (got {kb})"


def check_timeout_option(value: float | None) -> float | None:
    """`--timeout`'s validator (a Typer callback): a usage error for values that cannot be a timeout."""
    if value is not None and (problem := timeout_problem(value)):
        raise UsageError(f"--timeout {problem}", "e.g. --timeout 300 for a slow local model")
    return value


def max_tokens_problem(tokens: int) -> str:
    """Why `tokens` cannot cap an answer, or "" when it can: the answer needs room for at least one token."""
    return "" if tokens >= 1 else f"must be at least 1 (got {tokens})"


def check_max_tokens_option(value: int | None) -> int | None:
    """`--max-tokens`' validator (a Typer callback)."""
    if value is not None and (problem := max_tokens_problem(value)):
        raise UsageError(f"--max-tokens {problem}", "e.g. --max-tokens 2000, or leave it out")
    return value


def check_max_cost_option(value: float | None) -> float | None:
    """`--max-cost`' validator (a Typer callback): a number of US dollars above 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise UsageError(f"--max-cost must be a number of USD above 0 (got {value:g})", "e.g. --max-cost 0.50")
    return value


def _setting_error(path: Path, name: str, problem: str, example: str) -> ConfigError:
    return ConfigError(f"in {path}: {name} {problem}", f"e.g. {name} = {example}, or remove the line")


def parse_config(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Validate the config file's tables into the keyword arguments of `Config`."""
    known = {
        "default_model",
        "grader_model",
        "timeout",
        "max_input_kb",
        "max_tokens",
        "log",
        "context_tokens",
        "providers",
        "aliases",
        "prices",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"in {path}: unknown setting {unknown[0]!r}", f"known settings: {', '.join(sorted(known))}")
    out: dict[str, Any] = {}
    if "default_model" in data:
        out["default_model"] = _expect(data["default_model"], str, "default_model", path)
    if "grader_model" in data:
        out["grader_model"] = _expect(data["grader_model"], str, "grader_model", path)
    if "timeout" in data:
        out["timeout"] = float(_expect(data["timeout"], (int, float), "timeout", path))
        if problem := timeout_problem(out["timeout"]):
            raise _setting_error(path, "timeout", problem, "300")
    if "max_input_kb" in data:
        out["max_input_kb"] = _expect(data["max_input_kb"], int, "max_input_kb", path)
        if problem := max_input_kb_problem(out["max_input_kb"]):
            raise _setting_error(path, "max_input_kb", problem, str(DEFAULT_MAX_INPUT_KB))
    if "max_tokens" in data:
        out["max_tokens"] = _expect(data["max_tokens"], int, "max_tokens", path)
        if problem := max_tokens_problem(out["max_tokens"]):
            raise _setting_error(path, "max_tokens", problem, "4000")
    if "log" in data:
        out["log"] = _expect(data["log"], bool, "log", path)
    if "context_tokens" in data:
        out["context_tokens"] = _expect(data["context_tokens"], int, "context_tokens", path)
        if not 1_000 <= out["context_tokens"] <= 10_000_000:
            problem = f"must be a whole number of tokens from 1000 to 10000000 (got {out['context_tokens']})"
            raise _setting_error(path, "context_tokens", problem, "32000")
    out["providers"] = _parse_providers(data.get("providers", {}), path)
    aliases = _expect(data.get("aliases", {}), dict, "[aliases]", path)
    out["aliases"] = {k: _expect(v, str, f"aliases.{k}", path) for k, v in aliases.items()}
    out["prices"] = _parse_prices(data.get("prices", {}), path)
    return out


PRICE_EXAMPLE = '[prices."lmstudio:qwen2.5-7b"] with input = 0.15 and output = 0.60 (USD per million tokens)'


def _parse_prices(tables: Any, path: Path) -> dict[str, tuple[float, float]]:
    """`[prices."provider:model"]` tables of `input` and `output`: USD per million tokens, 0 or more."""
    prices = {}
    for name, table in _expect(tables, dict, "[prices]", path).items():
        where = f'[prices."{name}"]'
        if not isinstance(table, dict) or ":" not in name:
            raise ConfigError(f"in {path}: {where} must be a table named provider:model", f"write {PRICE_EXAMPLE}")
        extra, missing = sorted(set(table) - {"input", "output"}), sorted({"input", "output"} - set(table))
        if extra or missing:
            problem = f"has unknown key {extra[0]!r}" if extra else f"has no {missing[0]}"
            raise ConfigError(f"in {path}: {where} {problem}", f"write {PRICE_EXAMPLE}")
        values = []
        for side in ("input", "output"):
            value = table[side]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(
                    f"in {path}: {where} {side} must be a number of USD per million tokens, 0 or more (got {value!r})",
                    f"write {PRICE_EXAMPLE}",
                )
            values.append(float(value))
        prices[name] = (values[0], values[1])
    return prices


def _parse_providers(tables: Any, path: Path) -> dict[str, ProviderSpec]:
    providers = {}
    for name, table in _expect(tables, dict, "[providers]", path).items():
        _expect(table, dict, f"[providers.{name}]", path)
        extra = sorted(set(table) - {"base_url", "key_env"})
        if extra:
            raise ConfigError(f"in {path}: [providers.{name}] has unknown key {extra[0]!r}", "use base_url and key_env")
        providers[name] = ProviderSpec(
            name=name,
            base_url=_expect(table.get("base_url", ""), str, f"providers.{name}.base_url", path),
            key_env=_expect(table.get("key_env", ""), str, f"providers.{name}.key_env", path),
        )
    return providers


def load_config(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    from sdx.environment import current

    environ = current().environ if environ is None else environ
    home = user_dir(environ)
    env, origins = merged_env(environ, home, cwd or current().cwd)
    path = home / CONFIG_FILE_NAME
    return Config(env=env, home=home, env_origins=origins, **parse_config(read_config_file(path), path))
