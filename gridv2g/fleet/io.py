"""Reading a session CSV (DESIGN.md format): normalised, checked, file and line named."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import SessionError
from gridv2g.fleet.checks import _check
from gridv2g.fleet.sessions import (
    _normalize,
)
from gridv2g.horizon import Horizon


def read_sessions(
    path, stations: Iterable[str] | None = None, horizon: Horizon | None = None
) -> pd.DataFrame:
    """Read a session CSV (DESIGN.md format), normalise it and check it.

    The file has a header line (line 1) naming the columns of :data:`SESSION_COLUMNS` plus
    ``ev_id``, one EV visit per line, times as ISO timestamps; blank lines are skipped.

    Parameters
    ----------
    path
        CSV file.
    stations, horizon
        As in :func:`check_sessions`.

    Returns
    -------
    The session table (:func:`sessions_frame`).

    Raises
    ------
    SessionError
        Naming the file, and for a faulty row its line number (header = line 1) and ev_id:
        missing or unreadable file, unknown or missing columns, unreadable values, and every
        problem :func:`check_sessions` finds.
    """
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"session file not found: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise SessionError(f"{path}: session file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SessionError(f"{path}: not a readable CSV file: {exc}") from None
    lines = np.arange(2, len(raw) + 2)
    blank = raw.isna().all(axis=1).to_numpy()
    raw, lines = raw.loc[~blank], lines[~blank]
    frame, lines = _normalize(raw, str(path), lines)
    _check(frame, stations, horizon, str(path), lines)
    return frame
