"""The base of every result: status, solver, objective, timings, summary and tables, one
route to files (tables as Parquet or CSV, ``summary.json``, PNG figures), one long-table
helper.

Tables are pandapower-style ``res_*`` DataFrames. Time-dependent tables are long, indexed by
``(time, element)`` so that ``res_bus.vm_pu.unstack()`` is a (time x bus) frame.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd


def empty_long(columns, level: str) -> pd.DataFrame:
    """An empty (time, ``level``) table with ``columns``."""
    index = pd.MultiIndex.from_arrays([[], []], names=["time", level])
    return pd.DataFrame(columns=list(columns), index=index)


def expr_value(expr) -> float:
    """A CVXPY expression's value as a float; 0.0 where it has none (a term not in use)."""
    value = expr.value
    if value is None:
        return 0.0
    value = float(value)
    return 0.0 if math.isnan(value) else value


def solved(problem, solver: str, objective: float | None = None, status: str | None = None):
    """The base fields of a result of ``problem`` (a :class:`~gridv2g.problems.base.Problem`):
    its status, the solver, its objective (the CVXPY value unless given), a copy of its
    timings and the problem itself."""
    return {
        "status": problem.problem.status if status is None else status,
        "solver": solver,
        "objective": float(problem.problem.value) if objective is None else float(objective),
        "timings": dict(problem.timings),
        "problem": problem,
    }


@dataclass(kw_only=True)
class ResultBase:
    """What every solve returns: ``status`` (CVXPY's), ``solver``, ``objective``, ``timings``
    (seconds: build_s, compile_s, solve_s, total_s; MILPs add mip_gap), ``summary`` (headline
    figures) and the ``res_*`` tables named in :attr:`TABLES`. ``problem``: the problem object
    (for re-solves: ``result.problem.update(...)``, ``result.problem.solve()``). ``case``: the
    case it solves, when it came from one (:func:`gridv2g.solve` sets it); :meth:`to_dir`
    writes it with its inputs, so that the folder validates anywhere."""

    #: names of the table attributes written by :meth:`to_dir` (empty ones are skipped)
    TABLES: ClassVar[tuple[str, ...]] = ()

    status: str = ""
    solver: str = ""
    objective: float = float("nan")
    timings: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    problem: object = field(default=None, repr=False)
    case: object = field(default=None, repr=False)

    def __post_init__(self):
        # a summary never carries NaN or inf silently: a figure that is not defined (a
        # percentage of a zero baseline, a gap with nothing to compare) is None, and its key
        # is listed under "not_defined"
        undefined = [
            k
            for k, v in self.summary.items()
            if isinstance(v, float | np.floating) and not np.isfinite(v)
        ]
        for k in undefined:
            self.summary[k] = None
        if undefined:
            self.summary["not_defined"] = sorted(
                set(self.summary.get("not_defined", [])) | set(undefined)
            )

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """{name: table} of every non-empty result table."""
        return {n: getattr(self, n) for n in self.TABLES if len(getattr(self, n))}

    def figure_set(self, flagged=None) -> dict:
        """This result's standard figures, {file stem: matplotlib Figure}, in report order
        (each with a title, axis labels with units, a legend and the limits it is held to);
        ``flagged``: bool by period, the periods AC replays flag (shaded where drawn).
        :meth:`to_dir` writes them as ``<stem>.png`` and embeds them in ``report.html``."""
        return {}

    def report_tables(self) -> dict[str, pd.DataFrame]:
        """Small tables for ``report.html``, {caption: DataFrame} (none by default)."""
        return {}

    def figures(self, directory: Path) -> list[Path]:
        """Write :meth:`figure_set` as PNG files into ``directory``; returns their paths."""
        from gridv2g.plots.grid import save

        return save({f"{k}.png": f for k, f in self.figure_set().items()}, Path(directory))

    def to_dir(
        self,
        directory: str | Path,
        fmt: str = "parquet",
        replays=(),
        comparison: dict | None = None,
        report: bool = True,
    ) -> Path:
        """Write every table (Parquet or CSV), ``summary.json``, for a result of a case
        ``case.yaml`` with its input files under ``inputs/`` (relative paths: the folder can
        be moved; :mod:`gridv2g.case.portable`) and, unless ``report=False``, the PNG
        figures and ``report.html`` (:func:`gridv2g.report.write_html`, with the AC
        ``replays`` and the plan ``comparison`` given). ``gridv2g run`` writes its folders
        with this method: the tables first, the figures and the page once the replays are
        done."""
        directory = write_tables(directory, self.tables, self.summary, fmt)
        if self.case is not None:
            from gridv2g.case.portable import write_case

            write_case(self.case, directory)
        if report:
            self.write_report(directory, replays, comparison)
        return directory

    def write_report(self, directory, replays=(), comparison: dict | None = None) -> Path:
        """Write the PNG figures and ``report.html`` into ``directory`` (what :meth:`to_dir`
        adds to the tables); returns the page's path."""
        from gridv2g.report import write_html

        return write_html(directory, self, replays=replays, comparison=comparison)


def write_tables(directory, tables: dict[str, pd.DataFrame], summary: dict, fmt: str) -> Path:
    """Write result tables (Parquet or CSV) and ``summary.json`` into ``directory``."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got '{fmt}'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(directory / f"{name}.parquet")
        else:
            df.to_csv(directory / f"{name}.csv")
    text = json.dumps(_jsonable(summary), indent=2, default=str)
    (directory / "summary.json").write_text(text + "\n")
    return directory


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, pd.Timestamp):
            v = v.isoformat()
        elif isinstance(v, dict):
            v = _jsonable(v)
        out[k] = v
    return out
