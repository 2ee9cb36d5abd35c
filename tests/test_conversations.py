"""`sdx ask` as a conversation: every turn stored, follow-ups carry the earlier turns, estimates fed to the model."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from sdx.domain.prompts import SYSTEM_PROMPT
from tests.fake_server import ANSWER
from tests.runner import SDX
from tests.runner import stored_conversations as stored

USAGE = 2


def test_an_answer_is_stored_as_a_one_turn_conversation(sdx, fake):
    result = sdx.call("ask", "Design a URL shortener")
    assert result.code == 0, result.stderr
    [conversation] = stored(sdx)
    assert (conversation.kind, conversation.model, conversation.title) == (
        "ask",
        "gpt-4o-mini",
        "Design a URL shortener",
    )
    [turn] = conversation.turns
    assert (turn.question, turn.answer, turn.status) == ("Design a URL shortener", ANSWER, "complete")
    assert turn.model_id == "openai/gpt-4o-mini"
    assert turn.prompt_tokens is not None and turn.completion_tokens is not None


def test_continue_sends_the_earlier_turns_in_order(sdx, fake):
    sdx.call("ask", "Design a URL shortener")
    fake.scenario.answer = "Shard by the code's hash."
    assert sdx.call("ask", "-C", "How would you shard the mapping table?").code == 0
    fake.scenario.answer = "Add a click stream."
    [first] = stored(sdx)
    result = sdx.call("ask", "--cid", first.id[:10].lower(), "Now add click analytics")
    assert result.code == 0, result.stderr
    assert fake.chat_requests()[-1].body["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "Design a URL shortener"},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "How would you shard the mapping table?"},
        {"role": "assistant", "content": "Shard by the code's hash."},
        {"role": "user", "content": "Now add click analytics"},
    ]
    [conversation] = stored(sdx)
    assert [turn.question for turn in conversation.turns] == [
        "Design a URL shortener",
        "How would you shard the mapping table?",
        "Now add click analytics",
    ]


def test_continue_with_nothing_to_continue_is_a_usage_error(sdx, fake):
    result = sdx.call("ask", "-C", "and then?")
    assert result.code == USAGE
    assert result.stderr.startswith("sdx: error: there is no earlier conversation to continue — ")
    assert fake.requests == []


def test_unknown_conversation_id_is_a_usage_error(sdx, fake):
    sdx.call("ask", "Design a URL shortener")
    result = sdx.call("ask", "--cid", "ZZZZZZ", "and then?")
    assert result.code == USAGE, result.stderr
    assert "ZZZZZZ" in result.stderr
    assert len(fake.chat_requests()) == 1


def test_no_log_and_log_false_store_nothing(sdx, fake):
    assert sdx.call("ask", "--no-log", "Design a URL shortener").code == 0
    sdx.write_config("log = false\n" + sdx.config_file.read_text())
    assert sdx.call("ask", "Design a rate limiter").code == 0
    assert stored(sdx) == []


def test_a_broken_stream_is_stored_as_interrupted_with_its_text(sdx, fake):
    fake.scenario.break_after = 10
    result = sdx.call("ask", "Design a URL shortener")
    assert result.code == 5
    [conversation] = stored(sdx)
    [turn] = conversation.turns
    assert turn.status == "interrupted"
    assert turn.answer == ANSWER[:50] == result.stdout.decode()
    assert "interrupted" in turn.error


def test_a_refused_request_is_stored_as_an_error(sdx, fake):
    from tests.fake_server import Failure

    fake.scenario.failures.append(Failure.json_error(402, "Insufficient credits"))
    result = sdx.call("ask", "Design a URL shortener")
    assert result.code == 4
    [turn] = stored(sdx)[0].turns
    assert (turn.status, turn.answer) == ("error", "")
    assert "out of credits" in turn.error


def test_an_interrupted_follow_up_is_sent_as_it_was_kept(sdx, fake):
    fake.scenario.break_after = 2
    sdx.call("ask", "Design a URL shortener")
    fake.scenario.break_after = None
    assert sdx.call("ask", "-C", "go on").code == 0
    messages = fake.chat_requests()[-1].body["messages"]
    assert messages[2] == {"role": "assistant", "content": ANSWER[:10]}


def test_old_follow_ups_are_left_out_to_fit_a_small_model(sdx, fake, ollama):
    ollama.scenario.answer = "".join(
        f"{n:05d}\n" for n in range(2000)
    )  # 12,000 characters, ~3,000 tokens a turn; a local model gets 8,000
    ollama.scenario.chunk_size = 4000
    for question in ("Design a URL shortener", "first follow-up", "second follow-up"):
        args = ("-C",) if question != "Design a URL shortener" else ("--model", "llama3.2")
        assert sdx.call("ask", *args, question).code == 0
    result = sdx.call("ask", "-C", "third follow-up")
    assert result.code == 0, result.stderr
    assert "left out the 1 oldest follow-up turn to fit the context" in result.stderr
    sent = [m["content"] for m in ollama.chat_requests()[-1].body["messages"] if m["role"] == "user"]
    assert sent == ["Design a URL shortener", "second follow-up", "third follow-up"]


def test_stated_scale_becomes_computed_figures_for_the_model(sdx, fake):
    context = "50M DAU, 20 writes per user per day, 1 KB each"
    result = sdx.call("ask", "-c", context, "Design Twitter")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()  # piped stdout stays the model's answer only
    user = fake.chat_requests()[0].body["messages"][1]["content"]
    assert user.startswith(f"Design Twitter\n\nContext/Constraints: {context}\n\n")
    assert "computed by sdx" in user and "11.6" in user  # 1e9 writes a day = 11,574 writes/s
    assert sdx.call("ask", "--no-estimate", "-c", context, "Design Twitter").code == 0
    assert "computed by sdx" not in fake.chat_requests()[1].body["messages"][1]["content"]


def test_nothing_is_added_when_no_scale_is_stated(sdx, fake):
    sdx.call("ask", "Design a URL shortener")
    assert fake.chat_requests()[0].body["messages"][1]["content"] == "Design a URL shortener"


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 130, "sdx: interrupted after"), (signal.SIGTERM, 143, "sdx: terminated after")],
)
def test_a_signal_mid_answer_keeps_and_stores_the_text(sdx, fake, signum, code, said):
    fake.scenario.delay_between = 0.05
    proc = sdx.popen("ask", "Design a URL shortener")
    deadline = time.monotonic() + 30
    while len(fake.chat_requests()) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert err.decode().strip().startswith(said)
    [turn] = stored(sdx)[0].turns
    assert turn.status == "interrupted"
    assert turn.answer == out.decode() and 0 < len(turn.answer) < len(ANSWER)


def test_a_damaged_history_costs_a_warning_not_the_answer(sdx, fake):
    data_dir = sdx.config_dir
    (data_dir / "history.db").write_bytes(b"this is not a database" * 100)
    result = sdx.call("ask", "Design a URL shortener")
    assert result.code == 0, result.stderr
    assert result.stdout == ANSWER.encode()
    [warning] = result.stderr.splitlines()
    assert warning.startswith("sdx: warning: history is unavailable, this answer will not be stored: ")
    assert " — " in warning
    assert (data_dir / "history.db").read_bytes() == b"this is not a database" * 100  # never replaced


def test_reported_usage_and_cost_are_stored_and_summarised(sdx, fake):
    fake.scenario.usage_completion_tokens = 321
    fake.scenario.usage_prompt_tokens = 1234
    fake.scenario.cost = 0.0042
    result = sdx.call("ask", "Design a URL shortener", tty=True)
    assert result.code == 0, result.stderr
    assert "gpt-4o-mini · 321 tokens · $0.0042 · " in result.stderr
    [turn] = stored(sdx)[0].turns
    assert (turn.prompt_tokens, turn.completion_tokens, turn.tokens_estimated, turn.cost) == (1234, 321, False, 0.0042)


def test_chat_model_switch_is_kept_for_resuming(sdx, fake, ollama):
    assert sdx.call("chat", input="Design a URL shortener\n/model llama3.2\nand with a local model?\n").code == 0
    assert [r.body["model"] for r in fake.chat_requests() + ollama.chat_requests()] == [
        "openai/gpt-4o-mini",
        "llama3.2",
    ]
    assert sdx.call("chat", "-C", input="go on\n").code == 0
    assert ollama.chat_requests()[-1].body["messages"][-1]["content"] == "go on"


def test_chat_hands_computed_figures_to_the_model(sdx, fake):
    result = sdx.call("chat", input="Design Twitter for 50M DAU, 20 writes per user per day, 1 KB each\nand caching?\n")
    assert result.code == 0, result.stderr
    first, follow_up = (r.body["messages"][-1]["content"] for r in fake.chat_requests())
    assert "computed by sdx" in first
    assert follow_up == "and caching?"


def test_follow_ups_never_land_in_an_interview(sdx, fake):
    sdx.call("ask", "Design a URL shortener")
    fake.scenario.answer = "What scale do you expect?"
    assert sdx.call("interview", "--minutes", "5", "Design a cache", input="").code in (0, 4)
    fake.scenario.answer = ANSWER
    assert sdx.call("ask", "-C", "and the cache?").code == 0
    by_kind = {conversation.kind: conversation for conversation in stored(sdx)}
    ask, interview = by_kind["ask"], by_kind["interview"]
    assert [turn.question for turn in ask.turns] == ["Design a URL shortener", "and the cache?"]
    result = sdx.call("ask", "--cid", interview.id, "more?")
    assert result.code == USAGE and "is a mock interview" in result.stderr
    assert sorted(len(c.turns) for c in stored(sdx)) == sorted([2, len(interview.turns)])


def test_conversation_ids_must_be_given_sensibly(sdx, fake):
    sdx.call("ask", "Design a URL shortener")
    for args in (["--cid", ""], ["-C", "--cid", "0"]):
        result = sdx.call("ask", *args, "and then?")
        assert result.code == USAGE, (args, result.stderr)
    assert len(fake.chat_requests()) == 1


@pytest.mark.parametrize("with_copy", [False, True])
def test_a_reader_that_goes_away_mid_answer_is_an_interrupted_turn_unless_the_copy_got_it_all(sdx, fake, with_copy):
    fake.scenario.answer = "".join(f"Line {n} of the answer.\n" for n in range(3000))  # no loop: sdx would stop one
    fake.scenario.chunk_size = 200
    copy = ["-o", "full.md"] if with_copy else []
    proc = subprocess.run(
        ["bash", "-c", " ".join([*SDX, "ask", *copy, "'Design X'"]) + " | head -1 >/dev/null; echo ${PIPESTATUS[0]}"],
        capture_output=True,
        env=sdx.env,
        cwd=sdx.home,
        timeout=60,
    )
    assert (proc.stdout, proc.stderr) == (b"0\n", b"")
    [turn] = stored(sdx)[0].turns
    if with_copy:
        assert (sdx.home / "full.md").read_text() == fake.scenario.answer
        assert (turn.status, turn.answer) == ("complete", fake.scenario.answer)
    else:
        assert turn.status == "interrupted" and turn.error == "the reader of the output went away"
        assert 0 < len(turn.answer) < len(fake.scenario.answer)


def test_the_context_budget_is_a_setting(sdx, fake):
    budget = len(SYSTEM_PROMPT) // 4 + 1400  # the system prompt, and room for two ~600-token turns
    sdx.write_config(f"context_tokens = {budget}\n" + sdx.config_file.read_text())
    fake.scenario.answer = "".join(f"{n:05d}\n" for n in range(400))  # ~600 tokens a turn, no loop
    for args in (["Design a URL shortener"], ["-C", "first follow-up"], ["-C", "second follow-up"]):
        assert sdx.call("ask", *args).code == 0
    result = sdx.call("ask", "-C", "third follow-up")
    assert "left out the 1 oldest follow-up turn to fit the context" in result.stderr
    sent = [m["content"] for m in fake.chat_requests()[-1].body["messages"] if m["role"] == "user"]
    assert sent == ["Design a URL shortener", "second follow-up", "third follow-up"]
    sdx.write_config("context_tokens = 10\n")
    bad = sdx.call("ask", "hi")
    assert bad.code == 3 and "context_tokens must be a whole number of tokens from 1000" in bad.stderr
