"""Command line: ``gridv2g feeders``, ``gridv2g powerflow`` (thin: parse, call, print)."""

from __future__ import annotations

import warnings

import pandas as pd
import typer

from gridv2g.feeders import SHIPPED, load_feeder

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def main() -> None:
    """gridv2g: co-optimize EV charging stations (with V2G) and distribution feeders."""


@app.command()
def feeders() -> None:
    """List the shipped feeders: buses, lines, phases, total load [kW, kvar]."""
    rows = [load_feeder(name).summary() for name in SHIPPED]
    table = pd.DataFrame(rows).set_index("name")
    typer.echo(table.to_string(float_format=lambda v: f"{v:.1f}"))


@app.command()
def powerflow(
    names: list[str] = typer.Argument(None, help="feeders to solve (default: all shipped)"),
    opendss: bool = typer.Option(True, help="also solve the unbalanced feeder in OpenDSS"),
) -> None:
    """AC power flow of shipped feeders: balanced (pandapower) and unbalanced (OpenDSS)."""
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
                typer.echo(f"  {key:16s} {value:.5g}" if isinstance(value, float) else f"  {key:16s} {value}")
