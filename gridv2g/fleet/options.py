"""What each keyword option of the seeded samplers must be: checked before any drawing (by
the samplers themselves, and by case files at load), so that a bad value is a SessionError
naming the sampler and the option, never a NaN session or a traceback from numpy's insides.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridv2g.errors import SessionError


@dataclass(frozen=True)
class Option:
    """The rule of one sampler option.

    Attributes
    ----------
    what
        What it is, with its unit (for messages).
    kind
        ``number`` (a finite real), ``whole`` (a finite whole number), ``flag`` (a bool),
        ``range`` ((low, high) or (low, high, std): a truncated normal's bounds and std),
        ``pair`` ((low, high)), ``mean_std`` ((mean, std) of a normal), ``weights`` (shares:
        numbers >= 0, not all 0), ``rate`` (a number, 24 hourly numbers or a callable),
        ``mapping``, ``table`` (a DataFrame), ``stations`` (a name or a non-empty list of
        names).
    low, high
        Bounds of the number(s): of a ``number`` or ``whole``, of both ends of a ``range``,
        of the mean of a ``mean_std``. None: unbounded.
    low_open
        ``low`` itself is excluded (``> low`` rather than ``>= low``).
    optional
        None is allowed (the sampler's default then applies).
    """

    what: str
    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    optional: bool = False

    def bounds(self) -> str:
        """The bounds as text: ``> 0``, ``in [0, 1]``, ``in (0, 1]``; "" if unbounded."""
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"<= {self.high:g}"
        return ""

    def requirement(self) -> str:
        """What a valid value looks like."""
        within = self.bounds()
        text = {
            "number": f"a finite number {within}".rstrip(),
            "whole": f"a whole number {within}".rstrip(),
            "flag": "true or false",
            "range": "(low, high) or (low, high, std): finite numbers, low <= high, std >= 0"
            + (f", low and high {within}" if within else ""),
            "pair": "(low, high): finite numbers, low <= high"
            + (f", both {within}" if within else ""),
            "mean_std": "(mean, std): finite numbers, std >= 0"
            + (f", mean {within}" if within else ""),
            "weights": "a non-empty list of finite numbers >= 0, not all 0",
            "rate": "a finite number >= 0, 24 such numbers (one per hour) or a callable",
            "mapping": "a mapping",
            "table": "a DataFrame",
            "stations": "a station name or a non-empty list of names",
        }[self.kind]
        return text + (" (or null for the default)" if self.optional else "")

    def holds(self, value) -> bool:
        """Whether ``value`` obeys the rule."""
        if value is None:
            return self.optional
        if self.kind == "number":
            return _real(value) and self._within(float(value))
        if self.kind == "whole":
            return _real(value) and float(value).is_integer() and self._within(float(value))
        if self.kind == "flag":
            return isinstance(value, bool | np.bool_)
        if self.kind in ("range", "pair"):
            values = _reals(value)
            sizes = (2, 3) if self.kind == "range" else (2,)
            return (
                values is not None
                and len(values) in sizes
                and values[0] <= values[1]
                and self._within(values[0])
                and self._within(values[1])
                and (len(values) == 2 or values[2] >= 0)
            )
        if self.kind == "mean_std":
            values = _reals(value)
            return (
                values is not None
                and len(values) == 2
                and self._within(values[0])
                and (values[1] >= 0)
            )
        if self.kind == "weights":
            values = _reals(value)
            return bool(values) and min(values) >= 0 and sum(values) > 0
        if self.kind == "rate":
            if callable(value):
                return True
            values = [value] if _real(value) else _reals(value)
            return values is not None and len(values) in (1, 24) and min(values) >= 0
        if self.kind == "mapping":
            return isinstance(value, Mapping)
        if self.kind == "table":
            return isinstance(value, pd.DataFrame)
        if self.kind == "stations":
            if isinstance(value, str):
                return True
            if not isinstance(value, Sequence | np.ndarray | pd.Index):
                return False
            return len(value) > 0 and all(isinstance(name, str) for name in value)
        raise ValueError(f"unknown option kind {self.kind!r}")  # a bug in OPTIONS

    def _within(self, x: float) -> bool:
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return self.high is None or x <= self.high


def _real(value) -> bool:
    """A finite real number (a bool is not one)."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(float(value))
    )


def _reals(value) -> list[float] | None:
    """``value`` as a list of finite reals; None if it is not a sequence of them."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence | np.ndarray):
        return None
    items = list(np.ravel(value)) if isinstance(value, np.ndarray) else list(value)
    return [float(v) for v in items] if all(_real(v) for v in items) else None


_SOC = {"low": 0.0, "high": 1.0}

#: the options of every sampler by name: one rule per name, whichever sampler takes it
#: (``day`` and ``seed`` are not here: :func:`~gridv2g.fleet.sampling._origin` reads the day,
#: numpy the seed)
OPTIONS: dict[str, Option] = {
    "n": Option("number of EVs", "whole", low=0),
    "station": Option("station of the EVs", "stations"),
    "capacity_kwh": Option("battery capacity [kWh]", "number", low=0, low_open=True),
    "p_kw": Option("charge and discharge power limit [kW]", "number", low=0, low_open=True),
    "eta": Option("charge and discharge efficiency [-]", "number", 0, 1, low_open=True),
    "arrival_h": Option("plug-in time [h after day]", "range"),
    "departure_h": Option("plug-out time [h after day]", "range"),
    "soc_arrival": Option("arrival state of charge [per unit]", "range", **_SOC),
    "soc_target": Option("target state of charge [per unit]", "range", **_SOC),
    "soc_initial": Option("initial state of charge [per unit]", "mean_std", **_SOC),
    "soc_limits": Option("(SOC_min, SOC_max) [per unit]", "pair", optional=True, **_SOC),
    "soc_floor": Option("lowest arrival state of charge [per unit]", "number", **_SOC),
    "v2g": Option("EVs allow discharging", "flag"),
    "p_v2g": Option("probability that an EV allows discharging [-]", "number", **_SOC),
    "min_stay_h": Option("shortest stay [h]", "number", low=0),
    "step_min": Option("time grid [min]", "whole", low=1),
    "station_weights": Option("shares of the stations [-]", "weights", optional=True),
    "consumption_kwh_per_km": Option("energy driven per km [kWh/km]", "number", low=0),
    "mu": Option("mean of ln(daily distance / 1 km) [-]", "number"),
    "sigma": Option("std of ln(daily distance / 1 km) [-]", "number", low=0),
    "capacity_spaces": Option("parking spaces Z [-]", "whole", low=1),
    "rate_per_h": Option("arrival rate [EV/h]", "rate"),
    "mean_parking_h": Option("mean parking time [h]", "number", low=0, low_open=True),
    "hours": Option("time arrivals are drawn over [h]", "number", low=0, low_open=True),
    "mix": Option("shares of the EV types {type: weight}", "mapping", optional=True),
    "stations": Option("stations {name: {lot, evs}}", "mapping", optional=True),
    "windows": Option("plug windows by parking type", "mapping", optional=True),
    "ev_types": Option("EV type table", "table"),
}


def check_options(values: Mapping, source: str) -> None:
    """Check the options in ``values`` (name -> value; names without a rule are skipped)
    against :data:`OPTIONS`.

    Raises
    ------
    SessionError
        Listing every invalid option: ``{source}: option 'p_kw' (charge and discharge power
        limit [kW]) must be a finite number > 0; got nan``.
    """
    bad = [
        f"option '{name}' ({rule.what}) must be {rule.requirement()}; got {value!r}"
        for name, value in values.items()
        if (rule := OPTIONS.get(name)) is not None and not rule.holds(value)
    ]
    if bad:
        raise SessionError(f"{source}: " + "; ".join(bad))
