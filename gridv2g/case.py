"""Case files: YAML validated once at load time against a schema with units and defaults.

A case says which problem to solve and gives every input: feeder, horizon, base load, prices,
DER, station slots, options, objective, solver. Unknown fields are rejected with the list of
valid ones, errors name the file and line, YAML is loaded with ``yaml.safe_load`` semantics
(``yaml.compose``, no object construction), and relative paths are resolved against the case
file's folder. ``gridv2g schema`` prints the JSON Schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gridv2g.errors import GridV2GError


class CaseError(GridV2GError, ValueError):
    """A case file is missing, not YAML, or does not match the schema (file and line named)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileSpec(_Model):
    """A time profile: a standard shape, a CSV column, or a constant (exactly one)."""

    shape: str | None = Field(None, description="standard shape name (gridv2g.profiles)")
    csv: str | None = Field(None, description="CSV file with a 'time' column, relative path")
    column: str | None = Field(None, description="CSV column (default: the element's name)")
    constant: float | None = Field(None, description="the same value in every period")
    scale: float = Field(1.0, description="multiplier applied to the profile")
    resample: bool = Field(False, description="allow a profile at another resolution")

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("shape", "csv", "constant") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of shape, csv, constant (got {given or 'none'})")
        return self


class HorizonSpec(_Model):
    start: str = Field("2024-01-01T00:00", description="ISO timestamp of the first period")
    periods: int = Field(24, ge=1, description="number of periods")
    minutes: int = Field(60, ge=1, description="period length [min]")


class FeederSpec(_Model):
    shipped: str | None = Field(None, description="a shipped feeder: ieee33, ieee123")
    opendss: str | None = Field(None, description="master .dss file of a radial feeder")
    tables: str | None = Field(None, description="folder written by Feeder.to_dir")

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("shipped", "opendss", "tables") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of shipped, opendss, tables (got {given})")
        return self


class DERSpec(_Model):
    name: str = Field(description="unit name")
    kind: Literal["pv", "wind"] = Field(description="device class (reactive switch per class)")
    bus: str = Field(description="feeder bus name")
    s_kva: float = Field(gt=0, description="inverter rating [kVA]")
    availability: ProfileSpec = Field(description="available power, per unit of s_kva")
    pf_min: float = Field(0.0, ge=0, le=1, description="minimum power factor (0 = none)")


class StationSlotSpec(_Model):
    name: str = Field(description="slot name")
    bus: str = Field(description="feeder bus name")
    s_kva: float = Field(gt=0, description="converter rating [kVA]")
    p_kw: ProfileSpec | None = Field(None, description="fixed consumption profile [kW]")
    p_min_kw: float | None = Field(None, description="lower bound if p is a variable [kW]")
    p_max_kw: float | None = Field(None, description="upper bound if p is a variable [kW]")
    fleet: bool = Field(
        False,
        description="active power is the net import of the fleet site of the same name "
        "(optimized with its EVs; within +-s_kva)",
    )

    @model_validator(mode="after")
    def _fixed_or_variable(self):
        variable = self.p_min_kw is not None or self.p_max_kw is not None
        if self.fleet:
            if self.p_kw is not None or variable:
                raise ValueError("a fleet slot takes its power from its EVs: no p_kw, p_min_kw")
            return self
        if (self.p_kw is None) == (not variable):
            raise ValueError(
                "give either p_kw (fixed profile), p_min_kw/p_max_kw (variable) or fleet: true"
            )
        return self


class ReactiveSpec(_Model):
    pv: bool = Field(True, description="PV inverters dispatch reactive power")
    wind: bool = Field(True, description="wind inverters dispatch reactive power")
    station: bool = Field(True, description="station converters dispatch reactive power")


class OptionsSpec(_Model):
    reactive: ReactiveSpec = Field(default_factory=ReactiveSpec, description="Q dispatch")
    curtailment: bool = Field(True, description="DER may produce less than available")
    curtailment_cost_per_kwh: float = Field(0.0, ge=0, description="per kWh curtailed")
    vmin_pu: float = Field(0.95, gt=0, description="lower voltage limit [pu]")
    vmax_pu: float = Field(1.05, gt=0, description="upper voltage limit [pu]")
    v_source_pu: float | None = Field(None, gt=0, description="default: the feeder's source")
    bus_v_limits: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="{bus: [vmin_pu, vmax_pu]} overrides"
    )
    ampacity: bool = Field(True, description="enforce known branch ampacities")
    s_base_kva: float = Field(1000.0, gt=0, description="per-unit power base")


class ObjectiveSpec(_Model):
    losses: float = Field(0.0, description="weight on daily losses [per kWh]")
    energy_cost: float = Field(0.0, description="weight on substation energy cost")
    voltage_deviation: float = Field(0.0, description="weight on sum |v - 1|")
    curtailment: float = Field(0.0, description="weight on curtailment cost")
    ev_degradation: float | None = Field(
        None, description="weight on the fleet's V2G degradation cost (default 1 with a fleet)"
    )
    ev_shortfall: float | None = Field(
        None, description="weight on the fleet's shortfall penalty (default 1 with a fleet)"
    )


class SolverSpec(_Model):
    name: str = Field("CLARABEL", description="any installed CVXPY solver")
    options: dict[str, float | int | str | bool] = Field(
        default_factory=dict, description="passed to the solver"
    )


class SitingCaseSpec(_Model):
    """Where the fleet's stations connect and how large they are (``gridv2g site``)."""

    candidates: dict[str, list[str]] = Field(description="{site: [candidate buses]}")
    sizes_kva: dict[str, list[float]] = Field(description="{site: [converter sizes, kVA]}")
    cost_per_kva_day: float = Field(
        0.0, ge=0, description="annualised investment per kVA and day [money]"
    )
    method: Literal["pso", "enumerate"] = Field(
        "pso", description="particle swarm, or every combination (exact, small cases)"
    )
    particles: int = Field(10, ge=1, description="PSO swarm size")
    iterations: int = Field(20, ge=0, description="PSO iterations")
    seed: int = Field(0, description="PSO random seed")


class Case(_Model):
    """A gridv2g case (see the module docstring)."""

    name: str = Field(description="case name, used for output folders")
    description: str = Field("", description="free text")
    problem: Literal["co_optimize"] = Field(
        "co_optimize", description="grid co-optimization (DistFlow SOCP + DER + stations)"
    )
    feeder: FeederSpec = Field(description="shipped name (ieee33, ieee123) or a source")
    horizon: HorizonSpec = Field(default_factory=HorizonSpec, description="time grid")
    load: ProfileSpec = Field(
        default_factory=lambda: ProfileSpec(constant=1.0),
        description="base-load multiplier of each bus's nominal load",
    )
    prices: ProfileSpec = Field(
        default_factory=lambda: ProfileSpec(shape="flat"), description="energy price per kWh"
    )
    der: list[DERSpec] = Field(default_factory=list, description="PV and wind inverters")
    stations: list[StationSlotSpec] = Field(
        default_factory=list, description="station converter slots on the feeder"
    )
    fleet: FleetSpec | None = Field(None, description="EVs at the fleet slots, co-optimized")
    siting: SitingCaseSpec | None = Field(
        None, description="station siting and sizing for `gridv2g site` (needs a fleet)"
    )
    options: OptionsSpec = Field(default_factory=OptionsSpec, description="limits, switches")
    objective: ObjectiveSpec = Field(
        default_factory=lambda: ObjectiveSpec(losses=1.0), description="weighted terms"
    )
    solver: SolverSpec = Field(default_factory=SolverSpec, description="solver and options")
    #: folder against which relative paths resolve (set by load_case)
    base_dir: str = Field(".", description="folder for relative paths (set by load_case)")

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else Path(self.base_dir) / p


class SessionsSpec(_Model):
    """EV sessions: a CSV in the session format, or a seeded sampler of gridv2g.fleet."""

    csv: str | None = Field(None, description="session CSV (DESIGN.md format), relative path")
    sampler: Literal["seed001_lot", "truncated_gaussian", "parking_lot", "reservations"] | None = (
        Field(None, description="a gridv2g.fleet sampler")
    )
    n: int | None = Field(None, ge=1, description="number of EVs (samplers that take it)")
    seed: int = Field(0, description="random seed of the sampler")
    day: str | None = Field(None, description="day the sampler draws on (default: horizon)")
    station: str | None = Field(
        None,
        description="station of sampled EVs (default: the only station, or all of them for "
        "samplers that spread EVs over stations)",
    )
    options: dict[str, float | int | str | bool | list[float]] = Field(
        default_factory=dict, description="further keyword arguments of the sampler"
    )

    @model_validator(mode="after")
    def _one_source(self):
        if (self.csv is None) == (self.sampler is None):
            raise ValueError("give exactly one of csv, sampler")
        return self


class ChargerSpec(_Model):
    name: str = Field(description="charger name, referenced by the sessions' charger column")
    p_max_kw: float = Field(gt=0, description="converter rating shared by its ports [kW]")


class ESSSpec(_Model):
    e_kwh: float = Field(gt=0, description="energy capacity [kWh]")
    p_kw: float = Field(gt=0, description="charge and discharge power limit [kW]")
    eta_charge: float = Field(0.95, gt=0, le=1, description="charging efficiency")
    eta_discharge: float = Field(0.95, gt=0, le=1, description="discharging efficiency")
    soc_min: float = Field(0.1, ge=0, le=1, description="lowest state of charge [share]")
    soc_max: float = Field(0.9, ge=0, le=1, description="highest state of charge [share]")
    soc_initial: float = Field(0.5, ge=0, le=1, description="at the start [share]")
    end_rule: Literal["cyclic", "equal", "free"] = Field(
        "cyclic", description="end-of-horizon SOC: >= start (cyclic), == start, or free"
    )


class StationSiteSpec(_Model):
    name: str = Field(description="station name, referenced by the sessions' station column")
    ports: int | None = Field(None, ge=0, description="charging ports (default: one per EV)")
    p_import_max_kw: ProfileSpec | None = Field(None, description="net import limit [kW]")
    p_export_max_kw: ProfileSpec | None = Field(None, description="net export limit [kW]")
    chargers: list[ChargerSpec] = Field(
        default_factory=list, description="converters whose ports share a power limit"
    )
    ess: ESSSpec | None = Field(None, description="station storage")


class StationPricesSpec(_Model):
    buy: ProfileSpec = Field(description="grid energy price [per kWh]")
    sell: ProfileSpec | None = Field(None, description="grid V2G price (default: buy)")
    tariff: ProfileSpec | None = Field(None, description="charged to EV owners (default 0)")
    v2g_pay: ProfileSpec | None = Field(None, description="paid to EV owners (default 0)")


class StationObjectiveSpec(_Model):
    kind: Literal["cost", "profit"] = Field("cost", description="seed 001 cost or seed 000 profit")
    degradation_per_kwh: float = Field(0.0, ge=0, description="V2G degradation cost gamma")


class StationOptionsSpec(_Model):
    target: Literal["hard", "soft"] = Field(
        "hard", description="departure energy: hard constraint or penalised shortfall"
    )
    shortfall_penalty_per_kwh: float = Field(1.0, ge=0, description="rho, soft targets")
    exclusive: bool = Field(False, description="charge/discharge exclusiveness (MILP)")
    v2g: bool = Field(True, description="allow discharge where the session allows it")
    ess_exclusive: bool = Field(False, description="storage charge/discharge exclusive")


class FleetSpec(_Model):
    """EVs charging at stations on the feeder, optimized with it (grid cases)."""

    sessions: SessionsSpec = Field(description="EV sessions: CSV or sampler")
    sites: list[StationSiteSpec] = Field(
        min_length=1,
        description="the stations (ports, limits, chargers, storage); each name is a station "
        "slot with fleet: true",
    )
    degradation_per_kwh: float = Field(0.0, ge=0, description="V2G degradation cost gamma")
    options: StationOptionsSpec = Field(
        default_factory=StationOptionsSpec, description="targets, V2G, integer options"
    )


class StationSolverSpec(_Model):
    name: str | None = Field(None, description="default: CLARABEL for LP, HIGHS for MILP")
    options: dict[str, float | int | str | bool] = Field(
        default_factory=dict, description="passed to the solver"
    )


class MPCSpec(_Model):
    """Rolling-horizon control instead of one day-ahead optimization (seed 001)."""

    window: int | None = Field(None, ge=1, description="periods looked ahead (default: horizon)")
    penalty_per_kwh: float = Field(10.0, gt=0, description="shortfall penalty [per kWh]")
    compare: bool = Field(True, description="also solve perfect foresight and the baseline")


class StationCase(_Model):
    """A station-only case: EV sessions, stations, prices, objective (no feeder)."""

    name: str = Field(description="case name, used for output folders")
    description: str = Field("", description="free text")
    problem: Literal["schedule_station"] = Field(description="station scheduling, no feeder")
    horizon: HorizonSpec = Field(default_factory=HorizonSpec, description="time grid")
    prices: StationPricesSpec = Field(description="price signals [per kWh]")
    sessions: SessionsSpec = Field(description="EV sessions: CSV or sampler")
    stations: list[StationSiteSpec] = Field(min_length=1, description="the stations")
    objective: StationObjectiveSpec = Field(
        default_factory=StationObjectiveSpec, description="cost or profit"
    )
    options: StationOptionsSpec = Field(
        default_factory=StationOptionsSpec, description="targets, V2G, integer options"
    )
    solver: StationSolverSpec = Field(
        default_factory=StationSolverSpec, description="solver and options"
    )
    mpc: MPCSpec | None = Field(None, description="run as rolling-horizon control")
    base_dir: str = Field(".", description="folder for relative paths (set by load_case)")

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else Path(self.base_dir) / p


class ScenarioSpec(_Model):
    """Scenarios of tomorrow's EVs: count ~ Poisson(mean_evs), sessions from a sampler."""

    count: int = Field(10, ge=1, description="number of scenarios S")
    mean_evs: float = Field(gt=0, description="Poisson mean of the EV count per scenario")
    seed: int = Field(0, description="random seed of the scenario set")
    sampler: Literal["truncated_gaussian", "reservations"] = Field(
        "truncated_gaussian", description="gridv2g.fleet sampler of each scenario's sessions"
    )
    day: str | None = Field(None, description="day the sampler draws on (default: horizon)")
    options: dict[str, float | int | str | bool | list[float]] = Field(
        default_factory=dict, description="further keyword arguments of the sampler"
    )


class StochasticCase(_Model):
    """Two-stage stochastic station scheduling (seed 000): storage energy bought day-ahead."""

    name: str = Field(description="case name, used for output folders")
    description: str = Field("", description="free text")
    problem: Literal["stochastic_station"] = Field(description="two-stage station scheduling")
    horizon: HorizonSpec = Field(default_factory=HorizonSpec, description="time grid")
    prices: StationPricesSpec = Field(description="price signals [per kWh]")
    day_ahead_price_per_kwh: float = Field(
        ge=0, description="price of the storage energy bought the day before [per kWh]"
    )
    scenarios: ScenarioSpec = Field(description="the EV scenarios")
    stations: list[StationSiteSpec] = Field(
        min_length=1, max_length=1, description="the one station (it needs an ess)"
    )
    objective: StationObjectiveSpec = Field(
        default_factory=lambda: StationObjectiveSpec(kind="profit"),
        description="profit (seed 000)",
    )
    options: StationOptionsSpec = Field(
        default_factory=lambda: StationOptionsSpec(target="soft"),
        description="targets, V2G, integer options",
    )
    solver: StationSolverSpec = Field(
        default_factory=StationSolverSpec, description="solver and options"
    )
    base_dir: str = Field(".", description="folder for relative paths (set by load_case)")

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else Path(self.base_dir) / p


Case.model_rebuild()  # FleetSpec is defined after Case


def _line_of(node, loc) -> int | None:
    """Line (1-based) of the YAML node at ``loc`` (pydantic error location), if found."""
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
            if found is None:
                key_node = next((k for k, _ in node.value if k.value == key), None)
                return (key_node or node).start_mark.line + 1
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                break
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode) and loc:
        # an unknown key: point at the key itself
        for k, _ in node.value:
            if k.value == loc[-1]:
                return k.start_mark.line + 1
    return line


def _valid_fields(model: type[BaseModel], loc) -> list[str]:
    """Field names of the sub-model that ``loc`` points into."""
    current = model
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        field = current.model_fields.get(key)
        if field is None:
            break
        ann = field.annotation
        for cand in getattr(ann, "__args__", (ann,)):
            inner = getattr(cand, "__args__", (cand,))
            for c in inner:
                if isinstance(c, type) and issubclass(c, BaseModel):
                    current = c
                    break
    return list(current.model_fields)


def load_case(path: str | Path) -> Case | StationCase | StochasticCase:
    """Read and validate a case YAML file; errors name the file, the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"case file not found: {path}")
    text = path.read_text()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case file is a YAML mapping of fields")
    raw.setdefault("base_dir", str(path.resolve().parent))
    return case_from_dict(raw, path.name, node)


def expand_shorthands(raw: dict) -> dict:
    """The case mapping with its shorthands written out (``feeder: ieee33`` is
    ``feeder: {shipped: ieee33}``), so that a field path means one thing."""
    raw = dict(raw)
    if isinstance(raw.get("feeder"), str):
        raw["feeder"] = {"shipped": raw["feeder"]}
    return raw


def case_from_dict(raw: dict, label: str, node=None):
    """Validate a case given as a mapping (a parsed YAML file, possibly edited, e.g. by a
    batch sweep). ``label`` names it in errors; ``node`` (the composed YAML) adds line
    numbers. Relative paths resolve against ``raw["base_dir"]``."""
    from gridv2g.case_v2a import V2ACase

    raw = expand_shorthands(raw)
    model = {
        "schedule_station": StationCase,
        "stochastic_station": StochasticCase,
        "v2a": V2ACase,
    }.get(raw.get("problem"), Case)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = err["loc"]
            where = ".".join(str(k) for k in loc)
            line = _line_of(node, loc) if node is not None else None
            at = f"{label}:{line}" if line else label
            if err["type"] == "extra_forbidden":
                valid = _valid_fields(model, loc)
                messages.append(f"{at}: unknown field '{where}'; valid fields: {valid}")
            else:
                messages.append(f"{at}: {where}: {err['msg']}")
        raise CaseError("invalid case\n  " + "\n  ".join(messages)) from None


def case_schema() -> dict:
    """JSON Schema of case files: a grid case (``problem: co_optimize``), a station case
    (``problem: schedule_station``), a stochastic station case (``stochastic_station``) or a
    vehicle-to-anything site (``v2a``)."""
    from pydantic import TypeAdapter

    from gridv2g.case_v2a import V2ACase

    return TypeAdapter(Case | StationCase | StochasticCase | V2ACase).json_schema()


def profile_frame(case: Case, spec: ProfileSpec, horizon, column: str, kind: str) -> pd.Series:
    """Evaluate a ProfileSpec on the horizon as a Series (scaled)."""
    from gridv2g import profiles

    if spec.constant is not None:
        series = pd.Series(float(spec.constant), index=horizon.index)
    elif spec.shape is not None:
        if kind == "price":
            series = profiles.price_shape(spec.shape, horizon)
        else:
            series = profiles.standard_shape(spec.shape, horizon)
    else:
        col = spec.column or column
        frame = profiles.read_profile(
            case.path(spec.csv), horizon, columns=[col], kind=kind, resample=spec.resample
        )
        series = frame[col]
    return (series * spec.scale).rename(column)


def load_feeder_spec(case: Case):
    """The Feeder a case names."""
    from gridv2g.feeders import Feeder, from_opendss, load_feeder

    spec = case.feeder
    if spec.shipped is not None:
        return load_feeder(spec.shipped)
    if spec.opendss is not None:
        return from_opendss(case.path(spec.opendss))
    return Feeder.from_dir(case.path(spec.tables))


def grid_data(case: Case, feeder=None):
    """Turn a validated Case into :class:`~gridv2g.problems.co_optimize.GridData` (reads the
    profile files; the problem itself reads none)."""
    from gridv2g.problems.co_optimize import DERData, GridData, StationSlotData
    from gridv2g.profiles import Horizon, read_profile

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
    h = case.horizon
    horizon = Horizon(start=pd.Timestamp(h.start), periods=h.periods, minutes=h.minutes)
    if case.load.csv is not None and case.load.column is None:
        # one column per bus: each bus's own multiplier
        load_scale = read_profile(
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
    return station_data(station_case)


def _horizon(case):
    from gridv2g.profiles import Horizon

    h = case.horizon
    return Horizon(start=pd.Timestamp(h.start), periods=h.periods, minutes=h.minutes)


def _station_names(case) -> list[str]:
    names = [s.name for s in case.stations]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CaseError(f"case '{case.name}': duplicate station name(s) {dup}")
    return names


def station_data(case: StationCase):
    """Turn a validated StationCase into :class:`~gridv2g.problems.station.StationData`."""
    from gridv2g import fleet
    from gridv2g.problems.station import StationData

    horizon = _horizon(case)
    names = _station_names(case)
    spec = case.sessions
    if spec.csv is not None:
        sessions = fleet.read_sessions(case.path(spec.csv), stations=names, horizon=horizon)
    else:
        import inspect

        name = "seed001_lot" if spec.sampler == "seed001_lot" else f"sample_{spec.sampler}"
        sampler = getattr(fleet, name)
        accepted = inspect.signature(sampler).parameters
        kwargs = dict(spec.options)
        if spec.n is not None:
            kwargs["n"] = spec.n
        kwargs["seed"] = spec.seed
        kwargs["day"] = spec.day or str(horizon.start.date())
        if "step_min" in accepted:
            # times on the period grid: a session is then plugged for whole periods only
            kwargs.setdefault("step_min", horizon.minutes)
        if spec.station is not None and "station" in accepted:
            kwargs["station"] = spec.station
        elif "station" in accepted and len(names) > 1:
            kwargs["station"] = names  # a sampler that spreads EVs over stations gets them all
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise CaseError(
                f"case '{case.name}': sessions sampler '{spec.sampler}' takes no {unknown}; "
                f"it takes {sorted(accepted)}"
            )
        sessions = sampler(**kwargs)
        if not set(sessions.station) <= set(names) and spec.station is None and len(names) == 1:
            sessions = sessions.assign(station=names[0])
        fleet.check_sessions(sessions, stations=names, horizon=horizon, source=spec.sampler)

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
    )


def station_spec_and_prices(case, horizon):
    """StationSpec and Prices of a station or stochastic case, on ``horizon``."""
    from gridv2g.problems.station import Prices, StationSpec

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
    import dataclasses

    from gridv2g import fleet
    from gridv2g.problems.station import StationData
    from gridv2g.problems.stochastic import StochasticData, mean_scenario, sample_scenarios

    horizon = _horizon(case)
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
    sampler = getattr(fleet, f"sample_{spec.sampler}")
    scenarios = sample_scenarios(spec.count, spec.mean_evs, spec.seed, sampler, **kwargs)
    for k, table in enumerate(scenarios):
        fleet.check_sessions(table, stations=[name], horizon=horizon, source=f"scenario {k}")
    ranges = {k: v for k, v in kwargs.items() if k not in ("station", "step_min", "day")}
    mean = mean_scenario(spec.mean_evs, kwargs["day"], name, horizon.minutes, **ranges)
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
