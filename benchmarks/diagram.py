"""Wall time to draw a Mermaid diagram for a terminal (parse, generate D2, run d2, check the drawing, maybe the
other direction), for a 12-node and a 60-node architecture; see benchmarks/README.md.

Each size is drawn `--repeat` times at 100 columns and at no width limit, alternating, and the median is printed
against the target (under 100 ms for the 12-node diagram), with the share spent in the parser alone. The 60-node
diagram does not fit 100 columns in either direction: its 100-column time is that of finding out (two d2 runs)
before falling back to the edge list.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sdx.domain.diagram import parse_mermaid
from sdx.terminal.drawing import draw

TARGET_MS = 100.0

TWELVE = """\
flowchart TD
  client["Mobile and web clients"] --> cdn["CDN"]
  client --> lb["Load balancer"]
  lb --> api1["API 1"] & api2["API 2"] & api3["API 3"]
  api1 & api2 & api3 --> cache(("Redis cache"))
  api1 & api2 & api3 -->|"writes"| db[("Orders DB")]
  db -.-> replica[("Read replica")]
  api1 & api2 & api3 --> q[/"Order events"/]
  q --> workers["Workers"]
  workers --> search["Search index"]
"""


def sixty() -> str:
    """Ten services of five nodes each behind one gateway, plus ten shared stores."""
    lines = ["flowchart TD", '  gw["API gateway"]']
    for service in range(10):
        lines.append(f'  gw --> s{service}["Service {service}"]')
        for part in range(4):
            lines.append(f'  s{service} --> s{service}p{part}["Service {service} part {part}"]')
        lines.append(f'  s{service}p0 --> store{service}[("Store {service}")]')
    return "\n".join(lines) + "\n"


def measure(source: str, columns: int | None, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        draw(source, columns=columns)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name, source in (("12 nodes", TWELVE), ("60 nodes", sixty())):
        nodes = len(parse_mermaid(source).graph.nodes)  # type: ignore[union-attr]
        started = time.perf_counter()
        for _ in range(100):
            parse_mermaid(source)
        parse_ms = (time.perf_counter() - started) * 10
        runs: dict[int | None, list[float]] = {100: [], None: []}
        for _ in range(args.repeat):  # alternated, so that a busy machine weighs on both alike
            for columns in runs:
                runs[columns] += measure(source, columns, 1)
        for columns, times in runs.items():
            outcome = draw(source, columns=columns)
            result = "drawn" if outcome.text else outcome.reason
            median = statistics.median(times)
            target = f"target < {TARGET_MS:.0f} ms: {'met' if median < TARGET_MS else 'MISSED'}" if nodes <= 12 else ""
            width = f"{columns} columns" if columns else "any width"
            print(f"{name} ({nodes}), {width}: median {median:.0f} ms ({result}); parse {parse_ms:.1f} ms  {target}")


if __name__ == "__main__":
    main()
