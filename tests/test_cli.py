"""Command-line conventions: global flags anywhere, usage errors in sdx's own form, completion, closed streams."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest

import sdx as sdx_package
from sdx import __version__
from tests.runner import SDX


def test_debug_may_follow_the_command(sdx, fake):
    result = sdx.call("ask", "--debug", "Design a URL shortener")
    assert result.code == 0, result.stderr
    assert "sdx debug: > POST" in result.stderr and "[redacted]" in result.stderr


def test_usage_errors_are_one_sdx_line_with_exit_2(sdx, fake):
    for args, expected in (
        (("ask", "--bogus"), "sdx: error: No such option: --bogus"),
        (("nonsense",), "sdx: error: No such command 'nonsense'."),
        (("ask", "--example", "x"), "sdx: error: "),
    ):
        result = sdx.call(*args)
        assert result.code == 2, (args, result.stderr)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), (args, result.stderr)
    assert fake.requests == []


def test_shell_completion_is_offered(sdx):
    result = sdx.call("--show-completion", env={"SHELL": "/bin/bash"})
    assert result.code == 0, result.stderr
    assert b"complete" in result.stdout and b"sdx" in result.stdout


def test_closed_stdout_and_stderr_are_not_a_crash(sdx, fake):
    """`sdx ask … >&- 2>&-`: nothing to write to, so a quiet exit rather than a traceback into the void."""
    for redirect in ("1>&-", "2>&-", "1>&- 2>&-"):
        command = " ".join([*SDX, "ask", "'Design a URL shortener'"]) + f" {redirect}; echo code=$? >&3"
        proc = subprocess.run(
            ["bash", "-c", f"exec 3>&1; {command}"], capture_output=True, env=sdx.env, cwd=sdx.home, timeout=60
        )
        assert b"code=0" in proc.stdout, (redirect, proc.stdout, proc.stderr)
        assert b"Traceback" not in proc.stdout + proc.stderr


def test_version(sdx):
    result = sdx.call("--version")
    where = Path(sdx_package.__file__).resolve().parent
    python, system = platform.python_version(), f"{platform.system()} {platform.machine()}"
    expected = f"sdx {__version__} from {where} (sdx-interview, Python {python}, {system})\n"
    assert (result.code, result.out, result.stderr) == (0, expected, "")
    assert __version__ == "0.2.0"


def test_every_command_ends_quietly_when_the_reader_goes_away(sdx, fake):
    """`sdx models | head -1` exits 0 like `sdx ask … | head` (a real pipe whose reader has gone)."""
    fake.scenario.answer = "".join(f"line {n}\n" for n in range(20_000))
    for args in (["models"], ["examples"], ["estimate", "--reference"], ["ask", "--no-log", "Design a cache"]):
        proc = subprocess.run(
            [
                "bash",
                "-c",
                " ".join([*SDX, *(f"'{a}'" for a in args)]) + " | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}",
            ],
            capture_output=True,
            env=sdx.env,
            cwd=sdx.home,
            timeout=60,
        )
        assert proc.stdout.strip() == b"0", (args, proc.stdout, proc.stderr)
        assert proc.stderr == b"", (args, proc.stderr)


def test_help_and_listings_end_quietly_on_a_closed_pipe(sdx):
    """The reader is gone before sdx writes anything: help text included, every command exits 0 without a word."""
    for args in (["--help"], ["--version"], ["ask", "--help"], ["history", "--json"], ["examples"]):
        command = " ".join([*SDX, *args])
        proc = subprocess.run(
            ["bash", "-c", f"exec 3>&1; ( sleep 0.3; {command}; echo code=$? >&3 ) | true"],
            capture_output=True,
            env=sdx.env,
            cwd=sdx.home,
            timeout=60,
        )
        assert proc.stdout == b"code=0\n", (args, proc.stdout, proc.stderr)
        assert proc.stderr == b"", (args, proc.stderr)


def test_a_full_disk_on_stdout_is_one_line_for_every_command(sdx):
    for args in (["--help"], ["--version"], ["examples"], ["estimate", "--reference"], ["history", "--json"]):
        command = " ".join([*SDX, *args])
        proc = subprocess.run(
            ["bash", "-c", f"{command} > /dev/full"], capture_output=True, env=sdx.env, cwd=sdx.home, timeout=60
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.decode().splitlines() == [
            "sdx: error: cannot write the output to stdout: no space left on device — free some space, or write the"
            " output somewhere else"
        ], args


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HTTPS_PROXY", "http://user:secret@proxy.example:abc"),
        ("HTTPS_PROXY", "ftp://proxy.example"),
        ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
    ],
)
def test_unusable_proxy_or_certificate_settings_are_a_config_error(sdx, variable, value):
    """Set up fails before any connection (the host does not exist): exit 3, the variable named, its value not
    (a proxy URL may carry a password)."""
    sdx.write_config('[providers.remote]\nbase_url = "https://remote.invalid/v1"\n')
    result = sdx.run("ask", "--no-log", "-m", "remote:m", "hi", env={variable: value})
    assert result.code == 3, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"sdx: error: cannot set up connections with the settings in {variable} (")
    assert line.endswith(f"— fix or unset {variable}") and "secret" not in line


def test_a_proxy_that_does_not_answer_is_named_not_the_server(sdx, fake):
    sdx.write_config('[providers.remote]\nbase_url = "http://remote.invalid/v1"\n')
    closed_port = fake.port  # a port nothing listens on once the server is stopped
    fake.stop()
    result = sdx.run("ask", "--no-log", "-m", "remote:m", "hi", env={"HTTP_PROXY": f"http://127.0.0.1:{closed_port}"})
    assert result.code == 5, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "sdx: error: cannot connect to the proxy in HTTP_PROXY on the way to http://remote.invalid/v1"
    )
    assert "unset HTTP_PROXY" in line
