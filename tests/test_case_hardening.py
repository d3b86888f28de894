"""Case files are checked at load: numbers finite and not booleans, the horizon's start a
real date (not 'now'), voltage limits in order; each error names the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gridv2g.case import CaseError, load_case

CASES = Path(__file__).resolve().parent.parent / "cases"


def case_with(tmp_path, edit) -> Path:
    raw = yaml.safe_load((CASES / "ieee33_der.yaml").read_text())
    edit(raw)
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize("value", ["2024-02-30", "garbage", "9999-12-31", "now", "today"])
def test_horizon_start_is_parsed_at_load(tmp_path, value):
    path = case_with(tmp_path, lambda r: r["horizon"].update(start=value))
    with pytest.raises(CaseError, match=r"case.yaml:\d+: horizon: .*start"):
        load_case(path)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("options", "vmin_pu"), float("nan")),
        (("options", "vmax_pu"), float("inf")),
        (("objective", "losses"), float("nan")),
        (("options", "curtailment_cost_per_kwh"), float("inf")),
    ],
)
def test_numbers_are_finite(tmp_path, where, value):
    path = case_with(tmp_path, lambda r: r.setdefault(where[0], {}).update({where[1]: value}))
    with pytest.raises(CaseError, match=rf"{where[0]}.{where[1]}: Input should be a finite"):
        load_case(path)


def test_a_nan_limit_is_refused_not_solved_as_no_limit(tmp_path):
    def edit(raw):
        raw["stations"] = [{"name": "s", "bus": "18", "s_kva": 100, "p_kw": {"constant": 50}}]
        raw["stations"][0]["p_kw"] = {"constant": float("nan")}

    with pytest.raises(CaseError, match="finite"):
        load_case(case_with(tmp_path, edit))


def test_booleans_are_not_numbers(tmp_path):
    path = case_with(tmp_path, lambda r: r["options"].update(vmin_pu=True))
    with pytest.raises(CaseError, match="vmin_pu: True is a boolean, not a number"):
        load_case(path)


def test_voltage_limits_in_order(tmp_path):
    path = case_with(tmp_path, lambda r: r["options"].update(vmin_pu=1.06, vmax_pu=1.04))
    with pytest.raises(CaseError, match="vmin_pu < vmax_pu"):
        load_case(path)
    path = case_with(tmp_path, lambda r: r["options"].update(bus_v_limits={"18": [1.0, 0.9]}))
    with pytest.raises(CaseError, match="'18'"):
        load_case(path)


def station_case(tmp_path, edit) -> Path:
    raw = yaml.safe_load((CASES / "lot20_seed001.yaml").read_text())
    edit(raw)
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_sizes_are_bounded_unless_lifted(tmp_path):
    import time

    path = station_case(tmp_path, lambda r: r["sessions"].update(n=5_000_000))
    t0 = time.perf_counter()
    with pytest.raises(CaseError, match=r"sessions: .*n: 5,000,000 is more than 100,000"):
        load_case(path)
    assert time.perf_counter() - t0 < 1.0
    assert load_case(path, lift_limits=True).sessions.n == 5_000_000  # lifted: it loads
    path = case_with(tmp_path, lambda r: r["horizon"].update(periods=100_000))
    with pytest.raises(CaseError, match="periods: 100,000 is more than 35,136"):
        load_case(path)


def test_seeds_are_not_negative(tmp_path):
    path = station_case(tmp_path, lambda r: r["sessions"].update(seed=-1))
    with pytest.raises(CaseError, match=r"sessions.seed: Input should be greater than or equal"):
        load_case(path)


def test_a_missing_feeder_folder_is_a_typed_error(tmp_path):
    from gridv2g.case import grid_data
    from gridv2g.errors import FeederError

    (tmp_path / "empty").mkdir()
    for folder in ("nowhere", "empty"):
        path = case_with(tmp_path, lambda r, f=folder: r.update(feeder={"tables": f}))
        with pytest.raises(FeederError, match=r"not a feeder folder written by Feeder\.to_dir"):
            grid_data(load_case(path))


def test_sampler_options_of_the_wrong_type_are_a_typed_error(tmp_path):
    from gridv2g.case import station_data
    from gridv2g.errors import SessionError

    def edit(raw):
        raw["sessions"] = {"sampler": "truncated_gaussian", "n": 5, "options": {"p_kw": "fast"}}

    with pytest.raises(SessionError, match="sampler 'truncated_gaussian' cannot draw with"):
        station_data(load_case(station_case(tmp_path, edit)))


def test_summaries_carry_no_nan():
    """A percentage of a zero baseline is not defined: None, listed, never NaN."""
    from gridv2g.result.base import ResultBase

    r = ResultBase(summary={"a": 1.0, "b": float("nan"), "c": float("inf"), "d": None})
    assert r.summary["b"] is None and r.summary["c"] is None and r.summary["a"] == 1.0
    assert r.summary["not_defined"] == ["b", "c"]


def test_negative_prices_keep_the_relaxation_exact(tmp_path):
    """A negative price rewards losses: the loss guard charges them back (Farivar & Low's
    condition: an objective increasing in losses), so the plan replays exactly in AC and
    nothing is flagged; the guard's cost is reported on its own."""
    import warnings

    import gridv2g as g

    def edit(raw):
        raw["prices"] = {"constant": -0.1}
        raw["objective"] = {"energy_cost": 1.0}

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not exact" warning
        result = g.solve(load_case(case_with(tmp_path, edit)))
    s = result.summary
    assert s["relaxation_exact"] and s["term_loss_guard"] > 0
    report = g.validate(result)
    assert report.summary["flagged_periods"] == 0
    assert report.summary["max_dv_pu"] < 1e-8
    # the losses are the loss-minimal plan's (the positive-price optimum of this feeder)
    reference = g.solve(load_case(CASES / "ieee33_der.yaml")).summary["losses_kwh"]
    assert s["losses_kwh"] == pytest.approx(reference, rel=1e-4)
