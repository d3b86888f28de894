"""Horizon, profile CSVs (checks, coverage, resampling) and the standard shapes and prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridv2g.errors import GridV2GError, ProfileError
from gridv2g.profiles import (
    IEEE_RTS_WINTER_WEEKDAY_PCT,
    PRICES,
    SHAPES,
    Horizon,
    Site,
    price_shape,
    read_profile,
    standard_shape,
)

DATA = Path(__file__).parent / "data" / "profiles"
LOAD = DATA / "load_hourly.csv"
PV = DATA / "pv_15min.csv"
PRICE = DATA / "prices_hourly.csv"

H60 = Horizon.day("2024-01-01", minutes=60)
H15 = Horizon.day("2024-01-01", minutes=15)
TABULATED = ["residential", "commercial", "ieee_rts"]


def hourly_csv(tmp_path, name="bad.csv", periods=24, freq="60min", **columns) -> Path:
    """Write a profile CSV on 2024-01-01; columns default to a load column 'a' of 0.5."""
    times = pd.date_range("2024-01-01", periods=periods, freq=freq)
    frame = pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M")})
    for col, values in (columns or {"a": 0.5}).items():
        frame[col] = values
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def error(path, horizon=H60, **kw) -> str:
    with pytest.raises(ProfileError) as info:
        read_profile(path, horizon, **kw)
    return str(info.value)


# ------------------------------------------------------------------------------- Horizon


def test_horizon_24x60_and_96x15():
    assert H60.periods == 24 and H60.minutes == 60 and H60.hours == 1.0
    assert H15.periods == 96 and H15.minutes == 15 and H15.hours == 0.25
    for h in (H60, H15):
        idx = h.index
        assert isinstance(idx, pd.DatetimeIndex)
        assert idx.name == "time"
        assert idx.freq is not None and idx.freq == pd.Timedelta(minutes=h.minutes)
        assert idx[0] == pd.Timestamp("2024-01-01")
        assert len(idx) == h.periods
        assert h.end == pd.Timestamp("2024-01-02")
    assert H15.index[1] == pd.Timestamp("2024-01-01 00:15")


def test_horizon_coerces_start_and_compares_by_value():
    h = Horizon("2024-03-05 06:00", 48, 30)
    assert isinstance(h.start, pd.Timestamp)
    assert h.end == pd.Timestamp("2024-03-06 06:00")
    assert h == Horizon(pd.Timestamp("2024-03-05 06:00"), 48, 30)
    assert Horizon.day() == Horizon("2024-01-01", 24, 60)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": "2024-01-01", "periods": 0, "minutes": 60},
        {"start": "2024-01-01", "periods": 24, "minutes": 0},
        {"start": "2024-01-01", "periods": 24, "minutes": 7},
        {"start": "2024-01-01", "periods": 2.5, "minutes": 60},
        {"start": "2024-01-01", "periods": True, "minutes": 60},
        {"start": "not a time", "periods": 24, "minutes": 60},
    ],
)
def test_horizon_rejects_bad_values(kwargs):
    with pytest.raises(ProfileError, match="Horizon"):
        Horizon(**kwargs)


def test_profile_error_is_a_value_error_and_gridv2g_error():
    assert issubclass(ProfileError, ValueError)
    assert issubclass(ProfileError, GridV2GError)


# ------------------------------------------------------------------------------- reading


def test_read_24x60_exact():
    out = read_profile(LOAD, H60)
    raw = pd.read_csv(LOAD)
    assert out.index.equals(H60.index) and out.index.name == "time"
    assert list(out.columns) == ["bus_7", "bus_12"]
    np.testing.assert_array_equal(out["bus_7"], raw["bus_7"])
    assert (out["bus_12"] < 0).any()  # net load may be negative


def test_read_96x15_exact_and_column_choice():
    out = read_profile(PV, H15, columns=["pv_2", "pv_1"], kind="availability")
    raw = pd.read_csv(PV)
    assert out.index.equals(H15.index)
    assert list(out.columns) == ["pv_2", "pv_1"]
    np.testing.assert_array_equal(out["pv_1"], raw["pv_1"])
    assert list(read_profile(PV, H15, columns="pv_1").columns) == ["pv_1"]


def test_read_prices():
    out = read_profile(PRICE, H60, kind="price")
    assert out.loc["2024-01-01 08:00", "buy_per_kwh"] == 0.30
    assert out.loc["2024-01-01 07:00", "sell_per_kwh"] == 0.05


def test_resample_coarse_to_fine_holds_each_value_exactly():
    out = read_profile(LOAD, H15, resample=True)
    raw = pd.read_csv(LOAD)
    assert out.index.equals(H15.index)
    for col in ("bus_7", "bus_12"):
        np.testing.assert_array_equal(out[col].to_numpy(), np.repeat(raw[col].to_numpy(), 4))


def test_resample_fine_to_coarse_is_the_mean():
    out = read_profile(PV, H60, kind="availability", resample=True)
    raw = pd.read_csv(PV)
    assert out.index.equals(H60.index)
    for col in ("pv_1", "pv_2"):
        expected = raw[col].to_numpy().reshape(24, 4).mean(axis=1)
        np.testing.assert_allclose(out[col], expected, rtol=0, atol=1e-12)


def test_resample_same_resolution_offset_times_average_neighbours(tmp_path):
    path = tmp_path / "offset.csv"
    times = pd.date_range("2023-12-31 23:30", periods=25, freq="60min")
    pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M"), "a": np.arange(25.0)}).to_csv(
        path, index=False
    )
    assert "first missing time 2024-01-01 00:00:00" in error(path)
    out = read_profile(path, H60, resample=True)
    np.testing.assert_allclose(out["a"], np.arange(24.0) + 0.5)


def test_longer_file_is_cut_to_the_horizon_and_only_used_rows_are_checked(tmp_path):
    values = np.arange(48.0)
    values[3] = np.nan  # day 1 only: not in the day-2 horizon
    path = hourly_csv(tmp_path, periods=48, a=values)
    day2 = Horizon.day("2024-01-02")
    out = read_profile(path, day2)
    np.testing.assert_array_equal(out["a"], np.arange(24.0, 48.0))
    assert "2024-01-01 03:00:00" in error(path, H60)


def test_time_zones(tmp_path):
    path = tmp_path / "tz.csv"
    times = pd.date_range("2024-01-01", periods=24, freq="60min", tz="UTC")
    pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M%z"), "a": 1.0}).to_csv(path, index=False)
    h = Horizon(pd.Timestamp("2024-01-01 01:00", tz="Europe/Berlin"), 24, 60)
    out = read_profile(path, h)
    assert out.index.equals(h.index)
    assert "naive" in error(path, H60)


# ------------------------------------------------------------------------- file errors


def test_missing_file(tmp_path):
    msg = error(tmp_path / "nowhere.csv")
    assert "nowhere.csv" in msg and "not found" in msg


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "empty.csv" in error(path)


def test_no_time_column(tmp_path):
    path = tmp_path / "notime.csv"
    path.write_text("t,a\n2024-01-01T00:00,1\n")
    msg = error(path)
    assert "notime.csv" in msg and "'time'" in msg and "'t'" in msg


def test_unknown_column_lists_available():
    msg = error(LOAD, columns=["bus_7", "bus_99"])
    assert "load_hourly.csv" in msg and "'bus_99'" in msg
    assert "'bus_7'" in msg and "'bus_12'" in msg


def test_unknown_kind():
    assert "availability" in error(LOAD, kind="power")


def test_unreadable_time(tmp_path):
    path = tmp_path / "badtime.csv"
    path.write_text("time,a\n2024-01-01T00:00,1\nyesterday,1\n")
    msg = error(path)
    assert "badtime.csv" in msg and "'time'" in msg and "'yesterday'" in msg and "row 2" in msg


def test_mixed_utc_offsets(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("time,a\n2024-01-01T00:00+01:00,1\n2024-01-01T01:00+02:00,1\n")
    assert "mixed.csv" in error(path) and "offsets" in error(path)


def test_duplicate_times(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("time,a\n2024-01-01T00:00,1\n2024-01-01T01:00,1\n2024-01-01T01:00,2\n")
    msg = error(path)
    assert "dup.csv" in msg and "duplicate" in msg and "2024-01-01 01:00:00" in msg


def test_times_out_of_order(tmp_path):
    path = tmp_path / "order.csv"
    path.write_text("time,a\n2024-01-01T01:00,1\n2024-01-01T00:00,1\n")
    msg = error(path)
    assert "order.csv" in msg and "increasing" in msg and "2024-01-01 00:00:00" in msg


def test_irregular_step_names_first_irregular_time(tmp_path):
    times = list(pd.date_range("2024-01-01", periods=24, freq="60min"))
    times[5] = times[5] + pd.Timedelta(minutes=30)  # 05:30 instead of 05:00
    path = tmp_path / "irregular.csv"
    pd.DataFrame({"time": [t.strftime("%Y-%m-%dT%H:%M") for t in times], "a": 1.0}).to_csv(
        path, index=False
    )
    msg = error(path)
    assert "irregular.csv" in msg and "irregular" in msg and "'time'" in msg
    assert "2024-01-01 05:30:00" in msg and "60 min" in msg


# ---------------------------------------------------------------- resolution, coverage


def test_coarser_profile_without_resample_says_what_resample_would_do():
    msg = error(LOAD, H15)
    assert "load_hourly.csv" in msg and "'bus_7'" in msg
    assert "60 min" in msg and "coarser" in msg and "15 min" in msg
    assert "resample: true" in msg and "hold each value" in msg
    assert "2024-01-01 00:15:00" in msg  # first horizon time the file has no row for


def test_finer_profile_without_resample():
    msg = error(PV, H60, kind="availability")
    assert "pv_15min.csv" in msg and "15 min" in msg and "finer" in msg
    assert "resample: true" in msg and "average" in msg


def test_exact_coverage_passes_one_period_short_fails(tmp_path):
    full = hourly_csv(tmp_path, "full.csv", periods=24)
    assert len(read_profile(full, H60)) == 24
    short = hourly_csv(tmp_path, "short.csv", periods=23)
    msg = error(short)
    assert "short.csv" in msg and "'a'" in msg and "does not cover" in msg
    assert "first missing time 2024-01-01 23:00:00" in msg
    # resampled, the last hourly row still holds until 23:00 only
    msg = error(short, H15, resample=True)
    assert "first missing time 2024-01-01 23:00:00" in msg


def test_profile_starting_late(tmp_path):
    path = tmp_path / "late.csv"
    times = pd.date_range("2024-01-01 02:00", periods=30, freq="60min")
    pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M"), "a": 1.0}).to_csv(path, index=False)
    for kw in ({}, {"resample": True}):
        msg = error(path, **kw)
        assert "late.csv" in msg and "first missing time 2024-01-01 00:00:00" in msg


def test_profile_of_another_day():
    msg = error(LOAD, Horizon.day("2024-02-01"))
    assert "does not cover" in msg and "2024-02-01 00:00:00" in msg


# ----------------------------------------------------------------------- value checks


@pytest.mark.parametrize(
    ("value", "words"),
    [(np.nan, "missing (NaN)"), ("abc", "not a number"), ("inf", "infinite")],
)
@pytest.mark.parametrize("kind", ["load", "availability", "price"])
def test_bad_values_name_file_column_and_first_time(tmp_path, value, words, kind):
    col = pd.Series([0.5] * 24, dtype=object)
    col[7] = value
    col[9] = value
    path = hourly_csv(tmp_path, a=0.5, b=col)
    msg = error(path, kind=kind)
    assert "bad.csv" in msg and "'b'" in msg and words in msg
    assert "2024-01-01 07:00:00" in msg and "2 bad value" in msg


@pytest.mark.parametrize("value", [-0.01, 1.5])
def test_availability_must_lie_in_0_1(tmp_path, value):
    values = np.full(24, 0.5)
    values[[13, 20]] = value
    path = hourly_csv(tmp_path, pv=values)
    msg = error(path, kind="availability")
    assert "bad.csv" in msg and "'pv'" in msg and "[0, 1]" in msg
    assert "2024-01-01 13:00:00" in msg
    # the same numbers are fine as load or price
    assert read_profile(path, H60, kind="load")["pv"].iloc[13] == value
    assert read_profile(path, H60, kind="price")["pv"].iloc[13] == value


def test_availability_rounding_above_one_is_clipped(tmp_path):
    values = np.full(24, 0.5)
    values[12] = 1 + 5e-10
    values[13] = 1.0
    path = hourly_csv(tmp_path, pv=values)
    out = read_profile(path, H60, kind="availability")["pv"]
    assert out.iloc[12] == 1.0 and out.iloc[13] == 1.0 and out.max() == 1.0


# ------------------------------------------------------------------- standard shapes


def test_shape_and_price_registries():
    old = {"residential", "commercial", "ieee_rts", "clear_sky_pv", "wind"}
    assert set(SHAPES) == old | {"pv_clearsky", "bdew_h25", "bdew_g25"}
    assert set(PRICES) == {"caiso", "flat", "tou", "gao2019"}


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("horizon", [H60, H15], ids=["24x60", "96x15"])
def test_shapes_are_per_unit_on_the_horizon(name, horizon):
    # the site is passed to the shapes that take one (pv_clearsky needs it), ignored by others
    s = standard_shape(name, horizon, site=Site(30.0, 120.2, "Asia/Shanghai"))
    assert isinstance(s, pd.Series) and s.name == name
    assert s.index.equals(horizon.index)
    assert np.isfinite(s).all()
    assert s.min() >= 0.0 and s.max() <= 1.0


@pytest.mark.parametrize("name", TABULATED)
def test_tabulated_shapes_96x15_repeat_the_hourly_values_4_times(name):
    hourly = standard_shape(name, H60).to_numpy()
    np.testing.assert_array_equal(standard_shape(name, H15).to_numpy(), np.repeat(hourly, 4))
    assert hourly.max() == 1.0  # per unit of the daily peak


@pytest.mark.parametrize("name", ["clear_sky_pv", "wind"])
def test_continuous_shapes_hourly_is_the_mean_of_quarter_hours(name):
    hourly = standard_shape(name, H60).to_numpy()
    quarter = standard_shape(name, H15).to_numpy().reshape(24, 4).mean(axis=1)
    np.testing.assert_allclose(hourly, quarter, rtol=0, atol=1e-12)


def test_ieee_rts_table_values_and_peak():
    s = standard_shape("ieee_rts", H60)
    np.testing.assert_allclose(s.to_numpy(), np.array(IEEE_RTS_WINTER_WEEKDAY_PCT) / 100.0)
    assert s.iloc[0] == pytest.approx(0.67) and s.iloc[3] == pytest.approx(0.59)
    peak_hours = s.index[s == 1.0].hour
    assert list(peak_hours) == [17, 18]


def test_residential_peaks_in_the_evening_commercial_in_the_day():
    res = standard_shape("residential", H60)
    com = standard_shape("commercial", H60)
    assert 17 <= res.idxmax().hour <= 20
    assert 9 <= com.idxmax().hour <= 12
    assert res.iloc[3] < 0.5 and com.iloc[3] < 0.3


@pytest.mark.parametrize("horizon", [H60, H15], ids=["24x60", "96x15"])
def test_clear_sky_pv_zero_at_night_max_around_noon(horizon):
    pv = standard_shape("clear_sky_pv", horizon)
    assert pv.iloc[0] == 0.0  # midnight
    assert pv.at[pd.Timestamp("2024-01-01 03:00")] == 0.0
    assert pv.at[pd.Timestamp("2024-01-01 22:00")] == 0.0
    t_max = pv.idxmax()
    assert pd.Timestamp("2024-01-01 11:00") <= t_max <= pd.Timestamp("2024-01-01 12:30")
    assert pv.max() > 0.95
    # symmetric about solar noon (12:00 clock time)
    np.testing.assert_allclose(pv.to_numpy(), pv.to_numpy()[::-1], atol=1e-9)


def test_clear_sky_pv_longer_days_in_june():
    jan = standard_shape("clear_sky_pv", Horizon.day("2024-01-01"))
    jun = standard_shape("clear_sky_pv", Horizon.day("2024-06-21"))
    assert (jun > 0).sum() > (jan > 0).sum()


def test_wind_is_strongest_at_night():
    wind = standard_shape("wind", H60)
    assert wind.idxmax().hour in (2, 3) and wind.idxmin().hour in (14, 15)
    assert wind.mean() == pytest.approx(0.35, abs=1e-6)


def test_shapes_repeat_daily_on_a_multi_day_horizon():
    two_days = Horizon("2024-01-01", 48, 60)
    for name in [*TABULATED, "wind"]:
        s = standard_shape(name, two_days).to_numpy()
        np.testing.assert_allclose(s[:24], s[24:], atol=1e-12)


def test_unknown_shape_lists_valid_names():
    with pytest.raises(ProfileError) as info:
        standard_shape("office", H60)
    assert "'office'" in str(info.value)
    for name in SHAPES:
        assert name in str(info.value)
    with pytest.raises(ProfileError, match="flat, tou, gao2019"):
        price_shape("spot", H60)


# --------------------------------------------------------------------------- prices


@pytest.mark.parametrize("name", list(PRICES))
@pytest.mark.parametrize("horizon", [H60, H15], ids=["24x60", "96x15"])
def test_price_shapes_positive_on_the_horizon(name, horizon):
    p = price_shape(name, horizon)
    assert p.name == name and p.index.equals(horizon.index)
    assert (p > 0).all()


def test_price_tiers():
    assert (price_shape("flat", H60) == 0.15).all()
    gao = price_shape("gao2019", H60)
    assert (gao.iloc[:6] == 0.25).all() and (gao.iloc[6:] == 1.01).all()
    tou = price_shape("tou", H60)
    assert tou.iloc[3] == 0.08 and tou.iloc[10] == 0.15 and tou.iloc[18] == 0.30
    assert tou.iloc[23] == 0.08
    np.testing.assert_array_equal(price_shape("tou", H15).to_numpy(), np.repeat(tou, 4))


def test_caiso_price_has_the_duck_curve_shape():
    horizon = Horizon.day("2024-01-01", minutes=15)
    price = price_shape("caiso", horizon)
    hourly = price.groupby(price.index.hour).mean()
    assert hourly.idxmax() == 19 and hourly.idxmin() in (11, 12)
    assert hourly[2] < hourly[19] / 2  # cheap nights against the evening peak
    assert (price > 0).all() and len(price) == 96
