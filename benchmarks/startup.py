"""Start-up cost of each sdx command, against bare interpreters importing typer and openai, measured side by side.

Every command runs in a fresh interpreter, interleaved with the others so that machine load hits all alike, in an
isolated SDX_HOME holding one stored conversation (for `history` and `show`), with stdout on a pipe. `sdx ask` is
asked for a one-chunk answer by the fake OpenAI-compatible server of the tests (tests/fake_server.py), next to a
client that does the same through the SDK's typed stream (benchmarks/e2e_render.py): that pair is start-up and
nothing else. Prints medians of CPU (user + system, from `wait4`) and wall time.

Usage: python benchmarks/startup.py [--runs N] [--imports]
--imports: also run each sdx command once under `python -X importtime` and show where its imports go.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.e2e_render import RAW_CLIENT  # noqa: E402
from tests.fake_server import FakeOpenAI  # noqa: E402

PYTHON = sys.executable
SDX = [PYTHON, "-m", "sdx"]
BASELINE = 'python -c "import typer"'
ASK_OPTIONS = ["--model", "bench:m", "--no-log", "--no-estimate", "--no-stdin"]


def commands(base_url: str, conversation_id: str) -> dict[str, list[str]]:
    return {
        "python -c pass": [PYTHON, "-c", "pass"],
        BASELINE: [PYTHON, "-c", "import typer"],
        "sdx --version": [*SDX, "--version"],
        "sdx --help": [*SDX, "--help"],
        "sdx examples": [*SDX, "examples"],
        "sdx estimate --dau 50M …": [*SDX, "estimate", "--dau", "50M", "--writes", "20", "--size", "1KB"],
        "sdx history": [*SDX, "history"],
        "sdx show ID": [*SDX, "show", conversation_id],
        'python -c "import openai"': [PYTHON, "-c", "import openai"],
        "typed-stream client, 1 chunk": [PYTHON, "-c", RAW_CLIENT, base_url],
        "sdx ask --no-log, 1 chunk": [*SDX, "ask", *ASK_OPTIONS, "q"],
    }


def cpu_and_wall(command: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    assert proc.stderr is not None
    errors = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    if proc.returncode != 0:
        raise RuntimeError(f"{command[1:4]} exited {proc.returncode}: {errors.decode(errors='replace')}")
    return usage.ru_utime + usage.ru_stime, wall


def import_breakdown(command: list[str], env: dict[str, str], cwd: str, top: int = 6) -> str:
    """Total self time of the imports under -X importtime, and the top-level packages that take most of it."""
    proc = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    by_package: collections.Counter[str] = collections.Counter()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:") :].split("|")
            by_package[name.strip().split(".")[0]] += int(self_us)
    parts = ", ".join(f"{name} {us / 1000:.0f}" for name, us in by_package.most_common(top))
    return f"{sum(by_package.values()) / 1000:.0f} ms, {len(by_package)} packages: {parts}"


def stored_conversation(env: dict[str, str], cwd: str) -> str:
    """Ask once with history on, and return the stored conversation's id."""
    subprocess.run([*SDX, "ask", "--model", "bench:m", "q"], env=env, cwd=cwd, capture_output=True, check=True)
    listed = subprocess.run([*SDX, "history", "--json"], env=env, cwd=cwd, capture_output=True, check=True)
    return json.loads(listed.stdout)[0]["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command")
    parser.add_argument("--imports", action="store_true", help="also show where each sdx command's imports go")
    args = parser.parse_args()
    server = FakeOpenAI().start()
    server.scenario.answer = "One chunk."
    server.scenario.chunk_size = 100
    try:
        with tempfile.TemporaryDirectory() as home:
            Path(home, "config.toml").write_text(f'[providers.bench]\nbase_url = "{server.base_url}"\n')
            env = {"PATH": os.environ["PATH"], "HOME": home, "SDX_HOME": home, "LANG": "C.UTF-8"}
            named = commands(server.base_url, stored_conversation(env, home))
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in named}
            for command in named.values():  # warm the disk cache once
                cpu_and_wall(command, env, home)
            for run in range(args.runs):
                for name, command in named.items() if run % 2 else reversed(named.items()):
                    samples[name].append(cpu_and_wall(command, env, home))
            sdx_commands = {name: c for name, c in named.items() if c[:3] == SDX}
            breakdowns = {name: import_breakdown(c, env, home) for name, c in sdx_commands.items() if args.imports}
    finally:
        server.stop()
    baseline = statistics.median(cpu for cpu, _ in samples[BASELINE])
    print(f"{args.runs} runs each, medians\n")
    print("| command | CPU ms (spread) | vs `import typer` | wall ms |\n|---|--:|--:|--:|")
    for name, values in samples.items():
        cpu = [c * 1000 for c, _ in values]
        wall = statistics.median(w for _, w in values) * 1000
        print(
            f"| `{name}` | {statistics.median(cpu):.0f} ({min(cpu):.0f}–{max(cpu):.0f}) "
            f"| {statistics.median(cpu) / baseline / 1000:.2f}x | {wall:.0f} |"
        )
    for name, breakdown in breakdowns.items():
        print(f"\n{name}: imports {breakdown}", end="")
    print()


if __name__ == "__main__":
    main()
