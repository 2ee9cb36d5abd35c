"""What grading costs: every answered grading request stored with its tokens and cost (reported, priced from the
served price list, $0 on this machine), counted by `sdx usage` and shown by `sdx show`, `sdx history` and the
grade's last line; against loopback servers answering grading requests with fixed JSON."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from sdx.turn import CHARS_PER_TOKEN, estimate_tokens
from tests.fake_server import ANSWER, Failure, chunks_of
from tests.runner import Sdx, stored_conversations
from tests.test_cost import PRICES, price_list_requests
from tests.test_grading import ANSWERS, real_looking_grade
from tests.test_interview import QUESTION, GradingServer, grade_json, stored_interview
from tests.test_review import DESIGN, review_grade
from tests.test_usage import MIDNIGHT, at

CHUNKS = len(chunks_of(ANSWER, 5))  # an interviewer reply's completion tokens
GRADE_TOKENS = 42  # the fake server's completion tokens for a reply that is not streamed
LISTED = 50 * 0.000001 + GRADE_TOKENS * 0.000002  # a grade priced from PRICES


class CostServer(GradingServer):
    """A grading server that can leave the usage out of its grading replies (as some local servers do), or take
    `grading_delay` seconds to answer them."""

    def __init__(self) -> None:
        super().__init__()
        self.grading_usage = True
        self.grading_delay = 0.0

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        self.stop_event.wait(self.grading_delay)
        completion = super()._completion(body)
        if not self.grading_usage:
            del completion["usage"]
        return completion


@pytest.fixture
def fake() -> Iterator[CostServer]:
    server = CostServer().start()
    yield server
    server.stop()


@pytest.fixture
def ollama() -> Iterator[CostServer]:
    """The local server (OLLAMA_HOST) grades too."""
    server = CostServer().start()
    yield server
    server.stop()


def grading_rows(sdx: Sdx) -> list[tuple]:
    db = sqlite3.connect(sdx.config_dir / "history.db")
    try:
        return db.execute(
            "SELECT conversation_id, kind, created_at, model, model_id, prompt_tokens, completion_tokens,"
            " tokens_estimated, cost, cost_source FROM gradings ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def usage_json(sdx: Sdx, *args: str) -> dict[str, Any]:
    result = sdx.call("usage", "--json", *args, wall_clock=at(MIDNIGHT + 3600))
    assert result.code == 0, result.stderr
    return json.loads(result.out)


def test_a_reported_grading_cost_is_stored_exactly_and_counted_by_usage(sdx: Sdx, fake: CostServer) -> None:
    """Interview with a local model ($0), grade with a hosted one that reports its cost."""
    fake.scenario.cost = 0.0123456
    fake.grades.append(grade_json())
    result = sdx.call(
        "interview", QUESTION, "-m", "llama3.2", "--grader-model", "gpt-4o-mini", input=ANSWERS, wall_clock=at(MIDNIGHT)
    )
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "sdx: grading with gpt-4o-mini cost $0.0123"
    interview = stored_interview(sdx)
    assert grading_rows(sdx) == [
        (interview.id, "interview", MIDNIGHT, "gpt-4o-mini", "openai/gpt-4o-mini", 50, 42, 0, 0.0123456, "reported")
    ]
    assert price_list_requests(fake) == []

    data = usage_json(sdx)
    assert data["total"] == {
        "group": "total",
        "answers": 3,  # the opening and the two answers, on the local model
        "tokens_in": 4 * 50,
        "tokens_out": 3 * CHUNKS + GRADE_TOKENS,
        "tokens_estimated": False,
        "cost_usd": 0.0123456,
        "cost_estimated": False,
        "unknown_cost": 0,
        "gradings": 1,
        "grading_cost_usd": 0.0123456,
    }
    assert data["rows"] == [{**data["total"], "group": "2026-11"}]
    by_model = usage_json(sdx, "--by", "model")["rows"]
    assert [(row["group"], row["answers"], row["gradings"], row["cost_usd"]) for row in by_model] == [
        ("llama3.2", 3, 0, 0.0),
        ("openai/gpt-4o-mini", 0, 1, 0.0123456),
    ]

    piped = sdx.call("usage", "--by", "model", wall_clock=at(MIDNIGHT))
    assert (piped.code, piped.stderr) == (0, "")
    assert [line.split() for line in piped.out.splitlines()] == [
        ["MODEL", "ANSWERS", "GRADINGS", "TOKENS", "IN", "TOKENS", "OUT", "COST", "UNKNOWN", "COST"],
        ["llama3.2", "3", "0", "150", str(3 * CHUNKS), "$0"],
        ["openai/gpt-4o-mini", "0", "1", "50", "42", "$0.0123"],
        ["total", "3", "1", "200", str(3 * CHUNKS + GRADE_TOKENS), "$0.0123"],
    ]


def test_a_grade_without_a_cost_is_priced_from_the_served_list_after_it_is_shown(sdx: Sdx, fake: CostServer) -> None:
    fake.scenario.prices = PRICES
    fake.grades.append(grade_json())
    result = sdx.call("interview", QUESTION, "-m", "llama3.2", "--grader-model", "gpt-4o-mini", input=ANSWERS)
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "sdx: grading with gpt-4o-mini cost ~$0.0001"
    [(_, _, _, _, _, prompt, completion, estimated, cost, source)] = grading_rows(sdx)
    assert (prompt, completion, estimated, source) == (50, 42, 0, "price list")
    assert cost == pytest.approx(LISTED)
    [grading] = fake.grading_requests()
    [listing] = price_list_requests(fake)
    assert fake.requests.index(listing) > fake.requests.index(grading)  # asked for after the grade, never before

    interview = stored_interview(sdx)
    shown = sdx.call("show", interview.id or "", "--raw")
    assert shown.out.splitlines()[2].endswith(f" · id {interview.id} · cost ~$0.0001 (grading ~$0.0001)*")
    total = usage_json(sdx)["total"]
    assert total["cost_estimated"] is True and total["grading_cost_usd"] == pytest.approx(LISTED)


def test_a_local_grader_costs_nothing(sdx: Sdx, fake: CostServer, ollama: CostServer) -> None:
    ollama.grades.append(grade_json())
    result = sdx.call("interview", QUESTION, "-m", "llama3.2", input=ANSWERS, wall_clock=at(MIDNIGHT))
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "sdx: grading with llama3.2 cost $0"
    [row] = grading_rows(sdx)
    assert row[3:] == ("llama3.2", "llama3.2", 50, 42, 0, 0.0, "local")
    assert fake.requests == []
    assert usage_json(sdx)["total"]["cost_usd"] == 0.0


def test_an_evidence_reask_is_two_requests_and_show_and_history_include_them(sdx: Sdx, fake: CostServer) -> None:
    fake.scenario.cost = 0.001  # every answer and every grading request
    fake.grades.extend([real_looking_grade(invented=True), real_looking_grade(invented=False)])
    result = sdx.call("interview", QUESTION, input=ANSWERS)
    assert result.code == 0, result.stderr
    assert "not in the transcript" in result.stderr
    assert result.stderr.splitlines()[-1] == "sdx: grading with gpt-4o-mini cost $0.0020 (2 requests)"
    interview = stored_interview(sdx)
    assert [(row[0], row[8], row[9]) for row in grading_rows(sdx)] == [(interview.id, 0.001, "reported")] * 2
    total = usage_json(sdx)["total"]
    assert (total["answers"], total["gradings"]) == (3, 2)
    assert total["cost_usd"] == pytest.approx(0.005) and total["grading_cost_usd"] == pytest.approx(0.002)

    shown = sdx.call("show", interview.id or "", "--raw").out
    assert shown.splitlines()[2].endswith(f" · id {interview.id} · cost $0.0050 (grading $0.0020)*")
    listed = sdx.call("history").out.splitlines()
    assert listed[0].split()[5] == "COST" and listed[1].split()[6] == "$0.0050"
    assert sdx.call("history", "--json").out.count('"grading_cost": 0.002') == 1

    # a regrade adds its own request, and says what it cost
    fake.grades.append(grade_json())
    again = sdx.call("interview", "--regrade", interview.id or "")
    assert again.code == 0, again.stderr
    assert again.stderr.splitlines()[-1] == "sdx: grading with gpt-4o-mini cost $0.0010"
    assert len(grading_rows(sdx)) == 3
    shown = sdx.call("show", interview.id or "", "--raw").out
    assert shown.splitlines()[2].endswith(" · cost $0.0060 (grading $0.0030)*")


def test_usage_by_kind_puts_grading_under_interview_and_review(sdx: Sdx, fake: CostServer) -> None:
    fake.scenario.cost = 0.001
    assert sdx.call("ask", "Design a cache", wall_clock=at(MIDNIGHT)).code == 0
    fake.grades.append(grade_json())
    assert sdx.call("interview", QUESTION, input=ANSWERS, wall_clock=at(MIDNIGHT)).code == 0
    fake.grades.append(review_grade())
    review = sdx.call("review", "-", input=DESIGN, wall_clock=at(MIDNIGHT))
    assert review.code == 0, review.stderr
    assert review.stderr.splitlines()[-1] == "sdx: grading with gpt-4o-mini cost $0.0010"
    rows = usage_json(sdx, "--by", "kind")["rows"]
    assert [(r["group"], r["answers"], r["gradings"], r["unknown_cost"], r["cost_usd"]) for r in rows] == [
        ("ask", 1, 0, 0, 0.001),
        ("interview", 3, 1, 0, pytest.approx(0.004)),
        ("review", 0, 1, 0, 0.001),  # the review's design is stored as a turn, but no model answered it
    ]
    [stored] = [c for c in stored_conversations(sdx) if c.kind == "review"]
    shown = sdx.call("show", stored.id or "", "--raw").out
    assert shown.splitlines()[2].endswith(f" · id {stored.id} · cost $0.0010 (grading $0.0010)*")

    fake.grades.append(review_grade())
    as_json = sdx.call("review", "-", "--json", input=DESIGN)
    assert as_json.code == 0, as_json.stderr
    assert json.loads(as_json.out)["grading"] == {
        "requests": 1,
        "tokens_in": 50,
        "tokens_out": 42,
        "tokens_estimated": False,
        "cost_usd": 0.001,
        "cost_estimated": False,
        "unknown_cost": 0,
    }


def test_a_failed_grading_keeps_what_the_answered_requests_cost_and_nothing_else(sdx: Sdx, fake: CostServer) -> None:
    fake.scenario.cost = 0.001
    fake.grades.extend(["The candidate did well.", "Still not JSON."])
    result = sdx.call("interview", QUESTION, input=ANSWERS)
    assert result.code == 4
    interview = stored_interview(sdx)
    assert interview.meta["grade_status"] == "not graded"
    assert [(row[0], row[1], row[8]) for row in grading_rows(sdx)] == [(interview.id, "interview", 0.001)] * 2

    (sdx.home / "design.md").write_text(DESIGN, encoding="utf-8")
    fake.grades.extend(["I think it's good.", "Still good."])
    failed = sdx.call("review", "design.md")
    assert failed.code == 4
    assert "not graded — the review was not stored; grade it again with `sdx review design.md`" in failed.stderr
    assert [c.kind for c in stored_conversations(sdx)] == ["interview"]  # the review is not stored
    assert [(row[0], row[1], row[8]) for row in grading_rows(sdx)[2:]] == [(None, "review", 0.001)] * 2
    rows = usage_json(sdx, "--by", "kind")["rows"]
    assert [(r["group"], r["answers"], r["gradings"]) for r in rows] == [("interview", 3, 2), ("review", 0, 2)]

    assert sdx.call("review", "design.md", "--no-log").code == 4  # with --no-log nothing at all is stored
    assert len(grading_rows(sdx)) == 4


def test_a_request_refused_for_its_response_format_is_not_counted_its_retry_is(sdx: Sdx, fake: CostServer) -> None:
    fake.scenario.cost = 0.002
    fake.grading_failures.append(Failure.json_error(400, "Unrecognized request argument supplied: response_format"))
    fake.grades.append(grade_json())
    result = sdx.call("interview", QUESTION, input=ANSWERS)
    assert result.code == 0, result.stderr
    assert len(fake.grading_requests()) == 2
    assert [row[8] for row in grading_rows(sdx)] == [0.002]
    assert result.stderr.splitlines()[-1] == "sdx: grading with gpt-4o-mini cost $0.0020"


def test_without_usage_the_grading_tokens_are_estimated_and_flagged(sdx: Sdx, fake: CostServer) -> None:
    fake.grading_usage = False
    fake.scenario.prices = PRICES
    fake.grades.append(grade_json())
    assert sdx.call("interview", QUESTION, input=ANSWERS).code == 0
    [grading] = fake.grading_requests()
    prompt, completion = estimate_tokens(grading.body["messages"]), len(grade_json()) // CHARS_PER_TOKEN
    [row] = grading_rows(sdx)
    assert row[5:8] == (prompt, completion, 1)
    assert row[8] == pytest.approx(prompt * 0.000001 + completion * 0.000002) and row[9] == "price list"
    total = usage_json(sdx)["total"]
    assert total["tokens_estimated"] is True and total["tokens_in"] == 3 * 50 + prompt


def test_a_schema_4_history_migrates_and_counts_grading_from_then_on(sdx: Sdx, fake: CostServer) -> None:
    from sdx.store.history import _migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4

    path = sdx.config_dir / "history.db"
    db = sqlite3.connect(path, isolation_level=None)
    for migration in (_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4):
        migration(db)
    db.execute("PRAGMA user_version = 4")
    meta = {"level": "senior", "minutes": 45, "question": QUESTION, "hints": 0, "grade_status": "not graded"}
    db.execute(
        "INSERT INTO conversations VALUES ('01J0000000000000000000000A', ?, 'interview', 'gpt-4o-mini', 's', 'v',"
        " ?, ?, ?)",
        (QUESTION, MIDNIGHT, MIDNIGHT, json.dumps(meta)),
    )
    for question in (QUESTION, "I'd start with requirements: 100M new links a month"):
        db.execute(
            "INSERT INTO turns (conversation_id, question, context, answer, status, error, prompt_tokens,"
            " completion_tokens, tokens_estimated, model_id, prompt_version, created_at, cost, model, cost_source)"
            " VALUES ('01J0000000000000000000000A', ?, '', ?, 'complete', '', 50, 100, 0, 'openai/gpt-4o-mini', 'v',"
            " ?, 0.25, 'gpt-4o-mini', 'reported')",
            (question, ANSWER, MIDNIGHT),
        )
    db.close()

    listed = sdx.call("history")
    assert listed.code == 0, listed.stderr
    assert listed.out.splitlines()[1].split()[6] == "$0.5000"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (6,)
    assert {row[1] for row in db.execute("PRAGMA index_list(gradings)")} >= {"gradings_usage"}
    db.close()
    assert grading_rows(sdx) == []
    assert usage_json(sdx)["total"]["gradings"] == 0
    shown = sdx.call("show", "01J0000000000000000000000A", "--raw").out
    assert shown.splitlines()[2].endswith(" · cost $0.5000*")  # no grading yet: nothing said about it

    fake.scenario.cost = 0.01
    fake.grades.append(grade_json())
    assert sdx.call("interview", "--regrade", "01J0000000000000000000000A").code == 0
    assert [(row[0], row[8]) for row in grading_rows(sdx)] == [("01J0000000000000000000000A", 0.01)]
    shown = sdx.call("show", "01J0000000000000000000000A", "--raw").out
    assert shown.splitlines()[2].endswith(" · cost $0.5100 (grading $0.0100)*")
    assert sdx.call("history", "rm", "01J0000000000000000000000A", "--yes").code == 0
    assert grading_rows(sdx) == []  # gone with its conversation, as its answers are


@pytest.mark.parametrize("by", ["day", "week", "month", "model", "kind"])
def test_the_usage_queries_read_only_their_covering_indexes(tmp_path, by: str) -> None:
    from sdx.commands.usage import _GRADING_TOTALS, _TOTALS, GRADING_GROUPS, GROUPS
    from sdx.store.history import History

    with History.open(tmp_path / "history.db") as history:
        join = "JOIN conversations c ON c.id = t.conversation_id" if by == "kind" else ""
        plans = {
            "turns_usage": history.db.execute(
                "EXPLAIN QUERY PLAN " + _TOTALS.format(group=GROUPS[by], join=join), (0.0,)
            ).fetchall(),
            "gradings_usage": history.db.execute(
                "EXPLAIN QUERY PLAN " + _GRADING_TOTALS.format(group=GRADING_GROUPS[by]), (0.0,)
            ).fetchall(),
        }
    for index, plan in plans.items():
        details = [row[-1] for row in plan if " t " in f" {row[-1]} "]
        assert details == [f"SEARCH t USING COVERING INDEX {index} (created_at>?)"], plan


def test_a_review_regrade_counts_its_grading_and_a_failed_one_too(sdx: Sdx, fake: CostServer) -> None:
    fake.scenario.cost = 0.001
    fake.grades.append(review_grade())
    assert sdx.call("review", "-", input=DESIGN).code == 0
    [stored] = [c for c in stored_conversations(sdx) if c.kind == "review"]
    fake.grades.append(review_grade())
    regraded = sdx.call("review", "--regrade", stored.id or "")
    assert regraded.code == 0, regraded.stderr
    assert [(row[0], row[1], row[8]) for row in grading_rows(sdx)] == [(stored.id, "review", 0.001)] * 2
    fake.grades.extend(["not json", "still not json"])
    assert sdx.call("review", "--regrade", stored.id or "").code == 4
    assert [row[0] for row in grading_rows(sdx)] == [stored.id] * 4  # the failed regrade's two requests were paid
    assert usage_json(sdx, "--by", "kind")["rows"][0]["gradings"] == 4


def unanswered_row(sdx: Sdx, fake: CostServer, conversation_id: str | None, kind: str) -> tuple:
    """The row of a grading request that got no reply: its prompt estimated, what it generated and its cost unknown."""
    prompt = estimate_tokens(fake.grading_requests()[-1].body["messages"])
    return (conversation_id, kind, MIDNIGHT, "gpt-4o-mini", "openai/gpt-4o-mini", prompt, None, 1, None, "")


@pytest.mark.parametrize("failure", ["timeout", "dropped"])
def test_a_grading_request_the_server_got_but_never_answered_is_counted_as_of_unknown_cost(
    sdx: Sdx, fake: CostServer, failure: str
) -> None:
    fake.scenario.cost = 0.001
    fake.grades.append(grade_json())
    assert sdx.call("interview", QUESTION, input=ANSWERS, wall_clock=at(MIDNIGHT)).code == 0
    interview = stored_interview(sdx)
    args = ["interview", "--regrade", interview.id or ""]
    if failure == "timeout":
        fake.grading_delay = 2.0
        result = sdx.call(*args, "--timeout", "0.3", wall_clock=at(MIDNIGHT))
    else:
        fake.scenario.break_whole_answer = True  # half the reply, then the connection is closed
        result = sdx.call(*args, wall_clock=at(MIDNIGHT))
    assert result.code == 5, result.stderr
    answered = (interview.id, "interview", MIDNIGHT, "gpt-4o-mini", "openai/gpt-4o-mini", 50, 42, 0, 0.001, "reported")
    assert grading_rows(sdx) == [answered, unanswered_row(sdx, fake, interview.id, "interview")]
    assert price_list_requests(fake) == []  # nothing to price: what it generated is unknown

    total = usage_json(sdx)["total"]
    assert (total["gradings"], total["unknown_cost"], total["grading_cost_usd"]) == (2, 1, 0.001)
    assert (total["tokens_out"], total["tokens_estimated"]) == (3 * CHUNKS + GRADE_TOKENS, True)
    piped = sdx.call("usage", wall_clock=at(MIDNIGHT + 3600))
    assert piped.code == 0 and piped.out.splitlines()[-1].split()[-2:] == ["$0.0040", "1"]
    assert piped.stderr == (
        "sdx: note: the cost column leaves out 1 grading request of unknown cost: openai/gpt-4o-mini (1); got no"
        " whole reply (a timeout, a dropped connection, Ctrl-C), so what the model generated is unknown and no price"
        " can cost it\n"
    )
    assert sdx.call("history", "--json").out.count('"unknown_cost": 1') == 1
    shown = sdx.call("show", interview.id or "", "--raw").out.splitlines()[2]
    assert shown.endswith(" · cost $0.0040 (grading $0.0010) + 1 grading request of unknown cost*")


def test_a_grading_request_that_never_reached_a_server_is_not_counted(sdx: Sdx, fake: CostServer) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once it is closed: connection refused
    sdx.write_config(sdx.config_file.read_text() + f'\n[providers.gone]\nbase_url = "http://127.0.0.1:{port}/v1"\n')
    result = sdx.call("review", "-", "-m", "gone:model", input=DESIGN)
    assert result.code == 5, result.stderr
    assert usage_json(sdx)["total"]["gradings"] == 0
    assert grading_rows(sdx) == []


def test_a_grading_request_interrupted_by_ctrl_c_while_waiting_is_counted(sdx: Sdx, fake: CostServer) -> None:
    """A real process and a real SIGINT, sent once the server has the request (the server never answers it)."""
    fake.grading_delay = 30.0
    (sdx.home / "design.md").write_text(DESIGN, encoding="utf-8")
    code, err = sdx.interrupted_once_received(fake.grading_requests, "review", "design.md")
    assert code == 130, err
    [row] = grading_rows(sdx)
    expected = unanswered_row(sdx, fake, None, "review")
    assert row[:2] + row[3:] == expected[:2] + expected[3:]  # sent at the real time of day
    assert usage_json(sdx, "--by", "kind")["rows"][0]["unknown_cost"] == 1


def test_the_unknown_cost_query_reads_only_the_covering_indexes(tmp_path) -> None:
    from sdx.commands.usage import _UNKNOWN_BY_MODEL
    from sdx.store.history import History

    with History.open(tmp_path / "history.db") as history:
        plan = history.db.execute("EXPLAIN QUERY PLAN " + _UNKNOWN_BY_MODEL, (0.0, 0.0)).fetchall()
    details = sorted(row[-1] for row in plan if " t " in f" {row[-1]} ")
    assert details == [
        "SEARCH t USING COVERING INDEX gradings_usage (created_at>?)",
        "SEARCH t USING COVERING INDEX turns_usage (created_at>?)",
    ], plan
