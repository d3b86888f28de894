"""The plain data types the problems consume: grid, DER, station slots, stations, prices,
stochastic scenarios, V2A sites. No CVXPY here: :mod:`gridv2g.case` builds these from case
files, :mod:`gridv2g.problems` builds problems from them, and a user may build them directly.

Engineering units throughout (kW, kWh, kVA, pu voltages, money per kWh), every time profile a
DataFrame or Series on the :class:`~gridv2g.horizon.Horizon`'s index.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridv2g.errors import GridDataError, GridV2GError, ProfileError, V2AError
from gridv2g.horizon import Horizon


# ---------------------------------------------------------------------------- grid
@dataclass
class DERData:
    """PV and wind units: one row per unit (index = name).

    ``units``: columns ``bus``, ``kind`` (pv / wind), ``s_kva`` (inverter rating), optional
    ``pf_min``. ``availability``: (time x unit) per unit of rating on the horizon.
    """

    units: pd.DataFrame
    availability: pd.DataFrame


@dataclass
class StationSlotData:
    """Station converters: ``slots`` (index = name) with ``bus``, ``s_kva``, ``p_variable``
    (bool) and optionally ``fleet`` (bool: the slot's active power is the net import of the
    fleet station of the same name; such slots are variable within +-``s_kva``); ``p_kw``
    (time x slot) consumption profile for fixed slots; ``p_min_kw`` / ``p_max_kw`` (time x
    slot) bounds for variable slots."""

    slots: pd.DataFrame
    p_kw: pd.DataFrame | None = None
    p_min_kw: pd.DataFrame | None = None
    p_max_kw: pd.DataFrame | None = None


@dataclass
class GridData:
    """Everything the co-optimization needs, in engineering units on one horizon.

    ``load_scale``: (time x bus) multipliers of each bus's nominal load (a single column
    ``"*"`` applies to every bus). ``price_per_kwh``: (time) energy price at the substation.
    ``reactive``: reactive dispatch on/off per device class (``pv``, ``wind``, ``station``).
    ``vmin_pu`` / ``vmax_pu``: defaults; ``bus_v_limits``: {bus: (vmin, vmax)} overrides.
    ``objective``: {term: weight} over :data:`gridv2g.model.objective.TERMS`.
    ``fleet``: a :class:`~gridv2g.problems.station.StationData` whose stations are the slots
    marked ``fleet`` (its prices serve only the money figures of the result; the grid objective
    prices energy at the substation).
    """

    feeder: object
    horizon: Horizon
    load_scale: pd.DataFrame
    price_per_kwh: pd.Series
    der: DERData | None = None
    stations: StationSlotData | None = None
    fleet: object | None = None  # StationData: EVs at the fleet slots' stations
    reactive: dict[str, bool] = field(
        default_factory=lambda: {"pv": True, "wind": True, "station": True}
    )
    curtailment: bool = True
    curtailment_cost_per_kwh: float = 0.0
    vmin_pu: float = 0.95
    vmax_pu: float = 1.05
    bus_v_limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    v_source_pu: float | None = None
    ampacity: bool = True
    objective: dict[str, float] = field(default_factory=lambda: {"losses": 1.0})
    s_base_kva: float = 1000.0
    #: the grid formulation (:data:`gridv2g.model.registry.FORMULATIONS`, or ``auto``)
    formulation: str = "balanced_socp"


def _first_bad(frame: pd.DataFrame, bad: pd.DataFrame) -> tuple[str, object, float, int]:
    """(column, time, value, count) of the first True of ``bad`` (a mask of ``frame``)."""
    stacked = bad.stack()
    where = stacked[stacked].index[0]
    return str(where[1]), where[0], float(frame.loc[where[0], where[1]]), int(stacked.sum())


def check_grid_data(data: GridData) -> None:
    """Refuse grid inputs that no solver should see, naming the item, the period and the
    numbers: non-finite load multipliers or prices (:class:`ProfileError`), DER availability
    outside [0, 1] of the rating (ProfileError), and (:class:`GridDataError`) a variable
    slot's ``p_min_kw`` above its ``p_max_kw``, bounds beyond the converter rating ``s_kva``
    that force it past its rating, a fixed slot profile above the rating, and a voltage limit
    on the source bus that the source's fixed voltage violates.

    Without these checks each of them reached the solver and came back as "infeasible even
    with voltage and ampacity limits relaxed: the loads cannot be served at all", which names
    the wrong cause.
    """
    idx = data.horizon.index
    for what, frame in (
        ("load multiplier", data.load_scale.reindex(idx)),
        ("energy price", data.price_per_kwh.reindex(idx).to_frame("price")),
    ):
        bad = ~np.isfinite(frame.astype(float))
        if bad.to_numpy().any():
            col, t, v, n = _first_bad(frame, bad)
            raise ProfileError(
                f"{what} '{col}' is {v} at {t} ({n} non-finite value(s) in the horizon)"
            )
    if data.der is not None and len(data.der.units):
        avail = data.der.availability.reindex(idx)[data.der.units.index].astype(float)
        bad = ~((avail >= 0.0) & (avail <= 1.0))
        if bad.to_numpy().any():
            col, t, v, n = _first_bad(avail, bad)
            raise ProfileError(
                f"DER '{col}': availability {v:g} at {t} is outside [0, 1] (it is a fraction "
                f"of the unit's rating s_kva; {n} period(s) outside)"
            )
    st = data.stations
    if st is not None and len(st.slots):
        s_kva = st.slots.s_kva.astype(float)
        variable = st.slots.index[st.slots.p_variable.astype(bool)]
        if st.p_min_kw is not None and st.p_max_kw is not None and len(variable):
            lo = st.p_min_kw.reindex(idx)[variable].astype(float)
            hi = st.p_max_kw.reindex(idx)[variable].astype(float)
            for bad, rule in (
                (lo > hi, "p_min_kw {lo:g} > p_max_kw {hi:g}"),
                (lo.gt(s_kva[variable], axis=1), "p_min_kw {lo:g} > s_kva {s:g}"),
                (hi.lt(-s_kva[variable], axis=1), "p_max_kw {hi:g} < -s_kva {s:g}"),
            ):
                if bad.to_numpy().any():
                    col, t, _, n = _first_bad(lo, bad)
                    text = rule.format(lo=lo.loc[t, col], hi=hi.loc[t, col], s=s_kva[col])
                    raise GridDataError(
                        f"station slot '{col}' at {t}: {text} ({n} period(s)); no power "
                        "within its bounds and its converter rating exists"
                    )
        fixed = st.slots.index[~st.slots.p_variable.astype(bool)]
        fixed = fixed.difference(fleet_slots(st), sort=False)
        if st.p_kw is not None and len(fixed):
            p = st.p_kw.reindex(idx)[fixed].astype(float)
            bad = p.abs().gt(s_kva[fixed] * (1.0 + 1e-9), axis=1)
            if bad.to_numpy().any():
                col, t, v, n = _first_bad(p, bad)
                raise GridDataError(
                    f"station slot '{col}' at {t}: fixed p_kw {v:g} exceeds its converter "
                    f"rating s_kva {s_kva[col]:g} ({n} period(s))"
                )
    source = str(data.feeder.source_bus)
    if source in data.bus_v_limits:
        lo_v, hi_v = data.bus_v_limits[source]
        vs = data.v_source_pu
        if vs is None:
            vs = float(data.feeder.source["vm_pu"].iloc[0])
        if not lo_v <= vs <= hi_v:
            raise GridDataError(
                f"bus '{source}' is the source bus: its voltage is fixed at {vs:g} pu by the "
                f"source, outside its limits [{lo_v:g}, {hi_v:g}] pu; change the limits or "
                "options.v_source_pu"
            )


def load_profile_columns(columns, buses) -> tuple[list[str], np.ndarray]:
    """The load-profile column each bus's load follows: the bus's own column of
    ``load_scale``, else ``"*"`` (every bus), else a constant column ``"1"`` (appended to the
    returned columns). Returns ``(columns, column index per bus)``; the one rule for the
    optimizer, its result tables and the replays."""
    columns = [str(c) for c in columns]
    buses = [str(b) for b in buses]
    pos = {c: k for k, c in enumerate(columns)}
    fallback = pos.get("*")
    if fallback is None and any(b not in pos for b in buses):
        columns = [*columns, "1"]
        fallback = len(columns) - 1
    return columns, np.array([pos.get(b, fallback) for b in buses], dtype=int)


def load_profile_values(load_scale: pd.DataFrame, horizon: Horizon, columns) -> np.ndarray:
    """(column x period) multipliers of ``columns`` (from :func:`load_profile_columns`; the
    constant column ``"1"`` is 1)."""
    scale = load_scale.reindex(horizon.index)
    scale.columns = [str(c) for c in scale.columns]
    out = np.ones((len(columns), horizon.periods))
    for k, col in enumerate(columns):
        if col in scale.columns:
            out[k] = scale[col].to_numpy(float)
    return out


def fleet_slots(stations: StationSlotData | None) -> list[str]:
    """Names of the slots whose power is a fleet station's net import (``fleet`` column)."""
    if stations is None or "fleet" not in stations.slots:
        return []
    marked = stations.slots["fleet"].fillna(False).astype(bool)
    return list(stations.slots.index[marked])


def fixed_fleet(data: GridData, net_kw: pd.DataFrame) -> GridData:
    """``data`` with its fleet replaced by fixed station profiles: each fleet slot consumes
    ``net_kw[slot]`` (time x station, kW; e.g. the uncontrolled baseline's or a station-only
    schedule's net import). The grid then only dispatches DER and reactive power around it:
    the sequential plan a joint solve is compared with."""
    st = data.stations
    marked = fleet_slots(st)
    missing = sorted(set(marked) - set(net_kw.columns))
    if missing:
        raise GridV2GError(f"fixed_fleet: no profile for fleet slot(s) {missing}")
    slots = st.slots.copy()
    slots.loc[marked, "p_variable"] = False
    slots["fleet"] = False
    index = data.horizon.index
    p_kw = st.p_kw.copy() if st.p_kw is not None else pd.DataFrame(0.0, index, slots.index)
    p_kw.loc[:, marked] = net_kw.reindex(index)[marked].to_numpy()
    stations = StationSlotData(slots=slots, p_kw=p_kw, p_min_kw=st.p_min_kw, p_max_kw=st.p_max_kw)
    return dataclasses.replace(data, fleet=None, stations=stations)


# ---------------------------------------------------------------------------- stations
#: stands for "no limit" in a Parameter (CVXPY Parameters cannot hold inf) [kW]
NO_LIMIT_KW = 1e9


@dataclass
class StationSpec:
    """Stations (index = name): ``ports`` (NaN or inf = unlimited), ``p_import_max_kw`` and
    ``p_export_max_kw`` as (time x station) frames; ``chargers`` (index = name) with
    ``station``, ``p_max_kw``; ``ess`` (index = station) with ``e_kwh``, ``p_kw``,
    ``eta_charge``, ``eta_discharge``, ``soc_min``, ``soc_max``, ``soc_initial``,
    ``end_rule``."""

    stations: pd.DataFrame
    p_import_max_kw: pd.DataFrame
    p_export_max_kw: pd.DataFrame
    chargers: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["station", "p_max_kw"])
    )
    ess: pd.DataFrame | None = None


@dataclass
class Prices:
    """Per period [money/kWh]: ``buy`` from the grid, ``sell`` to it (V2G), ``tariff``
    charged to EV owners, ``v2g_pay`` paid to them per kWh discharged."""

    buy: pd.Series
    sell: pd.Series
    tariff: pd.Series
    v2g_pay: pd.Series


@dataclass
class StationData:
    horizon: Horizon
    sessions: pd.DataFrame
    stations: StationSpec
    prices: Prices
    objective: str = "cost"  # or "profit"
    degradation_per_kwh: float = 0.0
    soft_target: bool = False
    shortfall_penalty_per_kwh: float = 1.0
    exclusive: bool = False
    v2g: bool = True
    ess_exclusive: bool = False
    #: scale mode: EVs enter the problem as flexibility groups, per-EV schedules come from an
    #: exact disaggregation afterwards (:mod:`gridv2g.model.aggregate`)
    aggregate: bool = False


@dataclass
class StochasticData:
    """``base``: a one-station StationData (its sessions are ignored); ``scenarios``: session
    tables, one per scenario; ``mean_sessions``: the mean-value scenario; ``day_ahead_price``
    [per kWh] of the storage energy bought the day before."""

    base: StationData
    scenarios: list[pd.DataFrame]
    mean_sessions: pd.DataFrame
    day_ahead_price_per_kwh: float


# ---------------------------------------------------------------------------- V2A
#: the V2A modes (Mao, Zhang & Zhou 2018): statuses an EV may take per slot besides idle
MODES = ("G2V", "V2H", "V2B", "V2V", "V2G")
#: discharging modes (eq. 7)
DISCHARGE_MODES = ("V2H", "V2B", "V2V", "V2G")
#: discharge that serves the site's own base load (eq. 11)
OWN_LOAD_MODES = ("V2H", "V2B")
#: status label of each mode in result tables
STATUS = {"G2V": "charging", "V2H": "V2H", "V2B": "V2B", "V2V": "V2V", "V2G": "V2G"}
IDLE = "idle"


#: modes of each site kind, Sect. 2: "G2V, V2H, and V2G at home; G2V, V2B, and V2G in building
#: garages; G2V, V2V, and V2G at a commercial charging station"
SITE_MODES: dict[str, tuple[str, ...]] = {
    "home": ("G2V", "V2H", "V2G"),
    "building": ("G2V", "V2B", "V2G"),
    "station": ("G2V", "V2V", "V2G"),
}
#: the only site kind at which each own-load mode exists (V2H serves a home, V2B a building)
OWN_LOAD_SITE = {"V2H": "home", "V2B": "building"}


@dataclass
class V2AData:
    """Inputs of a V2A site.

    ``sessions``: the EV session table (:mod:`gridv2g.fleet`; its ``station`` column is not
    used, every EV is at this site; ``v2g`` False forbids every discharge mode).
    ``base_load_kw``, ``load_price``, ``v2g_price``: Series on ``horizon.index`` [kW],
    [money/kWh], [money/kWh]. ``rho`` [money/kWh short of the target], ``lambda_`` [money/kWh
    discharged]. ``modes``: allowed modes (default: the site kind's, :data:`SITE_MODES`).
    ``rated_power``: a status runs at the EV's rated power (the paper's assumption 4).
    """

    horizon: Horizon
    sessions: pd.DataFrame
    site_kind: str
    base_load_kw: pd.Series
    load_price: pd.Series
    v2g_price: pd.Series
    rho: float = 1.5
    lambda_: float = 0.15
    modes: tuple[str, ...] | None = None
    rated_power: bool = False

    def allowed_modes(self) -> tuple[str, ...]:
        """The allowed modes, checked against the site kind (raises V2AError)."""
        if self.site_kind not in SITE_MODES:
            raise V2AError(
                f"site kind {self.site_kind!r} is unknown; valid: {', '.join(SITE_MODES)}"
            )
        modes = SITE_MODES[self.site_kind] if self.modes is None else tuple(self.modes)
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            raise V2AError(f"unknown V2A mode(s) {unknown}; valid: {list(MODES)}")
        for mode, kind in OWN_LOAD_SITE.items():
            if mode in modes and self.site_kind != kind:
                raise V2AError(
                    f"mode {mode} serves the own load of a {kind}, not of a {self.site_kind}; "
                    f"the modes of each site kind (Sect. 2): {SITE_MODES}"
                )
        return tuple(m for m in MODES if m in modes)


def placement(table: pd.DataFrame) -> tuple[list[str], list[str | None], list[str]]:
    """Buses, phases (None: every phase of the bus) and connections (``wye`` unless given)
    of device rows: DER units or station slots, whose ``phases`` and ``conn`` columns are
    optional."""

    def column(name: str, default):
        if name not in table:
            return [default] * len(table)
        return [default if v is None or v != v else str(v) for v in table[name]]  # v != v: NaN

    return [str(b) for b in table.bus], column("phases", None), column("conn", "wye")
