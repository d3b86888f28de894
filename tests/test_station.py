"""Station scheduling: invariants, two solvers, brute force on tiny MILPs, baseline, errors."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import gridv2g as g
from gridv2g.case import station_data
from gridv2g.errors import InfeasibleError
from gridv2g.fleet import plug_mask, plug_windows, sessions_frame
from gridv2g.problems.station import (
    Prices,
    StationData,
    StationSchedule,
    StationSpec,
    uncontrolled,
)
from gridv2g.profiles import Horizon

CASES = Path(__file__).resolve().parent.parent / "cases"
TOL = 1e-6


def case_data(name: str) -> StationData:
    return station_data(g.load_case(CASES / f"{name}.yaml"))


def check_invariants(result, data: StationData, hard: bool = True):
    """The physics and rules every schedule must satisfy."""
    ev = result.res_ev
    s = data.sessions
    h = data.horizon.hours
    c = ev.p_charge_kw.unstack("ev")[s.index].to_numpy().T
    d = ev.p_discharge_kw.unstack("ev")[s.index].to_numpy().T
    e_end = ev.e_kwh.unstack("ev")[s.index].to_numpy().T
    mask = plug_mask(s, data.horizon)
    # no power outside plug-in windows; power within charger ratings
    assert np.all(c[~mask] == 0) and np.all(d[~mask] == 0)
    assert np.all(c <= s.p_charge_max_kw.to_numpy()[:, None] + TOL)
    assert np.all(d <= s.p_discharge_max_kw.to_numpy()[:, None] * s.v2g.to_numpy()[:, None] + TOL)
    # energy recursion exact
    e = np.concatenate([s.e_arrival_kwh.to_numpy()[:, None], e_end], axis=1)
    eta_c = s.eta_charge.to_numpy()[:, None]
    eta_d = s.eta_discharge.to_numpy()[:, None]
    np.testing.assert_allclose(e[:, 1:] - e[:, :-1], h * (eta_c * c - d / eta_d), atol=1e-5)
    # energy bounds
    assert np.all(e <= s.capacity_kwh.to_numpy()[:, None] + 1e-5)
    assert np.all(e >= -1e-5)
    # target at departure (hard mode)
    _, dep = plug_windows(s, data.horizon)
    at_dep = e[np.arange(len(s)), dep]
    if hard:
        assert np.all(at_dep >= s.e_target_kwh.to_numpy() - 1e-5)
    # station limits never exceeded
    st = result.res_station
    for name in data.stations.stations.index:
        net = st.p_kw.xs(name, level="station")
        imp = data.stations.p_import_max_kw[name].reindex(net.index).fillna(np.inf)
        exp = data.stations.p_export_max_kw[name].reindex(net.index).fillna(np.inf)
        assert (net <= imp + 1e-5).all() and (-net <= exp + 1e-5).all()
    # ports never double-booked, and only occupied by EVs that (dis)charge
    port = ev.port.unstack("ev")[s.index]
    for t, row in port.iterrows():
        used = row[row >= 0]
        assert used.is_unique, f"port double-booked at {t}"
    ports = data.stations.stations.ports
    for name, n_ports in ports.items():
        if np.isfinite(n_ports):
            assert st.occupied_ports.xs(name, level="station").max() <= n_ports
    return c, d, e


@pytest.mark.parametrize("name", ["lot20_seed001", "lot20_seed001_v2g", "lot50_seed001"])
def test_lp_cases_agree_between_clarabel_and_highs(name):
    data = case_data(name)
    clarabel = StationSchedule(data).solve("CLARABEL")
    highs = StationSchedule(case_data(name)).solve("HIGHS")
    assert clarabel.summary["objective"] == pytest.approx(highs.summary["objective"], rel=1e-6)
    check_invariants(clarabel, data)
    check_invariants(highs, data)


def test_lot20_saves_against_uncontrolled_and_respects_the_transformer():
    data = case_data("lot20_seed001")
    result = StationSchedule(data).solve()
    s = result.summary
    assert s["shortfall_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert s["uncontrolled_peak_kw"] > 100.0  # dumb charging blows past the transformer
    assert s["peak_kw"] <= 100.0 + 1e-6
    assert 30.0 < s["savings_vs_uncontrolled_percent"] < 90.0
    # V2G adds freedom: cost can only fall
    v2g = StationSchedule(case_data("lot20_seed001_v2g")).solve()
    assert v2g.summary["cost"] <= s["cost"] + 1e-6
    assert v2g.summary["discharge_kwh"] > 0


def test_uncontrolled_baseline_charges_at_full_power_from_arrival():
    data = case_data("lot20_seed001")
    base = uncontrolled(data)
    s = data.sessions
    a, dep = plug_windows(s, data.horizon)
    h = data.horizon.hours
    for i in range(len(s)):
        need = s.e_target_kwh.iloc[i] - s.e_arrival_kwh.iloc[i]
        full = s.p_charge_max_kw.iloc[i]
        periods = base["c"][i, a[i] : dep[i]]
        n_full = int(need // (full * s.eta_charge.iloc[i] * h))
        assert np.allclose(periods[:n_full], full)  # full power first
        assert base["e"][i, dep[i]] == pytest.approx(s.e_target_kwh.iloc[i])


def test_port_case_with_and_without_storage():
    data = case_data("station_ports_seed000")
    with_ess = StationSchedule(data).solve()
    check_invariants(with_ess, data, hard=False)
    assert with_ess.summary["integer"] and with_ess.summary["mip_gap"] is not None
    assert with_ess.summary["mip_gap"] <= 1e-3
    assert with_ess.res_station.occupied_ports.max() <= 8
    no_ess_data = case_data("station_ports_seed000")
    no_ess_data.stations.ess = None
    without = StationSchedule(no_ess_data).solve()
    check_invariants(without, no_ess_data, hard=False)
    # storage is an option the optimizer may leave idle: profit cannot fall
    assert with_ess.summary["profit"] >= without.summary["profit"] - 1e-3 * abs(
        without.summary["profit"]
    )


# ------------------------------------------------------------------ brute force on tiny MILPs
def tiny(n_ev=3, T=3, ports=1.0, exclusive=False, v2g=True):
    horizon = Horizon(pd.Timestamp("2024-01-01"), T, 60)
    rows = []
    for i in range(n_ev):
        rows.append(
            {
                "ev_id": f"ev{i}",
                "station": "s",
                "arrival": "2024-01-01T00:00",
                "departure": f"2024-01-01T{T:02d}:00",
                "e_arrival_kwh": 10.0 + 5 * i,
                "e_target_kwh": 20.0 + 2 * i,
                "capacity_kwh": 40.0,
                "p_charge_max_kw": 10.0,
                "p_discharge_max_kw": 10.0,
                "eta_charge": 0.9,
                "eta_discharge": 0.9,
                "v2g": v2g,
            }
        )
    sessions = sessions_frame(pd.DataFrame(rows))
    idx = horizon.index
    prices = Prices(
        buy=pd.Series([0.3, 0.1, 0.2][:T], index=idx),
        sell=pd.Series([0.3, 0.1, 0.2][:T], index=idx) * 0.9,
        tariff=pd.Series(0.0, index=idx),
        v2g_pay=pd.Series(0.0, index=idx),
    )
    spec = StationSpec(
        stations=pd.DataFrame({"ports": [ports]}, index=pd.Index(["s"], name="station")),
        p_import_max_kw=pd.DataFrame({"s": 25.0}, index=idx),
        p_export_max_kw=pd.DataFrame({"s": 25.0}, index=idx),
    )
    return StationData(
        horizon=horizon,
        sessions=sessions,
        stations=spec,
        prices=prices,
        degradation_per_kwh=0.01,
        exclusive=exclusive,
        soft_target=True,
        shortfall_penalty_per_kwh=0.5,
    )


def fixed_pattern_lp(data: StationData, allow_c: np.ndarray, allow_d: np.ndarray) -> float:
    """The LP with the binary pattern fixed, written independently of gridv2g's block."""
    s = data.sessions
    n, T = allow_c.shape
    h = data.horizon.hours
    c = cp.Variable((n, T), nonneg=True)
    d = cp.Variable((n, T), nonneg=True)
    e = cp.Variable((n, T + 1))
    short = cp.Variable(n, nonneg=True)
    imp = cp.Variable(T, nonneg=True)
    exp = cp.Variable(T, nonneg=True)
    cons = [
        c <= 10.0 * allow_c,
        d <= 10.0 * allow_d,
        e[:, 0] == s.e_arrival_kwh.to_numpy(),
        e[:, 1:] == e[:, :-1] + h * (0.9 * c - d / 0.9),
        e >= 0,
        e <= 40.0,
        e[:, T] + short >= s.e_target_kwh.to_numpy(),
        imp - exp == cp.sum(c - d, axis=0),
        imp <= 25.0,
        exp <= 25.0,
    ]
    buy = data.prices.buy.to_numpy()
    sell = data.prices.sell.to_numpy()
    obj = h * (buy @ imp - sell @ exp) + 0.01 * h * cp.sum(d) + 0.5 * cp.sum(short)
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="HIGHS")
    return prob.value if prob.status == cp.OPTIMAL else np.inf


def test_ports_milp_matches_brute_force():
    """3 EVs, 1 port, 3 periods: enumerate which EV (or none) holds the port each period."""
    data = tiny(n_ev=3, T=3, ports=1.0)
    milp = StationSchedule(data).solve("HIGHS")
    best = np.inf
    for holders in itertools.product(range(4), repeat=3):  # 3 = nobody
        allow = np.zeros((3, 3))
        for t, i in enumerate(holders):
            if i < 3:
                allow[i, t] = 1.0
        best = min(best, fixed_pattern_lp(data, allow, allow))
    assert milp.summary["objective"] == pytest.approx(best, rel=1e-6, abs=1e-9)
    check_invariants(milp, data, hard=False)
    assert milp.res_ev.port.max() == 0  # one port, numbered 0


def test_exclusiveness_milp_matches_brute_force():
    """2 EVs, 3 periods: enumerate charge-or-discharge for every EV and period."""
    data = tiny(n_ev=2, T=3, ports=np.inf, exclusive=True)
    milp = StationSchedule(data).solve("HIGHS")
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=6):
        charging = np.reshape(pattern, (2, 3)).astype(float)
        best = min(best, fixed_pattern_lp(data, charging, 1.0 - charging))
    assert milp.summary["objective"] == pytest.approx(best, rel=1e-6, abs=1e-9)
    c = milp.res_ev.p_charge_kw.to_numpy()
    d = milp.res_ev.p_discharge_kw.to_numpy()
    assert not np.any((c > 1e-6) & (d > 1e-6))


def test_lp_without_exclusiveness_can_beat_the_milp():
    """The LP relaxation is a lower bound of the exclusive MILP (sanity of both)."""
    lp = StationSchedule(tiny(n_ev=2, T=3, ports=np.inf)).solve("HIGHS")
    milp = StationSchedule(tiny(n_ev=2, T=3, ports=np.inf, exclusive=True)).solve("HIGHS")
    assert lp.summary["objective"] <= milp.summary["objective"] + 1e-9


def test_hard_mode_infeasibility_names_the_evs():
    data = tiny(n_ev=3, T=3, ports=np.inf)
    data = dataclasses.replace(data, soft_target=False)
    data.stations.p_import_max_kw[:] = 5.0  # far too little for three EVs
    with pytest.raises(InfeasibleError) as err:
        StationSchedule(data).solve()
    table = err.value.diagnosis
    assert set(table.ev) <= {"ev0", "ev1", "ev2"} and len(table) >= 1
    assert (table.shortfall_kwh > 0).all()
    msg = str(err.value)
    assert "EV ev" in msg and "short by" in msg and "import limit binding" in msg


def test_run_command_on_a_station_case(tmp_path):
    from typer.testing import CliRunner

    from gridv2g.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(CASES / "lot20_seed001.yaml"), "--out", str(out), "--csv"]
    )
    assert result.exit_code == 0, result.output
    assert "savings_vs_uncontrolled_percent" in result.output
    for name in ("res_ev.csv", "res_station.csv", "res_ev_summary.csv", "summary.json"):
        assert (out / name).is_file()
    assert (out / "station_power.png").is_file()


def test_milp_stopped_at_a_limit_keeps_its_incumbent():
    """A MILP stopped by a limit returns its best schedule with the gap, and warns."""
    from gridv2g.bench import station_case
    from gridv2g.errors import GridV2GWarning

    data = station_case(6, milp=True, seed=12)
    with pytest.warns(GridV2GWarning, match="stopped at a limit"):
        # one branch-and-bound node and a zero gap target: HiGHS stops with an incumbent
        early = StationSchedule(data).solve(mip_max_nodes=1, mip_rel_gap=0.0)
    assert early.summary["status"] == "user_limit"
    assert early.summary["mip_gap"] > 0
    best = StationSchedule(station_case(6, milp=True, seed=12)).solve()
    assert best.summary["status"] == "optimal"
    # the incumbent is feasible, so no better than the optimum, and within its own gap of it
    e, b = early.summary["objective"], best.summary["objective"]
    assert e >= b - 1e-6 * abs(b)
    assert e - b <= early.summary["mip_gap"] * abs(e) + 1e-6


def test_milps_have_a_default_time_limit(monkeypatch):
    """An unattended MILP never runs for good: HiGHS gets MILP_TIME_LIMIT_S unless the caller
    gives its own time_limit."""
    import cvxpy as cp

    from gridv2g.bench import station_case
    from gridv2g.solvers import MILP_TIME_LIMIT_S

    seen = []
    solve = cp.Problem.solve

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("time_limit"))
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(cp.Problem, "solve", spy)
    StationSchedule(station_case(4, milp=True, seed=3)).solve("HIGHS")
    StationSchedule(station_case(4, milp=True, seed=3)).solve("HIGHS", time_limit=7.0)
    assert seen == [MILP_TIME_LIMIT_S, 7.0]
