"""`sdx usage`: totals of answers, tokens and cost from the history, by period (UTC), model or kind."""

from __future__ import annotations

import calendar
import json
import re
import sqlite3

import pytest

from tests.fake_server import ANSWER, Failure, chunks_of
from tests.runner import stored_conversations
from tests.test_cost import PRICES
from tests.test_errors import one_error_line
from tests.test_startup import main_in_a_process

CHUNKS = len(chunks_of(ANSWER, 5))
MIDNIGHT = float(calendar.timegm((2026, 11, 30, 0, 0, 0)))  # a Monday


def at(seconds: float):
    return lambda: seconds


def test_totals_are_split_at_midnight_utc_and_the_reported_costs_added_exactly(sdx, fake):
    fake.scenario.cost = 0.25
    for moment in (MIDNIGHT - 60, MIDNIGHT - 1, MIDNIGHT + 1):
        assert sdx.call("ask", "q", wall_clock=at(moment)).code == 0
    result = sdx.call("usage", "--by", "day", "--json", wall_clock=at(MIDNIGHT + 7200))
    assert result.code == 0, result.stderr
    data = json.loads(result.out)
    assert [(row["group"], row["answers"], row["cost_usd"]) for row in data["rows"]] == [
        ("2026-11-29", 2, 0.5),
        ("2026-11-30", 1, 0.25),
    ]
    assert data["rows"][0] == {
        "group": "2026-11-29",
        "answers": 2,
        "tokens_in": 100,
        "tokens_out": 2 * CHUNKS,
        "tokens_estimated": False,
        "cost_usd": 0.5,
        "cost_estimated": False,
        "unknown_cost": 0,
        "gradings": 0,
        "grading_cost_usd": None,
    }
    assert data["total"]["answers"] == 3 and data["total"]["cost_usd"] == 0.75
    weeks = json.loads(sdx.call("usage", "--by", "week", "--json").out)["rows"]
    assert [(row["group"], row["answers"]) for row in weeks] == [("2026-11-23", 2), ("2026-11-30", 1)]


def test_totals_by_model_mark_estimates_and_count_unknown_costs_apart(sdx, fake, ollama):
    fake.scenario.prices = PRICES
    assert sdx.call("ask", "q", wall_clock=at(MIDNIGHT)).code == 0  # priced from the list: ~
    assert sdx.call("ask", "-m", "llama3.2", "q", wall_clock=at(MIDNIGHT)).code == 0  # local: $0
    assert sdx.call("ask", "-m", "openrouter:meta/new-model", "q", wall_clock=at(MIDNIGHT)).code == 0  # not listed
    result = sdx.call("usage", "--by", "model", wall_clock=at(MIDNIGHT))
    assert result.code == 0, result.stderr
    priced = f"~${50 * 0.000001 + CHUNKS * 0.000002:.4f}"
    lines = result.out.splitlines()
    assert lines[0].split() == ["MODEL", "ANSWERS", "TOKENS", "IN", "TOKENS", "OUT", "COST", "UNKNOWN", "COST"]
    assert lines[1].split() == ["llama3.2", "1", "50", str(CHUNKS), "$0"]
    assert lines[2].split() == ["meta/new-model", "1", "50", str(CHUNKS), "-", "1"]
    assert lines[3].split() == ["openai/gpt-4o-mini", "1", "50", str(CHUNKS), priced]
    assert lines[4].split() == ["total", "3", "150", str(3 * CHUNKS), priced, "1"]
    assert result.stderr == (
        "sdx: note: the cost column leaves out 1 answer of unknown cost: meta/new-model (1); "
        'a [prices."provider:model"] entry in the config file prices the next ones\n'
    )


def test_since_leaves_out_older_answers_and_kind_groups_by_command(sdx, fake):
    fake.scenario.cost = 0.01
    assert sdx.call("ask", "q", wall_clock=at(MIDNIGHT - 40 * 86400)).code == 0
    assert sdx.call("batch", "-", "--out", "guide", input="q1\nq2\n", wall_clock=at(MIDNIGHT)).code == 0
    data = json.loads(sdx.call("usage", "--by", "kind", "--since", "30d", "--json", wall_clock=at(MIDNIGHT)).out)
    assert [(row["group"], row["answers"]) for row in data["rows"]] == [("batch", 2)]
    assert data["since"] == "2026-10-31 00:00 UTC"
    months = json.loads(sdx.call("usage", "--json", "--since", "2026-10-01").out)
    assert months["by"] == "month"
    assert [(row["group"], row["answers"]) for row in months["rows"]] == [("2026-10", 1), ("2026-11", 2)]


def test_a_failed_request_is_not_an_answer(sdx, fake):
    fake.stop()
    assert sdx.call("ask", "q").code == 5
    result = sdx.call("usage")
    assert (result.code, result.out, result.stderr) == (0, "", "sdx: no answers in history yet\n")


def test_on_a_terminal_usage_is_a_table_with_a_total(sdx, fake):
    fake.scenario.cost = 0.002
    assert sdx.call("ask", "q", wall_clock=at(MIDNIGHT)).code == 0
    result = sdx.call("usage", tty=True, env={"NO_COLOR": "1"}, wall_clock=at(MIDNIGHT))
    assert result.code == 0, result.stderr
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).split() for line in result.out.splitlines() if line.strip()]
    assert lines[0] == ["MONTH", "ANSWERS", "TOKENS", "IN", "TOKENS", "OUT", "COST", "UNKNOWN", "COST"]
    assert lines[1] == ["2026-11", "1", "50", str(CHUNKS), "$0.0020"]
    assert lines[-1] == ["total", "1", "50", str(CHUNKS), "$0.0020"]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--by", "year"], "--by must be one of day, week, month, model, kind (got 'year')"),
        (["--since", "yesterday"], "--since must be like 30d, 12h, 2w or 2026-11-01 (got 'yesterday')"),
        (["--since", "2026-13-01"], "--since must be like"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(sdx, args, problem):
    result = sdx.call("usage", *args)
    assert result.code == 2
    assert problem in one_error_line(result.stderr)


def test_usage_imports_neither_openai_nor_rich_markdown(sdx, fake):
    fake.scenario.cost = 0.01
    assert sdx.call("ask", "q").code == 0
    out, after = main_in_a_process(sdx, "usage", "--by", "model")
    assert out.startswith(b"MODEL")
    assert after[:3] == ["0", "False", "False"]


GATEWAY = """
[providers.gateway]
base_url = "{root}/v1"

[prices."gateway:big-model"]
input = 0.15
output = 0.6
"""
ASKED = 50  # the fake server's prompt tokens


def turn_rows(sdx) -> list[tuple]:
    db = sqlite3.connect(sdx.config_dir / "history.db")
    try:
        return db.execute(
            "SELECT status, delivery, completion_tokens, tokens_estimated, cost, cost_source FROM turns ORDER BY id"
        ).fetchall()
    finally:
        db.close()


@pytest.mark.parametrize(
    ("failure", "args", "row"),
    [
        ("timeout", ("--timeout", "0.3"), ("error", "unanswered", None, 1, None, "")),
        ("dropped", (), ("error", "unanswered", None, 1, None, "")),
        ("cut off", (), ("interrupted", "unanswered", 3, 1, None, "")),
        ("stalled", ("--timeout", "0.3"), ("interrupted", "unanswered", 3, 1, None, "")),
    ],
)
def test_an_answer_the_server_got_and_never_finished_is_counted_at_unknown_cost(sdx, fake, failure, args, row):
    """Priced by [prices], it would be the prompt and what arrived: too little, so it is unknown."""
    sdx.write_config(GATEWAY.format(root=fake.root))
    fake.scenario.usage = False
    if failure == "timeout":
        fake.scenario.delay_first = 2.0
    elif failure == "stalled":
        fake.scenario.stall_after = 3
    else:
        fake.scenario.break_after = 0 if failure == "dropped" else 3
    result = sdx.call("ask", "-m", "gateway:big-model", *args, "Design a URL shortener", wall_clock=at(MIDNIGHT))
    assert result.code == 5, result.stderr
    assert turn_rows(sdx) == [row]
    total = json.loads(sdx.call("usage", "--json").out)["total"]
    arrived = row[2] or 0
    assert (total["answers"], total["unknown_cost"], total["cost_usd"]) == (1, 1, None)
    assert (total["tokens_out"], total["tokens_estimated"]) == (arrived, True)
    assert total["tokens_in"] > 0  # estimated from what was sent

    piped = sdx.call("usage", wall_clock=at(MIDNIGHT))
    assert piped.out.splitlines()[-1].split() == ["total", "1", f"~{total['tokens_in']}", f"~{arrived}", "-", "1"]
    assert piped.stderr == (
        "sdx: note: the cost column leaves out 1 answer of unknown cost: big-model (1); got no whole reply"
        " (a timeout, a dropped connection, Ctrl-C), so what the model generated is unknown and no price can cost it\n"
    )
    listed = sdx.call("history").out.splitlines()
    assert listed[1].split()[5:8] == ["1", f"({'failed' if row[0] == 'error' else 'interrupted'})", "?"]
    [conversation] = stored_conversations(sdx)
    shown = sdx.call("show", conversation.id, "--raw").out
    generated = re.escape("?" if row[2] is None else str(arrived))
    facts = shown.splitlines()[-1]  # no cost: it is unknown
    assert re.fullmatch(
        rf"\*gateway:big-model · {total['tokens_in']} → {generated} tokens \(estimated\) · [0-9.]+ s\*", facts
    )


@pytest.mark.parametrize("failure", ["refused", "error status", "error event"])
def test_an_answer_that_never_reached_the_server_or_that_it_refused_is_not_counted(sdx, fake, failure):
    if failure == "refused":
        fake.stop()
    elif failure == "error status":
        fake.scenario.failures.append(Failure.json_error(400, "bad request"))
    else:
        fake.scenario.error_chunk_after = 0
    result = sdx.call("ask", "Design a URL shortener")
    assert result.code in (4, 5), result.stderr
    assert [row[:2] for row in turn_rows(sdx)] == [("error", "unsent" if failure == "refused" else "answered")]
    assert sdx.call("usage").stderr == "sdx: no answers in history yet\n"
    assert sdx.call("history", "--json").out.count('"unknown_cost": 0') == 1


def test_the_note_says_which_unknown_costs_a_price_would_cover(sdx, fake):
    sdx.write_config(sdx.config_file.read_text() + GATEWAY.format(root=fake.root))
    assert sdx.call("ask", "-m", "openrouter:meta/new-model", "q", wall_clock=at(MIDNIGHT)).code == 0  # not listed
    fake.scenario.break_after = 0
    for _ in range(2):
        assert sdx.call("ask", "-m", "gateway:big-model", "q", wall_clock=at(MIDNIGHT)).code == 5
    result = sdx.call("usage", wall_clock=at(MIDNIGHT))
    assert result.stderr == (
        "sdx: note: the cost column leaves out 3 answers of unknown cost: big-model (2), meta/new-model (1);"
        " 2 of them got no whole reply (a timeout, a dropped connection, Ctrl-C), so what the model generated is"
        ' unknown and no price can cost them; a [prices."provider:model"] entry in the config file prices the next'
        " ones that are answered\n"
    )


def test_an_answer_interrupted_by_ctrl_c_while_waiting_is_counted_at_unknown_cost(sdx, fake):
    """A real process and a real SIGINT, sent once the server has the request (it never answers)."""
    sdx.write_config(GATEWAY.format(root=fake.root))
    fake.scenario.delay_first = 30.0
    code, err = sdx.interrupted_once_received(
        fake.chat_requests, "ask", "-m", "gateway:big-model", "Design a URL shortener"
    )
    assert code == 130, err
    assert turn_rows(sdx) == [("interrupted", "unanswered", None, 1, None, "")]
    total = json.loads(sdx.call("usage", "--json").out)["total"]
    assert (total["answers"], total["unknown_cost"], total["cost_usd"], total["tokens_out"]) == (1, 1, None, 0)


def test_a_schema_5_history_migrates_and_its_failed_turns_stay_out(sdx, fake):
    from sdx.store.history import MIGRATIONS

    sdx.config_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(sdx.config_dir / "history.db", isolation_level=None)
    for migration in MIGRATIONS[:5]:
        migration(db)
    db.execute("PRAGMA user_version = 5")
    db.execute("INSERT INTO conversations VALUES ('01J0000000000000000000000A', 'q', 'ask', 'm', 's', 'v', 0, 0, '{}')")
    for status in ("complete", "error"):
        db.execute(
            "INSERT INTO turns (conversation_id, question, context, answer, status, error, prompt_tokens,"
            " completion_tokens, tokens_estimated, model_id, prompt_version, created_at, cost, model, cost_source)"
            " VALUES ('01J0000000000000000000000A', 'q', '', '', ?, '', 50, 0, 1, 'openai/gpt-4o-mini', 'v', ?, NULL,"
            " 'gpt-4o-mini', '')",
            (status, MIDNIGHT),
        )
    db.close()
    total = json.loads(sdx.call("usage", "--json").out)["total"]
    assert (total["answers"], total["unknown_cost"]) == (1, 1)  # the failed one: nobody knows how far it got
    db = sqlite3.connect(sdx.config_dir / "history.db")
    assert db.execute("PRAGMA user_version").fetchone() == (6,)
    assert "delivery" in [row[2] for row in db.execute("PRAGMA index_info(turns_usage)")]
    assert db.execute("SELECT DISTINCT delivery FROM turns").fetchall() == [("",)]
    db.close()
