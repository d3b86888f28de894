"""Scenario sweeps: one base case, fields varied, every scenario solved and kept.

A sweep file (YAML, loaded safely)::

    name: ieee33_ev_fleet_size
    base: ieee33_ev.yaml            # a case file, relative to the sweep file
    mode: product                   # product of the lists, or zip (equal lengths)
    vary:                           # dotted paths into the case (list items by index)
      fleet.sessions.n: [10, 20, 30]
      fleet.sessions.seed: [1, 2]
    validate: true                  # AC replay of grid scenarios (flags, max |dV|)

Each scenario is the base case with its values set, validated like a case file (an unknown
path gives the error of an unknown field, with the valid ones), then solved. A scenario's row
(its values, status, the summary's scalar figures, the replay's, seconds) is written to
``OUT/scenarios/<id>.json`` the moment it finishes, so a batch never loses finished results:
a scenario that fails is recorded with its error and the others go on, and a rerun resumes,
skipping scenarios already done and retrying failed ones (``resume=False`` recomputes all).
``OUT/summary.parquet`` (and ``.csv``) gathers the rows at the end, one column per varied path.

Execution: local worker processes by default (``workers``, default the CPU count), or a Dask
cluster (``dask=True`` starts a local one; ``address`` connects to a running scheduler), the
``dask`` extra. Workers receive the scenario as plain data (a dict) and return a plain row:
nothing is pickled from user input, and every case is re-validated where it runs.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gridv2g import api
from gridv2g.case import CaseError, case_from_dict, expand_shorthands


class SweepSpec(BaseModel):
    """A sweep file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="sweep name, used for the output folder")
    description: str = Field("", description="free text")
    base: str = Field(description="base case file, relative to the sweep file")
    mode: str = Field("product", pattern="^(product|zip)$", description="product or zip")
    vary: dict[str, list] = Field(min_length=1, description="{dotted.path: [values]}")
    validate_ac: bool = Field(
        True, alias="validate", description="AC replay of grid scenarios in pandapower"
    )


@dataclass
class Scenario:
    """One scenario: its id, the values it sets and the case mapping with them applied."""

    id: str
    values: dict
    raw: dict


def load_sweep(path: str | Path) -> tuple[SweepSpec, dict, Path]:
    """Read a sweep file: the spec, the base case mapping (``base_dir`` set) and its path."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"sweep file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {exc}") from None
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        messages = [
            f"{'.'.join(str(k) for k in e['loc'])}: {e['msg']}"
            + (
                f"; valid fields: {list(SweepSpec.model_fields)}"
                if e["type"] == "extra_forbidden"
                else ""
            )
            for e in exc.errors()
        ]
        raise CaseError(f"{path.name}: invalid sweep\n  " + "\n  ".join(messages)) from None
    base_path = (path.parent / spec.base).resolve()
    if not base_path.is_file():
        raise CaseError(f"{path.name}: base case not found: {base_path}")
    base = expand_shorthands(yaml.safe_load(base_path.read_text()))
    base.setdefault("base_dir", str(base_path.parent))
    return spec, base, base_path


def _set(raw: dict, dotted: str, value) -> None:
    """Set ``raw[a][b][...] = value`` for ``dotted = "a.b..."`` (integers index lists);
    missing mappings on the way are created, so the case validation judges the path."""
    keys = dotted.split(".")
    node = raw
    for k, key in enumerate(keys):
        last = k == len(keys) - 1
        if isinstance(node, list):
            try:
                index = int(key)
                node[index]  # raises IndexError when out of range
            except (ValueError, IndexError):
                raise CaseError(
                    f"vary: '{dotted}': '{key}' is not an index of a list of {len(node)}"
                ) from None
            if last:
                node[index] = value
            else:
                node = node[index]
            continue
        if not isinstance(node, dict):
            raise CaseError(f"vary: '{dotted}': '{'.'.join(keys[:k])}' holds no fields")
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {})


def scenarios(spec: SweepSpec, base: dict) -> list[Scenario]:
    """Expand the sweep: the product (or zip) of the value lists, each checked as a case."""
    paths = list(spec.vary)
    lists = [spec.vary[p] for p in paths]
    if spec.mode == "zip":
        lengths = {p: len(v) for p, v in spec.vary.items()}
        if len(set(lengths.values())) != 1:
            raise CaseError(f"sweep '{spec.name}': zip needs lists of one length, got {lengths}")
        combos = list(zip(*lists, strict=True))
    else:
        combos = list(itertools.product(*lists))
    out = []
    for combo in combos:
        values = dict(zip(paths, combo, strict=True))
        raw = copy.deepcopy(base)
        for p, v in values.items():
            _set(raw, p, v)
        sid = ",".join(f"{p.split('.')[-1]}={v}" for p, v in values.items())
        label = f"sweep '{spec.name}' scenario {sid}"
        case_from_dict(raw, label)  # every scenario valid before any solve
        out.append(Scenario(id=_safe(sid), values=values, raw=raw))
    ids = [s.id for s in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise CaseError(f"sweep '{spec.name}': repeated scenarios {dup}")
    return out


def _safe(sid: str) -> str:
    return "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in sid)


def run_scenario(raw: dict, sid: str, validate: bool = True) -> dict:
    """Solve one scenario (a case mapping) and return its row; never raises: a failure is a
    row with ``status="error"`` and the error's text. Runs in a worker."""
    t0 = time.perf_counter()
    row: dict = {"scenario": sid}
    try:
        case = case_from_dict(raw, f"scenario {sid}")
        result = api.solve(case)
        figures = _scalars(result.summary)
        figures["solver_status"] = figures.pop("status", None)
        row.update(figures)
        row["status"] = "ok"
        if validate and getattr(case, "problem", None) == "co_optimize":
            report = api.validate(result)
            row.update({f"ac_{k}": v for k, v in _scalars(report.summary).items()})
    except Exception as exc:  # a batch keeps going: the failure is the scenario's result
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=5)
    row["seconds"] = time.perf_counter() - t0
    return row


def _scalars(summary: dict) -> dict:
    out = {}
    for k, v in summary.items():
        if isinstance(v, bool | int | float | str) or v is None:
            out[k] = v
        elif isinstance(v, pd.Timestamp):
            out[k] = v.isoformat()
        elif hasattr(v, "item"):  # numpy scalars
            out[k] = v.item()
    return out


def run_batch(
    sweep: str | Path,
    out: str | Path | None = None,
    workers: int | None = None,
    dask: bool = False,
    address: str | None = None,
    resume: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every scenario of ``sweep``; returns the summary table (one row per scenario, the
    varied values first). See the module docstring for storage, resume and execution."""
    spec, base, _ = load_sweep(sweep)
    todo_all = scenarios(spec, base)
    folder = Path(out or Path("out") / spec.name)
    store = folder / "scenarios"
    store.mkdir(parents=True, exist_ok=True)
    todo = [s for s in todo_all if not (resume and _done(store / f"{s.id}.json"))]
    by_id = {s.id: s for s in todo_all}

    def keep(row: dict) -> None:
        row = {**by_id[row["scenario"]].values, **row}
        tmp = store / f".{row['scenario']}.json.tmp"
        tmp.write_text(json.dumps(row, default=str) + "\n")
        os.replace(tmp, store / f"{row['scenario']}.json")  # atomic: no half-written rows

    bar = _progress(len(todo), spec.name, progress)
    if todo:
        if dask or address:
            _run_dask(todo, spec.validate_ac, address, workers, keep, bar)
        else:
            _run_local(todo, spec.validate_ac, workers, keep, bar)
    bar.close()
    rows = [json.loads((store / f"{s.id}.json").read_text()) for s in todo_all]
    table = pd.DataFrame(rows).set_index("scenario")
    table = table.drop(columns=["traceback"], errors="ignore")
    table.to_csv(folder / "summary.csv")
    table.astype({c: str for c in table.columns if table[c].dtype == object}).to_parquet(
        folder / "summary.parquet"
    )
    return table


def _done(path: Path) -> bool:
    """A scenario finished earlier: its row exists and says ok (failures are retried)."""
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("status") == "ok"
    except json.JSONDecodeError:
        return False


def _run_local(todo, validate, workers, keep, bar) -> None:
    workers = workers or os.cpu_count() or 1
    if workers == 1:  # no process pool: easier to debug, same results
        for s in todo:
            keep(run_scenario(s.raw, s.id, validate))
            bar.update()
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_scenario, s.raw, s.id, validate): s for s in todo}
        for future in as_completed(futures):
            s = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # the worker process itself died
                row = {"scenario": s.id, "status": "error", "error": f"worker lost: {exc}"}
            keep(row)
            bar.update()


def _run_dask(todo, validate, address, workers, keep, bar) -> None:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise CaseError(
            'Dask is not installed: pip install "gridv2g[dask]", or run without --dask'
        ) from None
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1)
        address = cluster.scheduler_address
    try:
        with Client(address) as client:
            futures = {
                client.submit(run_scenario, s.raw, s.id, validate, pure=False): s for s in todo
            }
            for future in dask_completed(list(futures)):
                s = futures[future]
                try:
                    row = future.result()
                except Exception as exc:  # the worker itself died
                    row = {"scenario": s.id, "status": "error", "error": f"worker lost: {exc}"}
                keep(row)
                bar.update()
    finally:
        if cluster is not None:
            cluster.close()


def _progress(total: int, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"batch {name}", unit="scenario", disable=not enabled)
