"""Capacity figures handed to the model by ask, chat and batch: figures read completely from the text as facts,
figures resting on a default as assumptions the model may revise; the terminal shows the clauses used; piped
stdout stays the answer. Also `sdx estimate` reading its sentence from stdin, and --shortcuts."""

from __future__ import annotations

import json

from tests.fake_server import ANSWER

FACTS = "use these numbers, do not recompute them:"
ASSUMED = "rest on defaults sdx assumed"


def user_message(request) -> str:
    return request.body["messages"][-1]["content"]


def facts_block(message: str) -> str:
    return message.partition("Capacity estimates computed by sdx")[2]


def test_ask_sends_read_figures_as_facts_and_default_based_ones_as_assumptions(sdx, fake):
    context = "5M DAU, 10% of users upload 1 video per day, average video 300 MB"
    result = sdx.call("ask", "-c", context, "Design YouTube")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()  # nothing changes on a pipe
    sent = user_message(fake.chat_requests()[0])
    facts, _, assumptions = facts_block(sent).partition(ASSUMED)
    assert FACTS in facts
    assert "- writes per day: 500 K/day (5 M DAU × 0.1 writes/user)" in facts
    assert "- storage per day: 150 TB/day (500,000 writes × 300 MB)" in facts
    assert "peak" not in facts and "reads/s" not in facts  # both rest on defaults: never "do not recompute"
    assert "(cache_ratio, peak, read_ratio)" in assumptions
    assert "- writes/s (peak): 11.6/s (5.79 × 2 peak)" in assumptions
    assert "- read from the text: '10% of users upload 1 video per day' → writes per user per day 0.1" in sent


def test_a_clause_not_understood_gives_the_model_nothing_but_its_mention(sdx, fake):
    context = "100M DAU, 2 posts per user per day, Tweets QPS = 150 million * 2 / 86400"
    assert sdx.call("ask", "-c", context, "Design Twitter").code == 0
    sent = user_message(fake.chat_requests()[0])
    assert "- not understood by sdx (not used): Tweets QPS = 150 million * 2 / 86400" in sent
    assert "150 M" not in facts_block(sent).partition("- not understood")[0]


def test_on_a_terminal_ask_shows_the_clauses_it_used(sdx, fake):
    result = sdx.call("ask", "-c", "50M DAU, 20 posts per user per day, 1 KB each", "Design Twitter", tty=True)
    assert result.code == 0, result.stderr
    assert "read: '20 posts per user per day' → writes per user per day 20" in result.stderr


def test_chat_no_estimate_sends_no_figures(sdx, fake):
    message = "Design Twitter for 50M DAU, 20 writes per user per day, 1 KB each"
    assert sdx.call("chat", "--no-estimate", input=f"{message}\n").code == 0
    assert user_message(fake.chat_requests()[0]) == message
    assert sdx.call("chat", input=f"{message}\n").code == 0
    assert "computed by sdx" in user_message(fake.chat_requests()[1])


def test_batch_sends_figures_unless_no_estimate(sdx, fake):
    (sdx.home / "q.txt").write_text("Design Twitter for 50M DAU, 20 writes per user per day\n", encoding="utf-8")
    assert sdx.call("batch", "q.txt", "--out", "guide").code == 0
    sent = user_message(fake.chat_requests()[0])
    assert "- writes per day: 1 B/day (50 M DAU × 20 writes/user)" in sent
    assert sdx.call("batch", "q.txt", "--out", "guide2", "--no-estimate").code == 0
    assert user_message(fake.chat_requests()[1]) == "Design Twitter for 50M DAU, 20 writes per user per day"


def test_estimate_reads_its_sentence_from_stdin(sdx):
    sentence = "50M DAU, 20 posts per user per day"
    piped = sdx.call("estimate", input=f"{sentence}\n")
    dashed = sdx.call("estimate", "-", input=sentence)
    argument = sdx.call("estimate", sentence)
    assert piped.code == dashed.code == argument.code == 0
    assert piped.out == dashed.out == argument.out
    assert "read: '20 posts per user per day' → writes per user per day 20" in piped.out


def test_with_options_and_no_sentence_stdin_is_not_read(sdx):
    result = sdx.call("estimate", "--dau", "50M", "--writes", "20", input="peak 3x")
    assert result.code == 0 and "read:" not in result.out
    assert "defaults assumed: reads per write 1; peak-to-average 2×" in result.out


def test_estimate_dash_with_nothing_piped_is_a_usage_error(sdx):
    result = sdx.call("estimate", "-", input="")
    assert result.code == 2
    assert result.stderr.startswith("sdx: error: stdin was empty — pipe a sentence")


def test_json_lists_each_clause_with_how_it_was_read(sdx):
    result = sdx.call("estimate", "1B users, 10% daily active, 2 posts a day, QPS = 1B / 86400", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["readings"] == [
        {"clause": "1B users", "reading": "users 1 B", "inputs": []},
        {"clause": "10% daily active", "reading": "daily active share 10%: DAU 100 M", "inputs": ["dau"]},
        {"clause": "2 posts a day", "reading": "writes per user per day 2", "inputs": ["writes_per_user"]},
    ]
    assert data["not_understood"] == ["QPS = 1B / 86400"]
    assert result.stderr == "sdx: not understood, ignored: 'QPS = 1B / 86400' (pasted arithmetic)\n"


def test_shortcuts_match_the_books_and_say_so(sdx):
    sentence = "10 million paste writes per month, 100 million paste reads per month, 1 KB content per paste"
    exact = json.loads(sdx.call("estimate", sentence, "--json").out)
    book = json.loads(sdx.call("estimate", sentence, "--json", "--shortcuts").out)
    assert exact["write_qps"] == 10_000_000 / 2_592_000 and exact["shortcuts"] is False
    assert book["write_qps"] == 4 and book["read_qps"] == 40 and book["shortcuts"] is True  # the primer's figures
    assert book["units"].startswith("shortcuts: a day = 10^5 s (Xu), a month = 2.5 M s")
    piped = sdx.call("estimate", sentence, "--shortcuts").out
    assert "writes/s (average) " in piped and "= 400,000 ÷ 100,000 s" in piped
