"""What the practice loop says to the model and shows the candidate around an interview: the interviewer's brief
for a drill (`sdx interview --weak`), a retry's changes per dimension, and the seed of a debrief (`sdx chat --cid`
on a graded interview). Pure text from the rubric; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sdx.domain import rubric
from sdx.domain.evidence import evidence_view
from sdx.domain.practice import UNVERIFIED_NOTE, marked


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
    before_unverified: bool = False  # its evidence was not found, or never checked (`sdx.domain.practice`)
    after_unverified: bool = False

    @property
    def change(self) -> int | None:
        return None if self.before is None else self.after - self.before

    @property
    def change_unverified(self) -> bool:
        """The change is from or to an unverified score, so it is unverified itself (as in `sdx progress`)."""
        return self.change is not None and (self.before_unverified or self.after_unverified)

    def cells(self) -> tuple[str, str, str]:
        """Before, now and the change as shown: `2/4*`, `3/4`, `+1*` (`0*` for no change from or to an unverified
        score; nothing without an earlier score)."""
        before = "–" if self.before is None else marked(f"{self.before}/4", self.before_unverified)
        change = "" if self.change is None else f"{self.change:+d}" if self.change else "0"
        return before, marked(f"{self.after}/4", self.after_unverified), marked(change, self.change_unverified)


def score_changes(before: object, after: object) -> list[ScoreChange]:
    """Each dimension's score in the earlier attempt's stored grade and the new one's, with whether each is
    unverified, in rubric order (a dimension the new grade lacks is left out)."""
    checked_before, checked_after = evidence_view(before), evidence_view(after)
    changes = []
    for dimension in rubric.DIMENSIONS:
        now = _score(after, dimension.key)
        if now is not None:
            earlier = _score(before, dimension.key)
            changes.append(
                ScoreChange(
                    dimension.key,
                    dimension.title,
                    earlier,
                    now,
                    before_unverified=earlier is not None and checked_before.unverified(dimension.key),
                    after_unverified=checked_after.unverified(dimension.key),
                )
            )
    return changes


def _score(grade: object, key: str) -> int | None:
    dimensions = grade.get("dimensions") if isinstance(grade, dict) else None
    scored = dimensions.get(key) if isinstance(dimensions, dict) else None
    score = scored.get("score") if isinstance(scored, dict) else None
    return score if isinstance(score, int) and not isinstance(score, bool) else None


def changes_markdown(changes: Sequence[ScoreChange], earlier_id: str, earlier_recommendation: str) -> str:
    """The retry's changes as a Markdown table (the same on a terminal and a pipe), then the total, then the legend
    of `*` when a score shown is unverified (`changes_legend`)."""
    lines = [
        f"## Against the earlier attempt ({earlier_id[:8]}, {earlier_recommendation or 'no recommendation'})",
        "",
        "| dimension | before | now | change |",
        "|---|--:|--:|--:|",
    ]
    lines += [f"| {item.title} | {' | '.join(item.cells())} |" for item in changes]
    if total := changes_total(changes):
        lines += ["", total]
    if legend := changes_legend(changes):
        lines += ["", legend]
    return "\n".join(lines)


def changes_total(changes: Sequence[ScoreChange]) -> str:
    """`Total: 25 of 32 (+4)`, each figure marked when it is taken from an unverified score; "" without a change."""
    known = [item for item in changes if item.change is not None]
    if not known:
        return ""
    now = marked(str(sum(item.after for item in changes)), any(item.after_unverified for item in changes))
    change = marked(f"{sum(item.change or 0 for item in known):+d}", any(item.change_unverified for item in known))
    return f"Total: {now} of {4 * len(changes)} ({change})"


def changes_legend(changes: Sequence[ScoreChange]) -> str:
    """The line that says what `*` means (as under `sdx progress`), when a score shown is unverified; else ""."""
    shown = any(item.before_unverified or item.after_unverified for item in changes)
    return UNVERIFIED_NOTE if shown else ""


def debrief_context(question: str, level: str, transcript: str, grade: str) -> str:
    """What the debrief's first message carries: the transcript as the grader read it, and the grade."""
    return (
        f"This is the transcript and the grade of my mock system design interview for a {level} role "
        f'("{question}"). Debrief me as the interviewer would: answer my questions about it, and say concretely '
        "what a strong candidate at this level would have said, with the numbers and mechanisms.\n\n"
        f"--- transcript ---\n{transcript.rstrip()}\n--- end of transcript ---\n\n"
        f"--- grade ---\n{grade.rstrip()}\n--- end of grade ---"
    )
