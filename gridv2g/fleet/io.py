"""Reading a session CSV (DESIGN.md format): normalised, checked, file and line named."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import SessionError
from gridv2g.fleet.checks import _check
from gridv2g.fleet.sessions import INDEX, MAX_LISTED, _normalize, _on_horizon_zone
from gridv2g.horizon import Horizon

#: field texts read as a missing value: pandas.read_csv's defaults, which this reader used
#: before it read the file itself, so that files read as they did
MISSING = frozenset(
    {
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
        "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    }
)  # fmt: skip


def read_sessions(
    path, stations: Iterable[str] | None = None, horizon: Horizon | None = None
) -> pd.DataFrame:
    """Read a session CSV (DESIGN.md format), normalise it and check it.

    The file has a header line naming the columns of :data:`SESSION_COLUMNS` plus ``ev_id``
    (each once), one EV visit per record, times as ISO timestamps; blank lines are skipped.
    A quoted field may span lines: a record's line is the physical line it starts on.

    Times are either all naive or all time-zone aware. Aware times may carry different UTC
    offsets (a file spanning a daylight-saving change): they are read as instants and shown
    in UTC, or in the horizon's time zone when a (time-zone aware) ``horizon`` is given.

    Parameters
    ----------
    path
        CSV file (UTF-8).
    stations, horizon
        As in :func:`check_sessions`.

    Returns
    -------
    The session table (:func:`sessions_frame`).

    Raises
    ------
    SessionError
        Naming the file, and for a faulty record its line number (header = line 1) and
        ev_id: missing or unreadable file, a column named twice in the header, unknown or
        missing columns, a record with more fields than the header, unreadable values,
        naive and aware times mixed, times whose time-zone convention differs from the
        horizon's, and every problem :func:`check_sessions` finds.
    """
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"session file not found: {path}")
    raw, lines = _read_records(path)
    frame, lines = _normalize(raw, str(path), lines)
    if horizon is not None:
        frame = _on_horizon_zone(frame, horizon, str(path), lines)
    _check(frame, stations, horizon, str(path), lines)
    return frame


def _read_records(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The records of ``path`` as a frame of str (missing values NaN, blank records dropped)
    and the physical line each record starts on (1-based).

    Read with the csv module rather than pandas: pandas renames a repeated header name
    (``arrival.1``) and numbers records, not lines, so a quoted field spanning lines would
    shift every line number after it.
    """
    data = path.read_bytes()
    try:
        # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first name
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SessionError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the "
            f"file as UTF-8"
        ) from None
    # strict: an unclosed quote is an error, not a field swallowing the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    starts: list[int] = []
    records: list[list[str]] = []
    end = 0  # last line read so far: the next record starts on the line after it
    try:
        for record in reader:
            starts.append(end + 1)
            records.append(record)
            end = reader.line_num
    except csv.Error as exc:
        hint = " (a quote that is not closed?)" if "end of data" in str(exc) else ""
        raise SessionError(
            f"{path}: not a readable CSV file: record starting at line {end + 1}: {exc}{hint}"
        ) from None
    # blank lines (and records of empty fields only) are skipped, but they keep their lines
    # (skipinitialspace leaves spaces as ""; the strip is for tabs and the like)
    filled = [k for k, r in enumerate(records) if any(r) and any(f.strip() for f in r)]
    if not filled:
        raise SessionError(f"{path}: session file is empty")
    head, body = filled[0], filled[1:]
    header = [name.strip() for name in records[head]]
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
    twice = [(name, count) for name, count in seen.items() if count > 1]
    if twice:
        times = {2: "twice", 3: "three times"}
        raise SessionError(
            f"{path}: line {starts[head]}: "
            + "; ".join(
                f"column {name!r} appears {times.get(count, f'{count} times')}"
                for name, count in twice
            )
        )
    width = len(header)
    id_col = header.index(INDEX) if INDEX in header else None

    def where(k: int) -> str:
        """``line 5`` or ``line 5 (EV ev07)`` for record ``k``."""
        ev = records[k][id_col].strip() if id_col is not None and id_col < len(records[k]) else ""
        return f"line {starts[k]}" + (f" (EV {ev})" if ev else "")

    too_long = [
        k for k in body if len(records[k]) > width and any(f.strip() for f in records[k][width:])
    ]
    if too_long:
        shown = [f"{where(k)}: {len(records[k])} fields" for k in too_long[:MAX_LISTED]]
        if len(too_long) > MAX_LISTED:
            shown.append(f"... ({len(too_long)} in all)")
        raise SessionError(
            f"{path}: more fields than the header's {width} columns (quote a field that "
            f"contains a comma):\n    " + "\n    ".join(shown)
        )
    # short records are padded with missing values, as pandas does; empty extra fields
    # (a trailing comma) are dropped
    rows = [
        r if len(r) == width else (r + [""] * width)[:width] for r in (records[k] for k in body)
    ]
    text = pd.DataFrame(rows, columns=header, dtype=object)
    # (skipinitialspace has stripped leading blanks, as pandas did before matching)
    raw = text.mask(text.isin(MISSING))
    lines = np.asarray([starts[k] for k in body], dtype=int)
    # a record of missing values only (",,,", "NA,NA,...") is a blank line too
    blank = raw.isna().all(axis=1).to_numpy()
    return raw.loc[~blank].reset_index(drop=True), lines[~blank]
