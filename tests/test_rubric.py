"""The rubric, the phases and the grading schema, without a server."""

from __future__ import annotations

import json

import pytest

from sdx.domain import grades, rubric
from sdx.domain.evidence import check_record


def valid_grade(**changes: object) -> dict[str, object]:
    dimension = {"score": 3, "evidence": ["I'd shard by user id"], "missed": ["no cache eviction policy"]}
    grade: dict[str, object] = {
        "dimensions": {key: dict(dimension) for key in rubric.DIMENSION_KEYS},
        "recommendation": "hire",
        "summary": "Solid scoping, a shallow deep dive.",
        "strengths": ["clear requirements"],
        "practice_next": ["estimation", "caching", "failure modes"],
    }
    grade.update(changes)
    return grade


def walk_objects(schema: object):
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            yield schema
        for value in schema.values():
            yield from walk_objects(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from walk_objects(value)


def test_schema_is_in_the_strict_subset() -> None:
    schema = rubric.grade_schema()
    objects = list(walk_objects(schema))
    assert len(objects) == 2 + len(rubric.DIMENSION_KEYS)
    for node in objects:
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    allowed = {"type", "properties", "required", "additionalProperties", "items", "enum", "description"}
    text = json.dumps(schema)
    for node in walk_objects(schema):
        for prop in node["properties"].values():
            assert set(prop) <= allowed, prop
    assert "minimum" not in text and "pattern" not in text and "$ref" not in text
    assert list(schema["properties"]["dimensions"]["properties"]) == list(rubric.DIMENSION_KEYS)


def test_response_format_nests_the_schema_under_json_schema() -> None:
    shaped = rubric.response_format()
    assert shaped["type"] == "json_schema"
    assert shaped["json_schema"]["strict"] is True
    assert shaped["json_schema"]["name"]
    assert shaped["json_schema"]["schema"] == rubric.grade_schema()
    assert "schema" not in shaped  # llama.cpp ignores a schema anywhere but json_schema.schema


def test_a_valid_grade_parses() -> None:
    grade = grades.parse_grade(json.dumps(valid_grade()))
    assert grade.recommendation == "hire"
    assert grade.dimensions.deep_dive.score == 3
    assert grade.practice_next == ["estimation", "caching", "failure modes"]


def test_fences_and_chatter_around_the_json_are_stripped() -> None:
    body = json.dumps(valid_grade())
    assert grades.parse_grade(f"Here is the grade:\n```json\n{body}\n```\nGood luck!").recommendation == "hire"
    assert grades.parse_grade(f"Sure! {body} Hope this helps.").recommendation == "hire"


def test_recommendation_spellings_are_normalised() -> None:
    assert grades.parse_grade(json.dumps(valid_grade(recommendation="Strong_Hire"))).recommendation == "strong hire"
    assert grades.parse_grade(json.dumps(valid_grade(recommendation="no-hire"))).recommendation == "no hire"


def test_more_than_three_practice_items_are_cut_to_three() -> None:
    grade = grades.parse_grade(json.dumps(valid_grade(practice_next=["a", "b", "c", "d"])))
    assert grade.practice_next == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("I think the candidate did well.", "not valid JSON"),
        ('{"dimensions": ', "not valid JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps(valid_grade(recommendation="maybe")), "recommendation: Value error, must be one of"),
        (json.dumps(valid_grade(practice_next=[])), "practice_next"),
        ("{" + '"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_invalid_answers_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(grades.GradeInvalid) as caught:
        grades.parse_grade(text)
    assert problem in caught.value.problems


def test_validation_problems_name_the_field() -> None:
    grade = valid_grade()
    grade["dimensions"]["estimation"]["score"] = 7  # type: ignore[index]
    del grade["dimensions"]["tradeoffs"]  # type: ignore[attr-defined]
    with pytest.raises(grades.GradeInvalid) as caught:
        grades.parse_grade(json.dumps(grade))
    problems = caught.value.problems
    assert "dimensions.estimation.score: Input should be less than or equal to 4" in problems
    assert "dimensions.tradeoffs: Field required" in problems


def test_phases_fill_45_minutes_and_scale() -> None:
    plan = rubric.phase_plan(45)
    assert [slot.phase.name for slot in plan] == [
        "requirements",
        "estimation",
        "API and data model",
        "high-level design",
        "deep dive",
        "wrap-up",
    ]
    assert plan[0].start == 0 and plan[-1].end == pytest.approx(45 * 60)
    assert rubric.phase_plan(30)[-1].end == pytest.approx(30 * 60)
    assert rubric.phase_plan(90)[0].end == pytest.approx(10 * 60)


def test_phase_by_clock() -> None:
    assert rubric.phase_by_clock(0, 45) == 0
    assert rubric.phase_by_clock(5 * 60 - 1, 45) == 0
    assert rubric.phase_by_clock(5 * 60, 45) == 1
    assert rubric.phase_by_clock(20 * 60, 45) == 3
    assert rubric.phase_by_clock(99 * 60, 45) == len(rubric.PHASES) - 1


def test_status_line_shows_phase_and_time_left() -> None:
    assert rubric.status_line(1, 6 * 60 + 30, 45).startswith("phase 2/6: estimation · 38:30 left")
    assert "time is up" in rubric.status_line(5, 46 * 60, 45)


def test_score_meanings_depend_on_the_level() -> None:
    estimation = next(d for d in rubric.DIMENSIONS if d.key == "estimation")
    mid, staff = rubric.score_meanings(estimation, "mid"), rubric.score_meanings(estimation, "staff")
    assert set(mid) == {1, 2, 3, 4}
    assert mid[3] == f"meets the mid bar: {estimation.expected['mid']}"
    assert mid[4] == f"above the bar: {estimation.expected['senior']}"
    assert staff[3] == f"meets the staff bar: {estimation.expected['staff']}"
    for dimension in rubric.DIMENSIONS:
        assert set(dimension.expected) == set(rubric.LEVELS)


def test_grader_prompt_describes_the_schema_the_rubric_and_the_hints() -> None:
    prompt = rubric.grader_prompt("staff", 2)
    assert json.dumps(rubric.grade_schema()) in prompt
    assert rubric.LEVELS["staff"] in prompt
    assert "used 2 hints" in prompt
    for dimension in rubric.DIMENSIONS:
        assert dimension.expected["staff"] in prompt


def test_interviewer_prompt_has_the_question_level_and_phase_boxes() -> None:
    prompt = rubric.interviewer_prompt("Design a URL shortener", "mid", 30)
    assert '"Design a URL shortener"' in prompt and "30-minute" in prompt and "mid role" in prompt
    assert "deep dive (from 18:00 to 26:40)" in prompt
    assert "never design the system for them" in prompt


def test_transcript_reads_commands_as_what_they_did_and_keeps_pasted_figures() -> None:
    note = rubric.interview_note(0, 30, 45)
    turns = [
        ("Design a URL shortener", rubric.interview_note(0, 0, 45, rubric.OPENING_REQUEST), "Let's design bit.ly."),
        ("How many users?", note, "100M a month."),
        ("/hint", rubric.interview_note(0, 60, 45, rubric.hint_request(1)), "Think about reads vs writes."),
        ("/next", note, "Let's estimate."),
        ("Numbers:", f"- writes/s: 1.16 K/s\n\n{note}", "Good."),
    ]
    text = rubric.transcript("Design a URL shortener", turns)
    assert text.startswith("Question: Design a URL shortener\n\nInterviewer: Let's design bit.ly.\n")
    assert "Candidate: How many users?\n\nInterviewer: 100M a month." in text
    assert "Candidate: [asks for a hint]" in text and "Candidate: [moves on to the next phase]" in text
    assert "Candidate (figures from the calculator): - writes/s: 1.16 K/s" in text
    assert rubric.NOTE_MARK not in text


def test_the_note_says_when_a_phase_is_over_its_box() -> None:
    assert "over its time box" in rubric.interview_note(0, 6 * 60, 45)
    assert "over its time box" not in rubric.interview_note(1, 6 * 60, 45)
    assert rubric.interview_note(1, 6 * 60, 45).startswith("[sdx interview note] 6:00 of 45 minutes used")


def test_grade_markdown_for_show_and_export() -> None:
    grade = {**valid_grade(recommendation="no hire"), "evidence_check": check_record({}, "the transcript")}
    meta = {"level": "staff", "hints": 2, "grade": grade}
    text = grades.grade_markdown(meta)
    assert text.startswith("## Grade: no hire (staff bar)\n\nSolid scoping, a shallow deep dive.\n\n")
    assert "### Deep dive: 3/4\n> I'd shard by user id\n- missed: no cache eviction policy" in text
    assert "**Practise next**\n\n1. estimation\n2. caching\n3. failure modes" in text
    assert text.endswith("Hints used: 2")
    assert grades.grade_markdown({"grade": None, "grade_status": "not graded"}) == ""
    assert grades.grade_markdown({"grade": {"overall": "B"}}) == ""


def test_the_rubric_asks_for_invariants_first_and_no_over_building() -> None:
    """Published rubrics: "states the invariants before components"; parsimony (not over-building) is where
    models are weakest (notes: diagrams-estimates-practice.md, Practice loops)."""
    requirements, tradeoffs = (
        next(d for d in rubric.DIMENSIONS if d.key == key) for key in ("requirements", "tradeoffs")
    )
    invariants = "states the invariants and the hardest constraint before components"
    assert invariants in requirements.expected["senior"] and invariants in requirements.expected["staff"]
    assert all("does not over-build for the stated scale" in tradeoffs.expected[level] for level in rubric.LEVELS)
    senior = rubric.grader_prompt("senior", 0)
    assert "3: meets the senior bar: pins down functional" in senior and invariants in senior
    assert "does not over-build for the stated scale" in rubric.review_prompt("mid")
