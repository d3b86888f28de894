"""Result tables in and out of the replays and exports: a long result table as an
(element x period) array, and the files of a replay report (``<stem>_periods.csv``, one row
per period, and ``<stem>.json``, the summary) next to a result's tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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


def per_element(table: pd.DataFrame, level: str, names, column: str, times) -> np.ndarray:
    """(element x period) values of ``column`` of a long result table indexed by (time,
    ``level``), for the elements ``names`` in that order and the periods ``times`` (missing
    entries NaN; no elements: an empty (0 x period) array)."""
    if not len(names):
        return np.zeros((0, len(times)))
    wide = table[column].unstack(level).reindex(index=times, columns=list(names))
    return wide.to_numpy(float).T
