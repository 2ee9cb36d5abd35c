"""The same option means the same thing in every command (issue 18, "Alike everywhere").

Each command that talks to a model is driven once per option it takes against the fake server, and what the
server received (or what the user was told) is checked the same way for all of them. `TAKES` says which command
takes which option: a command gaining one is one more name in its row; a new command is one more row (and one
function that runs it). `--json` is checked on every command that prints data.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from sdx.domain import prompts
from tests.runner import Result, Sdx

QUESTION = "Design a cache"
SCALE = "50M DAU, 20 writes per user per day, 1 KB each"


def ask(sdx: Sdx, *options: str) -> Result:
    return sdx.call("ask", *options, QUESTION)


def chat(sdx: Sdx, *options: str) -> Result:
    return sdx.call("chat", *options, input=f"{QUESTION}\n")


def interview(sdx: Sdx, *options: str) -> Result:
    return sdx.call("interview", *options, QUESTION, input="/done\n")  # the opening turn only: nothing to grade


def batch(sdx: Sdx, *options: str) -> Result:
    (sdx.home / "questions.txt").write_text(f"{QUESTION}\n")
    return sdx.call("batch", "questions.txt", "--out", "guide", *options)


RUNS: dict[str, Callable[..., Result]] = {"ask": ask, "chat": chat, "interview": interview, "batch": batch}
TAKES: dict[str, tuple[str, ...]] = {
    "ask": ("-m", "-c", "--timeout", "--max-tokens", "--no-estimate"),
    "chat": ("-m", "-c", "--timeout", "--max-tokens"),
    "interview": ("-m", "-c", "--timeout", "--max-tokens"),
    "batch": ("-m", "-c", "--timeout", "--max-tokens"),
}
JSON_COMMANDS: dict[str, tuple[str, ...]] = {
    "history": ("history", "--json"),
    "models": ("models", "--json"),
    "estimate": ("estimate", "--dau", "50M", "--writes", "20", "--size", "1KB", "--json"),
    "doctor": ("doctor", "--json"),
    "usage": ("usage", "--json"),
}


def texts(body: dict) -> str:
    return "\n".join(message["content"] for message in body["messages"])


def first_user_message(body: dict) -> str:
    return next(message["content"] for message in body["messages"] if message["role"] == "user")


def check_model(sdx, fake, run):
    result = run(sdx, "-m", "openrouter:vendor/model-x")
    assert result.code == 0, result.stderr
    assert [request.body["model"] for request in fake.chat_requests()] == ["vendor/model-x"]
    refused = run(sdx, "-m", "no-such-model")
    assert refused.code == 3 and "sdx: error: unknown model 'no-such-model'" in refused.stderr


def check_context(sdx, fake, run):
    result = run(sdx, "-c", "ZEBRA-CONSTRAINT")
    assert result.code == 0, result.stderr
    (request,) = fake.chat_requests()
    assert "ZEBRA-CONSTRAINT" in texts(request.body)


def check_timeout(sdx, fake, run):
    fake.scenario.delay_first = 2.0
    result = run(sdx, "--timeout", "0.3")
    assert result.code == 5, result.stderr
    assert "within 0.3s (timeout)" in result.stderr
    if run is not batch:  # batch lists each failure's reason, and ends with how to rerun
        assert "raise the limit with --timeout" in result.stderr
    refused = run(sdx, "--timeout", "0")
    assert refused.code == 2 and "--timeout must be a number of seconds above 0" in refused.stderr


def check_max_tokens(sdx, fake, run):
    result = run(sdx, "--max-tokens", "77")
    assert result.code == 0, result.stderr
    assert [request.body.get("max_tokens") for request in fake.chat_requests()] == [77]
    refused = run(sdx, "--max-tokens", "0")
    assert refused.code == 2 and "--max-tokens must be at least 1" in refused.stderr


def check_no_estimate(sdx, fake, run):
    assert run(sdx, "-c", SCALE, "--no-estimate").code == 0
    assert run(sdx, "-c", SCALE).code == 0
    without, with_figures = (first_user_message(request.body) for request in fake.chat_requests())
    assert without == prompts.user_message(QUESTION, SCALE)  # nothing added
    assert with_figures.startswith(without.removesuffix(SCALE)) and len(with_figures) > len(without)


MEANS: dict[str, Callable] = {
    "-m": check_model,
    "-c": check_context,
    "--timeout": check_timeout,
    "--max-tokens": check_max_tokens,
    "--no-estimate": check_no_estimate,
}


@pytest.mark.parametrize(
    ("command", "option"), [(command, option) for command, options in TAKES.items() for option in options]
)
def test_an_option_means_the_same_in_every_command(sdx, fake, command, option):
    MEANS[option](sdx, fake, RUNS[command])


@pytest.mark.parametrize("command", TAKES)
def test_help_lists_the_shared_options(sdx, command):
    help_text = sdx.call(command, "--help").out
    for option in TAKES[command]:
        assert f" {option}" in help_text, (command, option)


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_every_command_that_prints_data_takes_json(sdx, fake, command):
    result = sdx.call(*JSON_COMMANDS[command])
    assert result.code == 0, result.stderr
    assert isinstance(json.loads(result.out), list | dict)
