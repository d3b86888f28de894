"""Standard load, PV and wind shapes [per unit] on a horizon, each with its source."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from gridv2g.horizon import Horizon
from gridv2g.profiles.library import Site, bdew_g25, bdew_h25, pv_clearsky
from gridv2g.profiles.steps import _lookup, _minute_curve, hourly_table

#: IEEE RTS 1979, Table 4: hourly load [% of daily peak], winter weeks 1-8 & 44-52, weekday.
IEEE_RTS_WINTER_WEEKDAY_PCT = (
    67, 63, 60, 59, 59, 60, 74, 86, 95, 96, 96, 95,
    95, 95, 93, 94, 99, 100, 100, 96, 91, 83, 73, 63,
)  # fmt: skip

#: BDEW H25 household profile, January working day: hourly mean [% of the hourly peak].
BDEW_H25_JANUARY_WORKDAY_PCT = (
    44.6, 38.3, 36.3, 35.9, 37.5, 42.7, 55.2, 60.0, 56.4, 54.5, 55.0, 60.3,
    63.0, 62.5, 61.0, 63.0, 72.0, 90.0, 100.0, 99.0, 90.3, 80.7, 71.3, 57.3,
)  # fmt: skip

#: BDEW G25 commercial profile, January working day: hourly mean [% of the hourly peak].
BDEW_G25_JANUARY_WORKDAY_PCT = (
    21.6, 21.1, 21.0, 21.3, 22.9, 28.2, 40.8, 65.8, 87.7, 95.5, 100.0, 99.2,
    91.1, 84.6, 83.8, 80.5, 74.3, 66.5, 51.8, 39.6, 32.9, 28.4, 24.9, 23.0,
)  # fmt: skip


def residential_load(horizon: Horizon) -> pd.Series:
    """Typical residential daily load curve [per unit of the daily peak], evening peak at 18 h.

    Source: BDEW (German Association of Energy and Water Industries), standard load profile
    *H25* (households, the 2025 update of H0), January working day. The published profile is
    96 quarter-hour energies; the table here is their hourly means divided by the largest
    hourly mean (values as shipped in demandlib 0.2.2, ``bdew/bdew_data/h25.csv``, column
    Januar/WT). Night trough 0.36 at 03 h, morning shoulder 0.60 at 07 h, evening peak 1.0 at
    18-19 h. Hourly table, step-held below an hour, repeated daily.
    """
    return hourly_table(horizon, np.divide(BDEW_H25_JANUARY_WORKDAY_PCT, 100.0), "residential")


def commercial_load(horizon: Horizon) -> pd.Series:
    """Typical commercial (office/trade) daily load curve [per unit of daily peak], daytime.

    Source: BDEW standard load profile *G25* (commerce in general, the 2025 update of G0),
    January working day: hourly means of the 96 quarter-hour energies divided by the largest
    (values as shipped in demandlib 0.2.2, ``bdew/bdew_data/g25.csv``, column Januar/WT).
    Night base 0.21, rise from 06 h, peak 1.0 at 10-11 h, down to 0.40 by 19 h. Hourly table,
    step-held below an hour, repeated daily.
    """
    return hourly_table(horizon, np.divide(BDEW_G25_JANUARY_WORKDAY_PCT, 100.0), "commercial")


def ieee_rts_load(horizon: Horizon) -> pd.Series:
    """IEEE Reliability Test System hourly load [per unit of daily peak], winter weekday.

    IEEE RTS Task Force of the APM Subcommittee, "IEEE Reliability Test System", IEEE Trans.
    Power Apparatus and Systems PAS-98(6), 2047-2054, 1979, Table 4 (hourly peak load in
    percent of daily peak, winter weeks, weekday): hour 0 (00:00-01:00) = 67 %, ..., peak
    100 % at hours 17 and 18. Hourly table, step-held below an hour, repeated daily.
    """
    return hourly_table(horizon, np.divide(IEEE_RTS_WINTER_WEEKDAY_PCT, 100.0), "ieee_rts")


#: Haurwitz (1945) clear-sky GHI model constants: GHI = A cos(z) exp(-B / cos(z)) [W/m^2]
HAURWITZ_A_W_M2 = 1098.0
HAURWITZ_B = 0.059
#: latitude of the default PV site [deg N]: Hangzhou, the region of the Cao et al. 2024 case
PV_LATITUDE_DEG = 30.0


def clear_sky_pv(horizon: Horizon, latitude_deg: float = PV_LATITUDE_DEG) -> pd.Series:
    """Clear-sky PV availability [per unit of rating], zero at night, 1 at solar noon.

    The shape is the Haurwitz clear-sky global horizontal irradiance

        GHI(t) = 1098 cos z exp(-0.059 / cos z)  [W/m^2]   for cos z > 0, else 0

    (B. Haurwitz, "Insolation in relation to cloud type", J. Meteorology 3, 123-124, 1946;
    as in pvlib.clearsky.haurwitz), with the solar zenith angle z from

        cos z = sin(phi) sin(delta) + cos(phi) cos(delta) cos(omega),
        delta = 23.45 deg sin(360 deg (284 + n) / 365)   (Cooper 1969, day of year n),
        omega = 15 deg (h - 12)                           (hour angle, h = solar time [h]),

    phi = ``latitude_deg``. The clock time of the horizon is taken as local solar time (no
    longitude or equation-of-time correction), so solar noon is 12:00. Each day is divided by
    its own noon value, i.e. the array is assumed to reach its rating at clear-sky noon
    (tilted towards the sun, no temperature derating): the curve gives the day's shape and
    length for the latitude and season, not a yield estimate. For real sites supply measured
    or modelled (e.g. pvlib) availability through :func:`read_profile`. Values are means over
    each period (sampled every minute).
    """
    phi = math.radians(latitude_deg)

    def ghi_pu(hour: np.ndarray, doy: np.ndarray) -> np.ndarray:
        delta = np.radians(23.45) * np.sin(2 * np.pi * (284 + doy) / 365)
        omega = np.radians(15.0) * (hour - 12.0)
        cosz = np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.cos(omega)
        cosz_noon = np.cos(phi - delta)
        ghi = _haurwitz(cosz)
        noon = _haurwitz(cosz_noon)
        return np.divide(ghi, noon, out=np.zeros_like(ghi), where=noon > 0)

    return _minute_curve(horizon, ghi_pu, "clear_sky_pv").clip(upper=1.0)


def _haurwitz(cosz: np.ndarray) -> np.ndarray:
    """Haurwitz clear-sky GHI [W/m^2] from cos(zenith); 0 with the sun below the horizon."""
    cosz = np.asarray(cosz, dtype=float)
    safe = np.where(cosz > 0, cosz, 1.0)
    return np.where(cosz > 0, HAURWITZ_A_W_M2 * safe * np.exp(-HAURWITZ_B / safe), 0.0)


#: stylised diurnal onshore wind availability: mean, amplitude [per unit], hour of maximum [h]
WIND_MEAN_PU = 0.35
WIND_AMPLITUDE_PU = 0.15
WIND_PEAK_HOUR = 3.0


def wind_availability(horizon: Horizon) -> pd.Series:
    """Stylised diurnal onshore wind availability [per unit of rating], strongest at night.

        p(h) = 0.35 + 0.15 cos(2 pi (h - 3) / 24),   h = clock hour [h]

    so 0.50 at 03:00, 0.20 at 15:00, a daily mean (capacity factor) of 0.35.

    This is NOT measured data: it is a smooth curve made for gridv2g with a plausible level
    and phase, meant for cases that need wind which is anti-correlated with PV. Its phase
    follows winds at hub height (about 100-200 m) on inland sites, which are strongest
    between midnight and sunrise when the night-time boundary layer decouples from the
    ground (R. Fajber, A. H. Monahan, W. J. Merryfield, "At what time of day do daily extreme
    near-surface wind speeds occur?", J. Climate 27(11), 2014: at the Cabauw 200 m level,
    most likely between midnight and sunrise; at 10 m, early afternoon). Real fleets differ
    by site and season (German onshore output in summer peaks in the afternoon and has
    little daily cycle in winter), so a study of a real feeder should read site data with
    :func:`read_profile`. Values are means over each period (sampled every minute).
    """

    def curve(hour: np.ndarray, doy: np.ndarray) -> np.ndarray:
        return WIND_MEAN_PU + WIND_AMPLITUDE_PU * np.cos(2 * np.pi * (hour - WIND_PEAK_HOUR) / 24)

    return _minute_curve(horizon, curve, "wind").clip(upper=1.0)


#: standard shapes by name: name -> function(horizon) -> Series [per unit]; the shapes in
#: :data:`SITE_SHAPES` also take the case's site (``function(horizon, site=...)``)
SHAPES: dict[str, Callable[..., pd.Series]] = {
    "residential": residential_load,
    "commercial": commercial_load,
    "ieee_rts": ieee_rts_load,
    "clear_sky_pv": clear_sky_pv,
    "wind": wind_availability,
    "pv_clearsky": pv_clearsky,
    "bdew_h25": bdew_h25,
    "bdew_g25": bdew_g25,
}
#: shapes that are passed the site (latitude, longitude, tz); the others ignore it
SITE_SHAPES = frozenset({"pv_clearsky", "bdew_h25", "bdew_g25"})
#: shapes that cannot be computed without a site
NEEDS_SITE = frozenset({"pv_clearsky"})


def standard_shape(name: str, horizon: Horizon, site: Site | None = None) -> pd.Series:
    """The standard shape ``name`` on ``horizon`` [per unit], a Series named ``name``.

    Load shapes are per unit of a peak (``residential``, ``commercial``, ``ieee_rts``: the
    daily peak; ``bdew_h25``, ``bdew_g25``: the year's peak), PV and wind per unit of
    rating; all lie in [0, 1]. ``site`` (:class:`~gridv2g.profiles.Site`: latitude,
    longitude, tz) is passed to the shapes of :data:`SITE_SHAPES` and needed by
    ``pv_clearsky``; the other shapes ignore it. See :data:`SHAPES` and each function's
    docstring for the source.
    """
    func = _lookup(SHAPES, name, "shape")
    series = func(horizon, site=site) if name in SITE_SHAPES else func(horizon)
    return series.rename(name)
