"""Fixtures: fake OpenAI-compatible servers on loopback, and `sdx` run as a real command in an isolated home
(tests/runner.py: a minimal environment without the developer's keys, a temp dir as HOME and working directory).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_server import FakeOpenAI
from tests.runner import Sdx

OPENROUTER_KEY = "sk-or-test-OPENROUTER-0123456789"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The server that plays OpenRouter (and OpenAI, on its /v1 path)."""
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def ollama() -> Iterator[FakeOpenAI]:
    """A second server that plays Ollama, reached through OLLAMA_HOST."""
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def sdx(tmp_path: Path, fake: FakeOpenAI, ollama: FakeOpenAI) -> Sdx:
    """sdx with an OpenRouter key, OLLAMA_HOST at `ollama`, and OpenRouter and OpenAI at `fake` in the config file."""
    home = tmp_path / "home"
    runner = Sdx(
        home,
        config_dir=home / ".config" / "sdx",
        env={"OPENROUTER_API_KEY": OPENROUTER_KEY, "OLLAMA_HOST": f"127.0.0.1:{ollama.port}"},
    )
    runner.write_config(
        f"""
[providers.openrouter]
base_url = "{fake.root}/api/v1"

[providers.openai]
base_url = "{fake.root}/v1"
"""
    )
    return runner
