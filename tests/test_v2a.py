"""V2A scheduling (seed 002): mode rules in every solved case, the paper's findings, brute force.

Mode rules (checked on the result tables of every solve): one status per EV and period, power
only in that status and only while plugged, only the site kind's modes, V2H/V2B never above
the base load and never exported (grid export = V2G power), V2V givers never outnumber takers
and V2V energy given = received, exact energy recursion, the bill recomputed from the tables.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from gridv2g.case_v2a import SEED002_HOUSEHOLD_BILL_PU, V2ACase, v2a_data
from gridv2g.errors import V2AError
from gridv2g.fleet import plug_mask, sessions_frame
from gridv2g.model.v2a import DISCHARGE_MODES, MODES, STATUS
from gridv2g.problems.v2a import (
    V2AData,
    V2ASchedule,
    compare_discharge,
    lambda_sweep,
    parameter_sweep,
    with_and_without_discharge,
)
from gridv2g.profiles import Horizon

CASES = Path(__file__).resolve().parent.parent / "cases"
NAMES = ("v2a_household_seed002", "v2a_building_seed002", "v2a_station_seed002")
LAMBDAS = (0.0, 0.1, 0.2, 0.3, 0.5)
TOL = 1e-6
COLUMN = {
    "G2V": "p_charge_kw",
    "V2H": "p_v2h_kw",
    "V2B": "p_v2b_kw",
    "V2V": "p_v2v_kw",
    "V2G": "p_v2g_kw",
}


def load(name: str) -> V2ACase:
    path = CASES / f"{name}.yaml"
    return V2ACase.model_validate(yaml.safe_load(path.read_text()) | {"base_dir": str(CASES)})


def case_data(name: str, **changes) -> V2AData:
    return dataclasses.replace(v2a_data(load(name)), **changes)


def ev_matrix(result, column: str, data: V2AData) -> np.ndarray:
    """(EV x period) array of a res_ev column, EVs in session order."""
    return result.res_ev[column].unstack("ev")[data.sessions.index].to_numpy().T


def check_mode_rules(result, data: V2AData) -> None:
    """Every rule of the V2A mode model on one solved result."""
    s, h = data.sessions, data.horizon.hours
    mask = plug_mask(s, data.horizon)
    status = ev_matrix(result, "status", data)
    p = {m: ev_matrix(result, COLUMN[m], data).astype(float) for m in MODES}
    allowed = data.allowed_modes()
    # one status per EV and period; power only in that status, only while plugged
    active = np.stack([p[m] > TOL for m in MODES])
    assert active.sum(axis=0).max() <= 1, "two powers in one slot"
    for m in MODES:
        assert np.all(status[p[m] > TOL] == STATUS[m]), f"{m} power outside its status"
    assert np.all(status[~mask] == "idle")
    assert set(np.unique(status)) <= {"idle"} | {STATUS[m] for m in allowed}
    for m in set(MODES) - set(allowed):
        assert np.all(p[m] == 0), f"mode {m} not allowed at a {data.site_kind}"
    # ratings; rated power: a status runs at exactly the rating
    p_c = s.p_charge_max_kw.to_numpy()[:, None]
    p_d = (s.p_discharge_max_kw * s.v2g).to_numpy()[:, None]
    discharge = sum(p[m] for m in DISCHARGE_MODES)
    assert np.all(p["G2V"] <= p_c + TOL) and np.all(discharge <= p_d + TOL)
    if data.rated_power:
        np.testing.assert_allclose(
            p["G2V"][status == "charging"],
            np.broadcast_to(p_c, status.shape)[status == "charging"],
            atol=TOL,
        )
        dis = np.isin(status, ["V2H", "V2B", "V2V", "V2G"])
        np.testing.assert_allclose(discharge[dis], np.broadcast_to(p_d, status.shape)[dis])
    # energy recursion and limits
    e = np.concatenate([s.e_arrival_kwh.to_numpy()[:, None], ev_matrix(result, "e_kwh", data)], 1)
    eta_c, eta_d = s.eta_charge.to_numpy()[:, None], s.eta_discharge.to_numpy()[:, None]
    np.testing.assert_allclose(
        np.diff(e, axis=1), h * (eta_c * p["G2V"] - discharge / eta_d), atol=1e-6
    )
    lo = np.minimum(s.e_min_kwh, s.e_arrival_kwh).to_numpy()[:, None]
    hi = np.maximum(s.e_max_kwh, s.e_arrival_kwh).to_numpy()[:, None]
    assert np.all(e >= lo - 1e-6) and np.all(e <= hi + 1e-6)
    # eq. 11: V2H/V2B only under the base load, never exported; export = V2G only
    site = result.res_site
    base = data.base_load_kw.reindex(site.index).to_numpy()
    np.testing.assert_allclose(site.base_load_kw, base)
    assert np.all(site.v2h_kw + site.v2b_kw <= base + TOL)
    np.testing.assert_allclose(site.grid_export_kw, p["V2G"].sum(axis=0), atol=TOL)
    np.testing.assert_allclose(
        site.grid_import_kw,
        base + p["G2V"].sum(0) - p["V2V"].sum(0) - p["V2H"].sum(0) - p["V2B"].sum(0),
        atol=1e-6,
    )
    assert np.all(site.grid_import_kw >= -TOL)
    # eq. 8: V2V givers <= takers, energy given = received by charging EVs
    givers, takers = (status == "V2V").sum(axis=0), (status == "charging").sum(axis=0)
    assert np.all(givers <= takers)
    received = ev_matrix(result, "p_charge_v2v_kw", data).astype(float)
    np.testing.assert_allclose(received.sum(axis=0), p["V2V"].sum(axis=0), atol=1e-6)
    assert np.all(received <= p["G2V"] + TOL)
    np.testing.assert_allclose(site.ev_charge_v2v_kw, p["V2V"].sum(axis=0), atol=1e-6)
    # money recomputed from the tables
    price_l = data.load_price.reindex(site.index).to_numpy()
    price_g = data.v2g_price.reindex(site.index).to_numpy()
    bill = h * (price_l @ site.grid_import_kw - price_g @ site.grid_export_kw)
    assert result.summary["bill"] == pytest.approx(bill, abs=1e-6)
    assert result.summary["discharge_kwh"] == pytest.approx(discharge.sum() * h, abs=1e-6)
    assert result.summary["status"] == "optimal"


# ---------------------------------------------------------------------------- the cases
@pytest.fixture(scope="module")
def household():
    data = case_data("v2a_household_seed002")
    return data, with_and_without_discharge(data)


@pytest.fixture(scope="module")
def station_sweep():
    data = case_data("v2a_station_seed002")
    return data, parameter_sweep(data, "lambda_", LAMBDAS)


@pytest.mark.parametrize("rated", [True, False], ids=["rated", "variable"])
@pytest.mark.parametrize("name", NAMES)
def test_mode_rules_hold_in_every_case(name, rated):
    data = case_data(name, rated_power=rated)
    result = V2ASchedule(data).solve()
    check_mode_rules(result, data)
    assert result.summary["mip_gap"] == pytest.approx(0.0, abs=1e-6)


def test_mode_rules_hold_in_the_studies(household, station_sweep):
    data, results = household
    check_mode_rules(results["with discharge"], data)
    check_mode_rules(results["without discharge"], dataclasses.replace(data, modes=("G2V",)))
    data, sweep = station_sweep
    for lam, result in sweep.items():
        check_mode_rules(result, dataclasses.replace(data, lambda_=lam))


def test_household_bill_lower_with_discharge(household):
    data, results = household
    table = compare_discharge(data, reference=SEED002_HOUSEHOLD_BILL_PU, results=results)
    assert table.loc["with discharge", "bill"] < table.loc["without discharge", "bill"]
    assert table.loc["with discharge", "bill_change_percent"] < 0
    assert table.loc["with discharge", "paper_bill_change_percent"] == pytest.approx(-4.37, 1e-3)
    assert table.loc["without discharge", "discharge_kwh"] == 0
    # the paper's schedule (Sect. 4.2): charge 16-17, V2H 18-20 (load-price peak), V2G in the
    # last high V2G-price hour, night charging in the valley; the target is met
    status = results["with discharge"].res_ev.status.droplevel("ev")
    hour = {t.hour: v for t, v in status.items()}
    assert hour[16] == "charging" and hour[18] == hour[19] == "V2H" and hour[20] == "V2G"
    night = [h for h, v in hour.items() if v == "charging" and h < 12]
    assert night
    prices = data.load_price.groupby(data.load_price.index.hour).first()
    assert all(prices[h] <= prices.min() + 0.15 for h in night)  # the night valley
    assert results["with discharge"].summary["shortfall_kwh"] == pytest.approx(0, abs=1e-6)


def test_building_serves_its_load_and_never_exports():
    data = case_data("v2a_building_seed002")
    result = V2ASchedule(data).solve()
    site = result.res_site
    assert result.summary["discharge_v2b_kwh"] > 0
    assert result.summary["discharge_v2g_kwh"] == 0  # Sect. 4.3: no V2G at the building
    v2b_hours = {t.hour for t in site.index[site.v2b_kw > 0]}
    assert {11, 12} <= v2b_hours  # the morning load-price peak


def test_station_uses_v2v_and_v2g():
    data = case_data("v2a_station_seed002")
    result = V2ASchedule(data).solve()
    assert result.summary["discharge_v2v_kwh"] > 0 and result.summary["discharge_v2g_kwh"] > 0
    site = result.res_site
    assert np.all(site.n_v2v <= site.n_charging)
    v2g_hours = {t.hour for t in site.index[site.v2g_kw > 0]}
    assert v2g_hours <= {17, 18, 19, 20}  # only in the high V2G-price period


@pytest.mark.parametrize("rated", [True, False], ids=["rated", "variable"])
def test_lambda_sweep_discharge_non_increasing(rated, station_sweep):
    if rated:
        table = pd.DataFrame({lam: r.summary for lam, r in station_sweep[1].items()}).T
    else:
        table = lambda_sweep(case_data("v2a_station_seed002", rated_power=False), LAMBDAS)
    discharge = table.discharge_kwh.astype(float).to_numpy()
    assert np.all(np.diff(discharge) <= 1e-6), discharge
    assert discharge[0] > 0 and discharge[-1] < discharge[0]
    # the same argument: the cost without the cycle penalty cannot fall as lambda rises
    cost = (table.objective - table.cycle_penalty).astype(float).to_numpy()
    assert np.all(np.diff(cost) >= -1e-6), cost


def test_lambda_sweep_table(station_sweep):
    data, sweep = station_sweep
    table = lambda_sweep(data, [0.0, 0.5])
    assert list(table.index) == [0.0, 0.5] and table.index.name == "lambda"
    for lam in (0.0, 0.5):
        assert table.loc[lam, "discharge_kwh"] == pytest.approx(sweep[lam].summary["discharge_kwh"])


# ---------------------------------------------------------------------------- brute force
#: status codes of the enumeration: 0 idle, then the modes of the site kind
CODES = {"home": ("G2V", "V2H", "V2G"), "station": ("G2V", "V2V", "V2G")}


def tiny(kind: str, seed: int, n: int = 2, periods: int = 3, rated: bool = True) -> V2AData:
    """A random tiny site: EVs with different ratings (V2V energy binds), the second EV
    plugged from the second period, random prices, base load and lambda."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    rows = [
        {
            "ev_id": f"ev{i}",
            "station": "site",
            "arrival": start + pd.Timedelta(hours=min(i, 1)),
            "departure": start + pd.Timedelta(hours=periods),
            "e_arrival_kwh": rng.uniform(3, 6),
            "e_target_kwh": rng.uniform(4, 9),
            "capacity_kwh": 10.0,
            "p_charge_max_kw": [3.3, 2.0][i % 2],
            "p_discharge_max_kw": [3.3, 2.5][i % 2],
            "eta_charge": 0.95,
            "eta_discharge": 0.9,
            "v2g": True,
            "e_min_kwh": 1.0,
            "e_max_kwh": 9.0,
        }
        for i in range(n)
    ]
    horizon = Horizon(start=start, periods=periods, minutes=60)
    idx = horizon.index
    return V2AData(
        horizon=horizon,
        sessions=sessions_frame(rows),
        site_kind=kind,
        base_load_kw=pd.Series(rng.uniform(0.5, 5.0, periods), idx),
        load_price=pd.Series(rng.uniform(0.4, 1.5, periods), idx),
        v2g_price=pd.Series(rng.uniform(0.2, 1.4, periods), idx),
        rho=1.5,
        lambda_=float(rng.uniform(0.0, 0.3)),
        rated_power=rated,
    )


def enumerate_statuses(data: V2AData):
    """Every status pattern (K x EV x T) of mode names, idle where unplugged."""
    mask = plug_mask(data.sessions, data.horizon)
    options = [("idle", *CODES[data.site_kind]) if m else ("idle",) for m in mask.ravel()]
    for combo in itertools.product(*options):
        yield np.array(combo, dtype=object).reshape(mask.shape)


def rated_objective(data: V2AData, status: np.ndarray) -> float:
    """Objective (eq. 10) of a status pattern with rated power; inf if infeasible."""
    s, h = data.sessions, data.horizon.hours
    p_c = s.p_charge_max_kw.to_numpy()[:, None] * (status == "G2V")
    p = {m: s.p_discharge_max_kw.to_numpy()[:, None] * (status == m) for m in DISCHARGE_MODES}
    discharge = sum(p.values())
    flows = h * (
        s.eta_charge.to_numpy()[:, None] * p_c - discharge / s.eta_discharge.to_numpy()[:, None]
    )
    e = s.e_arrival_kwh.to_numpy()[:, None] + np.concatenate(
        [np.zeros((len(s), 1)), np.cumsum(flows, axis=1)], axis=1
    )
    base = data.base_load_kw.to_numpy()
    ok = (e >= s.e_min_kwh.to_numpy()[:, None] - 1e-9).all()
    ok &= (e <= s.e_max_kwh.to_numpy()[:, None] + 1e-9).all()
    ok &= ((status == "V2V").sum(0) <= (status == "G2V").sum(0)).all()
    ok &= (p["V2V"].sum(0) <= p_c.sum(0) + 1e-9).all()
    ok &= (p["V2H"].sum(0) <= base + 1e-9).all()
    if not ok:
        return np.inf
    grid_import = base + p_c.sum(0) - p["V2V"].sum(0) - p["V2H"].sum(0)
    bill = h * (
        data.load_price.to_numpy() @ grid_import - data.v2g_price.to_numpy() @ p["V2G"].sum(0)
    )
    shortfall = np.maximum(s.e_target_kwh.to_numpy() - e[:, -1], 0).sum()
    return bill + data.rho * shortfall + data.lambda_ * h * discharge.sum()


# seeds whose optimum uses every mode somewhere: V2H at home (0, 4), V2G (3), V2V (52)
@pytest.mark.parametrize("seed", [0, 3, 4, 52])
@pytest.mark.parametrize("kind", ["home", "station"])
def test_rated_power_milp_matches_enumeration(kind, seed):
    data = tiny(kind, seed)
    best = min(rated_objective(data, status) for status in enumerate_statuses(data))
    result = V2ASchedule(data).solve()
    check_mode_rules(result, data)
    assert result.summary["objective"] == pytest.approx(best, abs=1e-5)  # solver tolerances


def fixed_status_lp(data: V2AData):
    """An independent LP of the variable-power model with the statuses as Parameters (one
    0/1 Parameter per mode): the best powers for a given status pattern."""
    s, h = data.sessions, data.horizon.hours
    n, T = len(s), data.horizon.periods
    on = {m: cp.Parameter((n, T), nonneg=True) for m in MODES}
    p = {m: cp.Variable((n, T), nonneg=True) for m in MODES}
    r = cp.Variable((n, T), nonneg=True)
    e = cp.Variable((n, T + 1))
    short = cp.Variable(n, nonneg=True)
    rating = {m: (s.p_charge_max_kw if m == "G2V" else s.p_discharge_max_kw).to_numpy() for m in p}
    base = data.base_load_kw.to_numpy()
    cons = [e[:, 0] == s.e_arrival_kwh.to_numpy(), r <= p["G2V"]]
    cons += [p[m] <= cp.multiply(rating[m][:, None], on[m]) for m in MODES]
    cons += [cp.sum(r, axis=0) == cp.sum(p["V2V"], axis=0), cp.sum(p["V2H"], 0) <= base]
    cons += [e >= s.e_min_kwh.to_numpy()[:, None], e <= s.e_max_kwh.to_numpy()[:, None]]
    cons += [e[:, -1] + short >= s.e_target_kwh.to_numpy()]
    discharge = sum(p[m] for m in DISCHARGE_MODES)
    for t in range(T):  # a test may loop: an independent formulation
        cons.append(
            e[:, t + 1]
            == e[:, t]
            + h
            * (
                cp.multiply(s.eta_charge.to_numpy(), p["G2V"][:, t])
                - discharge[:, t] / s.eta_discharge.to_numpy()
            )
        )
    grid_import = base + cp.sum(p["G2V"] - r - p["V2H"], axis=0)
    objective = h * (data.load_price.to_numpy() @ grid_import)
    objective -= h * (data.v2g_price.to_numpy() @ cp.sum(p["V2G"], axis=0))
    objective += data.rho * cp.sum(short) + data.lambda_ * h * cp.sum(discharge)
    return cp.Problem(cp.Minimize(objective), cons), on


@pytest.mark.parametrize(
    ("kind", "n", "periods"), [("home", 1, 3), ("home", 2, 2), ("station", 2, 3)]
)
def test_variable_power_milp_matches_enumeration(kind, n, periods):
    data = tiny(kind, seed=7, n=n, periods=periods, rated=False)
    problem, on = fixed_status_lp(data)
    best = np.inf
    for status in enumerate_statuses(data):
        if ((status == "V2V").sum(0) > (status == "G2V").sum(0)).any():
            continue  # eq. 8: more givers than takers
        for m in MODES:
            on[m].value = (status == m).astype(float)
        problem.solve(solver="HIGHS")
        if problem.status == cp.OPTIMAL:
            best = min(best, problem.value)
    result = V2ASchedule(data).solve()
    check_mode_rules(result, data)
    assert result.summary["objective"] == pytest.approx(best, abs=1e-4)


# ---------------------------------------------------------------------------- API, errors
def test_modes_follow_the_site_kind():
    assert V2ASchedule(tiny("home", 0)).modes == ("G2V", "V2H", "V2G")
    assert V2ASchedule(tiny("station", 0)).modes == ("G2V", "V2V", "V2G")
    data = dataclasses.replace(tiny("home", 0), site_kind="building")
    assert data.allowed_modes() == ("G2V", "V2B", "V2G")
    with pytest.raises(V2AError, match="V2H serves the own load of a home"):
        dataclasses.replace(data, modes=("G2V", "V2H")).allowed_modes()
    with pytest.raises(V2AError, match="unknown V2A mode"):
        dataclasses.replace(data, modes=("G2V", "V2X")).allowed_modes()
    with pytest.raises(V2AError, match="site kind 'garage' is unknown"):
        dataclasses.replace(data, site_kind="garage").allowed_modes()


def test_charging_only_is_an_lp_and_never_discharges():
    data = dataclasses.replace(tiny("station", 1), modes=("G2V",), rated_power=False)
    sched = V2ASchedule(data)
    assert not sched.integer
    result = sched.solve()
    check_mode_rules(result, data)
    assert result.summary["discharge_kwh"] == 0


def test_bad_profiles_are_named():
    data = tiny("home", 0)
    with pytest.raises(V2AError, match="base_load_kw has no finite value at 2024-01-01 02:00"):
        V2ASchedule(dataclasses.replace(data, base_load_kw=data.base_load_kw.iloc[:2]))
    with pytest.raises(V2AError, match="base_load_kw is negative"):
        V2ASchedule(dataclasses.replace(data, base_load_kw=-data.base_load_kw))
    with pytest.raises(V2AError, match="rho must be"):
        V2ASchedule(dataclasses.replace(data, rho=-1.0))


def test_update_re_solves_without_touching_the_callers_data():
    data = tiny("station", 2)
    sched = V2ASchedule(data, dpp=True)
    assert sched.problem.is_dpp()
    sched.update(lambda_=5.0)
    assert data.lambda_ != 5.0 and sched.data.lambda_ == 5.0
    assert sched.solve().summary["discharge_kwh"] == 0  # discharge never pays at 5 per kWh
    with pytest.raises(V2AError, match="structure"):
        sched.update(modes=("G2V",))
    with pytest.raises(V2AError, match="unknown field"):
        sched.update(lamda=0.1)


def test_result_to_dir(tmp_path, household):
    result = household[1]["with discharge"]
    out = result.to_dir(tmp_path / "out", fmt="csv")
    names = {p.name for p in out.iterdir()}
    assert {"res_ev.csv", "res_site.csv", "res_ev_summary.csv", "summary.json"} <= names
    assert "v2a_schedule.png" in names


# ---------------------------------------------------------------------------- case files
def test_seed002_cases_follow_the_paper():
    for name, kind, evs in zip(NAMES, ("home", "building", "station"), (1, 5, 10), strict=True):
        case = load(name)
        data = v2a_data(case)
        assert data.site_kind == kind and len(data.sessions) == evs and data.rated_power
        s = data.sessions
        assert np.all(s.capacity_kwh == 24.0) and np.all(s.p_charge_max_kw == 3.3)
        assert np.all(s.eta_charge == 0.98) and np.all(s.eta_discharge == 0.98)
        np.testing.assert_allclose(s.e_min_kwh / s.capacity_kwh, 0.2)
        np.testing.assert_allclose(s.e_max_kwh / s.capacity_kwh, 0.9)
        assert (data.rho, data.lambda_) == (1.5, 0.15)
        # Sect. 4.1: load price high 11-13 h and 18-20 h, V2G price high 17-21 h
        load_price = data.load_price.groupby(data.load_price.index.hour).first()
        assert set(load_price.index[load_price == load_price.max()]) == {11, 12, 18, 19}
        v2g = data.v2g_price.groupby(data.v2g_price.index.hour).first()
        assert set(v2g.index[v2g > v2g.min()]) == {17, 18, 19, 20}
        assert np.all(v2g <= load_price)  # own load first, as in the paper's results
        if kind != "home":  # Table 1's daytime windows
            assert s.arrival.dt.hour.between(8, 15).all()
            assert s.departure.dt.hour.between(13, 22).all()


def test_case_schema_rejects_bad_fields():
    raw = yaml.safe_load((CASES / "v2a_household_seed002.yaml").read_text())
    with pytest.raises(ValidationError, match="Extra inputs"):
        V2ACase.model_validate(raw | {"feeder": "ieee33"})
    bad = yaml.safe_load((CASES / "v2a_household_seed002.yaml").read_text())
    bad["prices"]["load"]["values"] = [1.0] * 23
    with pytest.raises(ValidationError, match="give 24 hourly values"):
        V2ACase.model_validate(bad)
    bad = yaml.safe_load((CASES / "v2a_household_seed002.yaml").read_text())
    bad["prices"]["v2g"]["constant"] = 0.3
    with pytest.raises(ValidationError, match="exactly one of"):
        V2ACase.model_validate(bad)
    bad = yaml.safe_load((CASES / "v2a_household_seed002.yaml").read_text())
    bad["site"]["modes"] = ["G2V", "V2X"]
    with pytest.raises(ValidationError):
        V2ACase.model_validate(bad)
    for field in V2ACase.model_fields.values():
        assert field.description


def test_v2a_cases_load_and_run_through_the_public_api(tmp_path):
    """load_case dispatches problem: v2a; gridv2g run writes the tables."""
    from pathlib import Path

    from typer.testing import CliRunner

    import gridv2g as g
    from gridv2g.cli import app

    case_file = Path(__file__).resolve().parent.parent / "cases" / "v2a_household_seed002.yaml"
    case = g.load_case(case_file)
    assert case.problem == "v2a"
    result = g.solve(case)
    assert result.summary["status"] == "optimal"
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["run", str(case_file), "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "bill" in run.output and (out / "summary.json").is_file()
