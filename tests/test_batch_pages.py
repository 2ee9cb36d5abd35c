"""`sdx batch --html`: `index.html` beside `index.md`, and a rerun that finds questions moved: pages renamed with
their answers, cut-off answers that no longer stand for anything removed, and nothing the user owns touched."""

from __future__ import annotations

import re

from tests.fake_server import Failure
from tests.test_batch import answer_files, guide, server, write_questions  # noqa: F401  (the fixture)

ORDER, FEED, LIMITER = "Design an order service", "Design a <b>feed</b> & more | x", "Design a rate limiter"
CREDITS = Failure.json_error(402, "Insufficient credits")


def files(sdx) -> list[str]:
    return sorted(path.name for path in guide(sdx).iterdir())


def read(sdx, name: str) -> str:
    return (guide(sdx) / name).read_text(encoding="utf-8")


def test_index_html_says_what_index_md_says_escaped_and_linked_to_the_pages(sdx, server):  # noqa: F811
    server.fail_when["rate limiter"] = CREDITS
    server.scenario.cost = 0.002
    name = write_questions(sdx, f"{ORDER}\n{FEED}\n{LIMITER}\n")

    result = sdx.call("batch", name, "--out", "guide", "--html", "-j", "1")

    assert result.code == 4, result.stderr
    assert files(sdx) == [
        "01-design-an-order-service.html",
        "01-design-an-order-service.md",
        "02-design-a-b-feed-b-more-x.html",
        "02-design-a-b-feed-b-more-x.md",
        "index.html",
        "index.md",
    ]
    page = read(sdx, "index.html")
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n<!-- sdx batch index -->\n")
    assert "<title>Study guide</title>" in page and "<h1>Study guide</h1>" in page
    assert "2 of 3 questions answered · model <code>gpt-4o-mini</code> · cost $0.0040 · updated " in page
    rows = re.findall(r"<tr class=\"([\w-]+)\"><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td>", page)
    assert rows == [
        ("done", "1", '<a href="01-design-an-order-service.html">Design an order service</a>', "done"),
        (
            "done",
            "2",
            '<a href="02-design-a-b-feed-b-more-x.html">Design a &lt;b&gt;feed&lt;/b&gt; &amp; more | x</a>',
            "done",
        ),
        ("failed", "3", "Design a rate limiter", "failed: openrouter says the account is out of credits (402)"),
    ]
    assert "<b>" not in page
    assert page.count("<td>$0.0020</td>") == 2
    assert "| 2 | [Design a <b>feed</b> & more \\| x](02-design-a-b-feed-b-more-x.md) | done |" in read(sdx, "index.md")
    assert "sdx: 2 of 3 answers are in guide; index: guide/index.md and guide/index.html" in result.stderr


def test_index_html_marks_a_cut_off_answer_and_links_its_file(sdx, server):  # noqa: F811
    server.scenario.finish_reason = "length"
    name = write_questions(sdx, f"{ORDER}\n")

    assert sdx.call("batch", name, "--out", "guide", "--html").code == 4

    assert files(sdx) == ["01-design-an-order-service.cut-off.md", "index.html", "index.md"]
    assert (
        '<tr class="cut-off"><td>1</td><td><a href="01-design-an-order-service.cut-off.md">Design an order service</a>'
        "</td><td>cut off at the token limit (asked again by the next run)</td>"
    ) in read(sdx, "index.html")


def test_an_index_html_sdx_did_not_write_is_not_replaced_without_force(sdx, server):  # noqa: F811
    name = write_questions(sdx, f"{ORDER}\n")
    guide(sdx).mkdir()
    (guide(sdx) / "index.html").write_text("<p>my own page</p>\n", encoding="utf-8")

    refused = sdx.call("batch", name, "--out", "guide", "--html")

    assert refused.code == 2 and server.chat_requests() == []
    assert "index.html exists and was not written by sdx batch — add --force to replace it" in refused.stderr
    assert sdx.call("batch", name, "--out", "guide").code == 0  # without --html, index.html is not sdx's business
    assert read(sdx, "index.html") == "<p>my own page</p>\n"
    assert sdx.call("batch", name, "--out", "guide", "--html", "--force").code == 0
    assert read(sdx, "index.html").endswith("<!-- sdx batch index -->\n")


def test_pages_are_renamed_with_their_answers_when_questions_move(sdx, server):  # noqa: F811
    name = write_questions(sdx, f"{ORDER}\n{LIMITER}\n")
    assert sdx.call("batch", name, "--out", "guide", "--html").code == 0
    before = {path: read(sdx, path) for path in files(sdx) if not path.startswith("index")}
    server.requests.clear()
    write_questions(sdx, f"Design a chat system\n{ORDER}\n{LIMITER}\n")

    result = sdx.call("batch", name, "--out", "guide")  # without --html: the pages move all the same

    assert result.code == 0, result.stderr
    assert server.asked() == ["Design a chat system"]
    assert files(sdx) == [
        "01-design-a-chat-system.md",
        "02-design-an-order-service.html",
        "02-design-an-order-service.md",
        "03-design-a-rate-limiter.html",
        "03-design-a-rate-limiter.md",
        "index.html",  # the last --html run's, left as it was
        "index.md",
    ]
    assert read(sdx, "02-design-an-order-service.html") == before["01-design-an-order-service.html"]
    assert read(sdx, "03-design-a-rate-limiter.html") == before["02-design-a-rate-limiter.html"]

    write_questions(sdx, f"{LIMITER}\n")  # two questions gone: their answers and pages are kept as they are
    again = sdx.call("batch", name, "--out", "guide", "--html")
    assert again.code == 0 and len(server.chat_requests()) == 1
    assert files(sdx) == [
        "01-design-a-chat-system.md",
        "01-design-a-rate-limiter.html",
        "01-design-a-rate-limiter.md",
        "02-design-an-order-service.html",
        "02-design-an-order-service.md",
        "index.html",
        "index.md",
    ]
    assert read(sdx, "01-design-a-rate-limiter.html") == before["02-design-a-rate-limiter.html"]
    assert '<a href="01-design-a-rate-limiter.html">' in read(sdx, "index.html")


def test_cut_off_answers_follow_their_question_and_go_once_it_is_answered_whole(sdx, server):  # noqa: F811
    server.scenario.finish_reason = "length"
    name = write_questions(sdx, f"{ORDER}\n{LIMITER}\n")
    assert sdx.call("batch", name, "--out", "guide").code == 4
    assert files(sdx) == ["01-design-an-order-service.cut-off.md", "02-design-a-rate-limiter.cut-off.md", "index.md"]
    cut_order = read(sdx, "01-design-an-order-service.cut-off.md")
    server.scenario.finish_reason = "stop"
    server.fail_when["order service"] = CREDITS
    write_questions(sdx, f"Design a chat system\n{ORDER}\n{LIMITER}\n")

    moved = sdx.call("batch", name, "--out", "guide")

    assert moved.code == 4
    assert files(sdx) == [
        "01-design-a-chat-system.md",
        "02-design-an-order-service.cut-off.md",  # its question moved: so did it, and the rerun failed: kept
        "03-design-a-rate-limiter.md",  # answered whole: no cut-off answer left beside it, under any number
        "index.md",
    ]
    assert read(sdx, "02-design-an-order-service.cut-off.md") == cut_order
    server.fail_when.clear()
    assert sdx.call("batch", name, "--out", "guide").code == 0
    assert files(sdx) == [
        "01-design-a-chat-system.md",
        "02-design-an-order-service.md",
        "03-design-a-rate-limiter.md",
        "index.md",
    ]


def test_files_the_user_owns_under_sdx_s_names_are_left_alone(sdx, server):  # noqa: F811
    name = write_questions(sdx, f"{ORDER}\n{LIMITER}\n")
    guide(sdx).mkdir()
    mine = {
        # the user's notes under the cut-off name: not sdx's (no cut-off note, no trailer)
        "01-design-an-order-service.cut-off.md": "> **Question:** Design an order service\n\nmy notes\n",
        # a page the user exported here themselves (`sdx export --html` writes no batch mark)
        "02-design-a-rate-limiter.html": "<!DOCTYPE html>\n<p>exported</p>\n",
        "99-design-a-rate-limiter.cut-off.md": "> **Question:** Design a rate limiter\n\nmore notes\n",
    }
    for file, text in mine.items():
        (guide(sdx) / file).write_text(text, encoding="utf-8")

    result = sdx.call("batch", name, "--out", "guide", "--html")

    assert result.code == 0, result.stderr
    for file, text in mine.items():
        assert read(sdx, file) == text, file
    assert (
        "02-design-a-rate-limiter.html not written: a file sdx did not write has that name (--force replaces it)"
        in result.stderr
    )
    assert '<a href="02-design-a-rate-limiter.md">' in read(sdx, "index.html")  # no page of sdx's: the answer
    assert (guide(sdx) / "01-design-an-order-service.html").exists()
