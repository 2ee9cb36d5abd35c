"""The command line: parse, dispatch, and the one boundary that turns failures into a sentence and an exit code."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from sdx import __version__
from sdx.config import load_config
from sdx.domain import prompts
from sdx.errors import ExitStatus, SdxError, redact
from sdx.model import debug as sdx_debug

app = typer.Typer(
    name="sdx",
    help="A system design interview expert in your terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: typer's rich help imports rich.markdown, 50+ ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"sdx {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and the HTTP exchange (keys redacted).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Ask system design questions; answers stream in as rendered Markdown."""
    if debug or os.environ.get("SDX_DEBUG", "") not in ("", "0"):
        sdx_debug.enable()


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question. Piped stdin becomes extra context (or the question).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Alias or provider:model (see `sdx models`).")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", "-c", help='Constraints, e.g. "50M DAU, global".')] = None,
    example: Annotated[
        int | None, typer.Option("--example", "-e", help="Ask built-in example N (see `sdx examples`).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also save the answer's Markdown to this file.")
    ] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print raw Markdown even on a terminal.")] = False,
    stream: Annotated[
        bool, typer.Option("--stream/--no-stream", help="Stream tokens as they arrive, or wait for all.")
    ] = True,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds to wait for a response or the next chunk.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Cap the answer's length.")] = None,
) -> None:
    """Ask a system design question and stream the answer."""
    from sdx.commands.ask import AskOptions, run_ask

    options = AskOptions(question, context, example, model, output, raw, stream, timeout, max_tokens)
    stdin = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer
    try:
        run_ask(options, load_config(), stdin)
    except BrokenPipeError:
        _quiet_broken_pipe()


@app.command()
def examples() -> None:
    """List the built-in example questions (use one with `sdx ask --example N`)."""
    for number, text in enumerate(prompts.EXAMPLES, start=1):
        print(f"{number:>2}. {text}")


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List model aliases and providers, whether their keys are set, and which local models exist."""
    from sdx.commands.models_view import models_report, print_models

    report = models_report(load_config())
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print_models(report)


@app.command()
def doctor() -> None:
    """Check the config file, keys and providers, and say how to fix what fails."""
    from sdx.commands.doctor import run_doctor

    raise typer.Exit(run_doctor(os.environ))


def main() -> None:
    """Entry point: the single error boundary."""
    try:
        app(prog_name="sdx")
    except SdxError as exc:
        _print_traceback_if_debugging()
        print(exc.line(), file=sys.stderr)
        sys.exit(exc.status)
    except Exception as exc:
        _print_traceback_if_debugging()
        message = redact(f"sdx: error: unexpected {type(exc).__name__}: {exc} — rerun with --debug and report it")
        print(message, file=sys.stderr)
        sys.exit(ExitStatus.ERROR)


def _print_traceback_if_debugging() -> None:
    if sdx_debug.enabled():
        import traceback

        print(redact(traceback.format_exc()), file=sys.stderr, end="")


def _quiet_broken_pipe() -> None:
    """The reader went away (`sdx ask … | head`): stop quietly; silence the flush at interpreter exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise typer.Exit(ExitStatus.OK)
