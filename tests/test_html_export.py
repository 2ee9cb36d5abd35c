"""`sdx export --html` and `sdx batch --html`: one self-contained page per conversation, its diagrams drawn by the
real d2 binary, everything the model wrote escaped. (tests/test_html_browser.py opens such pages in Chromium.)"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from sdx.commands.history import conversation_markdown
from sdx.domain.conversation import INTERRUPTED, Conversation, Turn
from sdx.environment import Environment, installed
from sdx.store.history import History
from sdx.terminal.html_page import markdown_page
from tests.runner import Sdx

# An answer as a small model writes one (gpt-4o-mini's shape), with what an untrusted answer may hold.
DIAGRAM = """flowchart LR
  client["Mobile app"] -->|HTTPS| lb["Load balancer"]
  lb --> api1["API 1"] & api2["API 2"]
  api1 --> cache(("Redis"))
  api1 --> db[("Orders DB")]
  api2 --> db
"""
BROKEN = 'flowchart LR\n  a["Client] --> b\n'
ANSWER = f"""## High-level design

The client talks to a load balancer <script>alert("x")</script> in front of stateless API servers.

```mermaid
{DIAGRAM}```

A second, broken one:

```mermaid
{BROKEN}```

See [the docs](https://evil.example/steal?c=1) or <https://redis.io/docs>; ![pixel](https://tracker.example/p.gif)
<img src="https://tracker.example/q.gif">

```python
def shard(key: str, n: int) -> int:
    return hash(key) % n
```

| component | choice |
|---|---|
| cache | Redis |
"""
EDGES = [
    "Mobile app → Load balancer [HTTPS]",
    "Load balancer → API 1, API 2",
    "API 1 → Redis, Orders DB",
    "API 2 → Orders DB",
]


@pytest.fixture
def user(tmp_path: Path) -> Sdx:
    return Sdx(tmp_path / "home")


def store(user: Sdx, *turns: Turn, kind: str = "ask", meta: dict | None = None) -> Conversation:
    env = Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), wall_clock=lambda: 1_750_000_000.0)
    talk = Conversation(kind=kind, model="gpt-4o-mini", system_prompt="sys", prompt_version="v3", meta=meta or {})
    with installed(env), History.open(user.home / "history.db") as history:
        history.create(talk)
        for turn in turns:
            history.add_turn(talk, turn)
    return talk


def svg_texts(page: str) -> list[str]:
    return re.findall(r"<text\b[^>]*>([^<]*)</text>", page)


def test_export_html_draws_the_diagram_and_keeps_its_source(user):
    talk = store(user, Turn("Design an order service", answer=ANSWER))
    result = user.call("export", talk.id, "--html", "-o", "order.html")
    assert (result.code, result.out) == (0, "")
    assert result.stderr == (
        "sdx: note: a diagram is not drawn (the page shows its source instead): a diagram sdx cannot read "
        "(line 2: the label of 'a' has no closing quote)\n"
        "sdx: wrote order.html (1 turn)\n"
    )
    page = (user.home / "order.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<title>Design an order service</title>" in page
    assert page.count('<svg class="d2-') == 1  # the good diagram, drawn once
    for label in ("Mobile app", "Load balancer", "API 1", "API 2", "Redis", "Orders DB", "HTTPS"):
        assert label in svg_texts(page)
    source = page.split("<details><summary>Mermaid source</summary>")[1].split("</details>")[0]
    assert "client[&quot;Mobile app&quot;] --&gt;|HTTPS| lb[&quot;Load balancer&quot;]" in source


def test_a_diagram_that_cannot_be_read_is_its_source_and_what_is_wrong(user):
    page = markdown_page("t", f"```mermaid\n{BROKEN}```\n")
    assert "<svg" not in page.html and len(page.undrawn) == 1
    assert page.undrawn[0].startswith("a diagram sdx cannot read (line 2")
    assert "flowchart LR\n  a[&quot;Client] --&gt; b\n" in page.html
    assert '<ul class="errors"><li>line 2' in page.html


def test_without_d2_every_diagram_is_its_source_and_a_correct_edge_list(user):
    talk = store(user, Turn("Design an order service", answer=ANSWER))
    result = user.call("export", talk.id, "--html", "-o", "order.html", env={"SDX_D2": str(user.home / "no-d2")})
    assert result.code == 0
    notes = [line for line in result.stderr.splitlines() if "not drawn" in line]
    assert len(notes) == 1 and notes[0].startswith("sdx: note: 2 diagrams are not drawn")
    page = (user.home / "order.html").read_text(encoding="utf-8")
    assert "<svg" not in page
    edges = re.search(r'<ul class="edges">(.*?)</ul>', page)
    assert edges is not None
    assert re.findall(r"<li>(.*?)</li>", edges[1]) == [edge.replace("&", "&amp;") for edge in EDGES]
    assert "d2 is missing" in page


def test_a_diagram_the_answer_stopped_inside_is_never_drawn(user):
    cut = "Overview.\n\n```mermaid\nflowchart LR\n  client --> lb\n  lb --> api1"  # api2, api3 never arrived
    talk = store(user, Turn("Design a feed", answer=cut, status=INTERRUPTED, error="Ctrl-C"))
    result = user.call("export", talk.id, "--html", "-o", "feed.html")
    assert result.code == 0
    assert "sdx: note: a diagram is not drawn (the page shows its source instead): the answer stopped inside it\n" in (
        result.stderr
    )
    page = (user.home / "feed.html").read_text(encoding="utf-8")
    assert "<svg" not in page and "edges" not in page
    assert 'What arrived of its source:</p>\n<pre class="code"><code>flowchart LR\n  client --&gt; lb\n' in page


def test_model_html_links_and_images_cannot_act_on_the_page(user):
    page = markdown_page("t", ANSWER).html
    body = page.split("<main>")[1]
    assert "<script" not in page.lower() and "<img" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "&lt;img src=&quot;https://tracker.example/q.gif&quot;&gt;" in body
    # a link whose text is not its address shows the address; an autolink already does
    assert (
        '<a href="https://evil.example/steal?c=1">the docs</a> '
        '<span class="address">(https://evil.example/steal?c=1)</span>'
    ) in body
    assert '<a href="https://redis.io/docs">https://redis.io/docs</a>;' in body
    assert '[image: pixel] <span class="address">(https://tracker.example/p.gif)</span>' in body
    assert "content=\"default-src 'none'; style-src 'unsafe-inline'; font-src data:\"" in page
    assert re.findall(r"(?:src|href)=\"(?!#|data:)([^\"]*)\"", page) == [
        "https://evil.example/steal?c=1",
        "https://redis.io/docs",
    ]  # nothing the page loads, only links a reader may follow


def test_a_javascript_link_is_not_a_link():
    page = markdown_page("t", "[click](javascript:alert(1)) [me](JaVaScRiPt:alert(2)) [x](data:text/html,hi)").html
    assert "<a " not in page and "[click](javascript:alert(1))" in page


def test_code_is_highlighted_and_tables_rendered():
    page = markdown_page("t", ANSWER).html
    assert '<pre class="code highlight" data-language="python"><code><span class="k">def</span>' in page
    assert "<th>component</th>" in page and "<td>Redis</td>" in page
    assert "@media print" in page


def test_an_interview_exports_with_its_grade(user):
    from sdx.domain import rubric

    grade = {
        "dimensions": {
            dimension.key: {"score": 3, "evidence": ["I'd shard by user id"], "missed": ["hot keys"]}
            for dimension in rubric.DIMENSIONS
        },
        "recommendation": "hire",
        "summary": "Solid.",
        "strengths": ["clear"],
        "practice_next": ["caching"],
    }
    meta = {"level": "senior", "minutes": 45, "question": "Design a feed", "grade_status": "graded", "grade": grade}
    talk = store(
        user,
        Turn("Design a feed", answer="Go ahead."),
        Turn("I'd shard by user id", answer=ANSWER),
        kind="interview",
        meta=meta,
    )
    result = user.call("export", talk.id, "--html")
    page = result.out
    assert result.code == 0 and page.startswith("<!DOCTYPE html>")
    assert "I&#x27;d shard by user id" in page or "I'd shard by user id" in page
    assert page.count('<svg class="d2-') == 1 and "hire" in page


def test_the_markdown_export_keeps_mermaid_blocks_as_written(user):
    talk = store(user, Turn("Design an order service", answer=ANSWER))
    exported = user.call("export", talk.id).out
    assert f"```mermaid\n{DIAGRAM}```" in exported and f"```mermaid\n{BROKEN}```" in exported
    with History.open(user.home / "history.db") as history:
        assert exported == conversation_markdown(history.load(talk.id))


# --- batch --html ----------------------------------------------------------------------------------------------


@pytest.fixture
def batch_user(sdx, fake):
    fake.scenario.answer, fake.scenario.chunk_size = ANSWER, 40
    (sdx.home / "q.txt").write_text("Design an order service\nDesign a feed\n", encoding="utf-8")
    return sdx


def test_batch_html_writes_a_page_beside_each_answer(batch_user, fake):
    result = batch_user.call("batch", "q.txt", "--out", "guide", "--html")
    assert result.code == 0, result.stderr
    guide = batch_user.home / "guide"
    assert sorted(p.name for p in guide.iterdir()) == [
        "01-design-an-order-service.html",
        "01-design-an-order-service.md",
        "02-design-a-feed.html",
        "02-design-a-feed.md",
        "index.html",
        "index.md",
    ]
    page = (guide / "02-design-a-feed.html").read_text(encoding="utf-8")
    assert "<title>Design a feed</title>" in page and "<h1>Design a feed</h1>" in page
    assert "<strong>Question:</strong> Design a feed" in page
    assert page.count('<svg class="d2-') == 1 and "Orders DB" in svg_texts(page)
    assert "sdx batch:" not in page  # the answer file's trailer comment is not shown
    assert result.stderr.count("02-design-a-feed.html: a diagram is not drawn") == 1


def test_batch_html_on_a_rerun_makes_pages_for_earlier_answers(batch_user, fake):
    assert batch_user.call("batch", "q.txt", "--out", "guide").code == 0
    guide = batch_user.home / "guide"
    assert not list(guide.glob("*.html"))
    result = batch_user.call("batch", "q.txt", "--out", "guide", "--html")
    assert result.code == 0, result.stderr
    assert len(fake.chat_requests()) == 2  # nothing asked again
    assert sorted(p.name for p in guide.glob("*.html")) == [
        "01-design-an-order-service.html",
        "02-design-a-feed.html",
        "index.html",
    ]
