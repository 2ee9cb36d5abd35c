"""Start-up cost: `sdx --help` (and `sdx examples`) against a bare `import typer`, measured side by side.

Runs each command in fresh interpreters, interleaved so that machine load hits both alike, and prints medians
and ratios. Usage: python benchmarks/startup.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    'python -c "import typer"': [sys.executable, "-c", "import typer"],
    "sdx --help": [sys.executable, "-m", "sdx", "--help"],
    "sdx examples": [sys.executable, "-m", "sdx", "examples"],
    'python -c "import openai"': [sys.executable, "-c", "import openai"],
}
BASELINE = 'python -c "import typer"'


def wall_time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main(runs: int) -> None:
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():  # warm the disk cache once
        wall_time(command)
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(wall_time(command))
    baseline = statistics.median(samples[BASELINE])
    print(f"{'command':<28} {'median':>9} {'vs import typer':>16}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<28} {median * 1000:>7.0f}ms {median / baseline:>15.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
