"""`sdx progress` over a history database built here (a real SQLite file): trends, drills that come back on UTC
days, the weakest dimensions, the questions practised, filters, and what is printed on a pipe, a terminal and as
JSON. The clock is the environment's (`wall_clock`), never the real one."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import pytest

from sdx.domain import practice, question_bank, rubric
from sdx.domain.conversation import Conversation
from sdx.store.history import History
from tests.runner import Sdx
from tests.test_startup import main_in_a_process

KEYS = rubric.DIMENSION_KEYS


def at(text: str) -> float:
    """`2026-12-01 23:50` (UTC) as epoch seconds."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc).timestamp()


def scores(default: int = 3, **changed: int) -> dict[str, int]:
    return {key: changed.get(key, default) for key in KEYS}


def grade(
    values: dict[str, int],
    recommendation: str = "hire",
    practice_next: tuple[str, ...] = (),
    not_found: dict[str, list[str]] | None = None,
    checked: bool = True,
) -> dict:
    """A grade as stored; `not_found`: the evidence quotes the check did not find; `checked=False`: a grade stored
    before sdx checked evidence (no `evidence_check`)."""
    stored = {
        "dimensions": {key: {"score": score, "evidence": ["…"], "missed": []} for key, score in values.items()},
        "recommendation": recommendation,
        "summary": "",
        "strengths": [],
        "practice_next": list(practice_next or ("estimate out loud", "cache eviction", "failure modes")),
    }
    if checked:
        stored["evidence_check"] = {"version": 1, "against": "the transcript", "not_found": not_found or {}}
    return stored


def store(
    sdx: Sdx,
    when: str,
    values: dict[str, int] | None,
    question: str = "Design a URL shortener like bit.ly",
    level: str = "senior",
    kind: str = "interview",
    **grade_options: object,
) -> str:
    """An interview stored as `sdx interview` stores it (or a review as `sdx review` does); `values=None`: not
    graded."""
    meta = {
        "level": level,
        "minutes": 45,
        "question": question,
        "hints": 0,
        "grade_status": "not graded" if values is None else "graded",
        "grade": None if values is None else grade(values, **grade_options),  # type: ignore[arg-type]
        "grade_raw": "",
    }
    if kind == "review":
        meta = {key: meta[key] for key in ("level", "question", "grade_status", "grade", "grade_raw")}
        meta.update(focus=[], source="design.md")
    conversation = Conversation(kind, "gpt-4o-mini", "…", "v", title=question, created_at=at(when), meta=meta)
    with History.open(sdx.config_dir / "history.db") as history:
        return history.create(conversation)


def progress(sdx: Sdx, now: str, *args: str, tty: bool = False):
    return sdx.call("progress", *args, tty=tty, wall_clock=lambda: at(now))


# ---------------------------------------------------------------------------------------------------------------
# The schedule and the ranking, as pure functions


def test_a_weak_score_is_due_the_next_utc_day_even_minutes_later():
    late = at("2026-12-01 23:50")
    assert practice.due_on([(late, 2)]) == date(2026, 12, 2)
    history = [practice.GradedInterview("A", "q", "senior", late, scores(estimation=2), "hire")]
    before_midnight = practice.progress(history, KEYS, at("2026-12-01 23:59"), 10)
    after_midnight = practice.progress(history, KEYS, at("2026-12-02 00:10"), 10)
    assert before_midnight.due() == []
    assert [dimension.key for dimension in after_midnight.due()] == ["estimation"]


def test_drills_come_back_after_1_3_and_7_days_then_stop_and_a_lapse_starts_over():
    day = at("2026-11-01 12:00")
    days = 86400
    assert practice.due_on([(day, 1)]) == date(2026, 11, 2)
    assert practice.due_on([(day, 1), (day + days, 3)]) == date(2026, 11, 5)
    assert practice.due_on([(day, 1), (day + days, 3), (day + 4 * days, 4)]) == date(2026, 11, 12)
    assert practice.due_on([(day, 1), (day + days, 3), (day + 4 * days, 4), (day + 11 * days, 3)]) is None
    assert practice.due_on([(day, 1), (day + days, 3), (day + 2 * days, 2)]) == date(2026, 11, 4)
    assert practice.due_on([(day, 3), (day + days, 4)]) is None  # never weak: never on the schedule


def test_the_weakest_are_the_lowest_latest_scores_ties_broken_by_the_trend():
    history = [
        practice.GradedInterview("A", "q", "senior", at("2026-11-01 10:00"), scores(deep_dive=1, tradeoffs=3), "hire"),
        practice.GradedInterview("B", "q", "senior", at("2026-11-02 10:00"), scores(deep_dive=2, tradeoffs=2), "hire"),
    ]
    result = practice.progress(history, KEYS, at("2026-11-03 10:00"), 10)
    assert [dimension.key for dimension in result.weakest(2)] == ["deep_dive", "tradeoffs"]  # both 2; mean 1.5 < 2.5
    assert result.targets(3) == ["deep_dive", "tradeoffs", "requirements"]


def test_since_reads_durations_and_dates():
    now = at("2026-12-03 12:00")
    assert practice.since_cutoff("30d", now) == now - 30 * 86400
    assert practice.since_cutoff("2w", now) == now - 14 * 86400
    assert practice.since_cutoff("12h", now) == now - 12 * 3600
    assert practice.since_cutoff("2026-11-01", now) == at("2026-11-01 00:00")
    with pytest.raises(ValueError):
        practice.since_cutoff("last tuesday", now)


# ---------------------------------------------------------------------------------------------------------------
# sdx progress


@pytest.fixture
def practised(sdx: Sdx) -> list[str]:
    """Four graded interviews (and one that was not graded) over a week; estimation stays weak."""
    return [
        store(sdx, "2026-11-25 09:00", scores(2, communication=3), "Design a rate limiter for a public API", "mid"),
        store(sdx, "2026-11-27 09:00", scores(3, estimation=1, deep_dive=2), recommendation="no hire"),
        store(sdx, "2026-11-28 09:00", None, "Design a chat system like WhatsApp or Slack"),
        store(sdx, "2026-12-01 23:50", scores(3, estimation=2, deep_dive=2, tradeoffs=4)),
        store(
            sdx,
            "2026-12-02 10:00",
            scores(4, estimation=2, deep_dive=3),
            "Design a news feed like Twitter's home timeline",
            practice_next=("say the QPS before the design", "pick a shard key", "name the failure modes"),
        ),
    ]


def test_progress_as_json(sdx: Sdx, practised: list[str]):
    result = progress(sdx, "2026-12-03 00:05", "--json")
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.out)
    assert (data["interviews"], data["reviews"], data["kind"]) == (4, 0, None)  # the one never graded does not count
    assert data["today"] == "2026-12-03"
    by_key = {item["key"]: item for item in data["dimensions"]}
    assert list(by_key) == list(KEYS)
    assert by_key["estimation"] == {
        "key": "estimation",
        "latest": 2,
        "change": 0,
        "scores": [2, 1, 2, 2],
        "unverified": [False, False, False, False],
        "latest_unverified": False,
        "mean": 1.75,
        "due_on": "2026-12-03",  # weak on 12-02 (UTC), so due the next day
        "due": True,
    }
    assert by_key["deep_dive"]["scores"] == [2, 2, 2, 3]
    assert by_key["deep_dive"]["change"] == 1
    assert by_key["deep_dive"]["due_on"] == "2026-12-05"  # weak on 12-01, then 3 on 12-02: due 3 days later
    assert by_key["deep_dive"]["due"] is False
    assert by_key["tradeoffs"]["change"] == 0 and by_key["tradeoffs"]["scores"] == [2, 3, 4, 4]
    assert by_key["requirements"]["due_on"] is None  # 2, then 3, 3, 4: three good interviews, off the schedule
    assert data["weakest"] == ["estimation", "deep_dive"]  # the others scored 4 last time
    assert data["due"] == ["estimation"]
    assert [row["question"] for row in data["practised"]] == [
        "Design a news feed like Twitter's home timeline",
        "Design a URL shortener like bit.ly",
        "Design a rate limiter for a public API",
    ]
    assert data["practised"][1]["times"] == 2
    assert data["practised"][1]["ids"] == practised[1:4:2]
    assert data["practised"][1]["kinds"] == ["interview", "interview"]
    assert data["next"]["dimensions"] == ["estimation", "deep_dive"]
    assert {"estimation", "deep_dive"} <= set(data["next"]["question"]["dimensions"])
    assert data["next"]["practice_next"][1] == "pick a shard key"


def test_progress_on_a_pipe_is_plain_aligned_text(sdx: Sdx, practised: list[str]):
    result = progress(sdx, "2026-12-03 00:05")
    assert result.code == 0, result.stderr
    lines = result.out.splitlines()
    assert lines[0] == "4 graded interviews, 2026-11-25 to 2026-12-02 (UTC); trends over the last 4"
    assert lines[1].split() == ["dimension", "latest", "change", "trend", "mean", "drill"]
    assert "Estimation                2/4             2 1 2 2  1.8   due" in lines
    assert "Deep dive                 3/4     +1      2 2 2 3  2.2   due in 2 days" in lines
    assert "Trade-offs                4/4             2 3 4 4  3.2" in lines
    assert "Weakest: Estimation (2), Deep dive (3)" in lines
    assert "  2026-12-01  Design a URL shortener like bit.ly (hire) — 2 interviews" in lines
    assert "  2026-11-25  Design a rate limiter for a public API (hire) — 1 interview" in lines
    assert not any(line.startswith("* unverified") for line in lines)  # every grade here was checked
    assert any(line.startswith("Next: drill Estimation and ") and "`sdx interview --weak`" in line for line in lines)
    assert "  - pick a shard key" in lines
    assert "\x1b" not in result.out and "▁" not in result.out


def test_progress_on_a_terminal_draws_sparklines(sdx: Sdx, practised: list[str]):
    result = progress(sdx, "2026-12-03 00:05", tty=True)
    assert result.code == 0, result.stderr
    assert "▃▁▃▃" in result.out  # estimation: 2 1 2 2
    assert "▃▃▃▅" in result.out  # deep dive: 2 2 2 3
    assert "due in 2 days" in result.out


def test_the_window_since_and_level_choose_the_interviews(sdx: Sdx, practised: list[str]):
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json", "--limit", "2").out)
    assert {item["key"]: item["scores"] for item in data["dimensions"]}["estimation"] == [2, 2]
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json", "--since", "3d").out)
    assert data["interviews"] == 2
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json", "--since", "2026-11-26").out)
    assert data["interviews"] == 3
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json", "--level", "mid").out)
    assert data["interviews"] == 1
    assert data["practised"][0]["question"] == "Design a rate limiter for a public API"


def test_no_graded_interviews_says_how_to_get_one(sdx: Sdx):
    result = progress(sdx, "2026-12-03 00:05")
    assert (result.code, result.out) == (0, "")
    assert result.stderr == (
        "sdx: no graded interviews or reviews yet — run `sdx interview --random` (or"
        ' `sdx interview "Design a URL shortener"`) and finish it with /done; or grade a design you wrote:'
        " `sdx review design.md`\n"
    )
    store(sdx, "2026-11-01 10:00", scores(3))
    result = progress(sdx, "2026-12-03 00:05", "--since", "7d")
    assert (result.code, result.out) == (0, "")
    assert result.stderr.startswith("sdx: no graded interviews or reviews since 7d yet — ")
    result = progress(sdx, "2026-12-03 00:05", "--kind", "review")
    assert (result.code, result.out) == (0, "")
    assert result.stderr == "sdx: no graded reviews yet — grade a design you wrote: `sdx review design.md`\n"
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json", "--level", "staff").out)
    assert (data["interviews"], data["dimensions"], data["next"]) == (0, [], None)


def test_bad_since_or_level_is_one_usage_line(sdx: Sdx):
    result = progress(sdx, "2026-12-03 00:05", "--since", "recently")
    assert result.code == 2
    assert result.stderr == (
        "sdx: error: cannot read --since 'recently' — give a time like 30d, 2w, 12h, 6mo or a date 2026-11-01\n"
    )
    result = progress(sdx, "2026-12-03 00:05", "--level", "principal")
    assert (result.code, result.stderr.splitlines()[0][:33]) == (2, "sdx: error: unknown level 'princi")


def test_a_grade_from_another_rubric_is_left_out(sdx: Sdx):
    store(sdx, "2026-12-01 10:00", scores(3))
    odd = store(sdx, "2026-12-02 10:00", {"clarity": 3})  # not this rubric's dimensions
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json").out)
    assert data["interviews"] == 1
    assert odd not in json.dumps(data)


def test_progress_imports_neither_openai_nor_rich_markdown(sdx: Sdx, practised: list[str]):
    out, after = main_in_a_process(sdx, "progress")
    assert b"Weakest: " in out
    assert after[:3] == ["0", "False", "False"]


def test_the_suggested_drill_exercises_the_targets():
    bank = question_bank.questions()
    chosen = practice.pick_question(bank, ["estimation", "deep_dive"], "senior", [])
    assert {"estimation", "deep_dive"} <= set(chosen.dimensions)
    assert chosen.level == "senior"
    done = practice.Practised(chosen.text, ("X",), at("2026-12-01 10:00"), "hire")
    again = practice.pick_question(bank, ["estimation", "deep_dive"], "senior", [done])
    assert again != chosen and {"estimation", "deep_dive"} <= set(again.dimensions)


def test_the_grades_read_without_sqlite_json_are_the_same(sdx: Sdx, practised: list[str]):
    paths = ["$.level", "$.grade.practice_next", "$.grade.dimensions.estimation.score", "$.nowhere"]
    with History.open(sdx.config_dir / "history.db") as history:
        by_sqlite = history.json_values("interview", paths)
        by_python = history._json_values_in_python("interview", paths)
    assert by_sqlite == by_python
    assert by_sqlite[1][3] == ["senior", ["estimate out loud", "cache eviction", "failure modes"], 1, None]


# ---------------------------------------------------------------------------------------------------------------
# Unverified scores (evidence quote not found, or a grade from before the check) and reviews


def test_a_high_score_whose_quote_was_not_found_does_not_clear_a_drill():
    weak = practice.GradedInterview("A", "q", "senior", at("2026-11-01 10:00"), scores(estimation=2), "hire")
    invented = practice.GradedInterview(
        "B", "q", "senior", at("2026-11-02 10:00"), scores(estimation=4), "hire", unverified=frozenset({"estimation"})
    )
    unchecked = practice.GradedInterview(
        "C", "q", "senior", at("2026-11-02 10:00"), scores(estimation=4), "hire", unverified=frozenset(KEYS),
        checked=False,
    )  # fmt: skip
    now = at("2026-11-10 10:00")
    held = {d.key: d for d in practice.progress([weak, invented], KEYS, now, 10).dimensions}["estimation"]
    assert held.due_on == date(2026, 11, 2)  # still due from the 2: the 4 rests on a quote not in the transcript
    assert (held.scores, held.unverified, held.latest_unverified) == ((2, 4), (False, True), True)
    cleared = {d.key: d for d in practice.progress([weak, unchecked], KEYS, now, 10).dimensions}["estimation"]
    assert cleared.due_on == date(2026, 11, 5)  # a grade from before the check counts as it always did
    lapse = practice.GradedInterview(
        "D", "q", "senior", at("2026-11-03 10:00"), scores(estimation=1), "hire", unverified=frozenset({"estimation"})
    )
    restarted = {d.key: d for d in practice.progress([weak, unchecked, lapse], KEYS, now, 10).dimensions}
    assert restarted["estimation"].due_on == date(2026, 11, 4)  # a weak score starts a drill, verified or not


@pytest.fixture
def unverified(sdx: Sdx) -> list[str]:
    """A grade from before the evidence check, a checked one, and one whose estimation quote was not found."""
    return [
        store(sdx, "2026-11-20 09:00", scores(3, estimation=2), checked=False),
        store(sdx, "2026-11-27 09:00", scores(3, estimation=3)),
        store(sdx, "2026-12-02 09:00", scores(3, estimation=2, deep_dive=2), not_found={"estimation": ["10 PB"]}),
    ]


UNVERIFIED_LEGEND = (
    "* unverified: an evidence quote behind the score is not in what was graded (such a 3 or 4 does not clear a"
    " drill), or the grade is older than sdx's evidence check; a change or mean marked * is taken from such a score"
)


def test_unverified_scores_are_marked_on_a_pipe(sdx: Sdx, unverified: list[str]):
    result = progress(sdx, "2026-12-03 00:05")
    assert result.code == 0, result.stderr
    assert result.out.startswith(
        "3 graded interviews, 2026-11-20 to 2026-12-02 (UTC); trends over the last 3\n"
        "dimension                 latest  change  trend    mean  drill\n"
        "Requirements and scoping  3/4             3* 3 3   3.0*\n"  # the mean includes the unchecked 3
        "Estimation                2/4*    -1*     2* 3 2*  2.3*  due\n"  # the 2* of 12-02 restarted the drill
        "API and data model        3/4             3* 3 3   3.0*\n"
        "High-level design         3/4             3* 3 3   3.0*\n"
        "Deep dive                 2/4     -1      3* 3 2   2.7*  due\n"  # from 3 to 2, both verified
        "Trade-offs                3/4             3* 3 3   3.0*\n"
        "Reliability and scale     3/4             3* 3 3   3.0*\n"
        "Communication             3/4             3* 3 3   3.0*\n"
        f"{UNVERIFIED_LEGEND}\n"
        "\n"
        "Weakest: Estimation (2*), Deep dive (2), Requirements and scoping (3)\n"
    )


def test_unverified_scores_are_marked_in_json_and_on_a_terminal(sdx: Sdx, unverified: list[str]):
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json").out)
    by_key = {item["key"]: item for item in data["dimensions"]}
    assert by_key["estimation"]["scores"] == [2, 3, 2]
    assert by_key["estimation"]["unverified"] == [True, False, True]
    assert by_key["estimation"]["latest_unverified"] is True
    assert by_key["deep_dive"]["unverified"] == [True, False, False] and not by_key["deep_dive"]["latest_unverified"]
    assert data["weakest"] == ["estimation", "deep_dive", "requirements"]  # unchanged: a list of keys
    assert [attempt["id"] for attempt in data["attempts"]] == unverified
    result = progress(sdx, "2026-12-03 00:05", tty=True)
    assert result.code == 0, result.stderr
    assert "2/4*" in result.out and "▃*▅▃*" in result.out  # estimation: 2 (unchecked), 3, 2 (quote not found)
    assert "▅*▅▃" in result.out  # deep dive: only the unchecked 3 is marked
    assert UNVERIFIED_LEGEND in result.out and "Weakest: Estimation (2*), Deep dive (2)" in result.out
    estimation = next(line for line in result.out.splitlines() if "Estimation" in line)
    cells = re.sub(r"\x1b\[[0-9;]*m", "", estimation).split("│")[2:6]  # without the colours
    assert [cell.strip() for cell in cells] == ["2/4*", "-1*", "▃*▅▃*", "2.3*"]


def test_no_change_to_an_unverified_score_is_marked_too(sdx: Sdx):
    store(sdx, "2026-11-27 09:00", scores(3))
    store(sdx, "2026-12-02 09:00", scores(3), not_found={"estimation": ["10 PB"]})
    result = progress(sdx, "2026-12-03 00:05")
    assert result.code == 0, result.stderr
    lines = result.out.splitlines()
    assert lines[2].split() == ["Requirements", "and", "scoping", "3/4", "3", "3", "3.0"]
    assert lines[3].split() == ["Estimation", "3/4*", "0*", "3", "3*", "3.0*"]


@pytest.fixture
def with_a_review(sdx: Sdx) -> list[str]:
    """Two interviews and, between them, a review of a design for the first interview's question."""
    return [
        store(sdx, "2026-11-30 09:00", scores(3, estimation=2)),
        store(sdx, "2026-12-01 09:00", scores(3, estimation=3, deep_dive=2), "Design a URL shortener like bit.ly",
              kind="review", recommendation="no hire"),
        store(sdx, "2026-12-02 09:00", scores(3, estimation=4), "Design a news feed like Twitter's home timeline"),
    ]  # fmt: skip


def test_review_grades_count_and_each_attempt_says_its_kind(sdx: Sdx, with_a_review: list[str]):
    result = progress(sdx, "2026-12-03 00:05")
    assert result.code == 0, result.stderr
    lines = result.out.splitlines()
    assert lines[0] == "2 graded interviews and 1 review, 2026-11-30 to 2026-12-02 (UTC); trends over the last 3"
    assert "Estimation                4/4     +1      2 3 4  3.0   due in 6 days" in lines  # the review's 3 counts
    assert "Deep dive                 3/4     +1      3 2 3  2.7   due in 2 days" in lines  # the review's 2 too
    assert "  2026-12-02  Design a news feed like Twitter's home timeline (hire) — 1 interview" in lines
    assert "  2026-12-01  Design a URL shortener like bit.ly (no hire) — 1 interview, 1 review" in lines
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json").out)
    assert (data["interviews"], data["reviews"], data["kind"]) == (2, 1, None)
    assert [attempt["kind"] for attempt in data["attempts"]] == ["interview", "review", "interview"]
    assert data["attempts"][1] == {
        "id": with_a_review[1],
        "kind": "review",
        "at": "2026-12-01T09:00:00Z",
        "question": "Design a URL shortener like bit.ly",
    }
    assert data["practised"][1]["ids"] == with_a_review[:2]
    assert data["practised"][1]["kinds"] == ["interview", "review"]
    assert {item["key"]: item["scores"] for item in data["dimensions"]}["deep_dive"] == [3, 2, 3]


def test_kind_narrows_to_interviews_or_reviews(sdx: Sdx, with_a_review: list[str]):
    data = json.loads(progress(sdx, "2026-12-03 00:05", "--json", "--kind", "interview").out)
    assert (data["interviews"], data["reviews"], data["kind"]) == (2, 0, "interview")
    assert {item["key"]: item["scores"] for item in data["dimensions"]}["estimation"] == [2, 4]
    result = progress(sdx, "2026-12-03 00:05", "--kind", "review")
    assert result.code == 0, result.stderr
    lines = result.out.splitlines()
    assert lines[0] == "1 graded review, 2026-12-01 to 2026-12-01 (UTC); trends over the last 1"
    assert lines[-8:-6] == ["Practised:", "  2026-12-01  Design a URL shortener like bit.ly (no hire) — 1 review"]
    refused = progress(sdx, "2026-12-03 00:05", "--kind", "chat")
    assert (refused.code, refused.out) == (2, "")
    assert refused.stderr == "sdx: error: unknown kind 'chat' — choose interview or review (without --kind: both)\n"
