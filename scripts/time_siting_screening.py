"""Time the shared siting's screening of the Gao case (cases/ieee123_gao2019_siting.yaml) in
this process, on local worker processes and on a local Dask cluster: the same decisions,
``--rounds`` generations of ``--n`` distinct decisions (seeded random keys, as the swarm's
first generation), the first generation paying the start-up (processes, model compiles). All
modes are open at once and take each generation in turn, so that a load coming and going on a
shared machine falls on each alike.

    PYTHONPATH=. python scripts/time_siting_screening.py --n 16 --rounds 2 --modes 1 2 dask2

Prints, per mode: start-up (constructing the screening), each generation's wall time, the
steady seconds per evaluation (wall time of the generations after the first over their
evaluations), the mean time inside one evaluation (the solve, on its worker), and the largest
relative difference of every mode's costs from the first mode's.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np

CASE = Path(__file__).resolve().parent.parent / "cases" / "ieee123_gao2019_siting.yaml"


def decisions(spec, n: int, seed: int = 0) -> list:
    from gridv2g.siting.shared import decode, n_variables

    rng = np.random.default_rng(seed)
    out: list = []
    while len(out) < n:
        d = decode(spec, rng.random(n_variables(spec)))
        if d not in out:
            out.append(d)
    return out


def main() -> None:
    import gridv2g as g
    from gridv2g.siting.swarm import Screening, base_data, shared_spec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="decisions per generation")
    parser.add_argument("--rounds", type=int, default=2, help="generations")
    parser.add_argument(
        "--modes", nargs="+", default=["1", "2", "dask2"], help="N (processes) or daskN"
    )
    args = parser.parse_args()
    case = g.load_case(CASE)
    base, spec = base_data(case), shared_spec(case)
    todo = decisions(spec, args.n * args.rounds)
    screenings, starts = {}, {}
    with contextlib.ExitStack() as stack:
        for mode in args.modes:
            dask = mode.startswith("dask")
            workers = int(mode.removeprefix("dask"))
            t0 = time.perf_counter()
            screenings[mode] = stack.enter_context(
                Screening(base, spec, workers, address="local" if dask else None)
            )
            starts[mode] = time.perf_counter() - t0
        walls = {m: [] for m in args.modes}
        rows = {m: [] for m in args.modes}
        # generation by generation, each mode in turn: a load that comes and goes on a
        # shared machine falls on every mode alike
        for k in range(args.rounds):
            for mode, screening in screenings.items():
                t = time.perf_counter()
                rows[mode] += screening.rows(todo[k * args.n : (k + 1) * args.n])
                walls[mode].append(time.perf_counter() - t)
        where = {m: s.where for m, s in screenings.items()}
    first = [r["cost"] for r in rows[args.modes[0]]]
    for mode in args.modes:
        costs = [r["cost"] for r in rows[mode]]
        diff = max(abs(a - b) / max(abs(b), 1.0) for a, b in zip(costs, first, strict=True))
        w = walls[mode]
        steady = sum(w[1:]) / (args.n * (args.rounds - 1)) if args.rounds > 1 else float("nan")
        inside = np.mean([r["seconds"] for r in rows[mode]])
        print(
            f"{mode:>6s} ({where[mode]}): start-up {starts[mode]:4.1f} s, generations "
            + ", ".join(f"{x:5.1f}" for x in w)
            + f" s; steady {steady:.3f} s/evaluation; first generation with start-up "
            f"{(starts[mode] + w[0]) / args.n:.3f} s/evaluation; {inside:.3f} s in an "
            f"evaluation (mean); max rel. cost difference {diff:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
