"""Start-up through the real entry point (`sdx.cli.main`): what the history commands import, and the collector.

`main` turns the garbage collector off for start-up; the first streamed answer turns it back on (see
benchmarks/README.md for what it saves). The start-up import test of the other quick commands is in
tests/test_doctor_startup.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.runner import Sdx

RUN_MAIN = (
    "import gc, sys\nfrom sdx import cli\nsys.argv = ['sdx', *sys.argv[1:]]\n"
    "try:\n    cli.main()\n    code = 'no exit'\nexcept SystemExit as exc:\n    code = exc.code\n"
    "print(code, 'openai' in sys.modules, 'rich.markdown' in sys.modules, gc.isenabled(), file=sys.stderr)\n"
)


def main_in_a_process(sdx: Sdx, *args: str) -> tuple[bytes, list[str]]:
    """Run `sdx ARGS` through `cli.main` in a fresh interpreter with stdout piped; its stdout, and after exit:
    [exit code, openai imported, rich.markdown imported, collector enabled]."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_MAIN, *args], capture_output=True, env=sdx.env, cwd=sdx.home, timeout=60
    )
    return proc.stdout, proc.stderr.decode().strip().splitlines()[-1].split()


def test_show_and_export_import_neither_openai_nor_rich_markdown(sdx):
    assert sdx.call("ask", "Design a URL shortener").code == 0
    conversation_id = json.loads(sdx.call("history", "--json").out)[0]["id"]
    for args in (["show", conversation_id], ["export", conversation_id[:8]]):
        out, after = main_in_a_process(sdx, *args)
        assert out.startswith(b"# Design a URL shortener\n")
        assert after[:3] == ["0", "False", "False"], (args, after)


def test_a_streamed_answer_turns_the_collector_back_on(sdx, fake):
    out, after = main_in_a_process(sdx, "ask", "--no-log", "Design a URL shortener")
    assert out == fake.scenario.answer.encode()
    assert after == ["0", "True", "False", "True"]  # a long chat collects its garbage


def test_a_command_without_an_answer_runs_without_the_collector(sdx):
    out, after = main_in_a_process(sdx, "examples")
    assert out.startswith(b" 1. ")
    assert after == ["0", "False", "False", "False"]  # start-up work, then exit: nothing worth collecting
