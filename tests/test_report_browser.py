"""report.html of every kind of result opened in a real browser (headless Chromium through
playwright, driving the system's ``chromium``: Debian's package, installed by ``.ci/run``).
A page fails on a console error, a JavaScript exception, a resource that does not load, an
image that does not decode, or a blank page. A new kind of report is one more entry in
``report_cases.REPORT_KINDS``.

Without Chromium (or playwright) the tests skip, saying why; with ``CI`` set they fail."""

from __future__ import annotations

import os
import shutil

import pytest
from report_cases import BUILT_KINDS, REPORT_KINDS, write_report

#: a page shorter than this [px] or with less text [characters] counts as blank
MIN_HEIGHT_PX = 600
MIN_TEXT = 200


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: the report browser test needs it on CI (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install '.[test]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _missing("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        yield browser
        browser.close()


@pytest.mark.parametrize("kind", [*REPORT_KINDS, *BUILT_KINDS])
def test_report_renders_in_chromium(kind, browser, tmp_path):
    folder = write_report(kind, tmp_path / kind)
    report = folder / "report.html"
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url[:80]}"))
    response = page.goto(report.as_uri(), wait_until="load")
    assert response is None or response.ok
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    ids = page.evaluate("Array.from(document.querySelectorAll('figure[id]')).map(f => f.id)")
    text = page.evaluate("document.body.innerText")
    height = page.evaluate("document.body.scrollHeight")
    page.close()
    assert not problems, problems
    pngs = list(folder.glob("*.png"))
    assert {f"fig-{p.stem}" for p in pngs} <= set(ids)  # every figure of the folder
    assert len(images) == len(ids)
    assert all(done and w > 100 and h > 100 for done, w, h in images), images
    assert len(text) > MIN_TEXT and "Summary" in text
    assert height > MIN_HEIGHT_PX
