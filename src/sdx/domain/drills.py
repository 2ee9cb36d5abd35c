"""What the practice loop says to the model and shows the candidate around an interview: the interviewer's brief
for a drill (`sdx interview --weak`), a retry's changes per dimension, and the seed of a debrief (`sdx chat --cid`
on a graded interview). Pure text from the rubric; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sdx.domain import rubric


def probe_instructions(keys: Sequence[str], level: str) -> str:
    """The paragraph added to the interviewer's system prompt for a drill: which dimensions to probe, and the bar."""
    titles = {dimension.key: dimension for dimension in rubric.DIMENSIONS}
    lines = [
        "This interview is a drill: the candidate's earlier grades were lowest on the dimensions below. Probe them "
        "harder than the rest, with follow-up questions in the phases where they come up, without naming them or "
        "saying that this is a drill:"
    ]
    lines += [f"- {titles[key].title}: what meets the {level} bar: {titles[key].expected[level]}" for key in keys]
    return "\n".join(lines)


@dataclass(frozen=True)
class ScoreChange:
    key: str
    title: str
    before: int | None  # None: the earlier grade has no score for it
    after: int

    @property
    def change(self) -> int | None:
        return None if self.before is None else self.after - self.before


def score_changes(before: object, after: object) -> list[ScoreChange]:
    """Each dimension's score in the earlier attempt's stored grade and the new one's, in rubric order (a dimension
    the new grade lacks is left out)."""
    changes = []
    for dimension in rubric.DIMENSIONS:
        now = _score(after, dimension.key)
        if now is not None:
            changes.append(ScoreChange(dimension.key, dimension.title, _score(before, dimension.key), now))
    return changes


def _score(grade: object, key: str) -> int | None:
    dimensions = grade.get("dimensions") if isinstance(grade, dict) else None
    scored = dimensions.get(key) if isinstance(dimensions, dict) else None
    score = scored.get("score") if isinstance(scored, dict) else None
    return score if isinstance(score, int) and not isinstance(score, bool) else None


def changes_markdown(changes: Sequence[ScoreChange], earlier_id: str, earlier_recommendation: str) -> str:
    """The retry's changes as a Markdown table (the same on a terminal and a pipe)."""
    lines = [
        f"## Against the earlier attempt ({earlier_id[:8]}, {earlier_recommendation or 'no recommendation'})",
        "",
        "| dimension | before | now | change |",
        "|---|--:|--:|--:|",
    ]
    for item in changes:
        before = "–" if item.before is None else f"{item.before}/4"
        change = "" if item.change is None else ("0" if item.change == 0 else f"{item.change:+d}")
        lines.append(f"| {item.title} | {before} | {item.after}/4 | {change} |")
    known = [item.change for item in changes if item.change is not None]
    if known:
        lines += ["", f"Total: {sum(item.after for item in changes)} of {4 * len(changes)} ({sum(known):+d})"]
    return "\n".join(lines)


def debrief_context(question: str, level: str, transcript: str, grade: str) -> str:
    """What the debrief's first message carries: the transcript as the grader read it, and the grade."""
    return (
        f"This is the transcript and the grade of my mock system design interview for a {level} role "
        f'("{question}"). Debrief me as the interviewer would: answer my questions about it, and say concretely '
        "what a strong candidate at this level would have said, with the numbers and mechanisms.\n\n"
        f"--- transcript ---\n{transcript.rstrip()}\n--- end of transcript ---\n\n"
        f"--- grade ---\n{grade.rstrip()}\n--- end of grade ---"
    )
