"""Scenario sets of tomorrow's EVs (two-stage stochastic scheduling, seed 000): the EV count
~ Poisson, each scenario's sessions from a sampler, and the mean-value scenario.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridv2g.fleet.samplers import sample_truncated_gaussian
from gridv2g.fleet.sessions import sessions_frame


def sample_scenarios(
    count: int,
    mean_evs: float,
    seed: int = 0,
    sampler=None,
    **sampler_kwargs,
) -> list[pd.DataFrame]:
    """``count`` scenarios: EV number ~ Poisson(mean_evs) (at least 1), sessions from
    ``sampler`` (default
    :func:`~gridv2g.fleet.samplers.sample_truncated_gaussian`), seeds derived from ``seed`` so
    the set is reproducible."""
    sampler = sampler or sample_truncated_gaussian
    rng = np.random.default_rng(seed)
    counts = np.maximum(rng.poisson(mean_evs, size=count), 1)
    seeds = rng.integers(0, 2**31 - 1, size=count)
    return [
        sampler(n=int(n), seed=int(s), **sampler_kwargs) for n, s in zip(counts, seeds, strict=True)
    ]


def mean_scenario(mean_evs: float, day: str, station: str, step_min: int = 1, **ranges):
    """The mean-value scenario: round(mean_evs) identical EVs at the mid-points of the
    sampler's ranges (the means of its truncated Normals)."""
    r = {
        "capacity_kwh": 24.0,
        "p_kw": 3.3,
        "eta": 0.98,
        "arrival_h": (8, 15),
        "departure_h": (13, 22),
        "soc_arrival": (0.2, 0.65),
        "soc_target": (0.6, 0.95),
        "v2g": True,
    }
    r.update(ranges)
    n = max(round(mean_evs), 1)
    origin = pd.Timestamp(day)

    def mid(v):
        return 0.5 * (float(v[0]) + float(v[1]))

    def at(hours):
        minutes = round(hours * 60.0 / step_min) * step_min
        return origin + pd.Timedelta(minutes=minutes)

    cap = float(r["capacity_kwh"])
    rows = [
        {
            "ev_id": f"mean{i + 1:03d}",
            "station": station,
            "arrival": at(mid(r["arrival_h"])),
            "departure": at(mid(r["departure_h"])),
            "e_arrival_kwh": cap * mid(r["soc_arrival"]),
            "e_target_kwh": cap * mid(r["soc_target"]),
            "capacity_kwh": cap,
            "p_charge_max_kw": float(r["p_kw"]),
            "p_discharge_max_kw": float(r["p_kw"]),
            "eta_charge": float(r["eta"]),
            "eta_discharge": float(r["eta"]),
            "v2g": bool(r["v2g"]),
        }
        for i in range(n)
    ]
    return sessions_frame(pd.DataFrame(rows))
