"""The charging policies of a hosting study and one evaluation: a fleet of N EVs at a site
under a policy, planned, then verified in AC power flow.

Policies (:data:`POLICIES`):

- ``uncontrolled``: every EV at full power from arrival until its target
  (:func:`gridv2g.problems.fleet_grid.fleet_plan`), no V2G, unity power factor. Nothing is
  optimized: the plan goes straight into the AC power flow, on the feeder as it runs without
  the fleet (DER and other station slots at their dispatch of the no-fleet solve).
- ``smart``: the cost-optimal per-EV schedule inside the feeder problem
  (:class:`~gridv2g.problems.co_optimize.CoOptimization` with the fleet: the case's objective,
  hard targets, the case's voltage and ampacity limits; the unbalanced formulation closed
  against OpenDSS on multi-phase feeders), no V2G, station reactive power 0.
- ``smart_v2g``: the same with V2G discharge allowed (where the session allows it).
- ``smart_q``: V2G and the station converter's reactive power dispatched within its kVA.

A fleet is hosted when the plan meets every EV's target (shortfall below
:data:`SHORTFALL_TOL_KWH` per EV) and the AC replay (:mod:`gridv2g.hosting.verify`) breaks
no voltage or ampacity limit beyond the case's tolerances. A smart plan that the feeder
problem finds infeasible is not hosted, with the diagnosis (which limit, where, when) as the
reason; so is a plan whose AC power flow has no solution.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridv2g import fleet as fleet_mod
from gridv2g.case import CaseError, grid_data
from gridv2g.errors import InfeasibleError, SessionError, SolveError
from gridv2g.hosting.sites import Site
from gridv2g.hosting.verify import (
    ACDiverged,
    BalancedAC,
    Limit,
    Replayed,
    UnbalancedAC,
    exhausted,
    judge,
)
from gridv2g.inputs import Prices, StationData, StationSlotData, StationSpec
from gridv2g.model.registry import is_unbalanced
from gridv2g.problems.co_optimize import CoOptimization
from gridv2g.problems.fleet_grid import fleet_plan
from gridv2g.result.station import baseline

#: the slot (and fleet station) name of the hosted fleet
HOST = "hosting_site"
#: an EV more than this short of its target [kWh] means the plan does not serve the fleet
SHORTFALL_TOL_KWH = 1e-3


@dataclass(frozen=True)
class Policy:
    """A charging policy: optimized (``smart``) or not, V2G, station reactive power."""

    name: str
    smart: bool
    v2g: bool
    reactive: bool


POLICIES: dict[str, Policy] = {
    "uncontrolled": Policy("uncontrolled", smart=False, v2g=False, reactive=False),
    "smart": Policy("smart", smart=True, v2g=False, reactive=False),
    "smart_v2g": Policy("smart_v2g", smart=True, v2g=True, reactive=False),
    "smart_q": Policy("smart_q", smart=True, v2g=True, reactive=True),
}


@dataclass
class Check:
    """One evaluation: ``evs`` at the site under ``policy``; ``hosted``; ``limit`` (the worst
    violation, the tightest limit when hosted, or the reason: ``infeasible``,
    ``ac_diverged``, ``solver_failed``, ``target_missed``), ``reason`` (text), the fleet's
    charger rating sum ``charger_kw`` [kW], its peak net import ``peak_kw`` [kW] and energy
    ``energy_kwh`` [kWh] in the plan, EV shortfall ``shortfall_kwh`` [kWh], ``seconds``."""

    evs: int
    hosted: bool
    limit: Limit
    reason: str = ""
    charger_kw: float = 0.0
    peak_kw: float = float("nan")
    energy_kwh: float = float("nan")
    shortfall_kwh: float = 0.0
    seconds: float = 0.0
    #: the limits the fleet used up (:func:`gridv2g.hosting.verify.exhausted`)
    exhausted: str = ""
    #: the AC replay of the plan (None where there was no plan to replay); not in rows
    replayed: Replayed | None = None

    def as_dict(self, prefix: str) -> dict:
        out = {
            f"{prefix}_evs": self.evs,
            f"{prefix}_hosted": self.hosted,
            f"{prefix}_reason": self.reason,
            f"{prefix}_charger_kw": self.charger_kw,
            f"{prefix}_peak_kw": self.peak_kw,
            f"{prefix}_energy_kwh": self.energy_kwh,
            f"{prefix}_shortfall_kwh": self.shortfall_kwh,
            f"{prefix}_seconds": self.seconds,
            f"{prefix}_exhausted": self.exhausted,
        }
        out.update(self.limit.as_dict(prefix))
        return out


def nested_sessions(case, horizon) -> pd.DataFrame:
    """``hosting.max_evs`` sessions drawn once from the hosting sampler (station
    :data:`HOST`, charger ratings set to ``charger_kw`` if given), in a seeded random order:
    the fleet of N is the first N rows, so every fleet holds each smaller one."""
    spec = case.hosting
    s = spec.sessions
    try:
        table = fleet_mod.sample_sessions(
            s.sampler, horizon, [HOST], seed=s.seed, n=spec.max_evs, day=s.day, options=s.options
        )
    except SessionError as exc:
        raise CaseError(f"case '{case.name}': hosting.sessions: {exc}") from None
    table = table.assign(station=HOST)
    if spec.charger_kw is not None:
        table = table.assign(p_charge_max_kw=spec.charger_kw, p_discharge_max_kw=spec.charger_kw)
        fleet_mod.check_sessions(table, stations=[HOST], horizon=horizon, source="hosting")
    order = np.random.default_rng(s.seed).permutation(len(table))
    return table.iloc[order]


class SiteStudy:
    """Everything one (site, policy) search needs, built once: the case's grid data without
    a fleet, the nested sessions, the no-fleet solve and the AC engine of the site."""

    def __init__(self, case, site: Site, policy: str, solver: str | None = None):
        if case.hosting is None:
            raise CaseError(f"case '{case.name}' has no hosting section")
        if case.fleet is not None:
            raise CaseError(
                f"case '{case.name}': a hosting case draws its own fleet (hosting.sessions); "
                "drop the fleet section"
            )
        self.case, self.site, self.spec = case, site, case.hosting
        self.policy = POLICIES[policy]
        self.solver = solver or case.solver.name
        self.solver_options = dict(case.solver.options)
        base = grid_data(case)
        self.base = base
        self.sessions = nested_sessions(case, base.horizon)
        self.formulation = base.formulation
        if self.formulation == "auto":
            unbalanced = is_unbalanced(base.feeder)
            self.formulation = "unbalanced" if unbalanced else "balanced_socp"
        self.empty = self.data(0)
        self.ac = (BalancedAC if self.formulation == "balanced_socp" else UnbalancedAC)(self.empty)
        # the feeder without the fleet: DER and other slots as dispatched there (the
        # uncontrolled plan runs on it), and the no-fleet limits (a fleet of 0)
        self.no_fleet = self._solve(self.empty)
        # its AC replay: the headroom each limit has without EVs (judge's reference)
        self.reference = self._replay(self.no_fleet)

    # ------------------------------------------------------------------ data
    def data(self, n: int):
        """The grid data with ``n`` EVs at the site under this policy (``n`` = 0: the host
        slot draws nothing)."""
        base, site, spec, policy = self.base, self.site, self.spec, self.policy
        idx = base.horizon.index
        ses = self.sessions.iloc[:n]
        per_ev = ses.p_charge_max_kw.to_numpy(float)
        if spec.converter_kva_per_ev is not None:
            per_ev = np.full(n, spec.converter_kva_per_ev)
        s_kva = max(float(per_ev.sum()), 1e-3)
        row = pd.DataFrame(
            {
                "bus": [site.bus],
                "s_kva": [s_kva],
                "p_variable": [n > 0],
                "fleet": [n > 0],
                "phases": [site.phases],
                "conn": ["wye"],
            },
            index=pd.Index([HOST], name="station"),
        )
        old = base.stations
        slots = row if old is None else pd.concat([old.slots, row])
        slots.index.name = "station"

        def frame(old_frame, value):
            new = pd.DataFrame({HOST: value}, index=idx)
            return new if old is None or old_frame is None else pd.concat([old_frame, new], axis=1)

        stations = StationSlotData(
            slots=slots,
            p_kw=frame(None if old is None else old.p_kw, 0.0),
            p_min_kw=frame(None if old is None else old.p_min_kw, -s_kva),
            p_max_kw=frame(None if old is None else old.p_max_kw, s_kva),
        )
        reactive = {**base.reactive, "station": policy.reactive}
        fleet = None
        if n > 0:
            nan = pd.DataFrame({HOST: np.nan}, index=idx)
            price = base.price_per_kwh
            fleet = StationData(
                horizon=base.horizon,
                sessions=ses,
                stations=StationSpec(
                    stations=pd.DataFrame(
                        {"ports": [np.nan]}, index=pd.Index([HOST], name="station")
                    ),
                    p_import_max_kw=nan,
                    p_export_max_kw=nan.copy(),
                ),
                prices=Prices(buy=price, sell=price, tariff=price * 0.0, v2g_pay=price * 0.0),
                objective="cost",
                degradation_per_kwh=spec.degradation_per_kwh,
                v2g=policy.v2g,
            )
        return dataclasses.replace(base, stations=stations, fleet=fleet, reactive=reactive)

    def _solve(self, data):
        return CoOptimization(data, dpp=False).solve(self.solver, **self.solver_options)

    # ------------------------------------------------------------------ one evaluation
    def check(self, n: int) -> Check:
        """Plan ``n`` EVs under the policy and verify the plan in AC power flow."""
        t0 = time.perf_counter()
        ses = self.sessions.iloc[:n]
        charger_kw = float(ses.p_charge_max_kw.sum())
        out = self._check(n)
        out.charger_kw, out.seconds = charger_kw, time.perf_counter() - t0
        return out

    def _check(self, n: int) -> Check:
        h = self.base.horizon.hours
        tol = (self.spec.v_tol_pu, self.spec.loading_tol_percent)
        if n == 0:
            host_kw, shortfall, replayed = None, 0.0, self.reference
        elif not self.policy.smart:
            data = self.data(n)
            net, _ = fleet_plan(data, "uncontrolled")
            host_kw = net[HOST].to_numpy(float)
            shortfall = float(baseline(data.fleet)["res_ev_summary"].shortfall_kwh.max())
            try:
                replayed = self._replay(self.no_fleet, host_kw)
            except ACDiverged as exc:
                return Check(n, False, Limit("ac_diverged"), str(exc), **_energy(host_kw, h))
        else:
            try:
                result = self._solve(self.data(n))
            except InfeasibleError as exc:
                return Check(n, False, _diagnosed(exc), f"infeasible: {exc}")
            except SolveError as exc:
                return Check(n, False, Limit("solver_failed"), f"solver failed: {exc}")
            except Exception as exc:
                from gridv2g.model.unbalanced_closing import ClosingError

                if isinstance(exc, ClosingError):
                    return Check(n, False, Limit("closing_failed"), f"closing failed: {exc}")
                raise
            host_kw = result.res_station.p_kw.xs(HOST, level="station").to_numpy(float)
            shortfall = float(result.res_ev_summary.shortfall_kwh.max())
            try:
                replayed = self._replay(result)
            except ACDiverged as exc:
                return Check(n, False, Limit("ac_diverged"), str(exc), **_energy(host_kw, h))
        limit = judge(replayed, *tol, reference=self.reference)
        energy = _energy(host_kw, h) if host_kw is not None else {}
        energy["replayed"] = replayed
        energy["exhausted"] = exhausted(replayed, self.reference)
        if shortfall > SHORTFALL_TOL_KWH:
            reason = f"an EV misses its target by {shortfall:.3g} kWh"
            return Check(
                n, False, Limit("target_missed"), reason, shortfall_kwh=shortfall, **energy
            )
        reason = (
            f"{limit.kind} at {limit.element}, {limit.time}: {limit.value:.5g} against "
            f"{limit.limit:.5g}"
            if limit.violated
            else ""
        )
        return Check(n, not limit.violated, limit, reason, shortfall_kwh=shortfall, **energy)

    def _replay(self, result, host_kw=None):
        if isinstance(self.ac, BalancedAC):
            return self.ac.from_result(result, self.site.bus, host_kw)
        return self.ac.from_result(result, HOST, host_kw)


def _energy(host_kw, hours: float) -> dict:
    host_kw = np.asarray(host_kw, float)
    return {"peak_kw": float(host_kw.max()), "energy_kwh": float(host_kw.sum() * hours)}


def _diagnosed(exc: InfeasibleError) -> Limit:
    """The worst limit of an infeasibility diagnosis (relative to the limit), or a bare
    ``infeasible`` when the diagnosis names none."""
    table = getattr(exc, "diagnosis", None)
    if table is None or not len(table) or "limit_value" not in table:
        return Limit("infeasible", violated=True)
    rel = (table.needed_value - table.limit_value).abs() / table.limit_value.abs()
    row = table.loc[rel.idxmax()]
    kind = {"vmin": "voltage_min", "vmax": "voltage_max"}.get(row.limit, str(row.limit))
    limit = float(row.limit_value)
    needed = float(row.needed_value)
    if kind == "ampacity":  # the diagnosis speaks kA on balanced feeders
        limit, needed = limit * 1000.0, needed * 1000.0
    margin = (needed - limit) / limit if kind == "voltage_min" else (limit - needed) / limit
    return Limit(
        kind=f"infeasible_{kind}",
        element=str(row.element),
        time=str(row.time),
        value=needed,
        limit=limit,
        margin=float(margin),
        violated=True,
    )
