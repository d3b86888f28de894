"""V2A case files (``problem: v2a``): one site, its base load, two price signals, EVs.

The schema of seed 002's studies (Mao, Zhang & Zhou 2018, Appl. Sci. 8(7) 1048): a home, a
building or a charging station (``site.kind``, which fixes the allowed modes of Sect. 2 unless
``site.modes`` overrides them), the site's base load [kW], the load price and the V2G price
[money/kWh] (Sect. 3 assumption 3: two different signals), EV sessions (a CSV or a seeded
sampler of :mod:`gridv2g.fleet`), the penalties rho and lambda of eq. 10 and the solver.
Every field is validated once here (unknown fields are rejected); relative paths resolve
against ``base_dir`` (the case file's folder). :func:`v2a_data` turns a case into
:class:`~gridv2g.problems.v2a.V2AData`.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridv2g.case import CaseError, HorizonSpec, ProfileSpec, SessionsSpec, profile_frame
from gridv2g.profiles import Horizon

#: the household bills of seed 002 Sect. 4.2 [p.u.]: "101.09 p.u. and 105.71 p.u.,
#: respectively, with and without EV discharging, indicating a reduction of 4.37%"
SEED002_HOUSEHOLD_BILL_PU = {"with discharge": 101.09, "without discharge": 105.71}

HOURS_PER_DAY = 24


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class V2AProfileSpec(ProfileSpec):
    """A time profile: a standard shape, a CSV column, a constant or 24 hourly values."""

    values: list[float] | None = Field(
        None,
        description="24 values by clock hour (the first for 00:00-01:00), repeated daily; "
        "held within the hour, averaged over longer periods",
    )

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("shape", "csv", "constant", "values") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of shape, csv, constant, values (got {given or 'none'})"
            )
        if self.values is not None and len(self.values) != HOURS_PER_DAY:
            raise ValueError(f"values: give 24 hourly values, got {len(self.values)}")
        return self


class V2ASiteSpec(_Model):
    kind: Literal["home", "building", "station"] = Field(
        description="site kind; its modes (Sect. 2): home G2V/V2H/V2G, building G2V/V2B/V2G, "
        "station G2V/V2V/V2G"
    )
    name: str = Field("site", description="site name, the sessions' station column")
    base_load_kw: V2AProfileSpec = Field(
        description="the site's own load without EVs [kW] (a standard shape is per unit of "
        "its peak: scale it by the peak in kW)"
    )
    modes: list[Literal["G2V", "V2H", "V2B", "V2V", "V2G"]] | None = Field(
        None,
        description="allowed modes, overriding the kind's (V2H only at a home, V2B only at a "
        "building); [G2V] = charging only",
    )


class V2APricesSpec(_Model):
    load: V2AProfileSpec = Field(
        description="load price [money/kWh]: every kWh the site imports (base load and EV charging)"
    )
    v2g: V2AProfileSpec = Field(description="V2G price [money/kWh]: every kWh exported (V2G)")


class V2AObjectiveSpec(_Model):
    rho_per_kwh: float = Field(
        1.5, ge=0, description="rho of eq. 10: penalty per kWh short of a departure target"
    )
    lambda_per_kwh: float = Field(
        0.15, ge=0, description="lambda of eq. 10: cycle (degradation) penalty per kWh discharged"
    )


class V2AOptionsSpec(_Model):
    rated_power: bool = Field(
        False,
        description="a status runs at the EV's rated power (seed 002 assumption 4; pure binary "
        "model) instead of anywhere up to it",
    )


class V2ASolverSpec(_Model):
    name: str = Field("HIGHS", description="a MILP solver installed for CVXPY")
    options: dict[str, float | int | str | bool] = Field(
        default_factory=dict, description="passed to the solver"
    )


class V2ACase(_Model):
    """A V2A case: one site with its base load, two price signals and EVs (no feeder)."""

    name: str = Field(description="case name, used for output folders")
    description: str = Field("", description="free text")
    problem: Literal["v2a"] = Field(description="V2A scheduling of one site (seed 002)")
    horizon: HorizonSpec = Field(default_factory=HorizonSpec, description="time grid")
    site: V2ASiteSpec = Field(description="site kind, base load [kW], allowed modes")
    prices: V2APricesSpec = Field(description="load and V2G price signals [money/kWh]")
    sessions: SessionsSpec = Field(description="EV sessions: CSV or sampler")
    objective: V2AObjectiveSpec = Field(
        default_factory=V2AObjectiveSpec, description="penalties rho and lambda [money/kWh]"
    )
    options: V2AOptionsSpec = Field(default_factory=V2AOptionsSpec, description="power model")
    solver: V2ASolverSpec = Field(default_factory=V2ASolverSpec, description="solver, options")
    base_dir: str = Field(".", description="folder for relative paths (set by load_case)")

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else Path(self.base_dir) / p


def _horizon(case: V2ACase) -> Horizon:
    h = case.horizon
    return Horizon(start=pd.Timestamp(h.start), periods=h.periods, minutes=h.minutes)


def v2a_profile(case: V2ACase, spec: V2AProfileSpec, horizon: Horizon, column: str, kind: str):
    """Evaluate a profile spec on the horizon as a Series named ``column`` (scaled)."""
    from gridv2g.profiles import hourly_table

    if spec.values is not None:
        return (hourly_table(horizon, spec.values, column) * spec.scale).rename(column)
    return profile_frame(case, spec, horizon, column, kind)


def v2a_sessions(case: V2ACase, horizon: Horizon) -> pd.DataFrame:
    """The case's session table: read from CSV or drawn by a :mod:`gridv2g.fleet` sampler on
    the horizon's period grid; every EV is at the site."""
    from gridv2g import fleet

    spec, site = case.sessions, case.site.name
    if spec.csv is not None:
        return fleet.read_sessions(case.path(spec.csv), stations=[site], horizon=horizon)
    name = "seed001_lot" if spec.sampler == "seed001_lot" else f"sample_{spec.sampler}"
    sampler = getattr(fleet, name)
    accepted = inspect.signature(sampler).parameters
    kwargs = dict(spec.options)
    if spec.n is not None:
        kwargs["n"] = spec.n
    kwargs["seed"] = spec.seed
    kwargs["day"] = spec.day or str(horizon.start.date())
    if "step_min" in accepted:
        # times on the period grid: an EV is then plugged in for whole periods only
        kwargs.setdefault("step_min", horizon.minutes)
    if "station" in accepted:
        kwargs["station"] = site
    for key in ("soc_limits",):  # YAML lists -> tuples where the sampler expects them
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise CaseError(
            f"case '{case.name}': sessions sampler '{spec.sampler}' takes no {unknown}; "
            f"it takes {sorted(accepted)}"
        )
    sessions = sampler(**kwargs).assign(station=site)
    fleet.check_sessions(sessions, stations=[site], horizon=horizon, source=spec.sampler)
    return sessions


def v2a_data(case: V2ACase):
    """Turn a validated V2ACase into :class:`~gridv2g.problems.v2a.V2AData` (reads the files;
    the problem itself reads none)."""
    from gridv2g.problems.v2a import V2AData

    horizon = _horizon(case)
    site = case.site
    return V2AData(
        horizon=horizon,
        sessions=v2a_sessions(case, horizon),
        site_kind=site.kind,
        base_load_kw=v2a_profile(case, site.base_load_kw, horizon, "base_load_kw", "load"),
        load_price=v2a_profile(case, case.prices.load, horizon, "load_price", "price"),
        v2g_price=v2a_profile(case, case.prices.v2g, horizon, "v2g_price", "price"),
        rho=case.objective.rho_per_kwh,
        lambda_=case.objective.lambda_per_kwh,
        modes=None if site.modes is None else tuple(site.modes),
        rated_power=case.options.rated_power,
    )
