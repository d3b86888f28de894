"""Standard shapes computed by field libraries: pvlib (clear-sky PV at a site) and demandlib
(full-year BDEW standard load profiles on the horizon's actual dates).

These shapes take the site of the case (:class:`Site`: latitude, longitude, IANA time zone);
the older hand-written shapes in :mod:`gridv2g.profiles.shapes` keep their names and values.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.easter import easter

from gridv2g.errors import ProfileError
from gridv2g.horizon import Horizon
from gridv2g.profiles.steps import _daily_steps, _step_mean

#: irradiance at which a PV module delivers its rating (standard test conditions) [W/m^2]
STC_IRRADIANCE_W_M2 = 1000.0
#: ground reflectance for the plane-of-array irradiance [-] (pvlib's default for grass)
PV_ALBEDO = 0.25
#: annual consumption the BDEW tables are scaled to [kWh/a] (demandlib returns kW for it)
BDEW_ANNUAL_KWH = 1_000_000.0


@dataclass(frozen=True)
class Site:
    """Where a case is: latitude [deg N], longitude [deg E] and an IANA time zone name
    (``Europe/Berlin``), in which the horizon's clock times are read.

    Raises
    ------
    ProfileError
        Latitude outside [-90, 90], longitude outside [-180, 180], or an unknown time zone.
    """

    latitude: float
    longitude: float
    tz: str

    def __post_init__(self) -> None:
        check_site(self.latitude, self.longitude, self.tz)


def check_site(latitude, longitude, tz) -> None:
    """Refuse a latitude outside [-90, 90] deg, a longitude outside [-180, 180] deg or a time
    zone that is not an IANA name (ProfileError saying which)."""
    for name, value, bound in (("latitude", latitude, 90.0), ("longitude", longitude, 180.0)):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not np.isfinite(value) or abs(value) > bound:
            raise ProfileError(
                f"{name} {value!r} must be a number of degrees in [-{bound:g}, {bound:g}]"
            )
    try:
        if not isinstance(tz, str) or not tz:
            raise ValueError
        zoneinfo.ZoneInfo(tz)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ProfileError(
            f"tz {tz!r} is not a known IANA time zone name (such as 'Europe/Berlin', "
            "'Asia/Shanghai', 'America/Los_Angeles', 'UTC')"
        ) from None


def _need_site(site: Site | None, shape: str) -> Site:
    if site is None:
        raise ProfileError(
            f"shape {shape!r} needs the site: latitude, longitude and tz (in a case file: "
            "location: {latitude: ..., longitude: ..., tz: ...})"
        )
    return site


def _local(times: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """Horizon times as aware times in ``tz``: naive ones are local clock time there (the
    repeated hour at the end of summer time read as standard time, the skipped hour at its
    start shifted forward); aware ones are converted."""
    if times.tz is not None:
        return times.tz_convert(tz)
    return times.tz_localize(
        tz, ambiguous=np.zeros(len(times), dtype=bool), nonexistent="shift_forward"
    )


def pv_clearsky(horizon: Horizon, site: Site | None = None) -> pd.Series:
    """Clear-sky PV availability [per unit of rating] at ``site``, from pvlib.

    Per unit of rating = plane-of-array irradiance / 1000 W/m^2 (the standard test
    conditions at which a module delivers its rating; no temperature or inverter losses),
    clipped to 1 (an inverter sized at the array's rating). The array is fixed, tilted at
    |latitude| and facing the equator (south in the northern hemisphere), the sky
    isotropic (:func:`pvlib.irradiance.get_total_irradiance`, albedo 0.25). The irradiance is
    pvlib's Ineichen-Perez clear sky with the Linke turbidity climatology and site altitude
    pvlib ships (``Location.get_clearsky(model='ineichen')``, no internet needed), the sun's
    position from pvlib's NREL SPA (``Location.get_solarposition``), so solar noon moves with
    longitude, the time zone and the equation of time, and the level with latitude and
    season. The horizon's clock times are local time in ``site.tz`` (see :func:`_local`).
    Values are means over each period of one-minute samples (midpoints), as
    :func:`~gridv2g.profiles.clear_sky_pv`; the older shape ``clear_sky_pv`` (each day
    scaled to 1 at 12:00) is unchanged.
    """
    import pvlib

    site = _need_site(site, "pv_clearsky")
    steps, stop = _daily_steps(horizon, 1)
    times = _local(steps + pd.Timedelta(seconds=30), site.tz)
    location = pvlib.location.Location(site.latitude, site.longitude, tz=site.tz)
    sun = location.get_solarposition(times)
    sky = location.get_clearsky(times, model="ineichen", solar_position=sun)
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=abs(site.latitude),
        surface_azimuth=180.0 if site.latitude >= 0 else 0.0,
        solar_zenith=sun["apparent_zenith"],
        solar_azimuth=sun["azimuth"],
        dni=sky["dni"],
        ghi=sky["ghi"],
        dhi=sky["dhi"],
        albedo=PV_ALBEDO,
        model="isotropic",
    )["poa_global"]
    pu = np.clip(np.nan_to_num(poa.to_numpy(float) / STC_IRRADIANCE_W_M2), 0.0, 1.0)
    out = _step_mean(steps, pu, stop, horizon)[:, 0]
    return pd.Series(np.clip(out, 0.0, 1.0), index=horizon.index, name="pv_clearsky")


def german_holidays(year: int) -> list[pd.Timestamp]:
    """Nationwide public holidays of Germany in ``year`` (the BDEW profiles treat them as
    Sundays): New Year, Good Friday, Easter Monday, 1 May, Ascension, Whit Monday,
    3 October, 25 and 26 December."""
    e = pd.Timestamp(easter(year))
    fixed = [(1, 1), (5, 1), (10, 3), (12, 25), (12, 26)]
    moving = [e - pd.Timedelta(days=2), e + pd.Timedelta(days=1)]
    moving += [e + pd.Timedelta(days=39), e + pd.Timedelta(days=50)]
    return sorted([pd.Timestamp(year, m, d) for m, d in fixed] + moving)


@functools.lru_cache(maxsize=16)
def _bdew_year(profile: str, year: int) -> np.ndarray:
    from demandlib import bdew

    index = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left")
    cls = {"h25": bdew.H25, "g25": bdew.G25}[profile]
    values = cls(index, holidays=[d.date() for d in german_holidays(year)]).to_numpy(float)
    values.flags.writeable = False
    return values


def bdew_year(profile: str, year: int) -> pd.Series:
    """The BDEW 2025 standard load profile ``profile`` ('h25' households, dynamised; 'g25'
    commerce) for calendar ``year``: 15-minute mean power [kW] for an annual consumption of
    about 1,000,000 kWh (demandlib's scaling; the exact sum depends on the year's calendar),
    German nationwide holidays as Sundays (:func:`german_holidays`), local clock time."""
    index = pd.date_range(f"{year}-01-01", periods=len(_bdew_year(profile, year)), freq="15min")
    return pd.Series(_bdew_year(profile, year), index=index.rename("time"), name=profile)


def _bdew_shape(horizon: Horizon, profile: str, name: str) -> pd.Series:
    start = horizon.start.tz_localize(None) if horizon.start.tz is not None else horizon.start
    last = start + horizon.periods * horizon.step - pd.Timedelta(1, "ns")
    years = range(start.year, last.year + 1)
    # each year per unit of its own peak quarter-hour
    values = np.concatenate([_bdew_year(profile, y) / _bdew_year(profile, y).max() for y in years])
    steps = pd.date_range(f"{years[0]}-01-01", periods=len(values), freq="15min")
    stop = pd.Timestamp(f"{years[-1] + 1}-01-01")
    naive = Horizon(start=start, periods=horizon.periods, minutes=horizon.minutes)
    out = _step_mean(steps, values, stop, naive)[:, 0]
    return pd.Series(np.clip(out, 0.0, 1.0), index=horizon.index, name=name)


def bdew_h25(horizon: Horizon, site: Site | None = None) -> pd.Series:
    """BDEW H25 household load on the horizon's actual dates [per unit of the year's peak].

    The full-year profile of :func:`bdew_year` ('h25', from demandlib: month, working day /
    Saturday / Sunday-or-holiday from the date, the H25 dynamisation factor of the day of
    the year) divided by its largest quarter-hour in that calendar year, so a winter evening
    reaches about 1 and a summer day stays lower; periods get the mean of the quarter-hours
    they cover. The horizon's clock times are read as local time (the site is not used:
    the profile is German, holidays German). Annual energy: the per-unit values times
    ``bdew_year('h25', year).max()`` integrate to the year's ~1,000,000 kWh. The older shape
    ``residential`` (one January working day, per unit of its own peak, every day) is
    unchanged.
    """
    return _bdew_shape(horizon, "h25", "bdew_h25")


def bdew_g25(horizon: Horizon, site: Site | None = None) -> pd.Series:
    """BDEW G25 commercial load on the horizon's actual dates [per unit of the year's peak].

    As :func:`bdew_h25` for profile 'g25' (commerce in general; static, no dynamisation):
    weekends and German holidays low, working days peaking late morning. The older shape
    ``commercial`` is unchanged.
    """
    return _bdew_shape(horizon, "g25", "bdew_g25")
