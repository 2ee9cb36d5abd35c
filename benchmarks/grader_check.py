"""How far a grader can be trusted: three fixed transcripts of one question graded several times each.

    /path/to/python benchmarks/grader_check.py                       # the default model, 3 gradings each
    /path/to/python benchmarks/grader_check.py -m gpt-4o-mini -m claude --repeat 3
    /path/to/python benchmarks/grader_check.py -m local:smollm2 --repeat 1 --max-tokens 16 --transcript weak --json

The transcripts (a strong, a mediocre and a weak candidate for "Design a URL shortener", and the weak one padded
with filler: buzzwords and restated requirements, no new substance) go through sdx's own grading protocol
(`sdx.grading.obtain_grade`: the schema as `response_format`, validation and the evidence check, each sent back
once). Printed per model: each dimension's spread (highest minus lowest score over the repetitions, per
transcript), the mean total score of each transcript, whether strong > mediocre > weak holds, whether the
padding raised the weak one's score, and how many gradings produced no valid grade or quotes not in the
transcript. Any model sdx can use works (`sdx models`); the figures mean something only for a model that grades
at all (a hosted one): an e2e test runs it (one transcript, once) against a 135M local model only to prove that
it runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field

from sdx.config import load_config
from sdx.domain import grades, rubric
from sdx.errors import SdxError
from sdx.grading import GRADE_MAX_TOKENS, GradingJob, grader, obtain_grade
from sdx.model.registry import chosen_model_name

QUESTION = "Design a URL shortener"
LEVEL = "senior"
MINUTES = 45

STRONG = [
    "Before any boxes: the core use cases are create a short link and redirect. Invariants: a code maps to "
    "exactly one URL forever, and a redirect must never send someone to the wrong URL. The hardest constraint "
    "is redirect latency, p99 under 20 ms worldwide, because every click pays it. Out of scope: analytics "
    "dashboards and custom domains.",
    "100M new links a month is about 40 writes/s, peak maybe 100/s. Reads are 100x, so 4K/s average and about "
    "10K/s at peak. Each record is about 500 bytes, 1.2B links a year, so 6 TB over 10 years: one sharded "
    "key-value store, not a big cluster. 20% of links get 80% of clicks, so a 100 GB cache covers the hot set.",
    "API: POST /links {url, optional alias} returns the code, with an Idempotency-Key header so a retried create "
    "does not make two links; GET /{code} returns a 301 or 302. Table links: code (primary key), url, "
    "created_at, owner_id. Access is by code only, so a key-value store keyed by code fits.",
    "Flow: client to a load balancer to stateless API servers. A redirect reads Redis first, then the KV "
    "store on a miss. Codes come from a counter: each API server leases a range of 1,000 ids from ZooKeeper and "
    "base62-encodes them, so two servers never issue the same code and there is no collision check on write.",
    "Deep dive on the hot path: a celebrity link can get 50K clicks a second, one Redis shard would melt, so "
    "hot keys are replicated to every cache node and also cached at the CDN edge for 60 seconds; 301 lets "
    "browsers cache it but we lose click counts, so I'd use 302 if analytics matter.",
    "Trade-offs: a counter with ranges over random codes plus a uniqueness check, because it needs no read "
    "before write; the cost is guessable codes, fixed by a keyed permutation of the id. Cassandra over Postgres "
    "only because we want multi-region writes; at 40 writes/s one Postgres primary would do, so I would start "
    "with Postgres and not over-build.",
    "Failures: if ZooKeeper is down, servers keep issuing from the ranges they hold for hours. If the cache "
    "dies, the KV store can take 10K reads/s for a while. I'd monitor redirect p99, cache hit rate and range "
    "exhaustion. To sum up: counter ranges, KV by code, cache plus CDN for hot links.",
]
MEDIOCRE = [
    "So we need to shorten URLs and redirect. It should be fast and available. Maybe also analytics.",
    "Lots of users, maybe millions. Reads are more than writes. Storage is probably some terabytes.",
    "POST /shorten with the URL, returns a short URL. GET /code redirects. A table with code and url.",
    "Load balancer, app servers, a database, and a cache in front of the database for popular links.",
    "For the code I'd hash the URL with MD5 and take the first 7 characters; on a collision, try again.",
    "SQL or NoSQL both work; NoSQL scales better so I'd pick that.",
    "We can add replicas for the database and more app servers if traffic grows.",
]
WEAK = [
    "I would use microservices on Kubernetes.",
    "There is a URL service and a database.",
    "The database stores the URLs.",
    "We can scale it later.",
]
FILLER = [
    "To be clear, scalability, availability, reliability and consistency are all very important here, and the "
    "CAP theorem, eventual consistency, sharding, replication, caching, load balancing, CDNs, Kafka and "
    "observability are all things a great system needs.",
    "Again, the system must be highly scalable, highly available, fault tolerant, low latency, secure and cost "
    "effective, with microservices, Kubernetes, auto-scaling and a service mesh.",
    "In summary, it is a robust, scalable, distributed, cloud-native, event-driven architecture.",
]
INTERVIEWER = [
    "Let's design a URL shortener like bit.ly. Where would you like to start?",
    "What scale should we plan for?",
    "What would the API look like?",
    "Walk me through the design.",
    "Which part is hardest, and how would you handle it?",
    "Why that choice over the alternatives?",
    "What happens when something fails?",
    "Thanks, that's time.",
]


def transcript(answers: list[str]) -> str:
    """The interview as sdx's grader reads it (rubric.transcript), the interviewer asking one question a turn."""
    turns = [(QUESTION, "", INTERVIEWER[0])]
    turns += [(answer, "", INTERVIEWER[min(n + 1, len(INTERVIEWER) - 1)]) for n, answer in enumerate(answers)]
    return rubric.transcript(QUESTION, turns)


TRANSCRIPTS = {
    "strong": transcript(STRONG),
    "mediocre": transcript(MEDIOCRE),
    "weak": transcript(WEAK),
    "weak+filler": transcript(WEAK[:2] + FILLER[:1] + WEAK[2:] + FILLER[1:]),
}


@dataclass
class Runs:
    """The gradings of one transcript by one model."""

    scores: list[dict[str, int]] = field(default_factory=list)  # one per valid grade
    failed: list[str] = field(default_factory=list)  # why a grading gave no valid grade
    unverified: int = 0  # valid grades with quotes not in the transcript
    seconds: list[float] = field(default_factory=list)

    def total(self) -> float | None:
        return statistics.mean(sum(s.values()) for s in self.scores) if self.scores else None

    def spread(self, key: str) -> int | None:
        values = [s[key] for s in self.scores]
        return max(values) - min(values) if values else None


def grade_once(model: str, text: str, max_tokens: int) -> tuple[dict[str, int], bool]:
    config = load_config()
    target = grader(model, config, chosen_model_name(None, config))
    job = GradingJob(rubric.grader_prompt(LEVEL, 0), rubric.grading_request_text(LEVEL, MINUTES, 0, text), source=text)
    outcome = obtain_grade(job, target, max(config.timeout, 300.0), [""], max_tokens=max_tokens)
    scores = {key: getattr(outcome.grade.dimensions, key).score for key in rubric.DIMENSION_KEYS}
    return scores, bool(outcome.not_found)


def check_model(model: str, repeat: int, max_tokens: int, names: list[str]) -> dict[str, Runs]:
    results = {name: Runs() for name in names}
    for round_number in range(repeat):
        for name in names:  # interleaved, so drift over time does not favour one transcript
            started = time.monotonic()
            try:
                scores, unverified = grade_once(model, TRANSCRIPTS[name], max_tokens)
            except grades.GradeInvalid as exc:
                results[name].failed.append(f"invalid twice: {exc.problems[:80]}")
            except SdxError as exc:
                results[name].failed.append(exc.what[:120])
            else:
                results[name].scores.append(scores)
                results[name].unverified += unverified
            results[name].seconds.append(time.monotonic() - started)
            print(f"grader_check: {model}: round {round_number + 1}/{repeat}: {name} done", file=sys.stderr)
    return results


def verdicts(results: dict[str, Runs]) -> dict[str, bool | None]:
    """strong > mediocre > weak by mean total, and whether the filler raised the weak one (None: no grades)."""
    totals = {name: results[name].total() if name in results else None for name in TRANSCRIPTS}
    ordered = None
    if None not in (totals["strong"], totals["mediocre"], totals["weak"]):
        ordered = totals["strong"] > totals["mediocre"] > totals["weak"]  # type: ignore[operator]
    padded = None
    if totals["weak"] is not None and totals["weak+filler"] is not None:
        padded = totals["weak+filler"] > totals["weak"]
    return {"order_holds": ordered, "filler_raises_weak": padded}


def report(model: str, results: dict[str, Runs], repeat: int) -> str:
    lines = [f"## {model} ({repeat} grading{'s' if repeat != 1 else ''} of each transcript)", ""]
    names = list(results)
    lines.append("| dimension | " + " | ".join(f"{name} spread" for name in names) + " |")
    lines.append("|---|" + "--:|" * len(names))
    for key in rubric.DIMENSION_KEYS:
        cells = [_figure(results[name].spread(key)) for name in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines.append("")
    for name in names:
        runs = results[name]
        total = runs.total()
        shown = f"{total:.1f}/32" if total is not None else "no valid grade"
        seconds = statistics.median(runs.seconds) if runs.seconds else 0.0
        lines.append(
            f"- {name}: mean total {shown}; {len(runs.scores)} valid, {len(runs.failed)} without a valid grade, "
            f"{runs.unverified} with quotes not in the transcript; median {seconds:.1f} s a grading"
        )
        lines += [f"  - failed: {why}" for why in runs.failed]
    found = verdicts(results)
    lines.append(f"- strong > mediocre > weak: {_yes_no(found['order_holds'])}")
    lines.append(f"- filler raises the weak one's score: {_yes_no(found['filler_raises_weak'])}")
    return "\n".join(lines)


def _figure(value: int | None) -> str:
    return "–" if value is None else str(value)


def _yes_no(value: bool | None) -> str:
    return "not known (no valid grades of the transcripts it compares)" if value is None else "yes" if value else "no"


def as_json(model: str, results: dict[str, Runs]) -> dict[str, object]:
    return {
        "model": model,
        "transcripts": {
            name: {
                "scores": runs.scores,
                "failed": runs.failed,
                "unverified": runs.unverified,
                "mean_total": runs.total(),
                "spread": {key: runs.spread(key) for key in rubric.DIMENSION_KEYS},
            }
            for name, runs in results.items()
        },
        **verdicts(results),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", action="append", help="a model sdx knows (repeatable; default: sdx's)")
    parser.add_argument("--repeat", type=int, default=3, help="gradings of each transcript (default 3)")
    parser.add_argument("--max-tokens", type=int, default=GRADE_MAX_TOKENS, help="cap each grade's length")
    parser.add_argument("--json", action="store_true", help="one JSON object per model, one a line")
    parser.add_argument(
        "--transcript", action="append", choices=list(TRANSCRIPTS), help="grade only this one (repeatable)"
    )
    args = parser.parse_args(argv)
    models = args.model or [chosen_model_name(None, load_config())]
    names = [name for name in TRANSCRIPTS if name in (args.transcript or TRANSCRIPTS)]
    for model in models:
        results = check_model(model, args.repeat, args.max_tokens, names)
        print(json.dumps(as_json(model, results)) if args.json else report(model, results, args.repeat) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
