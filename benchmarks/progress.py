"""`sdx progress` over 1,000 stored interviews: wall and CPU time against the 0.3 s target.

Builds an isolated SDX_HOME whose history holds 1,000 graded interviews (each with a full grade: evidence and
what was missed for all eight dimensions, and a dozen turns of transcript, so the file is the size a year of
practice makes), then runs `sdx progress` piped, `sdx progress --json`, and `sdx --version` (the start-up floor)
in fresh interpreters, alternated, and prints medians.

Usage: python benchmarks/progress.py [--runs N] [--interviews N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.startup import cpu_and_wall  # noqa: E402
from sdx.domain import question_bank, rubric  # noqa: E402
from sdx.store.history import History, new_id  # noqa: E402

TARGET = 0.3  # seconds of wall time
SDX = [sys.executable, "-m", "sdx"]
TEXT = "the shard key spreads writes evenly and a cache in front absorbs the reads at peak"


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(TEXT.split()) for _ in range(words))


def grade(rng: random.Random) -> dict[str, object]:
    return {
        "dimensions": {
            key: {
                "score": rng.randint(1, 4),
                "evidence": [sentence(rng, 12) for _ in range(2)],
                "missed": [sentence(rng, 10) for _ in range(2)],
            }
            for key in rubric.DIMENSION_KEYS
        },
        "recommendation": rng.choice(rubric.RECOMMENDATIONS),
        "summary": sentence(rng, 40),
        "strengths": [sentence(rng, 10) for _ in range(3)],
        "practice_next": [sentence(rng, 8) for _ in range(3)],
    }


def build_history(home: Path, count: int) -> None:
    """`count` graded interviews over the last two years, written in one transaction."""
    rng = random.Random(21)
    now = time.time()
    bank = question_bank.questions()
    with History.open(home / "history.db") as history:
        db = history.db
        db.execute("BEGIN IMMEDIATE")
        for index in range(count):
            created = now - (count - index) * 86400 * 730 / count
            question = rng.choice(bank).text
            conversation_id = new_id(created)
            meta = {
                "level": rng.choice(list(rubric.LEVELS)),
                "minutes": 45,
                "question": question,
                "hints": rng.randint(0, 3),
                "grade_status": "graded",
                "grade": grade(rng),
                "grade_raw": "",
            }
            db.execute(
                "INSERT INTO conversations (id, title, kind, model, system_prompt, prompt_version, created_at,"
                " updated_at, meta) VALUES (?, ?, 'interview', 'gpt-4o-mini', ?, 'v', ?, ?, ?)",
                (conversation_id, question, sentence(rng, 300), created, created, json.dumps(meta)),
            )
            db.executemany(
                "INSERT INTO turns (conversation_id, question, context, answer, status, error, tokens_estimated,"
                " model_id, prompt_version, created_at) VALUES (?, ?, '', ?, 'complete', '', 0, 'm', 'v', ?)",
                [(conversation_id, sentence(rng, 40), sentence(rng, 120), created) for _ in range(12)],
            )
        db.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--interviews", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "SDX_HOME": home, "LANG": "C.UTF-8"}
        build_history(Path(home), args.interviews)
        size = (Path(home) / "history.db").stat().st_size
        commands = {
            "sdx --version": [*SDX, "--version"],
            "sdx progress": [*SDX, "progress"],
            "sdx progress --json": [*SDX, "progress", "--json"],
        }
        for command in commands.values():  # warm the page cache and the bytecode
            cpu_and_wall(command, env, home)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for run in range(args.runs):
            order = list(commands.items())
            for name, command in order if run % 2 == 0 else reversed(order):
                results[name].append(cpu_and_wall(command, env, home))
    load = os.getloadavg()[0]
    print(f"{args.interviews} graded interviews, history {size / 1e6:.1f} MB; {args.runs} runs; load {load:.1f}")
    print(f"{'command':<22} {'wall s':>8} {'cpu s':>8}  target")
    for name, samples in results.items():
        wall = statistics.median(sample[1] for sample in samples)
        cpu = statistics.median(sample[0] for sample in samples)
        verdict = "" if name == "sdx --version" else f"≤ {TARGET} s wall: {'PASS' if wall <= TARGET else 'FAIL'}"
        print(f"{name:<22} {wall:>8.3f} {cpu:>8.3f}  {verdict}")


if __name__ == "__main__":
    main()
