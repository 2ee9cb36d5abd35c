"""CPU cost of showing a streamed answer on a terminal, per answer size; see benchmarks/README.md.

(a) naive: `Live(Markdown(text_so_far))`, as shell-gpt does, redrawn at the same pace as (p): once every 8 chunks,
    10 times a second of an 80-token/s stream. Each redraw parses and renders the whole answer so far, so it is
    quadratic: it only runs up to `--naive-max` chunks; beyond, its time is extrapolated as
    (chunks / measured chunks)². (a)/(p) compares the two at the same redraw rate: what printing finished blocks
    once saves, not what throttling saves.
(b) `sdx.terminal.live_markdown.LiveMarkdown`, fed as fast as possible: its throttle is time-based, so it redraws
    only ~10 times a second of CPU.
(p) the same, paced: its clock is faked so that it redraws once every 8 chunks, as when a model streams 80
    tokens a second; this is the CPU a real stream costs, most of it redraws of the live area, also shown
    as the share of one core it takes over the stream's duration (chunks / 80 seconds).
(c) one shot: `console.print(Markdown(answer))` of the whole answer.

All write to a Console on a null file that claims to be a 100x40 truecolor terminal. CPU time is
`time.process_time()`; (b) and (c) keep the best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import re
import time
from collections.abc import Callable
from unittest import mock

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from sdx.terminal import live_markdown as live_markdown_module
from sdx.terminal.live_markdown import LiveMarkdown

DESIGN = """## High-level design

The write path and the read path scale separately. Clients reach a **stateless API tier** behind a layer-7
load balancer; the API tier validates requests, assigns ids from a *range allocator*, and writes to the
primary of the owning shard. Reads go through a regional cache first, then to replicas.

```
                +-------------+        +-------------+
  client -----> |  L7 LB      | -----> |  API tier   | ----> [ id ranges ]
                +-------------+        +------+------+
                                              |
                        +---------------------+--------------------+
                        v                     v                    v
                 +-------------+       +-------------+      +-------------+
                 |  cache      |       |  shard 1    | .... |  shard N    |
                 +-------------+       +-------------+      +-------------+
```

### Capacity estimates
- 100M daily active users, 20 requests each: about **23k QPS** on average, 70k at peak
- 1 KB per record over 10 years: about *36 TB*
  - replicated 3x across zones: 110 TB
  - hot set (last 30 days) fits in 1.2 TB of cache
- Egress: 70k QPS x 1 KB = 70 MB/s at peak

| component | choice | why |
|---|---|---|
| store | Cassandra | write-heavy, tunable consistency, linear scale-out |
| cache | Redis cluster | hot keys, 99% hit rate on reads |
| ids | range allocator | no coordination per request |
| queue | Kafka | replayable fan-out to analytics |

> Trade-off: reads from replicas are eventually consistent; a user may not see their own write for ~100 ms
> unless the API pins them to the primary for a few seconds after a write.

### Failure modes
1. A shard primary dies: a replica is promoted in ~10 s; writes to that range fail fast and are retried.
2. The cache is cold after a deploy: request coalescing keeps the thundering herd off the store.
3. A hot key: it is replicated to every cache node and served locally.

```python
def allocate(n: int) -> range:
    start = redis.incrby("ids", n) - n
    return range(start, start + n)
```

---

"""

CODE_LINE = "  [ api-7 ] --(grpc, 3 ms p99)--> [ shard-12 ] --(async)--> [ queue ] --> [ worker-3 ]\n"

TOKEN = re.compile(r" ?[^\s]{1,5}|\s{1,8}")  # about 4 characters on average, like LLM tokens


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def answer(unit: str, chunks: int, head: str = "", tail: str = "") -> list[str]:
    """`head` + `unit` repeated + `tail`, cut into about `chunks` tokens."""
    repeats = max(1, round(chunks / len(tokens(unit))))
    return tokens(head + unit * repeats + tail)


class NullFile(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def console() -> Console:
    return Console(
        file=NullFile(),
        force_terminal=True,
        force_interactive=True,
        width=100,
        height=40,
        color_system="truecolor",
        legacy_windows=False,
    )


PACE = 80  # chunks a second: the stream (p) and (a) imitate
REDRAW_INTERVAL = 0.1  # seconds: LiveMarkdown's throttle (10 redraws a second)
CHUNKS_PER_REDRAW = round(PACE * REDRAW_INTERVAL)


def naive(chunks: list[str]) -> None:
    text = ""
    with Live(console=console(), auto_refresh=False, vertical_overflow="visible") as live:
        for index, chunk in enumerate(chunks, start=1):
            text += chunk
            if index % CHUNKS_PER_REDRAW == 0:
                live.update(Markdown(text), refresh=True)
        live.update(Markdown(text), refresh=True)


def live_markdown(chunks: list[str]) -> None:
    with LiveMarkdown(console()) as live:
        for chunk in chunks:
            live.feed(chunk)


def live_markdown_paced(chunks: list[str]) -> None:
    ticks = itertools.count()  # the clock is read once per chunk and once per redraw: a redraw every 8 chunks
    with mock.patch.object(live_markdown_module, "monotonic", lambda: next(ticks) / PACE):
        live_markdown(chunks)


def one_shot(chunks: list[str]) -> None:
    console().print(Markdown("".join(chunks)))


def cpu_seconds(run: Callable[[list[str]], None], chunks: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run(chunks)
        best = min(best, time.process_time() - start)
    return best


HEADER = (
    "| answer | chunks | chars | (c) one-shot s | (b) LiveMarkdown s | (b)/(c) | (p) paced s | (p) core "
    "| (a) naive s | (a)/(p) |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def naive_seconds(chunks: list[str], measured: list[tuple[int, float]], limit: int) -> tuple[float, str]:
    """(a), measured up to `limit` chunks (remembered in `measured`), else extrapolated and marked "~"."""
    if len(chunks) <= limit:
        measured.append((len(chunks), cpu_seconds(naive, chunks, 1)))
        return measured[-1][1], ""
    if not measured:
        return float("nan"), ""
    size, seconds = measured[-1]
    return seconds * (len(chunks) / size) ** 2, "~"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000, 40_000], help="chunks per answer")
    parser.add_argument("--naive-max", type=int, default=2_500, help="most chunks the naive loop runs on")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (b) and (c); the best counts")
    args = parser.parse_args()
    os.environ["TERM"] = "xterm-256color"  # Rich draws no live area on a dumb terminal

    answers = {
        "design answer": lambda n: answer(DESIGN, n),
        "one code block": lambda n: answer(CODE_LINE, n, head="```text\n", tail="```\n"),
    }
    for make in answers.values():  # imports and caches (Pygments lexers...) out of the way
        for run in (one_shot, live_markdown, live_markdown_paced, naive):
            run(make(100))
    print(HEADER)
    for name, make in answers.items():
        naive_measured: list[tuple[int, float]] = []
        for size in args.sizes:
            chunks = make(size)
            c = cpu_seconds(one_shot, chunks, args.repeat)
            b = cpu_seconds(live_markdown, chunks, args.repeat)
            p = cpu_seconds(live_markdown_paced, chunks, 1)
            a, mark = naive_seconds(chunks, naive_measured, args.naive_max)
            core = p / (len(chunks) / PACE)
            print(
                f"| {name} | {len(chunks):,} | {sum(map(len, chunks)):,} | {c:.3f} | {b:.3f} | {b / c:.2f} "
                f"| {p:.2f} | {core:.1%} | {mark}{a:.1f} | {mark}{a / p:.0f} |",
                flush=True,
            )
    print("\n~ extrapolated from the largest answer the naive loop ran on, as quadratic.")


if __name__ == "__main__":
    main()
