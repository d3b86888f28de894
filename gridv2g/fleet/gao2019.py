"""Seed 004 (Gao, Wu & Xu 2019, Energies 12, 1577): EV types (Table 1), daily distance
(ln L ~ N(3.46, 0.95^2)) -> arrival energy (eq. 51-52), and the M/M/Z/Z parking lot with
Poisson arrivals (appendix A).
"""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd
from scipy.special import gammaln

from gridv2g.errors import SessionError
from gridv2g.fleet.options import check_options
from gridv2g.fleet.sampling import (
    _origin,
    _range,
    _session_table,
    _step,
    _to_grid,
    _truncated_normal,
)

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
    An option out of its range (:data:`~gridv2g.fleet.options.OPTIONS`) is a SessionError.
    """
    # locals(): the parameters, as nothing else is bound yet
    check_options(locals(), "sample_parking_lot")
    rng = np.random.default_rng(seed)
    origin, step = _origin(day), _step(step_min)
    spaces = int(capacity_spaces)
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


#: Gao, Wu & Xu 2019, Table 2 and Sect. 5.2: the five stations of the IEEE 123-bus study and
#: their EVs by type (420 in all; bus 31: 20 of types I/II, bus 107: 150 of III/IV, bus 1: 40
#: of I/II and 100 of III/IV as the text says; buses 39 and 87 take the remaining 110 in
#: the ratio of their capacities and mixes, 60 of I/II and 50 of III/IV, which also gives
#: Table 1's 60/60/150/150 per type). ``lot``: the parking type, which sets the plug window.
STATIONS_GAO2019 = {
    "cs1": {"lot": "complex", "evs": {"I": 20, "II": 20, "III": 50, "IV": 50}},
    "cs31": {"lot": "office", "evs": {"I": 10, "II": 10}},
    "cs39": {"lot": "office", "evs": {"I": 30, "II": 30}},
    "cs87": {"lot": "home", "evs": {"III": 25, "IV": 25}},
    "cs107": {"lot": "home", "evs": {"III": 75, "IV": 75}},
}

#: plug windows by parking type, hours after the day's start as (mean, std) of a normal
#: truncated to +-2 std: the paper gives no times (its Fig. 7 shows home charging moved to
#: 24:00-06:00 and office charging in the day), so these are documented assumptions. A day
#: starting at 06:00 puts home departures at the end of the horizon.
PLUG_WINDOWS_GAO2019 = {
    "office": {"arrival_h": (2.5, 0.5), "departure_h": (11.5, 0.5)},  # 08:30 -> 17:30
    "home": {"arrival_h": (12.5, 1.0), "departure_h": (23.25, 0.25)},  # 18:30 -> 05:15
}


def sample_gao2019_fleet(
    day="2024-01-01T06:00",
    seed: int = 0,
    stations: dict | None = None,
    soc_initial: tuple = (0.5, 0.1),
    soc_target: tuple = (0.9, 0.95),
    eta: float = ETA_GAO2019,
    v2g: bool = False,
    step_min: int = 15,
    ev_types: pd.DataFrame = EV_TYPES_GAO2019,
    windows: dict | None = None,
) -> pd.DataFrame:
    """The EV fleet of Gao, Wu & Xu 2019's IEEE 123-bus study, Sect. 5 (seed 004).

    ``stations``: ``{station: {"lot": office | home | complex, "evs": {type: count}}}``
    (default :data:`STATIONS_GAO2019`, 420 EVs at five stations); types from ``ev_types``
    (Table 1: charger power, capacity; efficiency ``eta`` = 0.9). Initial SOC: normal with
    mean and std ``soc_initial`` (the paper's mean 0.5; std assumed 0.1), truncated to
    mean +- 3 std; target SOC: truncated normal in ``soc_target`` = Table 1's 90-95 %, so at
    least 0.9 as the paper says ((low, high) or (low, high, std): std = width / 4 by
    default). Plug windows by parking type: :data:`PLUG_WINDOWS_GAO2019`
    (``windows`` overrides); a complex station's fast-charging types (I, II) keep office
    hours and its slow ones (III, IV) home hours. Times on a ``step_min`` grid from ``day``.
    A window too short for the target at full power is widened at the departure (never past
    the last window end), so every EV can reach its target. An option out of its range
    (:data:`~gridv2g.fleet.options.OPTIONS`) is a SessionError.
    """
    # locals(): the parameters, as nothing else is bound yet
    check_options(locals(), "sample_gao2019_fleet")
    rng = np.random.default_rng(seed)
    origin, step = _origin(day), _step(step_min)
    stations = STATIONS_GAO2019 if stations is None else stations
    windows = {**PLUG_WINDOWS_GAO2019, **(windows or {})}
    rows = []
    for name, spec in stations.items():
        lot = spec.get("lot", "office")
        if lot not in ("office", "home", "complex"):
            raise SessionError(f"station {name}: lot '{lot}' is not office, home or complex")
        for kind, count in spec.get("evs", {}).items():
            if kind not in ev_types.index:
                raise SessionError(
                    f"station {name}: EV type '{kind}' not in {list(ev_types.index)}"
                )
            if int(count) != count or count < 0:
                raise SessionError(f"station {name}: count of type {kind} must be >= 0")
            fast = ev_types.at[kind, "charging"] == "fast"
            window = windows[
                "office" if (lot == "office" or (lot == "complex" and fast)) else "home"
            ]
            rows.append((name, kind, int(count), window))
    if not rows:
        raise SessionError("sample_gao2019_fleet: no EVs")
    station = np.concatenate([[r[0]] * r[2] for r in rows])
    kind = np.concatenate([[r[1]] * r[2] for r in rows])
    n = len(kind)

    def normal(spec_of, key):
        mean = np.concatenate([[r[3][key][0]] * r[2] for r in rows])
        std = np.concatenate([[r[3][key][1]] * r[2] for r in rows])
        return _truncated_normal(rng, mean - 2 * std, mean + 2 * std, std, size=n)

    arrival_h = normal(rows, "arrival_h")
    departure_h = normal(rows, "departure_h")
    spec = ev_types.loc[kind]
    capacity = spec["capacity_kwh"].to_numpy(float)
    p_kw = spec["p_charge_kw"].to_numpy(float)
    mu, sd = (float(x) for x in soc_initial)
    soc0 = _truncated_normal(rng, mu - 3 * sd, mu + 3 * sd, sd, size=n)
    soc1 = _truncated_normal(rng, *_range(soc_target, "soc_target"), size=n)
    arrival_min = _to_grid(arrival_h, step, up=True)
    departure_min = _to_grid(departure_h, step, up=False)
    # enough plugged time for the target at full power (whole steps)
    need_min = (soc1 - soc0) * capacity / (eta * p_kw) * 60.0
    latest = _to_grid(
        np.full(n, max(w["departure_h"][0] + 2 * w["departure_h"][1] for w in windows.values())),
        step,
        up=False,
    )
    departure_min = np.minimum(
        np.maximum(departure_min, arrival_min + _to_grid(need_min / 60.0, step, up=True)), latest
    )
    table = _session_table(
        origin,
        arrival_min,
        departure_min,
        "sample_gao2019_fleet",
        station=station,
        e_arrival_kwh=soc0 * capacity,
        e_target_kwh=np.minimum(
            soc1 * capacity, soc0 * capacity + eta * p_kw * (departure_min - arrival_min) / 60.0
        ),
        capacity_kwh=capacity,
        p_charge_max_kw=p_kw,
        p_discharge_max_kw=p_kw,
        eta_charge=eta,
        eta_discharge=eta,
        v2g=bool(v2g),
        ev_type=kind,
    )
    return table
