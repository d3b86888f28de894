"""The files of a replay report next to a result's tables: ``<stem>_periods.csv`` (one row
per period) and ``<stem>.json`` (the summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def write_report(directory, stem: str, periods: pd.DataFrame, summary: dict) -> Path:
    """Write ``periods`` and ``summary`` as ``<stem>_periods.csv`` and ``<stem>.json`` into
    ``directory`` (created if missing); returns the folder."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    periods.to_csv(directory / f"{stem}_periods.csv")
    text = json.dumps(summary, indent=2, default=str)
    (directory / f"{stem}.json").write_text(text + "\n")
    return directory
