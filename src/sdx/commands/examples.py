"""`sdx examples`: the built-in question bank, filtered by topic and level, one drawn at random, or as JSON.

The list is numbered by each question's place in the bank (the number `sdx ask --example N` takes), also when it
is filtered; `sdx batch -` reads such a numbered list without numbering its questions twice.
"""

from __future__ import annotations

import json
import random

from sdx.domain import question_bank
from sdx.domain.question_bank import BankQuestion
from sdx.environment import current
from sdx.errors import UsageError
from sdx.terminal.render import say


def run_examples(topic: str | None, level: str | None, pick_random: bool, as_json: bool) -> None:
    chosen = question_bank.select(check_topic(topic), check_level(level))
    if pick_random and chosen:
        chosen = [random.choice(chosen)]
    out = current().stdout
    if as_json:
        print(json.dumps([question.as_json() for question in chosen], indent=2), file=out)
        return
    if not chosen:
        say(f"sdx: no built-in question {_filters(topic, level)}; `sdx examples` lists them all")
        return
    for question in chosen:
        print(numbered(question), file=out)


def numbered(question: BankQuestion) -> str:
    return f"{question.number:>2}. {question.text}"


def check_topic(topic: str | None) -> str | None:
    if topic is None:
        return None
    wanted = topic.strip().lower()
    if wanted not in question_bank.topics():
        raise UsageError(f"unknown topic {topic!r}", f"choose one of: {', '.join(question_bank.topics())}")
    return wanted


def check_level(level: str | None) -> str | None:
    if level is None:
        return None
    levels = question_bank.LEVELS
    wanted = level.strip().lower()
    if wanted not in levels:
        raise UsageError(f"unknown level {level!r}", f"choose one of: {', '.join(levels)}")
    return wanted


def _filters(topic: str | None, level: str | None) -> str:
    parts = [f"has the topic {topic}" if topic else "", f"is asked at the {level} level" if level else ""]
    return " and ".join(part for part in parts if part)
