"""Case files: YAML validated once at load time against a schema with units and defaults.

A case says which problem to solve and gives every input: feeder, horizon, base load, prices,
DER, station slots, options, objective, solver. Unknown fields are rejected with the list of
valid ones, errors name the file and line, YAML is loaded with ``yaml.safe_load`` semantics
(``yaml.compose``, no object construction), and relative paths are resolved against the case
file's folder. ``gridv2g schema`` prints the JSON Schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from gridv2g.errors import GridV2GError, ProfileError
from gridv2g.fleet.registry import check_sampler_options
from gridv2g.horizon import parse_case_time
from gridv2g.profiles.library import Site, check_site
from gridv2g.profiles.shapes import NEEDS_SITE


class CaseError(GridV2GError, ValueError):
    """A case file is missing, not YAML, or does not match the schema (file and line named)."""


#: sizes a case may ask for before it is refused at load (they hang or exhaust memory
#: beyond); ``load_case(..., lift_limits=True)`` (CLI ``--lift-limits``) lifts them
SIZE_LIMITS = {
    "periods": 35_136,  # a leap year of 15-minute periods
    "n": 100_000,  # EVs of one sampler
    "max_evs": 100_000,  # EVs of a hosting search
    "count": 1_000,  # stochastic scenarios
    "mean_evs": 100_000,
    "particles": 1_000,
    "iterations": 10_000,
}


def _within_size_limits(model: BaseModel, info) -> None:
    """Refuse a size beyond :data:`SIZE_LIMITS` unless the loader lifted them."""
    if (info.context or {}).get("lift_limits"):
        return
    for name, limit in SIZE_LIMITS.items():
        value = getattr(model, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > limit:
            raise ValueError(
                f"{name}: {value:,} is more than {limit:,}; lift the limit explicitly "
                "(load_case(..., lift_limits=True); CLI --lift-limits)"
            )


class _Model(BaseModel):
    # every number finite: inf and NaN are refused at load (a NaN limit used to solve as
    # "no limit")
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data):
        """YAML's true/false are not 1/0: a boolean in a number field is an error."""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if field is None or not isinstance(value, bool):
                    continue
                kinds = {field.annotation, *get_args(field.annotation)}
                if bool not in kinds and kinds & {float, int}:
                    raise ValueError(f"{name}: {value!r} is a boolean, not a number")
        return data

    @model_validator(mode="after")
    def _sizes(self, info):
        _within_size_limits(self, info)
        return self


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


class LocationSpec(_Model):
    """Where the case is: the site of the shapes that need one (``pv_clearsky``; see
    :data:`gridv2g.profiles.SITE_SHAPES`); the horizon's clock times are local time in ``tz``."""

    latitude: float = Field(ge=-90, le=90, description="latitude [deg], north positive")
    longitude: float = Field(ge=-180, le=180, description="longitude [deg], east positive")
    tz: str = Field(description="IANA time zone name of the horizon's clock (Europe/Berlin)")

    @field_validator("tz")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        try:
            check_site(0.0, 0.0, value)
        except ProfileError as exc:
            raise ValueError(str(exc)) from None
        return value

    def site(self) -> Site:
        """The :class:`gridv2g.profiles.Site` the shapes take."""
        return Site(self.latitude, self.longitude, self.tz)


class HorizonSpec(_Model):
    start: str = Field("2024-01-01T00:00", description="ISO timestamp of the first period")
    periods: int = Field(24, ge=1, description="number of periods")
    minutes: int = Field(60, ge=1, description="period length [min]")

    @model_validator(mode="after")
    def _start_is_a_time(self):
        """The start is parsed at load: a date, within 1900-2199 (no 'now' or 'today': a run
        must not depend on when it runs)."""
        parse_case_time(self.start, "start")
        return self


#: a number that may be NaN or infinite at parsing: sampler options are judged by their
#: sampler's rules (one message naming the option and its range, rather than one per type of
#: the union below)
_AnyFloat = Annotated[float, Field(allow_inf_nan=True)]
#: the value of a sampler option in a case file
SamplerOption = _AnyFloat | int | str | bool | list[_AnyFloat]


def _options_fit_the_sampler(value: dict, info) -> dict:
    """Sampler options are checked at load (:func:`gridv2g.fleet.check_sampler_options`):
    each one the sampler takes, valid by its rule; options without a sampler are refused."""
    if "sampler" not in info.data:  # the sampler itself is invalid: reported on its own
        return value
    name = info.data["sampler"]
    if name is None:
        if value:
            raise ValueError("options are a sampler's keyword arguments: give a sampler")
        return value
    check_sampler_options(name, value)
    return value


def _day_is_a_date(value: str | None) -> str | None:
    """A sampler's ``day`` is parsed at load as ``horizon.start`` is."""
    if value is not None:
        parse_case_time(value, "day")
    return value


def _shapes_in(model, where: str):
    """(field path, shape name) of every profile in ``model`` given as a standard shape."""
    if isinstance(model, ProfileSpec):
        if model.shape is not None:
            yield where, model.shape
        return
    if isinstance(model, BaseModel):
        for name in type(model).model_fields:
            yield from _shapes_in(getattr(model, name), f"{where}.{name}".lstrip("."))
    elif isinstance(model, list | tuple):
        for k, item in enumerate(model):
            yield from _shapes_in(item, f"{where}[{k}]")


class _CaseBase(_Model):
    """What every case kind has: a name, free text, the time grid and the folder against
    which relative paths resolve."""

    name: str = Field(description="case name, used for output folders")
    description: str = Field("", description="free text")
    currency: str = Field(
        "currency units",
        min_length=1,
        max_length=24,
        pattern=r"^[A-Za-z .$\u20ac\u00a3\u00a5/-]+$",
        description="currency of the case's prices (e.g. USD, EUR, CNY), printed with money",
    )
    horizon: HorizonSpec = Field(default_factory=HorizonSpec, description="time grid")
    location: LocationSpec | None = Field(
        None,
        description="latitude, longitude [deg] and IANA time zone of the site; needed by "
        "the shape pv_clearsky",
    )
    #: folder against which relative paths resolve (set by load_case)
    base_dir: str = Field(".", description="folder for relative paths (set by load_case)")
    #: the folder every path must lie in (the case file's); None: no confinement. Set by
    #: case_from_dict; not a case-file field.
    _root: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _shapes_have_their_site(self):
        """A shape that needs the site (``pv_clearsky``) is refused at load without one."""
        if self.location is None:
            for where, shape in _shapes_in(self, ""):
                if shape in NEEDS_SITE:
                    raise ValueError(
                        f"{where}: shape '{shape}' needs the case's location: give "
                        "location: {latitude: <deg N>, longitude: <deg E>, tz: <IANA name>}"
                    )
        return self

    def path(self, relative: str) -> Path:
        """``relative`` resolved against ``base_dir`` (absolute paths unchanged). A case read
        from a file may only name files inside that file's folder, unless the reader allowed
        others (``allow_outside``; CLI ``--allow-outside-paths``): a case from someone else
        must not read arbitrary files."""
        p = Path(relative)
        p = p if p.is_absolute() else Path(self.base_dir) / p
        if self._root is not None:
            root = Path(self._root).resolve()
            try:
                p.resolve().relative_to(root)
            except ValueError:
                raise CaseError(
                    f"case '{self.name}': path '{relative}' lies outside the case's folder "
                    f"{root}; move the file there, or allow other folders explicitly "
                    "(load_case(..., allow_outside=True); CLI --allow-outside-paths)"
                ) from None
        return p


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


class _PlacedSpec(_Model):
    """Where a device connects on its bus: its phases and its connection."""

    phases: str | None = Field(
        None,
        pattern=r"^[123](\.[123]){0,2}$",
        description="phases it connects to, e.g. '2' or '1.2.3' (default: the bus's phases; "
        "the unbalanced formulation places it there, the balanced one spreads it)",
    )
    conn: Literal["wye", "delta"] = Field("wye", description="wye (phase-neutral) or delta")


class DERSpec(_PlacedSpec):
    name: str = Field(description="unit name")
    kind: Literal["pv", "wind"] = Field(description="device class (reactive switch per class)")
    bus: str = Field(description="feeder bus name")
    s_kva: float = Field(gt=0, le=1e6, description="inverter rating [kVA], up to 1 GVA")
    availability: ProfileSpec = Field(description="available power, per unit of s_kva")
    pf_min: float = Field(0.0, ge=0, le=1, description="minimum power factor (0 = none)")

    @model_validator(mode="after")
    def _availability_is_a_fraction(self):
        a = self.availability
        if a.constant is not None and not 0.0 <= a.constant * a.scale <= 1.0:
            raise ValueError(
                f"availability {a.constant * a.scale:g} is outside [0, 1] (a fraction of s_kva)"
            )
        return self


class StationSlotSpec(_PlacedSpec):
    name: str = Field(description="slot name")
    bus: str = Field(description="feeder bus name")
    s_kva: float = Field(gt=0, le=1e6, description="converter rating [kVA], up to 1 GVA")
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
        lo = -self.s_kva if self.p_min_kw is None else self.p_min_kw
        hi = self.s_kva if self.p_max_kw is None else self.p_max_kw
        if variable:
            for bad, text in (
                (lo > hi, f"p_min_kw {lo:g} > p_max_kw {hi:g}"),
                (lo > self.s_kva, f"p_min_kw {lo:g} > s_kva {self.s_kva:g}"),
                (hi < -self.s_kva, f"p_max_kw {hi:g} < -s_kva {self.s_kva:g}"),
            ):
                if bad:
                    raise ValueError(f"{text}: no power within the slot's bounds and rating")
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

    @model_validator(mode="after")
    def _limits_in_order(self):
        pairs = {"options": (self.vmin_pu, self.vmax_pu), **self.bus_v_limits}
        bad = {k: v for k, v in pairs.items() if not v[0] < v[1]}
        if bad:
            raise ValueError(f"voltage limits need vmin_pu < vmax_pu; not so for {bad}")
        return self


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
    seed: int = Field(0, ge=0, description="PSO random seed")


class SitingLotSpec(_Model):
    """A candidate parking lot of shared-fleet siting."""

    name: str = Field(description="lot (station) name")
    bus: str = Field(description="feeder bus")
    phases: str | None = Field(None, description="OpenDSS phase string, e.g. '2' (default all)")
    lot: Literal["office", "home", "complex"] = Field(
        description="parking type: office (fast chargers), home (slow), complex (both)"
    )
    max_share: float = Field(
        0.5, gt=0, le=1, description="largest share of a charger class the lot holds (eq. 43)"
    )


class SharedSitingCaseSpec(_Model):
    """Seed 004's siting: 5-8 stations among candidate lots sharing one fleet by capacity
    (eq. 44 per charger class), PSO screening, OpenDSS-closed evaluation of the best
    (``gridv2g site``; :mod:`gridv2g.siting.swarm`)."""

    lots: list[SitingLotSpec] = Field(min_length=1, description="candidate lots")
    k_min: int = Field(5, ge=1, description="fewest stations to open (eq. 49)")
    k_max: int = Field(8, ge=1, description="most stations to open (eq. 49)")
    share_steps: int = Field(30, ge=1, le=1000, description="shares in steps of 1/share_steps")
    capacity_kw: dict[Literal["fast", "slow"], float] = Field(
        description="total station capacity per charger class [kW]"
    )
    ev_counts: dict[str, int] | None = Field(
        None, description="EVs per type (default Table 1 of seed 004: 60/60/150/150)"
    )
    fleet_seed: int = Field(4, ge=0, description="seed of the fleet sampler")
    cost_per_station_day: float = Field(0.0, ge=0, description="cost of an open station [money]")
    particles: int = Field(16, ge=1, le=1000, description="PSO swarm size")
    iterations: int = Field(12, ge=0, le=10000, description="PSO generations after the first")
    seed: int = Field(0, ge=0, description="PSO random seed")
    workers: int = Field(2, ge=1, le=256, description="screening worker processes")
    dask: bool = Field(
        False,
        description="screen on a local Dask cluster of `workers` processes (loopback only); "
        "a remote scheduler is named on the command line, never in a case",
    )
    verify: int = Field(3, ge=1, le=100, description="best screened decisions evaluated in full")
    reference: bool = Field(False, description="also solve the exact MILP and report the gap")
    milp_time_limit_s: float = Field(600.0, gt=0, description="MILP time limit [s]")

    def lots_buses(self) -> list[str]:
        return [x.bus for x in self.lots]


class HostingSiteSpec(_Model):
    """A candidate site of a hosting-capacity study: a feeder bus, and on multi-phase feeders
    the phases its chargers connect to."""

    bus: str = Field(description="feeder bus name")
    phases: str | None = Field(
        None,
        pattern=r"^(all|[123](\.[123]){0,2})$",
        description="phases the site's chargers connect to, e.g. '2' or '1.2.3' (default: "
        "every phase of the bus, together); 'all': one candidate per single phase the bus has",
    )
    name: str | None = Field(
        None, description="site label in tables and figures (default: bus, or bus.phase)"
    )


class HostingSessionsSpec(_Model):
    """The per-EV sessions of a hosting study: ``max_evs`` EVs drawn once from a seeded
    sampler; the fleet of N is the first N of them in a seeded random order, so each fleet
    holds every smaller one (nested: the search over N is monotone in the fleet)."""

    sampler: Literal["seed001_lot", "truncated_gaussian", "reservations"] = Field(
        "seed001_lot", description="a gridv2g.fleet sampler that takes a fleet size n"
    )
    seed: int = Field(0, ge=0, description="random seed of the sampler and of the EV order")
    day: str | None = Field(None, description="day the sampler draws on (default: horizon)")
    options: dict[str, SamplerOption] = Field(
        default_factory=dict, description="further keyword arguments of the sampler"
    )

    _day = field_validator("day")(_day_is_a_date)
    _options = field_validator("options")(_options_fit_the_sampler)


#: the charging policies of a hosting study (see gridv2g.hosting.policies)
HOSTING_POLICIES = ("uncontrolled", "smart", "smart_v2g", "smart_q")


class HostingSpec(_Model):
    """Hosting capacity (``gridv2g hosting``): for each candidate site and charging policy,
    the largest EV fleet the feeder hosts, verified in AC power flow
    (:mod:`gridv2g.hosting`)."""

    sites: list[HostingSiteSpec] = Field(min_length=1, description="candidate sites")
    sessions: HostingSessionsSpec = Field(
        default_factory=HostingSessionsSpec, description="the per-EV session sampler"
    )
    step: int = Field(5, ge=1, description="fleet sizes searched: multiples of step [EVs]")
    max_evs: int = Field(200, ge=1, description="largest fleet searched [EVs]")
    policies: list[Literal["uncontrolled", "smart", "smart_v2g", "smart_q"]] = Field(
        default_factory=lambda: list(HOSTING_POLICIES),
        min_length=1,
        description="charging policies: uncontrolled (full power from arrival), smart "
        "(cost-optimal, no V2G, unity power factor), smart_v2g (V2G allowed), smart_q (V2G "
        "and reactive support of the station converter)",
    )
    charger_kw: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="charge and discharge rating of every EV [kW] (default: the sampler's)",
    )
    converter_kva_per_ev: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="station converter rating per EV [kVA] (default: the EV's charge rating); "
        "above it leaves reactive room at full charge (smart_q)",
    )
    degradation_per_kwh: float = Field(
        0.0, ge=0, description="V2G degradation cost [money per kWh discharged]"
    )
    v_tol_pu: float = Field(
        1e-4, ge=0, le=0.05, description="AC voltage beyond its limit by more is a violation [pu]"
    )
    loading_tol_percent: float = Field(
        0.1, ge=0, le=50, description="AC line current above its rating by more [%] violates"
    )

    @model_validator(mode="after")
    def _max_on_the_grid(self):
        if self.max_evs < self.step:
            raise ValueError(f"max_evs {self.max_evs} is below one step ({self.step} EVs)")
        if len(set(self.policies)) != len(self.policies):
            raise ValueError(f"policies: repeated in {self.policies}")
        return self


class Case(_CaseBase):
    """A gridv2g case (see the module docstring)."""

    problem: Literal["co_optimize"] = Field(
        "co_optimize", description="grid co-optimization (DistFlow SOCP + DER + stations)"
    )
    feeder: FeederSpec = Field(description="shipped name (ieee33, ieee123) or a source")
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
    shared_siting: SharedSitingCaseSpec | None = Field(
        None, description="seed 004's siting with one shared fleet (`gridv2g site`)"
    )
    hosting: HostingSpec | None = Field(
        None, description="hosting capacity by charging policy (`gridv2g hosting`)"
    )
    options: OptionsSpec = Field(default_factory=OptionsSpec, description="limits, switches")
    objective: ObjectiveSpec = Field(
        default_factory=lambda: ObjectiveSpec(losses=1.0), description="weighted terms"
    )
    solver: SolverSpec = Field(default_factory=SolverSpec, description="solver and options")
    formulation: Literal["auto", "balanced_socp", "unbalanced"] = Field(
        "auto",
        description="grid model: balanced_socp (branch-flow SOCP on the balanced equivalent), "
        "unbalanced (per-phase LinDist3Flow closed against OpenDSS), or auto (unbalanced on "
        "a feeder with single- or two-phase buses or loads, balanced otherwise)",
    )


class SessionsSpec(_Model):
    """EV sessions: a CSV in the session format, or a seeded sampler of gridv2g.fleet."""

    csv: str | None = Field(None, description="session CSV (DESIGN.md format), relative path")
    sampler: (
        Literal["seed001_lot", "truncated_gaussian", "parking_lot", "reservations", "gao2019_fleet"]
        | None
    ) = Field(None, description="a gridv2g.fleet sampler")
    n: int | None = Field(None, ge=1, description="number of EVs (samplers that take it)")
    seed: int = Field(0, ge=0, description="random seed of the sampler")
    day: str | None = Field(None, description="day the sampler draws on (default: horizon)")
    station: str | None = Field(
        None,
        description="station of sampled EVs (default: the only station, or all of them for "
        "samplers that spread EVs over stations)",
    )
    options: dict[str, SamplerOption] = Field(
        default_factory=dict, description="further keyword arguments of the sampler"
    )

    _day = field_validator("day")(_day_is_a_date)
    _options = field_validator("options")(_options_fit_the_sampler)

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
    aggregate: bool = Field(
        False,
        description="scale mode: EVs solved as flexibility groups, then disaggregated exactly "
        "per EV (no ports, shared chargers or exclusiveness; not with mpc or scenarios)",
    )


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


class StationCase(_CaseBase):
    """A station-only case: EV sessions, stations, prices, objective (no feeder)."""

    problem: Literal["schedule_station"] = Field(description="station scheduling, no feeder")
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


class ScenarioSpec(_Model):
    """Scenarios of tomorrow's EVs: count ~ Poisson(mean_evs), sessions from a sampler."""

    count: int = Field(10, ge=1, description="number of scenarios S")
    mean_evs: float = Field(gt=0, description="Poisson mean of the EV count per scenario")
    seed: int = Field(0, ge=0, description="random seed of the scenario set")
    sampler: Literal["truncated_gaussian", "reservations"] = Field(
        "truncated_gaussian", description="gridv2g.fleet sampler of each scenario's sessions"
    )
    day: str | None = Field(None, description="day the sampler draws on (default: horizon)")
    options: dict[str, SamplerOption] = Field(
        default_factory=dict, description="further keyword arguments of the sampler"
    )

    _day = field_validator("day")(_day_is_a_date)
    _options = field_validator("options")(_options_fit_the_sampler)


class StochasticCase(_CaseBase):
    """Two-stage stochastic station scheduling (seed 000): storage energy bought day-ahead."""

    problem: Literal["stochastic_station"] = Field(description="two-stage station scheduling")
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


# ---------------------------------------------------------------------------- V2A
#: the household bills of seed 002 Sect. 4.2 [p.u.]: "101.09 p.u. and 105.71 p.u.,
#: respectively, with and without EV discharging, indicating a reduction of 4.37%"
SEED002_HOUSEHOLD_BILL_PU = {"with discharge": 101.09, "without discharge": 105.71}

HOURS_PER_DAY = 24


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


class V2ACase(_CaseBase):
    """A V2A case: one site with its base load, two price signals and EVs (no feeder)."""

    problem: Literal["v2a"] = Field(description="V2A scheduling of one site (seed 002)")
    site: V2ASiteSpec = Field(description="site kind, base load [kW], allowed modes")
    prices: V2APricesSpec = Field(description="load and V2G price signals [money/kWh]")
    sessions: SessionsSpec = Field(description="EV sessions: CSV or sampler")
    objective: V2AObjectiveSpec = Field(
        default_factory=V2AObjectiveSpec, description="penalties rho and lambda [money/kWh]"
    )
    options: V2AOptionsSpec = Field(default_factory=V2AOptionsSpec, description="power model")
    solver: V2ASolverSpec = Field(default_factory=V2ASolverSpec, description="solver, options")


Case.model_rebuild()  # FleetSpec is defined after Case
