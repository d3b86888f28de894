"""Time the shared siting's screening of the Gao case (cases/ieee123_gao2019_siting.yaml) in
this process, on local worker processes and on a local Dask cluster: the same decisions,
``--rounds`` generations of ``--n`` distinct decisions (seeded random keys, as the swarm's
first generation), the first generation paying the start-up (processes, model compiles).

    PYTHONPATH=. python scripts/time_siting_screening.py --n 16 --rounds 2 --modes 1 2 dask2

Prints, per mode: start-up (constructing the screening), each generation's wall time and the
steady seconds per evaluation (the generations after the first), and checks every mode's
costs against the first mode's (1e-9).
"""

from __future__ import annotations

import argparse
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
    reference = None
    for mode in args.modes:
        dask = mode.startswith("dask")
        workers = int(mode.removeprefix("dask"))
        t0 = time.perf_counter()
        with Screening(base, spec, workers, address="local" if dask else None) as screening:
            start = time.perf_counter() - t0
            walls, costs = [], []
            for k in range(args.rounds):
                t = time.perf_counter()
                rows = screening.rows(todo[k * args.n : (k + 1) * args.n])
                walls.append(time.perf_counter() - t)
                costs += [r["cost"] for r in rows]
            where = screening.where
        total = time.perf_counter() - t0
        if reference is None:
            reference = costs
        diff = max(abs(a - b) / max(abs(b), 1.0) for a, b in zip(costs, reference, strict=True))
        steady = sum(walls[1:]) / (args.n * (args.rounds - 1)) if args.rounds > 1 else None
        steady_text = f"{steady:.3f}" if steady is not None else "-"
        print(
            f"{mode:>6s} ({where}): start-up {start:5.1f} s, generations "
            + ", ".join(f"{w:5.1f}" for w in walls)
            + f" s; steady {steady_text} s/evaluation; all {total / len(costs):.3f} s/evaluation "
            f"incl. start-up and close ({total:.1f} s); max rel. cost difference {diff:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
