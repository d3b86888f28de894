"""``report.html``: one self-contained page per run folder (:mod:`gridv2g.report.html`).

:func:`write_html` assembles it from what a run has: the result (its summary with units, its
:meth:`~gridv2g.result.base.ResultBase.figure_set` and ``report_tables``), the AC replays
(each replay report's summary, flagged periods and, where it has them, its ``figure_set``)
and an optional plan comparison (``gridv2g run --compare``).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd

from gridv2g.report.html import Page, figure_png
from gridv2g.units import DEFAULT_CURRENCY

__all__ = ["Page", "write_html"]

#: replay report class name -> section heading
REPLAY_HEADINGS = {
    "ValidationReport": "AC replay in pandapower (balanced feeder)",
    "OpenDSSReport": "AC replay in OpenDSS (full unbalanced feeder)",
}


def _title(result) -> tuple[str, str]:
    case = getattr(result, "case", None)
    name = getattr(case, "name", None) or result.summary.get("case") or type(result).__name__
    parts = [getattr(case, "description", "") or "", type(result).__name__]
    status = getattr(result, "status", "")
    if status:
        parts.append(f"status {status}, solver {getattr(result, 'solver', '')}")
    return str(name), " | ".join(p for p in parts if p)


def currency_of(result) -> str:
    """The currency of ``result``'s money figures (its summary's, else its case's)."""
    case = getattr(result, "case", None)
    return result.summary.get("currency") or getattr(case, "currency", None) or DEFAULT_CURRENCY


def write_html(directory, result, replays=(), comparison: dict | None = None) -> Path:
    """Write the result's figures (``<stem>.png``) and ``report.html`` into ``directory``;
    returns the page's path.

    ``replays``: replay reports (pandapower's ``ValidationReport``, ``OpenDSSReport``): their
    sections, and the periods they flag shaded in the result's figures
    (:func:`replay_flags`); ``comparison``: {"table": DataFrame, "figures": {stem: Figure},
    "notes": [str]} of the plans compared (``gridv2g run --compare``), whose figures are
    written as PNG files too. Each figure is drawn and rendered once: the files and the page
    hold the same bytes. The replays' figures are on the page only (a replay's ``to_dir``
    writes its tables)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    title, subtitle = _title(result)
    page = Page(title, subtitle)
    currency = currency_of(result)
    page.section("Summary")
    page.summary(result.summary, currency)
    flagged = replay_flags(replays)
    figures = result.figure_set(flagged=flagged)
    if figures:
        page.section("Figures")
        for stem, fig in figures.items():
            page.figure(fig, name=stem, png=write_png(directory, stem, fig))
    tables = result.report_tables() if hasattr(result, "report_tables") else {}
    if tables:
        page.section("Tables")
        for caption, frame in tables.items():
            page.table(frame, caption)
    for replay in replays:
        add_replay(page, replay, currency)
    if comparison:
        add_comparison(page, comparison, currency, directory)
    return page.write(directory / "report.html")


def write_png(directory: Path, stem: str, fig) -> bytes:
    """Render ``fig`` once, write it as ``<stem>.png`` and return the PNG bytes."""
    png = figure_png(fig)
    (Path(directory) / f"{stem}.png").write_bytes(png)
    return png


def add_replay(page: Page, replay, currency: str = DEFAULT_CURRENCY) -> None:
    """A replay report's section: its summary, flagged periods and figures."""
    page.section(REPLAY_HEADINGS.get(type(replay).__name__, type(replay).__name__))
    page.summary(replay.summary, currency)
    periods = getattr(replay, "periods", None)
    if isinstance(periods, pd.DataFrame) and "flagged" in periods:
        flagged = periods[periods.flagged.astype(bool)]
        if len(flagged):
            page.text(f"{len(flagged)} of {len(periods)} periods flagged", cls="warn")
            page.table(flagged, "Flagged periods")
        else:
            page.text(f"No flagged period (of {len(periods)}).")
    for stem, fig in getattr(replay, "figure_set", dict)().items():
        page.figure(fig, name=stem)


def replay_flags(replays) -> pd.Series | None:
    """Bool by period, True where a replay flags the period: pandapower's ``flagged``
    column (AC and SOCP disagree beyond the tolerances) or, for OpenDSS, a phase voltage
    outside the case's limits or a line above its ampacity. None without replays."""
    flags = None
    for replay in replays:
        periods = getattr(replay, "periods", None)
        if not isinstance(periods, pd.DataFrame):
            continue
        if "flagged" in periods:
            flag = periods.flagged.astype(bool)
        elif "voltage_violations" in periods:
            flag = periods.voltage_violations > 0
            if "ampacity_violations" in periods:
                flag |= periods.ampacity_violations > 0
        else:
            continue
        flags = flag if flags is None else (flags | flag.reindex(flags.index, fill_value=False))
    return flags


def add_comparison(
    page: Page, comparison: dict, currency: str = DEFAULT_CURRENCY, directory=None
) -> None:
    """The plan comparison's section: its table, notes (why a plan is not compared) and
    figures (also written as ``<stem>.png`` into ``directory`` when given)."""
    page.section("Plans compared")
    for note in comparison.get("notes", ()):
        page.text(note, cls="warn")
    table = comparison.get("table")
    if table is not None and len(table):
        page.table(table, f"One row per plan (money in {currency})")
    for stem, fig in comparison.get("figures", {}).items():
        png = write_png(directory, stem, fig) if directory is not None else None
        page.figure(fig, name=stem, png=png)
