"""`sdx ask`: gather the question, pick the model, stream the answer to the screen and the `-o` file."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sdx.config import Config
from sdx.domain import prompts
from sdx.environment import current
from sdx.errors import ExitStatus, SdxError, UsageError
from sdx.model.registry import Target, chosen_model_name, resolve
from sdx.terminal.render import FileCopy, Spinner, choose_renderer, say

if TYPE_CHECKING:
    from sdx.model.client import StreamStats


@dataclass(frozen=True)
class AskOptions:
    question: str | None = None
    context: str | None = None
    example: int | None = None
    model: str | None = None
    output: Path | None = None
    raw: bool = False
    stream: bool = True
    timeout: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class Question:
    question: str
    context: str


class Interrupted(SdxError):
    """Ctrl-C: not an error, but it ends the command with 130 and a word on stderr."""

    def __init__(self, tokens: int) -> None:
        kept = f" after {tokens} tokens; the partial answer was kept" if tokens else ""
        super().__init__(f"interrupted{kept}", status=ExitStatus.INTERRUPTED)

    def line(self) -> str:
        return f"sdx: {self.what}"


def input_too_large(limit_kb: int) -> UsageError:
    return UsageError(
        f"the question and context are larger than {limit_kb} KB", "send less, or raise max_input_kb in the config file"
    )


def read_stdin(stream: BinaryIO, limit_kb: int) -> str:
    """Read piped input: refuse binary or oversized input before any request; decode bad UTF-8 with a warning."""
    limit = limit_kb * 1024
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise input_too_large(limit_kb)
    if b"\x00" in data:
        raise UsageError("the input on stdin looks binary (it contains NUL bytes)", "pipe text or Markdown")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        say("sdx: warning: the input on stdin is not valid UTF-8; undecodable bytes were replaced with �")
        return data.decode("utf-8", errors="replace")


def gather_question(options: AskOptions, config: Config, stdin: BinaryIO | None) -> Question:
    """Argument = question and stdin = extra context; with no argument, stdin is the question."""
    piped = read_stdin(stdin, config.max_input_kb) if stdin is not None else ""
    if options.question is not None and options.example is not None:
        raise UsageError("give a question or --example, not both")
    question = options.question
    if options.example is not None:
        try:
            question = prompts.example(options.example)
        except IndexError:
            raise UsageError(
                f"there is no example {options.example}",
                f"pick 1 to {len(prompts.EXAMPLES)}; `sdx examples` lists them",
            ) from None
    if question and question.strip():
        context = "\n\n".join(p.strip() for p in (options.context or "", piped) if p.strip())
    else:
        question, context = piped, (options.context or "").strip()
    if not question.strip():
        raise UsageError("no question given", 'try: sdx ask "Design a rate limiter" (or pipe one in, or --example 1)')
    size = len(question.encode()) + len(context.encode())
    if size > config.max_input_kb * 1024:
        raise input_too_large(config.max_input_kb)
    return Question(question.strip(), context)


def run_ask(options: AskOptions, config: Config, stdin: BinaryIO | None) -> None:
    from sdx.model.client import ChatRequest, StreamStats, answer_deltas

    asked = gather_question(options, config, stdin)
    target = resolve(chosen_model_name(options.model, config), config)
    request = ChatRequest(
        target=target,
        messages=prompts.build_messages(asked.question, asked.context),
        stream=options.stream,
        timeout=options.timeout or config.timeout,
        max_tokens=options.max_tokens,
    )
    stats = StreamStats()
    copy = FileCopy(options.output) if options.output else None
    deltas = answer_deltas(request, stats, on_wait=lambda message, _s: say(f"sdx: {message}"))
    try:
        with closing(deltas):
            with Spinner(f"Asking {target.name}…"):  # gone before the answer's own live display starts
                first = next(deltas, "")
            with choose_renderer(options.raw)() as sink:
                for text in chain((first,), deltas):
                    if copy:  # the file first: whatever the screen shows is already saved when Ctrl-C lands
                        copy.write(text)
                    sink.write(text)
    except KeyboardInterrupt:
        raise Interrupted(stats.tokens) from None
    finally:
        if copy:
            copy.close()
    report(stats, target)


def report(stats: StreamStats, target: Target) -> None:
    """After the answer: a truncation warning, and on a terminal a one-line summary on stderr."""
    if stats.finish_reason == "length":
        say("sdx: warning: the answer was cut off at the model's token limit")
    env = current()
    if env.stderr_isatty:
        elapsed = env.monotonic() - stats.started
        summary = f"{target.name} · {stats.tokens} tokens · {elapsed:.1f}s"
        say(summary if env.no_color else f"\x1b[2m{summary}\x1b[0m")
