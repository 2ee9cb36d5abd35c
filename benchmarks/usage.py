"""`sdx usage` over a history of 20,000 stored turns: the whole command, as a user runs it, against a 0.3 s target.

Builds a history in a temporary SDX_HOME (4,000 conversations of 5 turns, answers of about 4 KB, a year of
dates, four models and every kind, costs reported, estimated and unknown; each interview's grade one or two
grading requests), then runs `python -m sdx usage` with each `--by` (and `--json`, `--since 30d`) in fresh
processes, alternated with `sdx --version` (start-up alone), stdout on a pipe. Prints medians of wall time and
CPU (user + system, from `wait4`) against the target, and the CPU time of the totals queries alone (in this
process), which is what the history's size changes.

Usage: python benchmarks/usage.py [--runs N] [--turns N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.startup import cpu_and_wall  # noqa: E402

PYTHON = sys.executable
SDX = [PYTHON, "-m", "sdx"]
TARGET = 0.3  # seconds of wall time for the whole command
MODELS = ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku", "llama3.2:latest", "qwen2.5:7b"]
KINDS = ["ask", "chat", "interview", "batch"]
SOURCES = [("reported", 1.0), ("price list", 1.0), ("local", 0.0), ("", None)]


def build_history(home: Path, turns: int) -> None:
    """Create the schema through sdx's own store, then insert the rows in one transaction."""
    from sdx.store.history import History, new_id

    rng = random.Random(19)
    answer = ("A design answer line with some words in it. " * 90)[:4000]
    now = time.time()
    with History.open(home / "history.db") as history:
        db = history.db
        db.execute("BEGIN")
        for _ in range(turns // 5):
            started = now - rng.uniform(0, 365 * 86400)
            cid = new_id(started)
            kind, model = rng.choice(KINDS), rng.choice(MODELS)
            db.execute(
                "INSERT INTO conversations (id, title, kind, model, system_prompt, prompt_version, created_at,"
                " updated_at, meta) VALUES (?, 'A design question', ?, ?, 'system', 'v1', ?, ?, '{}')",
                (cid, kind, model, started, started),
            )
            for n in range(5):
                source, scale = rng.choice(SOURCES)
                cost = None if scale is None else scale * rng.uniform(0.0001, 0.01)
                db.execute(
                    "INSERT INTO turns (conversation_id, question, context, answer, status, error, prompt_tokens,"
                    " completion_tokens, tokens_estimated, time_to_first_token, duration, model_id,"
                    " prompt_version, created_at, cost, cost_source)"
                    " VALUES (?, 'Design a URL shortener', '', ?, 'complete', '', ?, ?, ?, 0.5, 10.0, ?, 'v1', ?, ?,"
                    " ?)",
                    (cid, answer, rng.randint(50, 5000), rng.randint(300, 2500), n == 4, model, started + n * 60, cost,
                     source),
                )  # fmt: skip
            for n in range(rng.choice((1, 1, 2)) if kind == "interview" else 0):  # a grade: one or two requests
                source, scale = rng.choice(SOURCES)
                cost = None if scale is None else scale * rng.uniform(0.0001, 0.01)
                db.execute(
                    "INSERT INTO gradings (conversation_id, kind, created_at, model, model_id, prompt_tokens,"
                    " completion_tokens, tokens_estimated, cost, cost_source) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                    (cid, kind, started + 600 + n, model, model, rng.randint(2000, 8000), rng.randint(800, 2000), cost,
                     source),
                )  # fmt: skip
        db.execute("COMMIT")


def query_ms(home: Path, runs: int) -> dict[str, float]:
    """Median CPU milliseconds of `usage_totals` for each --by, in this process."""
    from sdx.commands.usage import GROUPS, usage_totals
    from sdx.store.history import History

    timings: dict[str, list[float]] = {by: [] for by in GROUPS}
    with History.open(home / "history.db") as history:
        for _ in range(runs):
            for by in GROUPS:
                started = time.process_time()
                usage_totals(history, by, float("-inf"))
                timings[by].append((time.process_time() - started) * 1000)
    return {by: statistics.median(values) for by, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command")
    parser.add_argument("--turns", type=int, default=20_000, help="stored turns")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        build_history(Path(home), args.turns)
        size = (Path(home) / "history.db").stat().st_size / 1e6
        env = {"PATH": os.environ["PATH"], "HOME": home, "SDX_HOME": home, "LANG": "C.UTF-8"}
        named = {
            "sdx --version": [*SDX, "--version"],
            "sdx usage": [*SDX, "usage"],
            "sdx usage --by day": [*SDX, "usage", "--by", "day"],
            "sdx usage --by model": [*SDX, "usage", "--by", "model"],
            "sdx usage --by kind --json": [*SDX, "usage", "--by", "kind", "--json"],
            "sdx usage --by week --since 30d": [*SDX, "usage", "--by", "week", "--since", "30d"],
        }
        check = subprocess.run(named["sdx usage"], env=env, cwd=home, capture_output=True, text=True, check=True)
        answers = check.stdout.splitlines()[-1].split()[1]
        queries = query_ms(Path(home), args.runs)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in named}
        for command in named.values():  # warm the disk cache once
            cpu_and_wall(command, env, home)
        for run in range(args.runs):
            for name, command in named.items() if run % 2 else reversed(named.items()):
                samples[name].append(cpu_and_wall(command, env, home))
    print(f"{args.turns} turns ({answers} answers in the total), {size:.0f} MB; {args.runs} runs each, medians\n")
    print("| command | wall ms (spread) | CPU ms | target | |\n|---|--:|--:|--:|---|")
    for name, values in samples.items():
        wall = [w * 1000 for _, w in values]
        cpu = statistics.median(c for c, _ in values) * 1000
        verdict = "" if name == "sdx --version" else ("PASS" if statistics.median(wall) < TARGET * 1000 else "FAIL")
        target = "" if name == "sdx --version" else f"< {TARGET * 1000:.0f}"
        print(
            f"| `{name}` | {statistics.median(wall):.0f} ({min(wall):.0f}–{max(wall):.0f}) | {cpu:.0f} "
            f"| {target} | {verdict} |"
        )
    print("\nthe totals query alone, CPU ms: " + ", ".join(f"--by {by} {ms:.1f}" for by, ms in queries.items()))


if __name__ == "__main__":
    main()
