"""The built-in question bank: classic system design problems, each with its topics, the rubric dimensions it
exercises best and the level it is usually asked at. The content lives in `questions.json` beside this module
(package data); the numbers are positions in that file, 1-based, and never change for the first questions, so
that `sdx ask --example N` keeps meaning the same question.

No I/O beyond reading that file once; no pydantic (`sdx examples` starts fast), so the dimension ids and levels
are checked against the rubric by the tests, not here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEVELS = ("mid", "senior", "staff")  # rubric.LEVELS, junior first (the tests check they agree)


@dataclass(frozen=True)
class BankQuestion:
    number: int  # 1-based, as `sdx examples` lists it
    text: str
    topics: tuple[str, ...]
    dimensions: tuple[str, ...]  # rubric dimension keys, the one it exercises most first
    level: str  # mid, senior or staff

    def as_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "question": self.text,
            "topics": list(self.topics),
            "dimensions": list(self.dimensions),
            "level": self.level,
        }


@cache
def questions() -> tuple[BankQuestion, ...]:
    """Every question in the bank, in its order."""
    text = resources.files("sdx.domain").joinpath("questions.json").read_text(encoding="utf-8")
    return tuple(
        BankQuestion(number, item["question"], tuple(item["topics"]), tuple(item["dimensions"]), item["level"])
        for number, item in enumerate(json.loads(text)["questions"], start=1)
    )


def texts() -> tuple[str, ...]:
    return tuple(question.text for question in questions())


def by_number(number: int) -> BankQuestion:
    """The question by its 1-based number; IndexError when there is none."""
    bank = questions()
    if not 1 <= number <= len(bank):
        raise IndexError(number)
    return bank[number - 1]


def topics() -> tuple[str, ...]:
    """Every topic some question has, sorted."""
    return tuple(sorted({topic for question in questions() for topic in question.topics}))


def select(topic: str | None = None, level: str | None = None) -> list[BankQuestion]:
    """The questions with `topic` among their topics and asked at `level` (either may be None: any)."""
    return [
        question
        for question in questions()
        if (topic is None or topic in question.topics) and (level is None or question.level == level)
    ]


def find(text: str) -> BankQuestion | None:
    """The bank's question with exactly this text (ignoring case and surrounding space), if any."""
    wanted = " ".join(text.split()).casefold()
    return next((question for question in questions() if question.text.casefold() == wanted), None)
