"""The mock interview's knowledge: levels, phases, the grading rubric and its JSON schema, and the prompts.

Pure code, no I/O. The grading schema is kept in the strict subset that OpenAI's structured outputs (and
llama.cpp, Ollama, vLLM) accept: every property required, `additionalProperties: false`, no keywords beyond
`type`, `properties`, `required`, `items`, `enum` and `description`. The same rules are checked again on whatever
comes back (`sdx.domain.grade`, with pydantic), because several servers accept a schema and then ignore it. This
module imports no pydantic, so `sdx progress`, `history` and `show` start fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sdx.domain.prompts import DIAGRAM_GUIDE

INTERVIEW_PROMPT_VERSION = "2026-12-03.interview.1"
REVIEW_PROMPT_VERSION = "2026-12-03.review.1"
STANDARD_MINUTES = 45  # the phase boxes below add up to this; other lengths scale them
NOTE_MARK = "[sdx interview note]"  # starts the note sdx adds to each candidate message (clock, phase, request)


# ---------------------------------------------------------------------------------------------------------------
# Levels and phases

LEVELS: dict[str, str] = {
    "mid": (
        "Mid-level (L4/E4): designs a working system for the core use cases with some guidance from the "
        "interviewer, knows the standard building blocks and why they are used, and goes deep in at least one area."
    ),
    "senior": (
        "Senior (L5/E5): drives the interview without prompting, quantifies the load, chooses between "
        "alternatives with reasons, goes deep in two areas and anticipates failure modes and bottlenecks."
    ),
    "staff": (
        "Staff (L6+/E6+): frames the problem around what matters most, finds the hardest parts unprompted, "
        "reasons about evolution, operations, cost and organisational trade-offs, and is deep wherever probed."
    ),
}
DEFAULT_LEVEL = "senior"


@dataclass(frozen=True)
class Phase:
    name: str
    minutes: float  # its soft time box in a 45-minute interview
    goal: str


PHASES: tuple[Phase, ...] = (
    Phase("requirements", 5, "functional and non-functional requirements, scope, and the scale to design for"),
    Phase("estimation", 5, "back-of-envelope numbers that change the design: QPS, storage, bandwidth"),
    Phase("API and data model", 5, "the core API calls and the entities, their keys and how they are stored"),
    Phase("high-level design", 12, "the components and how a request flows through them, end to end"),
    Phase("deep dive", 13, "two or three hard parts in depth: options, trade-offs, bottlenecks, failures"),
    Phase("wrap-up", 5, "what the candidate would improve, monitor and do next; their questions"),
)


@dataclass(frozen=True)
class PhaseSlot:
    index: int  # 0-based
    phase: Phase
    start: float  # seconds from the start of the interview
    end: float


def phase_plan(minutes: float) -> list[PhaseSlot]:
    """The phases with their soft time boxes, scaled from 45 minutes to `minutes`."""
    scale = minutes / STANDARD_MINUTES
    slots, start = [], 0.0
    for index, phase in enumerate(PHASES):
        end = start + phase.minutes * 60 * scale
        slots.append(PhaseSlot(index, phase, start, end))
        start = end
    return slots


def phase_by_clock(elapsed: float, minutes: float) -> int:
    """The index of the phase whose time box holds `elapsed` seconds (the last one once time is up)."""
    for slot in phase_plan(minutes):
        if elapsed < slot.end:
            return slot.index
    return len(PHASES) - 1


def clock(seconds: float) -> str:
    """12:05 for 725 seconds (never negative)."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def phase_label(index: int) -> str:
    return f"phase {index + 1}/{len(PHASES)}: {PHASES[index].name}"


def status_line(phase: int, elapsed: float, minutes: float) -> str:
    """What the status line shows: the phase and the time left."""
    left = minutes * 60 - elapsed
    time_left = f"{clock(left)} left" if left > 0 else "time is up: /done for the grade"
    return f"{phase_label(phase)} · {time_left}"


# ---------------------------------------------------------------------------------------------------------------
# The rubric


@dataclass(frozen=True)
class Dimension:
    key: str
    title: str
    expected: dict[str, str]  # level -> what meets the bar (score 3) at that level


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        "requirements",
        "Requirements and scoping",
        {
            "mid": "asks about the core use cases and a few non-functional needs before designing",
            "senior": (
                "pins down functional and non-functional requirements, scale and what is out of scope unprompted, "
                "and states the invariants and the hardest constraint before components"
            ),
            "staff": (
                "scopes around what matters most to users and the business, says what to defer and why, "
                "and states the invariants and the hardest constraint before components"
            ),
        },
    ),
    Dimension(
        "estimation",
        "Estimation",
        {
            "mid": "estimates QPS and storage roughly when asked, with the arithmetic mostly right",
            "senior": "estimates QPS, peak, storage and bandwidth unprompted and uses them to size components",
            "staff": "estimates only what changes the design, sanity-checks it and ties it to cost and limits",
        },
    ),
    Dimension(
        "api_data_model",
        "API and data model",
        {
            "mid": "defines workable endpoints and entities for the core use cases",
            "senior": "designs clear APIs (pagination, idempotency) and a schema shaped by the access patterns",
            "staff": "chooses storage models from access patterns and consistency needs and plans their evolution",
        },
    ),
    Dimension(
        "high_level_design",
        "High-level design",
        {
            "mid": "draws a working design with the standard components and a clear request flow",
            "senior": "draws a complete design that meets the requirements and explains every component's role",
            "staff": "draws a simple design that is clearly right for the constraints and names what it leaves out",
        },
    ),
    Dimension(
        "deep_dive",
        "Deep dive",
        {
            "mid": "goes into one component in some depth when asked",
            "senior": "goes deep in two areas with concrete mechanisms (sharding keys, cache policy, queues)",
            "staff": "finds the hardest parts unprompted and is deep in each, with numbers and mechanisms",
        },
    ),
    Dimension(
        "tradeoffs",
        "Trade-offs",
        {
            "mid": (
                "names an alternative for the main choices and one reason for the pick, "
                "and does not over-build for the stated scale"
            ),
            "senior": (
                "compares alternatives for each key choice and justifies the pick against the requirements, "
                "and does not over-build for the stated scale"
            ),
            "staff": (
                "weighs trade-offs across consistency, latency, cost and operability and when to revisit them, "
                "and does not over-build for the stated scale"
            ),
        },
    ),
    Dimension(
        "reliability_scale",
        "Reliability and scale",
        {
            "mid": "knows replication, caching and load balancing and where they apply",
            "senior": "finds bottlenecks and failure modes and handles them (replicas, failover, back-pressure)",
            "staff": "plans degradation, multi-region, capacity growth, monitoring and operations",
        },
    ),
    Dimension(
        "communication",
        "Communication",
        {
            "mid": "explains the design clearly and responds to the interviewer's questions",
            "senior": "drives the conversation, checks in with the interviewer and keeps to the time",
            "staff": "leads a structured discussion, adapts to the interviewer's signals and summarises decisions",
        },
    ),
)
DIMENSION_KEYS = tuple(dimension.key for dimension in DIMENSIONS)
RECOMMENDATIONS = ("strong no hire", "no hire", "hire", "strong hire")
PRACTICE_ITEMS = 3
UNCHECKED_NOTE = "Evidence not checked: this grade was stored before sdx checked quotes, so its scores are unverified."


def score_meanings(dimension: Dimension, level: str) -> dict[int, str]:
    """What each score 1–4 means for `dimension` at `level`: 3 is the level's bar, 4 the next level's."""
    bar = dimension.expected[level]
    above = (
        dimension.expected[_next_level(level)]
        if _next_level(level) != level
        else "does all of the staff bar unprompted and teaches the interviewer something"
    )
    return {
        1: "missing or wrong, even after hints",
        2: f"partly: needed prompting or left gaps in: {bar}",
        3: f"meets the {level} bar: {bar}",
        4: f"above the bar: {above}",
    }


def _next_level(level: str) -> str:
    names = list(LEVELS)
    return names[min(names.index(level) + 1, len(names) - 1)]


# ---------------------------------------------------------------------------------------------------------------
# The grading schema (strict subset) and its validation


def grade_schema() -> dict[str, object]:
    """The JSON schema the grader's answer must follow, for `response_format.json_schema.schema`."""
    strings = {"type": "array", "items": {"type": "string"}}
    dimension = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "enum": [1, 2, 3, 4]},
            "evidence": {**strings, "description": "short quotes from the transcript that justify the score"},
            "missed": {**strings, "description": "what the candidate should have covered and did not"},
        },
        "required": ["score", "evidence", "missed"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "dimensions": {
                "type": "object",
                "properties": {key: dimension for key in DIMENSION_KEYS},
                "required": list(DIMENSION_KEYS),
                "additionalProperties": False,
            },
            "recommendation": {"type": "string", "enum": list(RECOMMENDATIONS)},
            "summary": {"type": "string", "description": "two or three sentences on the interview as a whole"},
            "strengths": strings,
            "practice_next": {**strings, "description": f"exactly {PRACTICE_ITEMS} things to practise next"},
        },
        "required": ["dimensions", "recommendation", "summary", "strengths", "practice_next"],
        "additionalProperties": False,
    }


def response_format() -> dict[str, object]:
    """The `response_format` body field: the schema nested under `json_schema.schema` (where llama.cpp reads it)."""
    return {"type": "json_schema", "json_schema": {"name": "interview_grade", "schema": grade_schema(), "strict": True}}


# ---------------------------------------------------------------------------------------------------------------
# Prompts

INTERVIEWER_PROMPT = """\
You are the interviewer in a {minutes}-minute system design interview at a large technology company. The \
candidate is interviewing for a {level} role. The question is: "{question}"

How you run the interview:
- Open by presenting the problem in two to four sentences, then ask the candidate to start with the \
requirements. Do not list the phases or give away the design.
- Ask one question at a time and keep your turns short (a few sentences). Let the candidate drive; never \
design the system for them, never write their answer, never list what a good answer contains.
- When the candidate asks a clarifying question, answer it with concrete numbers and facts (users, requests \
per second, sizes, latency targets), as a real interviewer with a real product in mind would.
- Probe: ask why, ask for the alternative, ask what fails and what happens then, ask for numbers.
- Move through the phases in order, with soft time boxes:
{phases}
- Each candidate message ends with a note from sdx that starts with "{mark}": the time used, the current \
phase, and sometimes a request. Follow it: when it says the candidate asked for a hint, give one short nudge \
(a question or a pointer, not the answer); when it says the candidate moved on, open the next phase with one \
question; when a phase is over its time, steer the candidate onward. Never mention the note itself.
- When the message contains capacity figures computed by sdx, treat them as the candidate's estimates.
- Do not grade or give feedback during the interview; that comes afterwards, separately.

Write plain, short Markdown."""

GRADER_PROMPT = """\
You are a calibrated system design interviewer writing the debrief of a mock interview for a {level} role. \
Grade only what is in the transcript; quote the candidate's own words as evidence, copied exactly (cut a long \
quote with "…"): every quote is checked against the transcript. The bar for this level: {level_description}

Score each dimension from 1 to 4. What each score means at this level:
{rubric}

Recommendation: one of {recommendations}; "hire" means the candidate meets the {level} bar overall. The \
candidate used {hints} hint{hints_plural}; hints lower the scores of the dimensions they helped with.

Answer with one JSON object and nothing else (no prose, no code fence), following this JSON schema exactly:
{schema}

"dimensions" has one entry per dimension key ({keys}), each with "score" (1-4), "evidence" (quotes from the \
transcript) and "missed" (what was not covered). "practice_next" lists exactly {practice} things."""


REVIEW_PROMPT = """\
You are a calibrated system design interviewer reviewing a design document that a candidate for a {level} role \
wrote on their own. Grade only what is in the document; quote its own words as evidence, copied exactly (cut a \
long quote with "…"): every quote is checked against the document. Read "communication" as how clearly the \
document is structured and argued, and "deep dive" as the depth of its hardest parts. The bar for this level: \
{level_description}

Score each dimension from 1 to 4. What each score means at this level:
{rubric}

Recommendation: one of {recommendations}; "hire" means the design meets the {level} bar overall.{focus}

Answer with one JSON object and nothing else (no prose, no code fence), following this JSON schema exactly:
{schema}

"dimensions" has one entry per dimension key ({keys}), each with "score" (1-4), "evidence" (quotes from the \
document) and "missed" (what was not covered). "practice_next" lists exactly {practice} things."""

FOCUSES: dict[str, str] = {
    "reliability": "failure modes, redundancy, failover and recovery",
    "scale": "load, bottlenecks, partitioning, caching and growth",
    "cost": "what it costs to run and where the cost grows with scale",
    "latency": "the latency budget and where the time goes on the hot path",
    "consistency": "consistency guarantees, ordering and conflicts",
    "security": "authentication, authorisation, data protection and abuse",
    "operations": "deployment, monitoring, alerting and on-call",
    "data": "the data model, the storage choices and the access patterns",
    "api": "the API: its shape, pagination, idempotency and versioning",
    "simplicity": "whether the design is over-built for the stated scale",
}


def interviewer_prompt(question: str, level: str, minutes: float) -> str:
    phases = "\n".join(
        f"  {slot.index + 1}. {slot.phase.name} (from {clock(slot.start)} to {clock(slot.end)}): {slot.phase.goal}"
        for slot in phase_plan(minutes)
    )
    prompt = INTERVIEWER_PROMPT.format(
        minutes=_minutes_text(minutes), level=level, question=question, phases=phases, mark=NOTE_MARK
    )
    return f"{prompt}\n\nWhen you restate or sketch a design, or the candidate asks for the high-level design as a \
diagram, use the format below; a candidate's diagram reaches you in it too.\n\n{DIAGRAM_GUIDE}"


def _minutes_text(minutes: float) -> str:
    return f"{minutes:g}"


def interview_note(phase: int, elapsed: float, minutes: float, request: str = "") -> str:
    """The note sdx adds to a candidate message: the clock, the phase (and whether it is over its box), a request."""
    slot = phase_plan(minutes)[phase]
    over = " (over its time box: steer the candidate on)" if elapsed > slot.end and phase < len(PHASES) - 1 else ""
    text = f"{NOTE_MARK} {clock(elapsed)} of {_minutes_text(minutes)} minutes used; current {phase_label(phase)}{over}."
    return f"{text} {request}" if request else text


def hint_request(hints: int) -> str:
    return f"The candidate asked for a hint (hint {hints}): give one short nudge for the current phase, not the answer."


def next_phase_request(phase: int) -> str:
    return f"The candidate moved on to {phase_label(phase)}: acknowledge in a few words and open it with one question."


OPENING_REQUEST = "The interview starts now: present the problem briefly and ask the candidate to begin."


def grader_prompt(level: str, hints: int) -> str:
    return GRADER_PROMPT.format(**_rubric_fields(level), hints=hints, hints_plural="" if hints == 1 else "s")


def review_prompt(level: str, focus: tuple[str, ...] = ()) -> str:
    """The grader's system prompt for a written design; `focus` (keys of FOCUSES) weighs the written feedback."""
    focus_text = ""
    if focus:
        wanted = "; ".join(f"{name} ({FOCUSES[name]})" for name in focus)
        focus_text = (
            f'\n\nThe author asked for feedback focused on: {wanted}. Weigh "missed", "summary" and '
            '"practice_next" toward that; the scores still follow the rubric.'
        )
    return REVIEW_PROMPT.format(**_rubric_fields(level), focus=focus_text)


def _rubric_fields(level: str) -> dict[str, object]:
    rubric_lines = []
    for dimension in DIMENSIONS:
        meanings = score_meanings(dimension, level)
        rubric_lines.append(f"- {dimension.key} ({dimension.title}):")
        rubric_lines += [f"    {score}: {meaning}" for score, meaning in meanings.items()]
    return {
        "level": level,
        "level_description": LEVELS[level],
        "rubric": "\n".join(rubric_lines),
        "recommendations": ", ".join(f'"{name}"' for name in RECOMMENDATIONS),
        "schema": json.dumps(grade_schema()),
        "keys": ", ".join(DIMENSION_KEYS),
        "practice": PRACTICE_ITEMS,
    }


def split_note(context: str) -> tuple[str, str]:
    """A candidate turn's context as (what the candidate pasted, sdx's note)."""
    before, mark, after = context.partition(NOTE_MARK)
    return before.strip(), (mark + after).strip() if mark else ""


CANDIDATE_ACTIONS = {"/hint": "[asks for a hint]", "/next": "[moves on to the next phase]"}


def candidate_words(message: str) -> str:
    """A candidate's message as a reader of the transcript sees it: `/hint` and `/next` as what they did."""
    return CANDIDATE_ACTIONS.get(message, message)


def transcript(question: str, turns: list[tuple[str, str, str]]) -> str:
    """The interview as the grader reads it, from (candidate message, its context, interviewer reply) triples.

    The first triple is the opening (its message is the question itself). `/hint` and `/next` read as what they
    did; figures pasted from `/estimate` are kept, sdx's clock notes are left out.
    """
    lines = [f"Question: {question}", ""]
    for number, (message, context, reply) in enumerate(turns):
        if number > 0:
            pasted, _note = split_note(context)
            lines.append(f"Candidate: {candidate_words(message)}")
            if pasted:
                lines.append(f"Candidate (figures from the calculator): {pasted}")
            lines.append("")
        lines.append(f"Interviewer: {reply.strip() or '[no reply]'}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def grading_request_text(level: str, minutes: float, hints: int, text: str) -> str:
    """The grading request's user message: the transcript (which opens with the question) and what to grade it as."""
    return (
        f"Grade this {_minutes_text(minutes)}-minute mock interview for a {level} role "
        f"(hints used: {hints}).\n\n--- transcript ---\n{text}--- end of transcript ---"
    )


def evidence_request(not_found: dict[str, list[str]], against: str = "the transcript") -> str:
    """Sending a grade back whose evidence quotes are not in the material graded, naming them."""
    named = "; ".join(
        f"{key}: " + ", ".join(json.dumps(quote, ensure_ascii=False) for quote in quotes)
        for key, quotes in not_found.items()
    )
    return (
        f"These evidence quotes are not in {against}: {named}. Evidence must be copied exactly from {against} "
        "(a long quote may be cut with …). Replace each with a quote that is there, or drop it and score the "
        "dimension only on what is there. Answer again with only the corrected JSON object, following the schema "
        "exactly."
    )


def review_request_text(level: str, question: str, document: str) -> str:
    """The review's user message: the question the design answers, and the design itself."""
    return (
        f"Review this written design for a {level} role. The question it answers: {question}\n\n"
        f"--- design ---\n{document.rstrip()}\n--- end of design ---"
    )


def revalidation_request(problems: str) -> str:
    return (
        f"That answer is not valid for the schema: {problems}. Answer again with only the corrected JSON object, "
        "following the schema exactly."
    )
