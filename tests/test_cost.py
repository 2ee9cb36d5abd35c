"""What an answer cost: reported, priced from OpenRouter's price list (served by the fake server) or `[prices]`,
$0 on this machine, or unknown; stored with where it came from, shown in the footers."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from sdx.domain.conversation import Turn
from sdx.model.pricing import PRICE_LIST_TIMEOUT, Price, cost_text, parse_price_list
from tests.fake_server import ANSWER, chunks_of
from tests.runner import stored_conversations
from tests.test_errors import one_error_line

CHUNKS = len(chunks_of(ANSWER, 5))  # the fake server's completion tokens for the default answer
PRICES = {"openai/gpt-4o-mini": {"prompt": "0.000001", "completion": "0.000002", "request": "0"}}
DAY = 86400.0


def last_turn(sdx) -> Turn:
    return stored_conversations(sdx)[-1].turns[-1]


def price_list_requests(server) -> list:
    return [r for r in server.requests if r.method == "GET" and r.path == "/api/v1/models"]


def test_a_reported_cost_is_stored_exactly_and_no_price_list_is_fetched(sdx, fake):
    fake.scenario.cost = 0.001234567
    result = sdx.call("ask", "Design a URL shortener", tty=True, env={"NO_COLOR": "1"})
    assert result.code == 0, result.stderr
    turn = last_turn(sdx)
    assert (turn.cost, turn.cost_source) == (0.001234567, "reported")
    assert "· $0.0012 ·" in result.stderr
    assert price_list_requests(fake) == []


def test_without_a_reported_cost_the_answer_is_priced_from_the_served_list_as_an_estimate(sdx, fake):
    fake.scenario.prices = PRICES
    result = sdx.call("ask", "Design a URL shortener", tty=True, env={"NO_COLOR": "1"})
    assert result.code == 0, result.stderr
    turn = last_turn(sdx)
    assert turn.cost == pytest.approx(50 * 0.000001 + CHUNKS * 0.000002)
    assert turn.cost_source == "price list"
    assert f"· {cost_text(turn.cost, 'price list')} ·" in result.stderr
    assert cost_text(turn.cost, "price list").startswith("~$0.0")
    [listing] = price_list_requests(fake)
    assert "authorization" not in listing.headers  # the list is public: no key goes with it


def test_a_server_on_this_machine_costs_nothing(sdx, ollama):
    result = sdx.call("ask", "-m", "llama3.2", "Design a URL shortener", tty=True, env={"NO_COLOR": "1"})
    assert result.code == 0, result.stderr
    turn = last_turn(sdx)
    assert (turn.cost, turn.cost_source) == (0.0, "local")
    assert "· $0 ·" in result.stderr
    assert [r for r in ollama.requests if r.method == "GET"] == []


def test_prices_in_the_config_file_price_another_server(sdx, fake):
    sdx.write_config(
        f"""
[providers.gateway]
base_url = "{fake.root}/v1"

[prices."gateway:big-model"]
input = 0.15
output = 0.6
"""
    )
    result = sdx.call("ask", "-m", "gateway:big-model", "Design a URL shortener")
    assert result.code == 0, result.stderr
    turn = last_turn(sdx)
    assert turn.cost == pytest.approx((50 * 0.15 + CHUNKS * 0.6) / 1_000_000)
    assert turn.cost_source == "prices"
    assert price_list_requests(fake) == []


def test_a_remote_server_without_a_price_is_unknown_not_free():
    from sdx.model.pricing import model_price
    from sdx.model.registry import Provider, Target

    target = Target("big", Provider("gateway", "https://llm.example.com/v1"), "big-model", "")
    assert model_price(target, fetch=True).price is None
    assert model_price(replace(target, price=(0.0, 1.5)), fetch=True).price == Price(0.0, 1.5e-6)


def test_the_price_list_is_fetched_at_most_once_a_day(sdx, fake):
    fake.scenario.prices = PRICES
    start = 1_800_000_000.0
    for hours in (0, 1, 23):
        assert sdx.call("ask", "q", wall_clock=lambda h=hours: start + h * 3600).code == 0
    assert len(price_list_requests(fake)) == 1
    assert {turn.cost_source for c in stored_conversations(sdx) for turn in c.turns} == {"price list"}
    assert sdx.call("ask", "q", wall_clock=lambda: start + DAY + 60).code == 0
    assert len(price_list_requests(fake)) == 2


def test_a_price_list_that_is_not_json_is_one_warning_and_an_unknown_cost(sdx, fake):
    fake.scenario.models_body = b"<html>maintenance</html>"
    result = sdx.call("ask", "Design a URL shortener")
    assert result.code == 0
    assert result.stdout == ANSWER.encode()  # the answer is whole
    assert result.stderr == (
        f"sdx: warning: cannot get OpenRouter's price list from {fake.root}/api/v1/models: it did not answer JSON;"
        " this answer's cost is unknown\n"
    )
    turn = last_turn(sdx)
    assert (turn.cost, turn.cost_source, turn.answer) == (None, "", ANSWER)


def test_a_failed_price_list_is_not_asked_again_for_an_hour(sdx, fake):
    fake.scenario.models_body = b"not json"
    start = 1_800_000_000.0
    assert "price list" in sdx.call("ask", "q", wall_clock=lambda: start).stderr
    fake.scenario.models_body = None
    fake.scenario.prices = PRICES
    second = sdx.call("ask", "q", wall_clock=lambda: start + 600)
    assert second.stderr == ""
    assert len(price_list_requests(fake)) == 1
    assert last_turn(sdx).cost is None
    assert sdx.call("ask", "q", wall_clock=lambda: start + 3700).stderr == ""
    assert len(price_list_requests(fake)) == 2
    assert last_turn(sdx).cost_source == "price list"


def test_a_price_list_that_hangs_is_given_up_after_its_time_limit(sdx, fake):
    fake.scenario.models_delay = 30
    result = sdx.call("ask", "Design a URL shortener")
    assert result.code == 0
    assert result.stdout == ANSWER.encode()
    assert result.stderr.endswith(f"no answer within {PRICE_LIST_TIMEOUT:g}s; this answer's cost is unknown\n")
    assert last_turn(sdx).cost is None


def test_a_price_list_whose_socket_gives_up_first_says_the_same(fake):
    """The socket's time limit and the waiting thread's are the same 3 s: whichever ends first, one sentence."""
    from sdx.model.pricing import _fetch_into

    fake.scenario.models_delay = 30
    result: dict[str, object] = {}
    _fetch_into(f"{fake.base_url}/models", result)  # in this thread: the socket's limit ends it
    assert result == {"problem": f"no answer within {PRICE_LIST_TIMEOUT:g}s"}


def test_the_price_list_keeps_models_with_usable_prices_only():
    payload = {
        "data": [
            {"id": "a/b", "pricing": {"prompt": "0.000001", "completion": "0.000002"}},
            {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
            {"id": "c/d", "pricing": {"prompt": "free", "completion": "0"}},
            {"id": "e/f"},
            "junk",
        ]
    }
    assert parse_price_list(payload) == {"a/b": Price(0.000001, 0.000002)}
    with pytest.raises(ValueError):
        parse_price_list({"models": []})


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("input = -1\noutput = 0.6", "input must be a number of USD per million tokens, 0 or more (got -1)"),
        ('input = "cheap"\noutput = 0.6', "input must be a number of USD per million tokens, 0 or more (got 'cheap')"),
        ("input = 0.1", "has no output"),
        ("input = 0.1\noutput = 0.2\ncurrency = 1", "has unknown key 'currency'"),
    ],
)
def test_a_bad_prices_entry_is_one_line_and_exit_3(sdx, fake, entry, problem):
    sdx.write_config(f'[prices."ollama:llama3.2"]\n{entry}\n')
    result = sdx.call("ask", "q")
    assert result.code == 3
    line = one_error_line(result.stderr)
    assert f'[prices."ollama:llama3.2"] {problem}' in line
    assert fake.requests == []


def test_costs_stored_before_the_cost_source_existed_count_as_reported(tmp_path):
    from sdx.store.history import History, _migrate_to_1, _migrate_to_2

    path = tmp_path / "history.db"
    db = sqlite3.connect(path, isolation_level=None)
    _migrate_to_1(db)
    _migrate_to_2(db)
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO conversations VALUES ('01J0000000000000000000000A', 't', 'ask', 'm', 's', 'v', 1, 1, '{}')")
    for cost in (0.5, None):
        db.execute(
            "INSERT INTO turns (conversation_id, question, context, answer, status, error, tokens_estimated,"
            " model_id, prompt_version, created_at, cost) VALUES ('01J0000000000000000000000A', 'q', '', 'a',"
            " 'complete', '', 0, 'm', 'v', 1, ?)",
            (cost,),
        )
    db.close()
    with History.open(path) as history:
        turns = history.load("01J0000000000000000000000A").turns
    assert [(t.cost, t.cost_source) for t in turns] == [(0.5, "reported"), (None, "")]


def test_history_has_a_cost_column_and_show_a_total(sdx, fake):
    fake.scenario.cost = 0.002
    assert sdx.call("ask", "Design a URL shortener").code == 0
    fake.scenario.cost = None
    fake.scenario.prices = PRICES
    assert sdx.call("ask", "-C", "Shard it").code == 0
    listed = sdx.call("history").out.splitlines()
    assert listed[0].split()[:6] == ["ID", "WHEN", "KIND", "MODEL", "TURNS", "COST"]
    second = 50 * 0.000001 + CHUNKS * 0.000002
    assert listed[1].split()[6] == f"~${0.002 + second:.4f}"  # WHEN is two words
    [conversation] = stored_conversations(sdx)
    shown = sdx.call("show", conversation.id).out
    assert shown.splitlines()[2].endswith(f" · id {conversation.id} · cost ~${0.002 + second:.4f}*")
    assert f"*gpt-4o-mini · 50 → {CHUNKS} tokens · " in shown
    assert " · $0.0020*" in shown and f" · ~${second:.4f}*" in shown


def test_the_chat_footer_shows_the_cost_when_known(sdx, fake):
    fake.scenario.prices = PRICES
    result = sdx.call("chat", input="Design a URL shortener\n", tty=True, env={"NO_COLOR": "1"})
    assert result.code == 0, result.stderr
    priced = cost_text(50 * 0.000001 + CHUNKS * 0.000002, "price list")
    footer = result.stderr.splitlines()[-1]
    assert f"gpt-4o-mini · 50 in / {CHUNKS} out · " in footer and footer.endswith(f"tokens/s · {priced}")
