"""Array builders of the formulation blocks: per-EV arrays from a session table, station
storage arrays, and the stations' import/export limits as Parameter values.

One builder each, shared by the station-only, stochastic, MPC, V2A and grid problems.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridv2g.errors import ProfileError
from gridv2g.fleet import plug_mask, plug_windows
from gridv2g.horizon import Horizon
from gridv2g.inputs import NO_LIMIT_KW, StationData
from gridv2g.model.station import ESSArrays, EVArrays


def ev_arrays(
    sessions: pd.DataFrame,
    horizon: Horizon,
    stations: pd.Index | None = None,
    chargers: pd.Index | None = None,
    v2g: bool = True,
) -> EVArrays:
    """Per-EV arrays of a session table on ``horizon``.

    ``stations`` / ``chargers``: the names the ``station`` / ``charger`` columns refer to
    (positions become the arrays' indices; ``stations=None`` puts every EV at station 0, as at
    a V2A site; no charger means the EV's own). Discharge is rated 0 where the session's
    ``v2g`` is False or ``v2g`` (the case's switch) is False.
    """
    s = sessions
    n = len(s)
    allowed = s.v2g.to_numpy(bool) & bool(v2g)
    _, dep = plug_windows(s, horizon)
    station = (
        np.zeros(n, dtype=int)
        if stations is None
        else pd.Index(stations).get_indexer(s.station).astype(int)
    )
    charger = np.full(n, -1)
    if chargers is not None and len(chargers) and "charger" in s:
        named = s.charger.fillna("").astype(str).to_numpy()
        charger = np.where(named != "", pd.Index(chargers).get_indexer(named), -1)
    return EVArrays(
        station=station,
        charger=charger,
        e_arrival_kwh=s.e_arrival_kwh.to_numpy(float),
        e_target_kwh=s.e_target_kwh.to_numpy(float),
        e_min_kwh=s.e_min_kwh.to_numpy(float),
        e_max_kwh=s.e_max_kwh.to_numpy(float),
        p_charge_max_kw=s.p_charge_max_kw.to_numpy(float),
        p_discharge_max_kw=np.where(allowed, s.p_discharge_max_kw.to_numpy(float), 0.0),
        eta_charge=s.eta_charge.to_numpy(float),
        eta_discharge=s.eta_discharge.to_numpy(float),
        departure_index=dep,
        mask=plug_mask(s, horizon),
    )


def station_ev_arrays(data: StationData) -> EVArrays:
    """Per-EV arrays of a station problem's sessions (its stations, chargers and V2G switch)."""
    st = data.stations
    return ev_arrays(data.sessions, data.horizon, st.stations.index, st.chargers.index, data.v2g)


def ess_arrays(data: StationData) -> ESSArrays | None:
    """Station storage arrays (None without storage)."""
    ess = data.stations.ess
    if ess is None or ess.empty:
        return None
    return ESSArrays(
        station=data.stations.stations.index.get_indexer(ess.index),
        e_kwh=ess.e_kwh.to_numpy(float),
        p_kw=ess.p_kw.to_numpy(float),
        eta_charge=ess.eta_charge.to_numpy(float),
        eta_discharge=ess.eta_discharge.to_numpy(float),
        soc_min=ess.soc_min.to_numpy(float),
        soc_max=ess.soc_max.to_numpy(float),
        soc_initial=ess.soc_initial.to_numpy(float),
        end_rule=list(ess.end_rule),
        exclusive=data.ess_exclusive,
    )


def station_limits_kw(data: StationData) -> dict[str, np.ndarray]:
    """(station x period) import and export limits [kW] for Parameters.

    NaN (no limit), inf and any limit above what the station can physically draw or feed
    become a stand-in of twice that physical bound plus 1 kW: the sum over its EVs of their
    larger charge/discharge rating plus its storage's power rating. Such a limit never binds,
    and (unlike a 1e9 kW stand-in) it keeps the problem well scaled: with a 1e9 kW bound
    against a 1e4/kWh shortfall penalty, Clarabel reported a bounded problem as unbounded.
    """
    idx = data.horizon.index
    st = data.stations
    names = st.stations.index
    s = data.sessions
    at = names.get_indexer(s.station) if "station" in s else np.zeros(len(s), dtype=int)
    rate = np.maximum(s.p_charge_max_kw.to_numpy(float), s.p_discharge_max_kw.to_numpy(float))
    ok = at >= 0
    physical = np.bincount(at[ok], weights=rate[ok], minlength=len(names))
    if st.ess is not None and not st.ess.empty:
        where = names.get_indexer(st.ess.index)
        physical += np.bincount(where, weights=st.ess.p_kw.to_numpy(float), minlength=len(names))
    stand_in = np.minimum(2.0 * physical + 1.0, NO_LIMIT_KW)[:, None]
    out = {}
    for key in ("p_import_max_kw", "p_export_max_kw"):
        values = getattr(st, key).reindex(idx)[names].to_numpy(float).T
        negative = values < 0
        if negative.any():
            k, t = np.argwhere(negative)[0]
            raise ProfileError(
                f"station '{names[k]}': {key} is {values[k, t]:g} at {idx[t]} "
                f"({int(negative.sum())} negative value(s)); a limit is >= 0 kW (none: omit it)"
            )
        values = np.where(np.isnan(values), np.inf, values)
        out[key] = np.minimum(values, stand_in)
    return out
