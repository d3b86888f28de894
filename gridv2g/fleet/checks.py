"""Checks of a session table: every offending EV named with its numbers (and the CSV line)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from gridv2g.fleet.sessions import (
    ENERGY_TOL_KWH,
    SESSION_COLUMNS,
    _fmt,
    _normalize,
    _on_horizon_zone,
    _Problems,
    _time,
    plug_windows,
)
from gridv2g.horizon import Horizon


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
    if horizon is not None:
        s = _on_horizon_zone(s, horizon, source, lines)
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
