"""A conversation and its turns, as plain data: what `sdx.turn` produces and `sdx.store.history` keeps."""

from __future__ import annotations

from dataclasses import dataclass, field

COMPLETE = "complete"
INTERRUPTED = "interrupted"  # Ctrl-C, a dropped stream, a signal: the text that arrived is kept
ERROR = "error"  # the request failed; `error` says why (there may still be partial text)
TRUNCATED = "truncated"  # the model stopped at the token limit (finish_reason "length"): the text is kept, not whole
STATUS_WORDS = {COMPLETE: "complete", TRUNCATED: "cut off", INTERRUPTED: "interrupted", ERROR: "failed"}

# How far a turn's request got (`sdx.model.client.Delivery`); "" for a turn stored before sdx traced it
UNSENT = "unsent"  # it never reached the server (refused, unresolved, Ctrl-C while connecting): it cost nothing
UNANSWERED = "unanswered"  # the server has it and its reply never came whole: it may have been billed
ANSWERED = "answered"  # a whole reply came, an answer or an error

KINDS = ("ask", "chat", "interview", "batch", "review")
GRADED_KINDS = ("interview", "review")  # conversations with a grade in their meta


@dataclass
class Turn:
    """One question and the answer to it, complete or not."""

    question: str
    context: str = ""
    answer: str = ""
    status: str = COMPLETE
    error: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_estimated: bool = False  # True when the server sent no usage and the counts are ours
    time_to_first_token: float | None = None  # seconds
    duration: float | None = None  # seconds
    model_id: str = ""  # the model that actually answered (as the server named it, or the requested id); "": none
    # did (a review's design, stored as its one turn), so it is not an answer
    prompt_version: str = ""
    created_at: float = 0.0  # Unix time
    cost: float | None = None  # USD; None: unknown
    cost_source: str = ""  # where `cost` came from (sdx.model.pricing: reported, local, price list, prices)
    model: str = ""  # the model as the user named it (alias or provider:model): how sdx shows it everywhere
    delivery: str = ""  # UNSENT, UNANSWERED, ANSWERED; "": stored before sdx traced it
    id: int | None = None  # set by the store


def counts_as_answer(turn: Turn) -> bool:
    """Whether the turn is an answer that may have cost something: a model was asked (not a review's design), and
    the server either replied with more than an error or has the request and never replied (what it generated is
    then unknown). A request that never reached the server, or that it refused, is not one. `answer_sql` says the
    same in SQL."""
    if not turn.model_id or turn.delivery == UNSENT:
        return False
    return turn.delivery == UNANSWERED or turn.status != ERROR


def answer_sql(alias: str) -> str:
    """`counts_as_answer` as an SQL condition on the turns table under `alias`."""
    return (
        f"{alias}.model_id != '' AND ({alias}.delivery = '{UNANSWERED}'"
        f" OR ({alias}.status != '{ERROR}' AND {alias}.delivery != '{UNSENT}'))"
    )


@dataclass
class GradingRequest:
    """One grading request the server received: what it cost (the grade itself is kept in the conversation's meta).
    A grade takes one to three of them (sent back when invalid, or when a quote is not in the transcript). One that
    got no reply (a timeout, a dropped connection, Ctrl-C while waiting) has `completion_tokens` None: what it
    generated is unknown, and so is its cost unless the server is on this machine."""

    created_at: float  # Unix time the request was sent
    model: str  # the grader as the user named it (alias or provider:model)
    model_id: str  # the model that answered, as the server named it
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_estimated: bool = False  # True when the server sent no usage and the counts are ours
    cost: float | None = None  # USD; None: unknown
    cost_source: str = ""  # where `cost` came from (sdx.model.pricing)
    id: int | None = None  # set by the store


@dataclass
class Conversation:
    """A titled series of turns with one model and one system prompt; `id` is None until it is stored."""

    kind: str
    model: str  # the model name the user chose (alias or provider:model)
    system_prompt: str
    prompt_version: str
    title: str = ""
    turns: list[Turn] = field(default_factory=list)
    id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    meta: dict[str, object] = field(default_factory=dict)  # per-kind extras (an interview's level, its grade)
    gradings: list[GradingRequest] = field(default_factory=list)  # what grading it cost (interview, review)


def title_from(question: str, limit: int = 80) -> str:
    """The conversation's title: the first question on one line, shortened."""
    line = " ".join(question.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
