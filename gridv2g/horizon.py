"""The optimization horizon: start, number of periods, period length in minutes.

Every profile and schedule in gridv2g is indexed on one :class:`Horizon` (DESIGN.md: time).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridv2g.errors import ProfileError

MINUTES_PER_DAY = 1440
#: years a date in a case file may lie in (a mistyped year is refused at load)
CASE_YEARS = (1900, 2199)


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


def parse_case_time(value, field: str) -> pd.Timestamp:
    """A date, or a date and time (ISO), as a case file gives it: ``horizon.start``, a
    sampler's ``day``.

    Refused, with a ValueError whose message starts with ``field``: 'now', 'today',
    'tomorrow', 'yesterday' (a run must not depend on when it runs), text that is not a date
    (``garbage``), impossible dates (``2024-02-30``), years outside :data:`CASE_YEARS`, and a
    time zone (cases are in local time, as their horizon).
    """
    text = str(value).strip()
    if text.lower() in ("now", "today", "tomorrow", "yesterday"):
        raise ValueError(f"{field}: '{text}' depends on when the case runs; give a date")
    try:
        time = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{field}: '{text}' is not a date and time ({exc})") from None
    first, last = CASE_YEARS
    if time is pd.NaT or not first <= time.year <= last:
        raise ValueError(f"{field}: '{text}' is outside {first}-{last}")
    if time.tz is not None:
        raise ValueError(f"{field}: '{text}' has a time zone; give local time without one")
    return time


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


def long_table(values, times: pd.DatetimeIndex, names, level: str) -> pd.Series:
    """(element x time) array -> Series indexed by (time, element), the layout of every
    time-dependent ``res_*`` table (``series.unstack()`` gives time x element)."""
    index = pd.MultiIndex.from_product([times, list(names)], names=["time", level])
    return pd.Series(np.asarray(values).T.ravel(), index=index)
