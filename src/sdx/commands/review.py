"""`sdx review FILE|-`: grade a design the user wrote (Markdown, with or without a mermaid diagram) against the
interview rubric, with the evidence checked against the file.

The question is `--question`, else the file's first heading. Nothing is stored until the grade is valid: the
design stays the user's file, and a failed grade says how to run the review again. A graded review is stored as a
conversation of kind `review`: one turn whose question is the question and whose context is the design, and the
grade in its `meta` as an interview's. `--regrade ID` grades the stored design again (another model, level or
focus); the new grade replaces the stored one only once it is valid.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sdx import grading
from sdx.commands.conversations import open_history
from sdx.config import Config, decode_text
from sdx.domain import rubric
from sdx.domain.conversation import Conversation, Turn, title_from
from sdx.domain.evidence import evidence_view
from sdx.environment import current, interrupts_held
from sdx.errors import SdxError, UsageError
from sdx.model.pricing import total_cost
from sdx.model.registry import chosen_model_name
from sdx.terminal.render import json_text, say

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class ReviewOptions:
    source: str | None = None  # a file, or "-" for stdin
    question: str | None = None
    level: str | None = None  # None: senior, or for --regrade the stored review's
    focus: str | None = None  # comma-separated keys of rubric.FOCUSES; for --regrade None keeps the stored focus
    model: str | None = None
    as_json: bool = False
    log: bool = True
    timeout: float | None = None
    grader_model: str | None = None  # as -m here: grades with this model (it wins when both are given)
    regrade: str | None = None  # the id of a stored review to grade again


def run_review(options: ReviewOptions, config: Config, stdin: BinaryIO | None) -> None:
    if options.regrade is not None:
        regrade(options, config)
        return
    level = check_level(options.level or rubric.DEFAULT_LEVEL)
    focus = parse_focus(options.focus)
    document, shown = read_design(options.source, stdin, config.max_input_kb)
    question = (options.question or "").strip() or first_heading(document)
    if not question:
        raise UsageError(f"{shown} has no heading to take the question from", 'give it: --question "Design …"')
    target = grading.grader(options.grader_model or options.model, config, chosen_model_name(None, config))
    conversation = Conversation(
        kind="review",
        model=target.name,
        system_prompt=rubric.review_prompt(level, focus),
        prompt_version=rubric.REVIEW_PROMPT_VERSION,
        title=title_from(question),
        turns=[Turn(question=question, context=document, prompt_version=rubric.REVIEW_PROMPT_VERSION)],
        meta={
            "level": level,
            "question": question,
            "focus": list(focus),
            "source": shown,
            "grade_status": grading.NOT_GRADED,
            "grade": None,
            "grade_raw": "",
        },
    )
    job = review_job(conversation, f"sdx review {again(shown)}")
    try:
        grade = grading.grade_conversation(
            conversation, job, target, None, config, options.timeout, show=not options.as_json
        )
    except BaseException:
        store(conversation, options.log and config.log, graded=False)  # only what the answered requests cost
        raise
    store(conversation, options.log and config.log)
    if options.as_json:
        print_json(conversation, grade)


def review_job(review: Conversation, command: str) -> grading.GradingJob:
    """The grading of a review's design (its one turn's context) at the level and focus in its meta; `command`
    runs it again."""
    meta, document = review.meta, review.turns[0].context
    level, focus = str(meta["level"]), tuple(meta.get("focus") or ())  # type: ignore[call-overload]
    return grading.GradingJob(
        rubric.review_prompt(level, focus),
        rubric.review_request_text(level, str(meta["question"]), document),
        source=document,
        source_name="the design",
        command=command,
        model_option="-m",
    )


def regrade(options: ReviewOptions, config: Config) -> None:
    """Grade a stored review again: --grader-model, else -m, else grader_model, else the model that graded it; at
    --level and --focus when given, else the stored ones. The grade is stored (with that level and focus) only
    once it is valid: a failed regrade leaves the stored review as it was."""
    from sdx.commands.conversations import regrade_elsewhere
    from sdx.store.history import History

    if options.source is not None or options.question is not None:
        given = " or ".join(name for name, on in (("FILE", options.source), ("--question", options.question)) if on)
        raise UsageError(f"--regrade grades a stored design again: give it without {given}", "sdx review --regrade ID")
    level = check_level(options.level) if options.level is not None else None
    focus = parse_focus(options.focus) if options.focus is not None else None
    with History.open() as history:
        review = history.load(history.resolve(options.regrade))
        if review.kind != "review":
            raise regrade_elsewhere(review, "review")
        if not options.log:
            stored = f"the review {(review.id or '')[:8]} is in history"
            raise UsageError(f"{stored}, and --regrade stores the new grade there", "drop --no-log")
        if not review.turns or not review.turns[0].context.strip():
            raise UsageError(f"{review.id} has no design stored to grade", "review the file again: sdx review FILE")
        target = grading.grader(options.grader_model or options.model, config, review.model)
        review.meta.update(level=level or review.meta.get("level") or rubric.DEFAULT_LEVEL)
        review.meta.update(focus=list(focus if focus is not None else review.meta.get("focus") or []))
        job = review_job(review, f"sdx review --regrade {review.id}")
        try:  # no history here: a failed regrade leaves the stored review as it was
            grade = grading.grade_conversation(
                review, job, target, None, config, options.timeout, show=not options.as_json
            )
        finally:  # but the requests that were answered were paid for
            grading.keep_spending(review, history)
        review.model = target.name  # the model that graded it, and the prompt it graded with, as a new review stores
        review.system_prompt = job.system
        grading.store_meta(review, history)
    if options.as_json:
        print_json(review, grade)


def check_level(level: str) -> str:
    if level not in rubric.LEVELS:
        raise UsageError(f"unknown level {level!r}", f"choose one of: {', '.join(rubric.LEVELS)}")
    return level


def parse_focus(text: str | None) -> tuple[str, ...]:
    """`--focus reliability,cost` as the FOCUSES keys, in the order given (each once)."""
    if text is None:
        return ()
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in rubric.FOCUSES]
    if unknown or not names:
        what = f"unknown focus {unknown[0]!r}" if unknown else "--focus needs a topic"
        raise UsageError(what, f"choose from: {', '.join(rubric.FOCUSES)} (several: --focus reliability,cost)")
    return tuple(dict.fromkeys(names))


def again(shown: str) -> str:
    return "FILE" if shown == "stdin" else shlex.quote(shown)


# ---------------------------------------------------------------------------------------------------------------
# The design


def read_design(source: str | None, stdin: BinaryIO | None, limit_kb: int) -> tuple[str, str]:
    """The design's text and how to name it ("stdin" or the path as given); a usage error for anything that is not
    a text file of at most `limit_kb`: missing, a directory, empty, binary, too large, not UTF-8."""
    if source is None or not source.strip():
        raise UsageError("no design given", "sdx review design.md (or - to read it from stdin)")
    limit = limit_kb * 1024
    if source == "-":
        if stdin is None:
            raise UsageError("no design on stdin", "pipe the Markdown in (sdx review - < design.md), or give its path")
        return decode_design(stdin.read(limit + 1), "stdin", limit_kb), "stdin"
    path = Path(source).expanduser()
    path = path if path.is_absolute() else current().cwd / path
    if path.is_dir():
        raise UsageError(f"{source} is a directory", "give the Markdown file of the design")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise UsageError(f"no such file: {source}", "check the path, or use - to read the design from stdin") from None
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}", "check its permissions") from None
    return decode_design(data, source, limit_kb), source


def decode_design(data: bytes, shown: str, limit_kb: int) -> str:
    if len(data) > limit_kb * 1024:
        raise UsageError(
            f"{shown} is larger than {limit_kb} KB", "shorten it, or raise max_input_kb in the config file"
        )
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 is full of NULs
        raise UsageError(f"{shown} looks binary (it contains NUL bytes)", "give the design as Markdown or text")
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{shown} is not UTF-8 text (bad byte at offset {exc.start})", "save it as UTF-8 and run again"
        ) from None
    if not text.strip():
        raise UsageError(f"{shown} is empty", "write the design first: requirements, estimates, components…")
    return text


def first_heading(document: str) -> str:
    """The text of the first Markdown heading outside code blocks, or ""."""
    fence = ""
    for line in document.splitlines():
        marker = _FENCE.match(line)
        if marker:
            if not fence:
                fence = marker.group(1)
            elif marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = ""
            continue
        if not fence and (heading := _HEADING.match(line)):
            return heading.group(1).strip()
    return ""


# ---------------------------------------------------------------------------------------------------------------
# After the grade


def store(conversation: Conversation, logging: bool, graded: bool = True) -> None:
    """Store the graded review and what grading it cost; a review whose grade failed is not stored, what its
    answered grading requests cost is (a history that cannot be written costs a warning: the grade was shown)."""
    if not graded and not conversation.gradings:
        return
    history = open_history(continuing=False, logging=logging, what="this review" if graded else "its cost")
    if history is None:
        return
    try:
        if graded:
            with interrupts_held():
                history.add_turn(conversation, conversation.turns[0])
    except SdxError as exc:
        say(f"sdx: warning: the review was not stored in history: {exc.what}")
    finally:
        grading.keep_spending(conversation, history)
        history.close()


def print_json(conversation: Conversation, grade: dict[str, Any]) -> None:
    meta = conversation.meta
    check = evidence_view(grade)
    report = {
        "id": conversation.id,
        "question": meta["question"],
        "level": meta["level"],
        "focus": meta["focus"],
        "source": meta["source"],
        "model": conversation.model,
        "grade": grade,
        "unverified": [key for key in rubric.DIMENSION_KEYS if check.unverified(key)],
        "grading": grading_spend(conversation),
    }
    out = current().stdout
    out.write(json_text(report, current().stdout_isatty))
    out.flush()


def grading_spend(conversation: Conversation) -> dict[str, Any]:
    """What the grade cost, as `sdx usage --json` says it: requests, tokens, the known cost, how many unknown."""
    requests = conversation.gradings
    cost, estimated, unknown = total_cost(requests)
    return {
        "requests": len(requests),
        "tokens_in": sum(request.prompt_tokens or 0 for request in requests),
        "tokens_out": sum(request.completion_tokens or 0 for request in requests),
        "tokens_estimated": any(request.tokens_estimated for request in requests),
        "cost_usd": cost,
        "cost_estimated": estimated,
        "unknown_cost": unknown,
    }
