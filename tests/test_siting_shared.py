"""Seed 004's siting with one shared fleet: eq. 44's assignment, the random-key decoding, the
cache, and the swarm against two independent references on a small instance (IEEE 13): every
decision solved (brute force) and the MILP over the same model; the screening on a local pool
and on Dask, an evaluation that kills its worker failing alone on both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridv2g.case import case_from_dict
from gridv2g.errors import GridV2GError
from gridv2g.siting.screening import FAILED_COST, SitingModel
from gridv2g.siting.shared import SharedSitingSpec, decode, n_variables
from gridv2g.siting.swarm import Screening, all_decisions, base_data, run_pso, shared_spec

IEEE13 = Path(__file__).resolve().parent / "data" / "dss" / "ieee13"
GAO = Path(__file__).resolve().parent.parent / "cases" / "ieee123_gao2019_siting.yaml"


def gao_spec() -> SharedSitingSpec:
    import gridv2g as g

    return shared_spec(g.load_case(GAO))


def small_case():
    raw = {
        "name": "ieee13_siting",
        "feeder": {"opendss": "IEEE13Nodeckt.dss"},
        "base_dir": str(IEEE13),
        "formulation": "unbalanced",
        "horizon": {"start": "2024-06-21T06:00", "periods": 24, "minutes": 60},
        "load": {"shape": "ieee_rts", "scale": 0.8},
        "prices": {"shape": "gao2019"},
        "shared_siting": {
            "lots": [
                {"name": "o671", "bus": "671", "phases": "1", "lot": "office", "max_share": 1},
                {"name": "h675", "bus": "675", "phases": "2", "lot": "home", "max_share": 1},
                {"name": "c680", "bus": "680", "phases": "3", "lot": "complex", "max_share": 1},
                {"name": "h652", "bus": "652", "phases": "1", "lot": "home", "max_share": 1},
                {"name": "o692", "bus": "692", "phases": "3", "lot": "office", "max_share": 1},
            ],
            "k_min": 2,
            "k_max": 3,
            "share_steps": 3,
            "capacity_kw": {"fast": 150, "slow": 60},
            "ev_counts": {"I": 6, "II": 3, "III": 6, "IV": 6},
        },
        "options": {"vmin_pu": 0.95, "vmax_pu": 1.05, "v_source_pu": 0.99, "ampacity": False},
        "objective": {"energy_cost": 1.0},
    }
    case = case_from_dict(raw, "ieee13_siting", root=IEEE13)
    return base_data(case), shared_spec(case)


def test_fleet_shared_by_capacity_per_type():
    """Eq. 44 per charger class: whatever the decision, the open stations serve Table 1's
    420 EVs by type, each class's EVs in proportion to the capacity shares of that class."""
    spec = gao_spec()
    rng = np.random.default_rng(0)
    for _ in range(50):
        decision = decode(spec, rng.random(n_variables(spec)))
        table = spec.assignment(decision)
        assert table[["I", "II", "III", "IV"]].sum().to_dict() == {
            "I": 60, "II": 60, "III": 150, "IV": 150,
        }  # fmt: skip
        np.testing.assert_allclose(table.I, 60 * table.fast_share)
        np.testing.assert_allclose(table.III, 150 * table.slow_share)
        np.testing.assert_allclose(
            table.capacity_kw, 750 * table.fast_share + 750 * table.slow_share
        )
        assert table.capacity_ratio.sum() == pytest.approx(1.0)
        sessions = spec.decision_sessions(decision)
        assert len(sessions) == 420 and sessions.ev_id.is_unique
        office = table.index[table.lot == "office"]
        assert not sessions[sessions.station.isin(office)].ev_type.isin(["III", "IV"]).any()


def test_decoding_is_categorical_and_valid():
    """Random keys: never a repeated lot, k in range, every class covered, shares in whole
    steps within each lot's limit; a permutation of candidates is not an ordered axis."""
    spec = gao_spec()
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(500):
        x = rng.random(n_variables(spec))
        decision = decode(spec, x)
        spec.check(decision)  # raises outside the space
        names = [d[0] for d in decision]
        assert len(set(names)) == len(names)
        seen.add(len(decision))
    assert seen == {5, 6, 7, 8}
    with pytest.raises(GridV2GError, match="distinct"):
        spec.check((("cs1", 15, 15), ("cs1", 15, 15), ("cs31", 0, 0)))


def test_screening_cache_and_brute_force_milp_pso():
    """Three routes to one optimum on a small instance (IEEE 13, 5 lots, 2-3 open, thirds):
    brute force over every decision, the MILP (HiGHS) and pymoo's PSO; the cache solves each
    distinct decision once."""
    base, spec = small_case()
    everything = all_decisions(spec)
    assert len(everything) == len(set(everything)) > 30
    with Screening(base, spec, workers=1) as screening:
        rows = screening.rows(everything)
        assert len(screening.cache) == len(everything)
        again = screening.rows(everything[:5] + everything[:5])
        assert len(screening.cache) == len(everything)  # all cache hits
        assert [r["cost"] for r in again[:5]] == [r["cost"] for r in rows[:5]]
        brute = min(rows, key=lambda r: r["cost"])
        assert brute["feasible"]
        # the swarm, on a fresh cache
        screening.cache.clear()
        _, history = run_pso(screening, particles=8, iterations=6, seed=0)
    swarm_cost = min(r["cost"] for r in screening.cache.values())
    assert history.is_monotonic_decreasing
    milp = SitingModel(base, spec, integer=True).solve_milp("HIGHS", 60)
    assert milp["cost"] == pytest.approx(brute["cost"], rel=1e-6)
    assert milp["decision"] == brute["decision"]
    assert swarm_cost <= brute["cost"] * (1 + 1e-3)  # within 0.1 % of the optimum
    assert len(screening.cache) < len(everything)


def test_gao_case_loads_and_checks_lots():
    spec = gao_spec()
    assert list(spec.lots.bus[:5]) == ["1", "31", "39", "87", "107"]
    assert spec.sessions.groupby("ev_type").size().to_dict() == {
        "I": 30, "II": 30, "III": 75, "IV": 75,
    }  # fmt: skip
    bad = spec.lots.copy()
    bad.loc["cs1", "lot"] = "garage"
    with pytest.raises(GridV2GError, match="unknown lot type"):
        SharedSitingSpec(bad, {"fast": 1.0, "slow": 1.0})
    assert isinstance(spec.assignment(decode(spec, np.full(n_variables(spec), 0.5))), pd.DataFrame)


#: a decision of the small instance whose evaluation kills its worker in the crash tests
CRASH = (("h675", 0, 2), ("c680", 3, 1))


def _crash_in_pool(decision):
    """A pool evaluation that kills its worker process on CRASH (as a native crash would).
    Pool workers are forked: they see the patched function and the compiled model."""
    import os

    from gridv2g.siting import swarm
    from gridv2g.siting.screening import screen

    if decision == CRASH:
        os._exit(13)
    return screen(swarm._WORKER["model"], decision, swarm._WORKER["solver"])


def _crash_on_dask(key, decision, solver):
    """The same on Dask: its workers are spawned, they import this module (on their inherited
    path) and call the real evaluation otherwise."""
    import os

    from gridv2g.siting import on_dask

    if decision == CRASH:
        os._exit(13)
    return on_dask.evaluate(key, decision, solver)


def _costs(rows) -> list[float]:
    return [r["cost"] for r in rows]


def test_a_crashing_evaluation_fails_alone_in_the_pool(monkeypatch):
    """Two pool workers: the evaluation that kills its worker is retried alone, then recorded
    as infeasible with the reason; the others give the in-process costs, and the next
    generation runs on a new pool."""
    import multiprocessing

    from gridv2g.siting import swarm

    if multiprocessing.get_start_method() != "fork":
        pytest.fail("this test needs the fork start method (Linux default)")
    base, spec = small_case()
    everything = all_decisions(spec)
    first, second = everything[:8], everything[8:12]
    assert CRASH in first
    with Screening(base, spec, workers=1) as here:
        expected = here.rows(first + second)
    monkeypatch.setattr(swarm, "_screen", _crash_in_pool)
    with Screening(base, spec, workers=2) as pool:
        rows = pool.rows(first)
        after = pool.rows(second)
    assert pool.where == "2 worker processes"  # after closing too (site_shared's figures)
    k = first.index(CRASH)
    assert not rows[k]["feasible"] and rows[k]["cost"] == FAILED_COST
    assert "worker process died (2 attempts)" in rows[k]["why"]
    others = [r for j, r in enumerate(rows) if j != k] + after
    assert all(r["why"] == "" for r in others)
    assert _costs(others) == pytest.approx(
        _costs([r for j, r in enumerate(expected) if j != k]), rel=1e-9
    )


def test_dask_screening_equals_in_process_cached_and_isolates_a_crash(monkeypatch):
    """A local Dask cluster of two workers (loopback only): the costs of the in-process
    screening to 1e-9, the cache answering repeats, and an evaluation that kills its worker
    recorded as infeasible with the reason while the others of its generation are kept."""
    import psutil

    from gridv2g.siting import on_dask

    base, spec = small_case()
    everything = all_decisions(spec)
    first = [d for d in everything[:11] if d != CRASH]
    second = [*everything[11:15], CRASH]
    assert len(first) == 10 and CRASH not in second[:-1]
    with Screening(base, spec, workers=1) as here:
        expected = here.rows(first + second)
    with Screening(base, spec, workers=2, address="local") as screening:
        cluster = screening.runner.cluster
        listening = {
            c.laddr.ip
            for p in [psutil.Process(), *psutil.Process().children(recursive=True)]
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        }
        assert listening and listening <= {"127.0.0.1", "::1"}, listening
        rows = screening.rows(first)
        assert _costs(rows) == pytest.approx(_costs(expected[: len(first)]), rel=1e-9, abs=1e-9)
        assert [r["feasible"] for r in rows] == [r["feasible"] for r in expected[: len(first)]]
        again = screening.rows(first[:5] + first[:5])  # cache hits: nothing sent
        assert len(screening.cache) == len(screening.order) == len(first)
        assert screening.calls == len(first) + 10
        assert _costs(again) == _costs(rows[:5]) * 2
        monkeypatch.setattr(on_dask, "evaluate", _crash_on_dask)
        crashed = screening.rows(second)
    assert cluster.status.name == "closed" and screening.runner is None
    assert not crashed[-1]["feasible"] and crashed[-1]["cost"] == FAILED_COST
    assert "worker process died" in crashed[-1]["why"]
    assert "KilledWorker" in crashed[-1]["why"]
    assert _costs(crashed[:-1]) == pytest.approx(_costs(expected[len(first) : -1]), rel=1e-9)


def test_site_options_reach_the_screening(monkeypatch):
    """The case's ``dask`` option, the overrides of ``site_shared_case`` and the command line
    reach :func:`site_shared` as its ``address``; a case cannot name a scheduler."""
    from typer.testing import CliRunner

    from gridv2g.case import CaseError
    from gridv2g.cli import app
    from gridv2g.siting import swarm

    seen = []

    def fake(base, spec, **kwargs):
        seen.append((kwargs["workers"], kwargs["address"]))
        raise GridV2GError("stop here")

    monkeypatch.setattr(swarm, "site_shared", fake)
    monkeypatch.setattr(swarm, "base_data", lambda case: None)
    import gridv2g as g

    case = g.load_case(GAO)
    on = case.model_copy(
        update={"shared_siting": case.shared_siting.model_copy(update={"dask": True})}
    )
    for args, kwargs in [
        ((case,), {}),
        ((on,), {}),
        ((on,), {"dask": False}),
        ((case,), {"dask": True, "workers": 3}),
        ((case,), {"address": "tcp://127.0.0.1:8786"}),
    ]:
        with pytest.raises(GridV2GError, match="stop here"):
            swarm.site_shared_case(*args, **kwargs)
    assert seen == [
        (2, None), (2, "local"), (2, None), (3, "local"), (2, "tcp://127.0.0.1:8786"),
    ]  # fmt: skip
    seen.clear()
    for flags in (["--dask", "--workers", "2"], ["--address", "tcp://127.0.0.1:9"], []):
        result = CliRunner().invoke(app, ["site", str(GAO), *flags])
        assert result.exit_code == 1 and "stop here" in result.output
    assert seen == [(2, "local"), (2, "tcp://127.0.0.1:9"), (2, None)]
    raw = g.load_case(GAO).model_dump(mode="json")
    raw["shared_siting"]["address"] = "tcp://198.51.100.7:8786"
    with pytest.raises(CaseError, match="address"):
        case_from_dict(raw, "bad", root=GAO.parent)
