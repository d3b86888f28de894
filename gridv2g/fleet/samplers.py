"""Seeded EV session samplers of the source papers (seeds 001, 002, 003): each returns a
checked session table. Seed 004's parking lot is in :mod:`gridv2g.fleet.gao2019`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridv2g.errors import SessionError
from gridv2g.fleet.gao2019 import (
    DISTANCE_LN_MU,
    DISTANCE_LN_SIGMA,
    SOC_FLOOR,
    arrival_energy_from_distance,
)
from gridv2g.fleet.options import check_options
from gridv2g.fleet.sampling import (
    _origin,
    _range,
    _redraw_until_feasible,
    _session_table,
    _step,
    _to_grid,
    _truncated_normal,
    one_rating,
)


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

    Raises
    ------
    SessionError
        An option out of its range (:data:`~gridv2g.fleet.options.OPTIONS`), or sessions
        still infeasible after 1000 redraws.
    """
    # locals(): the parameters, as nothing else is bound yet
    check_options(locals(), "sample_truncated_gaussian")
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
        **one_rating(p_kw, eta),
        v2g=bool(v2g),
        e_min_kwh=e_min,
        e_max_kwh=e_max,
    )


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

    An option out of its range (:data:`~gridv2g.fleet.options.OPTIONS`) is a SessionError.
    """
    # locals(): the parameters, as nothing else is bound yet
    check_options(locals(), "sample_reservations")
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
        **one_rating(p_kw, eta),
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
    # locals(): the parameters, as nothing else is bound yet
    check_options(locals(), "seed001_lot")
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
