"""Step functions on a horizon: the resampling rule every profile follows (see
:mod:`gridv2g.profiles`), hourly tables and continuous daily curves averaged per period.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from gridv2g.errors import ProfileError
from gridv2g.horizon import Horizon


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


def _lookup(table: dict, name: str, what: str):
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ProfileError(f"unknown {what} {name!r}; valid names: {', '.join(table)}") from None
