"""The practice loop's arithmetic: trends per dimension, the weakest dimensions, drills that come back, and which
built-in question drills them. Pure functions over graded interviews; no I/O, no pydantic.

Drills come back on a spaced schedule, by calendar days in UTC: a dimension scored 2 or less is due again the
next day; each later interview that scores it 3 or more pushes it out, to 3 days after that interview, then 7;
after a third such interview it is no longer due. Scoring it 2 or less again starts over at 1 day.

An unverified score (an evidence quote behind it not found in what was graded, or a grade from before sdx checked
quotes) is shown marked, and counts everywhere except one: a 3 or 4 whose quote was not found does not push a
drill out. A drill wrongly due costs one practice round; a weakness cleared on an invented quote would not come
back. A grade from before the check is not known to be wrong, so it counts as it always did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sdx.domain.evidence import evidence_view
from sdx.domain.question_bank import BankQuestion

WEAK_SCORE = 2  # this or less puts a dimension on the drill schedule
INTERVALS = (1, 3, 7)  # days until a weak dimension is due again, step by step
DEFAULT_WINDOW = 10  # interviews a trend covers
WEAKEST = 3  # dimensions named as the weakest
SPARKS = {1: "▁", 2: "▃", 3: "▅", 4: "█"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(h|d|w|mo|y)")
_UNIT_DAYS = {"h": 1 / 24, "d": 1, "w": 7, "mo": 30, "y": 365}


UNVERIFIED_MARK = "*"  # after an unverified score, and a change or mean taken from one (`sdx progress`, a retry)
UNVERIFIED_NOTE = (
    "* unverified: an evidence quote behind the score is not in what was graded (such a 3 or 4 does not clear a"
    " drill), or the grade is older than sdx's evidence check; a change or mean marked * is taken from such a score"
)


def marked(text: str, unverified: bool) -> str:
    return text + UNVERIFIED_MARK if unverified else text


@dataclass(frozen=True)
class GradedInterview:
    """A graded attempt: an interview, or a review of a design the user wrote (`kind`), graded on the same rubric."""

    id: str
    question: str
    level: str
    at: float  # when the interview started, or the review was graded (seconds since the epoch)
    scores: dict[str, int]  # dimension key -> 1..4, every dimension
    recommendation: str
    practice_next: tuple[str, ...] = ()
    kind: str = "interview"
    unverified: frozenset[str] = frozenset()  # the dimension keys whose score is unverified (module docstring)
    checked: bool = True  # False: graded before sdx checked evidence (every score unverified, none known wrong)

    def counts_for_schedule(self, key: str) -> bool:
        """Whether this score moves the drill schedule: a 3 or 4 whose evidence was not found does not."""
        return self.scores[key] <= WEAK_SCORE or not self.checked or key not in self.unverified


@dataclass(frozen=True)
class DimensionProgress:
    key: str
    scores: tuple[int, ...]  # the trend: the last interviews' scores, oldest first
    due_on: date | None  # when it is (or was) due for a drill; None: not on the schedule
    unverified: tuple[bool, ...] = ()  # for each score of the trend, whether it is unverified

    @property
    def latest(self) -> int:
        return self.scores[-1]

    @property
    def latest_unverified(self) -> bool:
        return bool(self.unverified) and self.unverified[-1]

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores)

    @property
    def mean_unverified(self) -> bool:
        """The mean is taken from an unverified score."""
        return any(self.unverified)

    @property
    def change(self) -> int | None:
        """Against the interview before the latest one (None with only one)."""
        return self.scores[-1] - self.scores[-2] if len(self.scores) > 1 else None

    @property
    def change_unverified(self) -> bool:
        """The change is from or to an unverified score, so it is unverified itself."""
        return self.change is not None and any(self.unverified[-2:])

    def is_due(self, today: date) -> bool:
        return self.due_on is not None and self.due_on <= today


@dataclass(frozen=True)
class Practised:
    question: str
    ids: tuple[str, ...]  # oldest first
    last: float
    recommendation: str  # of the latest attempt
    kinds: tuple[str, ...] = ()  # each attempt's kind (interview, review), as `ids`


@dataclass
class Progress:
    interviews: list[GradedInterview]  # oldest first
    dimensions: list[DimensionProgress]  # in rubric order
    today: date
    practised: list[Practised] = field(default_factory=list)  # most recent first

    def trend_attempts(self) -> list[GradedInterview]:
        """The graded attempts the trends cover, oldest first (a trend's scores are theirs, in this order)."""
        return self.interviews[-len(self.dimensions[0].scores) :] if self.dimensions else []

    def due(self) -> list[DimensionProgress]:
        """The dimensions due for a drill today, the longest overdue first."""
        due = [dimension for dimension in self.dimensions if dimension.is_due(self.today)]
        return sorted(due, key=lambda dimension: (dimension.due_on, dimension.latest))

    def ranked(self) -> list[DimensionProgress]:
        """Weakest first: the lowest latest score (ties: the lower mean over the trend, then rubric order)."""
        order = sorted(enumerate(self.dimensions), key=lambda pair: (pair[1].latest, pair[1].mean, pair[0]))
        return [dimension for _, dimension in order]

    def weakest(self, count: int = WEAKEST) -> list[DimensionProgress]:
        """The `count` weakest dimensions, leaving out those scored 4 last time (nothing to improve there)."""
        return [dimension for dimension in self.ranked() if dimension.latest < 4][:count]

    def targets(self, count: int = 2) -> list[str]:
        """What a drill should probe: the dimensions due first, then the weakest (the lowest 4s, when all are 4)."""
        keys: list[str] = []
        for dimension in [*self.due(), *self.ranked()]:
            if dimension.key not in keys:
                keys.append(dimension.key)
        return keys[:count]


def utc_day(seconds: float) -> date:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).date()


def graded_interview(
    conversation_id: str, title: str, at: float, meta: dict[str, object], keys: Sequence[str], kind: str = "interview"
) -> GradedInterview | None:
    """The interview's (or review's) grade as a GradedInterview, or None when it has no grade this rubric can read.
    A grade without the evidence check's result (stored before sdx checked quotes) has every score unverified."""
    grade = meta.get("grade")
    if meta.get("grade_status") != "graded" or not isinstance(grade, dict):
        return None
    dimensions = grade.get("dimensions")
    if not isinstance(dimensions, dict):
        return None
    scores: dict[str, int] = {}
    for key in keys:
        scored = dimensions.get(key)
        score = scored.get("score") if isinstance(scored, dict) else None
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 4:
            return None
        scores[key] = score
    practice_next = grade.get("practice_next")
    check = evidence_view(grade)
    return GradedInterview(
        id=conversation_id,
        question=str(meta.get("question") or title),
        level=str(meta.get("level") or ""),
        at=at,
        scores=scores,
        recommendation=str(grade.get("recommendation", "")),
        practice_next=tuple(str(item) for item in practice_next) if isinstance(practice_next, list) else (),
        kind=kind,
        unverified=frozenset(key for key in keys if check.unverified(key)),
        checked=check.checked,
    )


def due_on(history: Iterable[tuple[float, int]]) -> date | None:
    """When a dimension with these (time, score) results, oldest first, is due for a drill (module docstring)."""
    step: int | None = None
    anchor: date | None = None
    for at, score in history:
        if score <= WEAK_SCORE:
            step, anchor = 0, utc_day(at)
        elif step is not None:
            step, anchor = step + 1, utc_day(at)
            if step >= len(INTERVALS):
                step = None
    if step is None or anchor is None:
        return None
    return anchor + timedelta(days=INTERVALS[step])


def progress(interviews: Sequence[GradedInterview], keys: Sequence[str], now: float, window: int) -> Progress:
    """Trends, drill dates and the questions practised, from graded interviews (any order)."""
    ordered = sorted(interviews, key=lambda interview: (interview.at, interview.id))
    dimensions = [
        DimensionProgress(
            key,
            tuple(interview.scores[key] for interview in ordered[-window:]),
            due_on((i.at, i.scores[key]) for i in ordered if i.counts_for_schedule(key)),
            tuple(key in interview.unverified for interview in ordered[-window:]),
        )
        for key in keys
    ]
    return Progress(list(ordered), dimensions if ordered else [], utc_day(now), practised(ordered))


def practised(ordered: Sequence[GradedInterview]) -> list[Practised]:
    """Each question practised (by its text), with its attempts; the most recently practised first."""
    attempts: dict[str, list[GradedInterview]] = {}
    for interview in ordered:
        attempts.setdefault(" ".join(interview.question.split()).casefold(), []).append(interview)
    rows = [
        Practised(
            runs[-1].question,
            tuple(run.id for run in runs),
            runs[-1].at,
            runs[-1].recommendation,
            tuple(run.kind for run in runs),
        )
        for runs in attempts.values()
    ]
    return sorted(rows, key=lambda row: row.last, reverse=True)


def pick_question(
    bank: Sequence[BankQuestion], targets: Sequence[str], level: str | None, practised: Iterable[Practised]
) -> BankQuestion:
    """The built-in question that best drills `targets` (the first weighs most), preferring one not practised yet
    (else the one practised longest ago), then one asked at `level`, then the bank's order."""
    last_practised = {" ".join(row.question.split()).casefold(): row.last for row in practised}

    def rank(question: BankQuestion) -> tuple[float, ...]:
        weight = sum(len(targets) - targets.index(key) for key in question.dimensions if key in targets)
        last = last_practised.get(question.text.casefold(), float("-inf"))
        return (-weight, last, 0 if question.level == level else 1, question.number)

    return min(bank, key=rank)


def sparkline(scores: Iterable[int]) -> str:
    return "".join(SPARKS.get(score, "?") for score in scores)


def since_cutoff(text: str, now: float) -> float:
    """`30d`, `2w`, `12h`, `6mo`, `1y` before `now`, or a date `2026-11-01` (midnight UTC), as epoch seconds;
    ValueError when it is neither."""
    wanted = text.strip().lower()
    duration = _DURATION.fullmatch(wanted)
    if duration:
        return now - float(duration.group(1)) * _UNIT_DAYS[duration.group(2)] * 86400
    try:
        day = date.fromisoformat(wanted)
    except ValueError:
        raise ValueError(text) from None
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()
