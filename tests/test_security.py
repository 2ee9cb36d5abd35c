"""Untrusted model output and secrets: nothing escapes to the terminal, no key escapes anywhere."""

from __future__ import annotations

import re

from sdx.terminal.render import sanitize_for_terminal
from tests.conftest import OPENROUTER_KEY
from tests.fake_server import Failure

HOSTILE = (
    "# Title\n\nclear\x1b[2J\x1b[H screen, bell\x07, clipboard \x1b]52;c;ZXZpbA==\x07, "
    "link \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\, csi \x9b31m, title \x1b]0;pwned\x07, "
    "rlo \u202eexe.js done\r\n"
)


def test_sanitizer_makes_control_sequences_visible():
    clean = sanitize_for_terminal(HOSTILE)
    assert "\x1b" not in clean and "\x07" not in clean and "\x9b" not in clean and "\r" not in clean
    assert "␛[2J" in clean and "␛]52;c;ZXZpbA==␇" in clean
    assert clean.endswith("done\n")


def test_bidi_overrides_cannot_reorder_what_the_terminal_shows():
    text = "Download https://cdn.example/\u202egnp.exe and \u2067isolated\u2069; שלום\u200f stays"
    assert (
        sanitize_for_terminal(text)
        == "Download https://cdn.example/\ufffdgnp.exe and \ufffdisolated\ufffd; שלום\u200f stays"
    )


def test_escape_sequences_from_the_model_do_not_reach_the_terminal(sdx, fake):
    fake.scenario.answer = HOSTILE
    result = sdx.run_tty("ask", "Design a cache", env={"NO_COLOR": "1"})
    assert result.code == 0
    screen = result.stdout.decode()
    # Rich writes OSC 8 as ESC]8;id=…;
    for sequence in ("\x1b[2J", "\x1b]52", "\x1b]8;", "\x1b]0;pwned", "\x07", "\u202e"):
        assert sequence not in screen
    assert "␛]52;c;ZXZpbA==" in screen


def test_markdown_links_show_where_they_go_and_are_not_hyperlinks(sdx, fake):
    fake.scenario.answer = (
        "Log in at [official bank login](http://evil.example/phish) now.\n\n- [docs](https://a.example)\n"
    )
    result = sdx.call("ask", "Design a cache", tty=True)
    assert result.code == 0, result.stderr
    screen = result.stdout.decode()
    assert "\x1b]8;" not in screen
    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert "official bank login (http://evil.example/phish)" in visible
    assert "docs (https://a.example)" in visible


def test_piped_output_stays_byte_exact_even_when_hostile(sdx, fake):
    fake.scenario.answer = HOSTILE
    assert sdx.run("ask", "Design a cache").stdout == HOSTILE.encode()


def test_key_never_appears_in_anything_sdx_writes(sdx, fake):
    fake.scenario.failures.extend(
        [
            Failure.json_error(401, f"Incorrect API key provided: {OPENROUTER_KEY}"),
            Failure.json_error(400, f"bad request for key {OPENROUTER_KEY}"),
        ]
    )
    fake.scenario.error_chunk_after = 3
    out_file = sdx.home / "answer.md"
    written = []
    for _ in range(3):
        result = sdx.run("--debug", "ask", "-o", str(out_file), "Design a cache")
        written += [result.stdout.decode(), result.stderr]
        assert result.code != 0
    written += [p.read_text(errors="replace") for p in sdx.home.rglob("*") if p.is_file()]
    assert "sdx debug: > POST" in "".join(written)
    assert "authorization: [redacted]" in "".join(written)
    assert all(OPENROUTER_KEY not in text for text in written)


def test_debug_shows_traceback_and_exchange(sdx, fake):
    fake.scenario.failures.append(Failure.json_error(402, "no credits"))
    result = sdx.run("ask", "Design a cache", env={"SDX_DEBUG": "1"})
    assert result.code == 4
    assert "Traceback" in result.stderr
    assert "sdx debug: < 402" in result.stderr
    assert (
        result.stderr.rstrip().splitlines()[-1].startswith("sdx: error: openrouter says the account is out of credits")
    )
