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
