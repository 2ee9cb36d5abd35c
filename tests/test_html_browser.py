"""Exported HTML opened in a real headless Chromium (Debian's `chromium` package; .ci/run installs it): the page
loads without a request or an error, the diagram's labels are on screen and in print, the screenshot is not blank.

One browser serves the whole module (start-up is most of the cost). Without Chromium the tests are skipped, unless
SDX_E2E_REQUIRED=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from sdx.terminal.html_page import markdown_page
from tests.browser import Browser, Opened, chromium, png_pixels
from tests.fake_server import Failure
from tests.test_batch import server  # noqa: F401  (the fixture)
from tests.test_html_export import ANSWER

LABELS = {"Mobile app", "Load balancer", "API 1", "API 2", "Redis", "Orders DB", "HTTPS"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = chromium()
    if binary is None:
        if os.environ.get("SDX_E2E_REQUIRED", "") == "1":
            pytest.fail("chromium is not installed (SDX_E2E_REQUIRED=1): apt-get install chromium", pytrace=False)
        pytest.skip("chromium is not installed")
    opened = Browser(binary)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "order.html"
    path.write_text(markdown_page("Design an order service", f"# Design an order service\n\n{ANSWER}").html)
    return path


@pytest.fixture(scope="module")
def on_screen(browser: Browser, page: Path) -> Opened:
    return browser.open(page)


def labels_shown(opened: Opened) -> set[str]:
    return {item["text"] for item in opened.svg_text if item["visible"]}


def test_the_page_loads_without_requests_or_errors_and_shows_the_diagram(on_screen):
    opened = on_screen
    assert opened.requests == []
    assert opened.problems == []
    assert opened.scripts == 0 and opened.svgs == 1
    assert labels_shown(opened) >= LABELS
    assert '<script>alert("x")</script>' in opened.text  # the model's HTML, shown as text
    assert "the docs (https://evil.example/steal?c=1)" in opened.text
    assert "This diagram is not drawn (sdx cannot read it)" in opened.text


def test_the_screenshot_is_not_blank(on_screen):
    width, height, rows = png_pixels(on_screen.screenshot)
    assert (width, height) == (250, 350)
    pixels = [row[x : x + 3] for row in rows for x in range(0, len(row), 3)]
    inked = sum(1 for pixel in pixels if min(pixel) < 200)
    assert inked > len(pixels) // 50  # text, boxes and arrows cover more than 2% of the page
    assert len(set(pixels)) > 50  # and in many shades, not one flat colour


def test_printed_the_diagram_stays_and_its_source_folds_away(browser, page):
    opened = browser.open(page, media="print")
    assert opened.problems == [] and labels_shown(opened) >= LABELS
    assert "Mermaid source" not in opened.text


# Where the first and the last character of the first link's address are drawn, left to right.
ADDRESS_ENDS = """(() => {
  const text = document.querySelector('.address').firstChild, range = document.createRange();
  const at = i => { range.setStart(text, i); range.setEnd(text, i + 1); return range.getBoundingClientRect().left; };
  return [text.data, at(0) < at(text.data.length - 1)];
})()"""


def test_right_to_left_controls_in_a_link_cannot_reorder_its_address(browser, tmp_path):
    path = tmp_path / "bidi.html"
    path.write_text(markdown_page("t", "[\u202ekoob\u202c pay \u202e](https://example.com/pay)").html)
    opened = browser.open(path, probes={"ends": ADDRESS_ENDS})
    assert opened.values["ends"] == ["(https://example.com/pay)", True]


def test_the_check_itself_sees_a_request_a_script_and_an_error(browser, tmp_path):
    """The same checks on a page that does what ours must not: they fail (so the tests above can fail)."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><p>hi</p><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>')
    opened = browser.open(bad)
    assert opened.requests == ["http://127.0.0.1:9/x.png"]
    assert opened.scripts == 1 and any("boom" in problem for problem in opened.problems)
    width, height, rows = png_pixels(opened.screenshot)
    assert sum(1 for row in rows for x in range(0, len(row), 3) if min(row[x : x + 3]) < 200) < width * height // 50


LINKS = "Array.from(document.querySelectorAll('main a')).map(a => [a.textContent, a.href])"


def test_the_batch_index_page_links_every_answered_question_to_its_page(browser, sdx, server):  # noqa: F811
    server.scenario.answer = ANSWER
    server.fail_when["rate limiter"] = Failure.json_error(402, "Insufficient credits")
    questions = ["Design an order service", "Design a <b>feed</b> & more", "Design a rate limiter"]
    (sdx.home / "q.txt").write_text("\n".join(questions) + "\n", encoding="utf-8")
    assert sdx.call("batch", "q.txt", "--out", "guide", "--html").code == 4
    index = sdx.home / "guide" / "index.html"

    opened = browser.open(index, probes={"links": LINKS})

    assert opened.requests == [] and opened.problems == [] and opened.scripts == 0
    assert "2 of 3 questions answered" in opened.text
    assert "Design a rate limiter\tfailed: openrouter says the account is out of credits (402)" in opened.text
    links = opened.values["links"]
    assert [text for text, _ in links] == questions[:2]
    for text, href in links:
        target = Path(unquote(urlparse(href).path))
        assert target.parent == index.parent and target.suffix == ".html"
        page = browser.open(target)  # the link leads to the question's page, which loads as cleanly
        assert page.requests == [] and page.problems == []
        assert page.text.startswith(f"{text}\n") and labels_shown(page) >= LABELS
