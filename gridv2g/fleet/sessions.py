"""The session table (one row per EV visit; columns in :data:`SESSION_COLUMNS`) and its
plug-in windows on a horizon. See :mod:`gridv2g.fleet` for the format.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridv2g.errors import SessionError
from gridv2g.horizon import Horizon


class _Required:
    """Marks a column without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: default of a column that must be given
REQUIRED = _Required()


@dataclass(frozen=True)
class SameAs:
    """Default of an optional column: the value of ``column`` in the same row."""

    column: str


#: name of the index of the session table
INDEX = "ev_id"

#: session columns: name -> (dtype, default or REQUIRED); the index ``ev_id`` (str) comes on top
SESSION_COLUMNS: dict[str, tuple[str, object]] = {
    "station": ("str", REQUIRED),
    "arrival": ("datetime64[ns]", REQUIRED),
    "departure": ("datetime64[ns]", REQUIRED),
    "e_arrival_kwh": ("float64", REQUIRED),
    "e_target_kwh": ("float64", REQUIRED),
    "capacity_kwh": ("float64", REQUIRED),
    "p_charge_max_kw": ("float64", REQUIRED),
    "p_discharge_max_kw": ("float64", REQUIRED),
    "eta_charge": ("float64", REQUIRED),
    "eta_discharge": ("float64", REQUIRED),
    "v2g": ("bool", REQUIRED),
    "charger": ("str", ""),
    "e_min_kwh": ("float64", 0.0),
    "e_max_kwh": ("float64", SameAs("capacity_kwh")),
    "ev_type": ("str", ""),
    "mode": ("str", ""),
}

#: error messages list at most this many EVs per kind of problem, then "... (N in all)"
MAX_LISTED = 20
#: a target is unreachable when it misses by more than this [kWh] (float rounding)
ENERGY_TOL_KWH = 1e-9

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _fmt(x: float) -> str:
    """A number as in the messages: up to 3 decimals, at least one (60.0, 0.95, 31.35)."""
    text = f"{float(x):.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _time(ts) -> str:
    return str(pd.Timestamp(ts))


class _Problems:
    """Collects problems by kind; raises one SessionError listing them all."""

    def __init__(self, source: str, ids: Sequence[str] | None, lines: np.ndarray | None):
        self.source = source
        self.ids = ids
        self.lines = lines
        self.groups: list[tuple[str, int, list[str]]] = []

    def label(self, i: int) -> str:
        """``EV ev07`` (``EV ev07 (line 9)`` for a file) for row ``i``."""
        where = f" (line {self.lines[i]})" if self.lines is not None else ""
        if self.ids is None or not self.ids[i]:
            return f"row {i}" + where if self.lines is None else f"row at line {self.lines[i]}"
        return f"EV {self.ids[i]}{where}"

    def add(self, what: str, mask, describe: Callable[[int], str]) -> None:
        """Rows where ``mask`` holds have problem ``what``; ``describe(i)`` gives their numbers."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(rows):
            lines = [f"{self.label(i)}: {describe(int(i))}" for i in rows[:MAX_LISTED]]
            self.groups.append((what, len(rows), lines))

    def add_lines(self, what: str, count: int, lines: list[str]) -> None:
        if count:
            self.groups.append((what, count, lines[:MAX_LISTED]))

    def raise_if_any(self, headline: str) -> None:
        if not self.groups:
            return
        total = sum(count for _, count, _ in self.groups)
        parts = [f"{self.source}: {headline} ({total} problem{'s' * (total > 1)}):"]
        for what, count, lines in self.groups:
            parts.append(f"- {what} ({count} EV{'s' * (count > 1)}):")
            parts += [f"    {line}" for line in lines]
            if count > MAX_LISTED:
                parts.append(f"    ... ({count} in all)")
        raise SessionError("\n".join(parts))


def _valid_columns() -> str:
    required = [INDEX] + [c for c, (_, d) in SESSION_COLUMNS.items() if d is REQUIRED]
    optional = [
        f"{c} (default {d.column if isinstance(d, SameAs) else repr(d)})"
        for c, (_, d) in SESSION_COLUMNS.items()
        if d is not REQUIRED
    ]
    return f"required: {', '.join(required)}; optional: {', '.join(optional)}"


def _as_frame(data, source: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        raw = data.copy()
    elif isinstance(data, Mapping):
        raw = pd.DataFrame(dict(data))
    else:
        try:
            raw = pd.DataFrame.from_records(list(data))
        except (TypeError, ValueError) as exc:
            raise SessionError(f"{source}: not a table of EV sessions: {exc}") from None
    if INDEX not in raw.columns and raw.index.name == INDEX:
        raw = raw.reset_index()
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def _empty_frame() -> pd.DataFrame:
    cols = {}
    for name, (dtype, _) in SESSION_COLUMNS.items():
        cols[name] = pd.Series([], dtype=object if dtype == "str" else dtype)
    return pd.DataFrame(cols, index=pd.Index([], dtype=object, name=INDEX))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _zone(ts: pd.Timestamp) -> str:
    """UTC offset of an aware time as text: ``+01:00``, ``-05:30``."""
    minutes = round(ts.utcoffset().total_seconds() / 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"


def _read_time(value) -> pd.Timestamp | None:
    """One time (ISO text or a timestamp); None if it is missing or unreadable."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
    else:
        try:
            ts = pd.to_datetime(_strip(value), format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            return None
    return None if ts is pd.NaT else ts


def _parse_iso(col: pd.Series, utc: bool = False) -> pd.Series | None:
    """``col`` as datetimes (unreadable: NaT); None if pandas refuses it for mixed zones."""
    if pd.api.types.is_datetime64_any_dtype(col) and not utc:
        return col
    with warnings.catch_warnings():
        # pandas 2 warns (and will raise) on mixed UTC offsets: the caller sorts them out
        warnings.simplefilter("error", FutureWarning)
        try:
            out = pd.to_datetime(col.map(_strip), format="ISO8601", errors="coerce", utc=utc)
        except (ValueError, TypeError, FutureWarning):
            return None
    return out if pd.api.types.is_datetime64_any_dtype(out) else None


def _one_time_zone(raw: pd.DataFrame, names: Sequence[str], problems: _Problems) -> dict:
    """The time columns ``names`` when they do not share one time zone: in UTC if all aware;
    naive and aware mixed is a problem naming each time of the less common convention (ties:
    the aware ones). Classifies every distinct value: only files that mix get here."""
    cells = {}
    for name in names:
        distinct = {v: _read_time(v) for v in pd.unique(raw[name].dropna())}
        cells[name] = raw[name].map(distinct)

    # a missing cell maps to NaN (a float), an unreadable one to None: neither has a zone
    def stamped(t) -> bool:
        return isinstance(t, pd.Timestamp) and not pd.isna(t)

    aware = {
        n: c.map(lambda t: stamped(t) and t.tz is not None).to_numpy(bool) for n, c in cells.items()
    }
    naive = {
        n: c.map(lambda t: stamped(t) and t.tz is None).to_numpy(bool) for n, c in cells.items()
    }
    n_aware = sum(int(mask.sum()) for mask in aware.values())
    n_naive = sum(int(mask.sum()) for mask in naive.values())
    if n_aware and n_naive:
        # name the times of the less common convention, one line per EV
        odd = aware if n_aware <= n_naive else naive
        offsets = sorted({_zone(t) for n in names for t in cells[n][aware[n]]})

        def describe(i: int) -> str:
            given = [n for n in names if odd[n][i]]
            text = " and ".join(f"{n} '{_strip(raw[n].iloc[i])}'" for n in given)
            verb = "has" if len(given) == 1 else "have"
            if odd is aware:
                zone = ", ".join(sorted({_zone(cells[n].iloc[i]) for n in given}))
                return (
                    f"{text} {verb} time zone {zone}, the other times have none; use one convention"
                )
            return (
                f"{text} {verb} no time zone, the other times have {', '.join(offsets)}; "
                f"use one convention"
            )

        what = (
            "time zone given where the other times have none"
            if odd is aware
            else "no time zone where the other times have one"
        )
        problems.add(what, np.logical_or.reduce([odd[n] for n in names]), describe)
    return {name: _parse_iso(raw[name], utc=True) for name in names}


def _parse_time_columns(raw: pd.DataFrame, names: Sequence[str], problems: _Problems) -> dict:
    """The time columns ``names`` of ``raw`` parsed onto one time-zone convention.

    All naive, or all aware: aware times in one time zone keep it; with several UTC offsets
    (a file spanning a daylight-saving change) they are converted to UTC, instants kept
    (:func:`plug_windows` compares instants). Naive and aware times mixed, within a column
    or across columns, is a problem naming each offending EV and time.
    """
    parsed = {name: _parse_iso(raw[name]) for name in names}
    zones = {str(p.dt.tz) for p in parsed.values() if p is not None and p.notna().any()}
    if any(p is None for p in parsed.values()) or len(zones) > 1:
        parsed = _one_time_zone(raw, names, problems)
    for name in names:
        col = raw[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            continue
        missing = col.isna().to_numpy()
        problems.add(f"{name} missing", missing, lambda i, n=name: f"no {n} time")
        problems.add(
            f"{name} is not an ISO timestamp",
            parsed[name].isna().to_numpy() & ~missing,
            lambda i, c=col: f"cannot read {c.iloc[i]!r} as an ISO timestamp",
        )
    return {name: times.dt.as_unit("ns") for name, times in parsed.items()}


def _parse_floats(col: pd.Series, name: str, problems: _Problems, required: bool) -> np.ndarray:
    values = pd.to_numeric(col.map(_strip), errors="coerce").to_numpy(dtype=float)
    missing = col.isna().to_numpy() | (col.map(_strip) == "").to_numpy()
    if required:
        problems.add(f"{name} missing", missing, lambda i: f"no value for {name}")
    problems.add(
        f"{name} is not a number",
        np.isnan(values) & ~missing,
        lambda i: f"cannot read {col.iloc[i]!r} as a number",
    )
    problems.add(f"{name} is infinite", np.isinf(values), lambda i: f"{name} = {values[i]}")
    return values


def _parse_bools(col: pd.Series, name: str, problems: _Problems) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=bool)
    missing = col.isna().to_numpy()
    text = col.map(lambda v: str(v).strip().lower()).to_numpy(dtype=str)
    true = np.isin(text, list(_TRUE))
    false = np.isin(text, list(_FALSE))
    problems.add(f"{name} missing", missing, lambda i: f"no value for {name}")
    problems.add(
        f"{name} is not true/false",
        ~(true | false | missing),
        lambda i: f"cannot read {col.iloc[i]!r} as true/false (true, false, yes, no, 1, 0)",
    )
    return true


def _normalize(
    data, source: str, lines: np.ndarray | None = None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The session table of ``data`` and the file lines of its rows (sorted alike)."""
    raw = _as_frame(data, source)
    unknown = [c for c in raw.columns if c != INDEX and c not in SESSION_COLUMNS]
    if unknown:
        raise SessionError(
            f"{source}: unknown column{'s' * (len(unknown) > 1)} "
            f"{', '.join(map(repr, unknown))}; valid columns: {_valid_columns()}"
        )
    twice = sorted(set(raw.columns[raw.columns.duplicated()]))
    if twice:
        raise SessionError(f"{source}: column(s) given twice: {', '.join(map(repr, twice))}")
    if raw.empty and len(raw.columns) == 0:
        return _empty_frame(), lines
    required = [INDEX] + [c for c, (_, d) in SESSION_COLUMNS.items() if d is REQUIRED]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise SessionError(
            f"{source}: missing column{'s' * (len(missing) > 1)} "
            f"{', '.join(map(repr, missing))}; valid columns: {_valid_columns()}"
        )
    raw = raw.reset_index(drop=True)
    n = len(raw)
    id_missing = raw[INDEX].isna().to_numpy()
    ids = raw[INDEX].map(lambda v: "" if pd.isna(v) else str(v).strip()).to_numpy(dtype=object)
    problems = _Problems(source, list(ids), lines)
    problems.add("ev_id missing", id_missing | (ids == ""), lambda i: "no ev_id")

    # the time columns together: one time-zone convention across both
    times = [c for c, (dtype, _) in SESSION_COLUMNS.items() if dtype.startswith("datetime")]
    cols: dict[str, object] = _parse_time_columns(raw, times, problems)
    for name, (dtype, default) in SESSION_COLUMNS.items():  # loop over columns, not EVs
        col = raw[name] if name in raw.columns else None
        if dtype == "str":
            if col is None:
                cols[name] = np.full(n, default, dtype=object)
                continue
            text = col.map(lambda v: "" if pd.isna(v) else str(v).strip()).to_numpy(object)
            if default is REQUIRED:
                problems.add(f"{name} missing", text == "", lambda i, c=name: f"no {c}")
            else:
                text[text == ""] = default
            cols[name] = text
        elif dtype.startswith("datetime"):
            continue
        elif dtype == "bool":
            cols[name] = _parse_bools(col, name, problems)
        elif col is None:
            cols[name] = np.full(n, np.nan if isinstance(default, SameAs) else default)
        else:
            values = _parse_floats(col, name, problems, default is REQUIRED)
            if not isinstance(default, SameAs) and default is not REQUIRED:
                values = np.where(np.isnan(values), default, values)
            cols[name] = values
    for name, (_, default) in SESSION_COLUMNS.items():
        if isinstance(default, SameAs):
            values = cols[name]
            cols[name] = np.where(np.isnan(values), cols[default.column], values)
    problems.raise_if_any("cannot read the EV sessions")

    frame = pd.DataFrame(
        {k: (v.array if isinstance(v, pd.Series) else v) for k, v in cols.items()},
        columns=list(SESSION_COLUMNS),
        index=pd.Index(ids, dtype=object, name=INDEX),
    )
    order = np.lexsort((ids.astype(str), pd.DatetimeIndex(frame["arrival"]).asi8))
    frame = frame.iloc[order]
    return frame, (None if lines is None else np.asarray(lines)[order])


def sessions_frame(data, source: str = "sessions") -> pd.DataFrame:
    """Normalise a session table: columns, dtypes, defaults, index, order. No physics checks.

    Parameters
    ----------
    data
        A DataFrame (``ev_id`` as a column or as the index), a list of records (dicts) or a
        dict of columns, with the columns of :data:`SESSION_COLUMNS`; optional columns may
        be absent or hold missing values (filled with their defaults: ``charger``,
        ``ev_type``, ``mode`` "", ``e_min_kwh`` 0, ``e_max_kwh`` the row's ``capacity_kwh``).
        Times may be ISO strings or timestamps; ``v2g`` booleans or true/false, yes/no, 1/0.
    source
        How errors name the data.

    Returns
    -------
    DataFrame indexed by ``ev_id`` (str), the columns of :data:`SESSION_COLUMNS` in that order
    (times as datetime64[ns], energies, powers and efficiencies as float, ``v2g`` bool,
    labels str), rows sorted by arrival then ev_id.

    Raises
    ------
    SessionError
        Unknown or missing columns (the message lists the valid ones); values that are
        missing, unreadable or infinite (each EV named); naive and time-zone aware times
        mixed (each EV and time of the less common convention named).
    """
    return _normalize(data, source)[0]


# --------------------------------------------------------------------------------------------
# Plug-in windows on a horizon
# --------------------------------------------------------------------------------------------


def _on_horizon_zone(
    sessions: pd.DataFrame, horizon: Horizon, source: str, lines: np.ndarray | None = None
) -> pd.DataFrame:
    """``sessions`` with its times in the horizon's time zone (instants unchanged), as
    profiles are; naive times with an aware horizon start, or the reverse, is an error naming
    ``source`` and the first EV (every EV shares the convention)."""
    zone = horizon.start.tz
    times = ["arrival", "departure"]
    if len(sessions) == 0:
        return sessions
    if (sessions["arrival"].dt.tz is None) == (zone is None):
        if zone is None:
            return sessions
        return sessions.assign(**{c: sessions[c].dt.tz_convert(zone) for c in times})
    first = int(np.argmin(lines)) if lines is not None else 0
    where = f"line {lines[first]}, " if lines is not None else ""
    aware = sessions["arrival"].dt.tz is not None
    raise SessionError(
        f"{source}: the session times are {'time-zone aware' if aware else 'naive'} (e.g. "
        f"{where}EV {sessions.index[first]}: arrival {_time(sessions['arrival'].iloc[first])}) "
        f"but the horizon start {horizon.start} is {'naive' if aware else 'time-zone aware'}; "
        + (
            "give the times as local time without a time zone, as the horizon"
            if aware
            else "give the times with a time zone, as the horizon"
        )
    )


def _offsets_ns(times, horizon: Horizon, what: str) -> np.ndarray:
    """Nanoseconds from the horizon start to each time."""
    index = pd.DatetimeIndex(times)
    start = horizon.start
    if (index.tz is None) != (start.tz is None):
        raise SessionError(
            f"session {what} times are {'time-zone aware' if index.tz else 'naive'} but the "
            f"horizon start {start} is {'time-zone aware' if start.tz else 'naive'}"
        )
    return index.as_unit("ns").asi8 - start.value


def plug_windows(sessions: pd.DataFrame, horizon: Horizon) -> tuple[np.ndarray, np.ndarray]:
    """First plugged-in period ``a`` and departure boundary ``d`` of each EV on ``horizon``.

    With t0 the horizon start, Delta the period length and T the number of periods::

        a = clip(ceil((arrival - t0) / Delta), 0, T)
        d = clip(floor((departure - t0) / Delta), 0, T),   then d = max(d, a)

    The EV is plugged in periods ``a <= t < d`` (only whole periods count: a period it
    arrives or leaves within is not used), and its energy at departure is the energy at
    period boundary ``d`` (0..T). Sessions entirely outside the horizon, or within a single
    period, get ``a == d`` (no period). Integer arithmetic on nanoseconds: exact.

    Returns
    -------
    (a, d)
        int arrays, one entry per EV in table order.
    """
    arrival = _offsets_ns(sessions["arrival"], horizon, "arrival")
    departure = _offsets_ns(sessions["departure"], horizon, "departure")
    period = np.int64(horizon.minutes) * 60 * 10**9
    a = np.clip(-(-arrival // period), 0, horizon.periods)
    d = np.clip(departure // period, 0, horizon.periods)
    return a.astype(int), np.maximum(d, a).astype(int)


def plug_mask(sessions: pd.DataFrame, horizon: Horizon) -> np.ndarray:
    """Boolean (n_ev x T) mask: EV n is plugged in during period t (``a_n <= t < d_n``).

    See :func:`plug_windows`; built by broadcasting, no loop over EVs.
    """
    a, d = plug_windows(sessions, horizon)
    t = np.arange(horizon.periods)
    return (t >= a[:, None]) & (t < d[:, None])
