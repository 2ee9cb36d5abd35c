"""Arguments that are not valid UTF-8 (`sdx ask "$(printf 'K\\xfcrzer')"`, a C locale without UTF-8 mode): every
one is repaired at the command line's boundary, with a warning, as undecodable stdin is."""

from __future__ import annotations

import pytest

from tests.runner import stored_conversations

UNDECODABLE = "K\udcfcrzer design"  # what Python makes of the bytes b"K\xfcrzer design" in sys.argv
REPAIRED = "K\ufffdrzer design"


def warning(argument: str = REPAIRED) -> str:
    return f"sdx: warning: the argument '{argument}' is not valid UTF-8; undecodable bytes were replaced with \ufffd\n"


WARNING = warning()


def sent_user_messages(fake) -> list[str]:
    return [m["content"] for r in fake.chat_requests() for m in r.body["messages"] if m["role"] == "user"]


@pytest.mark.parametrize(
    ("args", "sent"),
    [
        (("ask", UNDECODABLE), REPAIRED),
        (("ask", "-c", UNDECODABLE, "Design a cache"), f"Design a cache\n\nContext/Constraints: {REPAIRED}"),
        (("ask", f"--context={UNDECODABLE}", "Design a cache"), f"Design a cache\n\nContext/Constraints: {REPAIRED}"),
        (("chat", UNDECODABLE), REPAIRED),
        (("chat", "-c", UNDECODABLE, "Design a cache"), f"Design a cache\n\nContext/Constraints: {REPAIRED}"),
    ],
)
def test_an_undecodable_question_or_context_is_sent_and_stored_repaired_with_a_warning(sdx, fake, args, sent):
    result = sdx.call(*args)
    assert result.code == 0, result.stderr
    [given] = [arg.replace("\udcfc", "\ufffd") for arg in args if "\udcfc" in arg]
    assert result.stderr == warning(given)
    assert sent_user_messages(fake) == [sent]
    [conversation] = stored_conversations(sdx)
    assert REPAIRED in conversation.turns[0].question + conversation.turns[0].context


def test_an_undecodable_interview_question_is_repaired(sdx, fake):
    result = sdx.call("interview", UNDECODABLE, input="/done\n")
    assert "unexpected" not in result.stderr
    assert result.stderr.startswith(WARNING)
    assert REPAIRED in fake.chat_requests()[0].body["messages"][0]["content"]
    [conversation] = stored_conversations(sdx)
    assert conversation.title == REPAIRED


def test_an_undecodable_search_is_repaired(sdx, fake):
    assert sdx.call("ask", f"{REPAIRED} in depth").code == 0
    result = sdx.call("history", "-q", UNDECODABLE)
    assert result.code == 0, result.stderr
    assert result.stderr == WARNING
    assert f"{REPAIRED} in depth" in result.out


def test_an_undecodable_batch_context_is_repaired(sdx, fake):
    (sdx.home / "questions.txt").write_text("Design a cache\n", encoding="utf-8")
    result = sdx.call("batch", "questions.txt", "-o", "guide", "-c", UNDECODABLE)
    assert result.code == 0, result.stderr
    assert result.stderr.startswith(WARNING)
    assert sent_user_messages(fake) == [f"Design a cache\n\nContext/Constraints: {REPAIRED}"]


def test_real_bytes_on_the_command_line_and_a_c_locale_without_utf8_mode(sdx, fake):
    result = sdx.run("ask", b"K\xfcrzer design")  # type: ignore[arg-type]  # bytes, as a shell passes them
    assert (result.code, result.stderr) == (0, WARNING)
    # UTF-8 typed under LC_ALL=C with UTF-8 mode off reaches Python as surrogates too: read as the UTF-8 it is
    result = sdx.run("ask", "Über design", env={"LC_ALL": "C", "LANG": None, "PYTHONUTF8": "0"})
    assert (result.code, result.stderr) == (0, "")
    assert sent_user_messages(fake) == [REPAIRED, "Über design"]
