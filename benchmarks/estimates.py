"""Speed of the sentence reader: one sentence, a 10,000-character context, and adversarial text, against targets.

A context is what `sdx ask` reads for figures on every question (the question, -c and piped stdin), so it must cost
next to nothing: the issue's target is well under 50 ms for 10,000 characters. The realistic context is the
corpus of tests/data/estimate_corpus.jsonl (published problems in their own words, dense with figures) up to
10,000 characters; the adversarial ones are long runs that make backtracking regular expressions quadratic. Runs
of the kinds alternate, and each figure is the median CPU time of the runs (after one warm-up).

Usage: python benchmarks/estimates.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sdx.domain.estimates import estimate_from_text  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "estimate_corpus.jsonl"
SENTENCE = "5M DAU, 10% of users upload 1 video per day, average video 300 MB, users watch 5 videos per day"


def realistic_context(size: int = 10_000) -> str:
    entries = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [entry["text"] for entry in entries if "error" not in entry]
    context, n = "", 0
    while len(context) < size:
        context += texts[n % len(texts)] + "\n"
        n += 1
    return context[:size]


CASES = {  # name: (text, target in ms)
    "one sentence": (SENTENCE, 2.0),
    "10,000-character context": (realistic_context(), 50.0),
    "10,000 digits": ("1" * 10_000, 50.0),
    "10,000 spaces after DAU": ("DAU" + " " * 10_000, 50.0),
    "2,000 clauses 'x 1 y'": ("".join(f"x {n} y\n" for n in range(2_000))[:10_000], 50.0),
    "'each user ' × 1,000": ("each user " * 1_000, 50.0),
    "'1,' × 5,000": ("1," * 5_000, 50.0),
}


def run(runs: int) -> int:
    timings: dict[str, list[float]] = {name: [] for name in CASES}
    for text, _ in CASES.values():
        estimate_from_text(text)  # warm-up: imports, compiled expressions
    for _ in range(runs):
        for name, (text, _) in CASES.items():  # the kinds alternate within each round
            started = time.process_time()  # CPU time: what the reader costs, not what the other processes take
            estimate_from_text(text)
            timings[name].append((time.process_time() - started) * 1000)
    failed = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"sentence reader, CPU time, median of {runs} runs (load average {load:.1f} on {os.cpu_count()} cores)")
    for name, (text, target) in CASES.items():
        median = statistics.median(timings[name])
        verdict = "PASS" if median <= target else "FAIL"
        failed += verdict == "FAIL"
        print(f"  {name:<28} {len(text):>6} chars  {median:8.2f} ms  (target ≤ {target:g} ms)  {verdict}")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    raise SystemExit(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
