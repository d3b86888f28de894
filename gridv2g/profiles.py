"""Horizon and time profiles: base load, PV and wind availability, prices.

Every profile gridv2g uses is a DataFrame (or Series) indexed on one :class:`Horizon`: the
start times of its periods, named ``time``. Profiles come from CSV files
(:func:`read_profile`: a ``time`` column of ISO timestamps plus one column per element) or
from the documented standard shapes below (:func:`standard_shape`, :func:`price_shape`).

A profile is read as a step function: each value holds from its own time stamp to the next
one (the last one for one step of the file). A horizon value is the mean of that step function
over the horizon period, which is the held value when the period lies inside one step (a
coarser profile "step-held") and the average when the period spans several (a finer profile
"averaged"). Reading at another resolution than the horizon's is done only on request
(``resample=True``); otherwise it is an error that says what resampling would do.

Units: load values are what the caller scales them by (per unit of the element's kW, or kW);
availability is per unit of the element's rating [-] in [0, 1]; prices are currency per kWh.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import ProfileError

MINUTES_PER_DAY = 1440
#: kinds of profile read_profile checks: what values are allowed
KINDS = ("load", "availability", "price")
#: availability above 1 by less than this [per unit] is rounding, clipped to 1
AVAILABILITY_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# Horizon
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Horizon:
    """The optimization horizon: ``periods`` periods of ``minutes`` minutes from ``start``.

    Both 24 x 60 min and 96 x 15 min days are first class; any period length that divides a
    day (1440 min) is accepted, so that daily shapes line up with the periods.

    Attributes
    ----------
    start
        Start of the first period (coerced with :class:`pandas.Timestamp`; may carry a time
        zone, then every profile's times are converted to it).
    periods
        Number of periods [-], >= 1.
    minutes
        Period length [min], a divisor of 1440.

    Raises
    ------
    ProfileError
        If ``start`` is not a time, ``periods`` < 1 or ``minutes`` does not divide a day.
    """

    start: pd.Timestamp
    periods: int
    minutes: int

    def __post_init__(self) -> None:
        try:
            start = pd.Timestamp(self.start)
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"Horizon start {self.start!r} is not a time: {exc}") from None
        if start is pd.NaT:
            raise ProfileError(f"Horizon start {self.start!r} is not a time")
        periods = _positive_int(self.periods, "periods")
        minutes = _day_divisor(self.minutes)
        # frozen dataclass: normalise the fields in place once
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "minutes", minutes)

    @classmethod
    def day(cls, start="2024-01-01", minutes: int = 60) -> Horizon:
        """A 24 h horizon from ``start`` at ``minutes`` resolution (60: 24 periods, 15: 96)."""
        minutes = _day_divisor(minutes)
        return cls(start=start, periods=MINUTES_PER_DAY // minutes, minutes=minutes)

    @property
    def step(self) -> pd.Timedelta:
        """Period length as a :class:`pandas.Timedelta`."""
        return pd.Timedelta(minutes=self.minutes)

    @property
    def hours(self) -> float:
        """Period length [h] (minutes / 60): converts kW in a period to kWh."""
        return self.minutes / 60.0

    @property
    def index(self) -> pd.DatetimeIndex:
        """Start times of the periods, named ``time``, with its frequency set."""
        return pd.date_range(
            self.start, periods=self.periods, freq=f"{self.minutes}min", name="time"
        )

    @property
    def end(self) -> pd.Timestamp:
        """End of the last period (exclusive): start + periods * minutes."""
        return self.start + self.periods * self.step


def _day_divisor(value) -> int:
    """``value`` as a period length [min] that divides a day."""
    minutes = _positive_int(value, "minutes")
    if MINUTES_PER_DAY % minutes:
        divisors = [d for d in range(1, MINUTES_PER_DAY + 1) if MINUTES_PER_DAY % d == 0]
        raise ProfileError(
            f"Horizon minutes must divide a day (1440 min): one of "
            f"{', '.join(map(str, divisors))}; got {minutes}"
        )
    return minutes


def _positive_int(value, name: str) -> int:
    """``value`` as an int >= 1 (bools and non-integral floats are refused)."""
    if isinstance(value, bool):
        raise ProfileError(f"Horizon {name} must be a positive integer; got {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        if isinstance(value, float) and value.is_integer():
            out = int(value)
        else:
            raise ProfileError(
                f"Horizon {name} must be a positive integer; got {value!r}"
            ) from None
    if out < 1:
        raise ProfileError(f"Horizon {name} must be a positive integer; got {value!r}")
    return out


# --------------------------------------------------------------------------------------------
# Step functions on a horizon
# --------------------------------------------------------------------------------------------


def _step_mean(
    times: pd.DatetimeIndex, values: np.ndarray, stop: pd.Timestamp, horizon: Horizon
) -> np.ndarray:
    """Mean over each horizon period of a step function (rows of ``values`` held from ``times``).

    Row k of ``values`` holds on [times[k], times[k+1]) and the last row on
    [times[-1], stop); the caller has checked that [times[0], stop) covers the horizon. A
    period inside one step gets that step's value exactly; a period spanning several steps
    gets the time-weighted mean, from the running integral of the step function.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    origin = times[0]
    # minutes since the first step, as floats: small numbers keep the integral accurate
    t = np.append((times - origin) / pd.Timedelta(minutes=1), (stop - origin).total_seconds() / 60)
    a = (horizon.index - origin) / pd.Timedelta(minutes=1)
    a = np.asarray(a, dtype=float)
    b = a + horizon.minutes
    ka = np.searchsorted(t, a, side="right") - 1  # step holding at the period start
    kb = np.searchsorted(t, b, side="left") - 1  # last step starting before the period end
    # running integral of the step function at each step start, then at any time
    widths = np.diff(t)
    integral = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values * widths[:, None], 0)])

    def at(x, k):
        return integral[k] + values[k] * (x - t[k])[:, None]

    averaged = (at(b, kb) - at(a, ka)) / horizon.minutes
    return np.where((ka == kb)[:, None], values[ka], averaged)


def _daily_steps(horizon: Horizon, minutes: int) -> tuple[pd.DatetimeIndex, pd.Timestamp]:
    """Steps of ``minutes`` covering whole days around the horizon, and the end of the last."""
    first = horizon.start.normalize()
    stop = (horizon.end - pd.Timedelta(1, "ns")).normalize() + pd.Timedelta(days=1)
    steps = pd.date_range(first, stop, freq=f"{minutes}min", inclusive="left", name="time")
    return steps, stop


def hourly_table(horizon: Horizon, table: Sequence[float], name: str) -> pd.Series:
    """A 24-value hourly table (hour 0 = 00:00-01:00) repeated daily, on ``horizon``.

    Each table value holds through its hour, so a sub-hourly horizon repeats it (96 x 15 min
    gives each hourly value 4 times); a period longer than an hour gets the hours' mean.
    """
    table = np.asarray(table, dtype=float)
    steps, stop = _daily_steps(horizon, 60)
    values = _step_mean(steps, table[steps.hour], stop, horizon)[:, 0]
    return pd.Series(values, index=horizon.index, name=name)


def _minute_curve(
    horizon: Horizon, func: Callable[[np.ndarray, np.ndarray], np.ndarray], name: str
) -> pd.Series:
    """A continuous daily curve ``func(hour_of_day, day_of_year)`` averaged over each period.

    The curve is sampled at the middle of every minute of clock time and each period gets
    the mean of its samples (midpoint rule on one-minute slices), so an hour's value is the
    mean of its four quarter-hours.
    """
    steps, stop = _daily_steps(horizon, 1)
    mid = steps + pd.Timedelta(seconds=30)
    hour = mid.hour + mid.minute / 60.0 + mid.second / 3600.0
    values = func(np.asarray(hour, dtype=float), np.asarray(mid.dayofyear, dtype=float))
    out = _step_mean(steps, values, stop, horizon)[:, 0]
    # the running integral can round a hair outside the curve's range
    return pd.Series(np.clip(out, 0.0, None), index=horizon.index, name=name)


# --------------------------------------------------------------------------------------------
# Standard load, PV and wind shapes [per unit]
# --------------------------------------------------------------------------------------------

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


#: standard shapes by name: name -> function(horizon) -> Series [per unit]
SHAPES: dict[str, Callable[[Horizon], pd.Series]] = {
    "residential": residential_load,
    "commercial": commercial_load,
    "ieee_rts": ieee_rts_load,
    "clear_sky_pv": clear_sky_pv,
    "wind": wind_availability,
}


def standard_shape(name: str, horizon: Horizon) -> pd.Series:
    """The standard shape ``name`` on ``horizon`` [per unit], a Series named ``name``.

    Load shapes are per unit of the daily peak, PV and wind per unit of rating; all lie in
    [0, 1]. See :data:`SHAPES` and each function's docstring for the source.
    """
    return _lookup(SHAPES, name, "shape")(horizon).rename(name)


# --------------------------------------------------------------------------------------------
# Standard prices [currency/kWh]
# --------------------------------------------------------------------------------------------

FLAT_PRICE_PER_KWH = 0.15
#: illustrative three-tier time-of-use tariff [currency/kWh] and its hours (start, end)
TOU_OFFPEAK_PER_KWH = 0.08
TOU_MIDPEAK_PER_KWH = 0.15
TOU_PEAK_PER_KWH = 0.30
TOU_PEAK_HOURS = (17, 21)
TOU_OFFPEAK_HOURS = ((0, 7), (23, 24))
#: Gao, Wu, Xu 2019 two-tariff pricing [CNY/kWh] and the valley (off-peak) hours
GAO2019_PEAK_PER_KWH = 1.01
GAO2019_VALLEY_PER_KWH = 0.25
GAO2019_VALLEY_HOURS = (0, 6)


def flat_price(horizon: Horizon) -> pd.Series:
    """A flat energy price of 0.15 [currency/kWh] in every period."""
    return pd.Series(FLAT_PRICE_PER_KWH, index=horizon.index, name="flat", dtype=float)


def tou_price(horizon: Horizon) -> pd.Series:
    """An illustrative three-tier time-of-use tariff [currency/kWh], repeated daily.

    ========================  =======  ===================
    tier                      price    hours (clock time)
    ========================  =======  ===================
    off-peak                  0.08     00:00-07:00, 23:00-24:00
    mid-peak (shoulder)       0.15     07:00-17:00, 21:00-23:00
    on-peak                   0.30     17:00-21:00
    ========================  =======  ===================

    The tiers follow the common pattern of residential TOU tariffs (cheap nights, an evening
    peak); the numbers are gridv2g's, not a particular utility's. Its daily mean (0.152) is
    close to the flat price, so flat and TOU cases cost about the same for a flat load.
    """
    hourly = np.full(24, TOU_MIDPEAK_PER_KWH)
    hourly[slice(*TOU_PEAK_HOURS)] = TOU_PEAK_PER_KWH
    for lo, hi in TOU_OFFPEAK_HOURS:
        hourly[lo:hi] = TOU_OFFPEAK_PER_KWH
    return hourly_table(horizon, hourly, "tou")


def gao2019_price(horizon: Horizon) -> pd.Series:
    """Two-tariff price of Gao, Wu & Xu (2019) [CNY/kWh]: 0.25 for 00:00-06:00, else 1.01.

    Gao, Wu, Xu, Energies 12(8), 1577, 2019, doi:10.3390/en12081577, Sect. 5.1: "The
    electricity prices applied to charging stations during the peak hours and the off-peak
    hours were set to 1.01 and 0.25 CNY/kWh, according to the trial operation of EV charging
    stations in Shenzhen". The paper gives no table of hours; its results section places the
    off-peak period "during 24:00 to 6:00 the next day" (Sect. 5.2, Fig. 7a), which is the
    valley used here: 00:00-06:00 at 0.25, 06:00-24:00 at 1.01.
    """
    hourly = np.full(24, GAO2019_PEAK_PER_KWH)
    hourly[slice(*GAO2019_VALLEY_HOURS)] = GAO2019_VALLEY_PER_KWH
    return hourly_table(horizon, hourly, "gao2019")


#: standard prices by name: name -> function(horizon) -> Series [currency/kWh]
#: an illustrative CAISO-like day-ahead price shape [$/kWh] by hour 0..23 (see caiso_price)
CAISO_LIKE_PER_KWH = (
    0.045, 0.042, 0.040, 0.039, 0.040, 0.045, 0.055, 0.050, 0.035, 0.025, 0.020, 0.018,
    0.018, 0.020, 0.025, 0.035, 0.055, 0.085, 0.120, 0.130, 0.110, 0.080, 0.060, 0.050,
)  # fmt: skip


def caiso_price(horizon: Horizon) -> pd.Series:
    """A CAISO-style day-ahead price curve [$/kWh], repeated daily (seed 001's lot prices).

    The "duck curve" shape of California's day-ahead market on a sunny spring day: low
    overnight (about 0.04), lowest at midday when solar floods the market (0.018), steep
    evening ramp to a 19:00 peak (0.13). The numbers are gridv2g's illustration of that shape
    (seed 001 says only "24 hours of CAISO-style prices"), not market data: read real LMPs
    from CSV for studies.
    """
    return hourly_table(horizon, np.asarray(CAISO_LIKE_PER_KWH), "caiso")


PRICES: dict[str, Callable[[Horizon], pd.Series]] = {
    "caiso": caiso_price,
    "flat": flat_price,
    "tou": tou_price,
    "gao2019": gao2019_price,
}


def price_shape(name: str, horizon: Horizon) -> pd.Series:
    """The standard price ``name`` on ``horizon`` [currency/kWh], a Series named ``name``."""
    return _lookup(PRICES, name, "price shape")(horizon).rename(name)


def _lookup(table: dict, name: str, what: str):
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ProfileError(f"unknown {what} {name!r}; valid names: {', '.join(table)}") from None


# --------------------------------------------------------------------------------------------
# Reading profiles from CSV
# --------------------------------------------------------------------------------------------


def read_profile(
    path,
    horizon: Horizon,
    columns: Sequence[str] | str | None = None,
    kind: str = "load",
    resample: bool = False,
) -> pd.DataFrame:
    """Read a profile CSV onto ``horizon``.

    The file has a ``time`` column (ISO timestamps, the start of each value's period, at one
    regular step) and one numeric column per element.

    Parameters
    ----------
    path
        CSV file.
    horizon
        The horizon the result is indexed on.
    columns
        Columns to return, in this order; default: every column but ``time``.
    kind
        ``"load"`` (finite values; negative allowed, e.g. net load), ``"availability"``
        (per unit of rating, within [0, 1]; up to 1e-9 above 1 is clipped to 1) or
        ``"price"`` (finite values, currency/kWh).
    resample
        If the file's step differs from the horizon's: False (default) is an error; True
        maps the file onto the horizon as the mean of its step function over each period,
        i.e. a coarser file is step-held (each value applies through its own period) and a
        finer file is averaged over each horizon period.

    Returns
    -------
    DataFrame indexed exactly on ``horizon.index`` (named ``time``), float columns.

    Raises
    ------
    ProfileError
        Naming the file, the column and the first bad time: missing or empty file, no
        ``time`` column, unknown column, unreadable, duplicate, unordered or irregular times,
        a resolution other than the horizon's without ``resample``, a file that does not
        cover the horizon, a value that is missing (NaN), not a number, infinite or (for
        availability) outside [0, 1].
    """
    path = Path(path)
    if kind not in KINDS:
        raise ProfileError(f"kind must be one of {', '.join(KINDS)}; got {kind!r} for {path}")
    raw = _read_csv(path)
    names = _pick_columns(raw, columns, path)
    times = _parse_times(raw["time"], path, horizon)
    step = _regular_step(times, path, horizon)

    hstep = horizon.step
    stop = times[-1] + step
    if not resample and step != hstep:
        missing = horizon.index.difference(times)
        first = f"; first horizon time without a row: {missing[0]}" if len(missing) else ""
        if step > hstep:
            what = "coarser"
            fix = f"hold each value over its own {_minutes(step)} period"
        else:
            what = "finer"
            fix = f"average it over each {_minutes(hstep)} period"
        raise ProfileError(
            f"{path}: resolution {_minutes(step)} (column 'time', columns "
            f"{', '.join(map(repr, names))}) is {what} than the horizon's {_minutes(hstep)}"
            f"{first}. Set `resample: true` to {fix}."
        )
    if resample:
        # the step function must cover [start, end)
        if times[0] > horizon.start:
            first_missing = horizon.start
        elif stop < horizon.end:
            first_missing = horizon.index[horizon.index + hstep > stop][0]
        else:
            first_missing = None
    else:
        missing = horizon.index.difference(times)
        first_missing = missing[0] if len(missing) else None
    if first_missing is not None:
        raise ProfileError(
            f"{path}: does not cover the horizon {horizon.start} to {horizon.end} "
            f"(columns {', '.join(map(repr, names))}): first missing time {first_missing}; "
            f"the file covers {times[0]} to {stop}"
        )

    # only the rows whose step overlaps the horizon are used, and checked
    used = (times < horizon.end) & (times + step > horizon.start)
    values = _numeric(raw.loc[used, names], times[used], path, kind)
    if resample:
        data = _step_mean(times[used], values.to_numpy(), times[used][-1] + step, horizon)
        out = pd.DataFrame(data, index=horizon.index, columns=names)
    else:
        out = values.reindex(horizon.index)
    out.index = horizon.index
    out.columns = pd.Index(names)
    if kind == "availability":
        out = out.clip(lower=0.0, upper=1.0)
    return out.astype(float)


def _minutes(td: pd.Timedelta) -> str:
    minutes = td / pd.Timedelta(minutes=1)
    return f"{minutes:g} min"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ProfileError(f"profile file not found: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ProfileError(f"{path}: profile file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not a readable CSV file: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if "time" not in raw.columns:
        raise ProfileError(
            f"{path}: no 'time' column; columns found: {', '.join(map(repr, raw.columns))}"
        )
    if raw.empty:
        raise ProfileError(f"{path}: profile file has no rows")
    return raw


def _pick_columns(raw: pd.DataFrame, columns, path: Path) -> list[str]:
    available = [c for c in raw.columns if c != "time"]
    if columns is None:
        names = available
    else:
        names = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in names if c not in available]
        if unknown:
            raise ProfileError(
                f"{path}: column {unknown[0]!r} not found; available: "
                f"{', '.join(map(repr, available)) or 'none'}"
            )
        names = list(dict.fromkeys(names))
    if not names:
        raise ProfileError(f"{path}: no data columns besides 'time'")
    return names


def _parse_times(raw: pd.Series, path: Path, horizon: Horizon) -> pd.DatetimeIndex:
    text = raw.str.strip()
    mixed = ProfileError(f"{path}: column 'time' mixes UTC offsets or time zones; use one")
    with warnings.catch_warnings():
        # pandas 2 warns (and will raise) on mixed UTC offsets; either way it is an error here
        warnings.simplefilter("error", FutureWarning)
        try:
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        except (ValueError, TypeError, FutureWarning):
            raise mixed from None
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        raise mixed
    bad = parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ProfileError(
            f"{path}: column 'time', data row {row + 1}: cannot read {raw.iloc[row]!r} as an "
            f"ISO timestamp"
        )
    times = pd.DatetimeIndex(parsed, name="time")
    tz = horizon.start.tz
    if (times.tz is None) != (tz is None):
        raise ProfileError(
            f"{path}: column 'time' is {'time-zone aware' if times.tz else 'naive'} but the "
            f"horizon start {horizon.start} is {'time-zone aware' if tz else 'naive'}"
        )
    if tz is not None:
        times = times.tz_convert(tz)
    return times


def _regular_step(times: pd.DatetimeIndex, path: Path, horizon: Horizon) -> pd.Timedelta:
    """The file's time step; errors on duplicate, decreasing or irregular times."""
    dup = times.duplicated()
    if dup.any():
        t = times[dup][0]
        rows = np.flatnonzero(times == t)[:2] + 1
        raise ProfileError(
            f"{path}: column 'time': duplicate time {t} (data rows {rows[0]} and {rows[1]})"
        )
    if len(times) == 1:  # one row: taken at the horizon's resolution
        return horizon.step
    diffs = times[1:] - times[:-1]
    back = diffs <= pd.Timedelta(0)
    if back.any():
        i = int(np.flatnonzero(back)[0]) + 1
        raise ProfileError(
            f"{path}: column 'time' is not in increasing order: {times[i]} (data row {i + 1}) "
            f"comes after {times[i - 1]}"
        )
    step = pd.Series(diffs).mode().iloc[0]
    odd = diffs != step
    if odd.any():
        i = int(np.flatnonzero(odd)[0]) + 1
        raise ProfileError(
            f"{path}: column 'time' has an irregular time step: first irregular time "
            f"{times[i]} is {_minutes(diffs[i - 1])} after {times[i - 1]}, the file's step is "
            f"{_minutes(step)}"
        )
    return step


def _numeric(raw: pd.DataFrame, times: pd.DatetimeIndex, path: Path, kind: str) -> pd.DataFrame:
    """The used rows as floats, indexed on their times; errors name column and first bad time."""
    out = {}
    for col in raw.columns:  # a loop over columns (elements), not periods
        text = raw[col]
        value = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=float)
        missing = text.isna().to_numpy()
        problems = [
            (~missing & np.isnan(value), "is not a number"),
            (missing, "is missing (NaN)"),
            (np.isinf(value), "is infinite"),
        ]
        if kind == "availability":
            problems.append(
                (
                    (value < 0) | (value > 1 + AVAILABILITY_TOL),
                    "is outside [0, 1] per unit of rating (availability)",
                )
            )
        bad = np.zeros(len(value), dtype=bool)
        for mask, _ in problems:
            bad |= mask
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            why = next(msg for mask, msg in problems if mask[i])
            raise ProfileError(
                f"{path}: column {col!r} {why} at {times[i]}: {text.iloc[i]!r} "
                f"({int(bad.sum())} bad value(s) in this column within the horizon)"
            )
        out[col] = value
    return pd.DataFrame(out, index=times)
