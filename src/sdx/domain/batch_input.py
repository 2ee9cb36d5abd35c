"""`sdx batch`'s input and file names, as pure functions: questions from text, and a stable name per question.

Input: one question per line, unless a line holds only `---`: then `---` lines separate multi-line questions.
One question per line numbered on every line (`sdx examples | sdx batch -`) loses the numbers. Either way, blank
lines around a question and lines starting with `#` (comments) are dropped; inside a multi-line question the
remaining lines (blank ones included) are kept as written. Exact duplicates (after trimming) are asked once and
reported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

SEPARATOR = "---"
SLUG_MAX = 60  # characters of the question kept in a file name
INDEX_NAME = "index.md"
INDEX_PAGE_NAME = "index.html"  # `--html`: the index as a page, beside index.md
_LIST_NUMBER = re.compile(r"\s*\d{1,4}[.)]\s+(?=\S)")  # ` 7. `, `12) `
CUT_OFF_SUFFIX = ".cut-off.md"  # an answer the model stopped at the token limit (see `cut_off_name`)


@dataclass(frozen=True)
class Question:
    number: int  # 1-based, in input order, after duplicates and comments are removed
    text: str
    line: int  # where it starts in the input (1-based), for messages


@dataclass
class ParsedInput:
    questions: list[Question] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (line of the repeat, number it repeats)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _without_list_numbers(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A numbered list (` 1. Design …` on every line, as `sdx examples` prints) loses its numbers: batch numbers the
    questions itself. A list in which some lines are not numbered is taken as written."""
    matches = [_LIST_NUMBER.match(line) for _, line in lines]
    if not lines or not all(matches):
        return lines
    return [(n, line[match.end() :]) for (n, line), match in zip(lines, matches, strict=True) if match]


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each question: one per line, or `---`-separated blocks when there are any."""
    numbered = [(n, line.rstrip()) for n, line in enumerate(lines, start=1) if not _is_comment(line)]
    if not any(line.strip() == SEPARATOR for _, line in numbered):
        return [(n, [line]) for n, line in _without_list_numbers([(n, line) for n, line in numbered if line.strip()])]
    blocks: list[tuple[int, list[str]]] = []
    current: list[tuple[int, str]] = []
    for n, line in [*numbered, (0, SEPARATOR)]:
        if line.strip() != SEPARATOR:
            current.append((n, line))
            continue
        kept = current
        while kept and not kept[0][1].strip():
            kept.pop(0)
        while kept and not kept[-1][1].strip():
            kept.pop()
        if kept:
            blocks.append((kept[0][0], [text for _, text in kept]))
        current = []
    return blocks


def parse_questions(text: str) -> ParsedInput:
    """The questions in `text`, in order, each asked once."""
    parsed = ParsedInput()
    seen: dict[str, int] = {}
    for line, block in _blocks(text.splitlines()):
        question = "\n".join(block).strip()
        if question in seen:
            parsed.duplicates.append((line, seen[question]))
            continue
        seen[question] = len(parsed.questions) + 1
        parsed.questions.append(Question(seen[question], question, line))
    return parsed


def slug(text: str, limit: int = SLUG_MAX) -> str:
    """`Design a URL shortener (bit.ly)!` -> `design-a-url-shortener-bit-ly`: ASCII letters, digits and dashes.

    Accents are dropped (`Über` -> `uber`); text with no Latin letters or digits at all gives `question`. Cut at
    a word boundary within `limit` characters.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > limit:
            result = result or word[:limit]
            break
        result = candidate
    return result or "question"


def file_name(question: Question, total: int) -> str:
    """`01-design-a-url-shortener.md`: the number (as wide as the largest, at least two digits) keeps names unique
    and in input order; the slug makes them readable. Safe on every filesystem (ASCII, no reserved characters)."""
    width = max(2, len(str(total)))
    return f"{question.number:0{width}d}-{slug(question.text)}.md"


def cut_off_name(name: str) -> str:
    """`01-design-x.cut-off.md`: where an answer cut off at the token limit is kept. Never under the final name,
    which holds only whole answers: a rerun asks the question again and removes this file once one arrives."""
    return name.removesuffix(".md") + CUT_OFF_SUFFIX


def temporary_name(name: str) -> str:
    """Where an answer is written while it streams; renamed to `name` only when it is complete."""
    return f".{name}.part"
