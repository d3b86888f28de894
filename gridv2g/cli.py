"""Command line: ``gridv2g run``, ``validate``, ``site``, ``batch``, ``hosting``, ``bench``,
``feeders``, ``powerflow``, ``schema`` (thin: parse, call, print).

The CLI is the application, so it (and only it: the library never touches global state) sets
up logging: progress lines (``INFO``) go to stderr, ``-v`` adds the library's details
(``DEBUG``), ``-q`` keeps warnings and errors only.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from gridv2g.case.load import output_folder
from gridv2g.errors import GridV2GError
from gridv2g.feeders import SHIPPED
from gridv2g.feeders import load_feeder as _load_feeder

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
log = logging.getLogger("gridv2g.cli")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"gridv2g {version('gridv2g')}")
        except PackageNotFoundError:  # a source tree that was never installed
            typer.echo("gridv2g (source tree, not installed)")
        raise typer.Exit()


class _StderrHandler(logging.StreamHandler):
    """A handler on whatever ``sys.stderr`` is when a record is written (a test runner or a
    caller may swap it between commands in one process)."""

    @property
    def stream(self):
        import sys

        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _configure_logging(verbose: int, quiet: bool) -> None:
    """Progress lines on stderr for the ``gridv2g`` loggers only (never the root logger)."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    logger = logging.getLogger("gridv2g")
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="more detail on stderr")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress lines, warnings and errors only")
    ] = False,
) -> None:
    """gridv2g: co-optimize EV charging stations (with V2G) and distribution feeders.

    Example: gridv2g run cases/ieee33_der.yaml
    """
    _configure_logging(verbose, quiet)


class _step:
    """``with _step("solving"):`` logs the step's start and its wall time at the end."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        self.t0 = time.perf_counter()
        log.info("%s ...", self.what)
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            log.info("%s: done in %.1f s", self.what, time.perf_counter() - self.t0)
        return False


def load_feeder(name: str):
    """A shipped feeder, or a clean exit with the error's message."""
    try:
        return _load_feeder(name)
    except GridV2GError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def run(
    case: Annotated[str, typer.Argument(help="case YAML file")],
    out: Annotated[str | None, typer.Option(help="output folder (default out/<case name>)")] = None,
    solver: Annotated[str | None, typer.Option(help="solver (default: the case's)")] = None,
    check: Annotated[bool, typer.Option(help="replay the result in AC power flow")] = True,
    opendss: Annotated[
        bool, typer.Option(help="also replay a grid result in OpenDSS on the unbalanced feeder")
    ] = False,
    csv: Annotated[bool, typer.Option(help="write CSV instead of Parquet")] = False,
    allow_outside_paths: Annotated[
        bool, typer.Option(help="let the case read files outside its own folder")
    ] = False,
    lift_limits: Annotated[
        bool, typer.Option(help="accept sizes beyond the load-time limits (periods, EVs, ...)")
    ] = False,
    export: Annotated[
        list[str] | None,
        typer.Option(
            help="grid cases: also export the schedule as 'opendss' (LoadShapes + a daily-mode "
            "master, in opendss_daily/) or 'pandapower' (a run_timeseries package, in "
            "pandapower_timeseries/); repeatable"
        ),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option(
            help="compare the plan with the uncontrolled and station-first plans (grid cases "
            "with an EV fleet: each placed on the feeder; station cases: the uncontrolled "
            "baseline); writes compare_plans.csv, figures and a report section"
        ),
    ] = False,
) -> None:
    """Solve a case, replay it in AC power flow and write tables, summary, plots and
    report.html.

    Example: gridv2g run cases/ieee33_ev.yaml --out out/ieee33_ev --compare
    """

    import gridv2g as g
    from gridv2g.units import summary_line
    from gridv2g.validation import export_opendss_daily, export_pandapower_timeseries

    # --export kind -> (subfolder, writer)
    exports = {
        "opendss": ("opendss_daily", export_opendss_daily),
        "pandapower": ("pandapower_timeseries", export_pandapower_timeseries),
    }
    unknown = sorted(set(export or ()) - set(exports))
    if unknown:
        typer.echo(f"error: --export {unknown}: valid: {sorted(exports)}", err=True)
        raise typer.Exit(code=2)
    try:
        with _step(f"loading {case}"):
            loaded = g.load_case(case, allow_outside=allow_outside_paths, lift_limits=lift_limits)
        with _step(f"solving '{loaded.name}' ({loaded.problem})"):
            result = g.solve(loaded, solver=solver)
    except GridV2GError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    folder = Path(out) if out else output_folder("out", loaded.name)
    with _step(f"writing tables, case and inputs to {folder}"):
        try:
            # as from Python; the figures and report.html once the replays are done
            result.to_dir(folder, fmt="csv" if csv else "parquet", report=False)
        except GridV2GError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=1) from None
    typer.echo(f"== {loaded.name}: {loaded.description}")
    if loaded.problem == "v2a":
        keys = [k for k in result.summary if not isinstance(result.summary[k], dict)]
        check = False
    elif loaded.problem == "stochastic_station":
        keys = ["status", "scenarios", "evs_per_scenario_mean", "rp", "eev", "ws", "vss"]
        keys += ["evpi", "e0_kwh", "e0_mean_value_kwh", "rp_seconds"]
        check = False
    elif loaded.problem == "schedule_station" and loaded.mpc is not None:
        keys = ["cost", "uncontrolled_cost", "savings_vs_uncontrolled_percent", "shortfall_kwh"]
        keys += ["peak_kw", "steps", "window", "build_s", "first_step_s", "resolve_mean_s"]
        keys += ["total_solve_s"]
        if loaded.mpc.compare:
            keys += ["perfect_foresight_cost", "cost_vs_perfect_foresight_percent"]
        check = False
    elif loaded.problem == "schedule_station":
        keys = ["status", "solver", "objective", "cost", "revenue", "profit"]
        keys += ["uncontrolled_cost", "savings_vs_uncontrolled", "savings_vs_uncontrolled_percent"]
        keys += ["uncontrolled_profit", "profit_gain_vs_uncontrolled"]
        keys += ["peak_kw", "uncontrolled_peak_kw", "charged_kwh", "discharge_kwh"]
        keys += ["shortfall_kwh", "mip_gap", "build_s", "compile_s", "solve_s"]
        check = False  # no feeder: nothing to replay
    else:
        keys = ["status", "objective", "losses_kwh", "substation_kwh", "peak_kw", "valley_kw"]
        keys += ["peak_valley_kw", "voltage_deviation", "vmin_pu", "vmin_bus", "vmin_time"]
        keys += ["vmax_pu", "vmax_bus", "vmax_time", "max_relaxation_gap", "curtailed_kwh"]
        if "evs" in result.summary:
            keys += ["evs", "ev_charged_kwh", "ev_discharged_kwh", "ev_shortfall_kwh"]
            keys += ["fleet_peak_kw"]
        keys += ["build_s", "compile_s", "solve_s"]
        if result.summary.get("formulation") == "unbalanced":
            # closed against OpenDSS: the truth is the unbalanced replay, not pandapower's
            # balanced one
            keys += ["closing_iterations", "model_error_pu", "losses_error_percent"]
            keys += ["vuf_max_percent", "replay_s"]
            check, opendss = False, True
    for key in keys:
        if key in result.summary:
            typer.echo(summary_line(key, result.summary[key], loaded.currency))
    ok = True
    replays = []
    if check:
        with _step("replaying in AC power flow (pandapower)"):
            report = g.validate(result)
        _write_and_echo(report, folder)
        replays.append(report)
        ok = bool(report.summary["limits_ok"])  # limits broken: exit 1 (flags only warn)
    if opendss and loaded.problem == "co_optimize":
        with _step("replaying in OpenDSS (unbalanced feeder)"):
            report = g.validate(result, engine="opendss")
        replays.append(report)
        ok = _opendss_echo(report, folder) and ok
    comparison = None
    if compare:
        comparison = _compare(result, folder, solver, loaded.currency)
    with _step("writing the figures and report.html"):
        result.write_report(folder, replays=replays, comparison=comparison)
    if export and loaded.problem != "co_optimize":
        typer.echo(f"error: --export needs a grid case; '{loaded.name}' has no feeder", err=True)
        raise typer.Exit(code=2)
    for kind in dict.fromkeys(export or ()):
        subfolder, writer = exports[kind]
        with _step(f"exporting the schedule for {kind}"):
            path = writer(result, folder / subfolder)
        typer.echo(f"  {kind} export: {path}")
    typer.echo(f"  written to {folder}")
    if not ok:
        raise typer.Exit(code=1)


def _compare(result, folder: Path, solver: str | None, currency: str) -> dict:
    """``--compare``: the plans compared with ``result``
    (:func:`gridv2g.validation.plans.compare_result`), written as ``compare_plans.csv`` and
    PNG figures, printed with units; returns the report's ``comparison``."""
    from gridv2g.units import unit_of
    from gridv2g.validation.plans import compare_result

    with _step("comparing with the uncontrolled and station-first plans"):
        try:
            comparison = compare_result(result, solver)
        except GridV2GError as err:  # the comparison is extra: the run itself stands
            comparison = {"table": None, "figures": {}, "notes": [f"not compared: {err}"]}
    table = comparison["table"]
    typer.echo("  plans compared:")
    if table is not None and len(table):
        table.to_csv(folder / "compare_plans.csv")
        units = {c: comparison.get("units", {}).get(c) or unit_of(c, currency) for c in table}
        # one row per figure, one column per plan: readable at any number of figures
        shown = table.rename(columns={c: f"{c} [{u}]" if u else c for c, u in units.items()}).T
        text = shown.to_string(float_format=lambda v: f"{v:.6g}")
        typer.echo("\n".join(f"    {line}" for line in text.splitlines()))
    for note in comparison["notes"]:
        typer.echo(f"  note: {note}")
    return comparison  # its figures are written with report.html


def _write_report(report, folder: Path, line: str) -> None:
    """Write a replay report next to the result (its ``to_dir``) and print its line."""
    report.to_dir(folder)
    typer.echo(line)


def _opendss_echo(report, folder: Path) -> bool:
    """Write and print the OpenDSS (unbalanced) replay of a grid result; True if every phase
    voltage is within the case's limits."""
    s = report.summary
    _write_report(
        report,
        folder,
        f"  OpenDSS replay, unbalanced feeder ({s['periods']} periods, {s['replay_s']:.2f} s): "
        f"losses {s['losses_opendss_kwh']:.6g} kWh vs model {s['losses_socp_kwh']:.6g} kWh "
        f"({s['losses_error_percent']:+.2g} %), Vmin {s['vmin_opendss_pu']:.4f} pu vs "
        f"{s['vmin_socp_pu']:.4f}, Vmax {s['vmax_opendss_pu']:.4f} pu, max |dV| "
        f"{s['max_dv_pu']:.2g} pu, max phase unbalance {s['max_unbalance_pu']:.2g} pu, "
        f"{s['voltage_violations']} node-periods outside the case's limits, max line loading "
        f"{s['max_loading_percent']:.1f} % ({s['ampacity_violations']} phase-periods over)",
    )
    if not s["limits_ok"]:
        typer.echo("  the plan breaks the case's limits on the unbalanced feeder", err=True)
    return bool(s["limits_ok"])


def _write_and_echo(report, folder: Path) -> bool:
    """Write a validation report next to the result, print it; True if nothing is flagged."""
    s = report.summary
    _write_report(
        report,
        folder,
        f"  AC replay ({s['periods']} periods, {s['replay_s']:.2f} s): losses error "
        f"{s['max_losses_error_percent']:.2g} %, max |dV| {s['max_dv_pu']:.2g} pu, "
        f"max gap {s['max_relaxation_gap']:.2g}, flagged periods {s['flagged_periods']}, "
        f"{s['voltage_violations']} bus-periods outside the case's voltage limits",
    )
    if not s["limits_ok"]:
        typer.echo("  the plan breaks the case's voltage limits in AC power flow", err=True)
        return False
    if s["flagged_periods"]:
        typer.echo(report.flagged.to_string())
    return not s["flagged_periods"]


@app.command()
def validate(
    folder: Annotated[str, typer.Argument(help="output folder of `gridv2g run` (grid case)")],
    opendss: Annotated[
        bool, typer.Option(help="also replay it in OpenDSS on the unbalanced feeder")
    ] = False,
    allow_outside_paths: Annotated[
        bool, typer.Option(help="let the case read files outside its own folder")
    ] = False,
) -> None:
    """Replay a written grid result in AC power flow (pandapower) and report the errors.

    Example: gridv2g validate out/ieee33_der --opendss
    """

    import pandas as pd

    from gridv2g.case import Case, grid_data, load_case
    from gridv2g.validation import replay
    from gridv2g.validation.pandapower import case_limits

    folder_path = Path(folder)
    try:
        case = load_case(folder_path / "case.yaml", allow_outside=allow_outside_paths)
    except GridV2GError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    if not isinstance(case, Case):
        typer.echo(f"error: {folder}: a {case.problem} result has no feeder to replay", err=True)
        raise typer.Exit(code=2)

    def table(name, levels=2):
        for suffix, read in ((".parquet", pd.read_parquet), (".csv", None)):
            path = folder_path / f"{name}{suffix}"
            if path.is_file():
                if read is not None:
                    return read(path)
                index = list(range(levels))
                return pd.read_csv(path, index_col=index, parse_dates=[0], dtype={1: str})
        typer.echo(f"error: {folder}: no {name}.parquet or {name}.csv", err=True)
        raise typer.Exit(code=2)

    data = grid_data(case)
    phase_result = any((folder_path / f"res_bus_phase{x}").is_file() for x in (".parquet", ".csv"))
    ok = True
    if phase_result:
        opendss = True  # a per-phase plan: OpenDSS is its replay, pandapower's is balanced
    else:
        with _step("replaying in AC power flow (pandapower)"):
            report = replay(
                data.feeder,
                table("res_bus"),
                table("res_line"),
                data.horizon.hours,
                data.v_source_pu,
                limits=case_limits(data),
            )
        ok = _write_and_echo(report, folder_path)
    if opendss:
        from gridv2g.validation import replay_opendss

        tables = [table(n) for n in ("res_bus", "res_line")]
        tables += [table("res_ext_grid", levels=1), table("res_der"), table("res_station")]
        phase = table("res_bus_phase", levels=3) if phase_result else None
        with _step("replaying in OpenDSS (unbalanced feeder)"):
            report = replay_opendss(data, *tables, res_bus_phase=phase)
        ok = _opendss_echo(report, folder_path) and ok
    if not ok:
        raise typer.Exit(code=1)


@app.command()
def schema(
    out: Annotated[str | None, typer.Option(help="write to this file instead of stdout")] = None,
) -> None:
    """JSON Schema of case files (every field, its unit and default).

    Example: gridv2g schema --out case.schema.json
    """
    import json

    from gridv2g.case import case_schema

    text = json.dumps(case_schema(), indent=2)
    if out:
        Path(out).write_text(text + "\n")
    else:
        typer.echo(text)


@app.command()
def site(
    case: Annotated[str, typer.Argument(help="grid case YAML with fleet and siting sections")],
    out: Annotated[
        str | None, typer.Option(help="output folder (default out/<case>_siting)")
    ] = None,
    solver: Annotated[str | None, typer.Option(help="solver (default: the case's)")] = None,
    allow_outside_paths: Annotated[
        bool, typer.Option(help="let the case read files outside its own folder")
    ] = False,
    lift_limits: Annotated[
        bool, typer.Option(help="accept sizes beyond the load-time limits (periods, EVs, ...)")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="shared siting: screening workers (default: the case's)")
    ] = None,
    reference: Annotated[
        bool | None,
        typer.Option(help="shared siting: also solve the exact MILP (default: the case's)"),
    ] = None,
    dask: Annotated[
        bool | None,
        typer.Option(
            help="shared siting: screen on a local Dask cluster of --workers processes "
            "(default: the case's)"
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="shared siting: screen on this Dask scheduler (implies --dask)"),
    ] = None,
) -> None:
    """Site and size stations: PSO (or enumeration) over the co-optimization; with a
    shared_siting section, seed 004's siting with one shared fleet. Writes the tables as CSV,
    PNG figures (convergence, the sites on the feeder map, costs) and report.html.

    Example: gridv2g site cases/ieee123_gao2019_siting.yaml --workers 2 --reference
    """
    import gridv2g as g
    from gridv2g.siting import site_case

    try:
        loaded = g.load_case(case, allow_outside=allow_outside_paths, lift_limits=lift_limits)
        if loaded.shared_siting is not None:
            from gridv2g.siting.swarm import site_shared_case

            with _step(f"siting '{loaded.name}' (swarm, screening, OpenDSS check)"):
                shared = site_shared_case(
                    loaded, workers=workers, reference=reference, dask=dask, address=address
                )
        else:
            with _step(f"siting '{loaded.name}' ({loaded.siting.method})"):
                result = site_case(loaded, solver=solver)
    except GridV2GError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    folder = Path(out) if out else output_folder("out", f"{loaded.name}_siting")
    if loaded.shared_siting is not None:
        _write_shared(loaded.name, shared, folder, loaded.currency)
        from gridv2g.siting.report import write_shared
        from gridv2g.siting.swarm import shared_spec

        with _step("writing figures and report.html"):
            write_shared(folder, shared, loaded, shared_spec(loaded).lots)
        return
    folder.mkdir(parents=True, exist_ok=True)
    result.best.to_csv(folder / "best.csv")
    result.evaluations.to_csv(folder / "evaluations.csv", index=False)
    result.history.to_csv(folder / "history.csv")
    from gridv2g.siting.report import write_per_site

    with _step("writing figures and report.html"):
        write_per_site(folder, result, loaded)
    typer.echo(f"== {loaded.name}: siting ({loaded.siting.method})")
    for name, row in result.best.iterrows():
        typer.echo(f"  {name:12s} bus {row.bus:>6s}  {row.s_kva:g} kVA")
    c = result.cost
    typer.echo(
        f"  total {c['total']:.6g} {loaded.currency} = operating {c['operating']:.6g} + "
        f"investment {c['investment']:.6g}; {len(result.evaluations)} distinct decisions solved"
    )
    typer.echo(f"  written to {folder}")


def _write_shared(name: str, result, folder: Path, currency: str) -> None:
    """Write and print a shared-fleet siting result."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    result.best.to_csv(folder / "best.csv")
    result.screening.to_csv(folder / "screening.csv", index=False)
    result.verified.to_csv(folder / "verified.csv", index=False)
    result.history.to_csv(folder / "history.csv")
    (folder / "figures.json").write_text(json.dumps(result.figures, indent=2, default=str))
    f = result.figures
    typer.echo(f"== {name}: shared-fleet siting (PSO, screening on {f['screening_on']})")
    cols = ["bus", "phases", "lot", "I", "II", "III", "IV", "capacity_kw", "capacity_ratio"]
    typer.echo(result.best[cols].to_string(float_format=lambda x: f"{x:.3g}"))
    typer.echo(
        f"  PSO {f['pso_s']:.1f} s: {f['evaluations_solved']} distinct decisions screened of "
        f"{f['evaluations_asked']} asked; best screening cost "
        f"{f['pso_best_screening_cost']:.2f} {currency}"
    )
    v = result.verified[result.verified.decision == result.best_decision].iloc[0]
    if v.feasible:
        typer.echo(
            f"  full evaluation (OpenDSS-closed): cost {v.cost:.2f} {currency}, losses "
            f"{v.losses_kwh:.1f} kWh, phase voltages {v.vmin_pu:.4f}-{v.vmax_pu:.4f} pu, "
            f"{v.voltage_violations} violations ({f['verify_s']:.1f} s for "
            f"{len(result.verified)})"
        )
    if "milp_cost" in f:
        typer.echo(
            f"  MILP reference {f['milp_cost']:.2f} {currency} (bound {f['milp_bound']:.2f}, "
            f"{f['milp_s']:.1f} s): PSO gap {100 * f['gap_to_milp']:.3f} %"
        )
    typer.echo(f"  written to {folder}")


@app.command()
def batch(
    sweep: Annotated[str, typer.Argument(help="sweep YAML: base case + varied fields")],
    out: Annotated[
        str | None, typer.Option(help="output folder (default out/<sweep name>)")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (default: CPUs)")] = None,
    dask: Annotated[bool, typer.Option(help="run on a local Dask cluster")] = False,
    address: Annotated[
        str | None, typer.Option(help="Dask scheduler address (implies --dask)")
    ] = None,
    resume: Annotated[bool, typer.Option(help="skip scenarios finished before")] = True,
    allow_outside_paths: Annotated[
        bool, typer.Option(help="let the case read files outside its own folder")
    ] = False,
    lift_limits: Annotated[
        bool, typer.Option(help="accept sizes beyond the load-time limits (periods, EVs, ...)")
    ] = False,
    max_scenarios: Annotated[
        int, typer.Option(help="refuse sweeps that expand to more scenarios")
    ] = 100_000,
    dashboard_address: Annotated[
        str, typer.Option(help="Dask dashboard address of a local cluster (host:port)")
    ] = "127.0.0.1:8787",
) -> None:
    """Run a scenario sweep; every finished scenario is kept, failures are recorded.

    Example: gridv2g batch cases/sweep_ieee33_ev_fleet_size.yaml --workers 2
    """
    from gridv2g.batch import run_batch

    try:
        table = run_batch(
            sweep,
            out,
            workers=workers,
            dask=dask,
            address=address,
            resume=resume,
            allow_outside=allow_outside_paths,
            max_scenarios=max_scenarios,
            dashboard_address=dashboard_address,
            lift_limits=lift_limits,
        )
    except GridV2GError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    failed = table[table.status != "ok"]
    typer.echo(f"  {len(table)} scenarios: {len(table) - len(failed)} ok, {len(failed)} failed")
    for sid, row in failed.iterrows():
        typer.echo(f"  {sid}: {row.get('error')}")
    if failed.shape[0]:
        raise typer.Exit(code=2)


@app.command()
def hosting(
    case: Annotated[str, typer.Argument(help="grid case YAML with a hosting section")],
    out: Annotated[
        str | None, typer.Option(help="output folder (default out/<case>_hosting)")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (default: CPUs)")] = None,
    dask: Annotated[bool, typer.Option(help="run on a local Dask cluster")] = False,
    address: Annotated[
        str | None, typer.Option(help="Dask scheduler address (implies --dask)")
    ] = None,
    resume: Annotated[bool, typer.Option(help="skip searches finished before")] = True,
    solver: Annotated[str | None, typer.Option(help="solver (default: the case's)")] = None,
    allow_outside_paths: Annotated[
        bool, typer.Option(help="let the case read files outside its own folder")
    ] = False,
    lift_limits: Annotated[
        bool, typer.Option(help="accept sizes beyond the load-time limits (periods, EVs, ...)")
    ] = False,
    dashboard_address: Annotated[
        str, typer.Option(help="Dask dashboard address of a local cluster (host:port)")
    ] = "127.0.0.1:8787",
) -> None:
    """Hosting capacity: the largest EV fleet per site and charging policy (uncontrolled,
    smart, smart_v2g, smart_q), each verified in AC power flow, with the binding limit.

    Example: gridv2g hosting cases/ieee33_hosting.yaml --workers 2 --out out/ieee33_hosting
    """
    from gridv2g.hosting import run as run_hosting

    try:
        with _step(f"hosting capacity of {case}"):
            result = run_hosting(
                case,
                out,
                workers=workers,
                dask=dask,
                address=address,
                resume=resume,
                allow_outside=allow_outside_paths,
                lift_limits=lift_limits,
                solver=solver,
                dashboard_address=dashboard_address,
            )
    except GridV2GError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    table, s = result.res_hosting, result.summary
    typer.echo(f"== {s['case']}: hosting capacity by charging policy ({s['feeder']})")
    ok = table[table.status == "ok"]
    for _, row in ok.iterrows():
        at_least = ">=" if row.censored else "  "
        over = (
            "search ceiling"
            if row.censored
            else f"{row.over_evs:g} EVs: {row.over_kind} {row.get('over_element', '')} "
            f"{row.get('over_time', '')}"
        )
        typer.echo(
            f"  {row.site:>8s} {row.policy:12s} {at_least}{row.max_evs:5g} EVs "
            f"{row.max_kw:8.0f} kW (peak {row.peak_kw:7.0f} kW); binding {row.binding_kind} "
            f"at {row.binding_element} {row.binding_time} ({row.binding_value:.4g} vs "
            f"{row.binding_limit:.4g}); above: {over}"
        )
    if len(result.ratio):
        typer.echo("  smart / uncontrolled [EVs / EVs]:")
        typer.echo(result.ratio.to_string(float_format=lambda v: f"{v:.2f}"))
    failed = table[table.status != "ok"]
    for _, row in failed.iterrows():
        typer.echo(f"  {row.site} {row.policy}: failed: {row.get('error')}", err=True)
    typer.echo(
        f"  {s['searches']} searches ({s['ran_now']} run now, {s['failed']} failed), wall "
        f"time {s['wall_s']:.1f} s; written to {s['folder']}"
    )
    if len(failed):
        raise typer.Exit(code=2)


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="short run: 24 periods")] = False,
    json_file: Annotated[
        str | None, typer.Option("--json", help="write every figure to this JSON file")
    ] = None,
) -> None:
    """Benchmarks: build / compile / solver / AC replay seconds, ratios, peak memory.

    Example: gridv2g bench --quick --json bench.json
    """
    from gridv2g import bench as benchmarks

    benchmarks.run(quick=quick, json_path=json_file, echo=typer.echo)


@app.command()
def feeders() -> None:
    """List the shipped feeders: buses, lines, phases, total load [kW, kvar].

    Example: gridv2g feeders
    """
    rows = [load_feeder(name).summary() for name in SHIPPED]
    table = pd.DataFrame(rows).set_index("name")
    typer.echo(table.to_string(float_format=lambda v: f"{v:.1f}"))


@app.command()
def powerflow(
    names: Annotated[
        list[str] | None, typer.Argument(help="feeders to solve (default: all shipped)")
    ] = None,
    opendss: Annotated[
        bool, typer.Option(help="also solve the unbalanced feeder in OpenDSS")
    ] = True,
) -> None:
    """AC power flow of shipped feeders: balanced (pandapower) and unbalanced (OpenDSS).

    Example: gridv2g powerflow ieee123
    """
    from gridv2g.feeders.compare import balanced_error, pandapower_summary

    for name in names or list(SHIPPED):
        feeder = load_feeder(name)
        typer.echo(f"\n== {name}: {feeder.description}")
        if opendss:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                table = balanced_error(feeder)
            typer.echo(table.to_string(float_format=lambda v: f"{v:.5g}"))
        else:
            summary, _ = pandapower_summary(feeder)
            for key, value in summary.items():
                shown = f"{value:.5g}" if isinstance(value, float) else value
                typer.echo(f"  {key:16s} {shown}")
