"""Render a run folder's ``report.html`` to a full-page PNG in headless Chromium.

    python scripts/screenshot_report.py OUT_DIR [--png FILE] [--width 1200]

Uses playwright driving the system Chromium (Debian's ``chromium`` package; no browser
download). Prints the page's height [px], its figures and any console error.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def screenshot(report: Path, png: Path, width: int = 1200) -> dict:
    """Open ``report`` (an HTML file) in headless Chromium and write a full-page PNG to
    ``png``; returns {"height_px", "images", "errors"}."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight])"
            )
            height = page.evaluate("document.body.scrollHeight")
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()
    return {"height_px": height, "images": images, "errors": errors}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="run folder holding report.html")
    parser.add_argument("--png", type=Path, default=None, help="output PNG (default: folder)")
    parser.add_argument("--width", type=int, default=1200, help="viewport width [px]")
    args = parser.parse_args(argv)
    png = args.png or args.folder / "report_screenshot.png"
    info = screenshot(args.folder / "report.html", png, args.width)
    print(f"{png}: page {info['height_px']} px high, {len(info['images'])} figures")
    for alt, w, h in info["images"]:
        print(f"  {w} x {h} px  {alt}")
    for error in info["errors"]:
        print(f"  console error: {error}", file=sys.stderr)
    return 1 if info["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
