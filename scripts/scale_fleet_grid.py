"""One fleet-in-grid run of the bench's spread case, per-EV or in scale mode, with its wall
time, peak memory and per-EV check (the README's "At scale" IEEE 123 rows)::

    python scripts/scale_fleet_grid.py ieee123 5000 0.1 1                # scale mode, balanced
    python scripts/scale_fleet_grid.py ieee123 5000 0.1 0                # per-EV model
    python scripts/scale_fleet_grid.py ieee123 5000 0.1 1 unbalanced     # with OpenDSS closing

Arguments: feeder, EVs, need scale, aggregate (1/0), formulation (default balanced_socp).
"""

from __future__ import annotations

import dataclasses
import sys
import time

from gridv2g.bench import PeakRSS, fleet_grid_case
from gridv2g.model.aggregate import ev_violations
from gridv2g.problems.co_optimize import CoOptimization


def main(argv: list[str]) -> None:
    feeder, n, scale, agg = argv[0], int(argv[1]), float(argv[2]), argv[3] == "1"
    form = argv[4] if len(argv) > 4 else "balanced_socp"
    data = dataclasses.replace(fleet_grid_case(feeder, n, scale, agg), formulation=form)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        co = CoOptimization(data, dpp=False)
        result = co.solve()
        wall = time.perf_counter() - t0
    print(f"wall {wall:.2f} s, peak RSS {mem.peak_mb:.0f} MB, objective {co.problem.value!r}")
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in co.timings.items()})
    ids = data.fleet.sessions.index
    c = result.res_ev.p_charge_kw.unstack("ev")[ids].to_numpy().T
    d = result.res_ev.p_discharge_kw.unstack("ev")[ids].to_numpy().T
    print(
        "EVs outside their own limits or target:",
        len(ev_violations(co.fleet.ev, c, d, data.horizon.hours)),
    )
    keys = ("max_relaxation_gap", "ev_shortfall_kwh", "ev_charged_kwh", "opendss_violation_pu")
    print({k: result.summary.get(k) for k in keys})


if __name__ == "__main__":
    main(sys.argv[1:])
