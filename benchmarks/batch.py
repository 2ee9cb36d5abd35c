"""`sdx batch` speed-up from concurrency: a 50-question batch at --concurrency 1 and 8 against a server that takes
a fixed time per request.

The fake OpenAI-compatible server of the tests (`tests/fake_server.py`), in a process of its own so that it does not
compete with sdx for the GIL, waits `latency` seconds before each answer (a short answer, streamed at once).
`sdx batch` runs in this process through `sdx.cli.run` (the same code path as
the command, with real sleeps and a fresh output directory each time), after one warm-up batch so that importing
`openai` is not counted. Goal: concurrency 8 at least 6x faster than concurrency 1.

Usage: python benchmarks/batch.py [questions] [latency] [--no-log]   (--no-log: without the history writes)
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sdx.cli import run
from sdx.environment import Environment

GOAL = 6.0
ROOT = Path(__file__).resolve().parents[1]
SERVER = """
import sys, threading
from tests.fake_server import FakeOpenAI
server = FakeOpenAI().start()
server.scenario.delay_first = float(sys.argv[1])
server.scenario.answer = "## Answer\\n\\nA short answer, streamed in a few chunks.\\n"
server.scenario.chunk_size = 16
print(server.root, flush=True)
sys.stdin.read()  # until the benchmark closes it
"""


def batch_seconds(home: Path, questions: Path, out: str, concurrency: int, extra: list[str]) -> tuple[float, float]:
    """Wall and CPU time of one `sdx batch` run; exits when the batch did not answer every question."""
    stderr = io.StringIO()
    env = Environment(
        stdin=io.BytesIO(),
        stdout=io.StringIO(),
        stderr=stderr,
        environ={"SDX_HOME": str(home), "HOME": str(home), "OPENROUTER_API_KEY": "sk-bench-not-a-real-key"},
        cwd=home,
    )
    started, cpu = time.perf_counter(), time.process_time()
    code = run(["batch", str(questions), "--out", out, "--concurrency", str(concurrency), *extra], env)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if code != 0:
        raise SystemExit(f"sdx batch failed ({code}):\n{stderr.getvalue()}")
    return elapsed, cpu


def main(count: int, latency: float, extra: list[str]) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(latency)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None and server.stdin is not None
    root = server.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder)
            (home / "config.toml").write_text(f'[providers.openrouter]\nbase_url = "{root}/api/v1"\n')
            questions = home / "questions.txt"
            questions.write_text("".join(f"Design system number {n}\n" for n in range(count)))
            warm = home / "warm.txt"
            warm.write_text("Design a warm-up\n")
            batch_seconds(home, warm, "warm", 1, extra)
            sequential, cpu1 = batch_seconds(home, questions, "c1", 1, extra)
            concurrent, cpu8 = batch_seconds(home, questions, "c8", 8, extra)
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    speedup = sequential / concurrent
    floor = count * latency
    stored = "not stored in history" if extra else "stored in history"
    print(f"{count} questions, {latency:.2f} s per request (sequential floor {floor:.1f} s), answers {stored}")
    print(f"--concurrency 1: {sequential:6.2f} s wall, {cpu1 / count * 1000:4.0f} ms CPU per question")
    print(f"--concurrency 8: {concurrent:6.2f} s wall, {cpu8 / count * 1000:4.0f} ms CPU per question")
    print(f"speed-up {speedup:.1f}x (goal >= {GOAL:.0f}x): {'PASS' if speedup >= GOAL else 'FAIL'}")


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    main(
        int(numbers[0]) if numbers else 50,
        float(numbers[1]) if len(numbers) > 1 else 0.2,
        ["--no-log"] if "--no-log" in sys.argv else [],
    )
