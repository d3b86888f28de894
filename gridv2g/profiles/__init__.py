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

from gridv2g.horizon import MINUTES_PER_DAY, Horizon
from gridv2g.profiles.io import AVAILABILITY_TOL, KINDS, read_profile
from gridv2g.profiles.library import (
    BDEW_ANNUAL_KWH,
    STC_IRRADIANCE_W_M2,
    Site,
    bdew_g25,
    bdew_h25,
    bdew_year,
    check_site,
    german_holidays,
    pv_clearsky,
)
from gridv2g.profiles.prices import (
    CAISO_LIKE_PER_KWH,
    FLAT_PRICE_PER_KWH,
    PRICES,
    TOU_MIDPEAK_PER_KWH,
    TOU_OFFPEAK_HOURS,
    TOU_OFFPEAK_PER_KWH,
    TOU_PEAK_HOURS,
    TOU_PEAK_PER_KWH,
    caiso_price,
    flat_price,
    gao2019_price,
    price_shape,
    tou_price,
)
from gridv2g.profiles.shapes import (
    HAURWITZ_B,
    IEEE_RTS_WINTER_WEEKDAY_PCT,
    NEEDS_SITE,
    PV_LATITUDE_DEG,
    SHAPES,
    SITE_SHAPES,
    WIND_AMPLITUDE_PU,
    WIND_MEAN_PU,
    WIND_PEAK_HOUR,
    clear_sky_pv,
    commercial_load,
    ieee_rts_load,
    residential_load,
    standard_shape,
    wind_availability,
)
from gridv2g.profiles.steps import hourly_table

__all__ = [
    "AVAILABILITY_TOL",
    "BDEW_ANNUAL_KWH",
    "CAISO_LIKE_PER_KWH",
    "FLAT_PRICE_PER_KWH",
    "HAURWITZ_B",
    "IEEE_RTS_WINTER_WEEKDAY_PCT",
    "KINDS",
    "MINUTES_PER_DAY",
    "NEEDS_SITE",
    "PRICES",
    "PV_LATITUDE_DEG",
    "SHAPES",
    "SITE_SHAPES",
    "STC_IRRADIANCE_W_M2",
    "TOU_MIDPEAK_PER_KWH",
    "TOU_OFFPEAK_HOURS",
    "TOU_OFFPEAK_PER_KWH",
    "TOU_PEAK_HOURS",
    "TOU_PEAK_PER_KWH",
    "WIND_AMPLITUDE_PU",
    "WIND_MEAN_PU",
    "WIND_PEAK_HOUR",
    "Horizon",
    "Site",
    "bdew_g25",
    "bdew_h25",
    "bdew_year",
    "caiso_price",
    "check_site",
    "clear_sky_pv",
    "commercial_load",
    "flat_price",
    "gao2019_price",
    "german_holidays",
    "hourly_table",
    "ieee_rts_load",
    "price_shape",
    "pv_clearsky",
    "read_profile",
    "residential_load",
    "standard_shape",
    "tou_price",
    "wind_availability",
]
