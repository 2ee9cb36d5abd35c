"""Grading against the rubric, for every command that grades (`interview`, `interview --regrade`, `review`).

The protocol: one grading request (not streamed, temperature 0, the rubric's JSON schema as `response_format`
unless the server refuses it, which is remembered per base URL), validated with the rubric's pydantic model and
asked again once with the problems named; then the outcome is kept in the conversation's `meta`
(`grade_status`, `grade`, `grade_raw`) and the grade printed. A command only builds the grading messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdx.config import Config
from sdx.domain import rubric
from sdx.domain.conversation import Conversation
from sdx.environment import current
from sdx.errors import ExitStatus, SdxError
from sdx.model.registry import Target
from sdx.store.history import History, history_path
from sdx.terminal.render import Spinner, console, sanitize_for_terminal, say
from sdx.turn import TurnOptions, context_budget, estimate_tokens

GRADED, NOT_GRADED = "graded", "not graded"
GRADE_TIMEOUT = 300.0  # seconds at least for a whole grade, not streamed (a slow local model); more if configured
GRADE_MAX_TOKENS = 4096  # a grade takes about 1,500; a small model may repeat itself inside the schema forever
GRADE_ROOM = 2000  # tokens a grade usually takes, for the warning about long transcripts
NO_FORMAT_FILE = "no-response-format.json"  # base URLs that answered 400 to `response_format`
SCORE_STYLES = {1: "bold red", 2: "yellow", 3: "green", 4: "bold green"}


@dataclass(frozen=True)
class GradingJob:
    """What one grading sends: the grader's system prompt and the request (which carries the material graded)."""

    system: str
    request: str
    regrade_command: str  # how to grade the stored conversation again, `sdx interview --regrade {id}`

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.request}]


def grade_conversation(
    conversation: Conversation, job: GradingJob, target: Target, history: History | None, config: Config
) -> dict[str, Any]:
    """Ask for the grade, validate it (asking once more with the problems quoted), store it, show it, return it.

    A failure keeps the conversation (and an earlier grade) and raises the `SdxError` saying how to regrade."""
    meta = conversation.meta
    messages = job.messages()
    warn_if_too_long(messages, target, config)
    raw = ""
    try:
        raw = ask_grader(target, messages, config.timeout)
        try:
            grade = rubric.parse_grade(raw)
        except rubric.GradeInvalid as first:
            say(f"sdx: the grade was not valid ({_short(first.problems)}); asking again")
            messages += [
                {"role": "assistant", "content": raw},
                {"role": "user", "content": rubric.revalidation_request(first.problems)},
            ]
            raw = ask_grader(target, messages, config.timeout)
            grade = rubric.parse_grade(raw)
    except rubric.GradeInvalid as second:
        outcome = "the earlier grade stands" if meta.get("grade_status") == GRADED else "not graded"
        keep_outcome(conversation, history, NOT_GRADED, None, raw)
        raise SdxError(
            f"{target.name} did not produce a valid grade twice ({_short(second.problems)}); {outcome}",
            f"the transcript and the grader's text are kept; {regrade_hint(conversation, job)} (try a larger model)",
            ExitStatus.PROVIDER,
        ) from None
    except (SdxError, KeyboardInterrupt):  # the request failed, or Ctrl-C while waiting for the grade
        keep_outcome(conversation, history, NOT_GRADED, None, raw)
        say(f"sdx: the {conversation.kind} is kept: {regrade_hint(conversation, job)}")
        raise
    stored = grade.model_dump()
    keep_outcome(conversation, history, GRADED, stored, raw)
    print_grade(meta)
    return stored


def warn_if_too_long(messages: list[dict[str, str]], target: Target, config: Config) -> None:
    """Some local servers cut a long input silently (Ollama drops its start, the rubric with it): say so first."""
    tokens = estimate_tokens(messages)
    budget = context_budget(target, TurnOptions(context_tokens=config.context_tokens))
    if tokens + GRADE_ROOM > budget:
        say(
            f"sdx: warning: the transcript and rubric are about {tokens:,} tokens, more than {target.name} may take "
            "with room for the grade; if the grade fails, regrade with a model with a larger context"
        )


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def regrade_hint(conversation: Conversation, job: GradingJob) -> str:
    if conversation.id is None:
        return "it was not stored (--no-log), so it cannot be graded later"
    return f"grade it again with `{job.regrade_command.format(id=conversation.id)}`"


def keep_outcome(conversation: Conversation, history: History | None, status: str, grade: Any, raw: str) -> None:
    """Store the outcome of grading. A failed regrade leaves an earlier grade as it was: only a new grade replaces
    a grade."""
    if status == NOT_GRADED and conversation.meta.get("grade_status") == GRADED:
        say("sdx: the earlier grade is kept")
        return
    conversation.meta.update(grade_status=status, grade=grade, grade_raw=raw)
    store_meta(conversation, history)


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


def ask_grader(target: Target, messages: list[dict[str, str]], timeout: float) -> str:
    """One grading request: not streamed, temperature 0, the schema as `response_format` unless the server
    refuses it (then asked again without it, and remembered for that base URL); the client retries 429 and 5xx."""
    from sdx.model.client import ChatRequest, StreamStats, answer_deltas
    from sdx.model.client_errors import server_message

    timeout = max(timeout, GRADE_TIMEOUT)
    use_format = target.base_url not in refused_format_urls()
    with Spinner(f"Grading with {target.name}…"):
        while True:
            options = grading_options(target, use_format)
            request = ChatRequest(target, messages, False, timeout, GRADE_MAX_TOKENS, options=options)
            stats = StreamStats()
            try:  # the client's whole-answer path: retries, and every odd reply explained
                text = "".join(answer_deltas(request, stats, on_wait=lambda message, _s: say(f"sdx: {message}")))
            except SdxError as exc:
                refusal = exc.__cause__  # the client's error, for its status and the server's words
                status = getattr(refusal, "status_code", None)
                if not (use_format and refusal and rejects_response_format(status, server_message(refusal))):
                    raise
                use_format = False
                if status == 400:
                    remember_refused_format(target.base_url)
                say(f"sdx: note: {target.name} does not take a JSON schema (response_format); asking without it")
                continue
            if stats.finish_reason == "length":
                say(f"sdx: warning: the grade was cut off at {GRADE_MAX_TOKENS} tokens")
            return text


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
    """The grade as a Rich table (a dimension a row: score, evidence, what was missed), then the summary."""
    from rich.table import Table
    from rich.text import Text

    grade: dict[str, Any] = meta["grade"]  # type: ignore[assignment]
    clean = sanitize_for_terminal if current().stdout_isatty else (lambda text: text)
    level = str(meta.get("level", ""))
    table = Table(title=f"Grade: {grade['recommendation']} ({level} bar)", title_justify="left", show_lines=True)
    table.add_column("dimension", no_wrap=True)
    table.add_column("score", justify="center")
    table.add_column("evidence")
    table.add_column("missed")
    for dimension in rubric.DIMENSIONS:
        scored = grade["dimensions"][dimension.key]
        table.add_row(
            dimension.title,
            Text(f"{scored['score']}/4", style=SCORE_STYLES.get(scored["score"], "")),
            Text(clean("\n".join(f"“{quote}”" for quote in scored["evidence"]))),
            Text(clean("\n".join(f"- {item}" for item in scored["missed"]))),
        )
    out = console()
    out.print(table)
    out.print(Text(clean(f"Recommendation: {grade['recommendation']}. {grade['summary']}")))
    out.print(Text(clean("Strengths:\n" + "\n".join(f"- {item}" for item in grade["strengths"]))))
    out.print(Text(clean("Practise next:\n" + "\n".join(f"- {item}" for item in grade["practice_next"]))))
    out.print(Text(f"Hints used: {meta.get('hints', 0)}"))
