"""Command line: ``gridv2g feeders``, ``gridv2g powerflow`` (thin: parse, call, print)."""

from __future__ import annotations

import warnings
from typing import Annotated

import pandas as pd
import typer

from gridv2g.errors import GridV2GError
from gridv2g.feeders import SHIPPED
from gridv2g.feeders import load_feeder as _load_feeder

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def main() -> None:
    """gridv2g: co-optimize EV charging stations (with V2G) and distribution feeders."""


def load_feeder(name: str):
    """A shipped feeder, or a clean exit with the error's message."""
    try:
        return _load_feeder(name)
    except GridV2GError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def feeders() -> None:
    """List the shipped feeders: buses, lines, phases, total load [kW, kvar]."""
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
                shown = f"{value:.5g}" if isinstance(value, float) else value
                typer.echo(f"  {key:16s} {shown}")
