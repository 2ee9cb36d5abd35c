"""The command line: parse, dispatch, and the one boundary that turns failures into a sentence and an exit code.

No `from __future__ import annotations` here: typer reads every command's signature at each start, and string
annotations would be compiled and evaluated one by one (about 20 ms of every command's start-up).
"""

import errno
import gc
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sdx import DISTRIBUTION, __version__
from sdx.config import check_max_cost_option, check_max_tokens_option, check_timeout_option, load_config
from sdx.environment import Environment, current, installed, readable_arguments
from sdx.errors import ExitStatus, SdxError, Terminated, redact
from sdx.model import debug as sdx_debug

app = typer.Typer(
    name="sdx",
    help="A system design interview expert in your terminal.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: typer's rich help imports rich.markdown, 50+ ms of start-up
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Options that several commands share, spelled once.
ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="Alias or provider:model (see `sdx models`).")]
GraderModelOption = Annotated[
    str | None,
    typer.Option("--grader-model", help="Grade with this model (default: grader_model in the config file, else -m)."),
]
RawOption = Annotated[bool, typer.Option("--raw", help="Print raw Markdown even on a terminal.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", callback=check_timeout_option, help="Seconds to wait for a response or the next chunk."),
]
MaxTokensOption = Annotated[
    int | None, typer.Option("--max-tokens", callback=check_max_tokens_option, help="Cap each answer's length.")
]
ContinueOption = Annotated[
    bool, typer.Option("--continue", "-C", help="Continue the most recent conversation, with its model.")
]
CidOption = Annotated[str | None, typer.Option("--cid", help="Continue conversation ID (a unique prefix is enough).")]
SharedContextOption = Annotated[
    str | None, typer.Option("--context", "-c", help='Constraints added to every question, e.g. "50M DAU".')
]


def output_path_option(value: str | None) -> Path | None:
    """`-o FILE` as a path; `-o ""` is refused here (as a Path it would quietly become the directory ".")."""
    if value is None:
        return None
    if not value.strip():
        raise typer.BadParameter("needs a file name (-o notes.md)")
    return Path(value)


def log_option(what: str) -> Any:
    return typer.Option("--log/--no-log", help=f"Store {what} in history (default: yes).")


def version_line() -> str:
    """As `pip --version` does: the version, where it runs from, the distribution, Python and the platform."""
    import platform

    where = Path(__file__).resolve().parent
    python = platform.python_version()
    return f"sdx {__version__} from {where} ({DISTRIBUTION}, Python {python}, {platform.system()} {platform.machine()})"


def _version(value: bool) -> None:
    if value:
        print(version_line())
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
    sdx_debug.set_enabled(debug or current().environ.get("SDX_DEBUG", "") not in ("", "0"))


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question. Piped stdin becomes extra context (or the question).")
    ] = None,
    model: ModelOption = None,
    context: Annotated[str | None, typer.Option("--context", "-c", help='Constraints, e.g. "50M DAU, global".')] = None,
    example: Annotated[
        int | None, typer.Option("--example", "-e", help="Ask built-in example N (see `sdx examples`).")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", callback=output_path_option, help="Also save the answer's Markdown to this file."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Let -o replace an existing file.")] = False,
    raw: RawOption = False,
    stream: Annotated[
        bool, typer.Option("--stream/--no-stream", help="Stream tokens as they arrive, or wait for all.")
    ] = True,
    timeout: TimeoutOption = None,
    max_tokens: MaxTokensOption = None,
    continue_last: ContinueOption = False,
    cid: CidOption = None,
    log: Annotated[bool, log_option("this turn")] = True,
    read_stdin: Annotated[
        bool, typer.Option("--stdin/--no-stdin", help="Read piped stdin as context (default), or never read it.")
    ] = True,
    estimate: Annotated[
        bool,
        typer.Option("--estimate/--no-estimate", help="Compute capacity figures from the stated scale (default: yes)."),
    ] = True,
) -> None:
    """Ask a system design question and stream the answer."""
    from sdx.commands.ask import AskOptions, run_ask

    options = AskOptions(
        question,
        context,
        example,
        model,
        output,
        raw,
        stream,
        timeout,
        max_tokens,
        continue_last=continue_last,
        conversation_id=cid,
        log=log,
        read_stdin=read_stdin,
        estimate=estimate,
        force=force,
    )
    env = current()
    stdin = None if env.stdin is None or env.stdin_isatty else env.stdin
    run_ask(options, load_config(), stdin)


@app.command()
def chat(
    question: Annotated[str | None, typer.Argument(help="The first question (optional).")] = None,
    model: ModelOption = None,
    context: SharedContextOption = None,
    continue_last: ContinueOption = False,
    cid: CidOption = None,
    log: Annotated[bool, log_option("the turns")] = True,
    raw: RawOption = False,
    timeout: TimeoutOption = None,
    max_tokens: MaxTokensOption = None,
    estimate: Annotated[
        bool,
        typer.Option("--estimate/--no-estimate", help="Compute capacity figures from the stated scale (default: yes)."),
    ] = True,
) -> None:
    """Talk it through: an interactive, multi-turn conversation (from a pipe: one message per line)."""
    from sdx.commands.chat import ChatOptions, run_chat

    options = ChatOptions(question, model, context, continue_last, cid, log, raw, timeout, max_tokens, estimate)
    code = run_chat(options, load_config())
    raise typer.Exit(code)


@app.command()
def batch(
    source: Annotated[
        str | None, typer.Argument(metavar="FILE", help="Questions, one a line (or between --- lines); - for stdin.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The directory for the answers and index.md.")] = None,
    examples: Annotated[bool, typer.Option("--examples", help="Answer every built-in example question.")] = False,
    model: ModelOption = None,
    context: SharedContextOption = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", help="Requests at once (default 4; 1 for a local server).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Ask again questions already answered.")] = False,
    log: Annotated[bool, log_option("the answers")] = True,
    timeout: TimeoutOption = None,
    max_tokens: MaxTokensOption = None,
    estimate: Annotated[
        bool,
        typer.Option("--estimate/--no-estimate", help="Compute capacity figures from the stated scale (default: yes)."),
    ] = True,
    html: Annotated[
        bool, typer.Option("--html", help="Also an HTML page beside each answer (diagrams drawn, self-contained).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the questions it would ask and what they may cost; send nothing.")
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            metavar="USD",
            callback=check_max_cost_option,
            help="Start no question once the spend so far plus what is in flight could pass USD.",
        ),
    ] = None,
) -> None:
    """Answer a list of questions into a directory of Markdown files: concurrent, resumable, with progress."""
    from sdx.commands.batch import BatchOptions, run_batch

    options = BatchOptions(
        source,
        examples,
        out,
        model,
        context,
        concurrency,
        force,
        log,
        timeout,
        max_tokens,
        estimate=estimate,
        html=html,
        dry_run=dry_run,
        max_cost=max_cost,
    )
    env = current()
    run_batch(options, load_config(), None if env.stdin is None else env.stdin)


@app.command()
def examples(
    topic: Annotated[
        str | None, typer.Option("--topic", help="Only questions on this topic: storage, caching, real-time, …")
    ] = None,
    level: Annotated[str | None, typer.Option("--level", help="Only questions asked at mid, senior or staff.")] = None,
    pick_random: Annotated[bool, typer.Option("--random", help="One of them, drawn at random.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the built-in questions (use one with `sdx ask --example N`; `sdx examples | sdx batch -` asks them)."""
    from sdx.commands.examples import run_examples

    run_examples(topic, level, pick_random, as_json)


@app.command()
def progress(
    since: Annotated[
        str | None, typer.Option("--since", help="Only interviews since: 30d, 2w, 12h, or a date 2026-11-01.")
    ] = None,
    level: Annotated[str | None, typer.Option("--level", help="Only interviews at mid, senior or staff.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many recent interviews the trends cover.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="Only interview or review grades (default: both).")] = None,
) -> None:
    """Your grades over time: per dimension the latest score and trend, the weakest, drills due, what to practise."""
    from sdx.commands.progress import ProgressOptions, run_progress

    run_progress(ProgressOptions(since, level, limit, as_json, kind))


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List model aliases and providers, whether their keys are set, and which local models exist."""
    from sdx.commands.models_view import models_report, print_models

    report = models_report(load_config())
    if as_json:
        import json

        print(json.dumps(report, indent=2))
    else:
        print_models(report)


@app.command()
def estimate(
    text: Annotated[
        str | None,
        typer.Argument(help='Constraints in words: "50M DAU, 20 posts per user per day, 1 KB each"; - for stdin.'),
    ] = None,
    dau: Annotated[str | None, typer.Option("--dau", help="Daily active users: 50M, 1.5B, 10k.")] = None,
    writes: Annotated[str | None, typer.Option("--writes", help="Writes per user per day.")] = None,
    writes_per_day: Annotated[str | None, typer.Option("--writes-per-day", help="Writes per day in total.")] = None,
    read_ratio: Annotated[str | None, typer.Option("--read-ratio", help="Reads per write (default 1).")] = None,
    size: Annotated[str | None, typer.Option("--size", help="Bytes per write: 500, 1KB, 2.5 MB, 1KiB.")] = None,
    retention: Annotated[str | None, typer.Option("--retention", help="How long data is kept: 5y, 18mo, 90d.")] = None,
    peak: Annotated[str | None, typer.Option("--peak", help="Peak-to-average factor (default 2).")] = None,
    replication: Annotated[str | None, typer.Option("--replication", help="Copies of the data (default 3).")] = None,
    cache_ratio: Annotated[
        str | None, typer.Option("--cache-ratio", help="Share of a day's reads to cache (default 0.2).")
    ] = None,
    server_qps: Annotated[
        str | None, typer.Option("--server-qps", help="Requests per second one server handles.")
    ] = None,
    qps: Annotated[str | None, typer.Option("--qps", help="Requests per second in all, on average: 100k.")] = None,
    peak_qps: Annotated[str | None, typer.Option("--peak-qps", help="Requests per second in all at peak.")] = None,
    reads_per_user: Annotated[str | None, typer.Option("--reads-per-user", help="Reads per user per day.")] = None,
    reads_per_day: Annotated[str | None, typer.Option("--reads-per-day", help="Reads per day in total.")] = None,
    cache_data: Annotated[
        str | None, typer.Option("--cache-data", help="Share of the stored data to cache: 20%.")
    ] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory per machine: 64GB.")] = None,
    disk: Annotated[str | None, typer.Option("--disk", help="Disk per machine: 10TB.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object in base units.")] = False,
    reference: Annotated[
        bool, typer.Option("--reference", help="Latency numbers, powers of two, nines, time conversions.")
    ] = False,
    shortcuts: Annotated[
        bool, typer.Option("--shortcuts", help="The books' rounding: 10^5 s a day, 2.5 M s a month (said so).")
    ] = False,
) -> None:
    """Back-of-envelope capacity numbers (QPS, storage, bandwidth, cache, servers), computed exactly."""
    from sdx.commands.estimate import EstimateOptions, run_estimate

    options = EstimateOptions(
        text, dau, writes, writes_per_day, read_ratio, size, retention, peak, replication, cache_ratio, server_qps,
        qps, peak_qps, reads_per_user, reads_per_day, cache_data, memory, disk,
    )  # fmt: skip
    env = current()
    stdin = None if env.stdin is None or env.stdin_isatty else env.stdin
    run_estimate(options, as_json=as_json, reference=reference, shortcuts=shortcuts, stdin=stdin)


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check the config file, keys and providers, and say how to fix what fails."""
    from sdx.commands.doctor import run_doctor

    raise typer.Exit(run_doctor(current().environ, as_json=as_json))


@app.command()
def interview(
    question: Annotated[str | None, typer.Argument(help='The design question, e.g. "Design a URL shortener".')] = None,
    random_question: Annotated[bool, typer.Option("--random", help="One of the built-in questions.")] = False,
    minutes: Annotated[
        int | None, typer.Option("--minutes", min=1, max=240, help="The interview's length (default 45).")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="What the grade expects: mid, senior (default) or staff.")
    ] = None,
    model: ModelOption = None,
    regrade: Annotated[
        str | None, typer.Option("--regrade", metavar="ID", help="Grade a stored interview again (an id prefix).")
    ] = None,
    log: Annotated[bool, log_option("the interview")] = True,
    context: SharedContextOption = None,
    timeout: TimeoutOption = None,
    max_tokens: MaxTokensOption = None,
    grader_model: GraderModelOption = None,
    weak: Annotated[
        bool, typer.Option("--weak", help="A built-in question that drills your weakest dimensions (`sdx progress`).")
    ] = False,
    retry: Annotated[
        str | None, typer.Option("--retry", metavar="ID", help="Ask a graded interview's question again; compare.")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="ID", help="Continue an interrupted interview, time left kept.")
    ] = None,
) -> None:
    """A timed mock system design interview with the model as interviewer, graded against a rubric."""
    from sdx.commands.interview import InterviewOptions, run_interview

    options = InterviewOptions(
        question,
        random_question,
        minutes,
        level,
        model,
        regrade,
        log,
        context,
        timeout,
        max_tokens,
        grader_model,
        weak=weak,
        retry=retry,
        resume=resume,
    )
    run_interview(options, load_config())


@app.command()
def review(
    source: Annotated[
        str | None, typer.Argument(metavar="FILE", help="The design in Markdown (mermaid diagrams too); - for stdin.")
    ] = None,
    question: Annotated[
        str | None, typer.Option("--question", help="The question it answers (default: its first heading).")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="What the grade expects: mid, senior (default) or staff.")
    ] = None,
    focus: Annotated[
        str | None, typer.Option("--focus", help="Weigh the feedback toward reliability, scale, cost, … (comma list).")
    ] = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The grade as one JSON object.")] = False,
    log: Annotated[bool, log_option("the review")] = True,
    timeout: TimeoutOption = None,
    grader_model: GraderModelOption = None,
    regrade: Annotated[
        str | None, typer.Option("--regrade", metavar="ID", help="Grade a stored review again (an id prefix).")
    ] = None,
) -> None:
    """Grade a design you wrote against the interview rubric (its text is sent to the model)."""
    from sdx.commands.review import ReviewOptions, run_review

    options = ReviewOptions(source, question, level, focus, model, as_json, log, timeout, grader_model, regrade)
    env = current()
    run_review(options, load_config(), None if env.stdin is None or env.stdin_isatty else env.stdin)


history_app = typer.Typer(
    name="history",
    help="List recent conversations, or search them with -q; `sdx history rm ID`, `sdx history path`.",
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(history_app, name="history")


@history_app.callback(invoke_without_command=True)
def history(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Search questions and answers.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only ask, chat, interview, batch or review.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many conversations to list.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List recent conversations (newest first), or the best matches of a search."""
    if ctx.invoked_subcommand is not None:
        return
    from sdx.commands.history import print_history

    print_history(query, kind, limit, as_json)


@history_app.command("rm")
def history_rm(
    conversation_id: Annotated[str, typer.Argument(metavar="ID", help="The conversation's id (a unique prefix).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete a conversation (asks first on a terminal; elsewhere needs --yes)."""
    from sdx.commands.history import remove_conversation

    remove_conversation(conversation_id, yes)


@history_app.command("path")
def history_path() -> None:
    """Print where the history database is."""
    from sdx.store.history import history_path as database_path

    print(database_path())


LatestIdArgument = Annotated[
    str | None,
    typer.Argument(metavar="[ID]", help="The conversation's id (a unique prefix); none: the latest conversation."),
]


@app.command()
def usage(
    by: Annotated[str, typer.Option("--by", help="Total by day, week, month, model or kind.")] = "month",
    since: Annotated[
        str | None, typer.Option("--since", help="Only answers from the last 30d, 12h, 2w, or since 2026-11-01.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Answers, tokens and cost from the history (UTC days, weeks, months); unknown costs are counted apart."""
    from sdx.commands.usage import print_usage

    print_usage(by, since, as_json)


@app.command()
def show(
    conversation_id: LatestIdArgument = None,
    raw: RawOption = False,
    pager: Annotated[
        bool, typer.Option("--pager/--no-pager", help="Page long output on a terminal through $PAGER (default: yes).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show a stored conversation, every question and answer."""
    from sdx.commands.history import show_conversation

    show_conversation(conversation_id, raw, pager, as_json)


@app.command()
def diagram(
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="A Markdown file with ```mermaid blocks, a bare diagram, or - for stdin."),
    ],
    fmt: Annotated[str, typer.Option("--format", help="txt (drawn in the terminal), svg or png.")] = "txt",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The file to write (- or none: stdout).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Replace an existing file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Draw the mermaid diagrams of a Markdown file (or a bare diagram) as boxes and arrows."""
    from sdx.commands.diagram import run_diagram

    raise typer.Exit(run_diagram(file, fmt, output, force, as_json))


@app.command()
def export(
    conversation_id: LatestIdArgument = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The file to write (- or none: stdout).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Replace an existing file.")] = False,
    html: Annotated[
        bool, typer.Option("--html", help="One self-contained HTML page instead (diagrams drawn, no network).")
    ] = False,
) -> None:
    """Export a stored conversation as one Markdown file (or, with --html, one self-contained HTML page)."""
    from sdx.commands.history import export_conversation

    export_conversation(conversation_id, output, force, html=html)


def run(argv: list[str], env: Environment) -> int:
    """Run one sdx command in `env` and return its exit code: the single error boundary."""
    env = env.with_absolute_dirs()
    with installed(env):
        argv, repaired = readable_arguments(argv)
        for argument in repaired:
            shown = _shortened(argument)
            _say(f"sdx: warning: the argument {shown!r} is not valid UTF-8; undecodable bytes were replaced with �")
        code = _dispatch(argv)
        try:
            env.stdout.flush()  # what is still buffered fails here, inside the boundary, not at interpreter exit
        except OSError as exc:
            return _output_failure(exc, argv)
        return code


def _shortened(argument: str, limit: int = 60) -> str:
    return argument if len(argument) <= limit else argument[: limit - 1] + "…"


def _dispatch(argv: list[str]) -> int:
    try:
        code = app(args=hoist_global_options(argv), prog_name="sdx", standalone_mode=False)
        return code if isinstance(code, int) else ExitStatus.OK
    except SdxError as exc:
        _print_traceback_if_debugging()
        _say(exc.line())
        return exc.status
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # typer's completion callbacks exit by themselves, and so does Typer on a closed pipe
        if isinstance(exc.__context__, OSError):  # `sdx … | head`: exit 1 from Typer; quiet 0 from sdx, like any filter
            return _output_failure(exc.__context__, argv)
        return exc.code if isinstance(exc.code, int) else ExitStatus.OK if exc.code is None else ExitStatus.ERROR
    except OSError as exc:
        return _output_failure(exc, argv)
    except typer.TyperException as exc:  # bad option, missing argument: usage errors in sdx's own form
        _say(f"sdx: error: {exc.format_message()} — see `sdx {_command_name(argv)}--help`")
        return ExitStatus.USAGE
    except (typer.Abort, KeyboardInterrupt):
        _say("sdx: interrupted")
        return ExitStatus.INTERRUPTED
    except Terminated as exc:
        _say("sdx: terminated" if exc.signum == signal.SIGTERM else "sdx: hung up")
        return 128 + exc.signum
    except Exception as exc:
        return _unexpected(exc)


ANSWERING_COMMANDS = ("ask", "chat", "interview")  # what they write to stdout is an answer; the others, output


def _output_failure(exc: OSError, argv: list[str]) -> int:
    """A write to stdout that failed: the reader left (quiet, 0), or a full disk (one line, 2); else a bug."""
    from sdx.terminal.render import detach_stdout, write_failure

    if _is_closed_pipe(exc):
        detach_stdout()  # so that the interpreter's last flush does not complain either
        return ExitStatus.OK
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return _unexpected(exc)
    detach_stdout()
    what = "the answer" if _command_name(argv).strip() in ANSWERING_COMMANDS else "the output"
    _say(write_failure("stdout", exc, what).line())
    return ExitStatus.USAGE


def _unexpected(exc: BaseException) -> int:
    """A failure sdx has no sentence for: a bug, and said to be one."""
    _print_traceback_if_debugging()
    _say(redact(f"sdx: error: unexpected {type(exc).__name__}: {exc} — rerun with --debug and report it"))
    return ExitStatus.ERROR


def _is_closed_pipe(exc: OSError) -> bool:
    return isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE


def main() -> None:
    """Entry point.

    The garbage collector is off during start-up: typer, pydantic and openai build some 100,000 objects that live
    until exit, and collecting while they are built is wasted work (about 15% of `import openai`). The first
    streamed answer turns it back on (sdx.turn); at exit, everything is frozen, so that the interpreter does not
    tear those objects down one by one: 25 ms of `sdx examples`, 200 ms of `sdx ask` (benchmarks/README.md).
    """
    gc.disable()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    code = run(sys.argv[1:], Environment.from_system())
    gc.freeze()
    sys.exit(code)


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM/SIGHUP end a command as Ctrl-C does: the terminal restored, the partial answer kept and stored."""
    raise Terminated(signum)


GLOBAL_FLAGS = ("--debug",)


def hoist_global_options(argv: list[str]) -> list[str]:
    """`sdx ask --debug …` means `sdx --debug ask …`: global flags may follow the command name."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [arg for arg in argv[:end] if arg in GLOBAL_FLAGS]
    rest = [arg for arg in argv[:end] if arg not in GLOBAL_FLAGS]
    return flags + rest + argv[end:]


def _say(line: str) -> None:
    from sdx.terminal.render import say

    say(line)  # on a line of its own, even after an answer cut mid-line on a shared screen or pipe


def _command_name(argv: list[str]) -> str:
    names = [arg for arg in argv if not arg.startswith("-")]
    return f"{names[0]} " if names and names[0] in app_command_names() else ""


def app_command_names() -> set[str]:
    commands = {command.name or command.callback.__name__ for command in app.registered_commands if command.callback}
    return commands | {group.name for group in app.registered_groups if group.name}


def _print_traceback_if_debugging() -> None:
    if sdx_debug.enabled():
        import traceback

        print(redact(traceback.format_exc()), file=current().stderr, end="")
