"""Case files are checked at load: numbers finite and not booleans, the horizon's start a
real date (not 'now'), voltage limits in order; each error names the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gridv2g.case import CaseError, load_case
from gridv2g.profiles import Horizon

CASES = Path(__file__).resolve().parent.parent / "cases"


def edited(tmp_path, base: str, edit, name: str = "case.yaml") -> Path:
    """The shipped case ``base`` after ``edit(raw)``, written to ``tmp_path / name``."""
    raw = yaml.safe_load((CASES / base).read_text())
    edit(raw)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def case_with(tmp_path, edit) -> Path:
    return edited(tmp_path, "ieee33_der.yaml", edit)


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
    return edited(tmp_path, "lot20_seed001.yaml", edit, "station.yaml")


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
    """Refused at load (they used to fail inside the sampler, at build)."""

    def edit(raw):
        raw["sessions"] = {"sampler": "truncated_gaussian", "n": 5, "options": {"p_kw": "fast"}}

    with pytest.raises(
        CaseError,
        match=r"station.yaml:\d+: sessions.options: .*sampler 'truncated_gaussian': option "
        r"'p_kw' \(charge and discharge power limit \[kW\]\) must be a finite number > 0; "
        r"got 'fast'",
    ):
        load_case(station_case(tmp_path, edit))


def stochastic_case(tmp_path, edit) -> Path:
    return edited(tmp_path, "station_stochastic_seed000.yaml", edit, "stochastic.yaml")


@pytest.mark.parametrize("value", ["2024-02-30", "garbage", "9999-12-31", "now", "today"])
@pytest.mark.parametrize("kind", ["sessions", "scenarios"])
def test_sampler_day_is_parsed_at_load(tmp_path, kind, value):
    """As horizon.start (the same parser): a real date, 1900-2199, not 'now'."""
    write = station_case if kind == "sessions" else stochastic_case
    path = write(tmp_path, lambda r: r[kind].update(day=value))
    with pytest.raises(CaseError, match=rf"\.yaml:\d+: {kind}\.day: .*day: '{value}'"):
        load_case(path)


def test_unquoted_yaml_dates_reach_the_field_check(tmp_path):
    """YAML reads ``day: 2024-02-30`` as a timestamp; it stays text, so an impossible date is
    the field's error (file, line, field) and a valid one loads."""
    text = (CASES / "lot20_seed001.yaml").read_text()
    path = tmp_path / "station.yaml"
    path.write_text(text.replace("sessions: {", "sessions: {day: 2024-02-30, "))
    with pytest.raises(CaseError, match=r"station.yaml:10: sessions.day: .*'2024-02-30' is not"):
        load_case(path)
    path.write_text(text.replace("sessions: {", "sessions: {day: 2024-01-05, "))
    assert load_case(path).sessions.day == "2024-01-05"


# ---------------------------------------------------------------------------- sampler options
NAN, INF = float("nan"), float("inf")
#: options that cannot be negative: sizes, powers, times, efficiencies, shares, rates and
#: states of charge (hours of day and the log-mean mu may be)
NOT_NEGATIVE = {
    "capacity_kwh", "p_kw", "eta", "min_stay_h", "p_v2g", "consumption_kwh_per_km", "sigma",
    "soc_floor", "step_min", "capacity_spaces", "rate_per_h", "mean_parking_h", "hours",
    "soc_arrival", "soc_target", "soc_initial", "soc_limits", "station_weights",
}  # fmt: skip
#: list options whose default is None: a valid list to spoil
LISTS_WITHOUT_DEFAULT = {"soc_limits": [0.2, 0.9], "station_weights": [1.0]}
#: options a case file cannot give (mappings, a DataFrame): see test_python_only_options
PYTHON_ONLY = {"mix", "stations", "windows", "ev_types"}


def bad_options() -> list:
    """(sampler, option, value): each list option empty and with a NaN, infinite or (where
    impossible) negative entry; each numeric option NaN, +-inf and (where impossible)
    negative. Options are read from the samplers' signatures, so a new one is covered."""
    import inspect

    from gridv2g import fleet
    from gridv2g.fleet.registry import FIELDS

    out = []
    for name, func in fleet.SAMPLERS.items():
        for option, param in inspect.signature(func).parameters.items():
            if option in FIELDS or option in PYTHON_ONLY:
                continue
            default = LISTS_WITHOUT_DEFAULT.get(option, param.default)
            if isinstance(default, bool):
                continue
            if isinstance(default, tuple | list):
                rest = list(default)[1:]
                values = [[], [NAN, *rest], [INF, *rest]]
                values += [[-0.1, *rest]] if option in NOT_NEGATIVE else []
            elif isinstance(default, int | float):
                values = [NAN, INF, -INF] + ([-1.0] if option in NOT_NEGATIVE else [])
            else:
                raise AssertionError(f"{name}: no bad values for option {option}")
            out += [pytest.param(name, option, v, id=f"{name}-{option}-{v}") for v in values]
    return out


#: values out of range that are neither NaN, infinite, negative nor empty
OUT_OF_RANGE = [
    ("reservations", "p_v2g", 1.5),
    ("truncated_gaussian", "eta", 1.2),
    ("truncated_gaussian", "eta", 0),
    ("parking_lot", "soc_floor", 1.5),
    ("truncated_gaussian", "soc_target", [0.5, 1.2]),
    ("truncated_gaussian", "soc_limits", [0.9, 0.2]),
    ("truncated_gaussian", "soc_limits", [0.2, 0.9, 0.1]),
    ("truncated_gaussian", "arrival_h", [15, 8]),
    ("truncated_gaussian", "arrival_h", [8, 15, -1]),
    ("truncated_gaussian", "capacity_kwh", 0),
    ("parking_lot", "capacity_spaces", 2.5),
    ("parking_lot", "rate_per_h", [1.0, 2.0]),
    ("reservations", "station_weights", [0, 0]),
    ("gao2019_fleet", "soc_initial", [0.5, 0.1, 0.2]),
    ("gao2019_fleet", "step_min", 0),
    ("truncated_gaussian", "v2g", 1.0),
    ("truncated_gaussian", "p_kw", "fast"),
]


@pytest.mark.parametrize(("sampler", "option", "value"), bad_options() + OUT_OF_RANGE)
def test_bad_sampler_options_are_refused_before_sampling(tmp_path, sampler, option, value):
    """A SessionError naming the sampler and the option, before anything is drawn (never a
    numpy or scipy traceback, a NaN session or 1000 vain redraws); at load a CaseError
    naming the file, the line and the option."""
    import inspect

    from gridv2g import fleet
    from gridv2g.errors import SessionError

    func = fleet.SAMPLERS[sampler]
    n = {"n": 3} if "n" in inspect.signature(func).parameters else {}
    with pytest.raises(SessionError, match=rf"sessions sampler '{sampler}': option '{option}' \("):
        fleet.sample_sessions(
            sampler, Horizon.day("2024-01-01"), ["s"], options={option: value}, **n
        )
    with pytest.raises(SessionError, match=rf"^{func.__name__}: option '{option}' \("):
        func(**{option: value}, **n)

    def edit(raw):
        raw["sessions"] = {"sampler": sampler, **n, "options": {option: value}}

    with pytest.raises(
        CaseError, match=rf"station.yaml:\d+: sessions.options: .*option '{option}'"
    ):
        load_case(station_case(tmp_path, edit))


def test_every_sampler_option_has_a_rule():
    """So that bad_options() and the checks cover every option a sampler takes."""
    import inspect

    from gridv2g import fleet

    for name, func in fleet.SAMPLERS.items():
        params = set(inspect.signature(func).parameters) - {"day", "seed"}
        assert params <= set(fleet.OPTIONS), (name, params - set(fleet.OPTIONS))


def test_python_only_options_are_checked_by_type():
    from gridv2g import fleet
    from gridv2g.errors import SessionError

    with pytest.raises(SessionError, match=r"option 'mix' \(.*\) must be a mapping"):
        fleet.sample_parking_lot(mix=[1.0, 2.0])
    with pytest.raises(SessionError, match=r"option 'stations' \(.*\) must be a mapping"):
        fleet.SAMPLERS["gao2019_fleet"](stations=[1.0])
    with pytest.raises(SessionError, match=r"option 'ev_types' \(.*\) must be a DataFrame"):
        fleet.sample_parking_lot(ev_types={"I": 1})


@pytest.mark.parametrize("kind", ["sessions", "scenarios"])
@pytest.mark.parametrize(("option", "note"), [("capacity", ""), ("seed", r" \(seed: set by")])
def test_unknown_sampler_options_list_the_valid_ones(tmp_path, kind, option, note):
    """At load, in a station case (sessions) as in a stochastic one (scenarios); a field of
    the case (seed, n, day, station) given as an option is refused, not silently overridden."""
    write = station_case if kind == "sessions" else stochastic_case

    def edit(raw):
        raw[kind] = {**raw[kind], "sampler": "truncated_gaussian", "options": {option: 50.0}}

    with pytest.raises(
        CaseError,
        match=rf"\.yaml:\d+: {kind}.options: .*sampler 'truncated_gaussian' takes no option "
        rf"'{option}'; its options: capacity_kwh, p_kw, eta, arrival_h, departure_h, "
        rf"soc_arrival, soc_target, v2g, min_stay_h, soc_limits, step_min{note}",
    ):
        load_case(write(tmp_path, edit))


def test_options_without_a_sampler_are_refused(tmp_path):
    (tmp_path / "s.csv").write_text("ev_id\n")

    def edit(raw):
        raw["sessions"] = {"csv": "s.csv", "options": {"p_kw": 3.0}}

    with pytest.raises(CaseError, match=r"sessions.options: .*give a sampler"):
        load_case(station_case(tmp_path, edit))


def test_valid_sampler_options_still_draw(tmp_path):
    """The shipped stochastic case (options capacity, power, efficiency, time ranges) loads
    and draws its scenarios."""
    from gridv2g.case import stochastic_data

    data = stochastic_data(load_case(CASES / "station_stochastic_seed000.yaml"))
    assert len(data.scenarios) == 10
    assert all(len(s) and (s["capacity_kwh"] == 50.0).all() for s in data.scenarios)


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
