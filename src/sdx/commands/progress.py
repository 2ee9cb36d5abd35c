"""`sdx progress`: what the stored grades say about the candidate over time.

The grades are those of interviews and of reviews (`sdx review`: the same rubric), or of one kind (`--kind`).
Per dimension the latest score, the trend over the last interviews (a sparkline on a terminal), the mean, and
whether a drill is due (domain/practice.py has the schedule); then the weakest dimensions, the questions
practised and when, and what to practise next. A score whose evidence is unverified is marked `*` wherever it is
shown (and `unverified` in `--json`), and so are a change and a mean taken from one (`--json` has the scores
they are taken from, each marked in `unverified`). A Rich table on a terminal, plain aligned text on a pipe, JSON with
`--json`. Talks to no model: imports neither openai nor rich.markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sdx.domain import practice, question_bank
from sdx.domain.conversation import GRADED_KINDS
from sdx.domain.evidence import CHECK_KEY
from sdx.domain.practice import UNVERIFIED_NOTE, DimensionProgress, Progress, marked
from sdx.environment import current
from sdx.errors import UsageError
from sdx.store.history import History
from sdx.terminal.render import console, json_text, sanitize_for_terminal, say

PRACTISED_SHOWN = 10  # questions listed on a terminal or pipe (all of them in --json)
KINDS = GRADED_KINDS  # the conversations that carry a grade on the rubric: interview, review
HOW_TO_GET_ONE = 'run `sdx interview --random` (or `sdx interview "Design a URL shortener"`) and finish it with /done'
HOW_TO_GET_A_REVIEW = "grade a design you wrote: `sdx review design.md`"


@dataclass(frozen=True)
class ProgressOptions:
    since: str | None = None
    level: str | None = None
    window: int = practice.DEFAULT_WINDOW
    as_json: bool = False
    kind: str | None = None  # interview or review; None: both


def run_progress(options: ProgressOptions) -> None:
    from sdx.domain.rubric import DIMENSION_KEYS

    level = check_level(options.level)
    kinds = check_kind(options.kind)
    now = current().wall_clock()
    cutoff = check_since(options.since, now)
    graded = [
        interview
        for interview in stored_grades(DIMENSION_KEYS, kinds)
        if interview.at >= cutoff and (level is None or interview.level == level)
    ]
    result = practice.progress(graded, DIMENSION_KEYS, now, options.window)
    if options.as_json:
        current().stdout.write(json_text(progress_json(result, options, level), current().stdout_isatty))
    if not graded:
        say(f"sdx: {nothing_graded(kinds)}{_filters(options.since, level)} yet — {how_to_get_one(kinds)}")
        return
    if not options.as_json:
        print_progress(result, level)


def load_progress(window: int = practice.DEFAULT_WINDOW) -> Progress:
    """The progress over every graded interview and review in history (for `sdx interview --weak`)."""
    from sdx.domain.rubric import DIMENSION_KEYS

    return practice.progress(stored_grades(DIMENSION_KEYS, KINDS), DIMENSION_KEYS, current().wall_clock(), window)


def stored_grades(keys: Sequence[str], kinds: Sequence[str] = KINDS) -> list[practice.GradedInterview]:
    """Every graded interview (and review) in history, oldest first: only the few values progress needs are read
    from each stored grade (a thousand grades would take most of the time budget to parse whole)."""
    fields = ["grade_status", "level", "question", "grade.recommendation", "grade.practice_next"]
    fields.append("grade.evidence_check.not_found")  # {key: [quotes]}, small; absent from grades before the check
    paths = [f"$.{name}" for name in fields] + [f"$.grade.dimensions.{key}.score" for key in keys]
    with History.open() as history:
        rows = [(kind, row) for kind in kinds for row in history.json_values(kind, paths)]
    graded = []
    for kind, (conversation_id, title, created_at, values) in rows:
        status, level, question, recommendation, practice_next, not_found, *scores = values
        grade = {
            "recommendation": recommendation,
            "practice_next": practice_next,
            "dimensions": {key: {"score": score} for key, score in zip(keys, scores, strict=False)},
        }
        if isinstance(not_found, dict):
            grade[CHECK_KEY] = {"not_found": not_found}
        meta = {"grade_status": status, "level": level, "question": question, "grade": grade}
        interview = practice.graded_interview(conversation_id, title, created_at, meta, keys, kind)
        if interview is not None:
            graded.append(interview)
    return sorted(graded, key=lambda interview: (interview.at, interview.id))


def check_kind(kind: str | None) -> tuple[str, ...]:
    if kind is None:
        return KINDS
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}", f"choose {' or '.join(KINDS)} (without --kind: both)")
    return (kind,)


def nothing_graded(kinds: Sequence[str]) -> str:
    return "no graded " + " or ".join(f"{kind}s" for kind in kinds)


def how_to_get_one(kinds: Sequence[str]) -> str:
    if "interview" not in kinds:
        return HOW_TO_GET_A_REVIEW
    return HOW_TO_GET_ONE + (f"; or {HOW_TO_GET_A_REVIEW}" if "review" in kinds else "")


def counted(graded: Sequence[practice.GradedInterview]) -> str:
    """`4 graded interviews and 1 review`, `1 graded review`."""
    counts = [(kind, sum(1 for interview in graded if interview.kind == kind)) for kind in KINDS]
    words = [f"{count} {kind}{'' if count == 1 else 's'}" for kind, count in counts if count]
    number, _, kind = words[0].partition(" ")
    return " and ".join([f"{number} graded {kind}", *words[1:]])


def check_level(level: str | None) -> str | None:
    if level is None:
        return None
    if level not in question_bank.LEVELS:
        raise UsageError(f"unknown level {level!r}", f"choose one of: {', '.join(question_bank.LEVELS)}")
    return level


def check_since(since: str | None, now: float) -> float:
    if since is None:
        return float("-inf")
    try:
        return practice.since_cutoff(since, now)
    except ValueError:
        raise UsageError(
            f"cannot read --since {since!r}", "give a time like 30d, 2w, 12h, 6mo or a date 2026-11-01"
        ) from None


def _filters(since: str | None, level: str | None) -> str:
    return (f" since {since}" if since else "") + (f" at the {level} level" if level else "")


def suggestion(result: Progress, level: str | None) -> question_bank.BankQuestion:
    return practice.pick_question(question_bank.questions(), result.targets(), level, result.practised)


# ---------------------------------------------------------------------------------------------------------------
# JSON


def progress_json(result: Progress, options: ProgressOptions, level: str | None) -> dict[str, object]:
    from sdx.commands.history import iso_time

    today = result.today
    data: dict[str, object] = {
        "interviews": sum(1 for interview in result.interviews if interview.kind == "interview"),
        "reviews": sum(1 for interview in result.interviews if interview.kind == "review"),
        "kind": options.kind,
        "since": options.since,
        "level": level,
        "today": today.isoformat(),
        "attempts": [_attempt_json(interview) for interview in result.trend_attempts()],
        "dimensions": [_dimension_json(dimension, today) for dimension in result.dimensions],
        "weakest": [dimension.key for dimension in result.weakest()] if result.interviews else [],
        "due": [dimension.key for dimension in result.due()],
        "practised": [
            {
                "question": row.question,
                "times": len(row.ids),
                "last": iso_time(row.last),
                "ids": list(row.ids),
                "kinds": list(row.kinds),
            }
            for row in result.practised
        ],
        "next": None,
    }
    if result.interviews:
        question = suggestion(result, level)
        data["next"] = {
            "dimensions": result.targets(),
            "question": question.as_json(),
            "practice_next": list(result.interviews[-1].practice_next),
        }
    return data


def _attempt_json(interview: practice.GradedInterview) -> dict[str, object]:
    from sdx.commands.history import iso_time

    return {"id": interview.id, "kind": interview.kind, "at": iso_time(interview.at), "question": interview.question}


def _dimension_json(dimension: DimensionProgress, today: date) -> dict[str, object]:
    return {
        "key": dimension.key,
        "latest": dimension.latest,
        "change": dimension.change,
        "scores": list(dimension.scores),
        "unverified": list(dimension.unverified),  # for each score: its evidence was not found, or never checked
        "latest_unverified": dimension.latest_unverified,
        "mean": round(dimension.mean, 2),
        "due_on": dimension.due_on.isoformat() if dimension.due_on else None,
        "due": dimension.is_due(today),
    }


# ---------------------------------------------------------------------------------------------------------------
# Text


def drill_text(dimension: DimensionProgress, today: date) -> str:
    """`due` (since when, if earlier than today), `in 2 days`, or nothing."""
    if dimension.due_on is None:
        return ""
    days = (dimension.due_on - today).days
    if days < 0:
        return f"due (since {dimension.due_on.isoformat()})"
    if days == 0:
        return "due"
    return "due tomorrow" if days == 1 else f"due in {days} days"


def change_text(dimension: DimensionProgress) -> str:
    """`+1`, `-1*` (from or to an unverified score), `0*`; nothing for no change between verified scores."""
    change = dimension.change
    if change is None or (change == 0 and not dimension.change_unverified):
        return ""
    return marked(f"{change:+d}" if change else "0", dimension.change_unverified)


def print_progress(result: Progress, level: str | None) -> None:
    from sdx.domain.rubric import DIMENSIONS

    titles = {dimension.key: dimension.title for dimension in DIMENSIONS}
    terminal = current().stdout_isatty
    clean = sanitize_for_terminal if terminal else (lambda text: text)
    first, last = practice.utc_day(result.interviews[0].at), practice.utc_day(result.interviews[-1].at)
    heading = (
        f"{counted(result.interviews)}{f' at the {level} level' if level else ''},"
        f" {first.isoformat()} to {last.isoformat()} (UTC); trends over the last {len(result.dimensions[0].scores)}"
    )
    if terminal:
        _rich_table(heading, result, titles)
    else:
        print(heading, file=current().stdout)
        _plain_table(result, titles)
    out = current().stdout
    weakest = ", ".join(f"{titles[d.key]} ({marked(str(d.latest), d.latest_unverified)})" for d in result.weakest())
    lines = [UNVERIFIED_NOTE] if any(any(d.unverified) for d in result.dimensions) else []
    lines += ["", f"Weakest: {weakest or 'none: every latest score is 4'}", "", "Practised:"]
    for row in result.practised[:PRACTISED_SHOWN]:
        day = practice.utc_day(row.last).isoformat()
        lines.append(f"  {day}  {clean(row.question)} ({row.recommendation}) — {attempts_text(row.kinds)}")
    if len(result.practised) > PRACTISED_SHOWN:
        lines.append(f"  … and {len(result.practised) - PRACTISED_SHOWN} more (--json lists them all)")
    question = suggestion(result, level)
    targets = " and ".join(titles[key] for key in result.targets())
    lines += ["", f"Next: drill {targets} with `sdx interview --weak`: #{question.number} {question.text}"]
    if result.interviews[-1].practice_next:
        lines.append("From the latest grade:")
        lines += [f"  - {clean(item)}" for item in result.interviews[-1].practice_next]
    print("\n".join(lines), file=out)


COLUMNS = ("dimension", "latest", "change", "trend", "mean", "drill")
SCORE_STYLES = {1: "bold red", 2: "yellow", 3: "green", 4: "bold green"}


def attempts_text(kinds: Sequence[str]) -> str:
    """`2 interviews`, `1 interview, 1 review`: the attempts at a question, by kind."""
    counts = [(kind, sum(1 for each in kinds if each == kind)) for kind in KINDS]
    return ", ".join(f"{count} {kind}{'' if count == 1 else 's'}" for kind, count in counts if count)


def trend_text(dimension: DimensionProgress, spark: bool) -> str:
    """The trend's scores oldest first (`2 1* 3`, or a sparkline `▃▁*▅`), each unverified one marked."""
    flags = dimension.unverified or (False,) * len(dimension.scores)
    cells = [
        marked(practice.sparkline([score]) if spark else str(score), unverified)
        for score, unverified in zip(dimension.scores, flags, strict=True)
    ]
    return ("" if spark else " ").join(cells)


def _cells(dimension: DimensionProgress, title: str, today: date, spark: bool) -> tuple[str, ...]:
    latest = marked(f"{dimension.latest}/4", dimension.latest_unverified)
    trend, mean = trend_text(dimension, spark), marked(f"{dimension.mean:.1f}", dimension.mean_unverified)
    return title, latest, change_text(dimension), trend, mean, drill_text(dimension, today)


def _plain_table(result: Progress, titles: dict[str, str]) -> None:
    rows = [COLUMNS, *(_cells(d, titles[d.key], result.today, spark=False) for d in result.dimensions)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    print("\n".join(lines), file=current().stdout)


def _rich_table(heading: str, result: Progress, titles: dict[str, str]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=heading, title_justify="left")
    for name in COLUMNS:
        table.add_column(name, no_wrap=name != "dimension", justify="center" if name in COLUMNS[1:3] else "left")
    for dimension in result.dimensions:
        title, latest, *middle, drill = _cells(dimension, titles[dimension.key], result.today, spark=True)
        score = Text(latest, style=SCORE_STYLES[dimension.latest])
        table.add_row(title, score, *middle, Text(drill, style="bold" if drill.startswith("due") else ""))
    console().print(table)
