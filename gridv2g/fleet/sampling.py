"""Helpers shared by the seeded samplers: ranges, truncated Normals, time grids, redraws and
the assembly of a checked session table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import truncnorm

from gridv2g.errors import SessionError
from gridv2g.fleet.checks import check_sessions
from gridv2g.fleet.sessions import (
    INDEX,
    sessions_frame,
)


def _origin(day) -> pd.Timestamp:
    try:
        origin = pd.Timestamp(day)
    except (TypeError, ValueError) as exc:
        raise SessionError(f"day {day!r} is not a date: {exc}") from None
    if origin is pd.NaT:
        raise SessionError(f"day {day!r} is not a date")
    return origin


def _range(spec, name: str) -> tuple[float, float, float]:
    """(low, high, std) of a range given as (low, high) or (low, high, std); std = width / 4."""
    values = tuple(float(v) for v in spec)
    if len(values) not in (2, 3) or not values[0] <= values[1]:
        raise SessionError(
            f"{name} must be (low, high) or (low, high, std) with low <= high; got {spec!r}"
        )
    low, high = values[:2]
    std = values[2] if len(values) == 3 else (high - low) / 4.0
    if std < 0:
        raise SessionError(f"{name}: std must be >= 0; got {std}")
    return low, high, std


def _truncated_normal(rng: np.random.Generator, low, high, std, size: int) -> np.ndarray:
    """Normal with mean (low + high) / 2 and ``std``, truncated to [low, high]:
    :data:`scipy.stats.truncnorm` by its inverse CDF (``ppf``) of one uniform draw per value,
    so the stream of random numbers does not depend on the parameters. A zero width or zero
    std gives the mid-point.
    """
    low, high, std = (np.broadcast_to(np.asarray(x, float), (size,)) for x in (low, high, std))
    mean = (low + high) / 2
    u = rng.uniform(size=size)
    spread = (high > low) & (std > 0)
    safe = np.where(spread, std, 1.0)
    # standardised bounds; -1, 1 where there is no spread (the mid-point is returned there)
    a = np.where(spread, (low - mean) / safe, -1.0)
    b = np.where(spread, (high - mean) / safe, 1.0)
    x = truncnorm.ppf(u, a, b, loc=mean, scale=safe)
    return np.where(spread, np.clip(x, low, high), mean)


def _to_grid(hours: np.ndarray, step_min: int, up: bool) -> np.ndarray:
    """Hours after the day's start as whole minutes on a ``step_min`` grid (rounded up/down)."""
    steps = np.asarray(hours, float) * 60.0 / step_min
    # 1e-9: 8.0 h on a 60-min grid is 8 steps even if the float is a hair off
    steps = np.ceil(steps - 1e-9) if up else np.floor(steps + 1e-9)
    return steps.astype(np.int64) * step_min


def _step(step_min) -> int:
    step = int(step_min)
    if step != step_min or step < 1:
        raise SessionError(f"step_min must be a positive whole number of minutes; got {step_min}")
    return step


def _redraw_until_feasible(
    n: int,
    draw: Callable[[int], dict[str, np.ndarray]],
    feasible: Callable[[dict[str, np.ndarray]], np.ndarray],
    what: str,
    max_rounds: int = 1000,
) -> dict[str, np.ndarray]:
    """Draw ``n`` sessions; redraw (every variable of) the infeasible ones until none is left.

    The result is a sample of the sampler's distribution conditioned on feasibility.
    """
    sample = draw(n)
    bad = ~feasible(sample)
    for _ in range(max_rounds):
        if not bad.any():
            return sample
        rows = np.flatnonzero(bad)
        fresh = draw(len(rows))
        for key, values in sample.items():
            values[rows] = fresh[key]
        bad[rows] = ~feasible(fresh)
    raise SessionError(
        f"{what}: {int(bad.sum())} of {n} sampled sessions are still infeasible after "
        f"{max_rounds} redraws (stay too short or target unreachable for the charger): "
        f"widen the time ranges, raise the power or lower the targets"
    )


def _session_table(
    origin: pd.Timestamp,
    arrival_min: np.ndarray,
    departure_min: np.ndarray,
    source: str,
    **columns,
) -> pd.DataFrame:
    """The checked session table; EVs numbered ev001, ev002, ... in order of arrival."""
    n = len(arrival_min)
    order = np.argsort(arrival_min, kind="stable")
    width = max(3, len(str(n)))
    data = {
        INDEX: [f"ev{k:0{width}d}" for k in range(1, n + 1)],
        "arrival": origin + pd.to_timedelta(np.asarray(arrival_min)[order], unit="min"),
        "departure": origin + pd.to_timedelta(np.asarray(departure_min)[order], unit="min"),
    }
    for name, values in columns.items():
        data[name] = np.broadcast_to(np.asarray(values), (n,))[order]
    table = sessions_frame(pd.DataFrame(data), source=source)
    check_sessions(table, source=source)
    return table


def one_rating(p_kw, eta) -> dict:
    """Session columns of EVs that charge and discharge at one power rating ``p_kw`` [kW]
    with one efficiency ``eta`` both ways (for :func:`_session_table`)."""
    return {
        "p_charge_max_kw": p_kw,
        "p_discharge_max_kw": p_kw,
        "eta_charge": eta,
        "eta_discharge": eta,
    }
