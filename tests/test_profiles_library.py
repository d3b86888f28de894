"""Shapes from field libraries (pvlib, demandlib), the case's location, the old shapes
unchanged, and scipy's truncated Normal in the samplers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridv2g.case import CaseError, case_from_dict, grid_data
from gridv2g.errors import ProfileError
from gridv2g.fleet.sampling import _truncated_normal
from gridv2g.profiles import (
    Horizon,
    Site,
    bdew_year,
    commercial_load,
    german_holidays,
    standard_shape,
)

BERLIN = Site(52.5, 13.4, "Europe/Berlin")


def _noaa_solar_noon_min(day: pd.Timestamp, longitude: float, utc_offset_h: float) -> float:
    """Solar noon [min after local clock midnight] from the NOAA equation of time (Spencer
    series, as in the NOAA solar calculator's general formulas)."""
    g = 2 * np.pi / 365 * (day.dayofyear - 1)
    eot = 229.18 * (
        0.000075
        + 0.001868 * np.cos(g)
        - 0.032077 * np.sin(g)
        - 0.014615 * np.cos(2 * g)
        - 0.040849 * np.sin(2 * g)
    )
    return 720.0 - 4.0 * longitude - eot + 60.0 * utc_offset_h


def _centroid_min(pv: pd.Series) -> float:
    """Time of the curve's centre of mass [min after midnight] on a one-minute horizon."""
    t = np.arange(len(pv)) + 0.5
    return float((t * pv.to_numpy()).sum() / pv.sum())


@pytest.mark.parametrize(
    ("day", "offset_h"), [("2024-03-14", 1.0), ("2024-06-21", 2.0), ("2024-11-03", 1.0)]
)
def test_pv_clearsky_solar_noon_matches_noaa(day, offset_h):
    day = pd.Timestamp(day)
    pv = standard_shape("pv_clearsky", Horizon(day, 1440, 1), site=BERLIN)
    noon = _noaa_solar_noon_min(day, BERLIN.longitude, offset_h)
    assert abs(_centroid_min(pv) - noon) < 3.0
    # zero at night, positive around noon, in [0, 1]
    assert pv.iloc[:180].max() == 0.0 and pv.iloc[-120:].max() == 0.0
    assert pv.iloc[int(noon)] > 0.3 and pv.between(0, 1).all()


def test_pv_clearsky_moves_four_minutes_per_degree_of_longitude():
    h = Horizon("2024-06-21", 1440, 1)
    east = standard_shape("pv_clearsky", h, site=Site(50.0, 15.0, "Europe/Berlin"))
    west = standard_shape("pv_clearsky", h, site=Site(50.0, 10.0, "Europe/Berlin"))
    assert _centroid_min(west) - _centroid_min(east) == pytest.approx(20.0, abs=0.5)
    # and the same longitude in a time zone one hour further east: one hour later by clock
    kiev = standard_shape("pv_clearsky", h, site=Site(50.0, 15.0, "Europe/Kyiv"))
    assert _centroid_min(kiev) - _centroid_min(east) == pytest.approx(60.0, abs=0.5)


def test_pv_clearsky_longer_and_higher_in_summer_and_per_period_means():
    jun = standard_shape("pv_clearsky", Horizon.day("2024-06-21", 15), site=BERLIN)
    dec = standard_shape("pv_clearsky", Horizon.day("2024-12-21", 15), site=BERLIN)
    assert (jun > 0).sum() > (dec > 0).sum() + 20 and jun.sum() > 1.5 * dec.sum()
    hourly = standard_shape("pv_clearsky", Horizon.day("2024-06-21", 60), site=BERLIN)
    np.testing.assert_allclose(hourly.to_numpy(), jun.to_numpy().reshape(24, 4).mean(1))


def test_pv_clearsky_needs_a_valid_site():
    with pytest.raises(ProfileError, match="needs the site"):
        standard_shape("pv_clearsky", Horizon.day("2024-06-21"))
    with pytest.raises(ProfileError, match="IANA"):
        Site(52.5, 13.4, "Europe/Atlantis")
    with pytest.raises(ProfileError, match="latitude"):
        Site(91.0, 13.4, "UTC")


def _bdew_csv(profile: str) -> pd.DataFrame:
    import demandlib

    path = Path(demandlib.__file__).parent / "bdew" / "bdew_data" / f"{profile}.csv"
    return pd.read_csv(path, header=[0, 1], index_col=0)


def test_bdew_g25_picks_the_horizon_s_day_from_the_published_table():
    """G25 is static: a day is the published column of its month and day type, per unit of
    the largest quarter-hour of the whole table (every column occurs in a year)."""
    table = _bdew_csv("g25")
    peak = table.to_numpy().max()
    for day, column in [
        ("2024-07-03", ("Juli", "WT")),  # Wednesday
        ("2024-07-06", ("Juli", "SA")),
        ("2024-07-07", ("Juli", "FT")),  # Sunday
        ("2024-12-25", ("Dezember", "FT")),  # Christmas, a Wednesday
        ("2024-05-09", ("Mai", "FT")),  # Ascension, a Thursday
        ("2024-01-10", ("Januar", "WT")),
    ]:
        shape = standard_shape("bdew_g25", Horizon.day(day, 15))
        np.testing.assert_allclose(shape.to_numpy(), table[column].to_numpy() / peak, rtol=1e-12)


def test_bdew_h25_sunday_differs_from_wednesday_summer_from_winter():
    wed = standard_shape("bdew_h25", Horizon.day("2024-07-03"))
    sun = standard_shape("bdew_h25", Horizon.day("2024-07-07"))
    jan = standard_shape("bdew_h25", Horizon.day("2024-01-10"))
    assert np.abs(wed - sun.to_numpy()).max() > 0.05
    assert jan.sum() > 1.2 * wed.sum()  # households use more in winter
    # a January working day has the shape of the old 'residential' table (its source)
    old = standard_shape("residential", Horizon.day("2024-01-10")).to_numpy()
    np.testing.assert_allclose(jan.to_numpy() / jan.max(), old, atol=2e-3)


def test_bdew_annual_energy_is_demandlib_s_normalisation():
    h = Horizon("2024-01-01", 366 * 24, 60)
    for name, profile in (("bdew_h25", "h25"), ("bdew_g25", "g25")):
        year = bdew_year(profile, 2024)
        shape = standard_shape(name, h)
        energy_kwh = shape.sum() * h.hours * year.max()
        assert energy_kwh == pytest.approx(year.sum() * 0.25, rel=1e-9)
        assert energy_kwh == pytest.approx(1_000_000, rel=0.03)
        assert shape.max() <= 1.0 and shape.min() > 0.0


def test_bdew_horizon_across_new_year_and_holidays():
    h = Horizon("2024-12-31", 48, 60)
    shape = standard_shape("bdew_g25", h)
    np.testing.assert_allclose(
        shape.iloc[24:], standard_shape("bdew_g25", Horizon.day("2025-01-01"))
    )
    assert shape.iloc[:24].max() > 2 * shape.iloc[24:].max()  # working day vs New Year
    assert pd.Timestamp("2025-04-18") in german_holidays(2025)  # Good Friday
    assert len(german_holidays(2025)) == 9


#: sum, time-weighted sum and max of the old shapes, computed on git main (8f4981d)
OLD_SHAPES = [
    ("clear_sky_pv", "2024-06-21", 15, 33.74768864469118, 1603.0152106228315, 0.9993959263575031),
    ("clear_sky_pv", "2024-01-01", 60, 6.238500775460772, 71.74275891779888, 0.983441725035964),
    ("residential", "2024-07-03", 15, 59.471999999999994, 3226.168, 1.0),
    ("commercial", "2024-07-07", 60, 13.065, 156.263, 1.0),
    ("wind", "2024-03-01", 60, 8.400000000000002, 86.87657607216056, 0.4982925070564465),
]


@pytest.mark.parametrize(("name", "day", "minutes", "total", "moment", "peak"), OLD_SHAPES)
def test_old_shapes_unchanged(name, day, minutes, total, moment, peak):
    s = standard_shape(name, Horizon.day(day, minutes), site=BERLIN).to_numpy()
    assert s.sum() == pytest.approx(total, rel=1e-12)
    assert (s * np.arange(len(s))).sum() == pytest.approx(moment, rel=1e-12)
    assert s.max() == pytest.approx(peak, rel=1e-12)
    assert standard_shape("commercial", Horizon.day(day)).equals(
        commercial_load(Horizon.day(day)).rename("commercial")
    )


CASE = {
    "name": "located",
    "feeder": {"shipped": "ieee33"},
    "horizon": {"start": "2024-06-21", "periods": 24},
    "load": {"shape": "bdew_h25"},
    "der": [
        {
            "name": "pv1",
            "bus": "18",
            "kind": "pv",
            "s_kva": 300,
            "availability": {"shape": "pv_clearsky"},
        }
    ],
}


def test_case_location_feeds_pv_clearsky_and_is_checked_at_load():
    loc = {"latitude": 52.5, "longitude": 13.4, "tz": "Europe/Berlin"}
    data = grid_data(case_from_dict({**CASE, "location": loc}, "c.yaml"))
    expected = standard_shape("pv_clearsky", Horizon.day("2024-06-21"), site=BERLIN)
    np.testing.assert_allclose(data.der.availability["pv1"].to_numpy(), expected.to_numpy())
    with pytest.raises(CaseError, match=r"der\[0\]\.availability: shape 'pv_clearsky' needs"):
        case_from_dict(CASE, "c.yaml")
    with pytest.raises(CaseError, match=r"location\.tz: .*not a known IANA"):
        case_from_dict({**CASE, "location": {**loc, "tz": "Berlin"}}, "c.yaml")
    with pytest.raises(CaseError, match=r"location\.longitude"):
        case_from_dict({**CASE, "location": {**loc, "longitude": 200}}, "c.yaml")


def test_truncated_normal_is_scipy_truncnorm_with_the_old_semantics():
    from scipy import stats

    rng = np.random.default_rng(3)
    x = _truncated_normal(rng, 7.0, 10.0, 0.75, size=200_000)
    assert x.min() >= 7.0 and x.max() <= 10.0
    ref = stats.truncnorm(-2.0, 2.0, loc=8.5, scale=0.75)
    assert x.mean() == pytest.approx(ref.mean(), abs=0.01)
    assert x.std() == pytest.approx(ref.std(), rel=0.01)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-3
    # one uniform per value; zero width or zero std gives the mid-point
    y = _truncated_normal(np.random.default_rng(3), [1.0, 2.0, 3.0], [1.0, 5.0, 4.0], [1, 1, 0], 3)
    assert y[0] == 1.0 and y[2] == 3.5 and 2.0 <= y[1] <= 5.0
