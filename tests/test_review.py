"""`sdx review FILE|-`: a design the user wrote, graded against the rubric by the loopback server's fixed JSON,
with its evidence checked against the file, stored as a `review`; and every bad input in one line."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator

import pytest

from sdx.domain import rubric
from sdx.domain.conversation import Conversation
from sdx.store.history import History
from tests.runner import Sdx, stored_conversations
from tests.test_interview import GradingServer, grade_json


@pytest.fixture
def fake() -> Iterator[GradingServer]:
    server = GradingServer().start()
    yield server
    server.stop()


# A design doc as someone writes one at work: a heading, prose, numbers, a mermaid diagram.
DESIGN = """\
# Design a URL shortener

## Requirements
Users paste a long URL and get a 7-character code. 100M new links a month; reads are 100x writes.
Links never expire. The hard constraint: a redirect must take **under 20 ms at p99**.

## High-level design
```mermaid
flowchart LR
  client --> lb[Load balancer] --> api --> cache[(Redis)] --> db[(Cassandra)]
```
Codes come from a counter range handed out by ZooKeeper, so two API servers never pick the same code.

## Trade-offs
Cassandra over Postgres: the access pattern is a single key lookup and we need multi-region writes.
"""
QUOTES = {
    "requirements": ["The hard constraint: a redirect must take under 20 ms at p99"],
    "high_level_design": ["Codes come from a counter range handed out by ZooKeeper…never pick the same code"],
    "tradeoffs": ["cassandra over postgres: the access pattern is a single key lookup"],
}
INVENTED = "We shard by user id across 16 Postgres nodes"


def review_grade(invented: bool = False) -> str:
    evidence = {key: QUOTES.get(key, []) for key in rubric.DIMENSION_KEYS}
    if invented:
        evidence["deep_dive"] = [INVENTED]
    return grade_json("hire", evidence=evidence)


def reviews(sdx: Sdx) -> list[Conversation]:
    return [c for c in stored_conversations(sdx) if c.kind == "review"]


def test_a_review_of_a_file_is_graded_shown_and_stored(sdx: Sdx, fake: GradingServer) -> None:
    (sdx.home / "design.md").write_text(DESIGN, encoding="utf-8")
    fake.grades.append(review_grade())
    result = sdx.call("review", "design.md", "--level", "staff")
    assert result.code == 0, result.stderr

    [grading] = fake.grading_requests()
    body = grading.body
    assert body["temperature"] == 0 and body["response_format"] == rubric.response_format()
    assert body["messages"][0] == {"role": "system", "content": rubric.review_prompt("staff")}
    assert body["messages"][1]["content"] == rubric.review_request_text("staff", "Design a URL shortener", DESIGN)

    assert result.out.startswith("---\n\n## Grade: hire (staff bar)\n")  # piped: Markdown, as `show --raw`
    assert "### Requirements and scoping: 3/4\n> The hard constraint" in result.out
    assert "unverified" not in result.out

    [review] = reviews(sdx)
    assert review.title == "Design a URL shortener" and review.model == "gpt-4o-mini"
    assert review.meta["level"] == "staff" and review.meta["source"] == "design.md" and review.meta["focus"] == []
    assert review.meta["grade_status"] == "graded"
    assert review.meta["grade"]["evidence_check"] == {"version": 1, "against": "the design", "not_found": {}}
    [turn] = review.turns
    assert turn.question == "Design a URL shortener" and turn.context == DESIGN

    shown = sdx.call("show", review.id or "", "--raw")
    assert shown.out.endswith(result.out)
    listed = sdx.call("history", "--kind", "review")
    assert "GRADE" in listed.out and "hire" in listed.out


def test_a_review_from_stdin_with_a_question_and_a_focus(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.append(review_grade())
    question = "Design bit.ly for a bank"
    result = sdx.call("review", "-", "--question", question, "--focus", "reliability,cost", input=DESIGN)
    assert result.code == 0, result.stderr
    system = fake.grading_requests()[0].body["messages"][0]["content"]
    assert system == rubric.review_prompt("senior", ("reliability", "cost"))
    assert "focused on: reliability (failure modes" in system and "; cost (what it costs" in system
    [review] = reviews(sdx)
    assert review.title == question and review.meta["source"] == "stdin"
    assert review.meta["focus"] == ["reliability", "cost"]


def test_review_json_and_an_invented_quote_marked_not_in_the_design(sdx: Sdx, fake: GradingServer) -> None:
    fake.grades.extend([review_grade(invented=True)] * 2)
    result = sdx.call("review", "-", "--json", input=DESIGN)
    assert result.code == 0, result.stderr
    assert len(fake.grading_requests()) == 2
    assert (
        "These evidence quotes are not in the design: deep_dive:"
        in fake.grading_requests()[1].body["messages"][3]["content"]
    )
    report = json.loads(result.out)
    [review] = reviews(sdx)
    assert report["id"] == review.id and report["question"] == "Design a URL shortener"
    assert report["unverified"] == ["deep_dive"]
    assert report["grade"]["evidence_check"]["not_found"] == {"deep_dive": [INVENTED]}
    assert report["grade"]["dimensions"]["tradeoffs"]["evidence"] == QUOTES["tradeoffs"]
    shown = sdx.call("show", review.id or "", "--raw")
    assert f"### Deep dive: 3/4 (unverified)\n> ~~{INVENTED}~~ *(not in the design)*" in shown.out


def test_a_failed_review_grade_stores_nothing_and_says_how_to_run_it_again(sdx: Sdx, fake: GradingServer) -> None:
    (sdx.home / "design.md").write_text(DESIGN, encoding="utf-8")
    fake.grades.extend(["I think it's good.", "Still good."])
    result = sdx.call("review", "design.md")
    assert result.code == 4
    assert result.stderr.splitlines()[-1] == (
        "sdx: error: gpt-4o-mini did not produce a valid grade twice (not valid JSON: Expecting value at line 1"
        " column 1); not graded — the review was not stored; grade it again with `sdx review design.md`"
        " (try a larger model)"
    )
    assert reviews(sdx) == []


def test_a_review_grade_that_cannot_finish_in_time(sdx: Sdx, fake: GradingServer) -> None:
    """A server that takes the connection and never answers: the grade's own limit (--timeout) ends the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake and buffers the request; no one ever replies
        port = silent.getsockname()[1]
        sdx.write_config(
            sdx.config_file.read_text() + f'\n[providers.silent]\nbase_url = "http://127.0.0.1:{port}/v1"\n'
        )
        result = sdx.call("review", "-", "-m", "silent:big-model", "--timeout", "0.5", input=DESIGN)
    assert result.code == 5
    assert result.stderr.splitlines()[-1] == (
        "sdx: error: silent:big-model did not finish the grade within 0.5s — grade it with another model:"
        " `sdx review FILE -m MODEL`, or allow longer with --timeout"
    )
    assert reviews(sdx) == []
    assert fake.requests == []
    db = sqlite3.connect(sdx.config_dir / "history.db")
    try:  # the request was received and never answered; a server on this machine costs nothing
        rows = db.execute("SELECT conversation_id, kind, completion_tokens, cost, cost_source FROM gradings").fetchall()
    finally:
        db.close()
    assert rows == [(None, "review", None, 0.0, "local")]


@pytest.mark.parametrize(
    ("make", "args", "line"),
    [
        (None, ["review"], "sdx: error: no design given — sdx review design.md (or - to read it from stdin)"),
        (b"", ["review", "d.md"], "sdx: error: d.md is empty — write the design first"),
        (b" \n\n\t\n", ["review", "d.md"], "sdx: error: d.md is empty — write the design first"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["review", "d.md"], "sdx: error: d.md looks binary (it contains NUL"),
        (b"# Design\n\xff\xfe caf\xe9", ["review", "d.md"], "sdx: error: d.md is not UTF-8 text (bad byte at offset"),
        (
            b"# Design X\n" + b"a" * 2048,
            ["review", "d.md"],
            "sdx: error: d.md is larger than 1 KB — shorten it, or raise",
        ),
        ("dir", ["review", "d.md"], "sdx: error: d.md is a directory — give the Markdown file of the design"),
        (None, ["review", "nowhere.md"], "sdx: error: no such file: nowhere.md — check the path"),
        (b"no heading here\n", ["review", "d.md"], "sdx: error: d.md has no heading to take the question from"),
        (b"# D\n", ["review", "d.md", "--focus", "vibes"], "sdx: error: unknown focus 'vibes' — choose from: reliab"),
        (b"# D\n", ["review", "d.md", "--level", "god"], "sdx: error: unknown level 'god' — choose one of: mid"),
    ],
)
def test_bad_input_is_one_line_with_exit_2_and_sends_and_stores_nothing(
    sdx: Sdx, fake: GradingServer, make: bytes | str | None, args: list[str], line: str
) -> None:
    sdx.write_config("max_input_kb = 1\n" + sdx.config_file.read_text())
    if make == "dir":
        (sdx.home / "d.md").mkdir()
    elif isinstance(make, bytes):
        (sdx.home / "d.md").write_bytes(make)
    result = sdx.call(*args)
    assert result.code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(line), result.stderr
    assert fake.requests == []
    assert not (sdx.config_dir / "history.db").exists()


def test_a_stdin_that_is_empty_or_binary(sdx: Sdx, fake: GradingServer) -> None:
    empty = sdx.call("review", "-", input="")
    assert (empty.code, empty.stderr) == (
        2,
        "sdx: error: stdin is empty — write the design first: requirements, estimates, components…\n",
    )
    binary = sdx.call("review", "-", input=b"\x00\x01\x02")
    assert binary.code == 2 and binary.stderr.startswith("sdx: error: stdin looks binary")
    assert fake.requests == []


def test_a_review_is_not_continued_by_chat_minus_c(sdx: Sdx, fake: GradingServer) -> None:
    with History.open(sdx.config_dir / "history.db") as history:
        history.create(Conversation(kind="review", model="gpt-4o-mini", system_prompt="s", prompt_version="1"))
    result = sdx.call("chat", "-C", input="hello\n")
    assert result.code == 2 and "there is no earlier conversation to continue" in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# sdx review --regrade ID


def stored_review(sdx: Sdx, fake: GradingServer) -> Conversation:
    fake.grades.append(review_grade(invented=True))
    fake.grades.append(review_grade(invented=True))
    assert sdx.call("review", "-", input=DESIGN).code == 0
    [review] = reviews(sdx)
    return review


def test_regrade_grades_the_stored_design_again_at_another_level_focus_and_model(sdx: Sdx, fake: GradingServer):
    review = stored_review(sdx, fake)
    assert review.meta["grade"]["evidence_check"]["not_found"] == {"deep_dive": [INVENTED]}
    before = len(fake.grading_requests())
    fake.grades.append(review_grade())
    result = sdx.call(
        "review", "--regrade", review.id[:10], "--level", "staff", "--focus", "cost",
        "-m", "openrouter:vendor/ignored", "--grader-model", "openrouter:vendor/grader", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    [request] = fake.grading_requests()[before:]
    assert request.body["model"] == "vendor/grader"  # --grader-model wins over -m, as in interview --regrade
    assert request.body["messages"][0]["content"] == rubric.review_prompt("staff", ("cost",))
    assert request.body["messages"][1]["content"] == rubric.review_request_text(
        "staff", "Design a URL shortener", DESIGN
    )
    report = json.loads(result.out)
    assert (report["id"], report["level"], report["focus"], report["unverified"]) == (review.id, "staff", ["cost"], [])
    assert report["model"] == "openrouter:vendor/grader"
    [again] = reviews(sdx)
    assert again.id == review.id and again.turns == review.turns
    assert (again.meta["level"], again.meta["focus"], again.model) == ("staff", ["cost"], "openrouter:vendor/grader")
    assert again.system_prompt == rubric.review_prompt("staff", ("cost",))  # the prompt it was graded with
    assert again.meta["grade"]["evidence_check"]["not_found"] == {}
    progress = json.loads(sdx.call("progress", "--json", "--kind", "review").out)
    assert (progress["reviews"], progress["attempts"][0]["kind"]) == (1, "review")
    assert not any(any(item["unverified"]) for item in progress["dimensions"])


def test_regrade_keeps_the_stored_level_and_focus_and_shows_the_grade(sdx: Sdx, fake: GradingServer):
    fake.grades.append(review_grade())
    assert sdx.call("review", "-", "--level", "mid", "--focus", "reliability", input=DESIGN).code == 0
    [review] = reviews(sdx)
    fake.grades.append(review_grade())
    result = sdx.call("review", "--regrade", review.id, "-m", "openrouter:vendor/other")
    assert result.code == 0, result.stderr
    assert result.out.startswith("---\n\n## Grade: hire (mid bar)\n")
    request = fake.grading_requests()[-1]
    assert request.body["model"] == "vendor/other"
    assert request.body["messages"][0]["content"] == rubric.review_prompt("mid", ("reliability",))
    [again] = reviews(sdx)
    assert (again.meta["level"], again.meta["focus"], again.model) == (
        "mid",
        ["reliability"],
        "openrouter:vendor/other",
    )


def test_a_failed_regrade_changes_nothing_stored(sdx: Sdx, fake: GradingServer):
    review = stored_review(sdx, fake)
    with History.open(sdx.config_dir / "history.db") as history:
        before = history.load(review.id or "")
    fake.grades.extend(["not a grade", "still not"])
    result = sdx.call("review", "--regrade", review.id, "--level", "staff", "--focus", "cost")
    assert result.code == 4
    assert result.stderr.splitlines()[-1] == (
        "sdx: error: gpt-4o-mini did not produce a valid grade twice (not valid JSON: Expecting value at line 1"
        " column 1); the earlier grade stands — the stored review is unchanged; grade it again with"
        f" `sdx review --regrade {review.id}` (try a larger model)"
    )
    with History.open(sdx.config_dir / "history.db") as history:
        after = history.load(review.id or "")
    assert (after.meta, after.model, after.updated_at) == (before.meta, before.model, before.updated_at)
    assert after.system_prompt == before.system_prompt == rubric.review_prompt("senior", ())


def test_regrade_of_what_is_not_a_review_is_one_line(sdx: Sdx, fake: GradingServer):
    review = stored_review(sdx, fake)
    with History.open(sdx.config_dir / "history.db") as history:
        interview = Conversation(kind="interview", model="gpt-4o-mini", system_prompt="s", prompt_version="1")
        history.create(interview)
        chat = Conversation(kind="chat", model="gpt-4o-mini", system_prompt="s", prompt_version="1")
        history.create(chat)
    requests = len(fake.requests)
    for args, line in [
        ([interview.id], f"{interview.id} is an interview conversation, not a review — grade it again with"
         f" `sdx interview --regrade {interview.id}`"),
        ([chat.id], f"{chat.id} is a chat conversation, not a review — see `sdx history --kind review`"),
        (["ZZZZ"], "no conversation has an id starting with 'ZZZZ' — see `sdx history` for the ids"),
        ([review.id, "design.md"], "--regrade grades a stored design again: give it without FILE — sdx review"
         " --regrade ID"),
        ([review.id, "--no-log"], f"the review {review.id[:8]} is in history, and --regrade stores the new grade"
         " there — drop --no-log"),
        ([review.id, "--focus", "vibes"], "unknown focus 'vibes' — choose from: reliability, scale, cost, latency,"
         " consistency, security, operations, data, api, simplicity (several: --focus reliability,cost)"),
    ]:  # fmt: skip
        result = sdx.call("review", "--regrade", *args)
        assert (result.code, result.out, result.stderr) == (2, "", f"sdx: error: {line}\n")
    assert len(fake.requests) == requests
    assert sdx.call("interview", "--regrade", review.id).stderr == (
        f"sdx: error: {review.id} is a review conversation, not an interview — grade it again with"
        f" `sdx review --regrade {review.id}`\n"
    )
