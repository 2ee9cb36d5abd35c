"""`sdx doctor` (in-process), and the start-up budget: commands that send no request never import openai or
pydantic (a real process each, since what is imported at start-up is the point)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fake_server import Failure


def test_doctor_reports_keys_and_reachable_providers(sdx, fake, ollama):
    result = sdx.call("doctor")
    out = result.out
    assert result.code == 0, out
    assert f"✓ openrouter answers at {fake.root}/api/v1" in out
    assert f"✓ ollama answers at {ollama.base_url} (llama3.2:latest" in out
    assert "✗ openai: OPENAI_API_KEY is not set" in out
    assert "✓ default model gpt-4o-mini → openrouter:openai/gpt-4o-mini" in out
    assert sdx.env["OPENROUTER_API_KEY"] not in out


def test_doctor_says_how_to_fix_a_dead_default(sdx, fake, ollama):
    ollama.stop()
    sdx.write_config('default_model = "llama3.2"\n')
    result = sdx.call("doctor")
    assert result.code == 5
    assert "✗ ollama: cannot reach" in result.out and "ollama serve" in result.out


def test_doctor_names_a_broken_config_file(sdx):
    sdx.write_config("timeout = \n")
    result = sdx.call("doctor")
    assert result.code == 3
    assert str(sdx.config_file) in result.out and "line 1" in result.out


@pytest.mark.parametrize(
    "args",
    [
        ["--help"], ["--version"], ["examples"], ["models"], ["ask", "--help"], ["history"], ["history", "--json"],
        ["estimate", "--dau", "1M", "--writes", "1", "--size", "1KB"], ["estimate", "--reference"],
        ["progress"], ["progress", "--json"], ["usage"], ["usage", "--by", "model", "--json"],
    ],
)  # fmt: skip
def test_commands_without_requests_import_neither_openai_nor_pydantic(sdx, args):
    """pydantic costs ~80 ms to import (typer 0.29 brought it into every command: sdx stays below 0.29)."""
    code = (
        "import sys, runpy; sys.argv = ['sdx', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('sdx', run_name='__main__')\n    code = 'no exit'\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "print(code, *(name in sys.modules for name in ('openai', 'rich.markdown', 'pydantic')), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=sdx.env, cwd=sdx.home, timeout=30
    )
    assert proc.stderr.strip().splitlines()[-1] == "0 False False False", proc.stderr


def test_doctor_blames_a_wrong_path_on_the_base_url(sdx, fake):
    fake.scenario.failures.append(Failure(404, "404 page not found", content_type="text/plain", path="/models"))
    result = sdx.call("doctor")
    assert result.code == 3
    assert f"✗ {fake.root}/api/v1/models answered 404 (404 page not found) — check the base URL" in result.out


def test_doctor_reaches_a_server_on_this_machine_past_a_proxy(sdx, fake):
    dead_proxy = "http://127.0.0.1:9"  # a real process: urllib reads the proxy variables from the process
    result = sdx.run("doctor", env={"HTTP_PROXY": dead_proxy, "http_proxy": dead_proxy})
    assert result.code == 0, result.out
    assert f"✓ openrouter answers at {fake.root}/api/v1" in result.out


def test_doctor_says_a_socks_proxy_cannot_be_used_without_socks_support(sdx, fake):
    sdx.write_config(sdx.config_file.read_text() + '\n[providers.remote]\nbase_url = "http://llm.example.invalid/v1"\n')
    result = sdx.call("doctor", env={"ALL_PROXY": "socks5://127.0.0.1:9"})
    assert result.code == 0  # the default model is on this machine: no proxy involved
    assert "✗ remote: ALL_PROXY names a SOCKS proxy, but SOCKS support is not installed" in result.out
    assert f"✓ openrouter answers at {fake.root}/api/v1" in result.out
