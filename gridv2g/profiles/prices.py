"""Standard prices [currency/kWh] on a horizon: flat, time-of-use, Gao (2019), CAISO-like."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from gridv2g.horizon import Horizon
from gridv2g.profiles.steps import _lookup, hourly_table

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
