"""`sdx models`: what each alias maps to, which keys are set (never their values), which local models exist."""

from __future__ import annotations

from typing import Any

from sdx.config import Config
from sdx.errors import ConfigError
from sdx.model.probe import ProbeResult, probe
from sdx.model.registry import BUILTIN_PROVIDERS, Provider, aliases, chosen_model_name, providers, resolve_spec


def key_present(provider_key_env: str, config: Config) -> bool | None:
    """True/False for a provider that needs a key; None for a keyless one."""
    if not provider_key_env:
        return None
    return bool(config.env.get(provider_key_env, "").strip())


def provider_row(provider: Provider, config: Config) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": provider.name,
        "base_url": provider.base_url,
        "key_env": provider.key_env or None,
        "key_present": key_present(provider.key_env, config),
        "problem": provider.problem or None,
    }
    if provider.problem:
        return row
    if provider.name == "ollama":
        result = probe(provider)
        row["reachable"] = result.reachable
        row["models"] = result.models
    elif provider.name not in BUILTIN_PROVIDERS:  # a server of the user's: what its /models serves, as doctor says
        present = key_present(provider.key_env, config)
        result = probe(provider, config.env.get(provider.key_env, "") if present else "")
        row["reachable"] = result.reachable
        row["models"] = result.models
        row["status"] = probe_problem(result, provider) or None
    return row


def probe_problem(result: ProbeResult, provider: Provider) -> str:
    """Why a probed server serves no model list, in the words `sdx doctor` and `sdx ask` use ("" when it does)."""
    if result.status is not None and result.status >= 400:
        from sdx.model.client_errors import status_failure

        return status_failure(result.status, result.message, provider, result.url, html=result.html).what
    return result.problem


def alias_row(name: str, known: dict[str, Provider], config: Config) -> dict[str, Any]:
    """What an alias leads to (through other aliases), or why it leads nowhere."""
    try:
        provider, model_id = resolve_spec(name, config, known)
    except ConfigError as exc:
        return {
            "alias": name,
            "provider": None,
            "model_id": None,
            "base_url": None,
            "key_present": None,
            "problem": exc.what,
        }
    return {
        "alias": name,
        "provider": provider.name,
        "model_id": model_id,
        "base_url": provider.base_url,
        "key_present": key_present(provider.key_env, config),
        "problem": provider.problem or None,
    }


def models_report(config: Config) -> dict[str, Any]:
    known = providers(config)
    return {
        "default": chosen_model_name(None, config),
        "aliases": [alias_row(name, known, config) for name in aliases(config)],
        "providers": [provider_row(provider, config) for provider in known.values()],
    }


def _key_cell(present: bool | None, key_env: str | None = None) -> str:
    if present is None:
        return "not needed"
    return f"{key_env} set" if present and key_env else ("set" if present else f"missing {key_env or ''}".strip())


def _cells(*values: str) -> list[Any]:
    """Table cells as plain text: `[providers.x]` or `[::1]` must not be read as Rich markup, and a value from
    a `.env` file must not reach the terminal with its escape sequences."""
    from rich.text import Text

    from sdx.terminal.render import sanitize_for_terminal

    return [Text(sanitize_for_terminal(value)) for value in values]


def print_models(report: dict[str, Any]) -> None:
    from rich.table import Table

    from sdx.terminal.render import console as make_console

    console = make_console()
    aliases_table = Table(title="Aliases", title_justify="left")
    for column in ("alias", "provider", "model id", "base URL", "key"):
        aliases_table.add_column(column, overflow="fold")
    for row in report["aliases"]:
        marker = " (default)" if row["alias"] == report["default"] else ""
        aliases_table.add_row(
            *_cells(
                row["alias"] + marker,
                row["provider"] or "",
                row["model_id"] or "",
                row["problem"] or row["base_url"],
                _key_cell(row["key_present"]) if row["provider"] else "",
            )
        )
    providers_table = Table(title="Providers", title_justify="left")
    for column in ("provider", "base URL", "key", "status"):
        providers_table.add_column(column, overflow="fold")
    for row in report["providers"]:
        status = row["problem"] or ""
        if row.get("status"):
            status = row["status"]
        elif "reachable" in row and row["name"] not in BUILTIN_PROVIDERS:
            status = f"serving: {', '.join(row['models']) or 'no models listed'}"
        elif "reachable" in row:
            pulled = ", ".join(row["models"]) or "no models pulled"
            status = f"running: {pulled}" if row["reachable"] else "not running (ollama serve)"
        providers_table.add_row(
            *_cells(row["name"], row["base_url"], _key_cell(row["key_present"], row["key_env"]), status)
        )
    console.print(aliases_table)
    console.print(providers_table)
    console.print("Any model: --model provider:model, e.g. ollama:qwen2.5:7b", style="dim")
