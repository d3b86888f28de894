"""Reading profiles from CSV: coverage, NaN, bounds and resolution checked (file, column and
first bad time named); resampled only on request.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import ProfileError
from gridv2g.horizon import Horizon
from gridv2g.profiles.steps import _step_mean

#: kinds of profile read_profile checks: what values are allowed
KINDS = ("load", "availability", "price")
#: availability above 1 by less than this [per unit] is rounding, clipped to 1
AVAILABILITY_TOL = 1e-9


def read_profile(
    path,
    horizon: Horizon,
    columns: Sequence[str] | str | None = None,
    kind: str = "load",
    resample: bool = False,
) -> pd.DataFrame:
    """Read a profile CSV onto ``horizon``.

    The file has a ``time`` column (ISO timestamps, the start of each value's period, at one
    regular step) and one numeric column per element.

    Parameters
    ----------
    path
        CSV file.
    horizon
        The horizon the result is indexed on.
    columns
        Columns to return, in this order; default: every column but ``time``.
    kind
        ``"load"`` (finite values; negative allowed, e.g. net load), ``"availability"``
        (per unit of rating, within [0, 1]; up to 1e-9 above 1 is clipped to 1) or
        ``"price"`` (finite values, currency/kWh).
    resample
        If the file's step differs from the horizon's: False (default) is an error; True
        maps the file onto the horizon as the mean of its step function over each period,
        i.e. a coarser file is step-held (each value applies through its own period) and a
        finer file is averaged over each horizon period.

    Returns
    -------
    DataFrame indexed exactly on ``horizon.index`` (named ``time``), float columns.

    Raises
    ------
    ProfileError
        Naming the file, the column and the first bad time: missing or empty file, no
        ``time`` column, unknown column, unreadable, duplicate, unordered or irregular times,
        a resolution other than the horizon's without ``resample``, a file that does not
        cover the horizon, a value that is missing (NaN), not a number, infinite or (for
        availability) outside [0, 1].
    """
    path = Path(path)
    if kind not in KINDS:
        raise ProfileError(f"kind must be one of {', '.join(KINDS)}; got {kind!r} for {path}")
    raw = _read_csv(path)
    names = _pick_columns(raw, columns, path)
    times = _parse_times(raw["time"], path, horizon)
    step = _regular_step(times, path, horizon)

    hstep = horizon.step
    stop = times[-1] + step
    if not resample and step != hstep:
        missing = horizon.index.difference(times)
        first = f"; first horizon time without a row: {missing[0]}" if len(missing) else ""
        if step > hstep:
            what = "coarser"
            fix = f"hold each value over its own {_minutes(step)} period"
        else:
            what = "finer"
            fix = f"average it over each {_minutes(hstep)} period"
        raise ProfileError(
            f"{path}: resolution {_minutes(step)} (column 'time', columns "
            f"{', '.join(map(repr, names))}) is {what} than the horizon's {_minutes(hstep)}"
            f"{first}. Set `resample: true` to {fix}."
        )
    if resample:
        # the step function must cover [start, end)
        if times[0] > horizon.start:
            first_missing = horizon.start
        elif stop < horizon.end:
            first_missing = horizon.index[horizon.index + hstep > stop][0]
        else:
            first_missing = None
    else:
        missing = horizon.index.difference(times)
        first_missing = missing[0] if len(missing) else None
    if first_missing is not None:
        raise ProfileError(
            f"{path}: does not cover the horizon {horizon.start} to {horizon.end} "
            f"(columns {', '.join(map(repr, names))}): first missing time {first_missing}; "
            f"the file covers {times[0]} to {stop}"
        )

    # only the rows whose step overlaps the horizon are used, and checked
    used = (times < horizon.end) & (times + step > horizon.start)
    values = _numeric(raw.loc[used, names], times[used], path, kind)
    if resample:
        data = _step_mean(times[used], values.to_numpy(), times[used][-1] + step, horizon)
        out = pd.DataFrame(data, index=horizon.index, columns=names)
    else:
        out = values.reindex(horizon.index)
    out.index = horizon.index
    out.columns = pd.Index(names)
    if kind == "availability":
        out = out.clip(lower=0.0, upper=1.0)
    return out.astype(float)


def _minutes(td: pd.Timedelta) -> str:
    minutes = td / pd.Timedelta(minutes=1)
    return f"{minutes:g} min"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ProfileError(f"profile file not found: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ProfileError(f"{path}: profile file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not a readable CSV file: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if "time" not in raw.columns:
        raise ProfileError(
            f"{path}: no 'time' column; columns found: {', '.join(map(repr, raw.columns))}"
        )
    if raw.empty:
        raise ProfileError(f"{path}: profile file has no rows")
    return raw


def _pick_columns(raw: pd.DataFrame, columns, path: Path) -> list[str]:
    available = [c for c in raw.columns if c != "time"]
    if columns is None:
        names = available
    else:
        names = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in names if c not in available]
        if unknown:
            raise ProfileError(
                f"{path}: column {unknown[0]!r} not found; available: "
                f"{', '.join(map(repr, available)) or 'none'}"
            )
        names = list(dict.fromkeys(names))
    if not names:
        raise ProfileError(f"{path}: no data columns besides 'time'")
    return names


def _parse_times(raw: pd.Series, path: Path, horizon: Horizon) -> pd.DatetimeIndex:
    text = raw.str.strip()
    mixed = ProfileError(f"{path}: column 'time' mixes UTC offsets or time zones; use one")
    with warnings.catch_warnings():
        # pandas 2 warns (and will raise) on mixed UTC offsets; either way it is an error here
        warnings.simplefilter("error", FutureWarning)
        try:
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        except (ValueError, TypeError, FutureWarning):
            raise mixed from None
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        raise mixed
    bad = parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ProfileError(
            f"{path}: column 'time', data row {row + 1}: cannot read {raw.iloc[row]!r} as an "
            f"ISO timestamp"
        )
    times = pd.DatetimeIndex(parsed, name="time")
    tz = horizon.start.tz
    if (times.tz is None) != (tz is None):
        raise ProfileError(
            f"{path}: column 'time' is {'time-zone aware' if times.tz else 'naive'} but the "
            f"horizon start {horizon.start} is {'time-zone aware' if tz else 'naive'}"
        )
    if tz is not None:
        times = times.tz_convert(tz)
    return times


def _regular_step(times: pd.DatetimeIndex, path: Path, horizon: Horizon) -> pd.Timedelta:
    """The file's time step; errors on duplicate, decreasing or irregular times."""
    dup = times.duplicated()
    if dup.any():
        t = times[dup][0]
        rows = np.flatnonzero(times == t)[:2] + 1
        raise ProfileError(
            f"{path}: column 'time': duplicate time {t} (data rows {rows[0]} and {rows[1]})"
        )
    if len(times) == 1:  # one row: taken at the horizon's resolution
        return horizon.step
    diffs = times[1:] - times[:-1]
    back = diffs <= pd.Timedelta(0)
    if back.any():
        i = int(np.flatnonzero(back)[0]) + 1
        raise ProfileError(
            f"{path}: column 'time' is not in increasing order: {times[i]} (data row {i + 1}) "
            f"comes after {times[i - 1]}"
        )
    step = pd.Series(diffs).mode().iloc[0]
    odd = diffs != step
    if odd.any():
        i = int(np.flatnonzero(odd)[0]) + 1
        raise ProfileError(
            f"{path}: column 'time' has an irregular time step: first irregular time "
            f"{times[i]} is {_minutes(diffs[i - 1])} after {times[i - 1]}, the file's step is "
            f"{_minutes(step)}"
        )
    return step


def _numeric(raw: pd.DataFrame, times: pd.DatetimeIndex, path: Path, kind: str) -> pd.DataFrame:
    """The used rows as floats, indexed on their times; errors name column and first bad time."""
    out = {}
    for col in raw.columns:  # a loop over columns (elements), not periods
        text = raw[col]
        value = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=float)
        missing = text.isna().to_numpy()
        problems = [
            (~missing & np.isnan(value), "is not a number"),
            (missing, "is missing (NaN)"),
            (np.isinf(value), "is infinite"),
        ]
        if kind == "availability":
            problems.append(
                (
                    (value < 0) | (value > 1 + AVAILABILITY_TOL),
                    "is outside [0, 1] per unit of rating (availability)",
                )
            )
        bad = np.zeros(len(value), dtype=bool)
        for mask, _ in problems:
            bad |= mask
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            why = next(msg for mask, msg in problems if mask[i])
            raise ProfileError(
                f"{path}: column {col!r} {why} at {times[i]}: {text.iloc[i]!r} "
                f"({int(bad.sum())} bad value(s) in this column within the horizon)"
            )
        out[col] = value
    return pd.DataFrame(out, index=times)
