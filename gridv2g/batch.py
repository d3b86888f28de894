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
skipping scenarios already done with the same inputs and retrying failed ones: a row keeps
the hash of its scenario's fully resolved inputs (:func:`input_hash`: the case mapping, the
files it names, the gridv2g version), and a changed hash re-runs it (``resume=False``
recomputes all).
``OUT/summary.parquet`` (and ``.csv``) gathers the rows at the end, one column per varied path;
``OUT/batch_sweep.png`` draws the key figures against the varied fields and ``OUT/report.html``
holds them with the failed scenarios and their errors.

Execution: local worker processes by default (``workers``, default the CPU count), or a Dask
cluster (``dask=True`` starts a local one; ``address`` connects to a running scheduler), the
``dask`` extra. Workers receive the scenario as plain data (a dict) and return a plain row:
nothing is pickled from user input, and every case is re-validated where it runs. Both run
through :mod:`gridv2g.parallel`: a scenario that kills its worker process (a native crash)
fails alone, on either: the scenarios in flight with it are re-run, it is retried once alone
(one worker process running one scenario at a time), then recorded as failed (on Dask the
scheduler retries it among the others first, once on a local cluster: its
``allowed-failures`` is set to 1, then it runs alone, retried once). A ``kill -9`` of a batch
takes its worker processes with it (a local cluster's too) and loses no finished row: each is
written to a temporary file renamed over its place; ``scripts/probe_batch_kills.py`` checks it.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gridv2g import api, store
from gridv2g.case import CaseError, case_from_dict, expand_shorthands, output_folder
from gridv2g.case.yamlio import load_yaml_file
from gridv2g.errors import GridV2GError
from gridv2g.parallel import DaskRunner, ProcessRunner, WorkerLost
from gridv2g.units import DEFAULT_CURRENCY

#: most scenarios one sweep may expand to (an option lifts it)
MAX_SCENARIOS = 100_000


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
    #: the folder its files must lie in (the base case's), None if others are allowed
    root: str | None = None
    #: sizes beyond the load-time limits accepted
    lift: bool = False


def load_sweep(path: str | Path, allow_outside: bool = False) -> tuple[SweepSpec, dict, Path]:
    """Read a sweep file: the spec, the base case mapping (``base_dir`` set) and its path.
    The base case must lie in the sweep file's folder (or below) unless ``allow_outside``."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"sweep file not found: {path}")
    raw, _ = load_yaml_file(path)
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
    if not allow_outside and not base_path.is_relative_to(path.parent.resolve()):
        raise CaseError(
            f"{path.name}: base case '{spec.base}' lies outside the sweep's folder; move it "
            "there or allow other folders explicitly (allow_outside=True; CLI "
            "--allow-outside-paths)"
        )
    if not base_path.is_file():
        raise CaseError(f"{path.name}: base case not found: {base_path}")
    base, _ = load_yaml_file(base_path)
    if not isinstance(base, dict):
        raise CaseError(f"{base_path}: a case file is a YAML mapping of fields")
    base = expand_shorthands(base)
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


def scenarios(
    spec: SweepSpec,
    base: dict,
    root: str | None = None,
    max_scenarios: int = MAX_SCENARIOS,
    lift_limits: bool = False,
) -> list[Scenario]:
    """Expand the sweep: the product (or zip) of the value lists, each checked as a case.
    At most ``max_scenarios`` (counted before any is built)."""
    paths = list(spec.vary)
    lists = [spec.vary[p] for p in paths]
    fixed = [p for p in paths if p.split(".")[0] == "base_dir"]
    if fixed:
        raise CaseError(f"sweep '{spec.name}': base_dir is set by gridv2g, not varied")
    count = len(lists[0]) if spec.mode == "zip" else math.prod(len(v) for v in lists)
    if count > max_scenarios:
        raise CaseError(
            f"sweep '{spec.name}': {count:,} scenarios, more than {max_scenarios:,}; split "
            "the sweep or raise the limit (max_scenarios; CLI --max-scenarios)"
        )
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
        # every scenario valid before any solve
        case_from_dict(raw, label, root=root, lift_limits=lift_limits)
        out.append(Scenario(id=_safe(sid), values=values, raw=raw, root=root, lift=lift_limits))
    ids = [s.id for s in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise CaseError(f"sweep '{spec.name}': repeated scenarios {dup}")
    return out


def _safe(sid: str) -> str:
    """A file name for a scenario id: no separators, no leading dot, at most 150 characters
    (a hash of the id keeps long ones distinct)."""
    safe = "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in sid).lstrip(".")
    if len(safe) > 150:
        safe = safe[:130] + "-" + hashlib.sha256(sid.encode()).hexdigest()[:16]
    return safe or "scenario"


def run_scenario(
    raw: dict, sid: str, validate: bool = True, root: str | None = None, lift: bool = False
) -> dict:
    """Solve one scenario (a case mapping) and return its row; never raises: a failure is a
    row with ``status="error"`` and the error's text. Runs in a worker."""
    t0 = time.perf_counter()
    row: dict = {"scenario": sid}
    try:
        case = case_from_dict(raw, f"scenario {sid}", root=root, lift_limits=lift)
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
    allow_outside: bool = False,
    max_scenarios: int = MAX_SCENARIOS,
    dashboard_address: str = "127.0.0.1:8787",
    lift_limits: bool = False,
) -> pd.DataFrame:
    """Run every scenario of ``sweep``; returns the summary table (one row per scenario, the
    varied values first). See the module docstring for storage, resume and execution."""
    spec, base, base_path = load_sweep(sweep, allow_outside)
    root = None if allow_outside else str(base_path.parent)
    todo_all = scenarios(spec, base, root, max_scenarios, lift_limits)
    folder = Path(out) if out else output_folder(Path("out"), spec.name)
    rows_dir = folder / "scenarios"
    rows_dir.mkdir(parents=True, exist_ok=True)
    hashes = {s.id: input_hash(s) for s in todo_all}
    todo = [s for s in todo_all if not (resume and _done(rows_dir / f"{s.id}.json", hashes[s.id]))]
    by_id = {s.id: s for s in todo_all}

    def keep(row: dict) -> None:
        row = {**by_id[row["scenario"]].values, **row, "input_hash": hashes[row["scenario"]]}
        store.write_row(rows_dir / f"{row['scenario']}.json", row)

    bar = _progress(len(todo), spec.name, progress)
    if todo:
        if dask or address:
            _run_dask(todo, spec.validate_ac, address, workers, keep, bar, dashboard_address)
        else:
            _run_local(todo, spec.validate_ac, workers, keep, bar)
    bar.close()
    rows = [json.loads((rows_dir / f"{s.id}.json").read_text()) for s in todo_all]
    table = pd.DataFrame(rows).set_index("scenario")
    table = table.drop(columns=["traceback"], errors="ignore")
    _write_atomically(folder / "summary.csv", table.to_csv)
    _write_atomically(
        folder / "summary.parquet",
        table.astype({c: str for c in table.columns if table[c].dtype == object}).to_parquet,
    )
    write_report(folder, table, spec, base.get("currency") or DEFAULT_CURRENCY)
    return table


def write_report(folder: Path, table: pd.DataFrame, spec: SweepSpec, currency: str) -> Path:
    """``batch_sweep.png`` (key figures against the varied fields,
    :mod:`gridv2g.plots.batch`) and ``report.html``: the sweep, its figures, the failed
    scenarios with their errors and the summary table. Returns the report's path."""
    from gridv2g.plots.batch import figure_set, key_figures
    from gridv2g.report import Page

    varied = list(spec.vary)
    figures = figure_set(table, varied, currency, spec.name)
    failed = table[table.status != "ok"]
    page = Page(spec.name, f"{spec.description} | scenario batch ({spec.mode})".lstrip(" |"))
    page.section("Summary")
    page.summary(
        {
            "scenarios": len(table),
            "finished": len(table) - len(failed),
            "failed": len(failed),
            "varied": ", ".join(varied),
            "base": spec.base,
        },
        currency,
    )
    page.section("Figures")
    page.figures(figures, folder)  # the PNG files from the same rendering
    page.section("Failed scenarios")
    if len(failed):
        page.text(f"{len(failed)} of {len(table)} scenarios failed", cls="warn")
        page.table(failed[["error"]] if "error" in failed else failed, "Failed scenarios")
    else:
        page.text("None.")
    page.section("Scenarios")
    columns = [c for c in [*varied, "status", *key_figures(table), "seconds"] if c in table]
    caption = f"One row per scenario (money in {currency}; every column in summary.csv)"
    page.table(table[columns], caption)
    return page.write(folder / "report.html")


def _write_atomically(path: Path, write) -> None:
    """:func:`gridv2g.store.write_atomically` (kept under this name for callers)."""
    store.write_atomically(path, write)


def _done(path: Path, digest: str) -> bool:
    """A scenario finished earlier with the same inputs (:func:`gridv2g.store.done`)."""
    return store.done(path, digest)


def input_hash(scenario: Scenario) -> str:
    """SHA-256 of a scenario's fully resolved inputs (:func:`gridv2g.store.input_hash`): its
    case mapping (canonical JSON), the bytes of every file it names (CSV profiles and
    sessions, feeder files; a folder's files), and the gridv2g version."""
    return store.input_hash(scenario.raw)


def _run_local(todo, validate, workers, keep, bar) -> None:
    workers = workers or os.cpu_count() or 1
    if workers == 1:  # no process pool: easier to debug, same results
        for s in todo:
            keep(run_scenario(s.raw, s.id, validate, s.root, s.lift))
            bar.update()
        return
    with ProcessRunner(workers) as runner:
        _run(runner, todo, validate, keep, bar)


def _run_dask(todo, validate, address, workers, keep, bar, dashboard_address) -> None:
    try:
        runner = DaskRunner(address, workers, dashboard_address)
    except GridV2GError as exc:  # Dask not installed: a case error of the batch's
        raise CaseError(str(exc)) from None
    with runner:
        _run(runner, todo, validate, keep, bar)


def _run(runner, todo, validate, keep, bar) -> None:
    """Every scenario through ``runner`` (:mod:`gridv2g.parallel`): rows kept as they come, a
    scenario that killed its worker (every time) recorded as failed."""

    def done(sid, row) -> None:
        if isinstance(row, WorkerLost):
            row = {"scenario": sid, "status": "error", "error": row.reason}
        keep(row)
        bar.update()

    calls = [(s.id, (s.raw, s.id, validate, s.root, s.lift)) for s in todo]
    runner.run(run_scenario, calls, done)


def _progress(total: int, name: str, enabled: bool):
    return store.progress(total, f"batch {name}", "scenario", enabled)
