"""`sdx doctor`: check the config file, the keys (never their values) and every usable provider."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sdx.commands.models_view import key_present
from sdx.config import load_config
from sdx.environment import current
from sdx.errors import ExitStatus, SdxError
from sdx.model.client_errors import PROXY_VARIABLES, socks_missing, status_failure
from sdx.model.probe import probe
from sdx.model.registry import Provider, chosen_model_name, is_loopback, providers, resolve
from sdx.terminal.render import fit_to_encoding


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""
    status: ExitStatus = ExitStatus.OK

    def line(self, marks: tuple[str, str] = ("✓", "✗")) -> str:
        """The check as doctor prints it, after `marks[0]` when it passed and `marks[1]` when it failed."""
        return f"{marks[not self.ok]} {self.what}" + (f" — {self.fix}" if self.fix and not self.ok else "")


ASCII_MARKS = ("ok", "FAIL")  # for a terminal that cannot show ✓ and ✗: one stand-in for both would hide failures


def missing_socks_support(provider: Provider, environ: Mapping[str, str]) -> Check | None:
    """A SOCKS proxy in the environment that `sdx ask` could not use (doctor's probe does not go through it)."""
    if is_loopback(provider.base_url) or not any(
        environ.get(name, "").lower().startswith("socks") for name in PROXY_VARIABLES
    ):
        return None
    try:
        import socksio  # noqa: F401
    except ImportError as exc:
        failure = socks_missing(exc, environ)
        return Check(False, f"{provider.name}: {failure.what}", failure.fix, failure.status)
    return None


def check_provider(provider: Provider, key: str, environ: Mapping[str, str]) -> Check:
    socks = missing_socks_support(provider, environ)
    if socks is not None:
        return socks
    result = probe(provider, key, timeout=3.0)
    if not result.reachable:
        fix = "start it with `ollama serve` or set OLLAMA_HOST" if provider.name == "ollama" else "is it running?"
        return Check(False, f"{provider.name}: {result.problem}", fix, ExitStatus.NETWORK)
    if result.status is not None and result.status >= 400:  # the same table as `sdx ask` failures
        failure = status_failure(result.status, result.message, provider, result.url, html=result.html)
        return Check(False, failure.what, failure.fix, failure.status)
    if result.problem:
        return Check(
            False,
            f"{provider.name}: {result.problem}",
            "check the base URL: OpenAI-compatible servers usually end in /v1",
            ExitStatus.CONFIG,
        )
    listed = ", ".join(result.models[:8]) + (" …" if len(result.models) > 8 else "")
    return Check(True, f"{provider.name} answers at {provider.base_url} ({listed or 'no models listed'})")


def run_checks(environ: Mapping[str, str]) -> tuple[list[Check], ExitStatus]:
    try:
        config = load_config(environ)
    except SdxError as exc:
        return [Check(False, exc.what, exc.fix, exc.status)], exc.status
    checks = [
        Check(
            True,
            f"config file {config.config_file}"
            if config.config_file.is_file()
            else f"no config file at {config.config_file} (optional)",
        )
    ]
    by_provider: dict[str, Check] = {}
    for provider in providers(config).values():
        present = key_present(provider.key_env, config)
        if provider.problem:  # an unusable address, or a key that must not go there: never probed
            by_provider[provider.name] = Check(
                False, f"{provider.name}: {provider.problem}", provider.fix, ExitStatus.CONFIG
            )
        elif present is False:
            by_provider[provider.name] = Check(
                False,
                f"{provider.name}: {provider.key_env} is not set",
                "export it or add it to .env (only needed to use this provider)",
                ExitStatus.CONFIG,
            )
        else:
            by_provider[provider.name] = check_provider(provider, config.env.get(provider.key_env, ""), environ)
    checks += by_provider.values()
    name = chosen_model_name(None, config)
    try:
        target = resolve(name, config)
    except SdxError as exc:
        checks.append(Check(False, f"default model {name}: {exc.what}", exc.fix, exc.status))
        return checks, exc.status
    ready = by_provider[target.provider.name]
    checks.append(
        Check(
            ready.ok,
            f"default model {name} → {target.provider.name}:{target.model_id}",
            "see above",
            ready.status,
        )
    )
    return checks, ExitStatus.OK if ready.ok else ready.status


def checks_json(checks: list[Check], status: ExitStatus) -> str:
    """The checks for scripts: each one's outcome, sentence, fix and exit code, and the exit code doctor ends with."""
    items = [
        {"ok": check.ok, "what": check.what, "fix": check.fix or None, "status": int(check.status)} for check in checks
    ]
    return json.dumps({"ok": status == ExitStatus.OK, "status": int(status), "checks": items}, indent=2) + "\n"


def run_doctor(environ: Mapping[str, str], as_json: bool = False) -> int:
    checks, status = run_checks(environ)
    stdout = current().stdout
    if as_json:
        stdout.write(checks_json(checks, status))
        return int(status)
    encoding = getattr(stdout, "encoding", None)
    marks = ("✓", "✗") if fit_to_encoding("✓✗", encoding) == "✓✗" else ASCII_MARKS
    for check in checks:
        print(fit_to_encoding(check.line(marks), encoding), file=stdout)  # "—" as "-", "→" as "->", "…" as "..."
    return int(status)
