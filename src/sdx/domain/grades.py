"""A grade as the grader model wrote it, validated: the pydantic model of the rubric's schema, the parser that
turns a grader's text into a `Grade` (or `GradeInvalid` with the problems in words a model can act on), and a
stored grade as Markdown.

Apart from `sdx.domain.rubric` because pydantic costs some 80 ms to import: only what reads or writes a grade's
text pays for it, not every command that needs the rubric's dimensions.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sdx.domain.evidence import evidence_view
from sdx.domain.rubric import DEFAULT_LEVEL, DIMENSIONS, PRACTICE_ITEMS, RECOMMENDATIONS, UNCHECKED_NOTE


class DimensionGrade(BaseModel):
    score: int = Field(ge=1, le=4)
    evidence: list[str]
    missed: list[str]


class DimensionGrades(BaseModel):
    requirements: DimensionGrade
    estimation: DimensionGrade
    api_data_model: DimensionGrade
    high_level_design: DimensionGrade
    deep_dive: DimensionGrade
    tradeoffs: DimensionGrade
    reliability_scale: DimensionGrade
    communication: DimensionGrade


class Grade(BaseModel):
    """A validated grade. Extra keys a model adds are dropped; missing or wrongly typed ones are errors."""

    model_config = ConfigDict(extra="ignore")

    dimensions: DimensionGrades
    recommendation: str
    summary: str
    strengths: list[str]
    practice_next: list[str] = Field(min_length=1)

    @field_validator("recommendation", mode="before")
    @classmethod
    def _known_recommendation(cls, value: object) -> object:
        """`Strong_Hire` and `strong hire` are the same answer; anything else is not one of the four."""
        if not isinstance(value, str):
            return value
        normal = " ".join(value.replace("_", " ").replace("-", " ").lower().split())
        if normal not in RECOMMENDATIONS:
            raise ValueError(f"must be one of: {', '.join(RECOMMENDATIONS)}")
        return normal

    @field_validator("practice_next")
    @classmethod
    def _three_at_most(cls, value: list[str]) -> list[str]:
        return value[:PRACTICE_ITEMS]


class GradeInvalid(ValueError):
    """The grader's text is not a valid grade; `problems` says why, in words a model can act on."""

    def __init__(self, problems: str) -> None:
        super().__init__(problems)
        self.problems = problems


_FENCED = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def strip_fences(text: str) -> str:
    """The JSON inside a Markdown code fence, or between the first `{` and the last `}` of chatty text."""
    fenced = _FENCED.search(text)
    if fenced:
        text = fenced.group(1)
    text = text.strip()
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text


def parse_grade(text: str) -> Grade:
    """Parse and validate the grader's answer; raises `GradeInvalid` with the problems listed."""
    candidate = strip_fences(text or "")
    if not candidate:
        raise GradeInvalid("the answer was empty")
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise GradeInvalid(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # `[[[[…]]]]` thousands deep: Python's parser gives up
        raise GradeInvalid("not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise GradeInvalid(f"the JSON is a {type(data).__name__}, not an object")
    try:
        return Grade.model_validate(data)
    except ValidationError as exc:
        raise GradeInvalid(validation_problems(exc)) from None


def validation_problems(exc: ValidationError, limit: int = 12) -> str:
    """`dimensions.estimation.score: Input should be less than or equal to 4; …` (the first `limit` errors)."""
    problems = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def grade_markdown(meta: dict[str, object]) -> str:
    """An interview's stored grade as Markdown, or "" when `meta["grade"]` is not a grade this rubric wrote.

    A quote the evidence check did not find is struck out and marked, and its dimension's score "unverified"; a
    grade stored before sdx checked evidence has every score unverified."""
    try:
        grade = Grade.model_validate(meta.get("grade"))
    except ValidationError:
        return ""
    check = evidence_view(meta.get("grade"))
    level = meta.get("level", DEFAULT_LEVEL)
    parts = [f"## Grade: {grade.recommendation} ({level} bar)", grade.summary]
    if not check.checked:
        parts.append(f"*{UNCHECKED_NOTE}*")
    for dimension in DIMENSIONS:
        scored: DimensionGrade = getattr(grade.dimensions, dimension.key)
        unverified = " (unverified)" if check.unverified(dimension.key) else ""
        lines = [f"### {dimension.title}: {scored.score}/4{unverified}"]
        for quote in scored.evidence:
            invented = check.invented(dimension.key, quote)
            lines.append(f"> ~~{quote}~~ *({check.missing_note})*" if invented else f"> {quote}")
        lines += [f"- missed: {item}" for item in scored.missed]
        parts.append("\n".join(lines))
    parts.append("**Strengths**\n\n" + "\n".join(f"- {item}" for item in grade.strengths))
    parts.append("**Practise next**\n\n" + "\n".join(f"{n}. {item}" for n, item in enumerate(grade.practice_next, 1)))
    parts.append(f"Hints used: {meta.get('hints', 0)}")
    return "\n\n".join(parts)
