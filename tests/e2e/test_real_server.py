"""sdx against a real LLM server: llama.cpp's HTTP server with SmolLM2-135M, on 127.0.0.1.

The model is tiny and writes whatever it likes, so no test looks at what the answer says, only that one arrived,
how it arrived, and what sdx did around it. Answers are capped at a few dozen tokens to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from dataclasses import dataclass

import pyte
import pytest

pytestmark = pytest.mark.e2e

QUESTION = "Design a URL shortener"
SHORT = ["--max-tokens", "48"]


@dataclass
class Read:
    at: float  # time.monotonic() when these bytes arrived
    data: bytes
    running: bool  # whether sdx had not exited yet when they arrived


def read_stdout(proc: subprocess.Popen[bytes], *, until_first: bool = False, timeout: float = 60) -> list[Read]:
    """Read sdx's stdout as it comes, noting when each piece arrived; stop at EOF (or after the first piece)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    reads: list[Read] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        data = os.read(fd, 65536)
        if not data:
            return reads
        reads.append(Read(time.monotonic(), data, proc.poll() is None))
        if until_first:
            return reads
    proc.kill()
    raise AssertionError(f"sdx's stdout did not end within {timeout:g}s; got {b''.join(r.data for r in reads)!r}")


def finish(proc: subprocess.Popen[bytes], timeout: float = 30) -> tuple[int, str]:
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode("utf-8", "replace")
    return proc.wait(timeout=timeout), stderr


def assert_no_error(stderr: str) -> None:
    assert "error" not in stderr.lower(), stderr
    assert "Traceback" not in stderr, stderr


def test_ask_piped_streams_the_answer(sdx_user):
    proc = sdx_user.popen("ask", QUESTION, *SHORT, "-o", "answer.md")
    reads = read_stdout(proc)
    code, stderr = finish(proc)
    answer = b"".join(r.data for r in reads)

    assert code == 0, stderr
    assert_no_error(stderr)
    assert answer.strip(), "no answer on stdout"
    # Streamed: the text came in several pieces spread over time, the first long before sdx exited.
    assert len(reads) > 1, f"the answer arrived in one piece: {answer!r}"
    assert reads[0].running, "the first text arrived only after sdx had exited"
    assert reads[-1].at - reads[0].at > 0.1, [(round(r.at - reads[0].at, 3), r.data) for r in reads]
    assert (sdx_user.home / "answer.md").read_bytes() == answer


def rendered_lines(markdown: str, width: int) -> list[str]:
    """What Rich's one-shot Markdown render of `markdown` shows at `width`, non-empty lines only."""
    from io import StringIO

    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(file=StringIO(), width=width, force_terminal=True, color_system=None, highlight=False)
    console.print(Markdown(markdown, hyperlinks=False))
    return [line.rstrip() for line in console.file.getvalue().splitlines() if line.strip()]


def test_ask_on_a_terminal_renders_markdown(sdx_user):
    result = sdx_user.run_tty("ask", QUESTION, *SHORT, "-o", "answer.md")

    assert result.code == 0, result.out
    assert "sdx: error" not in result.out and "Traceback" not in result.out, result.out
    screen = pyte.Screen(100, 40)
    pyte.ByteStream(screen).feed(result.stdout)
    lines = [line.rstrip() for line in screen.display if line.strip()]
    first = next(n for n, line in enumerate(lines) if not line.startswith("sdx: "))
    # the answer ends at sdx's next line (the cut-off warning, which may wrap) or at the summary, the last line
    end = next((n for n in range(first, len(lines)) if lines[n].startswith("sdx: ")), len(lines) - 1)
    shown = lines[first:end]
    expected = rendered_lines((sdx_user.home / "answer.md").read_text(encoding="utf-8"), 100)
    assert shown and expected, result.out
    tail = min(len(shown), len(expected), 30)
    assert shown[-tail:] == expected[-tail:], "the screen is not the answer's Markdown rendered"


def test_ask_no_stream_and_output_file(sdx_user):
    result = sdx_user.run("ask", QUESTION, *SHORT, "--no-stream", "-o", "answer.md")

    assert result.code == 0, result.stderr
    assert_no_error(result.stderr)
    assert result.stdout.strip(), "no answer on stdout"
    assert (sdx_user.home / "answer.md").read_bytes() == result.stdout


def test_models_json_lists_the_local_provider(sdx_user, llama_server):
    result = sdx_user.run("models", "--json")

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["default"] == "local:smollm2"
    local = next(row for row in report["providers"] if row["name"] == "local")
    assert local["base_url"] == llama_server.base_url
    assert local["key_env"] is None and local["key_present"] is None  # a custom provider needs no key


def test_doctor_sees_the_server_and_its_model(sdx_user, llama_server):
    result = sdx_user.run("doctor")

    assert result.code == 0, result.out + result.stderr
    lines = result.out.splitlines()
    assert f"✓ local answers at {llama_server.base_url} ({llama_server.model_alias})" in lines, result.out
    assert "✓ default model local:smollm2 → local:smollm2" in lines, result.out


def test_ollama_host_points_at_the_server(run_sdx, sdx_home, llama_server):
    """No config file: OLLAMA_HOST=127.0.0.1:PORT and --model ollama:smollm2, as for a real Ollama."""
    env = {"OLLAMA_HOST": f"127.0.0.1:{llama_server.port}"}

    asked = run_sdx(["ask", QUESTION, *SHORT, "--model", "ollama:smollm2"], env=env)
    listed = run_sdx(["models", "--json"], env=env)

    assert not sdx_home.config_file.exists()
    assert asked.code == 0, asked.stderr
    assert_no_error(asked.stderr)
    assert asked.stdout.strip()
    ollama = next(row for row in json.loads(listed.stdout)["providers"] if row["name"] == "ollama")
    assert ollama["base_url"] == llama_server.base_url
    assert ollama["reachable"] is True
    assert llama_server.model_alias in ollama["models"]


def test_server_killed_mid_answer_keeps_the_partial_answer(llama_server_factory, sdx_home):
    server = llama_server_factory(ignore_eos=True)  # the answer cannot end early: it must still be coming
    sdx_home.configure(server)
    proc = sdx_home.popen("ask", QUESTION, "--max-tokens", "400", "--raw", "-o", "partial.md")

    first = read_stdout(proc, until_first=True)
    server.kill()
    rest = read_stdout(proc)
    code, stderr = finish(proc)
    shown = b"".join(r.data for r in first + rest)

    assert first and first[0].data.strip(), stderr
    assert shown.startswith(first[0].data)
    assert (sdx_home.home / "partial.md").read_bytes() == shown
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("sdx: error: answer interrupted after "), stderr
    assert code == 5, stderr


@pytest.mark.parametrize("via", ["stdin", "--context"])
def test_prompt_longer_than_the_context_window(sdx_user, llama_server, via):
    context = "The service stores short links for a social network. " * 400  # ~21 KB, ~4,000 tokens
    assert len(context) // 4 > llama_server.n_ctx
    if via == "stdin":
        result = sdx_user.run("ask", QUESTION, *SHORT, input=context)
    else:
        result = sdx_user.run("ask", QUESTION, *SHORT, "--context", context)

    assert result.code == 4, result.stderr
    assert result.stdout == b""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdx: error: "), result.stderr
    assert "too long" in lines[0]


def test_the_grader_check_runs_against_the_local_model(llama_server_factory, sdx_home):
    """benchmarks/grader_check.py end to end, only to prove that it runs: a 135M model's grades mean nothing, and
    16 tokens cut them off (one transcript, one grading, to keep CI fast)."""
    import sys
    from pathlib import Path

    sdx_home.configure(llama_server_factory(n_ctx=8192))  # the rubric and a transcript: about 2,500 tokens
    script = Path(__file__).parents[2] / "benchmarks" / "grader_check.py"
    arguments = ["-m", "local:smollm2", "--repeat", "1", "--max-tokens", "16", "--transcript", "weak", "--json"]
    done = subprocess.run(
        [sys.executable, str(script), *arguments],
        env=sdx_home._env(None),
        cwd=sdx_home.home,
        capture_output=True,
        timeout=300,
    )

    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "grader_check: local:smollm2: round 1/1: weak done" in stderr
    [line] = done.stdout.decode().splitlines()
    result = json.loads(line)
    assert result["model"] == "local:smollm2"
    assert list(result["transcripts"]) == ["weak"]
    weak = result["transcripts"]["weak"]
    assert len(weak["scores"]) + len(weak["failed"]) == 1  # one grading, with a valid grade or a reason why not
    assert result["order_holds"] is None and result["filler_raises_weak"] is None  # nothing to compare
