"""Grading against the rubric, for every command that grades (`interview`, `interview --regrade`, `review`).

The protocol: one grading request (not streamed, temperature 0, the rubric's JSON schema as `response_format`
unless the server refuses it, which is remembered per base URL), validated with the rubric's pydantic model and
asked again once with the problems named; its evidence quotes checked against the material graded
(`sdx.domain.evidence`) and sent back once naming those not found; then the outcome is kept in the conversation's
`meta` (`grade_status`, `grade` with its `evidence_check`, `grade_raw`, `grader`) and the grade printed. Every
request that got a reply was paid for, and one the server received that got none (a timeout, a dropped
connection, Ctrl-C while waiting) may have been: its tokens and cost go to `conversation.gradings` and the
history's `gradings` table, whatever becomes of the grade (unknown, never zero, for one that got no reply), and
the last line says what the grading cost. A command only builds the `GradingJob`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdx.config import Config
from sdx.domain import grades, rubric
from sdx.domain.conversation import Conversation, GradingRequest
from sdx.domain.evidence import CHECK_KEY, EvidenceView, check_record, evidence_view, quotes_not_found
from sdx.environment import current, interrupts_held
from sdx.errors import ExitStatus, SdxError
from sdx.model import pricing
from sdx.model.registry import Target, resolve
from sdx.store.history import History, history_path
from sdx.terminal.render import Spinner, console, sanitize_for_terminal, say
from sdx.turn import CHARS_PER_TOKEN, TurnOptions, context_budget, estimate_tokens

if TYPE_CHECKING:
    from sdx.model.client import StreamStats

GRADED, NOT_GRADED = "graded", "not graded"
GRADE_TIMEOUT = 300.0  # seconds at least for a whole grade, not streamed (a slow local model); more if configured
GRADE_MAX_TOKENS = 4096  # a grade takes about 1,500; a small model may repeat itself inside the schema forever
GRADE_ROOM = 2000  # tokens a grade usually takes, for the warning about long transcripts
NO_FORMAT_FILE = "no-response-format.json"  # base URLs that answered 400 to `response_format`
SCORE_STYLES = {1: "bold red", 2: "yellow", 3: "green", 4: "bold green"}
TABLE_MIN_WIDTH = 72  # columns below which the grade table would squeeze scores and quotes: stacked instead


@dataclass(frozen=True)
class GradingJob:
    """What one grading sends and checks: the grader's system prompt, the request (which carries the material
    graded), and `source`, the text every evidence quote must be in (`source_name`: "the transcript")."""

    system: str
    request: str
    source: str
    source_name: str = "the transcript"
    command: str = "sdx interview --regrade {id}"  # grades the stored conversation again
    model_option: str = "--grader-model"  # how that command is given another model

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.request}]


@dataclass
class Outcome:
    """A grade the grader gave, the text it came as, and the evidence quotes not found in the source."""

    grade: grades.Grade
    raw: str
    not_found: dict[str, list[str]]

    def stored(self, source_name: str) -> dict[str, Any]:
        """The grade as stored in `meta["grade"]`: the rubric's fields and the evidence check's result."""
        return {**self.grade.model_dump(), CHECK_KEY: check_record(self.not_found, source_name)}


def grade_conversation(
    conversation: Conversation,
    job: GradingJob,
    target: Target,
    history: History | None,
    config: Config,
    timeout: float | None = None,
    show: bool = True,
) -> dict[str, Any]:
    """Ask for the grade, validate it and check its evidence (each sent back once with the problems named), store
    it, show it (unless not `show`: `--json`) and return it as stored. `timeout`: the grade's own limit in seconds
    (the command's --timeout), else the longer of the configured timeout and GRADE_TIMEOUT.

    A failure keeps the conversation (and an earlier grade) and raises the `SdxError` saying how to regrade."""
    meta = conversation.meta
    limit = timeout if timeout is not None else max(config.timeout, GRADE_TIMEOUT)
    warn_if_too_long(job.messages(), target, config, job.source_name)
    raw = [""]  # the grader's latest text, kept whatever happens
    before = len(conversation.gradings)
    try:
        outcome = obtain_grade(job, target, limit, raw, spent=conversation.gradings)
    except grades.GradeInvalid as second:
        left = left_after_failure(conversation, job, raw[0])
        keep_outcome(conversation, history, NOT_GRADED, None, raw[0])
        raise SdxError(
            f"{target.name} did not produce a valid grade twice ({_short(second.problems)}); {left.outcome}",
            f"{left.kept_and_hint()} (try a larger model)",
            ExitStatus.PROVIDER,
        ) from None
    except (SdxError, KeyboardInterrupt) as exc:  # the request failed, or Ctrl-C while waiting for the grade
        left = left_after_failure(conversation, job, raw[0])
        keep_outcome(conversation, history, NOT_GRADED, None, raw[0])
        if isinstance(exc, SdxError) and _timed_out(exc):
            say(f"sdx: {left.outcome} — {left.kept or left.hint}")  # the error gives the advice
            raise SdxError(
                f"{target.name} did not finish the grade within {limit:g}s",
                f"{regrade_hint(conversation, job, other_model=True)}, or allow longer with --timeout",
                ExitStatus.NETWORK,
            ) from None
        say(f"sdx: {left.outcome} — {left.kept_and_hint()}")
        raise
    finally:  # the requests that were answered were paid for, whatever became of the grade
        keep_spending(conversation, history)
    stored = outcome.stored(job.source_name)
    meta["grader"] = target.name
    keep_outcome(conversation, history, GRADED, stored, outcome.raw)
    if show:
        print_grade(meta)
    price_after_grade(conversation.gradings[before:], target, history)
    say_grading_cost(conversation.gradings[before:], target)
    return stored


def obtain_grade(
    job: GradingJob,
    target: Target,
    timeout: float,
    raw: list[str],
    max_tokens: int = GRADE_MAX_TOKENS,
    spent: list[GradingRequest] | None = None,
) -> Outcome:
    """The grading exchange: a grade that is not valid is sent back once with its problems, then one whose quotes
    are not in the source once with those quotes named. A corrected grade that fails (or a failed request) leaves
    the first valid grade, its invented quotes marked. `raw[0]` is kept up to date with the grader's latest text;
    each request that was answered is added to `spent`, whatever happens after."""
    messages = job.messages()
    raw[0] = ask_grader(target, messages, timeout, max_tokens, spent)
    try:
        grade = grades.parse_grade(raw[0])
    except grades.GradeInvalid as first:
        say(f"sdx: the grade was not valid ({_short(first.problems)}); asking again")
        messages += _sent_back(raw[0], rubric.revalidation_request(first.problems))
        raw[0] = ask_grader(target, messages, timeout, max_tokens, spent)
        grade = grades.parse_grade(raw[0])
    outcome = Outcome(grade, raw[0], quotes_not_found(_evidence(grade), job.source))
    if not outcome.not_found:
        return outcome
    say(
        f"sdx: {_count(outcome.not_found)} not in {job.source_name} ({_short(_named(outcome.not_found))}); asking again"
    )
    messages += _sent_back(outcome.raw, rubric.evidence_request(outcome.not_found, job.source_name))
    try:
        text = ask_grader(target, messages, timeout, max_tokens, spent)
        corrected = grades.parse_grade(text)
    except (grades.GradeInvalid, SdxError) as exc:
        why = exc.problems if isinstance(exc, grades.GradeInvalid) else exc.what
        say(f"sdx: the corrected grade failed ({_short(why)}); the first one is kept, its invented quotes marked")
        return outcome
    raw[0] = text
    return Outcome(corrected, text, quotes_not_found(_evidence(corrected), job.source))


def _sent_back(answer: str, request: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": answer}, {"role": "user", "content": request}]


def _evidence(grade: grades.Grade) -> dict[str, list[str]]:
    return {key: getattr(grade.dimensions, key).evidence for key in rubric.DIMENSION_KEYS}


def _count(not_found: dict[str, list[str]]) -> str:
    total = sum(len(quotes) for quotes in not_found.values())
    return "1 evidence quote is" if total == 1 else f"{total} evidence quotes are"


def _named(not_found: dict[str, list[str]]) -> str:
    return "; ".join(f"{key}: " + ", ".join(f"“{quote}”" for quote in quotes) for key, quotes in not_found.items())


def _timed_out(exc: SdxError) -> bool:
    from sdx.model.client_errors import is_timeout

    return exc.__cause__ is not None and is_timeout(exc.__cause__)


@dataclass(frozen=True)
class Left:
    """What a failed grading leaves: the grade (`outcome`), what is stored (`kept`, "" when nothing is: --no-log)
    and how to grade again (`hint`)."""

    outcome: str
    kept: str
    hint: str

    def kept_and_hint(self) -> str:
        return f"{self.kept}; {self.hint}" if self.kept else self.hint


def left_after_failure(conversation: Conversation, job: GradingJob, raw: str) -> Left:
    """What a failed grading leaves, as far as it is stored (`raw`: the grader's latest text). Asked before
    `keep_outcome` stores it: an interview is stored as it goes, and keeps the grader's text only when it had no
    grade (a failed regrade of a graded one stores nothing); a review is stored only once graded, and a stored one
    being regraded is untouched; --no-log keeps nothing."""
    kind = conversation.kind
    earlier = conversation.meta.get("grade_status") == GRADED
    outcome = "the earlier grade stands" if earlier else "not graded"
    if _stored_as_it_goes(job) and conversation.id is None:
        kept = ""
    elif earlier or (conversation.id is not None and not _stored_as_it_goes(job)):
        kept = f"the stored {kind} is unchanged"
    elif not _stored_as_it_goes(job):
        kept = f"the {kind} was not stored"
    else:
        kept = f"{job.source_name} and the grader's text are kept" if raw else f"the {kind} is kept"
    return Left(outcome, kept, regrade_hint(conversation, job))


def _stored_as_it_goes(job: GradingJob) -> bool:
    """An interview is stored turn by turn, so the command that grades it again names its id; a review's names the
    file."""
    return "{id}" in job.command


def grader(asked: str | None, config: Config, fallback: str) -> Target:
    """The model that grades: the one asked for (--grader-model), else `grader_model` in the config file, else
    `fallback` (the interview's own model)."""
    return resolve(asked or config.grader_model or fallback, config)


def warn_if_too_long(
    messages: list[dict[str, str]], target: Target, config: Config, material: str = "the transcript"
) -> None:
    """Some local servers cut a long input silently (Ollama drops its start, the rubric with it): say so first."""
    tokens = estimate_tokens(messages)
    budget = context_budget(target, TurnOptions(context_tokens=config.context_tokens))
    if tokens + GRADE_ROOM > budget:
        say(
            f"sdx: warning: {material} and rubric are about {tokens:,} tokens, more than {target.name} may take "
            "with room for the grade; if the grade fails, regrade with a model with a larger context"
        )


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def regrade_hint(conversation: Conversation, job: GradingJob, other_model: bool = False) -> str:
    """How to grade it again (with another model): `grade it again with `sdx interview --regrade ID``."""
    if _stored_as_it_goes(job) and conversation.id is None:
        if other_model:
            return f"next time grade with another model ({job.model_option} MODEL)"
        return "it was not stored (--no-log), so it cannot be graded later"
    command = job.command.format(id=conversation.id)
    if other_model:
        return f"grade it with another model: `{command} {job.model_option} MODEL`"
    return f"grade it again with `{command}`"


def keep_outcome(conversation: Conversation, history: History | None, status: str, grade: Any, raw: str) -> None:
    """Store the outcome of grading. A failed regrade leaves an earlier grade as it was: only a new grade replaces
    a grade (`left_after_failure` says so)."""
    if status == NOT_GRADED and conversation.meta.get("grade_status") == GRADED:
        return
    conversation.meta.update(grade_status=status, grade=grade, grade_raw=raw)
    store_meta(conversation, history)


def keep_spending(conversation: Conversation, history: History | None) -> None:
    """Store the grading requests not stored yet (what they cost); a history that cannot be written costs a
    warning. Without a history (--no-log, or a review, which stores them with itself) they wait on the
    conversation."""
    if history is None:
        return
    try:
        with interrupts_held():
            history.add_gradings(conversation)
    except SdxError as exc:
        say(f"sdx: warning: what the grading cost was not stored in history: {exc.what}")


def price_after_grade(spent: list[GradingRequest], target: Target, history: History | None) -> None:
    """Grading requests of an OpenRouter model that came without their cost: priced from the price list (fetched
    now if need be, within its time limit; the grade is already shown), and the stored ones updated."""
    unpriced = [request for request in spent if request.cost is None]
    problems = [problem for request in unpriced if (problem := pricing.price_request(request, target, fetch=True))]
    if problems and any(request.cost is None for request in unpriced):
        say(f"sdx: warning: {problems[0]}; what the grading cost is unknown")
    for request in unpriced:
        if request.cost is None or history is None or request.id is None:
            continue
        try:
            with interrupts_held():
                history.set_grading_cost(request)
        except SdxError as exc:
            say(f"sdx: warning: what the grading cost was not stored in history: {exc.what}")
            return


def grading_cost_text(spent: list[GradingRequest]) -> str:
    """What grading cost: `$0.0012`, `~$0.0010`, `$0.0012 + 1 request of unknown cost`; "" when none is known."""
    total, estimated, unknown = pricing.total_cost(spent)
    if total is None:
        return ""
    text = pricing.cost_text(total, pricing.PRICE_LIST if estimated else pricing.REPORTED)
    return f"{text} + {unknown} request{'s' if unknown > 1 else ''} of unknown cost" if unknown else text


def say_grading_cost(spent: list[GradingRequest], target: Target) -> None:
    """The grade's last word, on stderr: what it cost, when that is known."""
    if text := grading_cost_text(spent):
        requests = f" ({len(spent)} requests)" if len(spent) > 1 else ""
        say(f"sdx: grading with {target.name} cost {text}{requests}")


def store_meta(conversation: Conversation, history: History | None) -> None:
    """Save the conversation's meta (hints, grade); a history that cannot be written costs a warning."""
    if history is None or conversation.id is None:
        return
    try:
        history.update_meta(conversation)
    except SdxError as exc:
        say(f"sdx: warning: the {conversation.kind}'s hints and grade were not stored in history: {exc.what}")


# ---------------------------------------------------------------------------------------------------------------
# The request


def ask_grader(
    target: Target,
    messages: list[dict[str, str]],
    timeout: float,
    max_tokens: int = GRADE_MAX_TOKENS,
    spent: list[GradingRequest] | None = None,
) -> str:
    """One grading request: not streamed, temperature 0, the schema as `response_format` unless the server
    refuses it (then asked again without it, and remembered for that base URL); the client retries 429 and 5xx.
    A request is added to `spent` when it was answered, with its tokens and cost, and when the server received
    it but its reply never came (`Delivery.unanswered`: it may have been billed), as of unknown cost. One that
    never reached the server, or that it replied to with an error, is not: it cost nothing."""
    from sdx.model.client import ChatRequest, Delivery, StreamStats, answer_deltas, watching
    from sdx.model.client_errors import server_message

    use_format = target.base_url not in refused_format_urls()
    with Spinner(Elapsed(f"Grading with {target.name}…")):
        while True:
            options = grading_options(target, use_format)
            request = ChatRequest(target, messages, False, timeout, max_tokens, options=options)
            stats, delivery = StreamStats(), Delivery()
            sent_at = current().wall_clock()
            try:  # the client's whole-answer path: retries, and every odd reply explained
                with watching(delivery):
                    text = "".join(answer_deltas(request, stats, on_wait=lambda message, _s: say(f"sdx: {message}")))
            except BaseException as exc:  # the request failed, or Ctrl-C or a signal while waiting
                if spent is not None and delivery.unanswered:
                    spent.append(unanswered_request(target, messages, sent_at))
                if not isinstance(exc, SdxError):
                    raise
                refusal = exc.__cause__  # the client's error, for its status and the server's words
                status = getattr(refusal, "status_code", None)
                if not (use_format and refusal and rejects_response_format(status, server_message(refusal))):
                    raise
                use_format = False
                if status == 400:
                    remember_refused_format(target.base_url)
                say(f"sdx: note: {target.name} does not take a JSON schema (response_format); asking without it")
                continue
            if spent is not None:
                spent.append(answered_request(target, messages, text, stats, sent_at))
            if stats.finish_reason == "length":
                say(f"sdx: warning: the grade was cut off at {max_tokens} tokens")
            return text


def answered_request(
    target: Target, messages: list[dict[str, str]], text: str, stats: StreamStats, sent_at: float
) -> GradingRequest:
    """What one answered grading request cost: the server's usage (else our estimate, flagged), and its cost as
    far as it is known without waiting (reported, [prices], a fresh cached price list, $0 on this machine)."""
    request = GradingRequest(
        created_at=sent_at,
        model=target.name,
        model_id=stats.model or target.model_id,
        prompt_tokens=stats.usage_prompt_tokens,
        completion_tokens=stats.usage_completion_tokens,
        cost=stats.cost,
    )
    if request.prompt_tokens is None or request.completion_tokens is None:
        request.tokens_estimated = True
        if request.prompt_tokens is None:
            request.prompt_tokens = estimate_tokens(messages)
        if request.completion_tokens is None:
            request.completion_tokens = len(text) // CHARS_PER_TOKEN
    pricing.price_request(request, target, fetch=False)
    return request


def unanswered_request(target: Target, messages: list[dict[str, str]], sent_at: float) -> GradingRequest:
    """A grading request the server received and never answered: what it sent is estimated (flagged); what it
    generated is unknown (`completion_tokens` None, never 0), and so is its cost, except $0 on this machine."""
    request = GradingRequest(
        created_at=sent_at,
        model=target.name,
        model_id=target.model_id,
        prompt_tokens=estimate_tokens(messages),
        tokens_estimated=True,
    )
    pricing.price_request(request, target, fetch=False)
    return request


class Elapsed:
    """A spinner's text that shows the time since it was made, each time the spinner redraws it (`__rich__`)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = current().monotonic()

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text(f"{self.label} {rubric.clock(current().monotonic() - self.started)}")


def grading_options(target: Target, use_format: bool) -> dict[str, Any]:
    """The request's extra body fields: temperature 0, and the schema (on OpenRouter, only for providers that
    honour it: `provider.require_parameters`)."""
    options: dict[str, Any] = {"temperature": 0}
    if use_format:
        options["response_format"] = rubric.response_format()
        if target.provider.name == "openrouter":
            options["extra_body"] = {"provider": {"require_parameters": True}}
    return options


def rejects_response_format(status: int | None, message: str) -> bool:
    """A 400 naming response_format (or json_schema); OpenRouter's 404 when no provider takes the parameters."""
    lowered = message.lower()
    if status in (400, 422):
        return "response_format" in lowered or "json_schema" in lowered or "response format" in lowered
    return status == 404 and "requested parameters" in lowered


def _refused_file() -> Path:
    return history_path().parent / NO_FORMAT_FILE


def refused_format_urls() -> list[str]:
    try:
        data = json.loads(_refused_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [url for url in data if isinstance(url, str)] if isinstance(data, list) else []


def remember_refused_format(base_url: str) -> None:
    urls = refused_format_urls()
    if base_url in urls:
        return
    try:
        path = _refused_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([*urls, base_url], indent=2) + "\n", encoding="utf-8")
    except OSError:
        pass  # only an optimisation: next time the server refuses again and sdx asks again


# ---------------------------------------------------------------------------------------------------------------
# The grade view


def print_grade(meta: dict[str, object]) -> None:
    """The grade on stdout: on a terminal a Rich table (a dimension a row: score, evidence, what was missed), or a
    dimension after another when the table would not fit; piped, the Markdown `sdx show --raw` gives."""
    env = current()
    if not env.stdout_isatty:
        env.stdout.write(f"---\n\n{grades.grade_markdown(meta)}\n")
        env.stdout.flush()
        return
    from rich.text import Text

    grade: dict[str, Any] = meta["grade"]  # type: ignore[assignment]
    check = evidence_view(grade)
    out = console()
    title = f"Grade: {grade['recommendation']} ({meta.get('level', '')} bar)"
    if out.width < TABLE_MIN_WIDTH:
        out.print(Text(sanitize_for_terminal(title), style="bold"))
        for dimension in rubric.DIMENSIONS:
            out.print(_stacked_dimension(dimension, grade["dimensions"][dimension.key], check))
    else:
        out.print(_grade_table(title, grade, check))
    if not check.checked:
        out.print(Text(rubric.UNCHECKED_NOTE, style="yellow"))
    for text in (
        f"Recommendation: {grade['recommendation']}. {grade['summary']}",
        "Strengths:\n" + "\n".join(f"- {item}" for item in grade["strengths"]),
        "Practise next:\n" + "\n".join(f"- {item}" for item in grade["practice_next"]),
    ):
        out.print(Text(sanitize_for_terminal(text)))
    out.print(Text(f"Hints used: {meta.get('hints', 0)}"))


def _grade_table(title: str, grade: dict[str, Any], check: EvidenceView) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=sanitize_for_terminal(title), title_justify="left", show_lines=True)
    table.add_column("dimension", no_wrap=True)
    table.add_column("score", justify="center", no_wrap=True)
    table.add_column("evidence")
    table.add_column("missed")
    for dimension in rubric.DIMENSIONS:
        scored = grade["dimensions"][dimension.key]
        table.add_row(
            dimension.title,
            _score(scored["score"], check.unverified(dimension.key), "\n"),
            _quotes(dimension.key, scored["evidence"], check, ""),
            Text(sanitize_for_terminal("\n".join(f"- {item}" for item in scored["missed"]))),
        )
    return table


def _stacked_dimension(dimension: rubric.Dimension, scored: dict[str, Any], check: EvidenceView) -> Any:
    """One dimension as lines, for a terminal too narrow for the table: the title and score, quotes, what was missed."""
    from rich.text import Text

    text = Text(f"{dimension.title}: ", style="bold")
    text.append_text(_score(scored["score"], check.unverified(dimension.key), " "))
    if scored["evidence"]:
        text.append("\n")
        text.append_text(_quotes(dimension.key, scored["evidence"], check, "  "))
    for item in scored["missed"]:
        text.append(sanitize_for_terminal(f"\n  - missed: {item}"))
    return text


def _score(score: int, unverified: bool, separator: str) -> Any:
    from rich.text import Text

    text = Text(f"{score}/4", style=SCORE_STYLES.get(score, ""))
    if unverified:
        text.append(f"{separator}unverified", style="yellow")
    return text


def _quotes(key: str, quotes: list[str], check: EvidenceView, indent: str) -> Any:
    """The evidence quotes, one a line; one not found in the source struck out and marked so."""
    from rich.text import Text

    text = Text()
    for number, quote in enumerate(quotes):
        if number:
            text.append("\n")
        text.append(indent)
        if check.invented(key, quote):
            text.append(sanitize_for_terminal(f"“{quote}”"), style="strike")
            text.append(f" ({check.missing_note})", style="bold red")
        else:
            text.append(sanitize_for_terminal(f"“{quote}”"))
    return text
