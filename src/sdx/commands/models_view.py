"""`sdx models`: what each alias maps to, which keys are set (never their values), which local models exist."""

from __future__ import annotations

from typing import Any

from sdx.config import Config
from sdx.model.probe import probe
from sdx.model.registry import aliases, chosen_model_name, providers, split_spec


def key_present(provider_key_env: str, config: Config) -> bool | None:
    """True/False for a provider that needs a key; None for a keyless one."""
    if not provider_key_env:
        return None
    return bool(config.env.get(provider_key_env, "").strip())


def models_report(config: Config) -> dict[str, Any]:
    known = providers(config)
    provider_rows = []
    for provider in known.values():
        row: dict[str, Any] = {
            "name": provider.name,
            "base_url": provider.base_url,
            "key_env": provider.key_env or None,
            "key_present": key_present(provider.key_env, config),
        }
        if provider.name == "ollama":
            result = probe(provider)
            row["reachable"] = result.reachable
            row["models"] = result.models
        provider_rows.append(row)
    alias_rows = []
    for name, spec in aliases(config).items():
        provider_name, model_id = split_spec(spec)
        provider = known.get(provider_name)
        alias_rows.append(
            {
                "alias": name,
                "provider": provider_name,
                "model_id": model_id,
                "base_url": provider.base_url if provider else None,
                "key_present": key_present(provider.key_env, config) if provider else None,
            }
        )
    return {"default": chosen_model_name(None, config), "aliases": alias_rows, "providers": provider_rows}


def _key_cell(present: bool | None, key_env: str | None = None) -> str:
    if present is None:
        return "not needed"
    return f"{key_env} set" if present and key_env else ("set" if present else f"missing {key_env or ''}".strip())


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
            row["alias"] + marker,
            row["provider"],
            row["model_id"],
            row["base_url"] or "unknown provider",
            _key_cell(row["key_present"]),
        )
    providers_table = Table(title="Providers", title_justify="left")
    for column in ("provider", "base URL", "key", "status"):
        providers_table.add_column(column, overflow="fold")
    for row in report["providers"]:
        status = ""
        if "reachable" in row:
            pulled = ", ".join(row["models"]) or "no models pulled"
            status = f"running: {pulled}" if row["reachable"] else "not running (ollama serve)"
        providers_table.add_row(row["name"], row["base_url"], _key_cell(row["key_present"], row["key_env"]), status)
    console.print(aliases_table)
    console.print(providers_table)
    console.print("Any model: --model provider:model, e.g. ollama:qwen2.5:7b", style="dim")
