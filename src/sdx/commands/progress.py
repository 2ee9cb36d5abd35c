"""`sdx progress`: what the stored grades say about the candidate over time.

Per dimension the latest score, the trend over the last interviews (a sparkline on a terminal), the mean, and
whether a drill is due (domain/practice.py has the schedule); then the weakest dimensions, the questions
practised and when, and what to practise next. A Rich table on a terminal, plain aligned text on a pipe, JSON
with `--json`. Talks to no model: imports neither openai nor rich.markdown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sdx.domain import practice, question_bank
from sdx.domain.practice import DimensionProgress, Progress
from sdx.environment import current
from sdx.errors import UsageError
from sdx.store.history import History
from sdx.terminal.render import console, sanitize_for_terminal, say

PRACTISED_SHOWN = 10  # questions listed on a terminal or pipe (all of them in --json)
HOW_TO_GET_ONE = 'run `sdx interview --random` (or `sdx interview "Design a URL shortener"`) and finish it with /done'


@dataclass(frozen=True)
class ProgressOptions:
    since: str | None = None
    level: str | None = None
    window: int = practice.DEFAULT_WINDOW
    as_json: bool = False


def run_progress(options: ProgressOptions) -> None:
    from sdx.domain.rubric import DIMENSION_KEYS

    level = check_level(options.level)
    now = current().wall_clock()
    cutoff = check_since(options.since, now)
    graded = [
        interview
        for interview in stored_grades(DIMENSION_KEYS)
        if interview.at >= cutoff and (level is None or interview.level == level)
    ]
    result = practice.progress(graded, DIMENSION_KEYS, now, options.window)
    if options.as_json:
        print(json.dumps(progress_json(result, options, level), indent=2, ensure_ascii=False), file=current().stdout)
    if not graded:
        say(f"sdx: no graded interviews{_filters(options.since, level)} yet — {HOW_TO_GET_ONE}")
        return
    if not options.as_json:
        print_progress(result, level)


def load_progress(window: int = practice.DEFAULT_WINDOW) -> Progress:
    """The progress over every graded interview in history (for `sdx interview --weak`)."""
    from sdx.domain.rubric import DIMENSION_KEYS

    return practice.progress(stored_grades(DIMENSION_KEYS), DIMENSION_KEYS, current().wall_clock(), window)


def stored_grades(keys: Sequence[str]) -> list[practice.GradedInterview]:
    """Every graded interview in history, oldest first: only the few values progress needs are read from each
    stored grade (a thousand grades would take most of the time budget to parse whole)."""
    fields = ["grade_status", "level", "question", "grade.recommendation", "grade.practice_next"]
    paths = [f"$.{name}" for name in fields] + [f"$.grade.dimensions.{key}.score" for key in keys]
    with History.open() as history:
        rows = history.json_values("interview", paths)
    graded = []
    for conversation_id, title, created_at, values in rows:
        status, level, question, recommendation, practice_next, *scores = values
        meta = {
            "grade_status": status,
            "level": level,
            "question": question,
            "grade": {
                "recommendation": recommendation,
                "practice_next": practice_next,
                "dimensions": {key: {"score": score} for key, score in zip(keys, scores, strict=False)},
            },
        }
        interview = practice.graded_interview(conversation_id, title, created_at, meta, keys)
        if interview is not None:
            graded.append(interview)
    return graded


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
        "interviews": len(result.interviews),
        "since": options.since,
        "level": level,
        "today": today.isoformat(),
        "dimensions": [_dimension_json(dimension, today) for dimension in result.dimensions],
        "weakest": [dimension.key for dimension in result.weakest()] if result.interviews else [],
        "due": [dimension.key for dimension in result.due()],
        "practised": [
            {"question": row.question, "times": len(row.ids), "last": iso_time(row.last), "ids": list(row.ids)}
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


def _dimension_json(dimension: DimensionProgress, today: date) -> dict[str, object]:
    return {
        "key": dimension.key,
        "latest": dimension.latest,
        "change": dimension.change,
        "scores": list(dimension.scores),
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


def change_text(change: int | None) -> str:
    return "" if change is None or change == 0 else f"{change:+d}"


def print_progress(result: Progress, level: str | None) -> None:
    from sdx.domain.rubric import DIMENSIONS

    titles = {dimension.key: dimension.title for dimension in DIMENSIONS}
    terminal = current().stdout_isatty
    clean = sanitize_for_terminal if terminal else (lambda text: text)
    first, last = practice.utc_day(result.interviews[0].at), practice.utc_day(result.interviews[-1].at)
    count = len(result.interviews)
    heading = (
        f"{count} graded interview{'' if count == 1 else 's'}{f' at the {level} level' if level else ''},"
        f" {first.isoformat()} to {last.isoformat()} (UTC); trends over the last {len(result.dimensions[0].scores)}"
    )
    if terminal:
        _rich_table(heading, result, titles)
    else:
        print(heading, file=current().stdout)
        _plain_table(result, titles)
    out = current().stdout
    weakest = ", ".join(f"{titles[d.key]} ({d.latest})" for d in result.weakest()) or "none: every latest score is 4"
    lines = ["", f"Weakest: {weakest}", "", "Practised:"]
    for row in result.practised[:PRACTISED_SHOWN]:
        times = f" ×{len(row.ids)}" if len(row.ids) > 1 else ""
        lines.append(f"  {practice.utc_day(row.last).isoformat()}  {clean(row.question)}{times} ({row.recommendation})")
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


def _cells(dimension: DimensionProgress, title: str, today: date, spark: bool) -> tuple[str, ...]:
    trend = practice.sparkline(dimension.scores) if spark else " ".join(map(str, dimension.scores))
    mean = f"{dimension.mean:.1f}"
    return title, f"{dimension.latest}/4", change_text(dimension.change), trend, mean, drill_text(dimension, today)


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
