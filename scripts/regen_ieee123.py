"""Regenerate the shipped IEEE 123-bus tables and their OpenDSS reference data.

Reads the OpenDSS input files of ../shared/feeders/ieee123 (never read at run time or in tests)
and writes:

- ``networks/ieee123/``: the feeder tables, written by gridv2g's own importer
  (``gridv2g.feeders.from_opendss``) with Kersting's fixed regulator taps, plus the credit README;
  the line ratings (``line.csv`` ``max_i_a``) are then set per line configuration by
  ``gridv2g.feeders.library.ieee123_line_ratings`` (the OpenDSS line codes carry none):
  336,400 26/7 ACSR 530 A (configurations 1-8), 1/0 ACSR 230 A (9-11), 1/0 AA concentric-neutral
  cable 175 A in duct (12); switches unrated. Source: W. H. Kersting, "Radial distribution test
  feeders", IEEE PES Winter Meeting 2001 (Distribution System Analysis Subcommittee report),
  123-node line configurations and Tables 3 (conductor data, ampacity) and 5 (concentric
  neutral cable, ampacity in 4 inch duct); the same conductor tables as Kersting, "Distribution
  System Modeling and Analysis"; 530 A and 230 A also in the OpenDSS manual's line constants
  example (``Wiredata.ACSR336 NormAmps=530``, ``Wiredata.ACSR1/0 NormAmps=230``);
- ``tests/data/ieee123/``: OpenDSS's own solution of the original input (node voltages and the
  summary of the fixed-tap case, copied from the shared reference files after checking that a
  fresh OpenDSS solve of the original input reproduces them), OpenDSS's largest phase current
  of every line in that case (``line_currents_fixed_taps.csv``, copied from the shared
  ``line_flows_fixed_taps.csv`` after the same check), and a copy of the input files so the
  tests can check that the shipped tables are what the importer makes of them.

Usage: ``python scripts/regen_ieee123.py [--shared ../shared]``
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

from gridv2g.feeders import IEEE123_FIXED_TAPS, from_opendss, solve_opendss
from gridv2g.feeders.library import (
    IEEE123_CONDUCTOR_AMPS,
    IEEE123_LINECODE_CONDUCTOR,
    ieee123_line_ratings,
)
from gridv2g.feeders.library import ieee123_tap_commands as fixed_tap_commands
from gridv2g.feeders.opendss_import import _dss

ROOT = Path(__file__).resolve().parent.parent
INPUTS = [
    "IEEE123Master.dss",
    "IEEE123Loads.DSS",
    "IEEE123Regulators.DSS",
    "IEEELineCodes.DSS",
    "BusCoords.dat",
]


def ratings_text() -> str:
    """The README section on the line ratings."""
    by_conductor: dict[str, list[str]] = {}
    for code, conductor in IEEE123_LINECODE_CONDUCTOR.items():
        by_conductor.setdefault(conductor, []).append(code)
    rows = "\n".join(
        f"| {', '.join(codes)} | {conductor} | {IEEE123_CONDUCTOR_AMPS[conductor]:g} |"
        for conductor, codes in by_conductor.items()
    )
    return (
        "## Line ratings\n\n"
        "The OpenDSS line codes carry no ampacity (OpenDSS's default 400/600 A, read as "
        "unknown), so `line.csv` `max_i_a` is set per line configuration from the published "
        "conductor data (`gridv2g.feeders.library.ieee123_line_ratings`, applied by "
        "`scripts/regen_ieee123.py`); `emerg_i_a` stays unknown.\n\n"
        "| configuration (line code) | phase conductor | normal ampacity [A] |\n"
        "|---|---|---|\n"
        f"{rows}\n\n"
        "Sources: the configurations and conductors of the IEEE 123-node test feeder (overhead "
        "configurations 1-8: 336,400 26/7 ACSR phases with a 4/0 6/1 ACSR neutral; 9-11: "
        "single-phase 1/0 ACSR with a 1/0 ACSR neutral; underground configuration 12: 1/0 AA "
        'concentric-neutral 15 kV cable) and the ampacities of W. H. Kersting, "Radial '
        'distribution test feeders", IEEE PES Winter Meeting 2001 (IEEE PES Distribution System '
        'Analysis Subcommittee report): Table 3 "Conductor Data", ampacity at 50 degC '
        "(336,400 26/7 ACSR 530 A, 4/0 6/1 ACSR 340 A, 1/0 ACSR 230 A, 1/0 AA 310 A), and Table 5 "
        '"Concentric Neutral 15 kV All Aluminum (AA) Cable", ampacity in a 4 inch duct (1/0 AA, '
        "19 strands, 175 A). These are the conductor tables of Kersting's \"Distribution System "
        "Modeling and Analysis\" (appendix); 530 A and 230 A also appear in the OpenDSS manual's "
        "line constants example (`New Wiredata.ACSR336 ... NormAmps=530`, "
        "`New Wiredata.ACSR1/0 ... NormAmps=230`).\n\n"
        "- The rating of a line is that of its phase conductors. The neutrals (4/0 6/1 ACSR, "
        "340 A; 1/0 ACSR) are Kron-reduced into the phase matrices and not rated separately.\n"
        "- Configuration 12 is an underground cable: it is rated as a cable in duct (175 A), "
        "not with the 310 A of bare 1/0 AA in air.\n"
        "- Switches are unrated (NaN): the feeder data give no switch ratings, and every closed "
        "switch is in series with a rated line carrying the same current (Sw1-L115, Sw2-L116, "
        "Sw3 to bus 135, Sw4-reg4-L117, Sw5 to bus 197) or feeds a dead end (Sw6 to the unloaded "
        "transformer XFM1, Sw7 and Sw8 to the open points), so a rating copied from the "
        "neighbouring line would only repeat that line's limit.\n"
        "- At Kersting's nominal load (OpenDSS, fixed taps; `tests/data/ieee123/"
        "line_currents_fixed_taps.csv`) the main feeder exceeds its rating: L115 (149-1) "
        "carries 629 A on its most loaded phase, 119 % of 530 A; L3 (1-7) 115 %, L7 (7-8) "
        "113 %, L10 (8-13) 105 %. Every other line is at most 63 % loaded. The balanced "
        "equivalent used by the optimisation carries the three-phase average, about 97 % on "
        "L115 at nominal load and source voltage.\n"
    )


def fresh_line_currents() -> pd.DataFrame:
    """Largest phase current at terminal 1 of every line in the active (solved) OpenDSS model."""
    dss = _dss()
    rows = []
    index = dss.Lines.First()
    while index > 0:
        n = dss.CktElement.NumConductors()
        mags = dss.CktElement.CurrentsMagAng()[0 : 2 * n : 2]
        rows.append({"line": dss.Lines.Name().lower(), "i_max_amps": float(max(mags))})
        index = dss.Lines.Next()
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    src = args.shared / "feeders" / "ieee123"
    master = src / "IEEE123Master.dss"

    feeder = from_opendss(
        master, commands=[*fixed_tap_commands(), "Buscoords BusCoords.dat"], name="ieee123"
    )
    feeder.description = (
        "IEEE 123-bus test feeder (Kersting), OpenDSS model, Kersting's fixed regulator taps"
    )
    feeder = feeder.replace(line=ieee123_line_ratings(feeder.line))
    out = ROOT / "networks" / "ieee123"
    feeder.to_dir(out)
    readme = (src / "README.md").read_text()
    credit = next(line for line in readme.splitlines() if line.startswith("Credit / licence:"))
    source = next(line for line in readme.splitlines() if line.startswith("Source:"))
    (out / "README.md").write_text(
        "# IEEE 123-bus test feeder\n\n"
        "Tables written by `gridv2g.feeders.from_opendss` (script `scripts/regen_ieee123.py`) "
        "from the OpenDSS input files of the IEEE 123-bus test feeder, with the regulator taps "
        f"fixed at Kersting's published values {IEEE123_FIXED_TAPS}.\n\n"
        f"{source}\n\n{credit}\n\n{ratings_text()}"
    )

    data = ROOT / "tests" / "data" / "ieee123"
    (data / "dss").mkdir(parents=True, exist_ok=True)
    for name in INPUTS:
        shutil.copyfile(src / name, data / "dss" / name)
    (data / "dss" / "README.md").write_text(
        "Byte-for-byte copies of the OpenDSS input files of the IEEE 123-bus feeder, for the "
        "importer regression test.\n\n" + source + "\n\n" + credit + "\n"
    )

    # OpenDSS's own solution of the original input, fixed-tap case
    reference = pd.read_csv(src / "reference_fixed_taps.csv", dtype={"bus": str})
    summary = json.loads((src / "reference_summary.json").read_text())["modes"]["fixed_taps"]
    fresh = solve_opendss(master, commands=fixed_tap_commands())
    merged = reference.merge(
        fresh.res_node, left_on=["bus", "phase"], right_on=["bus", "node"], validate="1:1"
    )
    worst = (merged.v_pu - merged.vm_pu).abs().max()
    if len(merged) != len(reference) or worst > 1e-9:
        raise SystemExit(f"fresh OpenDSS solve differs from the shared reference by {worst}")
    reference.to_csv(data / "reference_fixed_taps.csv", index=False)

    # OpenDSS's largest phase current per line (terminal 1) in the same solve
    flows = pd.read_csv(src / "line_flows_fixed_taps.csv")
    currents = fresh_line_currents()
    check = flows.merge(currents, on="line", validate="1:1", suffixes=("", "_fresh"))
    worst_i = (check.i_max_amps - check.i_max_amps_fresh).abs().max()
    if len(check) != len(flows) or worst_i > 1e-6:
        raise SystemExit(f"fresh OpenDSS line currents differ from the shared ones by {worst_i} A")
    flows["bus1"] = flows.bus1.str.split(".").str[0]
    flows["bus2"] = flows.bus2.str.split(".").str[0]
    flows[["line", "bus1", "bus2", "i_max_amps"]].to_csv(
        data / "line_currents_fixed_taps.csv", index=False
    )
    keep = [
        "description",
        "commands_after_compile",
        "converged",
        "total_losses_kW",
        "total_losses_kvar",
        "substation_power_kW",
        "substation_power_kvar",
        "load_consumed_kW",
        "load_consumed_kvar",
        "v_pu_min_excluding_source_bus",
        "v_pu_max_excluding_source_bus",
        "regulator_taps",
    ]
    (data / "reference_summary.json").write_text(
        json.dumps({k: summary[k] for k in keep}, indent=2) + "\n"
    )
    print(f"wrote {out} and {data}; fresh solve within {worst:.1e} pu of the reference")


if __name__ == "__main__":
    main()
