"""Kill a running batch with SIGKILL at random moments; check that nothing is lost.

The batch hardening's acceptance: N random ``kill -9`` of a batch lose no finished scenario,
leave no process of the batch alive 10 s after each kill, and the resumed batch's final table
equals an uninterrupted run's.

The probe writes a small sweep (the 20-EV lot, its size and seed varied; all scenarios
feasible) into a work folder, runs it once uninterrupted (the reference), then starts
``python -m gridv2g batch`` in a session of its own, kills that process (the batch alone,
not its session) at a random moment of the expected remaining run, and checks:

* every row finished before the kill (``scenarios/<id>.json`` present when the kill was sent)
  is still there, byte for byte, and every row file parses;
* no process of the batch's tree (its descendants, followed during the run, and anything in
  its session) is alive 10 s after the kill;

then resumes it, and again, until ``--kills`` kills landed. A run that finishes before its kill
is compared with the reference and the next starts afresh in a new folder. The last run is
left to finish; its table must equal the reference (timings aside).

    python scripts/probe_batch_kills.py [--kills 20] [--seed 0] [--workers 2] [--dask]

It probes the gridv2g it imports (printed first): ``PYTHONPATH=.`` for a source tree when
another copy is installed.

Prints a summary; exits 1 on any lost row, orphan or difference. tests/test_batch_kills.py runs
the same probe with 3 kills on a smaller sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml

import gridv2g

REPO = Path(__file__).resolve().parent.parent
LOT = REPO / "cases" / "lot20_seed001.yaml"

#: the probe's default sweep: 24 scenarios of 0.3-1.5 s each (the work outweighs the start)
SIZES = (500, 1000, 1500, 2000)
SEEDS = (1, 2, 3, 4, 5, 6)


def write_sweep(folder: Path, sizes=SIZES, seeds=SEEDS, base: Path = LOT) -> Path:
    """A sweep in ``folder`` over a copy of ``base``: lot sizes by sampling seeds, the lot's
    import limit lifted so that every scenario is feasible."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base, folder / base.name)
    spec = {
        "name": "kill_probe",
        "base": base.name,
        "mode": "product",
        "vary": {
            "sessions.n": list(sizes),
            "sessions.seed": list(seeds),
            "stations.0.p_import_max_kw.constant": [1e5],
        },
        "validate": False,
    }
    path = folder / "kill_probe.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def is_timing(column: str) -> bool:
    """Columns that hold wall-clock seconds (``seconds``, ``build_s``, ``solve_s``, ...): they
    differ from run to run."""
    return column == "seconds" or column.endswith("_s")


def compare_tables(got: pd.DataFrame, want: pd.DataFrame, rtol: float = 1e-9) -> list[str]:
    """Differences between two summary tables, timing columns left out: rows, columns,
    numbers (within ``rtol``), other values exactly."""
    diffs = []
    if sorted(got.index) != sorted(want.index):
        diffs.append(f"rows differ: {sorted(set(got.index) ^ set(want.index))}")
        return diffs
    columns = [c for c in want.columns if not is_timing(c)]
    missing = sorted(set(columns) ^ {c for c in got.columns if not is_timing(c)})
    if missing:
        diffs.append(f"columns differ: {missing}")
        return diffs
    got = got.loc[want.index]
    for c in columns:
        a, b = got[c], want[c]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            same = np.isclose(
                a.to_numpy(float), b.to_numpy(float), rtol=rtol, atol=1e-12, equal_nan=True
            )
        else:
            same = (a == b) | (a.isna() & b.isna())
            same = np.asarray(same, bool)
        if not same.all():
            diffs.append(f"{c}: {list(want.index[~same])}")
    return diffs


def finished_rows(store: Path) -> dict[str, bytes]:
    """The row files of a batch's output folder, by name (the rename-in-place writes make
    each either absent or whole)."""
    return {path.name: path.read_bytes() for path in store.glob("*.json")}


def session_members(sid: int) -> list[psutil.Process]:
    """Live processes of session ``sid`` (zombies are dead: they only wait to be reaped)."""
    found = []
    for pid in psutil.pids():
        try:
            if os.getsid(pid) == sid:
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def batch_command(sweep: Path, out: Path, workers: int, dask: bool) -> list[str]:
    """The ``gridv2g batch`` command line, for the gridv2g this probe imports."""
    command = [sys.executable, "-m", "gridv2g", "batch", str(sweep), "--out", str(out)]
    command += ["--workers", str(workers)]
    if dask:
        # a free port: a dashboard left on 8787 by another cluster would only be warned about
        command += ["--dask", "--dashboard-address", "127.0.0.1:0"]
    return command


def _environment() -> dict:
    # the batch runs the gridv2g this probe imported (a source tree before an installed copy)
    root = str(Path(gridv2g.__file__).resolve().parent.parent)
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as sink:
        # a session of its own: whatever the batch starts can be found by its session id,
        # even once re-parented
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_environment(),
            start_new_session=True,
        )


@dataclass
class Reference:
    """The uninterrupted run: its table, its duration, and a rerun's with nothing left to do
    (starting, resuming, gathering the table)."""

    table: pd.DataFrame
    seconds: float
    idle: float
    rows: int


def run_reference(sweep: Path, out: Path, workers: int, dask: bool) -> Reference:
    """Run the sweep to its end, then once more over its finished rows, timing both."""
    seconds = []
    for _ in range(2):
        t0 = time.monotonic()
        proc = _start(batch_command(sweep, out, workers, dask), out.parent / f"{out.name}.log")
        if proc.wait() != 0:
            raise RuntimeError(f"the reference batch failed (exit {proc.returncode}): {out}")
        seconds.append(time.monotonic() - t0)
    table = pd.read_parquet(out / "summary.parquet")
    if (table.status != "ok").any():
        raise RuntimeError(f"the reference batch has failed scenarios: {out}")
    return Reference(table, seconds[0], min(seconds), len(table))


@dataclass
class Report:
    """What the probe found."""

    kills: int = 0
    runs: int = 0
    rounds: int = 1
    #: kills that fell after the killed run had written rows of its own
    while_writing: int = 0
    lost: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    longest_exit: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.orphans or self.differences) and self.kills > 0

    def summary(self) -> str:
        lines = [
            f"kills: {self.kills} (in {self.runs} runs, {self.rounds} round(s) of the sweep; "
            f"{self.while_writing} after the killed run had written rows)",
            f"rows lost: {len(self.lost)}",
            f"orphans 10 s after a kill: {len(self.orphans)} "
            f"(slowest tree to exit: {self.longest_exit:.2f} s)",
            f"final tables equal to the reference: {not self.differences}",
            f"probe seconds: {self.seconds:.1f}",
            "PASS" if self.ok else "FAIL",
        ]
        for what, items in (
            ("lost", self.lost),
            ("orphan", self.orphans),
            ("difference", self.differences),
        ):
            lines += [f"  {what}: {item}" for item in items[:20]]
        return "\n".join(lines)


def probe(
    sweep: Path,
    work: Path,
    kills: int = 20,
    seed: int = 0,
    workers: int = 2,
    dask: bool = False,
    orphan_wait: float = 10.0,
    echo=print,
) -> Report:
    """Run the probe (see the module docstring) in ``work``; returns its report."""
    t_start = time.monotonic()
    rng = random.Random(seed)
    report = Report()
    ref = run_reference(sweep, work / "reference", workers, dask)
    echo(
        f"reference: {ref.rows} scenarios in {ref.seconds:.1f} s "
        f"(a rerun with all done: {ref.idle:.1f} s)"
    )

    def check_kept(store: Path, kept: dict[str, bytes], when: str) -> None:
        now = finished_rows(store)
        for name, data in kept.items():
            if now.get(name) != data:
                state = "missing" if name not in now else "changed"
                report.lost.append(f"{store.parent.name}/{name} {state} {when}")
        for name, data in now.items():
            try:
                json.loads(data)
            except ValueError:
                report.lost.append(f"{store.parent.name}/{name} unreadable {when}")

    def finish(out: Path, proc: subprocess.Popen, kept: dict[str, bytes]) -> None:
        if proc.wait() != 0:
            report.differences.append(f"{out.name}: the batch exited with {proc.returncode}")
            return
        check_kept(out / "scenarios", kept, "at the end")
        table = pd.read_parquet(out / "summary.parquet")
        report.differences += [f"{out.name}: {d}" for d in compare_tables(table, ref.table)]

    total_work = ref.table["seconds"].sum()
    pace = 1.0  # the machine's speed now against the reference run's: runs that finish tell
    out = work / f"round{report.rounds}"
    kept: dict[str, bytes] = {}  # every ok row seen so far in this round's folder
    while True:
        left = [t for sid, t in ref.table["seconds"].items() if f"{sid}.json" not in kept]
        t_run = time.monotonic()
        proc = _start(batch_command(sweep, out, workers, dask), out.parent / f"{out.name}.log")
        report.runs += 1
        if report.kills >= kills:
            finish(out, proc, kept)
            break
        if report.runs > 5 * kills + 10:  # runs that all finish first: the pacing is off
            finish(out, proc, kept)
            report.differences.append(f"only {report.kills} kills landed in {report.runs} runs")
            break
        # a moment of the run to come, as the reference paced it (its rerun's start and end,
        # the scenarios left: their seconds over the workers, or the longest alone) at the
        # machine's present pace, and half as long again: a third of the runs finish first
        # and the next round starts afresh, so that kills fall early, midway and late in a
        # sweep, not mostly on the start of a run with little left
        wall = max(sum(left) / workers, max(left, default=0.0)) / (total_work / workers)
        predicted = ref.idle + (ref.seconds - ref.idle) * wall
        delay = rng.uniform(0.0, 1.5 * pace * predicted)
        tree = psutil.Process(proc.pid)
        tracked: dict[int, psutil.Process] = {}
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                for child in tree.children(recursive=True):
                    tracked.setdefault(child.pid, child)
            except psutil.Error:
                pass
            time.sleep(0.02)
        before = finished_rows(out / "scenarios")
        if proc.poll() is not None:  # it finished first: compare it, start a new round
            pace = min(max((time.monotonic() - t_run) / predicted, 0.3), 3.0)
            finish(out, proc, kept)
            echo(f"run {report.runs}: finished before its kill at {delay:.2f} s")
            report.rounds += 1
            out = work / f"round{report.rounds}"
            kept = {}
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        report.kills += 1
        t_kill = time.monotonic()
        written = len(set(before) - set(kept))  # rows of the killed run's own
        report.while_writing += written > 0
        for name, data in before.items():
            if json.loads(data).get("status") == "ok":
                if kept.setdefault(name, data) != data:
                    report.lost.append(f"{out.name}/{name} rewritten before kill {report.kills}")
                    kept[name] = data
        check_kept(out / "scenarios", kept, f"after kill {report.kills}")
        # nothing of the batch may outlive it: not its descendants (re-parented or not), not
        # anything else in its session
        alive = survivors(tracked.values(), proc.pid)
        while alive and time.monotonic() - t_kill < orphan_wait:
            time.sleep(0.05)
            alive = survivors(tracked.values(), proc.pid)
        exit_time = time.monotonic() - t_kill
        report.longest_exit = max(report.longest_exit, exit_time)
        for p in alive:
            report.orphans.append(f"kill {report.kills}: pid {p.pid} {_describe(p)}")
            p.kill()  # the probe cleans up what it found
        echo(
            f"kill {report.kills}: at {delay:.2f} s, {written} new rows, "
            f"{len(kept)}/{ref.rows} rows kept, "
            f"{len(tracked)} descendants, all gone after {exit_time:.2f} s"
            + (f", {len(alive)} ORPHANED" if alive else "")
        )
    report.seconds = time.monotonic() - t_start
    return report


def survivors(tracked, sid: int) -> list[psutil.Process]:
    """What is left of a killed batch: its descendants seen while it ran, and anything else
    in its session (``sid``, its pid), once each."""
    found = [p for p in tracked if _alive(p)] + session_members(sid)
    return list({p.pid: p for p in found}.values())


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _describe(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())[:120]
    except psutil.Error:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills to land (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--workers", type=int, default=2, help="batch workers (default 2)")
    parser.add_argument("--dask", action="store_true", help="run the batch on a local Dask")
    parser.add_argument("--work", help="work folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="probe_batch_kills_") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        sweep = write_sweep(work / "sweep")
        print(
            f"probe: {args.kills} kills, seed {args.seed}, {args.workers} workers, "
            f"{'Dask' if args.dask else 'local pool'}; gridv2g from {gridv2g.__file__}"
        )
        report = probe(sweep, work, args.kills, args.seed, args.workers, args.dask)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
