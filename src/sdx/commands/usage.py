"""`sdx usage`: answers, grading requests, tokens in and out, and cost from the history, totalled by day, week,
month, model or kind.

Two SQL queries do the totals, grouped in SQLite: one over the answers (the `turns_usage` index holds every
column it reads, so the turns' text is never read: 20,000 turns take milliseconds), one over the grading
requests (`gradings_usage`, likewise); their rows are added together by group. A grading request is counted by
when it was sent, under the grader model and under the graded conversation's kind. Days, weeks (from Monday) and
months are UTC. A request that never reached the server, or that it refused, is not an answer, nor is a turn no
model answered (a review's design, stored as its one turn: `model_id` ''): `answer_sql`. A request (an answer or a
grading) the server received but never answered whole is counted, of unknown cost, its completion tokens what
arrived, or unknown (NULL, left out of the sums, which are then marked as estimates) when nothing did. A cost
that is unknown is counted and said, never added as zero; a total that includes an estimate is marked `~`, as
estimated token counts are.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from dataclasses import asdict, dataclass

from sdx.domain.conversation import UNANSWERED, answer_sql
from sdx.environment import current
from sdx.errors import UsageError
from sdx.model.pricing import CONFIGURED, PRICE_LIST, cost_text
from sdx.store.history import History
from sdx.terminal.render import say

GROUPS = {
    "day": "strftime('%Y-%m-%d', t.created_at, 'unixepoch')",
    "week": "date(t.created_at, 'unixepoch', '-6 days', 'weekday 1')",  # the Monday on or before
    "month": "strftime('%Y-%m', t.created_at, 'unixepoch')",
    "model": "t.model_id",
    "kind": "c.kind",
}
HEADINGS = {"day": "DAY", "week": "WEEK OF", "month": "MONTH", "model": "MODEL", "kind": "KIND"}
SINCE = re.compile(r"(?P<count>\d+)\s*(?P<unit>h|d|w)")
UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}
SINCE_EXAMPLES = "30d, 12h, 2w or 2026-11-01"

ANSWER = answer_sql("t")  # a turn that may have cost something
_TOTALS = f"""
SELECT {{group}}, count(*), total(t.prompt_tokens), total(t.completion_tokens), max(t.tokens_estimated),
       total(t.cost), count(t.cost), max(t.cost_source IN ('{CONFIGURED}', '{PRICE_LIST}'))
FROM turns t {{join}}
WHERE t.created_at >= ? AND {ANSWER}
GROUP BY 1 ORDER BY 1
"""

_GRADING_TOTALS = f"""
SELECT {{group}}, count(*), total(t.prompt_tokens), total(t.completion_tokens), max(t.tokens_estimated),
       total(t.cost), count(t.cost), max(t.cost_source IN ('{CONFIGURED}', '{PRICE_LIST}'))
FROM gradings t
WHERE t.created_at >= ?
GROUP BY 1 ORDER BY 1
"""
GRADING_GROUPS = {**GROUPS, "kind": "t.kind"}  # a grading request keeps the kind of what it graded

_UNKNOWN_BY_MODEL = f"""
SELECT model_id, total(NOT grading), total(grading), total(unanswered) FROM (
    SELECT t.model_id, 0 AS grading, t.delivery = '{UNANSWERED}' AS unanswered FROM turns t
    WHERE t.created_at >= ? AND {ANSWER} AND t.cost IS NULL
    UNION ALL
    SELECT t.model_id, 1, t.completion_tokens IS NULL FROM gradings t WHERE t.created_at >= ? AND t.cost IS NULL
)
GROUP BY 1 ORDER BY count(*) DESC, 1
"""


@dataclass
class Totals:
    """One row of `sdx usage` (its `--json` fields): the answers and the grading requests together, except where
    a field says which."""

    group: str
    answers: int = 0  # answers (turns that got text); grading requests are `gradings`
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_estimated: bool = False
    cost_usd: float | None = None  # the sum of the known costs, grading included; None when none is known
    cost_estimated: bool = False
    unknown_cost: int = 0  # answers and grading requests whose cost is unknown (not in cost_usd)
    gradings: int = 0  # grading requests that were answered (a grade takes one to three)
    grading_cost_usd: float | None = None  # the part of cost_usd that grading cost; None when none is known

    def add(self, other: Totals) -> None:
        self.answers += other.answers
        self.gradings += other.gradings
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.tokens_estimated |= other.tokens_estimated
        self.cost_usd = _plus(self.cost_usd, other.cost_usd)
        self.grading_cost_usd = _plus(self.grading_cost_usd, other.grading_cost_usd)
        self.cost_estimated |= other.cost_estimated
        self.unknown_cost += other.unknown_cost


def _plus(known: float | None, more: float | None) -> float | None:
    return known if more is None else (known or 0.0) + more


def parse_since(text: str | None, now: float) -> float:
    """`30d`, `12h`, `2w` before now, or a UTC date `2026-11-01`, as Unix time; None: the beginning."""
    if text is None:
        return float("-inf")
    wanted = text.strip().lower()
    if match := SINCE.fullmatch(wanted):
        return now - int(match["count"]) * UNIT_SECONDS[match["unit"]]
    try:
        return float(calendar.timegm(time.strptime(wanted, "%Y-%m-%d")))
    except (ValueError, OverflowError):
        raise UsageError(f"--since must be like {SINCE_EXAMPLES} (got {text!r})", "e.g. --since 30d") from None


def usage_totals(history: History, by: str, since: float) -> list[Totals]:
    """The rows, by group: the answers' totals plus the grading requests'."""
    join = "JOIN conversations c ON c.id = t.conversation_id" if by == "kind" else ""
    answers = history.db.execute(_TOTALS.format(group=GROUPS[by], join=join), (since,)).fetchall()
    gradings = history.db.execute(_GRADING_TOTALS.format(group=GRADING_GROUPS[by]), (since,)).fetchall()
    rows: dict[str, Totals] = {}
    for grading, found in ((False, answers), (True, gradings)):
        for group, count, tokens_in, tokens_out, estimated, cost, known, cost_estimated in found:
            name = str(group or "(unknown)")
            rows.setdefault(name, Totals(name)).add(
                Totals(
                    group=name,
                    answers=0 if grading else count,
                    gradings=count if grading else 0,
                    tokens_in=int(tokens_in),
                    tokens_out=int(tokens_out),
                    tokens_estimated=bool(estimated),
                    cost_usd=cost if known else None,
                    grading_cost_usd=cost if known and grading else None,
                    cost_estimated=bool(cost_estimated),
                    unknown_cost=count - known,
                )
            )
    return [rows[name] for name in sorted(rows)]


@dataclass(frozen=True)
class Unknown:
    """A model's requests of unknown cost: `unanswered` of them (answers or grading requests) got no whole reply."""

    model: str
    answers: int
    gradings: int
    unanswered: int


def unknown_by_model(history: History, since: float) -> list[Unknown]:
    """The models with requests of unknown cost, the most first."""
    found = history.db.execute(_UNKNOWN_BY_MODEL, (since, since))
    return [
        Unknown(model or "(unknown)", int(answers), int(gradings), int(none))
        for model, answers, gradings, none in found
    ]


def print_usage(by: str, since_text: str | None, as_json: bool) -> None:
    if by not in GROUPS:
        raise UsageError(f"--by must be one of {', '.join(GROUPS)} (got {by!r})", "e.g. --by model")
    env = current()
    since = parse_since(since_text, env.wall_clock())
    with History.open() as history:
        rows = usage_totals(history, by, since)
        unknown = unknown_by_model(history, since) if any(row.unknown_cost for row in rows) else []
    total = Totals("total")
    for row in rows:
        total.add(row)
    if as_json:
        data = {
            "by": by,
            "since": None if since_text is None else iso_utc(since),
            "rows": [asdict(row) for row in rows],
            "total": asdict(total),
        }
        env.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if not rows:
        say(f"sdx: no answers since {iso_utc(since)}" if since_text else "sdx: no answers in history yet")
        return
    if env.stdout_isatty:
        print_table(rows, total, by)
    else:
        env.stdout.write("".join(line + "\n" for line in plain_lines(rows, total, by)))
    if unknown:
        say_unknown(unknown)


def say_unknown(unknown: list[Unknown]) -> None:
    """One note: what the cost column leaves out, by model, and what would price it. A request that got no whole
    reply cannot be priced by `[prices]` (what it generated is unknown), so the advice is only for the others."""
    answers = sum(each.answers for each in unknown)
    gradings = sum(each.gradings for each in unknown)
    unanswered = sum(each.unanswered for each in unknown)
    shown = ", ".join(f"{each.model} ({each.answers + each.gradings})" for each in unknown[:5])
    shown += ", …" if len(unknown) > 5 else ""
    what = [
        *([f"{answers} {'answer' if answers == 1 else 'answers'}"] if answers else []),
        *([f"{gradings} grading {'request' if gradings == 1 else 'requests'}"] if gradings else []),
    ]
    note = f"sdx: note: the cost column leaves out {' and '.join(what)} of unknown cost: {shown}"
    prices = 'a [prices."provider:model"] entry in the config file prices the next ones'
    if unanswered:
        them = "it" if unanswered == 1 else "them"
        which = "" if unanswered == answers + gradings else f"{unanswered} of them "
        note += (
            f"; {which}got no whole reply (a timeout, a dropped connection, Ctrl-C),"
            f" so what the model generated is unknown and no price can cost {them}"
        )
        say(note if not which else f"{note}; {prices} that are answered")
        return
    say(f"{note}; {prices}")


def cells(row: Totals, with_gradings: bool = False) -> list[str]:
    approx = "~" if row.tokens_estimated else ""
    cost = cost_text(row.cost_usd, PRICE_LIST if row.cost_estimated else "") if row.cost_usd is not None else "-"
    return [
        row.group,
        str(row.answers),
        *([str(row.gradings)] if with_gradings else []),
        f"{approx}{row.tokens_in:,}",
        f"{approx}{row.tokens_out:,}",
        cost,
        str(row.unknown_cost) if row.unknown_cost else "",
    ]


def headings(by: str, with_gradings: bool = False) -> list[str]:
    """The columns; GRADINGS (grading requests) only when some were made."""
    gradings = ["GRADINGS"] if with_gradings else []
    return [HEADINGS[by], "ANSWERS", *gradings, "TOKENS IN", "TOKENS OUT", "COST", "UNKNOWN COST"]


def plain_lines(rows: list[Totals], total: Totals, by: str) -> list[str]:
    """Aligned columns for a pipe: the first left, the numbers right."""
    graded = total.gradings > 0
    table = [headings(by, graded), *(cells(row, graded) for row in rows), cells(total, graded)]
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    return [
        "  ".join(
            cell.ljust(width) if n == 0 else cell.rjust(width)
            for n, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]


def print_table(rows: list[Totals], total: Totals, by: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from sdx.terminal.render import console, sanitize_for_terminal

    graded = total.gradings > 0
    table = Table(box=None, header_style="bold", pad_edge=False, show_footer=True)
    for number, (heading, foot) in enumerate(zip(headings(by, graded), cells(total, graded), strict=True)):
        justify = "left" if number == 0 else "right"
        table.add_column(heading, footer=Text(foot), justify=justify, footer_style="bold")
    for row in rows:
        table.add_row(*(Text(sanitize_for_terminal(cell)) for cell in cells(row, graded)))  # text, never markup
    console().print(table)


def iso_utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(max(seconds, 0)))
