"""From a validated case to the inputs the problems consume (:mod:`gridv2g.inputs`): profile
files read, sessions read or sampled, feeder loaded; the problems themselves read no file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gridv2g import fleet, profiles
from gridv2g.case.specs import (
    Case,
    CaseError,
    ProfileSpec,
    StationCase,
    StationObjectiveSpec,
    StationPricesSpec,
    StochasticCase,
    V2ACase,
    V2AProfileSpec,
)
from gridv2g.errors import SessionError
from gridv2g.feeders import Feeder, from_opendss, load_feeder
from gridv2g.horizon import Horizon
from gridv2g.inputs import (
    DERData,
    GridData,
    Prices,
    StationData,
    StationSlotData,
    StationSpec,
    StochasticData,
    V2AData,
)


def horizon_of(case) -> Horizon:
    """The case's :class:`~gridv2g.horizon.Horizon` (one builder for every case kind)."""
    h = case.horizon
    return Horizon(start=pd.Timestamp(h.start), periods=h.periods, minutes=h.minutes)


def sessions_of(case, horizon: Horizon, stations: list[str]) -> pd.DataFrame:
    """The case's session table: read from CSV, or drawn by a :mod:`gridv2g.fleet` sampler
    (:func:`gridv2g.fleet.sample_sessions`) for ``stations`` on the horizon's period grid."""
    spec = case.sessions
    if spec.csv is not None:
        return fleet.read_sessions(case.path(spec.csv), stations=stations, horizon=horizon)
    try:
        return fleet.sample_sessions(
            spec.sampler,
            horizon,
            stations,
            seed=spec.seed,
            n=spec.n,
            day=spec.day,
            station=spec.station,
            options=spec.options,
        )
    except SessionError as exc:
        if "takes no" in str(exc):
            raise CaseError(f"case '{case.name}': {exc}") from None
        raise


def profile_frame(case: Case, spec: ProfileSpec, horizon, column: str, kind: str) -> pd.Series:
    """Evaluate a ProfileSpec on the horizon as a Series (scaled)."""
    if spec.constant is not None:
        series = pd.Series(float(spec.constant), index=horizon.index)
    elif spec.shape is not None:
        if kind == "price":
            series = profiles.price_shape(spec.shape, horizon)
        else:
            location = getattr(case, "location", None)
            if location is None and spec.shape in profiles.NEEDS_SITE:
                raise CaseError(
                    f"case '{case.name}': shape '{spec.shape}' needs the case's location "
                    "(location: {latitude: <deg N>, longitude: <deg E>, tz: <IANA name>})"
                )
            site = None if location is None else location.site()
            series = profiles.standard_shape(spec.shape, horizon, site=site)
    else:
        col = spec.column or column
        frame = profiles.read_profile(
            case.path(spec.csv), horizon, columns=[col], kind=kind, resample=spec.resample
        )
        series = frame[col]
    return (series * spec.scale).rename(column)


def load_feeder_spec(case: Case):
    """The Feeder a case names."""
    spec = case.feeder
    if spec.shipped is not None:
        return load_feeder(spec.shipped)
    if spec.opendss is not None:
        return from_opendss(case.path(spec.opendss))
    return Feeder.from_dir(case.path(spec.tables))


def grid_data(case: Case, feeder=None):
    """Turn a validated Case into :class:`~gridv2g.problems.co_optimize.GridData` (reads the
    profile files; the problem itself reads none)."""
    feeder = feeder if feeder is not None else load_feeder_spec(case)
    for kind, items in (("der", case.der), ("stations", case.stations)):
        for k, item in enumerate(items):
            if item.bus not in feeder.bus.index:
                raise CaseError(
                    f"case '{case.name}': {kind}[{k}] '{item.name}' is at bus '{item.bus}', "
                    f"which feeder '{feeder.name}' does not have"
                )
    names = [d.name for d in case.der] + [s.name for s in case.stations]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CaseError(f"case '{case.name}': duplicate DER/station name(s) {dup}")
    horizon = horizon_of(case)
    if case.load.csv is not None and case.load.column is None:
        # one column per bus: each bus's own multiplier
        load_scale = profiles.read_profile(
            case.path(case.load.csv), horizon, kind="load", resample=case.load.resample
        )
        load_scale = load_scale * case.load.scale
    else:
        load_scale = profile_frame(case, case.load, horizon, "*", "load").to_frame()
    prices = profile_frame(case, case.prices, horizon, "buy_per_kwh", "price")

    der = None
    if case.der:
        units = pd.DataFrame(
            {
                "bus": [d.bus for d in case.der],
                "kind": [d.kind for d in case.der],
                "s_kva": [d.s_kva for d in case.der],
                "pf_min": [d.pf_min for d in case.der],
                "phases": [d.phases for d in case.der],
                "conn": [d.conn for d in case.der],
            },
            index=pd.Index([d.name for d in case.der], name="der"),
        )
        avail = pd.concat(
            [
                profile_frame(case, d.availability, horizon, d.name, "availability")
                for d in case.der
            ],
            axis=1,
        )
        der = DERData(units=units, availability=avail)
    stations = None
    if case.stations:
        slots = pd.DataFrame(
            {
                "bus": [s.bus for s in case.stations],
                "s_kva": [s.s_kva for s in case.stations],
                "p_variable": [s.p_kw is None for s in case.stations],
                "fleet": [s.fleet for s in case.stations],
                "phases": [s.phases for s in case.stations],
                "conn": [s.conn for s in case.stations],
            },
            index=pd.Index([s.name for s in case.stations], name="station"),
        )
        cols, lo, hi = {}, {}, {}
        for s in case.stations:
            if s.p_kw is not None:
                cols[s.name] = profile_frame(case, s.p_kw, horizon, s.name, "load")
            else:
                lo[s.name] = pd.Series(
                    s.p_min_kw if s.p_min_kw is not None else -s.s_kva, index=horizon.index
                )
                hi[s.name] = pd.Series(
                    s.p_max_kw if s.p_max_kw is not None else s.s_kva, index=horizon.index
                )

        def frame(d):
            return pd.DataFrame(d, index=horizon.index).reindex(columns=slots.index, fill_value=0.0)

        stations = StationSlotData(
            slots=slots, p_kw=frame(cols), p_min_kw=frame(lo), p_max_kw=frame(hi)
        )
    opt = case.options
    objective = {k: v for k, v in case.objective.model_dump().items() if v}
    for term in ("ev_degradation", "ev_shortfall"):  # an explicit 0 switches a term off
        if getattr(case.objective, term) is not None:
            objective[term] = getattr(case.objective, term)
    return GridData(
        feeder=feeder,
        horizon=horizon,
        load_scale=load_scale,
        price_per_kwh=prices,
        der=der,
        stations=stations,
        reactive=opt.reactive.model_dump(),
        curtailment=opt.curtailment,
        curtailment_cost_per_kwh=opt.curtailment_cost_per_kwh,
        vmin_pu=opt.vmin_pu,
        vmax_pu=opt.vmax_pu,
        bus_v_limits={k: tuple(v) for k, v in opt.bus_v_limits.items()},
        v_source_pu=opt.v_source_pu,
        ampacity=opt.ampacity,
        objective=objective,
        s_base_kva=opt.s_base_kva,
        formulation=case.formulation,
        fleet=fleet_data(case) if case.fleet is not None else None,
    )


def fleet_data(case: Case):
    """The :class:`~gridv2g.problems.station.StationData` of a grid case's fleet: its sites,
    sessions and options, priced at the case's energy price (for the money figures only)."""
    fleet = case.fleet
    sites = {s.name for s in fleet.sites}
    slots = {s.name for s in case.stations if s.fleet}
    if sites != slots:
        raise CaseError(
            f"case '{case.name}': every fleet site needs a station slot with fleet: true of the "
            f"same name and vice versa; sites without a slot {sorted(sites - slots)}, fleet "
            f"slots without a site {sorted(slots - sites)}"
        )
    station_case = StationCase(
        name=case.name,
        problem="schedule_station",
        horizon=case.horizon,
        prices=StationPricesSpec(buy=case.prices),
        sessions=fleet.sessions,
        stations=fleet.sites,
        objective=StationObjectiveSpec(kind="cost", degradation_per_kwh=fleet.degradation_per_kwh),
        options=fleet.options,
        base_dir=case.base_dir,
    )
    station_case._root = case._root  # the grid case's file confinement holds for its fleet
    return station_data(station_case)


def _station_names(case) -> list[str]:
    names = [s.name for s in case.stations]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CaseError(f"case '{case.name}': duplicate station name(s) {dup}")
    return names


def station_data(case: StationCase):
    """Turn a validated StationCase into :class:`~gridv2g.problems.station.StationData`."""
    if case.options.aggregate and getattr(case, "mpc", None) is not None:
        raise CaseError(
            f"case '{case.name}': options.aggregate (scale mode) is not available with mpc; "
            "drop one of them"
        )
    horizon = horizon_of(case)
    names = _station_names(case)
    sessions = sessions_of(case, horizon, names)
    stations, prices = station_spec_and_prices(case, horizon)
    opt = case.options
    return StationData(
        horizon=horizon,
        sessions=sessions,
        stations=stations,
        prices=prices,
        objective=case.objective.kind,
        degradation_per_kwh=case.objective.degradation_per_kwh,
        soft_target=opt.target == "soft",
        shortfall_penalty_per_kwh=opt.shortfall_penalty_per_kwh,
        exclusive=opt.exclusive,
        v2g=opt.v2g,
        ess_exclusive=opt.ess_exclusive,
        aggregate=opt.aggregate,
    )


def station_spec_and_prices(case, horizon):
    """StationSpec and Prices of a station or stochastic case, on ``horizon``."""
    names = _station_names(case)
    idx = horizon.index

    def limit(p, column):
        if p is None:
            return pd.Series(np.nan, index=idx, name=column)
        return profile_frame(case, p, horizon, column, "load")

    imp = pd.concat([limit(s.p_import_max_kw, s.name) for s in case.stations], axis=1)
    exp = pd.concat([limit(s.p_export_max_kw, s.name) for s in case.stations], axis=1)
    stations = pd.DataFrame(
        {"ports": [np.nan if s.ports is None else float(s.ports) for s in case.stations]},
        index=pd.Index(names, name="station"),
    )
    chargers = pd.DataFrame(
        [
            {"name": c.name, "station": s.name, "p_max_kw": c.p_max_kw}
            for s in case.stations
            for c in s.chargers
        ],
        columns=["name", "station", "p_max_kw"],
    ).set_index("name")
    ess_rows = {s.name: s.ess.model_dump() for s in case.stations if s.ess is not None}
    ess = pd.DataFrame.from_dict(ess_rows, orient="index") if ess_rows else None
    buy = profile_frame(case, case.prices.buy, horizon, "buy_per_kwh", "price")

    def price(p, column, default):
        if p is None:
            return default.rename(column)
        return profile_frame(case, p, horizon, column, "price")

    zero = pd.Series(0.0, index=idx)
    prices = Prices(
        buy=buy,
        sell=price(case.prices.sell, "sell_per_kwh", buy),
        tariff=price(case.prices.tariff, "tariff_per_kwh", zero),
        v2g_pay=price(case.prices.v2g_pay, "v2g_pay_per_kwh", zero),
    )
    spec = StationSpec(
        stations=stations, p_import_max_kw=imp, p_export_max_kw=exp, chargers=chargers, ess=ess
    )
    return spec, prices


def stochastic_data(case: StochasticCase):
    """Turn a StochasticCase into :class:`~gridv2g.problems.stochastic.StochasticData`."""
    if case.options.aggregate:
        raise CaseError(
            f"case '{case.name}': options.aggregate (scale mode) is not available in a "
            "stochastic case"
        )
    horizon = horizon_of(case)
    stations, prices = station_spec_and_prices(case, horizon)
    if stations.ess is None:
        raise CaseError(f"case '{case.name}': the station needs an ess (the first stage)")
    name = case.stations[0].name
    spec = case.scenarios
    kwargs = {
        "day": spec.day or str(horizon.start.date()),
        "station": name,
        "step_min": horizon.minutes,
        **spec.options,
    }
    sampler = fleet.sampler(spec.sampler)
    scenarios = fleet.sample_scenarios(spec.count, spec.mean_evs, spec.seed, sampler, **kwargs)
    for k, table in enumerate(scenarios):
        fleet.check_sessions(table, stations=[name], horizon=horizon, source=f"scenario {k}")
    ranges = {k: v for k, v in kwargs.items() if k not in ("station", "step_min", "day")}
    mean = fleet.mean_scenario(spec.mean_evs, kwargs["day"], name, horizon.minutes, **ranges)
    opt = case.options
    base = StationData(
        horizon=horizon,
        sessions=mean,
        stations=stations,
        prices=prices,
        objective="profit",
        degradation_per_kwh=case.objective.degradation_per_kwh,
        soft_target=opt.target == "soft",
        shortfall_penalty_per_kwh=opt.shortfall_penalty_per_kwh,
        exclusive=opt.exclusive,
        v2g=opt.v2g,
    )
    return StochasticData(
        base=dataclasses.replace(base),
        scenarios=scenarios,
        mean_sessions=mean,
        day_ahead_price_per_kwh=case.day_ahead_price_per_kwh,
    )


# ---------------------------------------------------------------------------- V2A


def v2a_profile(case: V2ACase, spec: V2AProfileSpec, horizon: Horizon, column: str, kind: str):
    """Evaluate a profile spec on the horizon as a Series named ``column`` (scaled)."""
    if spec.values is not None:
        return (profiles.hourly_table(horizon, spec.values, column) * spec.scale).rename(column)
    return profile_frame(case, spec, horizon, column, kind)


def v2a_data(case: V2ACase):
    """Turn a validated V2ACase into :class:`~gridv2g.problems.v2a.V2AData` (reads the files;
    the problem itself reads none)."""
    horizon = horizon_of(case)
    site = case.site
    return V2AData(
        horizon=horizon,
        sessions=sessions_of(case, horizon, [site.name]).assign(station=site.name),
        site_kind=site.kind,
        base_load_kw=v2a_profile(case, site.base_load_kw, horizon, "base_load_kw", "load"),
        load_price=v2a_profile(case, case.prices.load, horizon, "load_price", "price"),
        v2g_price=v2a_profile(case, case.prices.v2g, horizon, "v2g_price", "price"),
        rho=case.objective.rho_per_kwh,
        lambda_=case.objective.lambda_per_kwh,
        modes=None if site.modes is None else tuple(site.modes),
        rated_power=case.options.rated_power,
    )
