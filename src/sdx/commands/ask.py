"""`sdx ask`: gather the question, pick the conversation and the model, and run one turn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sdx.commands.conversations import conversation_and_target, earlier_conversation, open_history
from sdx.config import Config
from sdx.domain import question_bank
from sdx.domain.conversation import Turn
from sdx.environment import current
from sdx.errors import UsageError
from sdx.model.pricing import cost_text
from sdx.model.registry import Target
from sdx.terminal.render import Spinner, say
from sdx.turn import TurnOptions, run_turn


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
    continue_last: bool = False  # -C: the most recent conversation
    conversation_id: str | None = None  # --cid: a given one (a unique prefix is enough)
    log: bool = True  # --no-log: store nothing
    read_stdin: bool = True  # --no-stdin: never read stdin
    estimate: bool = True  # --no-estimate: no computed capacity table
    force: bool = False  # --force: `-o FILE` may replace an existing file


@dataclass(frozen=True)
class Question:
    question: str
    context: str


def input_too_large(limit_kb: int) -> UsageError:
    return UsageError(
        f"the question and context are larger than {limit_kb} KB", "send less, or raise max_input_kb in the config file"
    )


def read_stdin(stream: BinaryIO, limit_kb: int) -> str:
    """Read piped input: refuse binary or oversized input before any request; decode bad UTF-8 with a warning."""
    limit = limit_kb * 1024
    with Spinner("Reading stdin until it closes (--no-stdin skips it)…"):  # only shown when stderr is a terminal
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


def example_question(number: int) -> str:
    try:
        return question_bank.by_number(number).text
    except IndexError:
        raise UsageError(
            f"there is no example {number}", f"pick 1 to {len(question_bank.questions())}; `sdx examples` lists them"
        ) from None


def gather_question(options: AskOptions, config: Config, stdin: BinaryIO | None) -> Question:
    """Argument = question and stdin = extra context; with no argument, stdin is the question."""
    if options.question is not None and options.example is not None:
        raise UsageError("give a question or --example, not both")
    piped = read_stdin(stdin, config.max_input_kb) if stdin is not None and options.read_stdin else ""
    asked = None if options.question == "-" else options.question  # `sdx ask -`: the question is on stdin
    question = example_question(options.example) if options.example is not None else asked or ""
    context = (options.context or "").strip()
    if question.strip():
        context = "\n\n".join(part for part in (context, piped.strip()) if part)
    else:
        question = piped
    if not question.strip():
        raise UsageError("no question given", 'try: sdx ask "Design a rate limiter" (or pipe one in, or --example 1)')
    if len(question.encode()) + len(context.encode()) > config.max_input_kb * 1024:
        raise input_too_large(config.max_input_kb)
    return Question(question.strip(), context)


def capacity_facts(text: str) -> str:
    """sdx's computed capacity figures for the scale `text` states, for the model ("" when it states none); on a
    terminal the table is also shown on stderr, before the answer."""
    from sdx.domain.estimates import estimate_from_text, facts_for_prompt

    estimate = estimate_from_text(text)
    if estimate is None:
        return ""
    if current().stderr_isatty:
        from sdx.commands.estimate import print_estimate_table

        print_estimate_table(estimate, stderr=True)
    return facts_for_prompt(estimate)


def with_facts(context: str, facts: str) -> str:
    return "\n\n".join(part for part in (context, facts) if part)


def with_estimates(asked: Question, enabled: bool) -> Question:
    """Add sdx's computed capacity figures to the context when the question or context states a scale."""
    facts = capacity_facts(f"{asked.question}\n{asked.context}") if enabled else ""
    return Question(asked.question, with_facts(asked.context, facts))


def run_ask(options: AskOptions, config: Config, stdin: BinaryIO | None) -> None:
    if (options.continue_last or options.conversation_id) and options.example is not None:
        raise UsageError("--example starts a new conversation; it cannot be combined with -C or --cid")
    asked = with_estimates(gather_question(options, config, stdin), options.estimate)
    continuing = options.continue_last or options.conversation_id is not None
    logging = options.log and config.log
    history = open_history(continuing=continuing, logging=logging, what="this answer")
    try:
        conversation = earlier_conversation(
            history,
            continue_last=options.continue_last,
            conversation_id=options.conversation_id,
            start_hint='sdx ask "Design a URL shortener"',
        )
        conversation, target = conversation_and_target(conversation, options.model, config, "ask")
        turn_options = TurnOptions(
            raw=options.raw,
            stream=options.stream,
            timeout=options.timeout or config.timeout,
            max_tokens=options.max_tokens or config.max_tokens,
            output=options.output,
            replace_output=options.force,
            context_tokens=config.context_tokens,
        )
        store = history if logging else None
        turn = run_turn(conversation, Turn(asked.question, asked.context), target, turn_options, store)
    finally:
        if history is not None:
            history.close()
    report(turn, target)


def report(turn: Turn, target: Target) -> None:
    """After the answer, on a terminal: a one-line summary on stderr."""
    env = current()
    if env.stderr_isatty:
        cost = f" · {cost_text(turn.cost, turn.cost_source)}" if turn.cost is not None else ""
        summary = f"{target.name} · {turn.completion_tokens} tokens{cost} · {turn.duration or 0:.1f}s"
        say(summary, dim=True)
