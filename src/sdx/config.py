"""Where settings come from: the environment, `.env` files, and the TOML config file in the user dir.

Precedence for a variable: the real environment, then `./.env` (the working directory), then `<user dir>/.env`.
The `.env` files are read into a mapping, never into `os.environ`, so nothing leaks to child processes.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdx.errors import ConfigError

CONFIG_FILE_NAME = "config.toml"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_INPUT_KB = 512


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the config file declares it (fields left empty fall back to built-in values)."""

    name: str
    base_url: str = ""
    key_env: str = ""


@dataclass(frozen=True)
class Config:
    env: Mapping[str, str]
    home: Path
    default_model: str = ""
    timeout: float = DEFAULT_TIMEOUT
    max_input_kb: int = DEFAULT_MAX_INPUT_KB
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.home / CONFIG_FILE_NAME


def user_dir(environ: Mapping[str, str]) -> Path:
    """The user dir: `SDX_HOME`, else `$XDG_CONFIG_HOME/sdx`, else `~/.config/sdx`."""
    if environ.get("SDX_HOME"):
        return Path(environ["SDX_HOME"]).expanduser()
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"]).expanduser() / "sdx"
    return Path.home() / ".config" / "sdx"


def read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # only paid for when a .env exists

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def merged_env(environ: Mapping[str, str], home: Path, cwd: Path) -> dict[str, str]:
    env = read_env_file(home / ".env")
    env.update(read_env_file(cwd / ".env"))
    env.update(environ)
    return env


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib.loads(text)


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return _toml_loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text", "save it as UTF-8") from exc
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError: "... (at line 3, column 7)"
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", "fix that line") from exc


def _expect(value: Any, kind: type | tuple[type, ...], where: str, path: Path) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"in {path}: {where} must be a {names}", "see the README's Configuration section")
    return value


def parse_config(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Validate the config file's tables into the keyword arguments of `Config`."""
    known = {"default_model", "timeout", "max_input_kb", "providers", "aliases"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"in {path}: unknown setting {unknown[0]!r}", f"known settings: {', '.join(sorted(known))}")
    out: dict[str, Any] = {}
    if "default_model" in data:
        out["default_model"] = _expect(data["default_model"], str, "default_model", path)
    if "timeout" in data:
        out["timeout"] = float(_expect(data["timeout"], (int, float), "timeout", path))
    if "max_input_kb" in data:
        out["max_input_kb"] = _expect(data["max_input_kb"], int, "max_input_kb", path)
    providers = _expect(data.get("providers", {}), dict, "[providers]", path)
    out["providers"] = {}
    for name, table in providers.items():
        _expect(table, dict, f"[providers.{name}]", path)
        extra = sorted(set(table) - {"base_url", "key_env"})
        if extra:
            raise ConfigError(f"in {path}: [providers.{name}] has unknown key {extra[0]!r}", "use base_url and key_env")
        out["providers"][name] = ProviderSpec(
            name=name,
            base_url=_expect(table.get("base_url", ""), str, f"providers.{name}.base_url", path),
            key_env=_expect(table.get("key_env", ""), str, f"providers.{name}.key_env", path),
        )
    aliases = _expect(data.get("aliases", {}), dict, "[aliases]", path)
    out["aliases"] = {k: _expect(v, str, f"aliases.{k}", path) for k, v in aliases.items()}
    return out


def load_config(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    from sdx.environment import current

    environ = current().environ if environ is None else environ
    home = user_dir(environ)
    env = merged_env(environ, home, cwd or current().cwd)
    path = home / CONFIG_FILE_NAME
    return Config(env=env, home=home, **parse_config(read_config_file(path), path))
