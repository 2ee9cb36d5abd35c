"""`sdx batch` and money: --dry-run's forecast (nothing sent), --max-cost's cap (counted on the server), and the
cost in the summary, the answer files' trailers and index.md."""

from __future__ import annotations

import pytest

from sdx.domain.prompts import SYSTEM_PROMPT
from sdx.turn import estimate_tokens
from tests.test_batch import QUESTIONS, TOKENS, BatchServer, answer_files, guide, server, write_questions
from tests.test_errors import one_error_line

__all__ = ["BatchServer", "server"]  # the fixture, shared with test_batch

PER_TOKEN_OUT = {"openai/gpt-4o-mini": {"prompt": "0", "completion": "0.001"}}
PRICES = {"openai/gpt-4o-mini": {"prompt": "0.000001", "completion": "0.000002"}}


def prompt_tokens(question: str) -> int:
    return estimate_tokens([{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}])


def test_dry_run_lists_the_questions_and_a_cost_range_and_sends_nothing(sdx, server):
    server.scenario.prices = PRICES
    name = write_questions(sdx, "\n".join(QUESTIONS))
    result = sdx.call("batch", name, "--out", "guide", "--dry-run", env={"OPENROUTER_API_KEY": None})
    assert result.code == 0, result.stderr
    prompts = [prompt_tokens(q) for q in QUESTIONS]
    low = sum(p * 0.000001 + 500 * 0.000002 for p in prompts)
    high = sum(p * 0.000001 + 2500 * 0.000002 for p in prompts)
    assert result.out == (
        "Would ask 3 of 3 questions with gpt-4o-mini into guide:\n"
        "   1. Design a URL shortener\n"
        "   2. Design a rate limiter\n"
        "   3. Design a chat system\n"
        f"Estimated cost: ~${low:.4f} to ~${high:.4f} (OpenRouter's price list; about {round(sum(prompts) / 3):,}"
        " tokens in and 500 to 2,500 out a question, assumed: no earlier answers by openai/gpt-4o-mini in history)\n"
    )
    assert result.stderr == "sdx: dry run: no question was sent\n"
    assert server.chat_requests() == []
    assert not guide(sdx).exists()


def test_dry_run_goes_by_the_models_earlier_answers_and_skips_what_is_done(sdx, server):
    server.scenario.prices = PRICES
    name = write_questions(sdx, "\n".join(QUESTIONS))
    assert sdx.call("batch", write_questions(sdx, QUESTIONS[0], "one.txt"), "--out", "guide").code == 0
    asked = len(server.chat_requests())
    result = sdx.call("batch", name, "--out", "guide", "--dry-run")
    assert result.code == 0, result.stderr
    cost = sum(prompt_tokens(q) * 0.000001 + TOKENS * 0.000002 for q in QUESTIONS[1:])
    assert result.out.startswith("Would ask 2 of 3 questions with gpt-4o-mini into guide (1 already answered):\n")
    assert "   1. Design a URL shortener" not in result.out
    assert f"Estimated cost: ~${cost:.4f} (OpenRouter's price list;" in result.out
    assert f"{TOKENS} to {TOKENS} out a question, the shortest and longest of the model's last 1 answer)" in result.out
    assert len(server.chat_requests()) == asked


def test_dry_run_of_a_model_without_a_price_says_unknown(sdx, server):
    sdx.write_config('[providers.gateway]\nbase_url = "https://llm.example.com/v1"\n')
    name = write_questions(sdx, QUESTIONS[0])
    result = sdx.call("batch", name, "--dry-run", "-m", "gateway:big")
    assert result.code == 0, result.stderr
    assert "Estimated cost: unknown: no price is known for gateway:big;" in result.out
    assert 'Add [prices."gateway:big"] to the config file to price it.' in result.out


def test_max_cost_starts_no_question_that_could_pass_the_cap(sdx, server):
    server.scenario.prices = PER_TOKEN_OUT  # with --max-tokens 10: at most $0.01 a question
    server.scenario.cost = 0.01  # and each one does cost that
    server.scenario.delay_between = 0.001
    questions = [f"Design system number {n}" for n in range(1, 13)]
    name = write_questions(sdx, "\n".join(questions))
    args = ("batch", name, "--out", "guide", "-j", "4", "--max-tokens", "10")
    result = sdx.call(*args, "--max-cost", "0.055")
    assert result.code == 0, result.stderr
    assert len(server.chat_requests()) == 5
    assert server.max_in_flight <= 4
    assert len(answer_files(sdx)) == 5
    assert "sdx: --max-cost $0.055: each question counts as up to ~$0.0100 until its cost is known" in result.stderr
    assert (
        "sdx: stopped at the cost cap: $0.0500 of --max-cost $0.055 spent, and another question could pass it;"
        " 7 questions not asked: run the same command again (with a higher --max-cost) to answer them"
    ) in result.stderr
    assert "sdx: 5 of 12 answers are in guide; index: guide/index.md" in result.stderr
    index = (guide(sdx) / "index.md").read_text()
    assert index.count("| not answered yet |") == 7
    again = sdx.call(*args, "--max-cost", "1")
    assert again.code == 0, again.stderr
    assert len(server.chat_requests()) == 12
    assert len(answer_files(sdx)) == 12


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_max_cost_must_be_above_zero(sdx, server, value):
    result = sdx.call("batch", write_questions(sdx, QUESTIONS[0]), "--out", "guide", "--max-cost", value)
    assert result.code == 2
    assert "--max-cost must be a number of USD above 0" in one_error_line(result.stderr)
    assert server.requests == []


def test_max_cost_without_a_price_is_refused_before_any_question(sdx, server):
    server.scenario.prices = PRICES
    name = write_questions(sdx, QUESTIONS[0])
    result = sdx.call("batch", name, "--out", "guide", "-m", "openrouter:meta/unlisted", "--max-cost", "1")
    assert result.code == 3
    line = one_error_line(result.stderr)
    assert "--max-cost needs a price, and OpenRouter's price list has no meta/unlisted" in line
    assert server.chat_requests() == []


def test_the_summary_the_trailers_and_the_index_show_the_cost(sdx, server):
    server.scenario.cost = 0.002
    name = write_questions(sdx, "\n".join(QUESTIONS[:2]))
    result = sdx.call("batch", name, "--out", "guide")
    assert result.code == 0, result.stderr
    assert "sdx: the 2 answers cost $0.0040" in result.stderr
    assert f"({TOKENS} tokens, $0.0020, " in result.stderr
    text = (guide(sdx) / "01-design-a-url-shortener.md").read_text()
    assert text.endswith(f"; cost=0.002; tokens={TOKENS} -->\n")
    server.scenario.cost = None
    server.scenario.prices = PRICES
    name = write_questions(sdx, "\n".join(QUESTIONS))
    assert sdx.call("batch", name, "--out", "guide").code == 0
    index = (guide(sdx) / "index.md").read_text()
    third = 50 * 0.000001 + TOKENS * 0.000002  # the usage the server reports, priced
    assert f"questions answered · model `gpt-4o-mini` · cost ~${0.004 + third:.4f} · updated" in index
    assert "| Tokens | Cost |" in index
    assert f"| {TOKENS} | $0.0020 |" in index  # from the earlier run's trailer
    assert f"| {TOKENS} | ~${third:.4f} |" in index
