"""The degenerate-answer detector: it stops a model caught in a loop, and never repetitive but legitimate
Markdown (tables, lists of similar bullets, code, drawings), fed in small chunks as a stream delivers them."""

from __future__ import annotations

import pytest

from sdx.domain.repetition import RepetitionDetector
from tests.fake_server import ANSWER
from tests.runner import stored_conversations

CAPACITY_TABLE = (
    "## Capacity\n\n| Year | DAU | Writes/s | Reads/s | Storage | Bandwidth |\n|---:|---:|---:|---:|---:|---:|\n"
    + "".join(
        f"| {2025 + year} | {50 * (year + 1)}M | {5_800 * (year + 1):,} | {58_000 * (year + 1):,} | "
        f"{73 * (year + 1)} TB | {12 * (year + 1)} MB/s |\n"
        for year in range(40)
    )
)
SHARD_BULLETS = "### Shard map\n\n" + "".join(
    f"- Shard {n:02d} (user ids {n * 1_000_000:,} to {(n + 1) * 1_000_000 - 1:,}): primary in us-east-1a, "
    "replica in us-east-1b, replica in us-west-2a\n"
    for n in range(48)
)
FEATURE_MATRIX = "| Feature | Redis | Memcached | Hazelcast |\n|---|:-:|:-:|:-:|\n" + "".join(
    f"| {feature} | ✓ | ✓ | ✓ |\n"
    for feature in (
        "Key-value get/set", "TTL per key", "LRU eviction", "Horizontal scaling", "Client-side sharding",
        "Multi-get", "Binary protocol", "Clustering", "Persistence", "Pub/sub", "Lua scripting", "Transactions",
        "Streams", "Geo queries", "Sorted sets", "Bitmaps", "HyperLogLog", "TLS", "ACLs", "Replication",
        "Sentinel failover", "Metrics export", "Slow log", "Keyspace events", "Pipelining",
    )
)  # fmt: skip
HANDLERS = (
    "```python\n"
    + "".join(
        f'@app.get("/v1/{name}/{{item_id}}")\n'
        f"async def get_{name}(item_id: str, db: Database = Depends(database)) -> dict:\n"
        f'    row = await db.fetch_one("SELECT * FROM {name} WHERE id = :id", {{"id": item_id}})\n'
        "    if row is None:\n"
        "        raise HTTPException(status_code=404)\n"
        "    return dict(row)\n\n\n"
        for name in ("users", "posts", "comments", "likes", "follows", "media", "feeds", "tags", "sessions", "alerts")
    )
    + "```\n"
)
DRAWING = (
    "```\n"
    + "                 +-----------+\n                 |  clients  |\n                 +-----------+\n"
    + "                       |\n" * 6
    + "                 +-----------+\n                 |    LB     |\n                 +-----------+\n"
    + "                       |\n" * 6
    + "   +-----------+  +-----------+  +-----------+\n"
    + "   |  api-1    |  |  api-2    |  |  api-3    |\n"
    + "   +-----------+  +-----------+  +-----------+\n"
    + "─" * 110
    + "\n```\n"
)
CLOSING_BRACES = (
    "```go\nfunc main() {\n"
    + "".join("\t" * depth + "if ok {\n" for depth in range(1, 8))
    + "".join("\t" * depth + "}\n" for depth in range(7, 0, -1))
    + "}\n```\n"
)
MANIFEST = (
    "```yaml\ncontainers:\n"
    + "".join(
        f"  - name: worker-{n}\n    image: registry.example.com/feed-worker:1.4.2\n    resources:\n"
        '      limits: {cpu: "2", memory: 4Gi}\n      requests: {cpu: "1", memory: 2Gi}\n'
        "    env:\n      - {name: QUEUE, value: feed-fanout}\n"
        for n in range(20)
    )
    + "```\n"
)
LEGITIMATE = {
    "the served answer": ANSWER,
    "a capacity table of 40 similar rows": CAPACITY_TABLE,
    "48 similar bullets": SHARD_BULLETS,
    "a feature matrix of identical ticks": FEATURE_MATRIX,
    "ten near-identical handlers": HANDLERS,
    "a drawing with repeated connector lines": DRAWING,
    "closing braces": CLOSING_BRACES,
    "a manifest of 20 similar containers": MANIFEST,
    "all of it in one answer": "\n".join(
        [ANSWER, CAPACITY_TABLE, SHARD_BULLETS, FEATURE_MATRIX, HANDLERS, DRAWING, CLOSING_BRACES, MANIFEST]
    ),
}

INTRO = "# Design a rate limiter\n\n## 1. Requirements\n- Limit each API key to 100 requests a minute.\n\n"
LOOPS = {
    "a line": (
        INTRO + "- The system should be scalable and reliable.\n" * 200,
        "- The system should be scalable and reliable.",
    ),
    "a phrase with no newline": (INTRO + "and the token bucket refills " * 300, "and the token bucket refills"),
    "a paragraph": (
        INTRO
        + (
            "The token bucket algorithm allows bursts up to the bucket size while keeping the average rate at the"
            " refill rate. Each request takes one token; when the bucket is empty, the request is rejected with"
            " 429 Too Many Requests and a Retry-After header.\n\n"
        )
        * 30,
        "The token bucket algorithm allows bursts",
    ),
    "a table row": (INTRO + "| Redis | in-memory | 100k ops/s | cluster mode |\n" * 100, "| Redis | in-memory |"),
    "numbered items": (
        INTRO + "".join(f"{n}. Use Redis to store the counters.\n" for n in range(1, 120)),
        "Use Redis to store the counters.",
    ),
    "blank lines": (INTRO + "\n" * 2000, ""),
}


def feed(text: str, chunk: int = 5):
    """(the repetition found, how many characters had arrived by then) or (None, all of them)."""
    detector = RepetitionDetector()
    for start in range(0, len(text), chunk):
        found = detector.feed(text[start : start + chunk])
        if found:
            return found, start + chunk
    return None, len(text)


@pytest.mark.parametrize("name", LEGITIMATE)
@pytest.mark.parametrize("chunk", [1, 4, 37])
def test_repetitive_but_legitimate_markdown_is_never_stopped(name, chunk):
    found, _ = feed(LEGITIMATE[name], chunk)
    assert found is None, (name, found)


@pytest.mark.parametrize("name", LOOPS)
def test_a_loop_is_stopped_soon_after_it_starts(name):
    text, shown = LOOPS[name]
    found, arrived = feed(text)
    assert found is not None, name
    assert found.repeats >= 5
    assert shown in found.unit * 2  # the unit, perhaps starting at another of its words
    assert arrived - len(INTRO) <= 800 + max(len(found.unit) * 5, 800) + 200  # well before the token limit


def test_a_loop_after_a_legitimate_table_is_stopped_and_names_what_repeats():
    text = CAPACITY_TABLE + "The storage grows by 73 TB a year.\n" * 60
    found, arrived = feed(text, 3)
    assert found is not None and found.unit == "The storage grows by 73 TB a year.\n"
    assert arrived < len(text)


# --- end to end: a looping stream from the server -----------------------------------------------------------------

LOOP_LINE = "- The system should be scalable and reliable.\n"
WARNING = (
    "sdx: warning: stopped by sdx: the answer kept repeating “- The system should be scalable and reliable.”"
    " ({n} times in a row); what arrived is kept\n"
)


def test_ask_stops_a_looping_answer_keeps_what_arrived_and_stores_it_as_not_whole(sdx, fake):
    fake.scenario.answer = INTRO + LOOP_LINE * 2000  # 94 KB: the stream a small model writes until its limit
    result = sdx.call("ask", "Design a rate limiter")
    assert result.code == 0, result.stderr
    out = result.out
    assert out.startswith(INTRO + LOOP_LINE * 17) and len(out) < 2000 and fake.scenario.answer.startswith(out)
    repeats = (len(out) - len(INTRO)) // len(LOOP_LINE)
    assert result.stderr == WARNING.format(n=repeats)
    [conversation] = stored_conversations(sdx)
    [turn] = conversation.turns
    assert (turn.status, turn.answer) == ("interrupted", out)
    assert turn.error.startswith("stopped by sdx: the answer kept repeating “- The system should be")
    shown = sdx.call("show", conversation.id).out
    assert f"> **Interrupted:** the answer stopped here ({turn.error})." in shown


def test_a_batch_answer_that_loops_is_not_filed_and_a_rerun_asks_it_again(sdx, fake):
    (sdx.home / "questions.txt").write_text("Design a rate limiter\n", encoding="utf-8")
    fake.scenario.answer = INTRO + LOOP_LINE * 2000
    result = sdx.call("batch", "questions.txt", "-o", "guide")
    assert result.code == 4, result.stderr
    assert "01-design-a-rate-limiter.md: stopped by sdx: the answer kept repeating" in result.stderr
    assert sorted(path.name for path in (sdx.home / "guide").iterdir()) == ["index.md"]
    fake.scenario.answer = ANSWER
    assert sdx.call("batch", "questions.txt", "-o", "guide").code == 0
    assert len(fake.chat_requests()) == 2
    assert (sdx.home / "guide" / "01-design-a-rate-limiter.md").read_text(encoding="utf-8").count(ANSWER) == 1
