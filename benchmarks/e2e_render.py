"""End to end on a terminal: CPU of `sdx ask` rendering a long streamed answer, against a client that prints raw deltas.

Both run as fresh processes on a pseudo-terminal against the fake OpenAI-compatible server (tests/fake_server.py)
streaming the same answer at full speed, alternated in one run; the CPU time of each child (user + system) is
read from `wait4`. Usage: python benchmarks/e2e_render.py [chunks] [runs]
"""

from __future__ import annotations

import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.render import DESIGN, answer  # noqa: E402
from tests.fake_server import FakeOpenAI  # noqa: E402

RAW_CLIENT = """
import sys
from openai import OpenAI
client = OpenAI(api_key="x", base_url=sys.argv[1], max_retries=0)
stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}], stream=True)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
"""


def cpu_seconds_on_pty(command: list[str], env: dict[str, str]) -> float:
    """Run `command` with stdout/stderr on a 100x40 pty, drain it, and return the child's CPU seconds."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                if not os.read(master, 1 << 16):
                    break
            except OSError:
                break
        elif proc.poll() is not None:
            break
    os.close(master)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:3]} failed")
    return usage.ru_utime + usage.ru_stime


def main(chunks: int, runs: int) -> None:
    server = FakeOpenAI().start()
    text = "".join(answer(DESIGN, chunks))
    server.scenario.answer = text
    server.scenario.chunk_size = 4
    with tempfile.TemporaryDirectory() as home:
        Path(home, "config.toml").write_text(f'[providers.bench]\nbase_url = "{server.base_url}"\n')
        env = {
            "PATH": os.environ["PATH"],
            "HOME": home,
            "SDX_HOME": home,
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
        }
        sdx = [sys.executable, "-m", "sdx", "ask", "--model", "bench:m", "Design a URL shortener"]
        raw = [sys.executable, "-c", RAW_CLIENT, server.base_url]
        results: dict[str, list[float]] = {"raw deltas": [], "sdx ask": []}
        for _ in range(runs):
            results["raw deltas"].append(cpu_seconds_on_pty(raw, env))
            results["sdx ask"].append(cpu_seconds_on_pty(sdx, env))
    server.stop()
    raw_cpu, sdx_cpu = (statistics.median(results[k]) for k in ("raw deltas", "sdx ask"))
    print(f"{len(text) // 4:,} chunks of 4 characters, {runs} runs each, median CPU seconds")
    print(f"  client printing raw deltas  {raw_cpu:6.2f}s")
    print(f"  sdx ask (live Markdown)     {sdx_cpu:6.2f}s   ratio {sdx_cpu / raw_cpu:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
