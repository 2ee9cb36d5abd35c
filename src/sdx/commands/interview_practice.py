"""The practice loop's ways into `sdx interview`: a drill of the weakest dimensions (`--weak`), the same question
again with the changes shown after the grade (`--retry ID`), and an interrupted interview continued with the
time that was left (`--resume ID`).

Each checks what it reads before anything is asked or stored: a failure is one line, and the history is as it
was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdx.commands.conversations import wrong_kind
from sdx.config import Config
from sdx.domain import question_bank, rubric
from sdx.domain.conversation import Conversation
from sdx.environment import current
from sdx.errors import UsageError
from sdx.store.history import History
from sdx.terminal.render import say

CONSTRAINTS = "\n\nConstraints: "  # between the question and the `-c` constraints in what the interview stores
ALONE = {
    "--weak": "chooses the question itself",
    "--retry": "chooses the question itself",
    "--regrade": "grades a stored interview",
}


def check_alone(flag: str, options: Any) -> None:
    """--weak and --retry choose the question, --regrade grades a stored interview: with a question, --random or
    each other they are refused (--resume checks its options against the stored interview: check_stored_options)."""
    others = [name for name, given in _modes(options) if given and name != flag]
    if others:
        raise UsageError(f"{flag} {ALONE[flag]}: give it without {' or '.join(others)}")


def _modes(options: Any) -> list[tuple[str, bool]]:
    """The options that choose what an interview asks, and whether each was given."""
    return [
        ("a question", bool(options.question)),
        ("--random", options.random_question),
        ("--weak", options.weak),
        ("--retry", options.retry is not None),
        ("--resume", options.resume is not None),
        ("--regrade", options.regrade is not None),
    ]


@dataclass(frozen=True)
class Plan:
    """What a new interview asks, at which level, and what the practice loop adds to it."""

    question: str
    level: str
    probe: tuple[str, ...] = ()  # the dimensions the interviewer is told to probe (--weak)
    earlier: Conversation | None = None  # the graded attempt a retry is compared with


def plan_weak(level: str) -> Plan:
    """The built-in question that best drills the dimensions due or weakest in the stored grades."""
    from sdx.commands.progress import load_progress
    from sdx.domain import practice

    progress = load_progress()
    if not progress.interviews:
        raise UsageError(
            "--weak needs a graded interview or review to find the weakest dimensions in",
            'do one first: sdx interview --random (or sdx interview "Design a URL shortener")',
        )
    keys = progress.targets()
    question = practice.pick_question(question_bank.questions(), keys, level, progress.practised)
    titles = " and ".join(_title(key) for key in keys)
    say(f"sdx: drill: {titles}, with #{question.number} “{question.text}”")
    return Plan(question.text, level, tuple(keys))


def plan_retry(prefix: str, level: str | None) -> Plan:
    """The question of a graded interview, asked again at its level (unless --level says otherwise)."""
    with History.open() as history:
        earlier = history.load(history.resolve(prefix))
    if earlier.kind != "interview":
        raise wrong_kind(earlier, "interview")
    if earlier.meta.get("grade_status") != "graded" or not isinstance(earlier.meta.get("grade"), dict):
        short = (earlier.id or "")[:8]
        raise UsageError(
            f"{earlier.id} was never graded, so there is nothing to compare a retry with",
            f"grade it first: sdx interview --regrade {short} (or continue it: sdx interview --resume {short})",
        )
    question = str(earlier.meta.get("question") or earlier.title)
    return Plan(question, level or str(earlier.meta.get("level", rubric.DEFAULT_LEVEL)), earlier=earlier)


def interviewer_prompt(question: str, plan: Plan, minutes: int) -> str:
    """The interviewer's system prompt for `question` (the plan's, with any `-c` constraints), and a drill's brief."""
    prompt = rubric.interviewer_prompt(question, plan.level, minutes)
    if not plan.probe:
        return prompt
    from sdx.domain.drills import probe_instructions

    return f"{prompt}\n\n{probe_instructions(plan.probe, plan.level)}"


def plan_meta(plan: Plan) -> dict[str, object]:
    """What the interview's meta keeps of the plan (`drill`: the probed dimensions, `retry_of`: the earlier id)."""
    meta: dict[str, object] = {}
    if plan.probe:
        meta["drill"] = list(plan.probe)
    if plan.earlier is not None:
        meta["retry_of"] = plan.earlier.id
    return meta


def print_changes(earlier: Conversation, grade: dict[str, Any]) -> None:
    """After a retry's grade: each dimension's score then and now (Markdown on a pipe, a table on a terminal)."""
    from sdx.domain.drills import changes_legend, changes_markdown, changes_total, score_changes

    before = earlier.meta.get("grade")
    recommendation = str(before.get("recommendation", "")) if isinstance(before, dict) else ""
    changes = score_changes(before, grade)
    text = changes_markdown(changes, earlier.id or "", recommendation)
    env = current()
    if not env.stdout_isatty:
        print(f"\n{text}", file=env.stdout)
        return
    from rich.table import Table
    from rich.text import Text

    from sdx.terminal.render import console

    table = Table(title=text.splitlines()[0].removeprefix("## "), title_justify="left")
    for name, justify in (("dimension", "left"), ("before", "right"), ("now", "right"), ("change", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for item in changes:
        before_text, now_text, change = item.cells()
        style = "green" if (item.change or 0) > 0 else "red" if (item.change or 0) < 0 else ""
        table.add_row(item.title, before_text, now_text, Text(change, style=style))  # Text: `*` is no markup
    out = console()
    out.print(table)
    for line in (changes_total(changes), changes_legend(changes)):
        if line:
            out.print(line, markup=False)


# ---------------------------------------------------------------------------------------------------------------
# --resume


def elapsed_before(interview: Conversation) -> float:
    """Seconds of the interview used when it stopped: as stored with each turn, else (an interview stored before
    sdx kept it) from the first turn's start to the end of the last."""
    stored = interview.meta.get("elapsed")
    if isinstance(stored, (int, float)) and not isinstance(stored, bool):
        return float(stored)
    if not interview.turns:
        return 0.0
    first, last = interview.turns[0], interview.turns[-1]
    return max(0.0, last.created_at + (last.duration or 0.0) - first.created_at)


def check_resumable(interview: Conversation) -> None:
    short = (interview.id or "")[:8]
    if interview.kind != "interview":
        raise wrong_kind(interview, "interview")
    if interview.meta.get("grade_status") == "graded":
        raise UsageError(
            f"{interview.id} is already graded, so there is nothing to resume",
            f"ask the same question again: sdx interview --retry {short}",
        )


def stored_problem(interview: Conversation) -> tuple[str, str]:
    """The stored interview's question and the `-c` constraints it was presented with ("" for none)."""
    question = str(interview.meta.get("question") or interview.title)
    problem, marker, constraints = question.rpartition(CONSTRAINTS)
    return (problem, constraints) if marker else (question, "")


def check_stored_options(flag: str, interview: Conversation, options: Any) -> None:
    """--resume and --regrade take a stored interview as it is: its question, constraints, level and length (and
    its place in history). An option that would change one is refused, naming what the interview has; the same
    value given again passes."""
    name = f"the interview {(interview.id or '')[:8]}"
    acts = "continues it" if flag == "--resume" else "grades it"
    problem, constraints = stored_problem(interview)
    given = [mode for mode, on in _modes(options) if on and mode not in (flag, "a question")]
    if options.question and _normal(options.question) != _normal(problem):
        given.insert(0, "question")
    if given:
        raise UsageError(f"{name} asks “{problem}”, and {flag} {acts}", f"give no {' or '.join(given)} with {flag}")
    if options.context is not None and _normal(options.context) != _normal(constraints):
        presented = f"the constraints “{constraints}”" if constraints else "no constraints"
        raise UsageError(f"{name} was presented with {presented}, and {flag} {acts} as it was", "drop -c")
    level = str(interview.meta.get("level", rubric.DEFAULT_LEVEL))
    if options.level is not None and options.level != level:
        bar = "at that level" if flag == "--resume" else "against that level's bar"
        raise UsageError(f"{name} is at the {level} level, and {flag} {acts} {bar}", _other_level(interview, options))
    minutes = _minutes(interview)
    if options.minutes is not None and options.minutes != minutes:
        how = "with the time it had left" if flag == "--resume" else f"as a {minutes:g}-minute interview"
        raise UsageError(f"{name} is {minutes:g} minutes long, and {flag} {acts} {how}", "drop --minutes")
    if not options.log:
        stores = "its new turns" if flag == "--resume" else "the new grade"
        raise UsageError(f"{name} is in history, and {flag} stores {stores} there", "drop --no-log")


def _other_level(interview: Conversation, options: Any) -> str:
    """How to practise the question at another level instead: a retry of a graded interview, else a new one."""
    if interview.meta.get("grade_status") == "graded":
        short = (interview.id or "")[:8]
        return f"drop --level; to be graded at {options.level}: sdx interview --retry {short} --level {options.level}"
    return f"drop --level; to practise at {options.level}, start a new interview with --level {options.level}"


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _minutes(interview: Conversation) -> float:
    return float(interview.meta.get("minutes", rubric.STANDARD_MINUTES))  # type: ignore[arg-type]


def resume_interview(options: Any, config: Config) -> None:
    """Continue a stored interview that was not graded, with the time it had left, then grade it; one with no time
    left is graded at once (InterviewOptions: `resume`, `model`, `grader_model`, `max_tokens`, `timeout`; the
    others must agree with the stored interview). `-m` answers from now on, as `sdx chat --cid ID -m` does."""
    from sdx import grading
    from sdx.commands.interview import Interview, grade_interview
    from sdx.model.registry import chosen_model_name, resolve

    with History.open() as history:
        interview = history.load(history.resolve(options.resume))
        check_resumable(interview)
        check_stored_options("--resume", interview, options)
        name = chosen_model_name(options.model or interview.model, config)
        target = resolve(name, config)
        grader = grading.grader(options.grader_model, config, name)
        used, minutes = elapsed_before(interview), _minutes(interview)
        if used >= minutes * 60:
            say(
                f"sdx: the interview “{interview.title}” has no time left ({rubric.clock(used)} of {minutes:g} minutes"
                " used): grading it now"
            )
            grade_interview(interview, grader, history, config, options.timeout)
            return
        say(
            f"sdx: resuming the interview “{interview.title}”: {rubric.clock(used)} of {minutes:g} minutes used,"
            f" {rubric.clock(minutes * 60 - used)} left"
        )
        interview.model = name  # stored with the next turn: a later --resume goes on with it
        phase = interview.meta.get("phase", 0)
        session = Interview(interview, target, config, history, max_tokens=options.max_tokens, already=used)
        session.chosen_phase = phase if isinstance(phase, int) and 0 <= phase < len(rubric.PHASES) else 0
        session.run()
        session.send_waiting_diagram()
        grade_interview(interview, grader, history, config, options.timeout)


def _title(key: str) -> str:
    return next(dimension.title for dimension in rubric.DIMENSIONS if dimension.key == key)
