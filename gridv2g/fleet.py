"""EV sessions: the session table, its checks, plug-in windows on a horizon, and samplers.

The session table (DESIGN.md exchange format) has one row per EV visit (a "session"), is
indexed by ``ev_id`` (str) and has the columns of :data:`SESSION_COLUMNS`:

============================  ==========  ===================================================
column                        unit        meaning
============================  ==========  ===================================================
``station``                   -           station the EV plugs in at
``arrival``, ``departure``    time        plug-in and plug-out times (pd.Timestamp)
``e_arrival_kwh``             kWh         battery energy at arrival
``e_target_kwh``              kWh         energy the driver asks for at departure
``capacity_kwh``              kWh         battery capacity
``p_charge_max_kw``           kW          charge limit (grid side) of EV and charger
``p_discharge_max_kw``        kW          discharge limit (grid side)
``eta_charge``                -           charging efficiency in (0, 1]: battery gains eta*P
``eta_discharge``             -           discharging efficiency in (0, 1]: battery loses P/eta
``v2g``                       -           the driver allows discharging
``charger`` (optional)        -           charger whose limit ports share; "" = own charger
``e_min_kwh`` (optional)      kWh         lower energy limit while plugged in; default 0
``e_max_kwh`` (optional)      kWh         upper energy limit while plugged in; default capacity
``ev_type`` (optional)        -           free label (e.g. Gao 2019 type "I"); default ""
``mode`` (optional)           -           free label (e.g. a V2A mode of Mao 2018); default ""
============================  ==========  ===================================================

:func:`sessions_frame` normalises any table or list of records to this form (dtypes, defaults,
rows sorted by arrival then ev_id) without judging the physics; :func:`check_sessions` judges
it and names every offending EV with its numbers; :func:`read_sessions` does both for a CSV
file and names the file and the line of each faulty row.

On a :class:`~gridv2g.profiles.Horizon` an EV is plugged in during the WHOLE periods between its
arrival and its departure (:func:`plug_windows`, :func:`plug_mask`): arrival rounded up, departure
rounded down to period boundaries.

Samplers (each seeded, reproducible, returning a checked session table):

- :func:`sample_truncated_gaussian`: Mao, Zhang & Zhou 2018 (seed 002), Table 1.
- :func:`sample_parking_lot`: Gao, Wu & Xu 2019 (seed 004), appendix A (M/M/Z/Z parking lot),
  eq. 51-52 (daily distance -> arrival energy), Table 1 (EV types).
- :func:`sample_reservations`: Cao et al. 2024 (seed 003), reservation requests.
- :func:`seed001_lot`: the illustrative 20-EV overnight lot of seed 001.
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaln, ndtr, ndtri

from gridv2g.errors import SessionError
from gridv2g.profiles import Horizon

# --------------------------------------------------------------------------------------------
# The session table
# --------------------------------------------------------------------------------------------


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


def _parse_times(col: pd.Series, name: str, problems: _Problems) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = col
    else:
        with warnings.catch_warnings():
            # pandas 2 warns (and will raise) on mixed UTC offsets; either way it is an error
            warnings.simplefilter("error", FutureWarning)
            try:
                parsed = pd.to_datetime(col.map(_strip), format="ISO8601", errors="coerce")
            except (ValueError, TypeError, FutureWarning):
                parsed = None
        if parsed is None or not pd.api.types.is_datetime64_any_dtype(parsed):
            raise SessionError(
                f"{problems.source}: column {name!r} mixes UTC offsets or time zones; use one"
            )
        missing = col.isna().to_numpy()
        problems.add(f"{name} missing", missing, lambda i: f"no {name} time")
        problems.add(
            f"{name} is not an ISO timestamp",
            parsed.isna().to_numpy() & ~missing,
            lambda i: f"cannot read {col.iloc[i]!r} as an ISO timestamp",
        )
    return parsed.dt.as_unit("ns")


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

    cols: dict[str, object] = {}
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
            cols[name] = _parse_times(col, name, problems)
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

    arrival, departure = cols["arrival"], cols["departure"]
    if (arrival.dt.tz is None) != (departure.dt.tz is None):
        raise SessionError(
            f"{source}: arrival times are {'time-zone aware' if arrival.dt.tz else 'naive'} "
            f"but departure times are {'time-zone aware' if departure.dt.tz else 'naive'}; "
            f"use one convention"
        )
    if arrival.dt.tz is not None:
        cols["departure"] = departure.dt.tz_convert(arrival.dt.tz)
    frame = pd.DataFrame(
        {k: (v.array if isinstance(v, pd.Series) else v) for k, v in cols.items()},
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
        missing, unreadable or infinite (each EV named); mixed time zones.
    """
    return _normalize(data, source)[0]


# --------------------------------------------------------------------------------------------
# Plug-in windows on a horizon
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def check_sessions(
    sessions: pd.DataFrame,
    stations: Iterable[str] | None = None,
    horizon: Horizon | None = None,
    source: str = "sessions",
) -> None:
    """Check that every EV session is consistent and physically possible.

    Checks, each naming EVERY offending EV (up to :data:`MAX_LISTED` per kind, then
    "... (N in all)") with its numbers:

    - duplicate ``ev_id``;
    - departure not after arrival;
    - ``capacity_kwh`` not positive; ``p_charge_max_kw`` or ``p_discharge_max_kw`` negative;
      ``eta_charge`` or ``eta_discharge`` not in (0, 1];
    - ``e_arrival_kwh`` or ``e_target_kwh`` outside [0, capacity]; not
      0 <= ``e_min_kwh`` <= ``e_max_kwh`` <= ``capacity_kwh``; ``e_target_kwh`` above
      ``e_max_kwh`` (the EV may not be charged that far);
    - ``e_target_kwh`` below ``e_arrival_kwh`` with ``v2g`` off: an inconsistent request
      (nothing to charge, and discharging is not allowed);
    - a station not in ``stations`` (if given);
    - an unreachable target: with needed = e_target - e_arrival,

          needed > eta_charge * p_charge_max_kw * window_hours  [kWh]

      where window_hours is the plugged-in time (departure - arrival) [h], or with a
      ``horizon`` the number of WHOLE periods the EV is plugged in (:func:`plug_windows`)
      times ``horizon.hours``. (Rows with one of the problems above are not judged here.)

    Parameters
    ----------
    sessions
        A session table (normalised first with :func:`sessions_frame`).
    stations
        Names of the known stations; None: not checked.
    horizon
        The horizon the sessions are scheduled on; None: continuous plug-in windows.
    source
        How the message names the data (a file name, a sampler).

    Raises
    ------
    SessionError
        Listing every problem found.
    """
    frame, lines = _normalize(sessions, source)
    _check(frame, stations, horizon, source, lines)


def _check(
    s: pd.DataFrame,
    stations: Iterable[str] | None,
    horizon: Horizon | None,
    source: str,
    lines: np.ndarray | None,
) -> None:
    ids = list(s.index)
    p = _Problems(source, ids, lines)
    col = {c: s[c].to_numpy(dtype=float) for c, (t, _) in SESSION_COLUMNS.items() if t == "float64"}
    cap, ea, et = col["capacity_kwh"], col["e_arrival_kwh"], col["e_target_kwh"]
    emin, emax = col["e_min_kwh"], col["e_max_kwh"]
    pc, pd_, etac, etad = (
        col["p_charge_max_kw"],
        col["p_discharge_max_kw"],
        col["eta_charge"],
        col["eta_discharge"],
    )
    v2g = s["v2g"].to_numpy(dtype=bool)
    arrival, departure = s["arrival"], s["departure"]

    # duplicate ev_id: one line per id
    dup = s.index.duplicated(keep=False)
    if dup.any():
        positions: dict[str, list[int]] = {}
        for i in np.flatnonzero(dup):
            positions.setdefault(ids[i], []).append(int(i))
        described = []
        for ev, rows in positions.items():
            where = (
                f"lines {', '.join(str(lines[i]) for i in sorted(rows, key=lambda r: lines[r]))}"
                if lines is not None
                else f"arrivals {', '.join(_time(arrival.iloc[i]) for i in rows)}"
            )
            described.append(f"EV {ev}: appears {len(rows)} times ({where})")
        p.add_lines("duplicate ev_id", len(positions), described)

    hours = ((departure - arrival) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    bad_time = ~(hours > 0)
    p.add(
        "departure not after arrival",
        bad_time,
        lambda i: (
            f"departure {_time(departure.iloc[i])} is not after arrival {_time(arrival.iloc[i])}"
        ),
    )
    bad_cap = ~(cap > 0)
    p.add("capacity not positive", bad_cap, lambda i: f"capacity_kwh {_fmt(cap[i])} <= 0")
    bad_power = (pc < 0) | (pd_ < 0)
    p.add(
        "negative power limit",
        bad_power,
        lambda i: f"p_charge_max_kw {_fmt(pc[i])}, p_discharge_max_kw {_fmt(pd_[i])}: must be >= 0",
    )
    bad_eta = ~((etac > 0) & (etac <= 1) & (etad > 0) & (etad <= 1))
    p.add(
        "efficiency not in (0, 1]",
        bad_eta,
        lambda i: f"eta_charge {_fmt(etac[i])}, eta_discharge {_fmt(etad[i])}: must be in (0, 1]",
    )
    ok_cap = ~bad_cap
    bad_ea = ok_cap & ((ea < 0) | (ea > cap))
    p.add(
        "arrival energy outside [0, capacity]",
        bad_ea,
        lambda i: f"e_arrival_kwh {_fmt(ea[i])} outside [0, {_fmt(cap[i])}] (capacity_kwh)",
    )
    bad_et = ok_cap & ((et < 0) | (et > cap))
    p.add(
        "target energy outside [0, capacity]",
        bad_et,
        lambda i: f"e_target_kwh {_fmt(et[i])} outside [0, {_fmt(cap[i])}] (capacity_kwh)",
    )
    bad_limits = ok_cap & ~((emin >= 0) & (emin <= emax) & (emax <= cap))
    p.add(
        "energy limits not 0 <= e_min <= e_max <= capacity",
        bad_limits,
        lambda i: (
            f"need 0 <= e_min_kwh <= e_max_kwh <= capacity_kwh; got e_min_kwh "
            f"{_fmt(emin[i])}, e_max_kwh {_fmt(emax[i])}, capacity_kwh {_fmt(cap[i])}"
        ),
    )
    above_max = ok_cap & ~bad_et & ~bad_limits & (et > emax)
    p.add(
        "target above the upper energy limit",
        above_max,
        lambda i: f"e_target_kwh {_fmt(et[i])} > e_max_kwh {_fmt(emax[i])}",
    )
    bad_request = ~v2g & (et < ea)
    p.add(
        "target below arrival energy with v2g off",
        bad_request,
        lambda i: (
            f"e_target_kwh {_fmt(et[i])} < e_arrival_kwh {_fmt(ea[i])} with v2g off: "
            f"nothing to charge and discharging not allowed"
        ),
    )
    if stations is not None:
        known = set(stations) if not isinstance(stations, str) else {stations}
        station = s["station"].to_numpy(dtype=object)
        p.add(
            "unknown station",
            ~np.isin(station, list(known)),
            lambda i: (
                f"station {station[i]!r} is not one of "
                f"{', '.join(map(repr, sorted(known))) or 'none'}"
            ),
        )

    judged = ~(bad_time | bad_cap | bad_power | bad_eta | bad_ea | bad_et | bad_limits)
    judged &= ~(above_max | bad_request)
    needed = et - ea
    if horizon is None:
        window = np.where(bad_time, 0.0, hours)
    else:
        a, d = plug_windows(s, horizon)
        window = (d - a) * horizon.hours
    deliverable = etac * pc * window
    unreachable = judged & (needed - deliverable > ENERGY_TOL_KWH * np.maximum(1.0, needed))

    def describe(i: int) -> str:
        text = (
            f"target {_fmt(et[i])} kWh unreachable: needs {_fmt(needed[i])} kWh, charger "
            f"delivers at most {_fmt(deliverable[i])} kWh in {_fmt(window[i])} h "
            f"({_fmt(pc[i])} kW x {_fmt(etac[i])} x {_fmt(window[i])} h)"
        )
        if horizon is not None:
            periods = int(d[i] - a[i])
            text += (
                f"; plugged in {periods} whole {horizon.minutes}-min period"
                f"{'s' * (periods != 1)} of the horizon from {horizon.start} "
                f"({_time(arrival.iloc[i])} to {_time(departure.iloc[i])})"
            )
        return text

    p.add("unreachable target", unreachable, describe)
    p.raise_if_any("EV session data is inconsistent or physically impossible")


# --------------------------------------------------------------------------------------------
# Reading a CSV
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Sampling helpers
# --------------------------------------------------------------------------------------------


def _origin(day) -> pd.Timestamp:
    try:
        origin = pd.Timestamp(day)
    except (TypeError, ValueError) as exc:
        raise SessionError(f"day {day!r} is not a date: {exc}") from None
    if origin is pd.NaT:
        raise SessionError(f"day {day!r} is not a date")
    return origin


def _range(spec, name: str) -> tuple[float, float, float]:
    """(low, high, std) of a range given as (low, high) or (low, high, std); std = width / 4."""
    values = tuple(float(v) for v in spec)
    if len(values) not in (2, 3) or not values[0] <= values[1]:
        raise SessionError(
            f"{name} must be (low, high) or (low, high, std) with low <= high; got {spec!r}"
        )
    low, high = values[:2]
    std = values[2] if len(values) == 3 else (high - low) / 4.0
    if std < 0:
        raise SessionError(f"{name}: std must be >= 0; got {std}")
    return low, high, std


def _truncated_normal(rng: np.random.Generator, low, high, std, size: int) -> np.ndarray:
    """Normal with mean (low + high) / 2 and ``std``, truncated to [low, high] (inverse CDF).

    One uniform draw per value, so the stream of random numbers does not depend on the
    parameters. A zero width or zero std gives the mid-point.
    """
    low, high, std = (np.broadcast_to(np.asarray(x, float), (size,)) for x in (low, high, std))
    mean = (low + high) / 2
    u = rng.uniform(size=size)
    spread = (high > low) & (std > 0)
    safe = np.where(spread, std, 1.0)
    lo_p, hi_p = ndtr((low - mean) / safe), ndtr((high - mean) / safe)
    x = mean + safe * ndtri(lo_p + u * (hi_p - lo_p))
    return np.where(spread, np.clip(x, low, high), mean)


def _to_grid(hours: np.ndarray, step_min: int, up: bool) -> np.ndarray:
    """Hours after the day's start as whole minutes on a ``step_min`` grid (rounded up/down)."""
    steps = np.asarray(hours, float) * 60.0 / step_min
    # 1e-9: 8.0 h on a 60-min grid is 8 steps even if the float is a hair off
    steps = np.ceil(steps - 1e-9) if up else np.floor(steps + 1e-9)
    return steps.astype(np.int64) * step_min


def _step(step_min) -> int:
    step = int(step_min)
    if step != step_min or step < 1:
        raise SessionError(f"step_min must be a positive whole number of minutes; got {step_min}")
    return step


def _redraw_until_feasible(
    n: int,
    draw: Callable[[int], dict[str, np.ndarray]],
    feasible: Callable[[dict[str, np.ndarray]], np.ndarray],
    what: str,
    max_rounds: int = 1000,
) -> dict[str, np.ndarray]:
    """Draw ``n`` sessions; redraw (every variable of) the infeasible ones until none is left.

    The result is a sample of the sampler's distribution conditioned on feasibility.
    """
    sample = draw(n)
    bad = ~feasible(sample)
    for _ in range(max_rounds):
        if not bad.any():
            return sample
        rows = np.flatnonzero(bad)
        fresh = draw(len(rows))
        for key, values in sample.items():
            values[rows] = fresh[key]
        bad[rows] = ~feasible(fresh)
    raise SessionError(
        f"{what}: {int(bad.sum())} of {n} sampled sessions are still infeasible after "
        f"{max_rounds} redraws (stay too short or target unreachable for the charger): "
        f"widen the time ranges, raise the power or lower the targets"
    )


def _session_table(
    origin: pd.Timestamp,
    arrival_min: np.ndarray,
    departure_min: np.ndarray,
    source: str,
    **columns,
) -> pd.DataFrame:
    """The checked session table; EVs numbered ev001, ev002, ... in order of arrival."""
    n = len(arrival_min)
    order = np.argsort(arrival_min, kind="stable")
    width = max(3, len(str(n)))
    data = {
        INDEX: [f"ev{k:0{width}d}" for k in range(1, n + 1)],
        "arrival": origin + pd.to_timedelta(np.asarray(arrival_min)[order], unit="min"),
        "departure": origin + pd.to_timedelta(np.asarray(departure_min)[order], unit="min"),
    }
    for name, values in columns.items():
        data[name] = np.broadcast_to(np.asarray(values), (n,))[order]
    table = sessions_frame(pd.DataFrame(data), source=source)
    check_sessions(table, source=source)
    return table


# --------------------------------------------------------------------------------------------
# Seed 002: Mao, Zhang & Zhou 2018, truncated Gaussian sessions
# --------------------------------------------------------------------------------------------


def sample_truncated_gaussian(
    n: int,
    day="2024-01-01",
    seed: int = 0,
    station: str = "station",
    capacity_kwh: float = 24.0,
    p_kw: float = 3.3,
    eta: float = 0.98,
    arrival_h=(8, 15),
    departure_h=(13, 22),
    soc_arrival=(0.2, 0.65),
    soc_target=(0.6, 0.95),
    v2g: bool = True,
    min_stay_h: float = 1.0,
    soc_limits: tuple[float, float] | None = None,
    step_min: int = 1,
) -> pd.DataFrame:
    """``n`` EV sessions with truncated Gaussian times and SOCs, Mao et al. 2018, Table 1.

    Source: T. Mao, X. Zhang, B. Zhou, "Modeling and Solving Method for Supporting
    'Vehicle-to-Anything' EV Charging Mode", Appl. Sci. 8(7), 1048, 2018,
    doi:10.3390/app8071048, Sect. 4.1 and Table 1: 24 kWh batteries, 3.3 kW, charging and
    discharging efficiency 0.98; plug-in time in [8:00, 15:00], plug-out in [13:00, 22:00],
    arrival SOC in [0.2, 0.65], expected SOC in [0.6, 0.95], each drawn from a "Truncated
    Gaussian Distribution". The paper gives only the ranges; here each variable is normal
    with its mean at the mid-point of its range and std = range width / 4 (a range given as
    (low, high, std) sets the std), truncated to the range, drawn independently.

    Feasibility (documented choice): a session whose stay is shorter than ``min_stay_h``,
    whose target SOC is below its arrival SOC, whose target the charger cannot deliver in
    the stay ((target - arrival) * capacity > eta * p_kw * stay) or, with ``soc_limits``,
    whose target exceeds the upper limit, is redrawn entirely (all four variables) until
    every session is feasible, i.e. the sample is the truncated Gaussians conditioned on a
    feasible session.

    Parameters
    ----------
    n
        Number of EVs.
    day
        Day the hours count from (its midnight, or the given time).
    seed
        Seed of :func:`numpy.random.default_rng`.
    station
        Station of every EV.
    capacity_kwh, p_kw, eta
        Battery capacity [kWh], charge and discharge power limit [kW], efficiency both ways.
    arrival_h, departure_h
        Ranges of plug-in and plug-out [h after ``day``].
    soc_arrival, soc_target
        Ranges of arrival and target SOC [per unit of capacity].
    v2g
        Every EV allows discharging.
    min_stay_h
        Shortest stay [h] (the seed's ranges overlap from 13:00 to 15:00).
    soc_limits
        (SOC_min, SOC_max) of Table 1 (0.2, 0.9), written as ``e_min_kwh`` / ``e_max_kwh``;
        None (default): 0 and capacity. Note that Table 1's expected SOC reaches 0.95 > 0.9:
        with limits, targets above SOC_max are redrawn.
    step_min
        Time grid [min]: arrivals rounded up, departures down to it; pass the horizon's
        period length so that the stay is made of whole periods.

    Returns
    -------
    Session table (:func:`sessions_frame`), checked; ev001, ev002, ... in order of arrival.
    """
    rng = np.random.default_rng(seed)
    origin, step = _origin(day), _step(step_min)
    ranges = {
        "arrival_h": _range(arrival_h, "arrival_h"),
        "departure_h": _range(departure_h, "departure_h"),
        "soc_arrival": _range(soc_arrival, "soc_arrival"),
        "soc_target": _range(soc_target, "soc_target"),
    }

    def draw(k: int) -> dict[str, np.ndarray]:
        out = {name: _truncated_normal(rng, *spec, size=k) for name, spec in ranges.items()}
        out["arrival_min"] = _to_grid(out.pop("arrival_h"), step, up=True)
        out["departure_min"] = _to_grid(out.pop("departure_h"), step, up=False)
        return out

    def feasible(x: dict[str, np.ndarray]) -> np.ndarray:
        stay_h = (x["departure_min"] - x["arrival_min"]) / 60.0
        need = (x["soc_target"] - x["soc_arrival"]) * capacity_kwh
        ok = (stay_h >= min_stay_h) & (stay_h > 0) & (need >= 0)
        ok &= need <= eta * p_kw * stay_h
        if soc_limits is not None:
            ok &= x["soc_target"] <= soc_limits[1]
        return ok

    x = _redraw_until_feasible(n, draw, feasible, "sample_truncated_gaussian")
    if soc_limits is None:
        e_min, e_max = 0.0, capacity_kwh
    else:
        e_min, e_max = soc_limits[0] * capacity_kwh, soc_limits[1] * capacity_kwh
    return _session_table(
        origin,
        x["arrival_min"],
        x["departure_min"],
        "sample_truncated_gaussian",
        station=station,
        e_arrival_kwh=x["soc_arrival"] * capacity_kwh,
        e_target_kwh=x["soc_target"] * capacity_kwh,
        capacity_kwh=capacity_kwh,
        p_charge_max_kw=p_kw,
        p_discharge_max_kw=p_kw,
        eta_charge=eta,
        eta_discharge=eta,
        v2g=bool(v2g),
        e_min_kwh=e_min,
        e_max_kwh=e_max,
    )


# --------------------------------------------------------------------------------------------
# Seed 004: Gao, Wu & Xu 2019, EV types, daily distance, M/M/Z/Z parking lot
# --------------------------------------------------------------------------------------------

#: Gao, Wu & Xu 2019, Table 1: EV types. ``consumption_kwh_per_km`` = capacity / distance per
#: charge (derived; the paper's lambda of eq. 52 is not tabulated). ``n_evs`` is the paper's
#: number of EVs per type, the default mix. Charger efficiency 0.9 (Sect. 5.1).
EV_TYPES_GAO2019 = pd.DataFrame(
    {
        "model": ["Tesla Model X", "BMW i3", "Chevrolet Volt", "Changan EADO"],
        "charging": ["fast", "fast", "slow", "slow"],
        "p_charge_kw": [13.0, 44.0, 2.2, 3.75],
        "capacity_kwh": [60.0, 22.0, 13.2, 30.0],
        "soc_target_min": [0.90, 0.90, 0.90, 0.90],
        "soc_target_max": [0.95, 0.95, 0.95, 0.95],
        "n_evs": [60, 60, 150, 150],
        "distance_per_charge_km": [355.0, 160.0, 80.0, 200.0],
    },
    index=pd.Index(["I", "II", "III", "IV"], name="ev_type"),
)
EV_TYPES_GAO2019["consumption_kwh_per_km"] = (
    EV_TYPES_GAO2019["capacity_kwh"] / EV_TYPES_GAO2019["distance_per_charge_km"]
)
#: charging efficiency of Gao, Wu & Xu 2019, Sect. 5.1 [-]
ETA_GAO2019 = 0.9
#: ln L ~ N(3.46, 0.95^2), L the daily distance [km]: Gao, Wu & Xu 2019, eq. 51
DISTANCE_LN_MU = 3.46
DISTANCE_LN_SIGMA = 0.95
#: arrival SOC floor of the distance model [per unit of capacity] (documented assumption)
SOC_FLOOR = 0.1


def sample_ev_types(
    n: int, mix=None, rng=None, types: pd.DataFrame = EV_TYPES_GAO2019
) -> np.ndarray:
    """``n`` EV type names drawn independently from ``mix``.

    Parameters
    ----------
    n
        Number of EVs.
    mix
        Weights by type name (a dict or Series, e.g. Gao 2019 Table 2's office station
        ``{"I": 0.5, "II": 0.5}``); normalised to sum 1. None: the paper's numbers of EVs
        per type (Table 1: 60, 60, 150, 150).
    rng
        A :class:`numpy.random.Generator` or a seed.
    types
        The type table (index = type name), by default :data:`EV_TYPES_GAO2019`.
    """
    rng = np.random.default_rng(rng)
    if mix is None:
        mix = types["n_evs"] if "n_evs" in types else pd.Series(1.0, index=types.index)
    weights = pd.Series(mix, dtype=float)
    unknown = [str(t) for t in weights.index if t not in types.index]
    if unknown:
        raise SessionError(
            f"unknown EV type(s) {', '.join(map(repr, unknown))} in the mix; types: "
            f"{', '.join(map(repr, types.index))}"
        )
    if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
        raise SessionError(f"EV type mix must be finite, >= 0 and not all 0; got {dict(weights)}")
    names = weights.index.to_numpy(dtype=object)
    return names[rng.choice(len(names), size=n, p=(weights / weights.sum()).to_numpy())]


def daily_distance_km(
    rng, size=None, mu: float = DISTANCE_LN_MU, sigma: float = DISTANCE_LN_SIGMA
) -> np.ndarray:
    """Daily driven distance L [km], ln L ~ N(mu, sigma^2): Gao, Wu & Xu 2019, eq. 51.

    (The paper calls mu and sigma "parameters of exponential distribution"; its eq. 51 is the
    log-normal density, which is what is drawn here: median e^3.46 = 32 km, mean 50 km.)
    """
    rng = np.random.default_rng(rng)
    return np.exp(rng.normal(mu, sigma, size=size))


def arrival_energy_from_distance(
    capacity_kwh,
    consumption_kwh_per_km,
    rng,
    mu: float = DISTANCE_LN_MU,
    sigma: float = DISTANCE_LN_SIGMA,
    soc_full=1.0,
    soc_floor: float = SOC_FLOOR,
    size=None,
) -> np.ndarray:
    """Battery energy at arrival [kWh] after the day's driving, Gao, Wu & Xu 2019, eq. 51-52.

    Source: Gao, Wu & Xu, Energies 12(8), 1577, 2019, doi:10.3390/en12081577 (oil-to-
    electricity transformation of gas stations), Sect. 4: the daily distance L is
    log-normal, ln L ~ N(3.46, 0.95^2) [km] (eq. 51), and

        SOC_arrival = SOC_full - lambda * L / C        (eq. 52, SOC_full = the paper's SOC_tar)

    with lambda the consumption [kWh/km] and C the capacity [kWh]: the EV left with
    ``soc_full`` and comes back having driven L. Clip (documented assumption): SOC_arrival is
    limited to [``soc_floor``, ``soc_full``], i.e. a long tail draw (the 99th percentile of L
    is 290 km) arrives at 10 % rather than below empty.

    Parameters
    ----------
    capacity_kwh, consumption_kwh_per_km, soc_full
        Scalars or arrays (broadcast together and with ``size``).
    rng
        A :class:`numpy.random.Generator` or a seed.
    mu, sigma
        Parameters of ln L [ln km].
    soc_floor
        Lowest arrival SOC [per unit].

    Returns
    -------
    Arrival energy [kWh], array of the broadcast shape.
    """
    capacity_kwh = np.asarray(capacity_kwh, float)
    consumption_kwh_per_km = np.asarray(consumption_kwh_per_km, float)
    soc_full = np.asarray(soc_full, float)
    shapes = [capacity_kwh.shape, consumption_kwh_per_km.shape, soc_full.shape]
    if size is not None:
        shapes.append(tuple(np.atleast_1d(size)))
    shape = np.broadcast_shapes(*shapes)
    distance = daily_distance_km(rng, size=shape, mu=mu, sigma=sigma)
    soc = soc_full - distance * consumption_kwh_per_km / capacity_kwh
    return np.clip(soc, np.minimum(soc_floor, soc_full), soc_full) * capacity_kwh


#: assumed hourly arrival rate of a commuter lot [EV/h], hour 0 = 00:00-01:00: a basic flow
#: (constant lambda_b, Gao 2019 eq. A8) of 0.5 EV/h at night and 2 EV/h from 06 to 22 h, plus
#: a categorized morning-arrival peak (lambda_c(t), eq. A17-A18) of 6, 10, 6 EV/h at 07-10 h
#: and an evening one of 3 EV/h at 17-19 h. Gao's Figure 1 occupancy data are not tabulated:
#: an illustration, not the paper's numbers.
LOT_RATE_PER_H = (
    0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2.0, 8.0, 12.0, 8.0, 2.0, 2.0,
    2.0, 2.0, 2.0, 2.0, 2.0, 5.0, 5.0, 2.0, 2.0, 2.0, 0.5, 0.5,
)  # fmt: skip


def _poisson_arrivals(rng: np.random.Generator, rate_per_h, hours: float) -> np.ndarray:
    """Arrival times [h] of a non-homogeneous Poisson process on [0, hours), sorted.

    The rate is piecewise constant: hourly for a scalar or a 24-value table (repeated
    daily), per minute for a callable (evaluated at each minute's midpoint [h]). Each step
    gets a Poisson count with mean rate x length and uniform times within it: exact for a
    piecewise-constant rate.
    """
    if callable(rate_per_h):
        step_h = 1.0 / 60.0
        starts = np.arange(int(np.ceil(hours * 60 - 1e-9))) * step_h
        rates = np.broadcast_to(np.asarray(rate_per_h(starts + step_h / 2), float), starts.shape)
    else:
        table = np.asarray(rate_per_h, float)
        if table.ndim == 0:
            table = np.full(24, float(table))
        if table.shape != (24,):
            raise SessionError(
                f"rate_per_h must be a number, 24 hourly rates or a callable; got shape "
                f"{table.shape}"
            )
        step_h = 1.0
        starts = np.arange(int(np.ceil(hours - 1e-9))) * step_h
        rates = table[starts.astype(int) % 24]
    if not np.all(np.isfinite(rates) & (rates >= 0)):
        raise SessionError("rate_per_h must be finite and >= 0 [EV/h]")
    lengths = np.minimum(step_h, hours - starts)
    counts = rng.poisson(rates * lengths)
    times = np.repeat(starts, counts) + rng.uniform(size=counts.sum()) * np.repeat(lengths, counts)
    return np.sort(times)


def _mmzz_admit(arrival_min: np.ndarray, departure_min: np.ndarray, spaces: int) -> np.ndarray:
    """Which arrivals find a free space (M/M/Z/Z: an arrival finding all Z taken is lost).

    Arrivals in time order; a space freed at minute t is free for an arrival at minute t.
    The queue is sequential by nature: a loop over arrivals with a heap of departures.
    """
    admitted = np.zeros(len(arrival_min), dtype=bool)
    parked: list[int] = []
    for i in np.argsort(arrival_min, kind="stable"):
        while parked and parked[0] <= arrival_min[i]:
            heapq.heappop(parked)
        if len(parked) < spaces:
            admitted[i] = True
            heapq.heappush(parked, int(departure_min[i]))
    return admitted


def mmzz_stationary(capacity_spaces: int, rate_per_h: float, mean_parking_h: float) -> np.ndarray:
    """Stationary probabilities P_z of z = 0..Z parked EVs in an M/M/Z/Z lot.

    Gao, Wu & Xu 2019, appendix A, eq. A11-A13: with the offered load a = lambda / mu =
    rate_per_h * mean_parking_h = Z rho,

        P_z = a^z / z! * P_0,   P_0 = (sum_{i=0}^{Z} a^i / i!)^-1.

    P_Z is the blocking probability (Erlang B) and sum z P_z = a (1 - P_Z) the mean number
    parked (eq. A14, Z rho (1 - P_Z)).
    """
    z = np.arange(int(capacity_spaces) + 1)
    load = float(rate_per_h) * float(mean_parking_h)
    if load <= 0:
        return (z == 0).astype(float)
    log_terms = z * np.log(load) - gammaln(z + 1)
    terms = np.exp(log_terms - log_terms.max())
    return terms / terms.sum()


def sample_parking_lot(
    day="2024-01-01",
    seed: int = 0,
    station: str = "lot",
    capacity_spaces: int = 50,
    rate_per_h=LOT_RATE_PER_H,
    mean_parking_h: float = 4.0,
    ev_types: pd.DataFrame = EV_TYPES_GAO2019,
    mix=None,
    eta: float = ETA_GAO2019,
    v2g: bool = False,
    hours: float = 24.0,
    mu: float = DISTANCE_LN_MU,
    sigma: float = DISTANCE_LN_SIGMA,
    soc_floor: float = SOC_FLOOR,
    step_min: int = 1,
) -> pd.DataFrame:
    """EV sessions of a parking lot modelled as an M/M/Z/Z queue, Gao, Wu & Xu 2019.

    Source: Gao, Wu & Xu, Energies 12(8), 1577, 2019, doi:10.3390/en12081577,
    Sect. 2.2 and appendix A (eq. A7-A21), Sect. 4 (eq. 51-52), Table 1:

    - arrivals: a non-homogeneous Poisson process with rate ``rate_per_h`` (the paper's basic
      flow lambda_b plus the categorized flow lambda_c(t)): per-hour (or per-minute for a
      callable) Poisson counts with uniform times within each step, over ``hours`` from
      ``day`` (the lot starts empty at ``day``, as N_c(0) = 0 in eq. A4);
    - parking (service) times: exponential with mean 1 / mu = ``mean_parking_h`` (eq. 17);
    - Z = ``capacity_spaces`` spaces, no waiting room: an arrival finding all Z spaces taken
      is lost (M/M/Z/Z); the number lost is ``table.attrs["lost"]``, the number arrived
      ``table.attrs["offered"]``; :func:`mmzz_stationary` gives the stationary law;
    - EV type from ``mix`` over ``ev_types`` (Table 1: charging power, capacity, target SOC
      90-95 %, consumption = capacity / distance per charge), charger efficiency 0.9;
    - target SOC: truncated normal in the type's [soc_target_min, soc_target_max] (mean at
      the mid-point, std = width / 4; the paper's eq. 22 says normal);
    - arrival energy: eq. 52 with the target as SOC_tar (:func:`arrival_energy_from_distance`).

    Documented choices: times are on a ``step_min`` grid (arrival rounded up, departure down,
    a stay of at least one step) and the queue runs on those times, so the table never has
    more than Z EVs parked. Parking times are not conditioned on the energy: an EV whose
    charger cannot deliver its target in its stay leaves with what it can get, i.e. its
    target is lowered to e_arrival + eta * p * stay. Departures may fall after ``hours``.

    Returns
    -------
    Session table (:func:`sessions_frame`) of the admitted EVs, checked; ``ev_type`` = the
    type name; discharge limit = charge limit; ``v2g`` as given (the paper charges only).
    """
    rng = np.random.default_rng(seed)
    origin, step = _origin(day), _step(step_min)
    spaces = int(capacity_spaces)
    if spaces < 1 or spaces != capacity_spaces:
        raise SessionError(f"capacity_spaces must be a positive integer; got {capacity_spaces}")
    if not mean_parking_h > 0:
        raise SessionError(f"mean_parking_h must be > 0; got {mean_parking_h}")
    arrival_h = _poisson_arrivals(rng, rate_per_h, float(hours))
    n = len(arrival_h)
    parking_h = rng.exponential(mean_parking_h, size=n)
    kind = sample_ev_types(n, mix, rng, ev_types)
    spec = ev_types.loc[kind]
    soc_target = _truncated_normal(
        rng,
        spec["soc_target_min"].to_numpy(float),
        spec["soc_target_max"].to_numpy(float),
        (spec["soc_target_max"] - spec["soc_target_min"]).to_numpy(float) / 4,
        size=n,
    )
    capacity = spec["capacity_kwh"].to_numpy(float)
    p_kw = spec["p_charge_kw"].to_numpy(float)
    e_arrival = arrival_energy_from_distance(
        capacity,
        spec["consumption_kwh_per_km"].to_numpy(float),
        rng,
        mu=mu,
        sigma=sigma,
        soc_full=soc_target,
        soc_floor=soc_floor,
    )

    arrival_min = _to_grid(arrival_h, step, up=True)
    departure_min = np.maximum(_to_grid(arrival_h + parking_h, step, up=False), arrival_min + step)
    stay_h = (departure_min - arrival_min) / 60.0
    e_target = np.minimum(soc_target * capacity, e_arrival + eta * p_kw * stay_h)
    admitted = _mmzz_admit(arrival_min, departure_min, spaces)

    table = _session_table(
        origin,
        arrival_min[admitted],
        departure_min[admitted],
        "sample_parking_lot",
        station=station,
        e_arrival_kwh=e_arrival[admitted],
        e_target_kwh=e_target[admitted],
        capacity_kwh=capacity[admitted],
        p_charge_max_kw=p_kw[admitted],
        p_discharge_max_kw=p_kw[admitted],
        eta_charge=eta,
        eta_discharge=eta,
        v2g=bool(v2g),
        ev_type=kind[admitted],
    )
    table.attrs.update(offered=n, lost=int(n - admitted.sum()), capacity_spaces=spaces)
    return table


# --------------------------------------------------------------------------------------------
# Seed 003: Cao et al. 2024, reservations
# --------------------------------------------------------------------------------------------


def sample_reservations(
    n: int,
    day="2024-01-01",
    seed: int = 0,
    station: str | Sequence[str] = "station",
    station_weights: Sequence[float] | None = None,
    capacity_kwh: float = 50.0,
    p_kw: float = 7.0,
    eta: float = 0.95,
    arrival_h=(7, 19),
    departure_h=(12, 24),
    min_stay_h: float = 1.0,
    p_v2g: float = 0.5,
    soc_target=(0.8, 0.95),
    consumption_kwh_per_km: float = 0.15,
    mu: float = DISTANCE_LN_MU,
    sigma: float = DISTANCE_LN_SIGMA,
    soc_floor: float = SOC_FLOOR,
    step_min: int = 1,
) -> pd.DataFrame:
    """``n`` reservation requests: a plug-in window and a willingness to discharge, seed 003.

    Source: H. Cao, Y. Zhang, N. Jiang, B. Lu, "scheduled charging and discharging" of EVs,
    Zhejiang Electric Power 2024(5), doi:10.19585/j.zjdl.202405005 (press summary): EV
    owners reserve a station a day ahead, giving arrival and departure times and whether they
    need to charge or are willing to discharge; the case has 500 EVs of 50 kWh on three
    stations. The summary gives no distributions; these are documented assumptions:

    - arrival and departure: truncated normal within ``arrival_h`` / ``departure_h`` [h after
      ``day``] as in :func:`sample_truncated_gaussian` (mean mid-point, std width / 4);
    - willingness to discharge (``v2g``): True with probability ``p_v2g``;
    - target SOC: truncated normal in ``soc_target``; arrival energy from the day's driving
      with Gao 2019's distance model (:func:`arrival_energy_from_distance`, SOC_full = the
      target, ``consumption_kwh_per_km`` 0.15 for a 50 kWh car);
    - 7 kW AC chargers (charge and discharge), efficiency 0.95 both ways;
    - station: uniform over ``station`` (a name or a list), or by ``station_weights``;
    - a request whose stay is shorter than ``min_stay_h`` or whose target the charger
      cannot deliver in the stay is redrawn entirely (times, target, distance).
    """
    rng = np.random.default_rng(seed)
    origin, step = _origin(day), _step(step_min)
    names = [station] if isinstance(station, str) else list(station)
    if not names:
        raise SessionError("sample_reservations: no station given")
    weights = None
    if station_weights is not None:
        weights = np.asarray(station_weights, float)
        if weights.shape != (len(names),) or (weights < 0).any() or weights.sum() <= 0:
            raise SessionError(
                f"station_weights must be {len(names)} non-negative numbers, not all 0; got "
                f"{list(station_weights)}"
            )
        weights = weights / weights.sum()
    if not 0 <= p_v2g <= 1:
        raise SessionError(f"p_v2g must be a probability in [0, 1]; got {p_v2g}")
    ranges = {
        "arrival_h": _range(arrival_h, "arrival_h"),
        "departure_h": _range(departure_h, "departure_h"),
        "soc_target": _range(soc_target, "soc_target"),
    }
    where = rng.choice(len(names), size=n, p=weights)
    v2g = rng.uniform(size=n) < p_v2g

    def draw(k: int) -> dict[str, np.ndarray]:
        out = {name: _truncated_normal(rng, *spec, size=k) for name, spec in ranges.items()}
        out["arrival_min"] = _to_grid(out.pop("arrival_h"), step, up=True)
        out["departure_min"] = _to_grid(out.pop("departure_h"), step, up=False)
        out["e_arrival"] = arrival_energy_from_distance(
            capacity_kwh, consumption_kwh_per_km, rng, mu, sigma, out["soc_target"], soc_floor
        )
        return out

    def feasible(x: dict[str, np.ndarray]) -> np.ndarray:
        stay_h = (x["departure_min"] - x["arrival_min"]) / 60.0
        need = x["soc_target"] * capacity_kwh - x["e_arrival"]
        return (stay_h >= min_stay_h) & (stay_h > 0) & (need <= eta * p_kw * stay_h)

    x = _redraw_until_feasible(n, draw, feasible, "sample_reservations")
    return _session_table(
        origin,
        x["arrival_min"],
        x["departure_min"],
        "sample_reservations",
        station=np.asarray(names, dtype=object)[where],
        e_arrival_kwh=x["e_arrival"],
        e_target_kwh=x["soc_target"] * capacity_kwh,
        capacity_kwh=capacity_kwh,
        p_charge_max_kw=p_kw,
        p_discharge_max_kw=p_kw,
        eta_charge=eta,
        eta_discharge=eta,
        v2g=v2g,
    )


# --------------------------------------------------------------------------------------------
# Seed 001: the illustrative overnight lot
# --------------------------------------------------------------------------------------------


def seed001_lot(n: int = 20, seed: int = 0, day="2024-01-01", step_min: int = 1) -> pd.DataFrame:
    """Seed 001's illustrative overnight lot: ``n`` EVs on 11 kW bidirectional chargers.

    Source: seed 001 ("EV Charging Scheduling", MILP with V2G): "20 EVs with staggered arrival
    (5-8pm) and departure (6-8am). 11 kW chargers, 100 kW transformer"; SOC dynamics with one
    efficiency eta both ways. The card gives no battery size, SOCs or efficiency value; these
    are documented assumptions:

    - arrival uniform in [17:00, 20:00] on ``day``, departure uniform in [06:00, 08:00] the
      next day (on a ``step_min`` grid: arrival rounded up, departure down);
    - capacity 60 kWh; arrival SOC uniform in [0.2, 0.5]; target SOC uniform in [0.8, 0.9]
      (at most 42 kWh to charge, at least 10 h x 11 kW x 0.95 available: always reachable);
    - 11 kW charge and discharge, eta 0.95 both ways, v2g True, station "lot".

    Deterministic given ``seed``. (The 100 kW transformer limit belongs to the station, not
    the sessions.)
    """
    rng = np.random.default_rng(seed)
    origin, step = _origin(day), _step(step_min)
    capacity = 60.0
    arrival_min = _to_grid(rng.uniform(17.0, 20.0, size=n), step, up=True)
    departure_min = _to_grid(24.0 + rng.uniform(6.0, 8.0, size=n), step, up=False)
    soc_arrival = rng.uniform(0.2, 0.5, size=n)
    soc_target = rng.uniform(0.8, 0.9, size=n)
    return _session_table(
        origin,
        arrival_min,
        departure_min,
        "seed001_lot",
        station="lot",
        e_arrival_kwh=soc_arrival * capacity,
        e_target_kwh=soc_target * capacity,
        capacity_kwh=capacity,
        p_charge_max_kw=11.0,
        p_discharge_max_kw=11.0,
        eta_charge=0.95,
        eta_discharge=0.95,
        v2g=True,
    )
